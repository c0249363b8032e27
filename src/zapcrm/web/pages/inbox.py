"""Inbox pages: the conversation list, one conversation with its chat, and the chat actions.

Handlers authenticate, call the messaging services (reads in one RLS transaction, writes through
`in_tenant_transaction` so outbox entries leave after commit) and render templates.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Form, Header, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.departments import service as departments_service
from zapcrm.dependencies import RuntimeDep
from zapcrm.evolution.admin import company_instances
from zapcrm.evolution.schemas import InstanceOut
from zapcrm.exceptions import ValidationFailed
from zapcrm.hours.schedule import is_open
from zapcrm.kit.pagination import decode_cursor
from zapcrm.kit.zones import zone_or_default
from zapcrm.messaging import sends, uploads
from zapcrm.messaging.schemas import ConversationOut, MessageOut, NoteOut
from zapcrm.messaging.service import actions, inbox, notes, outbound, transcript
from zapcrm.messaging.transcript import transcript_response
from zapcrm.outbox import OutboxItem
from zapcrm.quickreplies import service as quick_replies
from zapcrm.runtime import Runtime
from zapcrm.transactions import in_tenant_transaction
from zapcrm.web.dependencies import ActingPanelUser, CurrentPanelUser, InboxFilterDep, PanelUser
from zapcrm.web.i18n import N_
from zapcrm.web.snooze import moment_for
from zapcrm.web.templating import company_zone, quoted_from_details, render, render_macro
from zapcrm.web.views import (
    STATUSES,
    Agents,
    DayGroup,
    InboxFilter,
    Status,
    company_moment,
    group_by_day,
    optional_uuid,
)

router = APIRouter()

LIST_SIZE = 50
CHAT_PAGE_SIZE = 40
# A search hit opens its chat with every message after it; further back than this many, the
# chat opens at its latest messages and says so.
THROUGH_LIMIT = 1000
NOTES_LIMIT = 500


def _assignee(flt: InboxFilter) -> inbox.Assignee:
    return {"mine": "me", "unassigned": "unassigned", "all": "any"}[flt.tab]  # type: ignore[return-value]


@dataclass(frozen=True)
class InboxData:
    """What the list pane shows: a page of conversations and the names and numbers it uses."""

    conversations: list[ConversationOut]
    next_cursor: str | None
    agents: Agents
    instances: list[InstanceOut]
    filter: InboxFilter
    # Closed now with the out-of-office reply on: customers writing get it (the page says so).
    away_now: bool = False

    def context(self) -> dict[str, object]:
        """The template variables of the list pane."""
        return {
            "conversations": self.conversations,
            "next_cursor": self.next_cursor,
            "agents": self.agents,
            "instances": self.instances,
            "away_now": self.away_now,
            "filter": self.filter,
        }


async def _inbox_data(
    session: AsyncSession,
    runtime: Runtime,
    user: PanelUser,
    flt: InboxFilter,
    cursor: str | None = None,
    *,
    whole_pane: bool = True,
) -> InboxData:
    """The list pane's data; `whole_pane` false: only its rows are drawn (a search as the
    reader types, a next page), so the filters' choices are not read."""
    page = await inbox.list_conversations(
        session,
        user.identity,
        status=flt.status,
        assignee=_assignee(flt),
        instance_id=flt.instance,
        cursor=cursor,
        limit=LIST_SIZE,
        search=flt.q or None,
        department_id=flt.department,
    )
    agents = await Agents.load(session, user.identity)
    instances = await company_instances(session, user.identity.company_id)
    # The rule the webhooks use, from the same few seconds of memory: no query per page.
    rule = await runtime.away_rules.for_company(session, user.identity.company_id)
    away_now = rule is not None and not is_open(rule.schedule, datetime.now(UTC))
    if whole_pane and flt.tab == "unassigned":  # its department filter: the queues they take
        flt = replace(flt, scope=frozenset(await inbox.waiting_scope(session, user.identity)))
    return InboxData(page.items, page.next_cursor, agents, instances, flt, away_now)


@router.get("/inbox")
async def inbox_page(
    request: Request,
    runtime: RuntimeDep,
    user: CurrentPanelUser,
    flt: InboxFilterDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    current: uuid.UUID | None = None,
    hx_target: Annotated[str | None, Header()] = None,
    hx_trigger: Annotated[str | None, Header()] = None,
) -> Response:
    """The conversation list; htmx asks for just the list (search, next page)."""
    async with runtime.db.tenant_session(user.identity.claims) as session:
        data = await _inbox_data(
            session, runtime, user, flt, cursor, whole_pane=hx_target != "conversation-list"
        )
    context = (
        user.page_context(request, "inbox")
        | data.context()
        | {
            "current": None,
        }
    )
    if hx_target == "conversation-list":
        items = render_macro(
            "inbox/_list.html",
            "conversation_items",
            data.conversations,
            flt,
            data.agents,
            current,
            data.next_cursor,
            company_zone(),
            first_page=cursor is None,
        )
        if cursor is None:
            # A new search (or none) renews the message hits below the list too.
            items += render_macro("inbox/_hits.html", "hits_slot", flt, oob=True)
        if cursor is None and hx_trigger == "q":
            # Typed in the search box (htmx names the input): the live stream opens again with
            # the search, or rows of chats it does not find would arrive live. Not for the
            # list's own reloads, which the stream's opening starts.
            items += render_macro("inbox/_list.html", "live_stream", flt, current, oob=True)
        return HTMLResponse(items)
    return render("inbox/page.html", context)


@router.get("/queue-counts")
async def queue_counts(runtime: RuntimeDep, user: CurrentPanelUser) -> Response:
    """The counts on the inbox tabs, as out-of-band swaps (fetched again after live changes)."""
    async with runtime.db.tenant_session(user.identity.claims) as session:
        counts = await inbox.queue_counts(session, user.identity)
    return HTMLResponse(render_macro("inbox/_list.html", "tab_counts", counts))


@router.get("/inbox/{conversation_id}")
async def conversation_page(
    conversation_id: uuid.UUID,
    request: Request,
    runtime: RuntimeDep,
    user: CurrentPanelUser,
    tab: Annotated[str | None, Query(max_length=20)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    instance: Annotated[str | None, Query(max_length=40)] = None,
    department: Annotated[str | None, Query(max_length=40)] = None,
    at: uuid.UUID | None = None,
    hx_target: Annotated[str | None, Header()] = None,
) -> Response:
    """The list beside one conversation (on a phone, the conversation alone).

    With `HX-Target: messages` only the latest messages: the page reloads them when its live
    stream (re)opens, for what happened while it was closed. `at` (a message search hit) loads
    the chat down to that message, which the page scrolls to and highlights.
    """
    async with runtime.db.tenant_session(user.identity.claims) as session:
        current = await inbox.get_conversation(session, conversation_id)
        chat = await _latest_messages(session, runtime, user, conversation_id, at=at)
        if hx_target == "messages":
            return HTMLResponse(
                render_macro(
                    "inbox/_chat.html",
                    "latest_messages",
                    current,
                    chat.days,
                    chat.older_cursor,
                    None,
                    company_zone(),
                    user.identity,
                )
            )
        flt = _list_filter(current, user, tab, status, q, instance, department)
        data = await _inbox_data(session, runtime, user, flt)
        replies = await quick_replies.list_quick_replies(session, user.identity)
    context = (
        user.page_context(request, "inbox")
        | data.context()
        | {
            "current": current,
            "days": chat.days,
            "older_cursor": chat.older_cursor,
            "quick_replies": replies,
            "hit": chat.hit,
            "hit_missing": at is not None and chat.hit is None,
        }
    )
    return render("inbox/page.html", context)


@dataclass(frozen=True)
class _Chat:
    days: list[DayGroup]
    older_cursor: str | None
    hit: uuid.UUID | None = None  # the message a search opened the chat at


async def _latest_messages(
    session: AsyncSession,
    runtime: Runtime,
    user: PanelUser,
    conversation_id: uuid.UUID,
    *,
    at: uuid.UUID | None = None,
) -> _Chat:
    """The newest page of messages (down to message `at` when it is given and not too far back)
    with the private notes among them, grouped by day."""
    through = None
    if at is not None:
        through = await inbox.list_messages_through(
            session, conversation_id, at, limit=THROUGH_LIMIT
        )
    messages = through or await inbox.list_messages(
        session, runtime.redis, conversation_id, cursor=None, limit=CHAT_PAGE_SIZE
    )
    conversation_notes = await notes.list_notes(session, user.identity, conversation_id)
    days = group_by_day(
        messages.items,
        company_zone(),
        conversation_notes,
        has_older=messages.next_cursor is not None,
    )
    return _Chat(days, messages.next_cursor, at if through else None)


def _list_filter(
    conversation: ConversationOut | None,
    user: PanelUser,
    tab: str | None,
    status: str | None,
    q: str | None,
    instance: str | None,
    department: str | None,
) -> InboxFilter:
    """The list beside a chat: the one its address names (the list's rows link with their
    filters), or without explicit filters the list the conversation is in (the default list
    for a conversation the reader no longer sees)."""
    return InboxFilter.parse(
        tab or (_tab_of(conversation, user) if conversation else "mine"),
        status or (conversation.status if conversation else "open"),
        q,
        may_see_all=user.is_supervisor,
        instance=instance,
        department=department,
    )


def _back_query(user: PanelUser, conversation: ConversationOut | None, page_url: str | None) -> str:
    """The query of the list a chat's back arrow returns to, for a header drawn again by a chat
    action: read from the chat page's own address (htmx sends it as HX-Current-URL) as the page
    read it, so the operator who came from "Não atribuídas" goes back there. Without the
    conversation (one the reader no longer sees), the address's list or the default one."""
    params = parse_qs(urlsplit(page_url or "").query)

    def first(key: str) -> str | None:
        values = params.get(key)
        return values[0] if values else None

    return _list_filter(
        conversation,
        user,
        first("tab"),
        first("status"),
        first("q"),
        first("instance"),
        first("department"),
    ).query()


def _tab_of(conversation: ConversationOut, user: PanelUser) -> str:
    if conversation.assignee_id is None:
        return "unassigned"
    if conversation.assignee_id == user.identity.user_id:
        return "mine"
    return "all"


@router.get("/conversations/{conversation_id}/transcript.txt")
async def transcript_download(
    conversation_id: uuid.UUID,
    runtime: RuntimeDep,
    user: CurrentPanelUser,
    with_notes: Annotated[bool, Query(alias="notes")] = False,
) -> Response:
    """The chat as a text file (like the API's), with the internal notes if asked."""
    async with runtime.db.tenant_session(user.identity.claims) as session:
        plan = await transcript.plan_transcript(
            session, user.identity, conversation_id, with_notes=with_notes
        )
    return transcript_response(runtime.db, user.identity.claims, plan)


@router.get("/conversations/{conversation_id}/older")
async def older_messages(
    conversation_id: uuid.UUID,
    runtime: RuntimeDep,
    user: CurrentPanelUser,
    cursor: Annotated[str, Query(max_length=200)],
) -> Response:
    """The page of messages before `cursor`, prepended when the chat scrolls to the top.

    With the notes written before the message `cursor` names, the oldest the chat shows: the
    page after this one shows the notes from that message on, so a note written between the
    two pages' messages belongs here (not before this page's newest message, which lost it).
    """
    async with runtime.db.tenant_session(user.identity.claims) as session:
        current = await inbox.get_conversation(session, conversation_id)
        messages = await inbox.list_messages(
            session, runtime.redis, conversation_id, cursor=cursor, limit=CHAT_PAGE_SIZE
        )
        shown_from, _ = decode_cursor(cursor)  # checked by list_messages, after the chat's RLS
        conversation_notes = await notes.list_notes(
            session, user.identity, conversation_id, limit=NOTES_LIMIT, before=shown_from
        )
        agents = await Agents.load(session, user.identity)
    days = group_by_day(
        messages.items,
        company_zone(),
        conversation_notes,
        has_older=messages.next_cursor is not None,
    )
    return HTMLResponse(
        render_macro(
            "inbox/_chat.html",
            "older_page",
            current,
            days,
            messages.next_cursor,
            agents,
            company_zone(),
            user.identity,
        )
    )


@router.post("/conversations/{conversation_id}/messages")
async def send_text(
    conversation_id: uuid.UUID,
    runtime: RuntimeDep,
    user: ActingPanelUser,
    text: Annotated[str, Form(max_length=4096)] = "",
    quoted_message_id: Annotated[str, Form(max_length=40)] = "",
    idempotency_key: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Queue the composer's text; the new bubble is appended at once, ticks follow live."""
    body = text.strip()
    if not body:
        raise ValidationFailed(N_("escreva uma mensagem antes de enviar"))
    quoted = optional_uuid(quoted_message_id)

    async def work(session: AsyncSession) -> tuple[MessageOut, list[OutboxItem]]:
        return await outbound.queue_text(
            session,
            user.identity,
            conversation_id,
            text=body,
            quoted_message_id=quoted,
            idempotency_key=idempotency_key or None,
        )

    message = await in_tenant_transaction(runtime, user.identity, work)
    return HTMLResponse(
        render_macro("inbox/_chat.html", "appended_bubble", message, None, company_zone())
    )


@router.post("/conversations/{conversation_id}/media")
async def send_file(
    conversation_id: uuid.UUID, request: Request, runtime: RuntimeDep, user: ActingPanelUser
) -> Response:
    """Send the attached file (photo, video, document or voice note) with its caption.

    Posted by htmx with the CSRF token in a header: the form is streamed and checked by the
    same reader as the API's, which enforces each kind's size limit and sniffs the type.
    """
    upload = await uploads.read_media_form(
        request, uploads.MediaLimits.from_settings(runtime.settings)
    )
    message = await sends.send_media(runtime, user.identity, conversation_id, upload, None)
    return HTMLResponse(
        render_macro("inbox/_chat.html", "appended_bubble", message, None, company_zone())
    )


@router.post("/messages/{message_id}/retry")
async def retry_message(
    message_id: uuid.UUID, runtime: RuntimeDep, user: ActingPanelUser
) -> Response:
    """ "Tentar de novo" on a failed send: the same message queued again, its bubble redrawn."""

    async def work(session: AsyncSession) -> tuple[MessageOut, list[OutboxItem]]:
        return await outbound.retry(session, user.identity, message_id)

    message = await in_tenant_transaction(runtime, user.identity, work)
    return HTMLResponse(
        render_macro(
            "inbox/_chat.html",
            "bubble",
            message,
            quoted_from_details(message),
            None,
            company_zone(),
        )
    )


@router.post("/conversations/{conversation_id}/notes")
async def add_note(
    conversation_id: uuid.UUID,
    runtime: RuntimeDep,
    user: ActingPanelUser,
    text: Annotated[str, Form(max_length=4096)] = "",
) -> Response:
    """A private note in the chat: for the team only, never sent to WhatsApp."""
    return await _saved_note(
        runtime,
        user,
        text,
        lambda session, body: notes.add_note(session, user.identity, conversation_id, body),
        appended=True,
    )


@router.post("/notes/{note_id}")
async def edit_note(
    note_id: uuid.UUID,
    runtime: RuntimeDep,
    user: ActingPanelUser,
    text: Annotated[str, Form(max_length=4096)] = "",
) -> Response:
    """Save a corrected note (its author or a supervisor); the bubble is redrawn."""
    return await _saved_note(
        runtime,
        user,
        text,
        lambda session, body: notes.edit_note(session, user.identity, note_id, body),
    )


NoteWrite = Callable[[AsyncSession, str], Awaitable[tuple[NoteOut, list[OutboxItem]]]]


async def _saved_note(
    runtime: Runtime, user: PanelUser, text: str, write: NoteWrite, *, appended: bool = False
) -> Response:
    """A new or corrected note's text checked, saved in one transaction, drawn as its bubble
    (a new one, `appended` at the chat's end, after its day's separator)."""
    body = text.strip()
    if not body:
        raise ValidationFailed(N_("escreva a nota antes de salvar"))
    note = await in_tenant_transaction(runtime, user.identity, lambda session: write(session, body))
    macro = "appended_note" if appended else "note_bubble"
    return HTMLResponse(
        render_macro("inbox/_chat.html", macro, note, company_zone(), user.identity)
    )


@router.post("/notes/{note_id}/delete")
async def delete_note(note_id: uuid.UUID, runtime: RuntimeDep, user: ActingPanelUser) -> Response:
    """Delete a note (its author or a supervisor): the empty answer removes its bubble."""

    async def work(session: AsyncSession) -> tuple[None, list[OutboxItem]]:
        return None, await notes.delete_note(session, user.identity, note_id)

    await in_tenant_transaction(runtime, user.identity, work)
    return HTMLResponse("")


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
