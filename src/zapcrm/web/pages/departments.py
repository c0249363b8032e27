"""Admin page of departments ("setores") and their WhatsApp menu: the departments in menu
order with their members, a form to add one, each one's rename, members, place in the menu and
removal, and the menu's switch and greeting with a preview of what a customer reads.

Admins change it, supervisors read it, operators do not find it (like the distribution page).
A refused form comes back as typed with the problem next to its field. Every change drops the
process's copy of the company's menu (`menu_rules`), as the API does.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from zapcrm.accounts import repository as accounts_repository
from zapcrm.accounts import service as accounts_service
from zapcrm.departments import service
from zapcrm.departments.schemas import (
    GREETING_MAX,
    MAX_DEPARTMENTS,
    MENU_MAX_TRIES,
    NAME_MAX,
    DepartmentIn,
    DepartmentOut,
    DepartmentPatch,
    MenuIn,
)
from zapcrm.dependencies import RuntimeDep
from zapcrm.exceptions import ZapcrmError
from zapcrm.models import Profile
from zapcrm.runtime import Runtime
from zapcrm.web.campaign_form import SAMPLE_NAME, preview
from zapcrm.web.dependencies import (
    ActingPanelUser,
    CurrentPanelUser,
    PanelUser,
    require_admin,
    require_supervisor,
)
from zapcrm.web.form_errors import form_errors
from zapcrm.web.templating import render, render_macro

router = APIRouter()

PAGE = "/panel/admin/departments"
# Generous limits on what a form may carry; the schemas decide what is acceptable (and say
# why, next to the field).
_NAME_FIELD = 200
_GREETING_FIELD = 4000


@dataclass(frozen=True, slots=True)
class Person:
    """A user as the page lists them: a member, or a checkbox of the members' form."""

    id: uuid.UUID
    name: str
    active: bool


@dataclass
class DepartmentForm:
    """A department's form as typed (strings, so a refused form comes back exactly as typed);
    `department_id` is None for the new one."""

    department_id: uuid.UUID | None = None
    name: str = ""
    member_ids: list[str] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)


@dataclass
class MenuForm:
    """The menu's form as typed."""

    enabled: bool
    greeting: str
    errors: list[dict[str, str]] = field(default_factory=list)


@router.get("/admin/departments")
async def departments_page(
    request: Request, runtime: RuntimeDep, user: CurrentPanelUser
) -> Response:
    """The departments and the menu (admins change them, supervisors read them)."""
    require_supervisor(user)
    return await _page(request, runtime, user)


@router.post("/admin/departments")
async def create_department(
    request: Request,
    runtime: RuntimeDep,
    user: ActingPanelUser,
    name: Annotated[str, Form(max_length=_NAME_FIELD)] = "",
) -> Response:
    """Add a department, last in the menu, with the members ticked."""
    require_admin(user)
    typed = DepartmentForm(name=name, member_ids=await _ticked(request))
    try:
        body = DepartmentIn.model_validate({"name": name, "member_ids": typed.member_ids})
        async with runtime.db.tenant_session(user.identity.claims) as session:
            await service.create_department(session, user.identity, body)
    except (ValidationError, ZapcrmError) as failure:
        return await _refused(request, runtime, user, failure, department=typed)
    return _saved(runtime, user, "created")


@router.post("/admin/departments/menu")
async def save_menu(
    request: Request,
    runtime: RuntimeDep,
    user: ActingPanelUser,
    enabled: Annotated[str, Form(max_length=5)] = "",
    greeting: Annotated[str, Form(max_length=_GREETING_FIELD)] = "",
) -> Response:
    """Turn the menu on or off and set its greeting (on needs at least one department)."""
    require_admin(user)
    typed = MenuForm(enabled=enabled == "on", greeting=greeting)
    try:
        body = MenuIn(enabled=typed.enabled, greeting=greeting)
        async with runtime.db.tenant_session(user.identity.claims) as session:
            await service.save_menu(session, user.identity, body)
    except (ValidationError, ZapcrmError) as failure:
        return await _refused(request, runtime, user, failure, menu=typed)
    return _saved(runtime, user, "menu")


@router.post("/admin/departments/menu/preview")
async def menu_preview(
    runtime: RuntimeDep,
    user: ActingPanelUser,
    greeting: Annotated[str, Form(max_length=_GREETING_FIELD)] = "",
) -> Response:
    """The preview box for the greeting being typed (htmx, while the admin writes)."""
    require_admin(user)
    async with runtime.db.tenant_session(user.identity.claims) as session:
        departments = await service.list_departments(session, user.identity)
        company = await accounts_repository.get_company(session, user.identity.company_id)
    # Filled for the campaigns' sample person, as the campaign form previews its texts.
    shown = preview(greeting, company.name if company else "")
    return HTMLResponse(
        render_macro(
            "admin/departments.html", "menu_preview", shown, SAMPLE_NAME, _names(departments)
        )
    )


@router.post("/admin/departments/{department_id}")
async def update_department(
    department_id: uuid.UUID,
    request: Request,
    runtime: RuntimeDep,
    user: ActingPanelUser,
    name: Annotated[str, Form(max_length=_NAME_FIELD)] = "",
) -> Response:
    """Rename a department and replace its members with the ones ticked."""
    require_admin(user)
    typed = DepartmentForm(department_id, name, await _ticked(request))
    try:
        patch = DepartmentPatch.model_validate({"name": name, "member_ids": typed.member_ids})
        async with runtime.db.tenant_session(user.identity.claims) as session:
            await service.update_department(session, user.identity, department_id, patch)
    except (ValidationError, ZapcrmError) as failure:
        return await _refused(request, runtime, user, failure, department=typed)
    return _saved(runtime, user, "saved")


@router.post("/admin/departments/{department_id}/position")
async def move_department(
    department_id: uuid.UUID,
    runtime: RuntimeDep,
    user: ActingPanelUser,
    position: Annotated[int, Form(ge=1, le=MAX_DEPARTMENTS)],
) -> Response:
    """Give a department another number in the menu (the up and down buttons)."""
    require_admin(user)
    async with runtime.db.tenant_session(user.identity.claims) as session:
        await service.update_department(
            session, user.identity, department_id, DepartmentPatch(position=position)
        )
    return _saved(runtime, user, f"moved#department-{department_id}")


@router.post("/admin/departments/{department_id}/delete")
async def delete_department(
    department_id: uuid.UUID, request: Request, runtime: RuntimeDep, user: ActingPanelUser
) -> Response:
    """Remove a department; its chats keep going with no department."""
    require_admin(user)
    async with runtime.db.tenant_session(user.identity.claims) as session:
        await service.delete_department(session, user.identity, department_id)
    saved = _saved(runtime, user, "deleted")
    # htmx (the button asks for confirmation through it) follows HX-Redirect; a plain form a 303.
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": saved.headers["location"]})
    return saved


def _saved(runtime: Runtime, user: PanelUser, ok: str) -> RedirectResponse:
    """After a change (committed): this process forgets the company's menu, so the next
    webhook reads the change (the others within seconds), and the page says what was done."""
    runtime.menu_rules.forget(user.identity.company_id)
    return RedirectResponse(f"{PAGE}?ok={ok}", status_code=303)


async def _ticked(request: Request) -> list[str]:
    """The members' checkboxes ticked in the posted form."""
    return [str(value) for value in (await request.form()).getlist("member_ids")]


async def _refused(
    request: Request,
    runtime: Runtime,
    user: PanelUser,
    failure: Exception,
    *,
    department: DepartmentForm | None = None,
    menu: MenuForm | None = None,
) -> Response:
    """The page again, the refused form as typed with its problems."""
    message, errors = form_errors(failure)
    for error in errors:
        # One message for the members' boxes, whichever of them was refused (`member_ids.3`).
        if error["field"].startswith("member_ids."):
            error["field"] = "member_ids"
    if department is not None:
        department.errors = errors
    if menu is not None:
        menu.errors = errors
    status_code = failure.status_code if isinstance(failure, ZapcrmError) else 422
    return await _page(
        request,
        runtime,
        user,
        department=department,
        menu=menu,
        error=message,
        status_code=status_code,
    )


async def _page(
    request: Request,
    runtime: Runtime,
    user: PanelUser,
    *,
    department: DepartmentForm | None = None,
    menu: MenuForm | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    async with runtime.db.tenant_session(user.identity.claims) as session:
        departments = await service.list_departments(session, user.identity)
        saved_menu = await service.get_menu(session, user.identity)
        profiles = await accounts_service.list_users(session, user.identity.company_id)
        company = await accounts_repository.get_company(session, user.identity.company_id)
    company_name = company.name if company else ""
    people = _people(profiles)
    menu_form = menu or MenuForm(enabled=saved_menu.enabled, greeting=saved_menu.greeting)
    new_form = department if department and department.department_id is None else None
    edited = department if department and department.department_id is not None else None
    context = user.page_context(
        request,
        "admin",
        section="departments",
        departments=departments,
        people=people,
        members={row.id: _members(row, people) for row in departments},
        new_form=new_form or DepartmentForm(),
        edited=edited,
        menu=saved_menu,
        menu_form=menu_form,
        typed_greeting=preview(menu_form.greeting, company_name),
        saved_greeting=preview(saved_menu.greeting, company_name),
        sample_name=SAMPLE_NAME,
        preview_names=_names(departments),
        max_departments=MAX_DEPARTMENTS,
        max_greeting=GREETING_MAX,
        max_name=NAME_MAX,
        max_tries=MENU_MAX_TRIES,
        error=error,
        notice=request.query_params.get("ok"),
    )
    return render("admin/departments.html", context, status_code=status_code)


def _people(profiles: Sequence[Profile]) -> list[Person]:
    """The company's users by name (an unnamed one by e-mail)."""
    people = [Person(p.id, p.display_name.strip() or p.email, p.active) for p in profiles]
    return sorted(people, key=lambda person: person.name.lower())


def _members(department: DepartmentOut, people: list[Person]) -> list[Person]:
    """A department's members by name."""
    ids = set(department.member_ids)
    return [person for person in people if person.id in ids]


def _names(departments: list[DepartmentOut]) -> list[str]:
    """The menu's options in order."""
    return [department.name for department in departments]
