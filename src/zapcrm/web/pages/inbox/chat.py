"""One conversation's page: the list beside its chat, the chat's latest and older pages of
messages with the private notes written in each page's span, and its transcript download.

A page of messages holds the notes from its oldest message on (from any time when nothing is
older) up to the oldest message of the page after it, so every note shows on exactly one page.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.dependencies import RuntimeDep
from zapcrm.kit.pagination import decode_cursor
from zapcrm.messaging.schemas import ConversationOut, MessageOut, NoteOut, Page
from zapcrm.messaging.service import inbox, notes, transcript
from zapcrm.messaging.transcript import transcript_response
from zapcrm.quickreplies import service as quick_replies
from zapcrm.runtime import Runtime
from zapcrm.web.dependencies import CurrentPanelUser, PanelUser
from zapcrm.web.pages.inbox.listing import _inbox_data
from zapcrm.web.templating import company_zone, render, render_macro
from zapcrm.web.views import Agents, DayGroup, InboxFilter, group_by_day

router = APIRouter()

CHAT_PAGE_SIZE = 40
# A search hit opens its chat with every message after it; further back than this many, the
# chat opens at its latest messages and says so.
THROUGH_LIMIT = 1000


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
    conversation_notes = await _page_notes(session, user, conversation_id, messages, before=None)
    days = group_by_day(
        messages.items,
        company_zone(),
        conversation_notes,
        has_older=messages.next_cursor is not None,
    )
    return _Chat(days, messages.next_cursor, at if through else None)


async def _page_notes(
    session: AsyncSession,
    user: PanelUser,
    conversation_id: uuid.UUID,
    messages: Page[MessageOut],
    *,
    before: datetime | None,
) -> list[NoteOut]:
    """The notes of one page of a chat: written from its oldest message on (from any time when
    nothing is older) and before `before`, the oldest message of the page after it (None: the
    latest page). Each note lands on exactly one page, however many a page holds: no limit,
    which would drop the oldest notes of a busy window that no other page shows. The windows
    meet at a message's timestamp, so a note written at that very moment is on one of them."""
    if messages.next_cursor is None:
        since = None
    elif messages.items:
        since = messages.items[-1].message_timestamp
    else:
        return []  # nothing on the page to hold notes (group_by_day would drop them)
    return await notes.list_notes(
        session, user.identity, conversation_id, limit=None, since=since, before=before
    )


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
        conversation_notes = await _page_notes(
            session, user, conversation_id, messages, before=shown_from
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
