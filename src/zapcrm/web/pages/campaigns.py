"""Campaign pages (supervisors and admins): the list with each campaign's progress, the form of a
draft (number, audience with its live count, text variants with a preview, pace), editing, and
a campaign's page with its actions, self-refreshing progress and recipients."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.accounts import service as accounts_service
from zapcrm.campaigns import export as campaign_export
from zapcrm.campaigns import pacing
from zapcrm.campaigns import service as campaigns_service
from zapcrm.campaigns.schemas import (
    MAX_TEXT_LENGTH,
    MAX_VARIANTS,
    CampaignOut,
    PacingIn,
    RecipientOut,
    RecipientStatus,
)
from zapcrm.contacts.query import service as query_service
from zapcrm.contacts.query.schemas import ContactQuery
from zapcrm.dependencies import RuntimeDep
from zapcrm.evolution.admin import company_instances
from zapcrm.exceptions import ValidationFailed, ZapcrmError
from zapcrm.runtime import Runtime
from zapcrm.web.campaign_form import SAMPLE_NAME, VARIABLES, CampaignForm, preview
from zapcrm.web.dependencies import ActingPanelUser, CurrentPanelUser, PanelUser, require_supervisor
from zapcrm.web.form_errors import form_errors
from zapcrm.web.i18n import N_
from zapcrm.web.templating import render, render_macro
from zapcrm.web.views import company_moment

router = APIRouter()

RECIPIENTS_PAGE = 50
MAX_RECIPIENTS_SHOWN = 1000  # rows a running campaign's page reads again (more stay as they are)
RECIPIENT_STATUSES: tuple[RecipientStatus, ...] = get_args(RecipientStatus)
Action = Literal["start", "pause", "resume", "cancel"]
ACTIONS = {
    "pause": campaigns_service.pause_campaign,
    "resume": campaigns_service.resume_campaign,
    "cancel": campaigns_service.cancel_campaign,
}


StatusParam = Annotated[str | None, Query(max_length=20)]


async def _company_name(session: AsyncSession, user: PanelUser) -> str:
    return (await accounts_service.company_settings(session, user.identity.company_id)).name


@router.get("/campaigns")
async def campaigns_page(request: Request, runtime: RuntimeDep, user: CurrentPanelUser) -> Response:
    """The latest campaigns, newest first, with their progress."""
    require_supervisor(user)
    async with runtime.db.tenant_session(user.identity.claims) as session:
        campaigns = await campaigns_service.list_campaigns(session, user.identity)
        instances = await company_instances(session, user.identity.company_id)
    context = user.page_context(
        request, "campaigns", campaigns=campaigns, instances={i.id: i for i in instances}
    )
    return render("campaigns/list.html", context)


@router.get("/campaigns/new")
async def new_campaign(request: Request, runtime: RuntimeDep, user: CurrentPanelUser) -> Response:
    """The form of a new draft, with the safe pace filled in."""
    require_supervisor(user)
    async with runtime.db.tenant_session(user.identity.claims) as session:
        context = await _form_context(session, user, CampaignForm.blank(), None, blank=True)
    return render("campaigns/form.html", user.page_context(request, "campaigns") | context)


@router.post("/campaigns/new")
async def create_campaign(request: Request, runtime: RuntimeDep, user: ActingPanelUser) -> Response:
    """Save the draft and open its page; errors come back on the form with what was typed."""
    require_supervisor(user)
    form = CampaignForm.parse(await request.form())
    try:
        body = form.new_campaign()
        async with runtime.db.tenant_session(user.identity.claims) as session:
            created = await campaigns_service.create_campaign(session, user.identity, body)
    except (ValidationError, ZapcrmError) as failure:
        return await _refused(request, runtime, user, form, None, failure)
    return RedirectResponse(f"/panel/campaigns/{created.id}", status_code=303)


@router.get("/campaigns/audience-count")
async def audience_count(request: Request, runtime: RuntimeDep, user: CurrentPanelUser) -> Response:
    """How many contacts the audience fields select now ("N contatos")."""
    require_supervisor(user)
    form = CampaignForm.parse(request.query_params)
    try:
        audience = ContactQuery.model_validate(form.audience())
        async with runtime.db.tenant_session(user.identity.claims) as session:
            count = await campaigns_service.count_audience(session, user.identity, audience)
    except (ValidationError, ZapcrmError) as failure:
        message, _ = form_errors(failure)
        return HTMLResponse(render_macro("campaigns/_parts.html", "audience_count", None, message))
    return HTMLResponse(render_macro("campaigns/_parts.html", "audience_count", count))


@router.post("/campaigns/preview")
async def variant_preview(request: Request, runtime: RuntimeDep, user: ActingPanelUser) -> Response:
    """The first text filled in for a sample person (the form posts itself as it is typed)."""
    require_supervisor(user)
    form = CampaignForm.parse(await request.form())
    async with runtime.db.tenant_session(user.identity.claims) as session:
        company = await _company_name(session, user)
    shown = preview(form.variants[0], company)
    return HTMLResponse(render_macro("campaigns/_parts.html", "preview_box", shown, SAMPLE_NAME))


@router.get("/campaigns/variant")
async def variant_field(
    user: CurrentPanelUser, index: Annotated[int, Query(ge=1, le=MAX_VARIANTS)] = 2
) -> Response:
    """One more empty text, and the add button counting on (hidden at the last one)."""
    require_supervisor(user)
    return HTMLResponse(
        render_macro("campaigns/_parts.html", "variant_field", index, "", [], MAX_TEXT_LENGTH)
        + render_macro("campaigns/_parts.html", "add_variant", index + 1, MAX_VARIANTS, oob=True)
    )


@router.get("/campaigns/{campaign_id:uuid}")
async def campaign_page(
    campaign_id: uuid.UUID,
    request: Request,
    runtime: RuntimeDep,
    user: CurrentPanelUser,
    status: StatusParam = None,
    after: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """Status, actions, progress and the recipients (optionally of one status)."""
    require_supervisor(user)
    shown = _recipient_status(status)
    async with runtime.db.tenant_session(user.identity.claims) as session:
        campaign = await campaigns_service.get_campaign(session, user.identity, campaign_id)
        recipients, more = await _recipients(session, user, campaign_id, shown, after)
        count = await _draft_audience(session, user, campaign)
        instances = await company_instances(session, user.identity.company_id)
        segments = await query_service.list_segments(session, user.identity)
    context = user.page_context(
        request,
        "campaigns",
        campaign=campaign,
        audience_count=count,
        instance=next((i for i in instances if i.id == campaign.instance_id), None),
        segment=next((s for s in segments if s.id == campaign.audience.segment_id), None),
        recipients=recipients,
        more=more,
        shown=shown or "",
    )
    return render("campaigns/detail.html", context)


@router.get("/campaigns/{campaign_id:uuid}/progress")
async def campaign_progress(
    campaign_id: uuid.UUID, runtime: RuntimeDep, user: CurrentPanelUser
) -> Response:
    """The status, actions and progress block as they stand (polled while it sends)."""
    require_supervisor(user)
    async with runtime.db.tenant_session(user.identity.claims) as session:
        campaign = await campaigns_service.get_campaign(session, user.identity, campaign_id)
        count = await _draft_audience(session, user, campaign)
    return HTMLResponse(
        render_macro(
            "campaigns/_parts.html",
            "state_block",
            campaign,
            count,
            user.session.csrf_token,
        )
    )


@router.get("/campaigns/{campaign_id:uuid}/recipients")
async def recipient_rows(
    campaign_id: uuid.UUID,
    runtime: RuntimeDep,
    user: CurrentPanelUser,
    status: StatusParam = None,
    after: Annotated[int, Query(ge=0)] = 0,
    rows: Annotated[int, Query(ge=0, le=MAX_RECIPIENTS_SHOWN)] = 0,
) -> Response:
    """The next rows of the recipients table ("Carregar mais"), or, from the start, again the
    `rows` rows the page shows (it reads them every few seconds while the campaign sends, so
    the table keeps up with the counts above it)."""
    require_supervisor(user)
    shown = _recipient_status(status)
    again = after == 0 and rows > 0
    size = max(rows, RECIPIENTS_PAGE) if again else RECIPIENTS_PAGE
    async with runtime.db.tenant_session(user.identity.claims) as session:
        recipients, more = await _recipients(session, user, campaign_id, shown, after, size)
    return HTMLResponse(
        render_macro(
            "campaigns/_parts.html",
            "recipient_rows",
            campaign_id,
            recipients,
            more,
            shown or "",
            len(recipients) if again else min(rows + len(recipients), MAX_RECIPIENTS_SHOWN),
        )
    )


@router.get("/campaigns/{campaign_id:uuid}/recipients.csv")
async def recipients_csv(
    campaign_id: uuid.UUID, runtime: RuntimeDep, user: CurrentPanelUser
) -> Response:
    """Every recipient as a CSV file (like the API's)."""
    require_supervisor(user)
    async with runtime.db.tenant_session(user.identity.claims) as session:
        zone = await campaigns_service.export_zone(session, user.identity, campaign_id)
    return campaign_export.csv_response(runtime.db, user.identity.claims, campaign_id, zone)


@router.get("/campaigns/{campaign_id:uuid}/edit")
async def edit_campaign(
    campaign_id: uuid.UUID, request: Request, runtime: RuntimeDep, user: CurrentPanelUser
) -> Response:
    """Everything of a draft; only the name and the pace once it started."""
    require_supervisor(user)
    async with runtime.db.tenant_session(user.identity.claims) as session:
        campaign = await campaigns_service.get_campaign(session, user.identity, campaign_id)
        if campaign.status in campaigns_service.FINAL:
            return RedirectResponse(f"/panel/campaigns/{campaign_id}", status_code=303)
        context = await _form_context(session, user, CampaignForm.of(campaign), campaign)
    return render("campaigns/form.html", user.page_context(request, "campaigns") | context)


@router.post("/campaigns/{campaign_id:uuid}/edit")
async def update_campaign(
    campaign_id: uuid.UUID, request: Request, runtime: RuntimeDep, user: ActingPanelUser
) -> Response:
    """Save the changes (the service refuses what the campaign's state does not allow)."""
    require_supervisor(user)
    form = CampaignForm.parse(await request.form())
    campaign: CampaignOut | None = None
    try:
        async with runtime.db.tenant_session(user.identity.claims) as session:
            campaign = await campaigns_service.get_campaign(session, user.identity, campaign_id)
            body = form.changes(draft=campaign.status == "draft")
            await campaigns_service.update_campaign(session, user.identity, campaign_id, body)
    except (ValidationError, ZapcrmError) as failure:
        if campaign is None:
            raise  # not found: the panel's error page
        return await _refused(request, runtime, user, form, campaign, failure)
    return RedirectResponse(f"/panel/campaigns/{campaign_id}", status_code=303)


@router.post("/campaigns/{campaign_id:uuid}/delete")
async def delete_campaign(
    campaign_id: uuid.UUID, request: Request, runtime: RuntimeDep, user: ActingPanelUser
) -> Response:
    """Remove a draft or an ended campaign and go back to the list."""
    require_supervisor(user)
    async with runtime.db.tenant_session(user.identity.claims) as session:
        await campaigns_service.delete_campaign(session, user.identity, campaign_id)
    return _go(request, "/panel/campaigns")


@router.post("/campaigns/{campaign_id:uuid}/duplicate")
async def duplicate_campaign(
    campaign_id: uuid.UUID, request: Request, runtime: RuntimeDep, user: ActingPanelUser
) -> Response:
    """A new draft like this campaign, opened in its form to change what differs."""
    require_supervisor(user)
    async with runtime.db.tenant_session(user.identity.claims) as session:
        copy = await campaigns_service.duplicate_campaign(session, user.identity, campaign_id)
    return _go(request, f"/panel/campaigns/{copy.id}/edit")


@router.post("/campaigns/{campaign_id:uuid}/{action}")
async def change_state(
    campaign_id: uuid.UUID,
    action: Action,
    request: Request,
    runtime: RuntimeDep,
    user: ActingPanelUser,
) -> Response:
    """Start (now, or at the time typed in the company's zone), pause, resume or cancel; then
    the campaign's page again (with what changed)."""
    require_supervisor(user)
    async with runtime.db.tenant_session(user.identity.claims) as session:
        if action == "start":
            at = _local_time(str((await request.form()).get("at") or ""))
            await campaigns_service.start_campaign(session, user.identity, campaign_id, at=at)
        else:
            await ACTIONS[action](session, user.identity, campaign_id)
    return _go(request, f"/panel/campaigns/{campaign_id}")


def _go(request: Request, url: str) -> Response:
    # htmx (the buttons ask for confirmation through it) follows HX-Redirect; a plain form a 303.
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def _local_time(typed: str) -> datetime | None:
    """A `datetime-local` field's value as a time in the company's zone (None when empty).

    "Agendar" means later: a time already past is refused here, where the API would start the
    campaign at once (a mistyped month must not send to everyone now)."""
    if not typed:
        return None
    moment = company_moment(typed)
    if moment <= datetime.now(UTC):
        raise ValidationFailed(
            N_("esse horário já passou: escolha um horário futuro ou use Iniciar")
        )
    return moment


def _recipient_status(value: str | None) -> RecipientStatus | None:
    return next((status for status in RECIPIENT_STATUSES if status == value), None)


async def _recipients(
    session: AsyncSession,
    user: PanelUser,
    campaign_id: uuid.UUID,
    shown: RecipientStatus | None,
    after: int,
    size: int = RECIPIENTS_PAGE,
) -> tuple[list[RecipientOut], bool]:
    """`size` recipients after a position, and whether more follow."""
    found = await campaigns_service.list_recipients(
        session, user.identity, campaign_id, status=shown, after=after, limit=size + 1
    )
    return found[:size], len(found) > size


async def _draft_audience(
    session: AsyncSession, user: PanelUser, campaign: CampaignOut
) -> int | None:
    """How many a draft would send to now (the start button asks with it)."""
    if campaign.status != "draft":
        return None
    try:
        return await campaigns_service.count_audience(session, user.identity, campaign.audience)
    except ZapcrmError:
        return None  # its segment was deleted: starting says so


async def _form_context(
    session: AsyncSession,
    user: PanelUser,
    form: CampaignForm,
    campaign: CampaignOut | None,
    *,
    blank: bool = False,
) -> dict[str, Any]:
    """The choices of the form (numbers, segments), the audience count and the preview; on a
    blank form, the company's only number comes chosen (a refused one keeps what was sent)."""
    instances = await company_instances(session, user.identity.company_id)
    if blank and not form.instance_id and len(instances) == 1:
        form = replace(form, instance_id=str(instances[0].id))
    count: int | None = None
    try:
        audience = ContactQuery.model_validate(form.audience())
        count = await campaigns_service.count_audience(session, user.identity, audience)
    except (ValidationError, ZapcrmError):
        pass  # the field's own error says why; the count just stays unknown
    return {
        "form": form,
        "campaign": campaign,
        "full": campaign is None or campaign.status == "draft",
        "instances": instances,
        "segments": await query_service.list_segments(session, user.identity),
        "audience_count": count,
        "preview": preview(form.variants[0], await _company_name(session, user)),
        "variables": VARIABLES,
        "sample_name": SAMPLE_NAME,
        "defaults": PacingIn(),
        "max_variants": MAX_VARIANTS,
        "warmup_first_day": pacing.WARMUP_FIRST_DAY,
        "warmup_step": pacing.WARMUP_STEP,
        "max_length": MAX_TEXT_LENGTH,
        "errors": [],
        "error": None,
    }


async def _refused(
    request: Request,
    runtime: Runtime,
    user: PanelUser,
    form: CampaignForm,
    campaign: CampaignOut | None,
    failure: Exception,
) -> Response:
    """The form again, as typed, with the reasons next to their fields."""
    message, errors = form_errors(failure)
    async with runtime.db.tenant_session(user.identity.claims) as session:
        context = await _form_context(session, user, form, campaign)
    context |= {"errors": form.reworded(errors), "error": message}
    status_code = failure.status_code if isinstance(failure, ZapcrmError) else 422
    return render(
        "campaigns/form.html",
        user.page_context(request, "campaigns") | context,
        status_code=status_code,
    )
