"""Admin page of business hours: opening hours per weekday (with an optional break, the lunch
hour), closed days, and the out-of-office reply with a preview of what a customer would read.

A refused form comes back as typed with each problem next to its day or field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from zapcrm.accounts import service as accounts_service
from zapcrm.dependencies import RuntimeDep
from zapcrm.exceptions import ZapcrmError
from zapcrm.hours import service as hours_service
from zapcrm.hours.schemas import (
    AWAY_VARIABLES,
    MAX_AWAY_LENGTH,
    MAX_HOLIDAY_NAME,
    BusinessHoursIn,
    BusinessHoursOut,
)
from zapcrm.kit import texts
from zapcrm.kit.placeholders import ALIASES
from zapcrm.kit.zones import zone_or_default
from zapcrm.runtime import Runtime
from zapcrm.web.dependencies import ActingPanelUser, CurrentPanelUser, PanelUser, require_admin
from zapcrm.web.form_errors import form_errors
from zapcrm.web.i18n import N_
from zapcrm.web.templating import render

router = APIRouter()

WEEKDAYS = (
    (1, N_("Segunda")),
    (2, N_("Terça")),
    (3, N_("Quarta")),
    (4, N_("Quinta")),
    (5, N_("Sexta")),
    (6, N_("Sábado")),
    (7, N_("Domingo")),
)
# Empty date boxes under the saved closed days, for adding new ones.
NEW_HOLIDAY_BOXES = 3
VARIABLES = tuple(alias for alias, name in ALIASES.items() if name in AWAY_VARIABLES)
SAMPLE_NAME = "Maria Silva"


@dataclass
class DayRow:
    """One weekday as the form shows it: open or not, its hours and its break as typed (the
    break's boxes empty: no break)."""

    open: bool
    opens: str
    closes: str
    break_from: str = ""
    break_until: str = ""

    def hours(self) -> dict[str, str | None]:
        """The day as the settings take it: an empty break box is no break (one filled and
        the other empty is refused by the settings, with the reason)."""
        return {
            "opens": self.opens,
            "closes": self.closes,
            "break_from": self.break_from or None,
            "break_until": self.break_until or None,
        }


@dataclass
class HoursForm:
    """The form's fields as strings, so a refused form comes back exactly as typed."""

    days: dict[int, DayRow]
    holidays: list[str]
    holiday_names: list[str]  # the name typed by each closed day ("": none), in step
    away_enabled: bool
    away_message: str
    errors: list[dict[str, str]] = field(default_factory=list)

    @classmethod
    def of(cls, hours: BusinessHoursOut, today: date) -> HoursForm:
        """The saved settings as the form shows them. Closed days already past are left out
        (they no longer change anything), so a year's national holidays added every year do
        not pile up: the next save drops them."""
        days = {}
        for day, _ in WEEKDAYS:
            saved = hours.schedule.get(day)
            pause = saved.pause if saved else None
            days[day] = DayRow(
                open=saved is not None,
                opens=f"{saved.opens:%H:%M}" if saved else "08:00",
                closes=f"{saved.closes:%H:%M}" if saved else "18:00",
                break_from=f"{pause[0]:%H:%M}" if pause else "",
                break_until=f"{pause[1]:%H:%M}" if pause else "",
            )
        coming = [day for day in hours.holidays if day >= today]
        return cls(
            days=days,
            holidays=[day.isoformat() for day in coming],
            holiday_names=[hours.holiday_names.get(day, "") for day in coming],
            away_enabled=hours.away_enabled,
            away_message=hours.away_message,
        )

    @classmethod
    def parse(cls, form: FormData) -> HoursForm:
        days = {
            day: DayRow(
                open=form.get(f"open_{day}") == "on",
                opens=str(form.get(f"opens_{day}", "")),
                closes=str(form.get(f"closes_{day}", "")),
                break_from=str(form.get(f"break_from_{day}", "")).strip(),
                break_until=str(form.get(f"break_until_{day}", "")).strip(),
            )
            for day, _ in WEEKDAYS
        }
        # Each date box has its name box after it; a page from before names sends none.
        names = [str(name) for name in form.getlist("holiday_name")]
        typed = [
            (str(value), names[index].strip() if index < len(names) else "")
            for index, value in enumerate(form.getlist("holiday"))
            if str(value).strip()
        ]
        return cls(
            days=days,
            holidays=[value for value, _ in typed],
            holiday_names=[name for _, name in typed],
            away_enabled=form.get("away_enabled") == "on",
            away_message=str(form.get("away_message", "")),
        )

    def settings(self) -> BusinessHoursIn:
        """The settings the form says (ValidationError names `schedule.3`, `holidays.0`...)."""
        body: dict[str, Any] = {
            "schedule": {day: row.hours() for day, row in self.days.items() if row.open},
            "holidays": self.holidays,
            "holiday_names": {
                value: name
                for value, name in zip(self.holidays, self.holiday_names, strict=True)
                if name and _is_date(value)  # an unreadable date is refused by its box alone
            },
            "away_enabled": self.away_enabled,
            "away_message": self.away_message,
        }
        return BusinessHoursIn.model_validate(body)


@router.get("/admin/hours")
async def hours_page(request: Request, runtime: RuntimeDep, user: CurrentPanelUser) -> Response:
    """The company's hours and out-of-office reply, and whether it is open right now."""
    require_admin(user)
    async with runtime.db.tenant_session(user.identity.claims) as session:
        hours = await hours_service.get_hours(session, user.identity)
    today = datetime.now(zone_or_default(hours.timezone)).date()
    return await _page(request, runtime, user, HoursForm.of(hours, today), hours)


@router.post("/admin/hours")
async def save_hours(request: Request, runtime: RuntimeDep, user: ActingPanelUser) -> Response:
    """Save them; the reply applies to messages arriving from the next few seconds on."""
    require_admin(user)
    posted = await request.form()
    form = HoursForm.parse(posted)
    added = 0
    try:
        async with runtime.db.tenant_session(user.identity.claims) as session:
            if posted.get("add_national"):
                # With what is on the form, so nothing typed and not yet saved is lost.
                added = await _add_national(session, user, form)
            await hours_service.save_hours(session, user.identity, form.settings())
    except (ValidationError, ZapcrmError) as failure:
        message, form.errors = form_errors(failure)
        async with runtime.db.tenant_session(user.identity.claims) as session:
            hours = await hours_service.get_hours(session, user.identity)
        status_code = failure.status_code if isinstance(failure, ZapcrmError) else 422
        return await _page(request, runtime, user, form, hours, message, status_code)
    runtime.away_rules.forget(user.identity.company_id)
    notice = f"holidays&added={added}" if posted.get("add_national") else "saved"
    return RedirectResponse(f"/panel/admin/hours?ok={notice}", status_code=303)


async def _add_national(session: AsyncSession, user: PanelUser, form: HoursForm) -> int:
    """Put the coming year's public holidays of the company's country on the form; how many
    were not there yet."""
    coming = await hours_service.coming_national_holidays(
        session, user.identity.company_id, datetime.now(UTC)
    )
    new = [day.isoformat() for day in coming if day.isoformat() not in form.holidays]
    form.holidays += new
    form.holiday_names += [""] * len(new)  # named by the library, on the page
    return len(new)


async def _page(
    request: Request,
    runtime: Runtime,
    user: PanelUser,
    form: HoursForm,
    hours: BusinessHoursOut,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    async with runtime.db.tenant_session(user.identity.claims) as session:
        company = await accounts_service.company_settings(session, user.identity.company_id)
    context = user.page_context(
        request,
        "admin",
        section="hours",
        form=form,
        hours=hours,
        weekdays=WEEKDAYS,
        new_holiday_boxes=NEW_HOLIDAY_BOXES,
        variables=VARIABLES,
        max_length=MAX_AWAY_LENGTH,
        preview=_preview(form.away_message, hours, company.name),
        national_names=_holiday_names(company.default_region, form.holidays),
        max_holiday_name=MAX_HOLIDAY_NAME,
        added=request.query_params.get("added"),
        sample_name=SAMPLE_NAME,
        error=error,
        errors=form.errors,
        notice=request.query_params.get("ok"),
    )
    return render("admin/hours.html", context, status_code=status_code)


def _preview(message: str, hours: BusinessHoursOut, company: str) -> str | None:
    """The reply as a sample customer writing now would read it (None for a faulty text)."""
    try:
        texts.check(message.strip(), AWAY_VARIABLES)
    except texts.TextError:
        return None
    schedule = hours_service.schedule_of_settings(hours)
    return hours_service.compose_reply(
        message.strip(),
        schedule,
        name=SAMPLE_NAME,
        phone_e164=None,
        company=company,
        at=datetime.now(UTC),
    )


def _is_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _holiday_names(region: str, values: list[str]) -> dict[str, str]:
    """The national holiday each listed date is (by its ISO text), to name it on the page."""
    days = []
    for value in values:
        try:
            days.append(date.fromisoformat(value))
        except ValueError:
            continue  # a refused entry: its error says why
    named = hours_service.holiday_names(region, days)
    return {day.isoformat(): name for day, name in named.items()}
