"""List rules in the panel: the rules page (everyone reads; supervisors switch rules on and off
and delete them) and the form on the contact list that turns the current filter into a rule."""

from __future__ import annotations

import uuid
from typing import Annotated

import orjson
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from zapcrm.contacts.query import service as query_service
from zapcrm.contacts.rules import service as rules_service
from zapcrm.contacts.rules.schemas import ListRuleIn, ListRulePatch
from zapcrm.dependencies import RuntimeDep
from zapcrm.exceptions import ValidationFailed
from zapcrm.web.dependencies import ActingPanelUser, CurrentPanelUser, require_supervisor
from zapcrm.web.i18n import N_, translate
from zapcrm.web.templating import render, render_macro
from zapcrm.web.views import optional_uuid

router = APIRouter()


@router.get("/contacts/list-rules")
async def rules_page(request: Request, runtime: RuntimeDep, user: CurrentPanelUser) -> Response:
    """Every rule with its list and filter."""
    async with runtime.db.tenant_session(user.identity.claims) as session:
        rules = await rules_service.list_rules(session, user.identity)
        segments = await query_service.list_segments(session, user.identity)
    context = user.page_context(request, "contacts") | {
        "rules": rules,
        "list_names": {segment.id: segment.name for segment in segments},
    }
    return render("contacts/list_rules.html", context)


@router.post("/contacts/list-rules")
async def create_rule(
    runtime: RuntimeDep,
    user: ActingPanelUser,
    name: Annotated[str, Form(max_length=200)] = "",
    segment: Annotated[str, Form(max_length=40)] = "",
    filter_json: Annotated[str, Form(max_length=50_000)] = "",
) -> Response:
    """Turn the contact list's current filter into a rule for a static list."""
    require_supervisor(user)
    segment_id = optional_uuid(segment, N_("lista inválida"))
    if segment_id is None:
        raise ValidationFailed(N_("escolha a lista estática da regra"))
    try:
        body = ListRuleIn(
            segment_id=segment_id,
            name=name,
            filter=orjson.loads(filter_json) if filter_json else {},
        )
    except (orjson.JSONDecodeError, ValidationError):
        raise ValidationFailed(
            N_("dê um nome à regra, escolha uma lista e monte um filtro")
        ) from None
    async with runtime.db.tenant_session(user.identity.claims) as session:
        await rules_service.create_rule(session, user.identity, body)
    message = translate(N_("Regra criada: os novos contatos que combinarem entram na lista."))
    return render("_toast.html", {"message": message, "kind": "ok"})


@router.post("/contacts/list-rules/{rule_id}/active")
async def switch_rule(
    rule_id: uuid.UUID,
    runtime: RuntimeDep,
    user: ActingPanelUser,
    active: Annotated[bool, Form()] = False,
) -> Response:
    """Switch a rule on or off; answers with its row."""
    require_supervisor(user)
    async with runtime.db.tenant_session(user.identity.claims) as session:
        rule = await rules_service.update_rule(
            session, user.identity, rule_id, ListRulePatch(active=active)
        )
        segments = await query_service.list_segments(session, user.identity)
    names = {segment.id: segment.name for segment in segments}
    return HTMLResponse(
        render_macro("contacts/list_rules.html", "rule_row", rule, names, user.is_supervisor)
    )


@router.post("/contacts/list-rules/{rule_id}/delete")
async def delete_rule(rule_id: uuid.UUID, runtime: RuntimeDep, user: ActingPanelUser) -> Response:
    """Delete a rule; its row goes away."""
    require_supervisor(user)
    async with runtime.db.tenant_session(user.identity.claims) as session:
        await rules_service.delete_rule(session, user.identity, rule_id)
    return HTMLResponse("")
