"""Admin page of the satisfaction survey: its switch, the question sent when a person closes
a chat they served and the thanks after a 1-5 answer, previewed as a sample customer reads them.

Admins only, like the hours page: everyone else gets a 404 and no link. A refused form comes
back as typed with the problem next to its field. A save drops the process's copy of the
company's survey (`survey_rules`), as the API does, so the next answer reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from zapcrm.accounts import repository as accounts_repository
from zapcrm.dependencies import RuntimeDep
from zapcrm.exceptions import ZapcrmError
from zapcrm.runtime import Runtime
from zapcrm.surveys import service
from zapcrm.surveys.schemas import ANSWER_WINDOW, TEXT_MAX, SurveyIn, SurveyOut
from zapcrm.web.campaign_form import SAMPLE_NAME, VARIABLES, preview
from zapcrm.web.dependencies import ActingPanelUser, CurrentPanelUser, PanelUser, require_admin
from zapcrm.web.form_errors import form_errors
from zapcrm.web.templating import render, render_macro

router = APIRouter()

PAGE = "/panel/admin/survey"
# A generous limit on what the form may carry; the schema decides what is acceptable (and says
# why, next to the field).
_TEXT_FIELD = 4000


@dataclass
class SurveyForm:
    """The survey's form as typed (so a refused form comes back exactly as typed)."""

    enabled: bool
    question: str
    thanks: str
    errors: list[dict[str, str]] = field(default_factory=list)


@router.get("/admin/survey")
async def survey_page(request: Request, runtime: RuntimeDep, user: CurrentPanelUser) -> Response:
    """The survey's switch and texts, with what the customer reads."""
    require_admin(user)
    return await _page(request, runtime, user)


@router.post("/admin/survey")
async def save_survey(
    request: Request,
    runtime: RuntimeDep,
    user: ActingPanelUser,
    enabled: Annotated[str, Form(max_length=5)] = "",
    question: Annotated[str, Form(max_length=_TEXT_FIELD)] = "",
    thanks: Annotated[str, Form(max_length=_TEXT_FIELD)] = "",
) -> Response:
    """Turn the survey on or off and set its question and thanks."""
    require_admin(user)
    typed = SurveyForm(enabled=enabled == "on", question=question, thanks=thanks)
    try:
        body = SurveyIn(enabled=typed.enabled, question=question, thanks=thanks)
        async with runtime.db.tenant_session(user.identity.claims) as session:
            await service.save_survey(session, user.identity, body)
    except (ValidationError, ZapcrmError) as failure:
        message, typed.errors = form_errors(failure)
        status_code = failure.status_code if isinstance(failure, ZapcrmError) else 422
        return await _page(request, runtime, user, typed, message, status_code)
    # Committed: this process reads the survey anew at the next answer (the others within
    # seconds, when their copy expires).
    runtime.survey_rules.forget(user.identity.company_id)
    return RedirectResponse(f"{PAGE}?ok=saved", status_code=303)


@router.post("/admin/survey/preview")
async def survey_preview(
    runtime: RuntimeDep,
    user: ActingPanelUser,
    question: Annotated[str, Form(max_length=_TEXT_FIELD)] = "",
    thanks: Annotated[str, Form(max_length=_TEXT_FIELD)] = "",
) -> Response:
    """The preview box for the texts being typed (htmx, while the admin writes)."""
    require_admin(user)
    company = await _company_name(runtime, user)
    return HTMLResponse(
        render_macro(
            "admin/survey.html",
            "survey_preview",
            preview(question, company),
            preview(thanks, company),
            SAMPLE_NAME,
        )
    )


async def _company_name(runtime: Runtime, user: PanelUser) -> str:
    async with runtime.db.tenant_session(user.identity.claims) as session:
        company = await accounts_repository.get_company(session, user.identity.company_id)
    return company.name if company else ""


async def _page(
    request: Request,
    runtime: Runtime,
    user: PanelUser,
    typed: SurveyForm | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    async with runtime.db.tenant_session(user.identity.claims) as session:
        survey: SurveyOut = await service.get_survey(session, user.identity)
        company = await accounts_repository.get_company(session, user.identity.company_id)
    company_name = company.name if company else ""
    form = typed or SurveyForm(
        enabled=survey.enabled, question=survey.question, thanks=survey.thanks
    )
    context = user.page_context(
        request,
        "admin",
        section="survey",
        survey=survey,
        form=form,
        errors=form.errors,
        # Filled for the campaigns' sample person, as the other forms preview their texts.
        question_preview=preview(form.question, company_name),
        thanks_preview=preview(form.thanks, company_name),
        sample_name=SAMPLE_NAME,
        variables=VARIABLES,
        max_length=TEXT_MAX,
        answer_hours=int(ANSWER_WINDOW.total_seconds() // 3600),
        error=error,
        notice=request.query_params.get("ok"),
    )
    return render("admin/survey.html", context, status_code=status_code)
