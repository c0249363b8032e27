"""Business hours API: everyone in the company reads them; admins change them."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from zapcrm.dependencies import Admin, CurrentUser, RuntimeDep, TenantSession
from zapcrm.hours import service
from zapcrm.hours.schemas import BusinessHoursIn, BusinessHoursOut

router = APIRouter(tags=["business hours"])


@router.get("/api/business-hours")
async def get_business_hours(identity: CurrentUser, session: TenantSession) -> BusinessHoursOut:
    """Opening hours, closed days, the out-of-office reply, and whether it is open now."""
    return await service.get_hours(session, identity)


@router.put("/api/business-hours")
async def put_business_hours(
    body: BusinessHoursIn, identity: Admin, session: TenantSession, runtime: RuntimeDep
) -> BusinessHoursOut:
    """Replace the hours and the reply (admins). Webhooks use them within seconds."""
    saved = await service.save_hours(session, identity, body)
    # Other processes pick the change up when their few seconds of memory run out.
    runtime.away_rules.forget(identity.company_id)
    return saved


class NationalHolidaysOut(BaseModel):
    """The hours after adding the coming year's public holidays, and how many were new."""

    added: int
    hours: BusinessHoursOut


@router.post("/api/business-hours/national-holidays")
async def add_national_holidays(
    identity: Admin, session: TenantSession, runtime: RuntimeDep
) -> NationalHolidaysOut:
    """Close on the public holidays of the next 12 months of the company's phone country
    (Brazil's movable ones included); days already closed stay as they are."""
    hours, added = await service.add_national_holidays(session, identity)
    runtime.away_rules.forget(identity.company_id)
    return NationalHolidaysOut(added=added, hours=hours)
