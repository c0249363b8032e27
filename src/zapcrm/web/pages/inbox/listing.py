"""The inbox's list pane: its page of conversations with the filters' choices, and the counts
on its tabs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.dependencies import RuntimeDep
from zapcrm.evolution.admin import company_instances
from zapcrm.evolution.schemas import InstanceOut
from zapcrm.hours.schedule import is_open
from zapcrm.messaging.schemas import ConversationOut
from zapcrm.messaging.service import inbox
from zapcrm.runtime import Runtime
from zapcrm.web.dependencies import CurrentPanelUser, InboxFilterDep, PanelUser
from zapcrm.web.templating import company_zone, render, render_macro
from zapcrm.web.views import Agents, InboxFilter

router = APIRouter()

LIST_SIZE = 50


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
