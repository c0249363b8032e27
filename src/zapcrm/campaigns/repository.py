"""SQL of campaigns: the campaign rows, their recipients, progress and the dispatcher's reads.

Tenant calls (the API) run under RLS and name the company as well; the dispatcher runs in a
service transaction and takes one due campaign at a time with `FOR UPDATE SKIP LOCKED`, so two
workers never send for the same campaign at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, func, insert, literal, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.models import Campaign, CampaignRecipient

# A recipient's status as people read it: its own before the send, its message's after.
_RECIPIENT_STATUS = """
case
  when r.status <> 'sent' then r.status
  when m.status is null then 'sent'
  when m.status = 'queued' then 'queued'
  when m.status = 'ERROR' then 'failed'
  when m.status = 'DELIVERY_ACK' then 'delivered'
  when m.status in ('READ', 'PLAYED') then 'read'
  else 'sent'
end"""
# Whether the person wrote back after the campaign's message was queued in their chat. Both
# times by our clock (when the row was written), not the phone's: a phone's clock may be off.
_REPLIED = """
(r.status = 'sent' and exists (
  select 1 from evolution_messages reply
  where reply.conversation_id = m.conversation_id and not reply.from_me
    and reply.created_at > r.dispatched_at))"""


async def insert_campaign(session: AsyncSession, values: dict[str, Any]) -> Campaign:
    """A new draft."""
    campaign = Campaign(**values)
    session.add(campaign)
    await session.flush()
    await session.refresh(campaign)
    return campaign


async def get_campaign(
    session: AsyncSession, company_id: uuid.UUID, campaign_id: uuid.UUID, *, lock: bool = False
) -> Campaign | None:
    """One campaign of the company (locked for this transaction with `lock`)."""
    statement = select(Campaign).where(
        Campaign.id == campaign_id, Campaign.company_id == company_id
    )
    if lock:
        statement = statement.with_for_update()
    return (await session.scalars(statement)).one_or_none()


async def list_campaigns(
    session: AsyncSession,
    company_id: uuid.UUID,
    limit: int,
    statuses: Sequence[str] | None = None,
) -> Sequence[Campaign]:
    """The company's campaigns (of some statuses), newest first."""
    statement = (
        select(Campaign)
        .where(Campaign.company_id == company_id)
        .order_by(Campaign.created_at.desc(), Campaign.id.desc())
        .limit(limit)
    )
    if statuses is not None:
        statement = statement.where(Campaign.status.in_(statuses))
    return (await session.scalars(statement)).all()


async def update_campaign(
    session: AsyncSession, campaign_id: uuid.UUID, values: dict[str, Any]
) -> None:
    """Write the given columns."""
    await session.execute(update(Campaign).where(Campaign.id == campaign_id).values(**values))


async def delete_campaign(session: AsyncSession, campaign_id: uuid.UUID) -> None:
    """Remove a campaign and its recipients (the messages it sent stay in their chats)."""
    await session.execute(delete(Campaign).where(Campaign.id == campaign_id))


async def add_recipients(
    session: AsyncSession,
    company_id: uuid.UUID,
    campaign_id: uuid.UUID,
    contact_ids: Select[Any],
) -> int:
    """Snapshot the audience: one row per contact id the query selects, numbered in id order
    (random ids: a shuffle, so a campaign never works through one stretch of the alphabet or
    one import at a time); returns how many."""
    audience = contact_ids.subquery()
    ordered = select(
        literal(company_id),
        literal(campaign_id),
        audience.c.id,
        func.row_number().over(order_by=audience.c.id),
    )
    added = (
        insert(CampaignRecipient)
        .from_select(["company_id", "campaign_id", "contact_id", "position"], ordered)
        .returning(CampaignRecipient.id)
        .cte("added")
    )
    return int((await session.execute(select(func.count()).select_from(added))).scalar_one())


async def add_new_members(
    session: AsyncSession, company_id: uuid.UUID, campaign_id: uuid.UUID, segment_id: uuid.UUID
) -> int:
    """Append the list's members who are not recipients yet, in the order they joined (a
    campaign that follows its list); returns how many. The caller holds the campaign's lock."""
    result = await session.execute(
        text(
            "insert into campaign_recipients (company_id, campaign_id, contact_id, position)"
            " select :company_id, :campaign_id, m.contact_id,"
            "  (select coalesce(max(r.position), 0) from campaign_recipients r"
            "   where r.campaign_id = :campaign_id)"
            "  + row_number() over (order by m.added_at, m.contact_id)"
            " from segment_members m"
            " where m.segment_id = :segment_id and m.company_id = :company_id"
            "  and not exists (select 1 from campaign_recipients r"
            "   where r.campaign_id = :campaign_id and r.contact_id = m.contact_id)"
            " on conflict do nothing"
        ),
        {"company_id": company_id, "campaign_id": campaign_id, "segment_id": segment_id},
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def progress(
    session: AsyncSession, campaign_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[str, int]]:
    """Recipients by status (see `_RECIPIENT_STATUS`) and replies, per campaign."""
    if not campaign_ids:
        return {}
    rows = await session.execute(
        text(
            f"select r.campaign_id, {_RECIPIENT_STATUS} as shown, count(*) as n,"  # noqa: S608 - constants
            f" count(*) filter (where {_REPLIED}) as replied"
            " from campaign_recipients r"
            " left join evolution_messages m on m.id = r.message_id"
            " where r.campaign_id = any(:ids)"
            " group by 1, 2"
        ),
        {"ids": list(campaign_ids)},
    )
    counts: dict[uuid.UUID, dict[str, int]] = {}
    for campaign_id, shown, number, replied in rows:
        figures = counts.setdefault(campaign_id, {})
        figures[shown] = figures.get(shown, 0) + number
        figures["replied"] = figures.get("replied", 0) + replied
    return counts


async def numbers_pace(
    session: AsyncSession, instance_ids: Sequence[uuid.UUID], since: datetime
) -> dict[uuid.UUID, tuple[datetime, int]]:
    """Each number's registration time and how many campaign messages it was given since
    `since` (the warm-up's age and the use of its daily cap, for the finish estimate)."""
    if not instance_ids:
        return {}
    rows = await session.execute(
        text(
            "select i.id, i.created_at, count(r.id)"
            " from evolution_instances i"
            " left join campaigns c on c.instance_id = i.id"
            " left join campaign_recipients r on r.campaign_id = c.id and r.dispatched_at > :since"
            " where i.id = any(:ids)"
            " group by i.id, i.created_at"
        ),
        {"ids": list(instance_ids), "since": since},
    )
    return {instance_id: (created_at, int(sent)) for instance_id, created_at, sent in rows}


async def recipients_page(
    session: AsyncSession,
    campaign_id: uuid.UUID,
    *,
    shown: str | None,
    after_position: int,
    limit: int,
) -> list[dict[str, Any]]:
    """Recipients in audience order after a position, optionally of one shown status."""
    rows = await session.execute(
        text(
            "select * from ("  # noqa: S608 - constant expressions only
            # A send the gateway refused tells why on its message (not on the recipient).
            " select r.contact_id, ct.name, ct.phone_e164, r.position,"
            " coalesce(r.reason, case when m.status = 'ERROR' then m.error_detail end) as reason,"
            " r.variant,"
            " r.dispatched_at, r.message_id, m.conversation_id,"
            f" {_RECIPIENT_STATUS} as status, {_REPLIED} as replied"
            " from campaign_recipients r"
            " join contacts ct on ct.id = r.contact_id"
            " left join evolution_messages m on m.id = r.message_id"
            " where r.campaign_id = :campaign_id and r.position > :after"
            ") page where cast(:shown as text) is null or page.status = :shown"
            " order by position limit :limit"
        ),
        {"campaign_id": campaign_id, "after": after_position, "shown": shown, "limit": limit},
    )
    return [dict(row) for row in rows.mappings()]


# --- the dispatcher (service transactions) ---


async def claim_due(session: AsyncSession, now: datetime) -> dict[str, Any] | None:
    """The running campaign whose next send is due soonest, locked (skipping campaigns another
    worker holds), with its number's state and age and the company's time zone."""
    rows = await session.execute(
        text(
            "select c.*, i.connection_state, i.external_id as instance_name,"
            " i.created_at as instance_created_at, co.timezone, co.name as company_name"
            " from campaigns c"
            " join evolution_instances i on i.id = c.instance_id"
            " join companies co on co.id = c.company_id"
            " where c.status = 'running' and c.next_send_at <= :now"
            " order by c.next_send_at"
            " limit 1"
            " for update of c skip locked"
        ),
        {"now": now},
    )
    row = rows.mappings().one_or_none()
    return dict(row) if row is not None else None


async def last_dispatch(session: AsyncSession, campaign_id: uuid.UUID) -> datetime | None:
    """When the campaign last sent (None before its first send)."""
    result = await session.execute(
        text(
            "select max(dispatched_at) from campaign_recipients"
            " where campaign_id = :campaign_id and dispatched_at is not null"
        ),
        {"campaign_id": campaign_id},
    )
    found: datetime | None = result.scalar_one()
    return found


async def latest_outcomes(
    session: AsyncSession, campaign_id: uuid.UUID, since: datetime | None, count: int
) -> list[tuple[str | None, str | None]]:
    """(message status, error) of the campaign's latest sends since a time, newest first."""
    rows = await session.execute(
        text(
            "select m.status, m.error_detail from campaign_recipients r"
            " join evolution_messages m on m.id = r.message_id"
            " where r.campaign_id = :campaign_id and r.dispatched_at >= :since"
            " order by r.dispatched_at desc limit :count"
        ),
        {
            "campaign_id": campaign_id,
            "since": since or datetime.min.replace(tzinfo=UTC),
            "count": count,
        },
    )
    return [(row[0], row[1]) for row in rows]


async def instance_sends(
    session: AsyncSession, instance_id: uuid.UUID, now: datetime, hour: timedelta, day: timedelta
) -> tuple[tuple[int, datetime | None], tuple[int, datetime | None]]:
    """How many campaign messages the number was given in the last hour and the last day, each
    with the oldest of them (one statement: the dispatcher asks at every step)."""
    row = (
        await session.execute(
            text(
                "select count(*) filter (where r.dispatched_at > :hour_ago),"
                " min(r.dispatched_at) filter (where r.dispatched_at > :hour_ago),"
                " count(*), min(r.dispatched_at)"
                " from campaign_recipients r join campaigns c on c.id = r.campaign_id"
                " where c.instance_id = :instance_id and r.dispatched_at > :day_ago"
            ),
            {"instance_id": instance_id, "hour_ago": now - hour, "day_ago": now - day},
        )
    ).one()
    return (int(row[0]), row[1]), (int(row[2]), row[3])


async def next_pending(session: AsyncSession, campaign_id: uuid.UUID) -> dict[str, Any] | None:
    """The next person to send to, with what the send needs of their contact; locked."""
    rows = await session.execute(
        text(
            "select r.id, r.contact_id, r.position, ct.name, ct.phone_e164, ct.opted_out,"
            " ct.merged_into_id"
            " from campaign_recipients r join contacts ct on ct.id = r.contact_id"
            " where r.campaign_id = :campaign_id and r.status = 'pending'"
            " order by r.position limit 1"
            " for update of r skip locked"
        ),
        {"campaign_id": campaign_id},
    )
    row = rows.mappings().one_or_none()
    return dict(row) if row is not None else None


async def skip_recipient(session: AsyncSession, recipient_id: uuid.UUID, reason: str) -> None:
    """Leave a person out, saying why."""
    await session.execute(
        update(CampaignRecipient)
        .where(CampaignRecipient.id == recipient_id)
        .values(status="skipped", reason=reason)
    )


async def mark_sent(
    session: AsyncSession,
    recipient_id: uuid.UUID,
    *,
    message_id: uuid.UUID,
    variant: int,
    at: datetime,
) -> None:
    """The person's message is queued: from here its status is the message's."""
    await session.execute(
        update(CampaignRecipient)
        .where(CampaignRecipient.id == recipient_id)
        .values(status="sent", message_id=message_id, variant=variant, dispatched_at=at)
    )


async def contact_chat(
    session: AsyncSession, instance_id: uuid.UUID, contact_id: uuid.UUID
) -> dict[str, Any] | None:
    """The person's own chat on the number (the most recent when WhatsApp gave them several
    ids over time: legacy number, @lid), so the campaign lands where the history is."""
    rows = await session.execute(
        text(
            "select id, remote_jid from evolution_conversations"
            " where instance_id = :instance_id and contact_id = :contact_id and not is_group"
            " order by last_message_at desc nulls last, created_at desc limit 1"
        ),
        {"instance_id": instance_id, "contact_id": contact_id},
    )
    row = rows.mappings().one_or_none()
    return dict(row) if row is not None else None


async def close_if_unused(session: AsyncSession, conversation_id: uuid.UUID) -> None:
    """A chat the campaign just opened starts closed: it joins the queue when the person
    answers (an inbound message reopens it), not as one of hundreds of silent chats."""
    await session.execute(
        text(
            "update evolution_conversations set status = 'closed', closed_at = now()"
            " where id = :id and last_message_id is null and status = 'open'"
        ),
        {"id": conversation_id},
    )


async def instance_state(
    session: AsyncSession, company_id: uuid.UUID, instance_id: uuid.UUID
) -> str | None:
    """The number's connection state; None when it is not the company's."""
    result = await session.execute(
        text(
            "select connection_state from evolution_instances"
            " where id = :id and company_id = :company_id"
        ),
        {"id": instance_id, "company_id": company_id},
    )
    return result.scalar_one_or_none()


async def was_sent_a_campaign(session: AsyncSession, contact_id: uuid.UUID) -> bool:
    """Whether any campaign has sent the person a message."""
    result = await session.execute(
        text(
            "select exists (select 1 from campaign_recipients"
            " where contact_id = :contact_id and status = 'sent')"
        ),
        {"contact_id": contact_id},
    )
    return bool(result.scalar_one())
