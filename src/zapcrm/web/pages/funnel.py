"""The funnel board: the company's contacts in one column per funnel stage, narrowed by the
search box and a segment, each column paged on its own; a card dragged to another column (or
moved with its menu, without a mouse) changes the contact's stage like editing the field does,
so the change lands in their timeline and the list rules see it."""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.contacts import definitions
from zapcrm.contacts import live as contacts_live
from zapcrm.contacts.attributes import AttributeDef
from zapcrm.contacts.query import funnel as funnel_reads
from zapcrm.contacts.query import service as query_service
from zapcrm.contacts.query.schemas import ContactQuery, FunnelColumn, FunnelOut
from zapcrm.contacts.schemas import ContactPatch
from zapcrm.dependencies import RuntimeDep
from zapcrm.exceptions import ValidationFailed
from zapcrm.transactions import in_tenant_transaction
from zapcrm.web.dependencies import ActingPanelUser, CurrentPanelUser, PanelUser
from zapcrm.web.i18n import N_
from zapcrm.web.pages.auth import set_panel_cookie
from zapcrm.web.templating import company_zone, render, render_macro
from zapcrm.web.views import optional_uuid

router = APIRouter()

# Cards per column and per "Mostrar mais": a board shows a glance, the list shows everything.
CARDS_PER_PAGE = 20
# Contacts a board asks about at once after live events (funnel.js gathers them for a moment).
LIVE_BATCH = 50


# The number attribute a reader last chose to sum on the board (a deal's value), remembered
# by their browser: the board opens with it again. The attribute's key only, nothing personal.
VALUE_COOKIE = "zapcrm_funnel_value"
VALUE_COOKIE_AGE = 365 * 24 * 3600


async def _summed(session: AsyncSession, user: PanelUser, value: str) -> AttributeDef | None:
    """The board's summed attribute, when it still is one of the company's number attributes:
    a choice made on a board opened before an admin removed the attribute sums nothing rather
    than failing a move or a live read."""
    try:
        return await funnel_reads.value_attribute(session, user.identity, value or None)
    except ValidationFailed:
        return None


def _stages(funnel: FunnelOut) -> list[FunnelColumn]:
    """The stages a card can be moved to: the board's columns of defined stages."""
    return [column for column in funnel.columns if column.key and not column.removed]


def _query(q: str | None, segment: uuid.UUID | None) -> ContactQuery:
    return ContactQuery(q=(q or "").strip() or None, segment_id=segment)


def _board_query(q: str | None, segment: uuid.UUID | None) -> str:
    """The board's narrowing as a query string, for the columns' next pages and for moves."""
    items = [("q", q)] if q else []
    if segment:
        items.append(("segment", str(segment)))
    return urlencode(items)


@router.get("/contacts/funnel")
async def board(
    request: Request,
    runtime: RuntimeDep,
    user: CurrentPanelUser,
    q: Annotated[str | None, Query(max_length=200)] = None,
    segment_param: Annotated[str | None, Query(alias="segment", max_length=40)] = None,
    value_param: Annotated[str | None, Query(alias="value", max_length=50)] = None,
) -> Response:
    """Every stage's column with its count and its most recently active contacts, and what
    they are worth when the reader chose a number attribute to sum (chosen here or before)."""
    segment = optional_uuid(segment_param, N_("segmento inválido"))
    query = _query(q, segment)
    chosen = value_param if value_param is not None else request.cookies.get(VALUE_COOKIE, "")
    async with runtime.db.tenant_session(user.identity.claims) as session:
        segments = await query_service.list_segments(session, user.identity)
        numbers = await funnel_reads.number_attributes(session, user.identity)
        # A choice remembered from before, or typed into the address, that is no longer a
        # number attribute simply sums nothing.
        summed = next((number for number in numbers if number.key == chosen), None)
        shown = await funnel_reads.board(
            session, user.identity, query, limit=CARDS_PER_PAGE, value=summed
        )
    context = user.page_context(request, "contacts") | {
        "q": q or "",
        "segment_id": segment,
        "segments": segments,
        "numbers": numbers,
        "funnel": shown.funnel,
        "stages": _stages(shown.funnel),
        "pages": shown.pages,
        "board_query": _board_query(q, segment),
        "few": shown.one_pass,
    }
    response = render("contacts/funnel.html", context)
    if value_param is not None:
        set_panel_cookie(
            response,
            request,
            VALUE_COOKIE,
            summed.key if summed else "",
            max_age=VALUE_COOKIE_AGE,
            path="/panel",
        )
    return response


@router.get("/contacts/funnel/cards")
async def more_cards(
    runtime: RuntimeDep,
    user: CurrentPanelUser,
    cursor: Annotated[str, Query(max_length=300)],
    stage: Annotated[str, Query(max_length=50)] = "",
    q: Annotated[str | None, Query(max_length=200)] = None,
    segment_param: Annotated[str | None, Query(alias="segment", max_length=40)] = None,
    value: Annotated[str, Query(max_length=50)] = "",
    few: bool = False,
) -> Response:
    """A column's next cards (with its own "Mostrar mais" when there are more still); `value`:
    the number attribute the board sums, which each card shows; `few`: the board found few
    contacts for its narrowing, so they are read in one pass (the same cards either way)."""
    segment = optional_uuid(segment_param, N_("segmento inválido"))
    async with runtime.db.tenant_session(user.identity.claims) as session:
        # The cards' selectors list the stages: no need to count the board again.
        stages = await definitions.list_stages(session, user.identity)
        summed = await _summed(session, user, value)
        page = await funnel_reads.column_page(
            session,
            user.identity,
            _query(q, segment),
            stage or None,
            cursor=cursor,
            limit=CARDS_PER_PAGE,
            few_matches=few,
        )
    return HTMLResponse(
        render_macro(
            "contacts/_funnel.html",
            "cards",
            page,
            stage or None,
            stages,
            _board_query(q, segment),
            company_zone(),
            summed.key if summed else None,
            summed.label if summed else None,
            few=few,
        )
    )


@router.post("/contacts/{contact_id}/stage")
async def move(
    contact_id: uuid.UUID,
    runtime: RuntimeDep,
    user: ActingPanelUser,
    stage: Annotated[str, Form(max_length=50)] = "",
    q: Annotated[str, Form(max_length=200)] = "",
    segment_param: Annotated[str, Form(alias="segment", max_length=40)] = "",
    value: Annotated[str, Form(max_length=50)] = "",
) -> Response:
    """Put the contact in another stage (empty: none). The answer is the card at the top of
    its new column and every column's count (and value), as the board's narrowing counts them."""
    segment = optional_uuid(segment_param, N_("segmento inválido"))
    patch = ContactPatch(funnel_stage=stage or None)
    contact = await in_tenant_transaction(
        runtime,
        user.identity,
        lambda session: contacts_live.update_contact(session, user.identity, contact_id, patch),
    )
    async with runtime.db.tenant_session(user.identity.claims) as session:
        funnel = await funnel_reads.funnel(
            session, user.identity, _query(q, segment), value=await _summed(session, user, value)
        )
    return HTMLResponse(
        render_macro(
            "contacts/_funnel.html",
            "moved",
            contact,
            funnel,
            _stages(funnel),
            company_zone(),
        )
    )


@router.get("/contacts/funnel/live")
async def changed_cards(
    runtime: RuntimeDep,
    user: CurrentPanelUser,
    contact: Annotated[list[uuid.UUID], Query()],
    q: Annotated[str | None, Query(max_length=200)] = None,
    segment_param: Annotated[str | None, Query(alias="segment", max_length=40)] = None,
    value: Annotated[str, Query(max_length=50)] = "",
) -> Response:
    """Contacts someone changed, as a board shows them now: each card leaves where it was and,
    when the board's narrowing still shows the contact, goes to the top of its column; every
    column's count is read again (funnel.js asks after `contact.*` live events)."""
    segment = optional_uuid(segment_param, N_("segmento inválido"))
    contact_ids = list(dict.fromkeys(contact))[:LIVE_BATCH]
    query = _query(q, segment)
    async with runtime.db.tenant_session(user.identity.claims) as session:
        shown = await funnel_reads.cards_among(session, user.identity, query, contact_ids)
        summed = await _summed(session, user, value)
        funnel = await funnel_reads.funnel(session, user.identity, query, value=summed)
    return HTMLResponse(
        render_macro(
            "contacts/_funnel.html",
            "changed",
            contact_ids,
            shown,
            funnel,
            _stages(funnel),
            company_zone(),
        )
    )
