"""The panel's live stream: company events turned into htmx out-of-band swaps for one page.

The page opens `/panel/events` saying what it shows (`inbox=1` with its list filter and open
conversation, `home=1`, `tasks=1`, `funnel=1`, an import, the instances); each event the reader
may see (the same `visible_to` rule as the API's stream, mirroring RLS) becomes HTML for that
page only: on the inbox, the conversation's row moved to the top of the list or removed from
it, the chat header refreshed, a message bubble appended or replaced; elsewhere the tasks
badge and list fetched again, a board's changed cards, an import's progress. The browser only
applies the fragments. A customer's new message in a chat that is the reader's or
waiting for someone also comes as a `notify` event (JSON), which panel.js turns into a sound,
a desktop notification and a count in the tab's title while the reader looks elsewhere.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import ValidationError

from zapcrm.db import Database
from zapcrm.departments import service as departments_service
from zapcrm.dependencies import RuntimeDep
from zapcrm.distribution import presence
from zapcrm.exceptions import Unauthorized
from zapcrm.kit.ids import uuid_or_none
from zapcrm.logging import get_logger
from zapcrm.messaging import realtime
from zapcrm.messaging.labels import preview_of
from zapcrm.messaging.schemas import ConversationOut, MessageOut, NoteOut
from zapcrm.messaging.service import inbox
from zapcrm.runtime import Runtime
from zapcrm.tasks import live as tasks_live
from zapcrm.web.dependencies import CurrentPanelUser, InboxFilterDep, PanelUser, session_store
from zapcrm.web.i18n import N_, translate
from zapcrm.web.templating import company_zone, conversation_title, render_macro
from zapcrm.web.views import Agents, InboxFilter

log = get_logger(__name__)
router = APIRouter()
M = TypeVar("M", ConversationOut, MessageOut, NoteOut)

KEEPALIVE_SECONDS = 15.0
# Assignee names change rarely and a logout or deactivation must end open streams: both are
# checked again now and then rather than on every event.
RECHECK_SECONDS = 60.0
FINISHED = frozenset({"completed", "failed", "cancelled"})
# Older messages arriving now are history (a phone reconnecting, a sync), not someone waiting.
NOTIFY_WITHIN = timedelta(minutes=5)
# What tells a funnel board to read itself again whole (funnel.js).
_BOARD_RELOAD = '<div id="funnel-live" hidden hx-swap-oob="true" data-reload="1"></div>'
# A satisfaction grade this low is worth a supervisor's follow-up.
LOW_GRADE = 2
# Names and subjects whose typo verdict one stream keeps (PageView.similar).
MAX_JUDGED = 1000


class PageView:
    """What one open page shows, and the fragments that keep it current."""

    def __init__(
        self,
        user: PanelUser,
        flt: InboxFilter,
        conversation_id: uuid.UUID | None,
        agents: Agents,
        import_id: uuid.UUID | None = None,
        instances: bool = False,
        tasks: bool = False,
        home: bool = False,
        member_of: frozenset[uuid.UUID] = frozenset(),
        funnel: bool = False,
        inbox: bool = False,
    ) -> None:
        self.user = user
        self.filter = flt
        self.conversation_id = conversation_id
        self.agents = agents
        self.import_id = import_id
        self.instances = instances
        self.tasks = tasks
        self.home = home
        self.funnel = funnel
        # The inbox shows the list and the chat: the only page that conversation rows, chat
        # headers, bubbles and notes are drawn for (every other page would only drop them).
        self.inbox = inbox
        # The departments the reader works in, whatever their role (told of chats sent there).
        self.member_of = member_of
        # Postgres's verdicts on names and subjects the list's search may find only through a
        # typo (InboxFilter._found says why it asks): the search never changes for a stream.
        self.similar: dict[str, bool] = {}

    async def judge_typos(self, db: Database, event: Mapping[str, Any]) -> None:
        """Before `fragments`: ask Postgres whether the list's search finds the event's chat by
        a name or subject that may hold a searched word only with a typo (InboxFilter._found
        says why Python does not tell), unless it was asked already."""
        if not self.inbox or not self.filter.q:
            return
        conversation = _model(ConversationOut, (event.get("data") or {}).get("conversation"))
        if conversation is None:
            return
        asked = self.filter.typo_questions(conversation, self.user.identity.user_id)
        if not (texts := [text for text in asked if text not in self.similar]):
            return
        async with db.tenant_session(self.user.identity.claims) as session:
            verdicts = await inbox.search_finds(session, self.filter.q, texts)
        if len(self.similar) + len(verdicts) > MAX_JUDGED:
            self.similar.clear()  # a long day of new names on one stream: start again
        self.similar.update(verdicts)

    def fragments(self, event: Mapping[str, Any]) -> str:
        """The out-of-band swaps an event causes on this page ("" when none)."""
        html = self._page_fragments(event)
        if self.home and self._touches_home(event):
            # Home's sections are reloaded by the page (coalesced in panel.js), under the
            # reader's own permissions, rather than drawn from the event.
            html += '<div id="home-live" hidden hx-swap-oob="true"></div>'
        return html

    def notification(self, event: Mapping[str, Any]) -> str | None:
        """The `notify` event (JSON) for a customer's new message in a chat that is the
        reader's or has nobody yet, or for a chat someone else (or the distributor) gave the
        reader; None for anything else. Supervisors are not told of every message in their
        colleagues' chats."""
        kind = event.get("type")
        data = event.get("data") or {}
        me = self.user.identity.user_id
        if kind in ("task.created", "task.updated"):
            return self._task_notice(kind, data)
        if kind in ("note.created", "note.updated"):
            return self._mention_notice(data)
        if (grade := _survey_grade(kind, data)) is not None:
            return self._grade_notice(event, data, grade)
        # Every reader runs this for every event: the models are read only for a notice. The
        # event's own assignee_id is the chat's (messaging/jobs.py publishes it from the same
        # snapshot), so who is concerned is decided before any model is read.
        by = uuid_or_none(data.get("assigned_by"))
        distributed = data.get("distributed") is True
        if kind == "conversation.updated" and "routed_by" in data:
            return self._routed_notice(event, data)
        if kind == "conversation.updated":
            given = distributed or (by is not None and by != me)
            if not given or event.get("assignee_id") != str(me):
                return None
        elif kind != "message.created" or event.get("assignee_id") not in (None, str(me)):
            return None
        elif not isinstance(data.get("message"), Mapping) or data["message"].get("from_me"):
            return None  # our own sends, automatic replies included
        conversation = _model(ConversationOut, data.get("conversation"))
        if conversation is None:
            return None
        if self.filter.outside_scope(conversation):
            return None  # another department's customer: its members hear of it
        if kind == "conversation.updated" and distributed:
            body = translate(
                N_(
                    "Nova conversa para você: {preview}",
                    preview=conversation.last_message_preview or "",
                )
            )
            return _notice(conversation, body)
        if kind == "conversation.updated":
            name = self.agents.name(by)
            body = translate(N_("{name} passou esta conversa para você", name=name))
            return _notice(conversation, body)
        message = _model(MessageOut, data.get("message"))
        if message is None:
            return None
        if datetime.now(UTC) - message.message_timestamp > NOTIFY_WITHIN:
            return None
        caption = message.details.get("caption")
        body = preview_of(message.type, message.body, caption if isinstance(caption, str) else None)
        if conversation.is_group and message.push_name:
            body = f"{message.push_name}: {body}"
        return _notice(conversation, body)

    def _routed_notice(self, event: Mapping[str, Any], data: Mapping[str, Any]) -> str | None:
        """A colleague sent a chat to one of the reader's departments ("Enviar ao setor"): it
        waits there for its members."""
        by = uuid_or_none(data.get("routed_by"))
        if by is None or by == self.user.identity.user_id or event.get("assignee_id"):
            return None
        conversation = _model(ConversationOut, data.get("conversation"))
        if conversation is None or conversation.department_id not in self.member_of:
            return None
        body = translate(
            N_(
                "{name} enviou ao setor {department}: {preview}",
                name=self.agents.name(by) or "",
                department=conversation.department_name or "",
                preview=conversation.last_message_preview or "",
            )
        )
        return _notice(conversation, body)

    def _grade_notice(
        self, event: Mapping[str, Any], data: Mapping[str, Any], grade: int
    ) -> str | None:
        """A customer graded a closed chat in the satisfaction survey: its agent hears how
        they did; supervisors hear of a low grade in anyone's chat, to follow it up. Nobody
        else: a grade is not a message waiting for an answer."""
        mine = event.get("assignee_id") == str(self.user.identity.user_id)
        if not mine and not (self.user.is_supervisor and grade <= LOW_GRADE):
            return None
        conversation = _model(ConversationOut, data.get("conversation"))
        if conversation is None:
            return None
        stars = "★" * grade + "☆" * (5 - grade)
        if mine:
            body = N_(
                "Avaliou seu atendimento: {stars} (nota {grade} de 5)", stars=stars, grade=grade
            )
        else:
            body = N_(
                "Nota baixa: {stars} (nota {grade} de 5) no atendimento de {name}",
                stars=stars,
                grade=grade,
                name=self.agents.name(conversation.assignee_id) or translate(N_("ninguém")),
            )
        return _notice(conversation, translate(body))

    def _mention_notice(self, data: Mapping[str, Any]) -> str | None:
        """A colleague named the reader with "@" in a note of a chat the reader may see (the
        stream already left out the others)."""
        mentioned = data.get("mentioned")
        if not isinstance(mentioned, list) or str(self.user.identity.user_id) not in mentioned:
            return None
        note = _model(NoteOut, data.get("note"))
        if note is None or note.author_id == self.user.identity.user_id:
            return None
        author = note.author_name or translate(N_("Um colega"))
        notice = {
            "conversation_id": str(note.conversation_id),
            "title": translate(N_("{name} mencionou você numa nota", name=author)),
            "body": preview_of("text", note.body, None),
            "url": f"/panel/inbox/{note.conversation_id}",
        }
        return orjson.dumps(notice).decode()

    def _task_notice(self, kind: str, data: Mapping[str, Any]) -> str | None:
        """A task someone else created for the reader or passed to them. Task events carry ids
        only (tasks/live.py), so the notice names who, not what: the tasks page says what."""
        me = str(self.user.identity.user_id)
        by = uuid_or_none(data.get("actor_id"))
        if data.get("assignee_id") != me or by is None or str(by) == me:
            return None
        if kind == "task.updated" and data.get("previous_assignee_id") == me:
            return None  # edited, still mine: nothing new to hear about
        notice = {
            "conversation_id": f"task-{data.get('task_id')}",  # never the chat on screen
            "title": translate(N_("Nova tarefa para você")),
            "body": translate(N_("{name} passou uma tarefa para você", name=self.agents.name(by))),
            "url": "/panel/tasks",
        }
        return orjson.dumps(notice).decode()

    def _contact_changed(self, data: Mapping[str, Any]) -> str:
        """A funnel board is told which contact changed; funnel.js gathers a moment's worth and
        reads those cards again under the reader's own permissions and narrowing."""
        if data.get("bulk") is True:
            return _BOARD_RELOAD  # many people at once: the board reads itself again
        contact_id = uuid_or_none(data.get("contact_id"))
        if contact_id is None:
            return ""
        return f'<div id="funnel-live" hidden hx-swap-oob="true" data-contact="{contact_id}"></div>'

    def _import_finished(self, data: Mapping[str, Any]) -> str:
        """An import that wrote contacts has ended (done, failed or cancelled after some
        chunks): a funnel board reads itself again, as it announces no person one by one."""
        wrote = _count(data.get("created")) + _count(data.get("updated"))
        if data.get("status") not in FINISHED or not wrote:
            return ""
        return _BOARD_RELOAD

    def _touches_home(self, event: Mapping[str, Any]) -> bool:
        kind = str(event.get("type", ""))
        if kind.startswith("task."):
            return tasks_live.may_see(self.user.identity, event)
        # Chats and their messages (the stream already left out what the reader may not see).
        return kind.startswith(("message.", "conversation."))

    def _page_fragments(self, event: Mapping[str, Any]) -> str:
        data = event.get("data") or {}
        if str(event.get("type", "")).startswith("contact."):
            return self._contact_changed(data) if self.funnel else ""
        if event.get("type") == "import.progress" and self.funnel:
            return self._import_finished(data)
        if event.get("type") == "import.progress":
            return self._import_progress(data)
        if str(event.get("type", "")).startswith("task."):
            return self._task_changed(event)
        if event.get("type") == "instance.state" and self.instances:
            return render_macro(
                "admin/_instance.html",
                "instance_state",
                str(data.get("instance_id", "")),
                str(data.get("state", "")),
                oob=True,
            )
        return self._chat_fragments(event, data) if self.inbox else ""

    def _chat_fragments(self, event: Mapping[str, Any], data: Mapping[str, Any]) -> str:
        """The inbox's rows and the open chat's header, bubbles and notes an event changes."""
        parts: list[str] = []
        conversation = _model(ConversationOut, data.get("conversation"))
        if conversation is not None:
            parts.append(self._row(conversation))
            if conversation.id == self.conversation_id:
                parts.append(
                    render_macro(
                        "inbox/_chat.html",
                        "chat_header",
                        conversation,
                        self.agents,
                        self.user.identity.user_id,
                        self.user.session.csrf_token,
                        oob=True,
                        back=self.filter.query(),
                    )
                )
        note = _model(NoteOut, data.get("note"))
        if note is not None and note.conversation_id == self.conversation_id:
            parts.append(
                render_macro(
                    "inbox/_chat.html",
                    "live_note",
                    note,
                    company_zone(),
                    self.user.identity,
                    created=event.get("type") == "note.created",
                )
            )
        note_id = data.get("note_id")
        if (
            event.get("type") == "note.deleted"
            and isinstance(note_id, str)
            and event.get("conversation_id") == str(self.conversation_id)
        ):
            parts.append(render_macro("inbox/_chat.html", "note_gone", note_id))
        message = _model(MessageOut, data.get("message"))
        folded = data.get("folded_message_id")
        if (
            isinstance(folded, str)
            and message is not None
            and message.conversation_id == self.conversation_id
        ):
            # The gateway's echo of our send got its own row before the send's answer, then was
            # folded into ours: its bubble goes (the page may have drawn it already). Only in
            # the open chat: another chat has no bubble to remove (htmx: oobErrorNoTarget).
            parts.append(render_macro("inbox/_chat.html", "gone", folded))
        if message is not None and message.conversation_id == self.conversation_id:
            parts.append(
                render_macro(
                    "inbox/_chat.html",
                    "live_bubble",
                    message,
                    str(event.get("type", "")).endswith(".created"),
                    company_zone(),
                )
            )
        return "".join(parts)

    def _task_changed(self, event: Mapping[str, Any]) -> str:
        """Loaders that fetch the badge (and, on the tasks page, the list) again."""
        identity = self.user.identity
        if not tasks_live.may_see(identity, event):
            return ""
        parts = []
        if tasks_live.counts_for(identity, event):
            parts.append(render_macro("tasks/_task.html", "badge_loader"))
        # The reader's own changes are already on their page (a completed task keeps its
        # "Reabrir" button there instead of leaving the open list at once).
        if self.tasks and not tasks_live.by_reader(identity, event):
            parts.append(render_macro("tasks/_task.html", "list_loader"))
        return "".join(parts)

    def _import_progress(self, data: Mapping[str, Any]) -> str:
        if self.import_id is None or data.get("job_id") != str(self.import_id):
            return ""
        status = str(data.get("status", ""))
        failed = _count(data.get("failed"))
        warned = _count(data.get("warned"))
        # By name: the macro has a dozen parameters, and a new one added in the middle would
        # shift every positional value after it without an error (the page would show the
        # speed as a count).
        return render_macro(
            "imports/_progress.html",
            "progress",
            job_id=self.import_id,
            status=status,
            total=_count(data.get("total_rows")),
            processed=_count(data.get("processed_rows")),
            created=_count(data.get("created")),
            updated=_count(data.get("updated")),
            skipped=_count(data.get("skipped")),
            failed=failed,
            warned=warned,
            rows_per_second=data.get("rows_per_second"),
            eta_seconds=data.get("eta_seconds"),
            # The final event is sent after the failed-rows file is written.
            has_failed_file=status in FINISHED and failed + warned > 0,
            error=_text(data.get("error")),
            oob=True,
        )

    def _row(self, conversation: ConversationOut) -> str:
        admitted = self.filter.admits(conversation, self.user.identity.user_id, self.similar)
        return render_macro(
            "inbox/_list.html",
            "live_row",
            conversation,
            self.filter,
            self.agents,
            self.conversation_id,
            admitted,
            company_zone(),
        )


def _survey_grade(kind: object, data: Mapping[str, Any]) -> int | None:
    """The grade a new customer message gave the satisfaction survey (surveys/answer.py marks
    it in the message's details), or None."""
    message = data.get("message")
    if kind != "message.created" or not isinstance(message, Mapping) or message.get("from_me"):
        return None
    grade = (message.get("details") or {}).get("survey_rating")
    return grade if isinstance(grade, int) and 1 <= grade <= 5 else None


def _as_text(ids: Iterable[uuid.UUID]) -> frozenset[str]:
    return frozenset(str(one) for one in ids)


def _row_gone(gone: Mapping[str, Any]) -> str:
    version = (gone.get("data") or {}).get("version")
    return render_macro(
        "inbox/_list.html",
        "row_gone",
        str(gone["conversation_id"]),
        version if isinstance(version, int) else 0,
    )


def _notice(conversation: ConversationOut, body: str) -> str:
    notice = {
        "conversation_id": str(conversation.id),
        "title": conversation_title(conversation),
        "body": body,
        "url": f"/panel/inbox/{conversation.id}",
    }
    return orjson.dumps(notice).decode()


def _count(value: object) -> int:
    return value if isinstance(value, int) else 0


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _model(model: type[M], value: object) -> M | None:
    if not isinstance(value, Mapping):
        return None
    try:
        return model.model_validate(value)
    except ValidationError:
        log.warning("panel.event_unreadable", model=model.__name__)
        return None


async def _agents(runtime: Runtime, user: PanelUser) -> Agents:
    async with runtime.db.tenant_session(user.identity.claims) as session:
        return await Agents.load(session, user.identity)


async def _reader(
    runtime: Runtime, user: PanelUser, flt: InboxFilter
) -> tuple[Agents, InboxFilter, frozenset[uuid.UUID]]:
    """The names the page shows, its filter with the departments whose waiting chats the
    reader takes, and the departments they work in, in one transaction (read when the stream
    opens and now and then after)."""
    async with runtime.db.tenant_session(user.identity.claims) as session:
        agents = await Agents.load(session, user.identity)
        scope = await inbox.waiting_scope(session, user.identity)
        member_of = await departments_service.member_of(session, user.identity)
        region = await inbox.phone_region(session, user.identity, flt.q)
    return agents, replace(flt, scope=frozenset(scope), region=region), frozenset(member_of)


async def _still_signed_in(runtime: Runtime, user: PanelUser) -> bool:
    session = await session_store(runtime).load(user.session.session_id)
    if session is None:
        return False
    if session.needs_refresh(time.time()):
        return True  # the page's next request refreshes it; the session itself still stands
    try:
        await runtime.auth.identify(session.access_token)
    except Unauthorized:
        return False
    return True


@router.get("/events", response_class=EventSourceResponse)
async def events(
    request: Request,
    runtime: RuntimeDep,
    user: CurrentPanelUser,
    flt: InboxFilterDep,
    conversation: uuid.UUID | None = None,
    import_id: Annotated[uuid.UUID | None, Query(alias="import")] = None,
    instances: bool = False,
    tasks: bool = False,
    home: bool = False,
    funnel: bool = False,
    inbox: bool = False,
) -> AsyncIterator[ServerSentEvent]:
    """Live updates for the page that opened the stream."""
    agents, scoped, member_of = await _reader(runtime, user, flt)
    view = PageView(
        user,
        scoped,
        conversation,
        agents,
        import_id,
        instances=instances,
        tasks=tasks,
        home=home,
        member_of=member_of,
        funnel=funnel,
        inbox=inbox,
    )
    # The events carry ids as text: compared as such, converted once per read of the scope.
    waiting_in = _as_text(scoped.scope)
    loop = asyncio.get_running_loop()
    checked_at = loop.time()
    # A chat assigned to someone this page has no name for (a colleague added since it
    # opened) loads the names at once: once per such id, so a stray id cannot loop on it.
    unknown_agents: set[str] = set()
    queue = await runtime.realtime.subscribe(user.identity.company_id)
    company_id, user_id = user.identity.company_id, user.identity.user_id
    # An open stream is the panel open: the distributor gives chats only to people present.
    await presence.mark_present(runtime.redis, company_id, user_id)
    present_at = loop.time()
    try:
        yield ServerSentEvent(event="ready", raw_data="")
        while not await request.is_disconnected():
            if loop.time() - present_at > presence.PRESENCE_REFRESH:
                await presence.mark_present(runtime.redis, company_id, user_id)
                present_at = loop.time()
            try:
                event = await asyncio.wait_for(queue.get(), timeout=KEEPALIVE_SECONDS)
            except TimeoutError:
                yield ServerSentEvent(comment="keepalive")
                continue
            if realtime.is_reset(event):
                # Events may have been lost: the browser reconnects at once (retry) and the
                # page reads again what it shows when its stream opens (panel.js sseOpen).
                yield ServerSentEvent(comment="reset", retry=realtime.RECONNECT_MS)
                break
            if loop.time() - checked_at > RECHECK_SECONDS:
                if not await _still_signed_in(runtime, user):
                    break
                view.agents, view.filter, view.member_of = await _reader(runtime, user, flt)
                waiting_in = _as_text(view.filter.scope)
                checked_at = loop.time()
            if not realtime.visible_to(user.identity, event, waiting_in):
                if view.inbox and (gone := realtime.hidden(event)):
                    # Out of the reader's sight now (taken by a colleague, sent to another
                    # department): its row goes, nothing of it is shown.
                    yield ServerSentEvent(event="panel", raw_data=_row_gone(gone))
                continue
            assignee = event.get("assignee_id")
            if assignee and assignee not in unknown_agents and not view.agents.knows(assignee):
                unknown_agents.add(assignee)
                view.agents = await _agents(runtime, user)
            await view.judge_typos(runtime.db, event)
            html = view.fragments(event)
            if html:
                yield ServerSentEvent(event="panel", raw_data=html)
            notice = view.notification(event)
            if notice:
                yield ServerSentEvent(event="notify", raw_data=notice)
    finally:
        await runtime.realtime.unsubscribe(user.identity.company_id, queue)
