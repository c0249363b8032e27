"""Home ("Início"): the unified view of the seed: my open chats, the queue of people waiting
(longest wait first), my tasks (overdue first) and, for supervisors, the team now (who takes
chats, who has the panel open, how many chats each holds), the campaigns sending or paused
(with the reason when one paused itself) and the health of queues, workers and instances."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import HTMLResponse, Response

from zapcrm.campaigns import service as campaigns_service
from zapcrm.dependencies import RuntimeDep
from zapcrm.distribution import service as distribution_service
from zapcrm.messaging.service import inbox
from zapcrm.ops import queues
from zapcrm.tasks import service as tasks_service
from zapcrm.web.dependencies import CurrentPanelUser
from zapcrm.web.templating import company_zone, render, render_macro

router = APIRouter()

SECTION_SIZE = 10


@router.get("/")
async def home(
    request: Request,
    runtime: RuntimeDep,
    user: CurrentPanelUser,
    hx_target: Annotated[str | None, Header()] = None,
) -> Response:
    """What needs attention now (with `HX-Target: home-grid`, the sections alone: the page
    reloads them when its live stream says something of the reader's changed)."""
    async with runtime.db.tenant_session(user.identity.claims) as session:
        mine = await inbox.list_conversations(
            session,
            user.identity,
            status="open",
            assignee="me",
            instance_id=None,
            cursor=None,
            limit=SECTION_SIZE,
        )
        waiting = await inbox.waiting_conversations(session, user.identity, limit=SECTION_SIZE)
        my_tasks = await tasks_service.list_tasks(session, user.identity, limit=SECTION_SIZE)
        campaigns = team = None
        if user.is_supervisor:
            campaigns = await campaigns_service.active_campaigns(
                session, user.identity, limit=SECTION_SIZE
            )
            team = await distribution_service.overview(session, runtime.redis, user.identity)
    health = None
    if user.is_supervisor:
        health = await queues.health_report(runtime.redis, runtime.db, user.identity.company_id)
    sections = {
        "mine": mine.items,
        "more_mine": mine.next_cursor is not None,
        "waiting": waiting,
        "tasks": my_tasks.items,
        "more_tasks": my_tasks.next_cursor is not None,
        "health": health,
        "campaigns": campaigns,
        "team": team,
        "now": datetime.now(UTC),
    }
    if hx_target == "home-grid":
        return HTMLResponse(
            render_macro("_home_sections.html", "sections", **sections, tz=company_zone())
        )
    return render("home.html", user.page_context(request, "home", **sections))
