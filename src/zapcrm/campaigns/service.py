"""Campaigns for supervisors and admins: plan a draft, start it (the audience is fixed then),
pause, resume, cancel; progress and recipients. Sending itself is dispatch.py's, in the worker.

Services never commit: the edge's transaction does. Starting, pausing, resuming and cancelling
are written to the audit log: a campaign speaks to many customers in the company's name.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any, get_args
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.accounts import service as accounts_service
from zapcrm.accounts.audit import audit_action
from zapcrm.auth.identity import Identity
from zapcrm.campaigns import pacing, repository
from zapcrm.campaigns.schemas import (
    PACING_FIELDS,
    CampaignIn,
    CampaignOut,
    CampaignProgress,
    CampaignUpdate,
    PacingIn,
    RecipientOut,
    RecipientStatus,
    paused_by_hand,
    range_problems,
)
from zapcrm.contacts.query import repository as contacts_query
from zapcrm.contacts.query.schemas import ContactQuery
from zapcrm.contacts.query.service import count_contacts, resolve_criteria
from zapcrm.exceptions import Conflict, NotFound, ValidationFailed
from zapcrm.i18n import N_
from zapcrm.models import Campaign

MAX_LISTED = 200
MAX_SCHEDULE = timedelta(days=90)
FINAL = ("completed", "cancelled")
_DRAFT_ONLY = ("instance_id", "audience", "variants", "follows_list")


async def list_campaigns(session: AsyncSession, identity: Identity) -> list[CampaignOut]:
    """The company's latest campaigns with their progress, newest first."""
    campaigns = await repository.list_campaigns(session, identity.company_id, MAX_LISTED)
    return await _out(session, campaigns)


async def active_campaigns(
    session: AsyncSession, identity: Identity, limit: int
) -> list[CampaignOut]:
    """Campaigns sending or paused (by hand or by themselves), newest first: what a
    supervisor keeps an eye on."""
    campaigns = await repository.list_campaigns(
        session, identity.company_id, limit, statuses=("running", "paused")
    )
    return await _out(session, campaigns)


async def get_campaign(
    session: AsyncSession, identity: Identity, campaign_id: uuid.UUID
) -> CampaignOut:
    """One campaign with its progress."""
    return (await _out(session, [await _campaign(session, identity, campaign_id)]))[0]


async def count_audience(session: AsyncSession, identity: Identity, audience: ContactQuery) -> int:
    """How many contacts the audience selects now (opted-out ones included: they are skipped,
    and counted as such, when the campaign reaches them)."""
    return await count_contacts(session, identity, audience)


async def create_campaign(
    session: AsyncSession, identity: Identity, body: CampaignIn
) -> CampaignOut:
    """A draft; its audience is checked now and fixed when it starts."""
    await _instance_state(session, identity, body.instance_id)
    await resolve_criteria(session, identity, body.audience)
    await _check_follows(session, identity, body.follows_list, body.audience)
    campaign = await repository.insert_campaign(
        session,
        {
            **body.model_dump(exclude={"audience"}),
            "audience": _audience_json(body.audience),
            "company_id": identity.company_id,
            "created_by": identity.user_id,
        },
    )
    return (await _out(session, [campaign]))[0]


async def update_campaign(
    session: AsyncSession,
    identity: Identity,
    campaign_id: uuid.UUID,
    body: CampaignUpdate,
    *,
    now: datetime | None = None,
) -> CampaignOut:
    """Change a campaign that has not ended (see CampaignUpdate for what, when)."""
    campaign = await _campaign(session, identity, campaign_id, lock=True)
    changes = body.model_dump(exclude_unset=True)
    if campaign.status in FINAL:
        raise Conflict(N_("a campanha já terminou"))
    if campaign.status != "draft" and any(field in changes for field in _DRAFT_ONLY):
        raise Conflict(N_("número, público e textos só mudam enquanto a campanha é rascunho"))
    if any(value is None for value in changes.values()):
        raise ValidationFailed(
            N_("um campo enviado está vazio"),
            fields=[
                {"field": field, "message": N_("não pode ser nulo")}
                for field, value in changes.items()
                if value is None
            ],
        )
    merged = PacingIn.model_construct(
        **{field: changes.get(field, getattr(campaign, field)) for field in PACING_FIELDS}
    )
    problems = range_problems(merged.model_dump())
    if problems:
        summary = (
            problems[0]["message"]
            if len(problems) == 1
            else N_("o ritmo de envio tem {count} problemas", count=len(problems))
        )
        raise ValidationFailed(summary, fields=problems)
    if "instance_id" in changes:
        await _instance_state(session, identity, changes["instance_id"])
    if body.audience is not None:
        await resolve_criteria(session, identity, body.audience)
        changes["audience"] = _audience_json(body.audience)
    if body.audience is not None or body.follows_list is not None:
        await _check_follows(
            session,
            identity,
            campaign.follows_list if body.follows_list is None else body.follows_list,
            body.audience or ContactQuery(**campaign.audience),
        )
    if campaign.status != "draft" and any(field in changes for field in PACING_FIELDS):
        sooner = await _wait_under_new_pace(session, campaign, merged, now or datetime.now(UTC))
        if sooner is not None:
            changes["next_send_at"] = sooner
    await repository.update_campaign(session, campaign.id, changes)
    return await get_campaign(session, identity, campaign.id)


async def _check_follows(
    session: AsyncSession, identity: Identity, follows: bool, audience: ContactQuery
) -> None:
    """A campaign follows only an audience that is exactly one static list: people join a list
    at a known moment; a filter or a dynamic segment has no such moment to follow."""
    if not follows:
        return
    only_a_list = not audience.filter and not (audience.q or "").strip()
    segment = (
        await contacts_query.get_segment(session, identity.company_id, audience.segment_id)
        if audience.segment_id is not None and only_a_list
        else None
    )
    if segment is None or segment.kind != "static":
        raise ValidationFailed(
            N_("só uma campanha para uma lista estática pode seguir a lista"),
            fields=[
                {
                    "field": "follows_list",
                    "message": N_("escolha uma lista estática como público, sem busca nem filtro"),
                }
            ],
        )


async def _wait_under_new_pace(
    session: AsyncSession, campaign: Campaign, pace: PacingIn, now: datetime
) -> datetime | None:
    """A wait drawn under the old pace that the new one makes shorter ends sooner: at most the
    new longest gap (or batch pause, after a full batch) after the last send. The dispatcher
    checks the window and the caps again at that moment, so only the gap is cut."""
    if campaign.next_send_at is None or campaign.next_send_at <= now:
        return None
    last = await repository.last_dispatch(session, campaign.id)
    if last is None:
        return None  # not started sending yet: a scheduled start stays as it is
    longest = pace.batch_pause_max_seconds if campaign.sent_in_batch == 0 else pace.max_gap_seconds
    limit = max(last + timedelta(seconds=longest), now)
    return limit if limit < campaign.next_send_at else None


async def duplicate_campaign(
    session: AsyncSession, identity: Identity, campaign_id: uuid.UUID
) -> CampaignOut:
    """A new draft with the campaign's number, audience, texts and pace ("cópia de ...")."""
    campaign = await _campaign(session, identity, campaign_id)
    copied = {field: getattr(campaign, field) for field in (*PACING_FIELDS, *_DRAFT_ONLY)}
    name = str(N_("Cópia de {name}", name=campaign.name))[:200]
    created = await repository.insert_campaign(
        session,
        copied | {"name": name, "company_id": identity.company_id, "created_by": identity.user_id},
    )
    return (await _out(session, [created]))[0]


async def start_campaign(
    session: AsyncSession,
    identity: Identity,
    campaign_id: uuid.UUID,
    *,
    at: datetime | None = None,
    now: datetime | None = None,
) -> CampaignOut:
    """Fix the audience (the contacts it selects now) and let the dispatcher begin, now or at
    a scheduled time `at` (then the first message goes at `at`, or at the window's next
    opening after it)."""
    now = now or datetime.now(UTC)
    campaign = await _campaign(session, identity, campaign_id, lock=True)
    if campaign.status != "draft":
        raise Conflict(N_("só um rascunho pode ser iniciado"))
    first_send = _scheduled(at, now)
    await _connected(session, identity, campaign.instance_id)
    criteria = await resolve_criteria(session, identity, ContactQuery(**campaign.audience))
    total = await repository.add_recipients(
        session,
        identity.company_id,
        campaign.id,
        contacts_query.matching_ids(identity.company_id, criteria.where),
    )
    if total == 0 and not campaign.follows_list:  # one that follows may wait for its first
        raise ValidationFailed(N_("nenhum contato corresponde ao público da campanha"))
    await repository.update_campaign(
        session,
        campaign.id,
        {
            "status": "running",
            "started_at": now,
            "resumed_at": now,
            "next_send_at": first_send,
            "sent_in_batch": 0,
        },
    )
    details: dict[str, Any] = {"recipients": total}
    if first_send > now:
        details["scheduled_for"] = first_send.isoformat()
    await _audit(session, identity, "campaign.started", campaign, details)
    return await get_campaign(session, identity, campaign.id)


async def pause_campaign(
    session: AsyncSession, identity: Identity, campaign_id: uuid.UUID
) -> CampaignOut:
    """Stop sending until resumed (a message already handed to the send queue still goes)."""
    campaign = await _campaign(session, identity, campaign_id, lock=True)
    if campaign.status != "running":
        raise Conflict(N_("só uma campanha em andamento pode ser pausada"))
    await repository.update_campaign(
        session,
        campaign.id,
        {"status": "paused", "pause_reason": paused_by_hand(identity.display_name)},
    )
    await _audit(session, identity, "campaign.paused", campaign, {})
    return await get_campaign(session, identity, campaign.id)


async def resume_campaign(
    session: AsyncSession,
    identity: Identity,
    campaign_id: uuid.UUID,
    *,
    now: datetime | None = None,
) -> CampaignOut:
    """Send again from where it stopped (paused by hand or by the dispatcher); a wait that was
    still running (a scheduled start, a pause between batches) is kept."""
    campaign = await _campaign(session, identity, campaign_id, lock=True)
    if campaign.status != "paused":
        raise Conflict(N_("só uma campanha pausada pode ser retomada"))
    await _connected(session, identity, campaign.instance_id)
    now = now or datetime.now(UTC)
    next_send = max(now, campaign.next_send_at or now)
    await repository.update_campaign(
        session,
        campaign.id,
        # The failures that paused it are behind it now: they do not pause it again.
        {"status": "running", "pause_reason": None, "next_send_at": next_send, "resumed_at": now},
    )
    await _audit(session, identity, "campaign.resumed", campaign, {})
    return await get_campaign(session, identity, campaign.id)


async def cancel_campaign(
    session: AsyncSession,
    identity: Identity,
    campaign_id: uuid.UUID,
    *,
    now: datetime | None = None,
) -> CampaignOut:
    """End the campaign for good; people not reached yet are not sent to."""
    campaign = await _campaign(session, identity, campaign_id, lock=True)
    if campaign.status in FINAL:
        raise Conflict(N_("a campanha já terminou"))
    await repository.update_campaign(
        session,
        campaign.id,
        {"status": "cancelled", "finished_at": now or datetime.now(UTC), "next_send_at": None},
    )
    await _audit(session, identity, "campaign.cancelled", campaign, {})
    return await get_campaign(session, identity, campaign.id)


async def delete_campaign(
    session: AsyncSession, identity: Identity, campaign_id: uuid.UUID
) -> None:
    """Remove a draft or an ended campaign (its messages stay in the chats)."""
    campaign = await _campaign(session, identity, campaign_id, lock=True)
    if campaign.status not in ("draft", *FINAL):
        raise Conflict(N_("pause e cancele a campanha antes de excluí-la"))
    await repository.delete_campaign(session, campaign.id)
    await _audit(session, identity, "campaign.deleted", campaign, {"status": campaign.status})


async def list_recipients(
    session: AsyncSession,
    identity: Identity,
    campaign_id: uuid.UUID,
    *,
    status: RecipientStatus | None,
    after: int,
    limit: int,
) -> list[RecipientOut]:
    """The campaign's people in audience order, optionally of one status."""
    campaign = await _campaign(session, identity, campaign_id)
    rows = await repository.recipients_page(
        session, campaign.id, shown=status, after_position=after, limit=limit
    )
    return [RecipientOut.model_validate(row) for row in rows]


def _scheduled(at: datetime | None, now: datetime) -> datetime:
    """When a starting campaign sends first: now, or a time within MAX_SCHEDULE ahead."""
    if at is None:
        return now
    if at.tzinfo is None:
        raise ValidationFailed(
            N_("informe o horário com o fuso (por exemplo 2026-12-01T09:00:00-03:00)"),
            fields=[{"field": "at", "message": N_("sem fuso horário")}],
        )
    if at <= now:
        return now
    if at > now + MAX_SCHEDULE:
        raise ValidationFailed(
            N_("agende para no máximo {days} dias à frente", days=MAX_SCHEDULE.days),
            fields=[{"field": "at", "message": N_("longe demais")}],
        )
    return at


async def export_zone(
    session: AsyncSession, identity: Identity, campaign_id: uuid.UUID
) -> ZoneInfo:
    """Check the campaign can be exported (NotFound otherwise) before a byte is streamed; the
    company's time zone, for the file's times."""
    await _campaign(session, identity, campaign_id)
    return await accounts_service.company_zone(session, identity.company_id)


async def _campaign(
    session: AsyncSession, identity: Identity, campaign_id: uuid.UUID, *, lock: bool = False
) -> Campaign:
    campaign = await repository.get_campaign(session, identity.company_id, campaign_id, lock=lock)
    if campaign is None:
        raise NotFound(N_("campanha não encontrada"))
    return campaign


async def _instance_state(session: AsyncSession, identity: Identity, instance_id: uuid.UUID) -> str:
    state = await repository.instance_state(session, identity.company_id, instance_id)
    if state is None:
        raise ValidationFailed(
            N_("número de WhatsApp não encontrado"),
            fields=[{"field": "instance_id", "message": N_("não encontrado")}],
        )
    return state


async def _connected(session: AsyncSession, identity: Identity, instance_id: uuid.UUID) -> None:
    if await _instance_state(session, identity, instance_id) != "open":
        raise Conflict(N_("o número de WhatsApp da campanha está desconectado: conecte-o antes"))


async def _out(session: AsyncSession, campaigns: Sequence[Campaign]) -> list[CampaignOut]:
    if not campaigns:
        return []
    now = datetime.now(UTC)
    counts = await repository.progress(session, [campaign.id for campaign in campaigns])
    zone = await accounts_service.company_zone(session, campaigns[0].company_id)
    # The numbers of the campaigns sending: their age (warm-up) and their sends of the day.
    numbers = await repository.numbers_pace(
        session,
        list({campaign.instance_id for campaign in campaigns if campaign.status == "running"}),
        datetime.combine(now.astimezone(zone).date(), time(), tzinfo=zone),
    )
    shown = []
    for campaign in campaigns:
        figures = counts.get(campaign.id, {})
        finishes_at = _finishes_at(campaign, figures, zone, numbers.get(campaign.instance_id), now)
        shown.append(
            CampaignOut.model_validate(
                {column: getattr(campaign, column) for column in _OUT_COLUMNS}
                | {
                    "progress": _progress(campaign, figures, finishes_at, now),
                    "next_send_in_window_at": _next_send_in_window(campaign, zone),
                }
            )
        )
    return shown


# What CampaignOut shows of the row: every field but the computed ones.
_OUT_COLUMNS = tuple(
    name for name in CampaignOut.model_fields if name not in ("progress", "next_send_in_window_at")
)


def _pace(campaign: Campaign) -> pacing.Pacing:
    return pacing.Pacing(**{field: getattr(campaign, field) for field in pacing.PACING_COLUMNS})


def _next_send_in_window(campaign: Campaign, zone: ZoneInfo) -> datetime | None:
    """When the next message may go, as the dispatcher will find it: a campaign started (or
    due) outside its sending window waits for the window's next opening."""
    due = campaign.next_send_at
    if due is None:
        return None
    return pacing.window_opens_at(due, zone, _pace(campaign)) or due


def _finishes_at(
    campaign: Campaign,
    figures: dict[str, int],
    zone: ZoneInfo,
    number: tuple[datetime, int] | None,
    now: datetime,
) -> datetime | None:
    """When a sending campaign's last message should go: from its next send on, at its pace,
    in its window, within its number's daily limit (pacing.finish_estimate)."""
    if campaign.status != "running" or number is None:
        return None
    registered, sent_today = number
    start = max(now, campaign.next_send_at or now)
    if start.astimezone(zone).date() != now.astimezone(zone).date():
        sent_today = 0  # held for a later day (a cap reached): today's sends count no more
    return pacing.finish_estimate(
        figures.get("pending", 0),
        _pace(campaign),
        zone,
        start,
        number_since=registered,
        sent_today=sent_today,
    )


def _progress(
    campaign: Campaign, figures: dict[str, int], finishes_at: datetime | None, now: datetime
) -> CampaignProgress:
    numbers = {name: figures.get(name, 0) for name in get_args(RecipientStatus)}
    return CampaignProgress(
        **numbers,
        total=sum(numbers.values()),
        replied=figures.get("replied", 0),
        eta_seconds=None if finishes_at is None else (finishes_at - now).total_seconds(),
        finishes_at=finishes_at,
    )


def _audience_json(audience: ContactQuery) -> dict[str, Any]:
    return audience.model_dump(mode="json", exclude_none=True)


async def _audit(
    session: AsyncSession,
    identity: Identity,
    action: str,
    campaign: Campaign,
    details: dict[str, Any],
) -> None:
    await audit_action(
        session, identity, action, "campaign", campaign.id, {"name": campaign.name} | details
    )
