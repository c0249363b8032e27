"""Contacts, live: a person created, changed, merged or deleted by someone is announced through
the outbox, so the funnel boards open elsewhere follow it.

The edges call these wrappers of the service when the change should reach open pages: they
return the service's answer with the outbox items to record in the same transaction (published
after commit; the incoming-messages worker publishes `contact.<change>` on the company channel,
see `messaging/jobs.py`). An event carries ids only: a board that hears one reads the card again
under RLS and its own search and segment. Every user of the company sees every contact (the
contacts policy), so the events go to the whole company.

Contacts WhatsApp creates (a first message, an address book or a group's members seen by the
webhooks) are announced by no one (`actor_id` null), the way `found_on_whatsapp` says.

Bulk writes announce nothing per person: the list's bulk stage and tag changes announce one
`contact.bulk` (when they changed someone), and an import that wrote contacts its end (its
`import.progress` event); a board then reads itself again whole.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.auth.identity import Identity
from zapcrm.contacts import service
from zapcrm.contacts.query import service as query_service
from zapcrm.contacts.query.schemas import ContactQuery
from zapcrm.contacts.schemas import ContactIn, ContactOut, ContactPatch
from zapcrm.outbox import INCOMING_STREAM, OutboxItem

__all__ = [
    "Change",
    "bulk_stage",
    "bulk_tag",
    "contact_item",
    "create_contact",
    "delete_contact",
    "found_on_whatsapp",
    "merge_contacts",
    "update_contact",
]

Change = Literal["created", "updated", "deleted", "bulk"]


def contact_item(identity: Identity, contact_id: uuid.UUID | None, change: Change) -> OutboxItem:
    """The outbox entry announcing a change of one contact made by `identity` (of many at
    once: `bulk`, no contact)."""
    return _item(identity.company_id, contact_id, change, identity.user_id)


def found_on_whatsapp(company_id: uuid.UUID, contact_ids: Sequence[uuid.UUID]) -> list[OutboxItem]:
    """The announcement of contacts WhatsApp brought in (a first message from a number, the
    phone's address book, a group's members), by no one: `contact.created` for one, one
    `contact.bulk` for more (an address book may bring hundreds), nothing for none."""
    if not contact_ids:
        return []
    if len(contact_ids) == 1:
        return [_item(company_id, contact_ids[0], "created", None)]
    return [_item(company_id, None, "bulk", None)]


def _item(
    company_id: uuid.UUID, contact_id: uuid.UUID | None, change: Change, actor: uuid.UUID | None
) -> OutboxItem:
    return OutboxItem(
        INCOMING_STREAM,
        {
            "kind": "contact",
            "change": change,
            "company_id": str(company_id),
            "contact_id": None if contact_id is None else str(contact_id),
            "actor_id": None if actor is None else str(actor),
        },
    )


async def bulk_stage(
    session: AsyncSession, identity: Identity, query: ContactQuery, *, stage: str | None
) -> tuple[int, list[OutboxItem]]:
    """`query.service.bulk_stage`, announced once when it changed someone."""
    changed = await query_service.bulk_stage(session, identity, query, stage=stage)
    return changed, [contact_item(identity, None, "bulk")] if changed else []


async def bulk_tag(
    session: AsyncSession, identity: Identity, query: ContactQuery, *, tag: str, add: bool
) -> tuple[int, list[OutboxItem]]:
    """`query.service.bulk_tag`, announced once when it changed someone."""
    changed = await query_service.bulk_tag(session, identity, query, tag=tag, add=add)
    return changed, [contact_item(identity, None, "bulk")] if changed else []


async def create_contact(
    session: AsyncSession, identity: Identity, data: ContactIn
) -> tuple[ContactOut, list[OutboxItem]]:
    """`service.create_contact`, announced."""
    contact = await service.create_contact(session, identity, data)
    return contact, [contact_item(identity, contact.id, "created")]


async def update_contact(
    session: AsyncSession, identity: Identity, contact_id: uuid.UUID, patch: ContactPatch
) -> tuple[ContactOut, list[OutboxItem]]:
    """`service.update_contact`, announced (a save that changed nothing too: harmless)."""
    contact = await service.update_contact(session, identity, contact_id, patch)
    return contact, [contact_item(identity, contact.id, "updated")]


async def delete_contact(
    session: AsyncSession, identity: Identity, contact_id: uuid.UUID
) -> tuple[None, list[OutboxItem]]:
    """`service.delete_contact`, announced."""
    await service.delete_contact(session, identity, contact_id)
    return None, [contact_item(identity, contact_id, "deleted")]


async def merge_contacts(
    session: AsyncSession, identity: Identity, keep_id: uuid.UUID, other_id: uuid.UUID
) -> tuple[ContactOut, list[OutboxItem]]:
    """`service.merge_contacts`, announced: the kept contact changed, the other is gone."""
    kept = await service.merge_contacts(session, identity, keep_id, other_id)
    return kept, [
        contact_item(identity, kept.id, "updated"),
        contact_item(identity, other_id, "deleted"),
    ]
