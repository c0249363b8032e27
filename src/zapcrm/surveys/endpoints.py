"""Satisfaction survey API: everyone reads it, admins change it."""

from __future__ import annotations

from fastapi import APIRouter

from zapcrm.dependencies import Admin, CurrentUser, RuntimeDep, TenantSession
from zapcrm.surveys import service
from zapcrm.surveys.schemas import SurveyIn, SurveyOut

router = APIRouter(tags=["survey"])


@router.get("/api/survey")
async def get_survey(identity: CurrentUser, session: TenantSession) -> SurveyOut:
    """The company's satisfaction survey."""
    return await service.get_survey(session, identity)


@router.put("/api/survey")
async def save_survey(
    body: SurveyIn, identity: Admin, session: TenantSession, runtime: RuntimeDep
) -> SurveyOut:
    """Turn the survey on or off and set the question and the thanks."""
    saved = await service.save_survey(session, identity, body)
    runtime.survey_rules.forget(identity.company_id)
    return saved
