"""Contact search, counts, segments, bulk tags and stages, and CSV export over HTTP.

Fixed paths under /api/contacts (count, export, search, bulk-tag, bulk-stage) live beside the
contact CRUD routes, which type their parameter as `{contact_id:uuid}` so the two never collide.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Response, status
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.contacts import live as contacts_live
from zapcrm.contacts.query import export, funnel, service
from zapcrm.contacts.query.schemas import (
    MAX_CURSOR_LENGTH,
    MAX_FILTER_PARAM_LENGTH,
    MAX_Q_LENGTH,
    BulkOut,
    BulkStageIn,
    BulkTagIn,
    ContactOut,
    ContactQuery,
    CountOut,
    FunnelOut,
    MembersAdded,
    MembersIn,
    MembersRemoved,
    Page,
    SearchIn,
    SegmentIn,
    SegmentOut,
    SegmentPatch,
    SuggestionOut,
)
from zapcrm.contacts.query.sorting import Sort
from zapcrm.dependencies import CurrentUser, RuntimeDep, Supervisor, TenantSession
from zapcrm.exceptions import ValidationFailed
from zapcrm.i18n import N_
from zapcrm.outbox import OutboxItem
from zapcrm.transactions import in_tenant_transaction

router = APIRouter(tags=["contacts"])

Q = Annotated[
    str | None, Query(max_length=MAX_Q_LENGTH, description="busca: nome, telefone ou e-mail")
]
FilterParam = Annotated[
    str | None,
    Query(
        max_length=MAX_FILTER_PARAM_LENGTH,
        description="filtro JSON (veja POST /api/contacts/search para filtros longos)",
    ),
]
Cursor = Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH)]
Limit = Annotated[int, Query(ge=1, le=100)]


def _query(q: str | None, filter_param: str | None, segment_id: uuid.UUID | None) -> ContactQuery:
    return ContactQuery(q=q, filter=_parse_filter(filter_param), segment_id=segment_id)


def _parse_filter(raw: str | None) -> dict[str, Any] | None:
    if raw is None or not raw.strip():
        return None
    try:
        # orjson refuses nesting past 1024 levels instead of recursing without bound.
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ValidationFailed(
            N_("o filtro não é um JSON válido"),
            fields=[{"field": "filter", "message": N_("JSON inválido")}],
        ) from None
    if parsed is not None and not isinstance(parsed, dict):
        raise ValidationFailed(
            N_("o filtro deve ser um objeto JSON"),
            fields=[{"field": "filter", "message": N_("use um objeto {op, conditions}")}],
        )
    return parsed


@router.get("/api/contacts")
async def list_contacts(
    identity: CurrentUser,
    session: TenantSession,
    q: Q = None,
    filter: FilterParam = None,
    segment_id: uuid.UUID | None = None,
    sort: Sort | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[ContactOut]:
    """Contacts matching the search box, a filter and/or a segment, one keyset page at a time."""
    return await service.search_contacts(
        session,
        identity,
        _query(q, filter, segment_id),
        sort=sort,
        cursor=cursor,
        limit=limit,
    )


@router.post("/api/contacts/search")
async def search_contacts(
    body: SearchIn, identity: CurrentUser, session: TenantSession
) -> Page[ContactOut]:
    """The same as GET /api/contacts with the filter in the body (for long filters)."""
    query = ContactQuery(q=body.q, filter=body.filter, segment_id=body.segment_id)
    return await service.search_contacts(
        session, identity, query, sort=body.sort, cursor=body.cursor, limit=body.limit
    )


@router.get("/api/contacts/count")
async def count_contacts(
    identity: CurrentUser,
    session: TenantSession,
    q: Q = None,
    filter: FilterParam = None,
    segment_id: uuid.UUID | None = None,
) -> CountOut:
    """How many contacts match the same criteria as the list."""
    count = await service.count_contacts(session, identity, _query(q, filter, segment_id))
    return CountOut(count=count)


@router.get("/api/contacts/suggestions")
async def suggest(
    identity: CurrentUser,
    session: TenantSession,
    q: Q = None,
    filter: FilterParam = None,
    segment_id: uuid.UUID | None = None,
) -> list[SuggestionOut]:
    """ "Você quis dizer…?": up to 3 other spellings of a name search (for one that found
    nobody), each with how many contacts the same criteria find with it."""
    return await service.suggest(session, identity, _query(q, filter, segment_id))


@router.get("/api/contacts/funnel")
async def contact_funnel(
    identity: CurrentUser,
    session: TenantSession,
    q: Q = None,
    filter: FilterParam = None,
    segment_id: uuid.UUID | None = None,
    value: Annotated[str | None, Query(max_length=50)] = None,
) -> FunnelOut:
    """How many of the matching contacts are in each funnel stage (the board's columns) and,
    with `value` naming a number attribute, its sum per stage (what each stage is worth); a
    column's contacts are GET /api/contacts with the stage added to the filter."""
    summed = await funnel.value_attribute(session, identity, value)
    return await funnel.funnel(session, identity, _query(q, filter, segment_id), value=summed)


@router.post("/api/contacts/count")
async def count_contacts_by_body(
    body: ContactQuery, identity: CurrentUser, session: TenantSession
) -> CountOut:
    """The same as GET /api/contacts/count with the filter in the body."""
    return CountOut(count=await service.count_contacts(session, identity, body))


@router.get(
    "/api/contacts/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "arquivo CSV (;, UTF-8 com BOM)"}},
)
async def export_contacts(
    identity: Supervisor,
    session: TenantSession,
    runtime: RuntimeDep,
    q: Q = None,
    filter: FilterParam = None,
    segment_id: uuid.UUID | None = None,
) -> StreamingResponse:
    """Matching contacts as a CSV file for Excel (supervisors and admins only)."""
    plan = await service.plan_export(session, identity, _query(q, filter, segment_id))
    return export.csv_response(runtime.db, identity.claims, plan)


@router.post("/api/contacts/bulk-tag")
async def bulk_tag(body: BulkTagIn, identity: CurrentUser, runtime: RuntimeDep) -> BulkOut:
    """Add or remove one tag on every contact matching q/filter/segment, in one statement."""
    query = ContactQuery(q=body.q, filter=body.filter, segment_id=body.segment_id)

    async def work(session: AsyncSession) -> tuple[int, list[OutboxItem]]:
        return await contacts_live.bulk_tag(
            session, identity, query, tag=body.tag, add=body.action == "add"
        )

    return BulkOut(affected=await in_tenant_transaction(runtime, identity, work))


@router.post("/api/contacts/bulk-stage")
async def bulk_stage(body: BulkStageIn, identity: CurrentUser, runtime: RuntimeDep) -> BulkOut:
    """Put every contact matching q/filter/segment in one funnel stage (null: none), in one
    statement; each change lands in the contact's timeline, and open funnel boards reload."""
    query = ContactQuery(q=body.q, filter=body.filter, segment_id=body.segment_id)

    async def work(session: AsyncSession) -> tuple[int, list[OutboxItem]]:
        return await contacts_live.bulk_stage(session, identity, query, stage=body.stage)

    return BulkOut(affected=await in_tenant_transaction(runtime, identity, work))


@router.get("/api/segments")
async def list_segments(identity: CurrentUser, session: TenantSession) -> list[SegmentOut]:
    """The company's segments by name."""
    return await service.list_segments(session, identity)


@router.post("/api/segments", status_code=status.HTTP_201_CREATED)
async def create_segment(
    body: SegmentIn, identity: CurrentUser, session: TenantSession
) -> SegmentOut:
    """Save a filter as a dynamic segment, or start an empty static list."""
    return await service.create_segment(session, identity, body)


@router.get("/api/segments/{segment_id}")
async def get_segment(
    segment_id: uuid.UUID, identity: CurrentUser, session: TenantSession
) -> SegmentOut:
    """One segment."""
    return await service.get_segment(session, identity, segment_id)


@router.patch("/api/segments/{segment_id}")
async def update_segment(
    segment_id: uuid.UUID, body: SegmentPatch, identity: CurrentUser, session: TenantSession
) -> SegmentOut:
    """Rename a segment or replace a dynamic segment's filter."""
    return await service.update_segment(session, identity, segment_id, body)


@router.delete("/api/segments/{segment_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_segment(
    segment_id: uuid.UUID, identity: CurrentUser, session: TenantSession
) -> Response:
    """Delete a segment; its contacts stay."""
    await service.delete_segment(session, identity, segment_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/api/segments/{segment_id}/contacts")
async def segment_contacts(
    segment_id: uuid.UUID,
    identity: CurrentUser,
    session: TenantSession,
    q: Q = None,
    filter: FilterParam = None,
    sort: Sort | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[ContactOut]:
    """The segment's contacts (a dynamic one's filter runs now), one keyset page at a time."""
    return await service.search_contacts(
        session,
        identity,
        _query(q, filter, segment_id),
        sort=sort,
        cursor=cursor,
        limit=limit,
    )


@router.post("/api/segments/{segment_id}/members")
async def add_members(
    segment_id: uuid.UUID, body: MembersIn, identity: CurrentUser, session: TenantSession
) -> MembersAdded:
    """Put contacts on a static list: by `contact_ids`, or every contact matching q/filter."""
    return MembersAdded(added=await service.add_members(session, identity, segment_id, body))


@router.delete("/api/segments/{segment_id}/members")
async def remove_members(
    segment_id: uuid.UUID, body: MembersIn, identity: CurrentUser, session: TenantSession
) -> MembersRemoved:
    """Take contacts off a static list: by `contact_ids`, or every contact matching q/filter."""
    return MembersRemoved(removed=await service.remove_members(session, identity, segment_id, body))
