"""Folding one contact into another, the one way both merges do it: by hand (a supervisor
picks two contacts) and automatically (ingestion learns that an `@lid`-only contact is a
phone contact it already has).

Everything the person has moves (keys, chats, tasks, lists, timeline, campaign recipients)
and the kept contact absorbs the other's values without losing its own: an opt-out given on
the other contact stays given, so a merge never puts back in campaigns someone who said SAIR.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.contacts.repository import crud, identity
from zapcrm.models import Contact


def merged_values(keep: Contact, other: Contact) -> dict[str, Any]:
    """What the kept contact looks like after absorbing the other: its own values win."""
    custom = {**other.custom_fields, **keep.custom_fields}
    tags = list(dict.fromkeys([*keep.tags, *other.tags]))
    notes = "\n\n".join(note for note in (keep.notes, other.notes) if note)
    return {
        "name": keep.name or other.name,
        "phone_e164": keep.phone_e164 or other.phone_e164,
        "email": keep.email or other.email,
        "source": keep.source or other.source,
        "funnel_stage": keep.funnel_stage or other.funnel_stage,
        "tags": tags,
        "custom_fields": custom,
        "notes": notes,
        "opted_out": keep.opted_out or other.opted_out,
        "last_interaction_at": max(
            (at for at in (keep.last_interaction_at, other.last_interaction_at) if at),
            default=None,
        ),
    }


async def fold_into(session: AsyncSession, keep: Contact, other: Contact) -> Contact:
    """Move everything of `other` to `keep`, delete `other`, return `keep` refreshed."""
    values = merged_values(keep, other)
    await crud.move_everything(session, keep.company_id, other.id, keep.id)
    # Deleted before the values are written: the phone may be the other's, and it is unique.
    await identity.delete_contact(session, keep.company_id, other.id)
    return await crud.change_contact(session, keep, values)
