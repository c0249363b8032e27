"""Message search in the panel: the hits listed under the inbox's conversation list while a
search is typed, each opening its chat at that message, and the internal notes that match."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from zapcrm.dependencies import RuntimeDep
from zapcrm.messaging.service import search
from zapcrm.web.dependencies import CurrentPanelUser, InboxFilterDep
from zapcrm.web.templating import company_zone, render_macro

router = APIRouter()

HITS_PAGE_SIZE = 20
# Notes are listed first page only: the team's few words per chat rarely fill more.
NOTE_HITS = 10


@router.get("/search/messages")
async def message_hits(
    runtime: RuntimeDep,
    user: CurrentPanelUser,
    flt: InboxFilterDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    """The first page of hits with its heading, or (with `cursor`) the next page's rows."""
    if search.text_query(flt.q) is None:
        return HTMLResponse(
            render_macro("inbox/_hits.html", "message_hits", None, flt, company_zone())
        )
    async with runtime.db.tenant_session(user.identity.claims) as session:
        page = await search.search_messages(
            session,
            user.identity,
            flt.q,
            instance_id=flt.instance,
            cursor=cursor,
            limit=HITS_PAGE_SIZE,
        )
        if cursor:
            return HTMLResponse(
                render_macro("inbox/_hits.html", "hit_items", page, flt, company_zone())
            )
        notes = await search.search_notes(
            session, user.identity, flt.q, cursor=None, limit=NOTE_HITS
        )
    return HTMLResponse(
        render_macro("inbox/_hits.html", "message_hits", page, flt, company_zone(), notes)
    )
