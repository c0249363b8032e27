"""The campaign dispatcher, in the worker: every second, each due campaign sends one message
(or pauses, or waits), paced by pacing.py.

One service transaction per step: lock the due campaign (`SKIP LOCKED`, so several workers
share campaigns and never send twice for one), decide, queue the message exactly as the panel
does (a `queued` row plus its outbox entries for `evolution:outgoing-messages`), mark the
recipient and set the next send time; the entries are published after commit. The send worker
then checks the number, sends one message at a time per number and retries, as for any send.

The campaign's state lives in its row (`next_send_at`, `sent_in_batch`) rather than in
delayed queue entries (DESIGN.md names a `campaigns:dispatch` stream): the pace is a matter of
time, a paused or edited campaign must change it at once, and a worker that dies mid-step
leaves nothing behind but an uncommitted transaction.

A step, in order: the number disconnected -> pause; the latest sends all failed -> pause
(numbers not on WhatsApp do not count: they are bad entries, not a blocked number); outside
the sending window -> wait for it; over the hourly or daily cap -> wait until a send leaves
the period; otherwise skip the people who cannot be sent to (opted out, no phone, merged
away) and send to the next one; nobody left -> completed, unless the campaign follows its
list: then the people added to the list since are appended, or it looks again in a minute.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.campaigns import pacing, repository
from zapcrm.db import retry_transaction
from zapcrm.evolution.errors import NOT_ON_WHATSAPP
from zapcrm.i18n import N_
from zapcrm.kit import texts
from zapcrm.kit.periodic import every
from zapcrm.kit.zones import zone_or_default
from zapcrm.logging import get_logger
from zapcrm.messaging import repository as messaging_repo
from zapcrm.messaging.service.outbound import queue_automatic_text
from zapcrm.outbox import OutboxItem, RecordedEntry, record
from zapcrm.runtime import Runtime

log = get_logger(__name__)

SENT = Counter("zapcrm_campaign_messages", "Campaign messages queued for sending.")
SKIPPED = Counter("zapcrm_campaign_skipped", "Campaign recipients left out (opt-out, no phone).")
AUTO_PAUSED = Counter(
    "zapcrm_campaign_auto_paused", "Campaigns the dispatcher paused itself.", ["cause"]
)

# People skipped in one step before it yields (a list of thousands of opted-out contacts must
# not hold the campaign's lock for long).
MAX_SKIPS_PER_STEP = 200
# Campaigns stepped per tick of the loop, so one worker cannot be kept busy forever.
MAX_STEPS_PER_TICK = 50
STEP_FAILURE_BACKOFF = timedelta(minutes=1)
# How often a campaign that follows its list and has sent to everyone looks for new members.
FOLLOW_RECHECK = timedelta(minutes=1)


@dataclass
class Step:
    """What one step did: the outbox entries of its send, for publication and the metrics after
    commit."""

    items: list[OutboxItem] = field(default_factory=list)
    skipped: int = 0
    paused: str | None = None  # the cause, when the dispatcher paused the campaign


async def dispatch_due(
    runtime: Runtime, *, now: datetime | None = None, rng: random.Random | None = None
) -> int:
    """Step every campaign that is due now (up to MAX_STEPS_PER_TICK); how many were stepped."""
    rng = rng or random.Random()  # noqa: S311 - pacing jitter, not secrecy
    steps = 0
    while steps < MAX_STEPS_PER_TICK and await _step_next(runtime, now or datetime.now(UTC), rng):
        steps += 1
    return steps


async def _step_next(runtime: Runtime, now: datetime, rng: random.Random) -> bool:
    """Step the campaign due soonest, if any. A step that fails (other than as a deadlock
    victim, which runs again) puts its campaign back by STEP_FAILURE_BACKOFF, so a campaign
    that cannot be stepped never holds up the others, which come after it in the due order."""
    claimed: dict[str, Any] | None = None

    async def transaction() -> tuple[Step, list[RecordedEntry]] | None:
        nonlocal claimed
        async with runtime.db.service_session() as session:
            campaign = await repository.claim_due(session, now)
            if campaign is None:
                return None
            claimed = campaign
            done = await _step(session, campaign, now, rng)
            entries = await record(session, campaign["company_id"], done.items)
        return done, entries

    try:
        result = await retry_transaction(transaction)
    except Exception:
        if claimed is None:
            raise
        log.exception("campaigns.step_failed", campaign_id=str(claimed["id"]))
        async with runtime.db.service_session() as session:
            await repository.update_campaign(
                session, claimed["id"], {"next_send_at": now + STEP_FAILURE_BACKOFF}
            )
        return True
    if result is None:
        return False
    done, entries = result
    await runtime.outbox.publish(entries)
    _count(done)
    return True


async def dispatch_forever(runtime: Runtime, stop: asyncio.Event, *, interval: float = 1.0) -> None:
    """`dispatch_due` every `interval` seconds until `stop`."""
    await every(interval, stop, lambda: dispatch_due(runtime), failure="campaigns.dispatch_failed")


def _count(done: Step) -> None:
    if done.items:
        SENT.inc()
    if done.skipped:
        SKIPPED.inc(done.skipped)
    if done.paused:
        AUTO_PAUSED.labels(done.paused).inc()


async def _step(
    session: AsyncSession, campaign: dict[str, Any], now: datetime, rng: random.Random
) -> Step:
    campaign_id: uuid.UUID = campaign["id"]
    if campaign["connection_state"] != "open":
        await _pause(
            session,
            campaign,
            N_("o número {name} desconectou", name=campaign["instance_name"]),
        )
        return Step(paused="disconnected")
    if await _failing(session, campaign):
        await _pause(
            session,
            campaign,
            N_(
                "{count} envios seguidos falharam: veja o motivo nos destinatários",
                count=campaign["max_consecutive_failures"],
            ),
        )
        return Step(paused="failures")
    pace = pacing.Pacing(**{name: campaign[name] for name in pacing.PACING_COLUMNS})
    zone = zone_or_default(campaign["timezone"])
    waiting = pacing.window_opens_at(now, zone, pace)
    waiting = waiting or await _capped(session, campaign, pace, now)
    if waiting is not None:
        await repository.update_campaign(session, campaign_id, {"next_send_at": waiting})
        return Step()
    skipped = 0
    topped_up = False
    for _ in range(MAX_SKIPS_PER_STEP):
        person = await repository.next_pending(session, campaign_id)
        if person is None and campaign["follows_list"]:
            if not topped_up:
                topped_up = True
                if await _add_new_members(session, campaign):
                    continue
            # Everyone so far has had it (or was skipped): wait for the list to grow; only a
            # cancel ends a campaign that follows its list.
            await repository.update_campaign(
                session, campaign_id, {"next_send_at": now + FOLLOW_RECHECK}
            )
            return Step(skipped=skipped)
        if person is None:
            await repository.update_campaign(
                session,
                campaign_id,
                {"status": "completed", "finished_at": now, "next_send_at": None},
            )
            log.info("campaigns.completed", campaign_id=str(campaign_id))
            return Step(skipped=skipped)
        chat = await repository.contact_chat(session, campaign["instance_id"], person["contact_id"])
        reason = _unreachable(person, has_chat=chat is not None)
        if reason is not None:
            await repository.skip_recipient(session, person["id"], reason)
            skipped += 1
            continue
        items = await _send(session, campaign, person, chat, now)
        next_at, in_batch = pacing.after_send(now, campaign["sent_in_batch"], pace, rng)
        await repository.update_campaign(
            session, campaign_id, {"next_send_at": next_at, "sent_in_batch": in_batch}
        )
        return Step(items=items, skipped=skipped)
    # Only skips this time: the campaign is still due and goes on at the next tick.
    return Step(skipped=skipped)


async def _add_new_members(session: AsyncSession, campaign: dict[str, Any]) -> int:
    """Append people added to the followed list since the last look; how many."""
    segment_id = (campaign["audience"] or {}).get("segment_id")
    if segment_id is None:
        return 0  # the service only lets a campaign to a list follow it
    added = await repository.add_new_members(
        session, campaign["company_id"], campaign["id"], uuid.UUID(str(segment_id))
    )
    if added:
        log.info("campaigns.followed_list", campaign_id=str(campaign["id"]), added=added)
    return added


def _unreachable(person: dict[str, Any], *, has_chat: bool) -> str | None:
    if person["merged_into_id"] is not None:
        return N_("o contato foi unido a outro")
    if person["opted_out"]:
        return N_("o contato pediu para não receber mensagens")
    # A person WhatsApp shows only by @lid has no phone, but their chat can be written to.
    if not person["phone_e164"] and not has_chat:
        return N_("o contato não tem telefone nem conversa neste número")
    return None


async def _failing(session: AsyncSession, campaign: dict[str, Any]) -> bool:
    """Whether the latest sends since the campaign last started or resumed (as many as it
    tolerates) all failed for reasons other than a number that is not on WhatsApp."""
    count = campaign["max_consecutive_failures"]
    outcomes = await repository.latest_outcomes(
        session, campaign["id"], campaign["resumed_at"], count
    )
    return len(outcomes) == count and all(
        status == "ERROR" and NOT_ON_WHATSAPP not in (error or "") for status, error in outcomes
    )


async def _capped(
    session: AsyncSession, campaign: dict[str, Any], pace: pacing.Pacing, now: datetime
) -> datetime | None:
    """When the number's hourly or daily cap frees a place; None while it has room."""
    (in_hour, oldest_in_hour), (in_day, oldest_in_day) = await repository.instance_sends(
        session, campaign["instance_id"], now, pacing.HOUR, pacing.DAY
    )
    hourly = pacing.cap_frees_at(in_hour, pace.hourly_cap, oldest_in_hour, pacing.HOUR)
    if hourly is not None:
        return hourly
    limit = pacing.daily_limit(pace, now - campaign["instance_created_at"])
    return pacing.cap_frees_at(in_day, limit, oldest_in_day, pacing.DAY)


async def _send(
    session: AsyncSession,
    campaign: dict[str, Any],
    person: dict[str, Any],
    chat: dict[str, Any] | None,
    now: datetime,
) -> list[OutboxItem]:
    """Queue the person's message in their chat on the campaign's number (opened on their
    phone number when they have none there yet)."""
    if chat is None:
        remote_jid = person["phone_e164"].removeprefix("+") + "@s.whatsapp.net"
        created = await messaging_repo.upsert_conversation(
            session,
            company_id=campaign["company_id"],
            instance_id=campaign["instance_id"],
            remote_jid=remote_jid,
            is_group=False,
            contact_id=person["contact_id"],
        )
        await repository.close_if_unused(session, created.id)
        chat = {"id": created.id, "remote_jid": remote_jid}
    variants: list[str] = campaign["variants"]
    variant = (person["position"] - 1) % len(variants)
    body = texts.render(
        variants[variant],
        texts.person_context(person["name"], person["phone_e164"], campaign["company_name"]),
    )
    message_id, items = await queue_automatic_text(
        session,
        company_id=campaign["company_id"],
        instance_id=campaign["instance_id"],
        conversation_id=chat["id"],
        remote_jid=chat["remote_jid"],
        body=body,
        payload={"campaign_id": str(campaign["id"])},
        at=now,
    )
    await repository.mark_sent(
        session, person["id"], message_id=message_id, variant=variant, at=now
    )
    return items


async def _pause(session: AsyncSession, campaign: dict[str, Any], reason: str) -> None:
    await repository.update_campaign(
        session, campaign["id"], {"status": "paused", "pause_reason": reason}
    )
    log.info("campaigns.paused", campaign_id=str(campaign["id"]), reason=str(reason))
