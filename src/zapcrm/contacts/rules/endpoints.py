"""List rules over HTTP: everyone of the company reads them, supervisors and admins manage them.

A rule's list is a static segment: its members are paged by GET /api/segments/{id}/contacts and
changed by hand through /api/segments/{id}/members.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from zapcrm.contacts.rules import service
from zapcrm.contacts.rules.schemas import ListRuleIn, ListRuleOut, ListRulePatch
from zapcrm.dependencies import CurrentUser, Supervisor, TenantSession

router = APIRouter(tags=["contacts"])


@router.get("/api/list-rules")
async def list_rules(
    identity: CurrentUser, session: TenantSession, segment_id: uuid.UUID | None = None
) -> list[ListRuleOut]:
    """The company's list rules (of one list with `segment_id`)."""
    return await service.list_rules(session, identity, segment_id)


@router.post("/api/list-rules", status_code=status.HTTP_201_CREATED)
async def create_rule(
    body: ListRuleIn, identity: Supervisor, session: TenantSession
) -> ListRuleOut:
    """Put every contact created (API, bulk) or imported (CSV) from now on that matches the
    filter on a static list (supervisors and admins)."""
    return await service.create_rule(session, identity, body)


@router.get("/api/list-rules/{rule_id}")
async def get_rule(
    rule_id: uuid.UUID, identity: CurrentUser, session: TenantSession
) -> ListRuleOut:
    """One list rule."""
    return await service.get_rule(session, identity, rule_id)


@router.patch("/api/list-rules/{rule_id}")
async def update_rule(
    rule_id: uuid.UUID, body: ListRulePatch, identity: Supervisor, session: TenantSession
) -> ListRuleOut:
    """Rename a rule, switch it on or off, or replace its filter (supervisors and admins)."""
    return await service.update_rule(session, identity, rule_id, body)


@router.delete("/api/list-rules/{rule_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_rule(rule_id: uuid.UUID, identity: Supervisor, session: TenantSession) -> Response:
    """Delete a rule; contacts it put on its list stay (supervisors and admins)."""
    await service.delete_rule(session, identity, rule_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
