"""SQL for the identity keys that resolve to contacts, and contact merging."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.db import driver_rows
from zapcrm.models import Contact

IdentityKey = tuple[str, str]  # (kind, value)


@dataclass(frozen=True, slots=True)
class IdentityMatch:
    """An existing key and the contact that owns it."""

    contact_id: uuid.UUID
    kind: str
    value: str
    contact_name: str
    contact_phone: str | None


_FIND_IDENTITIES = text(
    "select i.contact_id, i.kind, i.value, c.name, c.phone_e164"
    " from contact_identities i join contacts c on c.id = i.contact_id"
    " where i.company_id = :company_id and (i.kind, i.value) in"
    " (select * from unnest(cast(:kinds as text[]), cast(:values as text[])))"
)


async def find_identities(
    session: AsyncSession, company_id: uuid.UUID, keys: Iterable[IdentityKey]
) -> Sequence[IdentityMatch]:
    """Every existing key among `keys`, with its contact's name and phone."""
    wanted = list(keys)
    if not wanted:
        return []
    # One constant statement whatever the number of keys: compiled and parsed once, then cached.
    rows = await driver_rows(
        session,
        _FIND_IDENTITIES,
        {
            "company_id": company_id,
            "kinds": [kind for kind, _ in wanted],
            "values": [value for _, value in wanted],
        },
    )
    return [IdentityMatch(*row) for row in rows]


async def insert_contact(
    session: AsyncSession,
    *,
    company_id: uuid.UUID,
    name: str,
    phone_e164: str | None,
    source: str | None,
) -> uuid.UUID:
    """Create a contact and return its id."""
    result = await session.execute(
        insert(Contact)
        .values(company_id=company_id, name=name, phone_e164=phone_e164, source=source)
        .returning(Contact.id)
    )
    return result.scalar_one()


_ADD_IDENTITIES = text(
    "insert into contact_identities (company_id, contact_id, kind, value)"
    " select :company_id, :contact_id, k.kind, k.value"
    " from unnest(cast(:kinds as text[]), cast(:values as text[])) as k(kind, value)"
    " on conflict on constraint contact_identities_company_kind_value_key do nothing"
    " returning kind, value"
)


async def add_identities(
    session: AsyncSession,
    company_id: uuid.UUID,
    contact_id: uuid.UUID,
    keys: Iterable[IdentityKey],
) -> set[IdentityKey]:
    """Attach keys to a contact; returns the keys actually added (others belong to someone)."""
    pairs = list(keys)
    if not pairs:
        return set()
    # Every send and every first message of a contact runs this: straight on psycopg.
    rows = await driver_rows(
        session,
        _ADD_IDENTITIES,
        {
            "company_id": company_id,
            "contact_id": contact_id,
            "kinds": [kind for kind, _ in pairs],
            "values": [value for _, value in pairs],
        },
    )
    return {(row[0], row[1]) for row in rows}


async def get_contact(
    session: AsyncSession, company_id: uuid.UUID, contact_id: uuid.UUID
) -> Contact | None:
    """A contact of the company, or None."""
    statement = select(Contact).where(Contact.company_id == company_id, Contact.id == contact_id)
    return (await session.scalars(statement)).first()


async def fill_contact_gaps(
    session: AsyncSession,
    contact_id: uuid.UUID,
    *,
    name: str | None,
    phone_e164: str | None,
) -> None:
    """Set name and phone only where the contact has none (never overwrite what people typed)."""
    await session.execute(
        text(
            "update contacts set"
            " name = case when name = '' and cast(:name as text) is not null"
            "   then cast(:name as text) else name end,"
            " phone_e164 = coalesce(phone_e164, cast(:phone as text))"
            " where id = :id and ((name = '' and cast(:name as text) is not null)"
            "  or (phone_e164 is null and cast(:phone as text) is not null))"
        ),
        {"id": contact_id, "name": name, "phone": phone_e164},
    )


async def touch_interaction(session: AsyncSession, contact_id: uuid.UUID, at: object) -> None:
    """Move `last_interaction_at` forward."""
    await session.execute(
        text(
            "update contacts set last_interaction_at = :at where id = :id"
            " and (last_interaction_at is null or last_interaction_at < :at)"
        ),
        {"id": contact_id, "at": at},
    )


async def delete_contact(
    session: AsyncSession, company_id: uuid.UUID, contact_id: uuid.UUID
) -> None:
    """Remove a contact (after its references moved elsewhere)."""
    await session.execute(
        delete(Contact).where(Contact.company_id == company_id, Contact.id == contact_id)
    )
