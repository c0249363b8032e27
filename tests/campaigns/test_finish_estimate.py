"""A sending campaign's finish estimate, as the API and the panel read it: what its number has
already sent today counts against the daily cap (pacing rules: test_pacing.py)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import text

from tests.campaigns.helpers import new_desk
from tests.conftest import Factory, identity_of
from zapcrm.campaigns import pacing, service
from zapcrm.campaigns.schemas import CampaignIn
from zapcrm.db import Database

BRT = ZoneInfo("America/Sao_Paulo")


async def test_the_numbers_sends_of_the_day_leave_the_rest_for_tomorrow(
    db: Database, factory: Factory
) -> None:
    """Three a day, five people, two sent today: one more today, the last two tomorrow
    just after the window opens (at midnight: it sends all day)."""
    desk = await new_desk(db, factory)
    for n in range(5):
        await desk.customer(f"Cliente {n}", f"+551198765100{n}")
    identity = identity_of(desk.supervisor)
    async with db.tenant_session(identity.claims) as session:
        draft = await service.create_campaign(
            session,
            identity,
            CampaignIn.model_validate(desk.draft(daily_cap=3, warmup=False)),
        )
        campaign = await service.start_campaign(session, identity, draft.id)
    assert campaign.progress.pending == 5
    async with db.service_session() as session:
        await session.execute(
            text(
                "update campaign_recipients set status = 'sent', dispatched_at = now()"
                " where campaign_id = :id and position <= 2"
            ),
            {"id": campaign.id},
        )
    async with db.tenant_session(identity.claims) as session:
        campaign = await service.get_campaign(session, identity, campaign.id)
    assert campaign.progress.pending == 3
    tomorrow = datetime.now(UTC).astimezone(BRT).date() + timedelta(days=1)
    two = timedelta(
        seconds=pacing.estimate_seconds(
            2, pacing.Pacing(**{name: getattr(campaign, name) for name in pacing.PACING_COLUMNS})
        )
    )
    assert campaign.progress.finishes_at == datetime.combine(tomorrow, time(), tzinfo=BRT) + two
    assert campaign.progress.eta_seconds is not None
    assert campaign.progress.eta_seconds > 0
