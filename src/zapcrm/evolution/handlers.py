"""What each handled webhook event does to our data: the registry's database side.

Every handler runs in the delivery's single transaction and returns the outbox items that
announce the change; `events.NORMALIZERS` and `HANDLERS` share their keys (a test checks it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.contacts.identity import WhatsAppPeer, resolve_peer
from zapcrm.contacts.live import found_on_whatsapp
from zapcrm.evolution import repository
from zapcrm.evolution.payloads import (
    NormalizedConnection,
    NormalizedContact,
    NormalizedDelete,
    NormalizedEdit,
    NormalizedGroup,
    NormalizedInstanceGone,
    NormalizedMessage,
    NormalizedParticipantsUpdate,
    NormalizedQrCode,
    NormalizedStatusUpdate,
)
from zapcrm.messaging import repository as messaging_repo
from zapcrm.messaging.service.ingest import (
    Delivery,
    ingest_delete,
    ingest_edit,
    ingest_message,
    ingest_status_updates,
)
from zapcrm.outbox import INCOMING_STREAM, OutboxItem

Handler = Callable[[AsyncSession, Delivery, Any], Awaitable[list[OutboxItem]]]

# Events that only feed the live panel: authenticated, then published, never stored.
LIVE_ONLY_EVENTS: Final[frozenset[str]] = frozenset({"presence.update"})


def _instance_event(delivery: Delivery, kind: str, **fields: Any) -> OutboxItem:
    return OutboxItem(
        INCOMING_STREAM,
        {
            "kind": kind,
            "company_id": str(delivery.instance.company_id),
            "instance_id": str(delivery.instance.id),
            **fields,
        },
    )


async def _message(
    session: AsyncSession, delivery: Delivery, message: NormalizedMessage
) -> list[OutboxItem]:
    return await ingest_message(session, delivery, message)


async def _statuses(
    session: AsyncSession, delivery: Delivery, updates: list[NormalizedStatusUpdate]
) -> list[OutboxItem]:
    return await ingest_status_updates(session, delivery, updates)


async def _edit(
    session: AsyncSession, delivery: Delivery, edit: NormalizedEdit
) -> list[OutboxItem]:
    return await ingest_edit(session, delivery, edit)


async def _delete(
    session: AsyncSession, delivery: Delivery, deletion: NormalizedDelete
) -> list[OutboxItem]:
    return await ingest_delete(session, delivery, deletion)


async def _connection(
    session: AsyncSession, delivery: Delivery, connection: NormalizedConnection
) -> list[OutboxItem]:
    if connection.state is None:
        return []
    await repository.record_connection(
        session,
        delivery.instance.id,
        connection_state=connection.state,
        owner_jid=connection.wuid,
        profile_name=connection.profile_name,
        changed_at=delivery.event_datetime,
    )
    return [
        _instance_event(
            delivery, "instance", state=connection.state, status_reason=connection.status_reason
        )
    ]


async def _gone(
    session: AsyncSession, delivery: Delivery, gone: NormalizedInstanceGone
) -> list[OutboxItem]:
    state = "close" if gone.origin_event == "logout.instance" else "removed"
    await repository.record_connection(
        session, delivery.instance.id, connection_state=state, changed_at=delivery.event_datetime
    )
    return [_instance_event(delivery, "instance", state=state, status_reason=None)]


async def _qrcode(
    session: AsyncSession, delivery: Delivery, qrcode: NormalizedQrCode
) -> list[OutboxItem]:
    await repository.record_connection(
        session,
        delivery.instance.id,
        connection_state="connecting",
        changed_at=delivery.event_datetime,
    )
    # The QR lives a few seconds: the worker keeps it in Redis with a short TTL, not in Postgres.
    return [
        _instance_event(
            delivery,
            "qrcode",
            code=qrcode.code,
            base64=qrcode.base64,
            pairing_code=qrcode.pairing_code,
            count=qrcode.count,
        )
    ]


async def _contacts(
    session: AsyncSession, delivery: Delivery, contacts: list[NormalizedContact]
) -> list[OutboxItem]:
    peers = [
        WhatsAppPeer(contact.phone_jid, contact.lid, contact.push_name)
        for contact in contacts
        if contact.kind in ("pn", "lid") and (contact.phone_jid or contact.lid)
    ]
    return await _learn(session, delivery, peers)


async def _groups(
    session: AsyncSession, delivery: Delivery, groups: list[NormalizedGroup]
) -> list[OutboxItem]:
    for group in groups:
        await messaging_repo.upsert_conversation(
            session,
            company_id=delivery.instance.company_id,
            instance_id=delivery.instance.id,
            remote_jid=group.jid,
            is_group=True,
            contact_id=None,
            subject=group.subject,
        )
    return []


async def _participants(
    session: AsyncSession, delivery: Delivery, update: NormalizedParticipantsUpdate
) -> list[OutboxItem]:
    # Learn members' identities (lid<->phone pairs); the membership itself is not kept.
    peers = [
        WhatsAppPeer(member.phone_jid, member.lid, member.name)
        for member in update.participants
        if member.phone_jid or member.lid
    ]
    return await _learn(session, delivery, peers)


async def _learn(
    session: AsyncSession, delivery: Delivery, peers: list[WhatsAppPeer]
) -> list[OutboxItem]:
    """Find or create each peer's contact; the ones new to the company are announced."""
    company_id = delivery.instance.company_id
    created = []
    for peer in peers:
        resolved = await resolve_peer(session, company_id, peer)
        if resolved is not None and resolved.created:
            created.append(resolved.contact_id)
    return found_on_whatsapp(company_id, created)


async def _presence(
    session: AsyncSession, delivery: Delivery, presence: object
) -> list[OutboxItem]:
    return []


HANDLERS: Final[Mapping[str, Handler]] = MappingProxyType(
    {
        "messages.upsert": _message,
        "send.message": _message,
        "messages.update": _statuses,
        "messages.delete": _delete,
        "messages.edited": _edit,
        "send.message.update": _edit,
        "connection.update": _connection,
        "status.instance": _connection,
        "logout.instance": _gone,
        "remove.instance": _gone,
        "qrcode.updated": _qrcode,
        "contacts.upsert": _contacts,
        "contacts.update": _contacts,
        "groups.upsert": _groups,
        "group-participants.update": _participants,
        "presence.update": _presence,
    }
)
