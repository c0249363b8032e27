"""SQL for contact records, their timeline, merges and likely duplicates."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.models import Company, Contact, ContactEvent, ContactIdentity


async def add_contact(
    session: AsyncSession, company_id: uuid.UUID, values: dict[str, Any]
) -> Contact:
    """Insert a contact and return it."""
    contact = Contact(company_id=company_id, **values)
    session.add(contact)
    await session.flush()
    await session.refresh(contact)
    return contact


async def lock_contact(
    session: AsyncSession, company_id: uuid.UUID, contact_id: uuid.UUID
) -> Contact | None:
    """The contact, locked for an update in this transaction."""
    statement = (
        select(Contact)
        .where(Contact.company_id == company_id, Contact.id == contact_id)
        .with_for_update()
    )
    return (await session.scalars(statement)).first()


async def change_contact(
    session: AsyncSession, contact: Contact, values: dict[str, Any]
) -> Contact:
    """Write new values and return the refreshed row."""
    await session.execute(
        update(Contact)
        .where(Contact.id == contact.id, Contact.company_id == contact.company_id)
        .values(**values)
    )
    await session.refresh(contact)
    return contact


async def identities_of(session: AsyncSession, contact_id: uuid.UUID) -> list[tuple[str, str]]:
    """Every (kind, value) key of a contact."""
    statement = (
        select(ContactIdentity.kind, ContactIdentity.value)
        .where(ContactIdentity.contact_id == contact_id)
        .order_by(ContactIdentity.kind, ContactIdentity.value)
    )
    return [(row[0], row[1]) for row in (await session.execute(statement)).all()]


async def remove_identities(
    session: AsyncSession, contact_id: uuid.UUID, kind: str, values: Sequence[str]
) -> None:
    """Detach keys of one kind from a contact."""
    if values:
        await session.execute(
            delete(ContactIdentity).where(
                ContactIdentity.contact_id == contact_id,
                ContactIdentity.kind == kind,
                ContactIdentity.value.in_(list(values)),
            )
        )


async def owners_of(
    session: AsyncSession, company_id: uuid.UUID, kind: str, values: Sequence[str]
) -> set[uuid.UUID]:
    """Contacts that own any of these keys."""
    if not values:
        return set()
    statement = select(ContactIdentity.contact_id).where(
        ContactIdentity.company_id == company_id,
        ContactIdentity.kind == kind,
        ContactIdentity.value.in_(list(values)),
    )
    return set((await session.scalars(statement)).all())


async def add_event(
    session: AsyncSession,
    *,
    company_id: uuid.UUID,
    contact_id: uuid.UUID,
    kind: str,
    actor_id: uuid.UUID | None,
    details: dict[str, Any],
) -> None:
    """Append an entry to the contact's timeline."""
    await session.execute(
        insert(ContactEvent).values(
            company_id=company_id,
            contact_id=contact_id,
            kind=kind,
            actor_id=actor_id,
            details=orjson.loads(orjson.dumps(details, default=str)),
        )
    )


async def move_everything(
    session: AsyncSession, company_id: uuid.UUID, source_id: uuid.UUID, target_id: uuid.UUID
) -> None:
    """Re-point every row of `source_id` at `target_id`: keys, chats, tasks, lists, events,
    campaign recipients."""
    params = {"company": company_id, "source": source_id, "target": target_id}
    for statement in (
        "update contact_identities set contact_id = :target"
        " where company_id = :company and contact_id = :source",
        "update evolution_conversations set contact_id = :target"
        " where company_id = :company and contact_id = :source",
        "update tasks set contact_id = :target"
        " where company_id = :company and contact_id = :source",
        "update contact_events set contact_id = :target"
        " where company_id = :company and contact_id = :source",
        # An import job's creation of the other contact is kept on its row (migration 0056),
        # which goes: it becomes an event of the kept contact, so the timeline still shows it
        # and an import's recovery and list rules still find the job there.
        "insert into contact_events"
        " (company_id, contact_id, kind, actor_id, details, created_at)"
        " select c.company_id, :target, 'import.created', j.created_by,"
        " jsonb_build_object('job_id', c.import_job_id, 'row', c.import_row), c.created_at"
        " from contacts c left join import_jobs j"
        " on j.id = c.import_job_id and j.company_id = c.company_id"
        " where c.company_id = :company and c.id = :source and c.import_job_id is not null",
        # A list may hold both: keep one membership.
        "insert into segment_members (segment_id, contact_id, company_id, added_at)"
        " select segment_id, :target, company_id, added_at from segment_members"
        " where company_id = :company and contact_id = :source on conflict do nothing",
        "delete from segment_members where company_id = :company and contact_id = :source",
        # One person is one recipient of a campaign. Where both were, the one a message went
        # to stands for them (else the kept contact, still pending, would get it again); the
        # rows that stay behind go with the deleted contact.
        "delete from campaign_recipients kept using campaign_recipients merged"
        " where kept.company_id = :company and kept.contact_id = :target"
        " and merged.campaign_id = kept.campaign_id and merged.contact_id = :source"
        " and merged.status = 'sent' and kept.status <> 'sent'",
        "update campaign_recipients merged set contact_id = :target"
        " where company_id = :company and contact_id = :source and not exists"
        " (select 1 from campaign_recipients kept"
        "  where kept.campaign_id = merged.campaign_id and kept.contact_id = :target)",
    ):
        await session.execute(text(statement), params)


_HISTORY = text(
    """
select * from (
  select e.created_at as at, e.kind, null::uuid as conversation_id, null::uuid as message_id,
         null::boolean as from_me, null::text as text, e.details, 'e' || e.id as sort_id
  from contact_events e where e.contact_id = :contact_id
  union all
  -- An import job's creation of the contact, kept on its row (migration 0056) and shown as
  -- the event it replaces; its sort id ranks it below the contact's events of the same moment
  -- (an update by a later row of the same file), as the creation they follow.
  select c.created_at, 'import.created', null, null, null, null,
         jsonb_build_object('job_id', c.import_job_id, 'row', c.import_row), 'a' || c.id
  from contacts c where c.id = :contact_id and c.import_job_id is not null
  union all
  select m.message_timestamp, 'message', m.conversation_id, m.id, m.from_me,
         m.body, jsonb_build_object('type', m.type, 'status', m.status,
           'instance_id', m.instance_id, 'deleted', m.deleted_at is not null),
         'm' || m.id
  from evolution_messages m join evolution_conversations c on c.id = m.conversation_id
  where c.contact_id = :contact_id
  union all
  select n.created_at, 'note', n.conversation_id, null, null, n.body,
         jsonb_build_object('note_id', n.id, 'author_id', n.author_id), 'n' || n.id
  from conversation_notes n join evolution_conversations c on c.id = n.conversation_id
  where c.contact_id = :contact_id
  union all
  select t.created_at, 'task', t.conversation_id, null, null, t.title,
         jsonb_build_object('task_id', t.id, 'status', t.status, 'due_at', t.due_at), 't' || t.id
  from tasks t where t.contact_id = :contact_id
  union all
  select cc.rated_at, 'survey.rated', cc.conversation_id, cc.rating_message_id, null, null,
         jsonb_build_object('rating', cc.rating, 'assignee_id', cc.assignee_id), 'r' || cc.id
  from conversation_cycles cc join evolution_conversations c on c.id = cc.conversation_id
  where c.contact_id = :contact_id and cc.rating is not null
) timeline
where (cast(:before_at as timestamptz) is null
       or (at, sort_id) < (cast(:before_at as timestamptz), cast(:before_id as text)))
order by at desc, sort_id desc
limit :limit
"""
)


async def history(
    session: AsyncSession,
    contact_id: uuid.UUID,
    *,
    before: tuple[datetime, str] | None,
    limit: int,
) -> Sequence[dict[str, Any]]:
    """The contact's timeline, newest first: events, messages and notes of every chat, tasks,
    and the grades the person gave the satisfaction survey."""
    rows = await session.execute(
        _HISTORY,
        {
            "contact_id": contact_id,
            "before_at": before[0] if before else None,
            "before_id": before[1] if before else None,
            "limit": limit,
        },
    )
    return [dict(row._mapping) for row in rows]


# Two equality joins (hash joins, linear in the company's contacts) instead of one OR'd
# self-join, which would compare every pair.
_DUPLICATES = text(
    """
(select a.id, b.id, 'same_email'
 from contacts a join contacts b
   on b.company_id = a.company_id and lower(b.email) = lower(a.email) and b.id > a.id
 where a.company_id = :company_id and a.email is not null
 limit :limit)
union all
(select a.id, b.id,
   case when app.search_text(a.name) = app.search_text(b.name) then 'same_name_and_phone_end'
        else 'similar_name_and_phone_end' end
 from contacts a join contacts b
   on b.company_id = a.company_id and right(b.phone_e164, 8) = right(a.phone_e164, 8)
   and b.id > a.id
 where a.company_id = :company_id and a.name <> ''
   and similarity(app.search_text(a.name), app.search_text(b.name)) > 0.6
   and (a.email is null or b.email is null or lower(a.email) <> lower(b.email))
 limit :limit)
"""
)


async def duplicate_pairs(
    session: AsyncSession, company_id: uuid.UUID, limit: int
) -> Sequence[tuple[uuid.UUID, uuid.UUID, str]]:
    """Pairs of the company's contacts that look like one person."""
    rows = await session.execute(_DUPLICATES, {"company_id": company_id, "limit": limit})
    return [(row[0], row[1], row[2]) for row in rows]


async def contacts_by_id(
    session: AsyncSession, company_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Contact]:
    """Contacts of the company by id."""
    if not ids:
        return {}
    statement = select(Contact).where(Contact.company_id == company_id, Contact.id.in_(ids))
    return {contact.id: contact for contact in (await session.scalars(statement)).all()}


async def company_region(session: AsyncSession, company_id: uuid.UUID) -> str | None:
    """The company's default phone region (numbers typed without a country code)."""
    result = await session.execute(select(Company.default_region).where(Company.id == company_id))
    region: str | None = result.scalar_one_or_none()
    return region
