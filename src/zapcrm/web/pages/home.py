"""Home ("Início"): the unified view of the seed: my open chats, the queue of people waiting
(longest wait first), my tasks (overdue first) and, for supervisors, the health of queues,
workers and instances."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from zapcrm.dependencies import RuntimeDep
from zapcrm.messaging.service import inbox
from zapcrm.ops import queues
from zapcrm.tasks import service as tasks_service
from zapcrm.web.dependencies import CurrentPanelUser
from zapcrm.web.templating import render

router = APIRouter()

SECTION_SIZE = 10


@router.get("/")
async def home(request: Request, runtime: RuntimeDep, user: CurrentPanelUser) -> Response:
    """What needs attention now."""
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
    health = None
    if user.is_supervisor:
        health = await queues.health_report(runtime.redis, runtime.db, user.identity.company_id)
    context = user.page_context(
        request,
        "home",
        mine=mine.items,
        more_mine=mine.next_cursor is not None,
        waiting=waiting,
        tasks=my_tasks.items,
        more_tasks=my_tasks.next_cursor is not None,
        health=health,
        now=datetime.now(UTC),
    )
    return render("home.html", context)
