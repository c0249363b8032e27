"""Task pages ("tarefas pendentes"): my tasks with overdue highlighted, the create form (also
from a conversation or a contact), complete and reopen, edit or delete in the row, and the
navigation badge.

Changes are announced live (tasks/live.py); open pages then fetch the badge and the list
again (`/panel/tasks/badge`, `/panel/tasks/list`), under the reader's own RLS. The list the
page drew carries a fingerprint of its tasks (`data-shown`): the reload asked when the live
stream first opens sends it back and gets 204 when nothing changed, so it replaces no row a
click may be landing on."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, TypeVar
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.dependencies import RuntimeDep
from zapcrm.exceptions import ValidationFailed
from zapcrm.outbox import OutboxItem
from zapcrm.runtime import Runtime
from zapcrm.tasks import live
from zapcrm.tasks import service as tasks_service
from zapcrm.tasks.schemas import DueFilter, TaskIn, TaskOut, TaskScope, TaskStatus, TaskUpdate
from zapcrm.transactions import in_tenant_transaction
from zapcrm.web.dependencies import ActingPanelUser, CurrentPanelUser, PanelUser
from zapcrm.web.form_errors import form_errors
from zapcrm.web.i18n import N_, translate
from zapcrm.web.templating import company_zone, error_toast, render, render_macro
from zapcrm.web.views import Agents

router = APIRouter()

PAGE_SIZE = 50
DUE_FILTERS: tuple[DueFilter, ...] = ("overdue", "today", "upcoming")


def _scope(value: str | None, may_see_all: bool) -> TaskScope:
    if value == "created":
        return "created"
    if value == "all" and may_see_all:
        return "all"
    return "mine"


@router.get("/tasks")
async def tasks_page(
    request: Request,
    runtime: RuntimeDep,
    user: CurrentPanelUser,
    scope: Annotated[str | None, Query(max_length=10)] = None,
    status: Annotated[str | None, Query(max_length=10)] = None,
    due: Annotated[str | None, Query(max_length=10)] = None,
    cursor: Annotated[str | None, Query(max_length=300)] = None,
) -> Response:
    """My tasks (or the ones I created, or all for supervisors), overdue first."""
    return await _page(request, runtime, user, scope=scope, status=status, due=due, cursor=cursor)


async def _page(
    request: Request,
    runtime: Runtime,
    user: PanelUser,
    *,
    scope: str | None = None,
    status: str | None = None,
    due: str | None = None,
    cursor: str | None = None,
    values: dict[str, str] | None = None,
    refused: RefusedTask | None = None,
) -> Response:
    """The page; after a refused new task, with what was typed and each reason by its field."""
    chosen_scope = _scope(scope, user.is_supervisor)
    chosen_status: TaskStatus = "done" if status == "done" else "open"
    chosen_due = next((item for item in DUE_FILTERS if item == due), None)
    async with runtime.db.tenant_session(user.identity.claims) as session:
        page = await tasks_service.list_tasks(
            session,
            user.identity,
            scope=chosen_scope,
            status=chosen_status,
            due=chosen_due,
            cursor=cursor,
            limit=PAGE_SIZE,
        )
        agents = await Agents.load(session, user.identity)
    context = user.page_context(
        request,
        "tasks",
        page=page,
        scope=chosen_scope,
        status=chosen_status,
        due=chosen_due or "",
        agents=agents,
        shown=_fingerprint(page.items),
        notice=request.query_params.get("ok"),
        values=values or {},
        error=refused.summary if refused else None,
        errors=refused.errors if refused else [],
    )
    return render("tasks/page.html", context, status_code=refused.status_code if refused else 200)


@router.get("/tasks/list")
async def task_list(
    runtime: RuntimeDep,
    user: CurrentPanelUser,
    scope: Annotated[str | None, Query(max_length=10)] = None,
    status: Annotated[str | None, Query(max_length=10)] = None,
    due: Annotated[str | None, Query(max_length=10)] = None,
    shown: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """The first page of the list again, with the page's filters (a live event asked for it);
    204 when it holds exactly the tasks of `shown` (the fingerprint of the list the page drew),
    so a list already current is not swapped under a click."""
    async with runtime.db.tenant_session(user.identity.claims) as session:
        page = await tasks_service.list_tasks(
            session,
            user.identity,
            scope=_scope(scope, user.is_supervisor),
            status="done" if status == "done" else "open",
            due=next((item for item in DUE_FILTERS if item == due), None),
            limit=PAGE_SIZE,
        )
    if shown is not None and shown == _fingerprint(page.items):
        return Response(status_code=204)
    return HTMLResponse(render_macro("tasks/_task.html", "task_items", page.items, company_zone()))


def _fingerprint(items: Sequence[TaskOut]) -> str:
    """What a list shows, in short: the same tasks in the same state give the same text (an
    overdue task's flag included, as the row shows it)."""
    digest = hashlib.sha256()
    for task in items:
        digest.update(task.model_dump_json().encode())
    return digest.hexdigest()


@router.get("/tasks/badge")
async def badge(runtime: RuntimeDep, user: CurrentPanelUser) -> Response:
    """The navigation's count of my open tasks (overdue ones make it red)."""
    async with runtime.db.tenant_session(user.identity.claims) as session:
        counts = await tasks_service.count_open(session, user.identity)
    return HTMLResponse(render_macro("tasks/_task.html", "nav_badge", counts.open, counts.overdue))


# The create form's inputs by the fields of TaskIn (and of the service's errors) they fill.
_INPUTS = {
    "title": "title",
    "description": "description",
    "due_at": "due_date",
    "due_date": "due_date",
    "assignee_id": "assignee",
}
# The inputs top to bottom, so reasons are listed (and a toast picks one) as the form reads.
_FORM_ORDER = ("title", "due_date", "assignee", "description")


class RefusedTask(Exception):
    """A new task refused: each reason by the input it is about (translated), and a summary
    for the reasons about none of them (links the form carries hidden)."""

    def __init__(self, errors: list[dict[str, str]], status_code: int = 422) -> None:
        by_input = [
            {"field": _INPUTS[item["field"]], "message": item["message"]}
            for item in errors
            if item["field"] in _INPUTS
        ]
        self.errors = sorted(by_input, key=lambda item: _FORM_ORDER.index(item["field"]))
        others = [item["message"] for item in errors if item["field"] not in _INPUTS]
        self.summary = "; ".join(others) or None
        # A toast has no fields to point at: it says the first reason.
        self.first = self.errors[0]["message"] if self.errors else others[0]
        self.status_code = status_code
        super().__init__(self.first)

    @classmethod
    def of(cls, failure: ValidationFailed) -> RefusedTask:
        """The service's refusal (an inactive assignee...), its reasons by their fields."""
        summary, errors = form_errors(failure)
        return cls(errors or [{"field": "", "message": summary}], failure.status_code)


def _due_at(day: str, hour: str) -> datetime | None:
    """A due moment typed as a date and a time in the company's zone (BRT by default)."""
    if not day:
        return None
    try:
        moment = datetime.fromisoformat(f"{day}T{hour or '18:00'}")
    except ValueError:
        raise ValidationFailed.on_field("due_date", N_("data ou hora inválida")) from None
    return moment.replace(tzinfo=ZoneInfo(company_zone()))


class TaskForm(BaseModel):
    """What both task forms send, as typed: the title, details, due moment and assignee."""

    # Roomier than TaskIn's limits, so a text too long comes back by its field, as typed.
    title: str = Field("", max_length=1000)
    description: str = Field("", max_length=8000)
    due_date: str = Field("", max_length=10)
    due_time: str = Field("", max_length=5)
    assignee: str = Field("me", max_length=40)


class NewTaskForm(TaskForm):
    """The create form: also the chat or contact it is written from (hidden inputs)."""

    contact_id: str = Field("", max_length=40)
    conversation_id: str = Field("", max_length=40)


_Form = TypeVar("_Form", bound=BaseModel)


def _form_fields(form: TaskForm) -> tuple[dict[str, object], list[dict[str, str]]]:
    """What both task forms hold (title, details, due moment), and the due moment's problem."""
    problems: list[dict[str, str]] = []
    # Browsers send a line break as CRLF: counted as one, as the box counted it while typed.
    fields: dict[str, object] = {
        "title": form.title,
        "description": form.description.replace("\r\n", "\n"),
    }
    try:
        fields["due_at"] = _due_at(form.due_date, form.due_time)
    except ValidationFailed as failure:
        problems += form_errors(failure)[1]
    return fields, problems


def _validated(
    model: type[_Form], fields: dict[str, object], problems: list[dict[str, str]]
) -> _Form:
    """`model` of a form's fields; RefusedTask says every problem, each by its field."""
    try:
        task = model.model_validate(fields)
    except ValidationError as failure:
        for item in form_errors(failure)[1]:
            if item["field"] == "title" and not str(fields["title"]).strip():
                # Blank is the title's common problem: say what to do, not "1 character".
                item = {"field": "title", "message": translate(N_("dê um título à tarefa"))}
            problems.append(item)
    if problems:
        raise RefusedTask(problems)
    return task


def _task_in(form: NewTaskForm) -> TaskIn:
    """The task the create form describes; RefusedTask says every problem, each by its field."""
    fields, problems = _form_fields(form)
    # Only links actually given: a chat's task then also links the chat's contact. Ids stay
    # text here so TaskIn says which one is unreadable.
    if form.contact_id:
        fields["contact_id"] = form.contact_id
    if form.conversation_id:
        fields["conversation_id"] = form.conversation_id
    # "team": nobody, the team's pool ("" cannot say it: FastAPI reads an empty field as absent).
    if form.assignee == "team":
        fields["assignee_id"] = None
    elif form.assignee != "me":
        fields["assignee_id"] = form.assignee
    return _validated(TaskIn, fields, problems)


@router.post("/tasks")
async def create_task(
    request: Request,
    runtime: RuntimeDep,
    user: ActingPanelUser,
    form: Annotated[NewTaskForm, Form()],
) -> Response:
    """Create a task; from a chat or a contact page it answers with a toast, else it reloads
    (or shows the form again as typed, with each reason by its field)."""
    values = form.model_dump(include=set(TaskForm.model_fields))
    try:
        body = _task_in(form)

        async def work(session: AsyncSession) -> tuple[TaskOut, list[OutboxItem]]:
            return await live.create_task(session, user.identity, body)

        task = await in_tenant_transaction(runtime, user.identity, work)
    except (RefusedTask, ValidationFailed) as failure:
        refused = failure if isinstance(failure, RefusedTask) else RefusedTask.of(failure)
        if request.headers.get("hx-request"):
            # The small forms of chats and contact pages say the first reason in a toast.
            return error_toast(refused.first, refused.status_code)
        return await _page(request, runtime, user, values=values, refused=refused)
    if request.headers.get("hx-request"):
        response = render(
            "_toast.html",
            {"message": translate(N_("Tarefa criada: {title}", title=task.title)), "kind": "ok"},
        )
        response.headers["HX-Trigger"] = "tasks-changed"
        return response
    return RedirectResponse("/panel/tasks?ok=created", status_code=303)


@router.post("/tasks/{task_id}/complete")
async def complete(task_id: uuid.UUID, runtime: RuntimeDep, user: ActingPanelUser) -> Response:
    """Mark done; the row is swapped in place."""

    async def work(session: AsyncSession) -> tuple[TaskOut, list[OutboxItem]]:
        return await live.complete_task(session, user.identity, task_id)

    return _row(await in_tenant_transaction(runtime, user.identity, work))


@router.post("/tasks/{task_id}/reopen")
async def reopen(task_id: uuid.UUID, runtime: RuntimeDep, user: ActingPanelUser) -> Response:
    """Back to open."""

    async def work(session: AsyncSession) -> tuple[TaskOut, list[OutboxItem]]:
        return await live.reopen_task(session, user.identity, task_id)

    return _row(await in_tenant_transaction(runtime, user.identity, work))


@router.get("/tasks/{task_id}")
async def task_row(task_id: uuid.UUID, runtime: RuntimeDep, user: CurrentPanelUser) -> Response:
    """The task's row as it stands (the edit form's "Cancelar")."""
    async with runtime.db.tenant_session(user.identity.claims) as session:
        task = await tasks_service.get_task(session, user.identity, task_id)
    return HTMLResponse(render_macro("tasks/_task.html", "task_row", task, company_zone()))


@router.get("/tasks/{task_id}/edit")
async def edit_form(task_id: uuid.UUID, runtime: RuntimeDep, user: CurrentPanelUser) -> Response:
    """The row as a form: title, due date, assignee and details, and Excluir for whoever may."""
    async with runtime.db.tenant_session(user.identity.claims) as session:
        task = await tasks_service.get_task(session, user.identity, task_id)
        agents = await Agents.load(session, user.identity)
    may_delete = user.is_supervisor or task.created_by == user.identity.user_id
    return HTMLResponse(
        render_macro(
            "tasks/_task.html",
            "edit_row",
            task,
            agents,
            user.identity.user_id,
            may_delete,
            company_zone(),
        )
    )


def _task_update(form: TaskForm, me: uuid.UUID) -> TaskUpdate:
    """The changes the edit form describes (an empty date clears the due date); RefusedTask
    says every problem, each by its field."""
    fields, problems = _form_fields(form)
    fields["assignee_id"] = {"me": me, "team": None}.get(form.assignee, form.assignee)
    return _validated(TaskUpdate, fields, problems)


@router.post("/tasks/{task_id}/edit")
async def update(
    task_id: uuid.UUID,
    runtime: RuntimeDep,
    user: ActingPanelUser,
    form: Annotated[TaskForm, Form()],
) -> Response:
    """Save the edit form; the row comes back as it now stands, a refusal as a toast."""
    try:
        patch = _task_update(form, user.identity.user_id)
    except RefusedTask as refused:
        return error_toast(refused.first, refused.status_code)

    async def work(session: AsyncSession) -> tuple[TaskOut, list[OutboxItem]]:
        return await live.update_task(session, user.identity, task_id, patch)

    return _row(await in_tenant_transaction(runtime, user.identity, work))


@router.post("/tasks/{task_id}/delete")
async def delete(task_id: uuid.UUID, runtime: RuntimeDep, user: ActingPanelUser) -> Response:
    """Delete the task (its creator, or a supervisor); its row goes away."""

    async def work(session: AsyncSession) -> tuple[None, list[OutboxItem]]:
        return await live.delete_task(session, user.identity, task_id)

    await in_tenant_transaction(runtime, user.identity, work)
    response = HTMLResponse("")
    response.headers["HX-Trigger"] = "tasks-changed"
    return response


def _row(task: object) -> Response:
    response = HTMLResponse(render_macro("tasks/_task.html", "task_row", task, company_zone()))
    response.headers["HX-Trigger"] = "tasks-changed"
    return response
