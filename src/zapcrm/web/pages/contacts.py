"""Contact pages: the searchable, filterable list with segments, bulk tags and export, and one
contact's page with its fields, identities, duplicates, merge and timeline."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlencode

import orjson
from babel.numbers import format_decimal
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.contacts import definitions
from zapcrm.contacts import live as contacts_live
from zapcrm.contacts import service as contacts_service
from zapcrm.contacts.query import export
from zapcrm.contacts.query import service as query_service
from zapcrm.contacts.query.fields import operators_of
from zapcrm.contacts.query.schemas import ContactQuery, SegmentIn, SuggestionOut
from zapcrm.contacts.schemas import AttributeOut, ContactDetail, ContactIn, ContactPatch
from zapcrm.contacts.sources import source_key, source_label
from zapcrm.dependencies import RuntimeDep
from zapcrm.exceptions import NotFound, ValidationFailed, ZapcrmError
from zapcrm.kit.phones import display_phone
from zapcrm.transactions import in_tenant_transaction
from zapcrm.web.dependencies import ActingPanelUser, CurrentPanelUser, PanelUser
from zapcrm.web.filter_form import (
    FIELD_LABELS,
    OPERATOR_LABELS,
    FieldChoice,
    FilterForm,
    Group,
    Row,
)
from zapcrm.web.form_errors import form_errors
from zapcrm.web.i18n import N_, current_locale, translate
from zapcrm.web.templating import company_zone, render, render_macro
from zapcrm.web.views import Agents, optional_uuid

router = APIRouter()

PAGE_SIZE = 50
MAX_GROUPS = 10
# The list's count stops here ("mais de 10.000 contatos", with "contar todos" for the exact
# number): at a million contacts counting every "maria" (150,751) took 0.5-2.6 s, its first
# 10,001 ~85 ms (bench/panel.py), and past this the exact number tells the reader little more.
# Read at each request, so a test may lower it.
COUNT_CAP = 10_000


@dataclass(frozen=True, slots=True)
class ListParams:
    """What the list shows, as its page, its count and its export read it from the URL: the
    search box, a segment and the filter builder."""

    q: str | None
    segment_id: uuid.UUID | None
    form: FilterForm

    def query(self) -> ContactQuery:
        """The list's query for the contacts services."""
        return ContactQuery(
            q=(self.q or "").strip() or None,
            filter=self.form.to_filter(),
            segment_id=self.segment_id,
        )

    def url(self, q: str | None = None) -> str:
        """The list's query string (`q` instead of the typed search, for a suggestion)."""
        typed = self.q if q is None else q
        items: list[tuple[str, str]] = []
        if typed:
            items.append(("q", typed))
        if self.segment_id:
            items.append(("segment", str(self.segment_id)))
        items += self.form.query_items() if not self.form.is_empty() else []
        return urlencode(items)

    def filter_json(self) -> str:
        """The builder's filter as the page's forms carry it (empty: no condition)."""
        return "" if self.form.is_empty() else orjson.dumps(self.form.to_filter()).decode()


def list_params(
    request: Request,
    q: Annotated[str | None, Query(max_length=200)] = None,
    segment: Annotated[str | None, Query(max_length=40)] = None,
) -> ListParams:
    """The list's parameters (FastAPI dependency of the list, count and export routes)."""
    params = request.query_params
    filter_params = {key: params.getlist(key) for key in params.keys()}  # noqa: SIM118 - a multidict
    return ListParams(
        q=q,
        segment_id=optional_uuid(segment, N_("segmento inválido")),
        form=FilterForm.parse(filter_params),
    )


ListParamsDep = Annotated[ListParams, Depends(list_params)]


async def _field_choices(session: AsyncSession, user: PanelUser) -> list[FieldChoice]:
    attributes = await definitions.list_attributes(session, user.identity)
    return [FieldChoice(key, label, operators_of(key)) for key, label in FIELD_LABELS.items()] + [
        FieldChoice(
            f"custom.{attribute.key}",
            attribute.label,
            operators_of(f"custom.{attribute.key}", attribute.type),
        )
        for attribute in attributes
    ]


@router.get("/contacts")
async def contact_list(
    request: Request,
    runtime: RuntimeDep,
    user: CurrentPanelUser,
    params: ListParamsDep,
    cursor: Annotated[str | None, Query(max_length=300)] = None,
) -> Response:
    """Search box, filter builder and segments over the contact list."""
    form = params.form
    error: str | None = None
    page = None
    suggestions: list[tuple[SuggestionOut, str]] = []
    async with runtime.db.tenant_session(user.identity.claims) as session:
        fields = await _field_choices(session, user)
        segments = await query_service.list_segments(session, user.identity)
        stages = await definitions.list_stages(session, user.identity)
        if form.check(fields):
            error = translate(N_("Confira as condições destacadas no filtro."))
        else:
            try:
                query = params.query()
                page = await query_service.search_contacts(
                    session, user.identity, query, sort=None, cursor=cursor, limit=PAGE_SIZE
                )
                # Nobody at all (a first page without rows): other spellings may find someone.
                # The count itself comes after the rows (contact_count).
                if not page.items and cursor is None and params.q:
                    suggestions = [
                        (found, params.url(q=found.q))
                        for found in await query_service.suggest(session, user.identity, query)
                    ]
            except (ZapcrmError, ValidationError) as failure:
                error = _filter_error(failure, form, fields)
    if request.query_params.get("add_group") and len(form.groups) < MAX_GROUPS:
        form.groups.append(Group(rows=[Row()]))  # shown, not applied until it has a value
    context = user.page_context(request, "contacts") | {
        "q": params.q or "",
        "form": form,
        "segment_id": params.segment_id,
        "segments": segments,
        "fields": fields,
        "operators": list(OPERATOR_LABELS.items()),
        "field_operators": {choice.key: choice.operators for choice in fields},
        "page": page,
        "suggestions": suggestions,
        "error": error,
        "list_query": params.url(),
        "filter_json": params.filter_json(),
        "stages": stages,
        "stage_labels": {stage.key: stage.label for stage in stages},
    }
    if request.headers.get("hx-target") == "contact-rows" and page is not None:
        return HTMLResponse(
            render_macro(
                "contacts/_list.html",
                "rows",
                page,
                context["list_query"],
                company_zone(),
                context["stage_labels"],
            )
        )
    return render("contacts/list.html", context, status_code=422 if error else 200)


@router.get("/contacts/count")
async def contact_count(
    runtime: RuntimeDep,
    user: CurrentPanelUser,
    params: ListParamsDep,
    exact: bool = False,
) -> Response:
    """How many contacts the list holds, up to COUNT_CAP unless `exact` (the reader asked for
    every one), with the actions on all of them (their confirmations say the number, or that
    it is past the cap): the list page asks for it once its rows are shown."""
    try:
        query = params.query()
    except ValidationError:
        raise ValidationFailed(N_("filtro inválido")) from None
    async with runtime.db.tenant_session(user.identity.claims) as session:
        count = await query_service.count_up_to(
            session, user.identity, query, cap=None if exact else COUNT_CAP
        )
        stages = await definitions.list_stages(session, user.identity)
    return HTMLResponse(
        render_macro(
            "contacts/_count.html",
            "counted",
            count,
            params.q or "",
            params.filter_json(),
            params.segment_id,
            stages,
            params.url(),
        )
    )


def _filter_error(failure: Exception, form: FilterForm, fields: list[FieldChoice]) -> str:
    """What the list page says when the query failed; a condition's problem goes on its row
    (the message carries no JSON path, which means nothing to the reader)."""
    if isinstance(failure, ZapcrmError) and failure.details.get("fields"):
        left = form.place_errors(failure.details["fields"], fields)
        return left[0] if left else translate(N_("Confira as condições destacadas no filtro."))
    if isinstance(failure, ZapcrmError):
        return translate(failure.message)
    # A query the schema refused has no filter row or form field to point at on this page.
    return translate(N_("dados inválidos"))


@router.get("/contacts/filter-row")
async def filter_row(
    runtime: RuntimeDep,
    user: CurrentPanelUser,
    group: Annotated[int, Query(ge=0, le=10)] = 0,
) -> Response:
    """One more empty condition row for the builder."""
    async with runtime.db.tenant_session(user.identity.claims) as session:
        fields = await _field_choices(session, user)
    return HTMLResponse(
        render_macro(
            "contacts/_filters.html",
            "condition_row",
            Row(),
            group,
            fields,
            list(OPERATOR_LABELS.items()),
        )
    )


@router.post("/contacts/segments")
async def save_segment(
    runtime: RuntimeDep,
    user: ActingPanelUser,
    name: Annotated[str, Form(max_length=200)] = "",
    filter_json: Annotated[str, Form(max_length=50_000)] = "",
) -> Response:
    """Save the current filter as a dynamic segment and show its list."""
    try:
        parsed = orjson.loads(filter_json) if filter_json else None
        body = SegmentIn(name=name, kind="dynamic", filter=parsed)
    except (orjson.JSONDecodeError, ValidationError):
        raise ValidationFailed(N_("dê um nome ao segmento e monte um filtro válido")) from None
    async with runtime.db.tenant_session(user.identity.claims) as session:
        segment = await query_service.create_segment(session, user.identity, body)
    return Response(
        status_code=204, headers={"HX-Redirect": f"/panel/contacts?segment={segment.id}"}
    )


@router.post("/contacts/bulk-tag")
async def bulk_tag(
    runtime: RuntimeDep,
    user: ActingPanelUser,
    tag: Annotated[str, Form(max_length=50)] = "",
    action: Annotated[str, Form(max_length=10)] = "add",
    q: Annotated[str, Form(max_length=200)] = "",
    filter_json: Annotated[str, Form(max_length=50_000)] = "",
    segment: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Add or remove a tag on every contact of the current list."""
    cleaned = " ".join(tag.split())
    if not cleaned:
        raise ValidationFailed(N_("informe a etiqueta"))
    query = _bulk_query(q, filter_json, segment)
    changed = await in_tenant_transaction(
        runtime,
        user.identity,
        lambda session: contacts_live.bulk_tag(
            session, user.identity, query, tag=cleaned, add=action != "remove"
        ),
    )
    message = translate(
        N_("{count} contato(s) recebeu a etiqueta “{tag}”.", count=changed, tag=cleaned)
        if action != "remove"
        else N_("{count} contato(s) perdeu a etiqueta “{tag}”.", count=changed, tag=cleaned)
    )
    return _bulk_done(message)


@router.post("/contacts/bulk-stage")
async def bulk_stage(
    runtime: RuntimeDep,
    user: ActingPanelUser,
    stage: Annotated[str, Form(max_length=100)] = "",
    q: Annotated[str, Form(max_length=200)] = "",
    filter_json: Annotated[str, Form(max_length=50_000)] = "",
    segment: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Put every contact of the current list in one funnel stage (empty: in none)."""
    query = _bulk_query(q, filter_json, segment)
    changed = await in_tenant_transaction(
        runtime,
        user.identity,
        lambda session: contacts_live.bulk_stage(
            session, user.identity, query, stage=stage or None
        ),
    )
    return _bulk_done(translate(N_("{count} contato(s) mudou de etapa.", count=changed)))


def _bulk_query(q: str, filter_json: str, segment: str) -> ContactQuery:
    """The list a bulk action applies to, as its form repeats it."""
    try:
        return ContactQuery(
            q=q or None,
            filter=orjson.loads(filter_json) if filter_json else None,
            segment_id=optional_uuid(segment, N_("segmento inválido")),
        )
    except (orjson.JSONDecodeError, ValidationError):
        raise ValidationFailed(N_("filtro inválido")) from None


def _bulk_done(message: str) -> Response:
    """The toast saying what a bulk action changed; the list's rows read themselves again."""
    response = render("_toast.html", {"message": message, "kind": "ok"})
    response.headers["HX-Trigger"] = "contacts-changed"
    return response


@router.get("/contacts/export")
async def export_csv(
    runtime: RuntimeDep,
    user: CurrentPanelUser,
    params: ListParamsDep,
) -> Response:
    """The current list as a CSV file (supervisors and admins, like the API)."""
    if not user.is_supervisor:
        raise NotFound(N_("página não encontrada"))
    async with runtime.db.tenant_session(user.identity.claims) as session:
        plan = await query_service.plan_export(session, user.identity, params.query())
    return export.csv_response(runtime.db, user.identity.claims, plan)


async def _contact_context(
    session: AsyncSession, user: PanelUser, contact_id: uuid.UUID
) -> dict[str, Any]:
    contact = await contacts_service.get_contact(session, user.identity, contact_id)
    history, _ = await contacts_service.contact_history(
        session, user.identity, contact_id, cursor=None, limit=100
    )
    duplicates = []
    if user.is_supervisor:
        pairs = await contacts_service.suggest_duplicates(session, user.identity, 200)
        duplicates = [
            (pair.second if pair.first.id == contact_id else pair.first, pair.reason)
            for pair in pairs
            if contact_id in (pair.first.id, pair.second.id)
        ]
    agents = await Agents.load(session, user.identity)
    stages = await definitions.list_stages(session, user.identity)
    attributes = await definitions.list_attributes(session, user.identity)
    return {
        "agents": agents,
        "contact": contact,
        "history": history,
        "duplicates": duplicates,
        "stages": stages,
        "stage_labels": {stage.key: stage.label for stage in stages},
        "attributes": attributes,
        "values": _edit_values(contact, attributes),
        "source_label": _source_label,
    }


def _edit_values(contact: ContactDetail, attributes: list[AttributeOut]) -> dict[str, Any]:
    """The edit form's fields as the reader writes them: the phone as the list shows it,
    numbers with the reader's decimal mark, our source keys by their label. Each one reads
    back as the stored value, so saving the form unchanged changes nothing."""
    return {
        "name": contact.name,
        "phone": display_phone(contact.phone_e164),
        "email": contact.email or "",
        "tags": ", ".join(contact.tags),
        "source": _source_label(contact.source),
        "funnel_stage": contact.funnel_stage or "",
        "notes": contact.notes,
        "opted_out": contact.opted_out,
        "custom": {
            attribute.key: _custom_text(attribute.type, contact.custom_fields.get(attribute.key))
            for attribute in attributes
        },
    }


def _custom_text(attribute_type: str, value: Any) -> str:
    """A custom value as its input shows it ("true"/"false" are the yes/no select's values)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if attribute_type == "number" and isinstance(value, int | float):
        # No thousands separator: "1.234" would read back as 1.234, not 1234. Every digit
        # stays (decimal_quantization off), so the value survives an unchanged save.
        return format_decimal(
            Decimal(str(value)), format="0.#", locale=current_locale(), decimal_quantization=False
        )
    return str(value)


def _source_label(source: str | None) -> str:
    """A stored source as the panel shows it ("Importação" for `import`)."""
    return source_label(source, translate)


@router.get("/contacts/new")
async def new_contact(request: Request, user: CurrentPanelUser, runtime: RuntimeDep) -> Response:
    """The form for a contact typed by hand."""
    async with runtime.db.tenant_session(user.identity.claims) as session:
        stages = await definitions.list_stages(session, user.identity)
    return render(
        "contacts/new.html",
        user.page_context(request, "contacts") | {"stages": stages, "values": {}, "errors": []},
    )


@router.post("/contacts/new")
async def create_contact(
    request: Request,
    runtime: RuntimeDep,
    user: ActingPanelUser,
    name: Annotated[str, Form(max_length=200)] = "",
    phone: Annotated[str, Form(max_length=40)] = "",
    email: Annotated[str, Form(max_length=320)] = "",
    tags: Annotated[str, Form(max_length=2000)] = "",
    source: Annotated[str, Form(max_length=100)] = "",
    funnel_stage: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Create the contact and open its page; field errors come back on the form."""
    values = {
        "name": name,
        "phone": phone,
        "email": email,
        "tags": tags,
        "source": source,
        "funnel_stage": funnel_stage,
    }
    try:
        body = ContactIn(
            name=name.strip(),
            phone=phone.strip() or None,
            email=email.strip() or None,
            tags=_tags(tags),
            source=source_key(source.strip(), translate) or None,
            funnel_stage=funnel_stage or None,
        )
        created = await in_tenant_transaction(
            runtime,
            user.identity,
            lambda session: contacts_live.create_contact(session, user.identity, body),
        )
    except (ValidationError, ZapcrmError) as failure:
        async with runtime.db.tenant_session(user.identity.claims) as session:
            stages = await definitions.list_stages(session, user.identity)
        message, errors = form_errors(failure)
        context = user.page_context(request, "contacts") | {
            "stages": stages,
            "values": values,
            "errors": errors,
            "error": message,
        }
        return render("contacts/new.html", context, status_code=_status(failure))
    return RedirectResponse(f"/panel/contacts/{created.id}", status_code=303)


@router.get("/contacts/{contact_id}")
async def contact_page(
    contact_id: uuid.UUID, request: Request, runtime: RuntimeDep, user: CurrentPanelUser
) -> Response:
    """Everything about one person."""
    async with runtime.db.tenant_session(user.identity.claims) as session:
        context = await _contact_context(session, user, contact_id)
    return render(
        "contacts/detail.html", user.page_context(request, "contacts") | context | {"errors": []}
    )


@router.post("/contacts/{contact_id}")
async def update_contact(
    contact_id: uuid.UUID, request: Request, runtime: RuntimeDep, user: ActingPanelUser
) -> Response:
    """Save the edited fields; each change lands in the contact's timeline."""
    form = await request.form()
    keys = ("name", "phone", "email", "tags", "source", "funnel_stage", "notes")
    text = {key: str(form.get(key, "")) for key in keys}
    typed: dict[str, str] = {}
    for key, value in form.multi_items():
        if key.startswith("custom.") and isinstance(value, str):
            typed[key.removeprefix("custom.")] = value
    try:
        patch = ContactPatch(
            name=text["name"].strip(),
            phone=text["phone"].strip() or None,
            email=text["email"].strip() or None,
            tags=_tags(text["tags"]),
            source=source_key(text["source"].strip(), translate) or None,
            funnel_stage=text["funnel_stage"] or None,
            notes=text["notes"],
            opted_out=form.get("opted_out") == "on",
            custom_fields={key: value.strip() or None for key, value in typed.items()} or None,
        )
        await in_tenant_transaction(
            runtime,
            user.identity,
            lambda session: contacts_live.update_contact(session, user.identity, contact_id, patch),
        )
    except (ValidationError, ZapcrmError) as failure:
        if isinstance(failure, NotFound):
            raise
        message, errors = form_errors(failure)
        async with runtime.db.tenant_session(user.identity.claims) as session:
            context = await _contact_context(session, user, contact_id)
        # The form shows what was typed, next to its errors, not the stored values again.
        submitted = text | {"opted_out": form.get("opted_out") == "on"}
        context |= {
            "errors": errors,
            "error": message,
            "values": submitted | {"custom": context["values"]["custom"] | typed},
        }
        return render(
            "contacts/detail.html",
            user.page_context(request, "contacts") | context,
            status_code=_status(failure),
        )
    return RedirectResponse(f"/panel/contacts/{contact_id}?saved=1", status_code=303)


@router.post("/contacts/{contact_id}/merge")
async def merge(
    contact_id: uuid.UUID,
    runtime: RuntimeDep,
    user: ActingPanelUser,
    other_id: Annotated[uuid.UUID, Form()],
) -> Response:
    """Fold the suggested duplicate into this contact."""
    await in_tenant_transaction(
        runtime,
        user.identity,
        lambda session: contacts_live.merge_contacts(session, user.identity, contact_id, other_id),
    )
    return RedirectResponse(f"/panel/contacts/{contact_id}?merged=1", status_code=303)


def _tags(raw: str) -> list[str]:
    return [tag.strip() for tag in raw.split(",") if tag.strip()]


def _status(failure: Exception) -> int:
    return failure.status_code if isinstance(failure, ZapcrmError) else 422
