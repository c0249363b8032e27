"""The chat's "Agendar mensagem" box: a text and a moment on the company's clock, the
messages still to go with a cancel button, and those that could not go with the reason.

The box loads after the chat (its own request, like the header's switch) and every action
answers it whole, so the chat page itself does not change.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response
from pydantic import ValidationError

from zapcrm.dependencies import RuntimeDep
from zapcrm.exceptions import ZapcrmError
from zapcrm.runtime import Runtime
from zapcrm.scheduling import service
from zapcrm.scheduling.schemas import ScheduledIn, ScheduledOut
from zapcrm.web.dependencies import ActingPanelUser, CurrentPanelUser, PanelUser
from zapcrm.web.form_errors import form_errors
from zapcrm.web.templating import render
from zapcrm.web.views import company_moment

router = APIRouter()

# The failed ones shown, latest first, so someone sees why they did not go.
SHOWN_FAILED = 5
# The list refreshes this long after the next one is due (the worker looks every 5 s), when
# that is within the hour: a page left open longer reloads the chat anyway.
REFRESH_AFTER_DUE = 10
REFRESH_WITHIN = timedelta(hours=1)


def _refresh_in(pending: list[ScheduledOut], now: datetime) -> int | None:
    """Seconds until the list should look again, or None when nothing is due soon."""
    if not pending:
        return None
    wait = min(item.send_at for item in pending) - now
    if wait > REFRESH_WITHIN:
        return None
    return max(0, int(wait.total_seconds())) + REFRESH_AFTER_DUE


async def _box(
    runtime: Runtime,
    user: PanelUser,
    conversation_id: uuid.UUID,
    *,
    opened: bool = False,
    typed: dict[str, str] | None = None,
    error: str | None = None,
    fields: list[dict[str, str]] | None = None,
    done: ScheduledOut | None = None,
    status_code: int = 200,
) -> Response:
    async with runtime.db.tenant_session(user.identity.claims) as session:
        items = await service.list_for_conversation(session, conversation_id)
    pending = [item for item in items if item.status == "scheduled"]
    context = {
        "conversation_id": conversation_id,
        "pending": pending,
        "refresh_in": _refresh_in(pending, datetime.now(UTC)),
        "failed": sorted(
            (item for item in items if item.status == "failed"),
            key=lambda item: item.send_at,
            reverse=True,
        )[:SHOWN_FAILED],
        "opened": opened or error is not None,
        "typed": typed or {"text": "", "when": ""},
        "error": error,
        "fields": fields or [],
        "done": done,
    }
    return render("inbox/_scheduled.html", context, status_code=status_code)


@router.get("/conversations/{conversation_id}/scheduled")
async def scheduled_box(
    conversation_id: uuid.UUID, runtime: RuntimeDep, user: CurrentPanelUser
) -> Response:
    """The box of a chat the reader may see."""
    return await _box(runtime, user, conversation_id)


@router.post("/conversations/{conversation_id}/scheduled")
async def schedule(
    conversation_id: uuid.UUID,
    runtime: RuntimeDep,
    user: ActingPanelUser,
    text: Annotated[str, Form(max_length=5000)] = "",
    when: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Schedule the text for the moment typed (on the company's clock)."""
    typed = {"text": text, "when": when}
    try:
        moment = company_moment(when) if when else None
        data = ScheduledIn.model_validate({"text": text, "send_at": moment})
        async with runtime.db.tenant_session(user.identity.claims) as session:
            done = await service.schedule(session, user.identity, conversation_id, data)
    except (ValidationError, ZapcrmError) as failure:
        message, fields = form_errors(failure)
        status_code = failure.status_code if isinstance(failure, ZapcrmError) else 422
        return await _box(
            runtime,
            user,
            conversation_id,
            typed=typed,
            error=message,
            fields=fields,
            status_code=status_code,
        )
    return await _box(runtime, user, conversation_id, opened=True, done=done)


@router.post("/scheduled/{scheduled_id}/cancel")
async def cancel(
    scheduled_id: uuid.UUID,
    runtime: RuntimeDep,
    user: ActingPanelUser,
    conversation: Annotated[uuid.UUID, Form()],
) -> Response:
    """Cancel one still to go; the box comes back without it (or says it already went)."""
    try:
        async with runtime.db.tenant_session(user.identity.claims) as session:
            await service.cancel(session, scheduled_id)
    except ZapcrmError as failure:
        message, _fields = form_errors(failure)
        return await _box(
            runtime, user, conversation, error=message, status_code=failure.status_code
        )
    return await _box(runtime, user, conversation, opened=True)
