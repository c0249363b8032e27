"""What the chat's header and composer do besides sending: fill a quick reply, mark read,
assign or transfer, route to a department, change the status or snooze, and the pane shown once
the chat left the reader's sight."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Header
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.departments import service as departments_service
from zapcrm.dependencies import RuntimeDep
from zapcrm.exceptions import ValidationFailed
from zapcrm.kit.zones import zone_or_default
from zapcrm.messaging.schemas import ConversationOut
from zapcrm.messaging.service import actions, inbox, outbound
from zapcrm.outbox import OutboxItem
from zapcrm.quickreplies import service as quick_replies
from zapcrm.runtime import Runtime
from zapcrm.transactions import in_tenant_transaction
from zapcrm.web.dependencies import ActingPanelUser, PanelUser
from zapcrm.web.i18n import N_
from zapcrm.web.pages.inbox.chat import _back_query
from zapcrm.web.snooze import moment_for
from zapcrm.web.templating import company_zone, render_macro
from zapcrm.web.views import STATUSES, Agents, Status, company_moment, optional_uuid

router = APIRouter()


@router.post("/conversations/{conversation_id}/quick-replies/{quick_reply_id}")
async def fill_quick_reply(
    conversation_id: uuid.UUID,
    quick_reply_id: uuid.UUID,
    runtime: RuntimeDep,
    user: ActingPanelUser,
) -> Response:
    """The quick reply's text with this chat's variables filled, for the composer."""
    async with runtime.db.tenant_session(user.identity.claims) as session:
        text = await quick_replies.render_for_conversation(
            session, user.identity, conversation_id, quick_reply_id
        )
    return PlainTextResponse(text)


@router.post("/conversations/{conversation_id}/read")
async def mark_read(
    conversation_id: uuid.UUID, runtime: RuntimeDep, user: ActingPanelUser
) -> Response:
    """Opening a chat with unread messages marks it read here and in WhatsApp."""

    async def work(session: AsyncSession) -> tuple[None, list[OutboxItem]]:
        return None, await outbound.mark_read(session, user.identity, conversation_id)

    await in_tenant_transaction(runtime, user.identity, work)
    return Response(status_code=204)


# What the composer held when the chat's header sent it away (its forms include it).
Draft = Annotated[str, Form(alias="text", max_length=4096)]
PageUrl = Annotated[str | None, Header(alias="HX-Current-URL")]


@router.post("/conversations/{conversation_id}/assign")
async def assign(
    conversation_id: uuid.UUID,
    runtime: RuntimeDep,
    user: ActingPanelUser,
    assignee: Annotated[str, Form(max_length=40)] = "",
    draft: Draft = "",
    page_url: PageUrl = None,
) -> Response:
    """Assign to me, transfer to a colleague, or return to the unassigned queue."""
    target = user.identity.user_id if assignee == "me" else optional_uuid(assignee)

    async def work(session: AsyncSession) -> tuple[ConversationOut, list[OutboxItem]]:
        return await actions.assign(session, user.identity, conversation_id, target)

    conversation = await in_tenant_transaction(runtime, user.identity, work)
    return await _after_move(runtime, user, conversation, draft, page_url)


@router.post("/conversations/{conversation_id}/department")
async def route_to_department(
    conversation_id: uuid.UUID,
    runtime: RuntimeDep,
    user: ActingPanelUser,
    department: Annotated[str, Form(max_length=40)] = "",
    draft: Draft = "",
    page_url: PageUrl = None,
) -> Response:
    """Send the chat to a department (or to none): it leaves whoever had it and waits there."""
    department_id = optional_uuid(department)

    async def work(session: AsyncSession) -> tuple[ConversationOut, list[OutboxItem]]:
        return await departments_service.route(
            session, user.identity, conversation_id, department_id
        )

    conversation = await in_tenant_transaction(runtime, user.identity, work)
    return await _after_move(runtime, user, conversation, draft, page_url)


async def _after_move(
    runtime: Runtime,
    user: PanelUser,
    conversation: ConversationOut,
    draft: str,
    page_url: str | None,
) -> Response:
    """The header again after a transfer or a routing the reader still sees; when the chat
    left their sight (RLS: a colleague's now, or waiting in a department they do not work in),
    its pane says where it went instead of offering actions that could only fail."""
    back = _back_query(user, conversation, page_url)
    async with runtime.db.tenant_session(user.identity.claims) as session:
        still_seen = await inbox.find_conversation(session, conversation.id) is not None
        agents = await Agents.load(session, user.identity)
    if still_seen:
        return _rendered_header(user, conversation, agents, back)
    names = dict(agents.departments)
    department = names.get(conversation.department_id, "") if conversation.department_id else ""
    pane = render_macro(
        "inbox/_chat.html",
        "passed_on",
        agents.name(conversation.assignee_id) if conversation.assignee_id else None,
        department,
        draft.strip(),
        back,
    )
    response = HTMLResponse(pane)
    response.headers["HX-Retarget"] = ".chat-pane"
    response.headers["HX-Reswap"] = "innerHTML"
    response.headers["HX-Push-Url"] = f"/panel/inbox?{back}" if back else "/panel/inbox"
    return response


@router.post("/conversations/{conversation_id}/status")
async def set_status(
    conversation_id: uuid.UUID,
    runtime: RuntimeDep,
    user: ActingPanelUser,
    status: Annotated[str, Form(max_length=20)] = "",
    until: Annotated[str, Form(max_length=40)] = "",
    preset: Annotated[str, Form(max_length=20)] = "",
    page_url: PageUrl = None,
) -> Response:
    """Close, reopen, set pending, or snooze: until a moment (`until`, a date and time on the
    company's clock as a `datetime-local` field sends it) or a quick `preset` (web/snooze.py)."""
    if status not in STATUSES:
        raise ValidationFailed(N_("status inválido"))
    new_status: Status = status
    snoozed_until = company_moment(until) if until else None
    if preset:
        snoozed_until = moment_for(preset, datetime.now(UTC), zone_or_default(company_zone()))
        if snoozed_until is None:
            raise ValidationFailed(N_("opção de adiamento desconhecida"))

    async def work(session: AsyncSession) -> tuple[ConversationOut, list[OutboxItem]]:
        return await actions.set_status(
            session, user.identity, conversation_id, new_status, snoozed_until=snoozed_until
        )

    conversation = await in_tenant_transaction(runtime, user.identity, work)
    async with runtime.db.tenant_session(user.identity.claims) as session:
        agents = await Agents.load(session, user.identity)
    return _rendered_header(user, conversation, agents, _back_query(user, conversation, page_url))


@router.post("/conversations/{conversation_id}/left")
async def chat_left(
    conversation_id: uuid.UUID,
    runtime: RuntimeDep,
    user: ActingPanelUser,
    draft: Draft = "",
    page_url: PageUrl = None,
) -> Response:
    """The open chat's pane once the chat left the reader's sight (a colleague took it, or it
    was sent to a department they do not work in): the live stream only says that its row
    went, and the chat on screen would keep offering actions that can only fail ("conversa
    não encontrada"). It says so and keeps what the reader had typed; nothing (204) while
    the reader still sees the chat."""
    async with runtime.db.tenant_session(user.identity.claims) as session:
        still_seen = await inbox.find_conversation(session, conversation_id) is not None
    if still_seen:
        return Response(status_code=204)
    back = _back_query(user, None, page_url)
    pane = render_macro("inbox/_chat.html", "passed_on", None, "", draft.strip(), back)
    response = HTMLResponse(pane)
    response.headers["HX-Push-Url"] = f"/panel/inbox?{back}" if back else "/panel/inbox"
    return response


def _rendered_header(
    user: PanelUser, conversation: ConversationOut, agents: Agents, back: str
) -> Response:
    return HTMLResponse(
        render_macro(
            "inbox/_chat.html",
            "chat_header",
            conversation,
            agents,
            user.identity.user_id,
            user.session.csrf_token,
            back=back,
        )
    )
