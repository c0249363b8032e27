"""Notices of customers writing: which live events become a `notify` for which reader; and which
page hears what: rows and bubbles only the inbox, changed contacts only a funnel board."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from zapcrm.auth.identity import Identity
from zapcrm.messaging.schemas import ContactBrief, ConversationOut, MessageOut, NoteOut
from zapcrm.models import Role
from zapcrm.web.dependencies import PanelUser
from zapcrm.web.i18n import use_locale
from zapcrm.web.pages.events import PageView
from zapcrm.web.sessions import PanelSession
from zapcrm.web.views import Agents, InboxFilter

COMPANY = uuid.uuid4()


def _view(role: Role, agents: Agents | None = None) -> tuple[PageView, uuid.UUID]:
    user_id = uuid.uuid4()
    identity = Identity(
        user_id=user_id,
        company_id=COMPANY,
        role=role,
        email="ana@example.com",
        display_name="Ana",
        session_id=None,
        claims={},
    )
    user = PanelUser(identity, PanelSession("s", "a", "r", 0.0, "csrf"))
    agents = agents or Agents(by_id={}, active=[])
    return PageView(user, InboxFilter(), None, agents), user_id


def _event(
    *,
    assignee: uuid.UUID | None = None,
    from_me: bool = False,
    kind: str = "message.created",
    age: timedelta = timedelta(seconds=3),
    group: bool = False,
    body: str | None = "O pedido <b>4821</b> chegou?",
    message_type: str = "text",
    details: dict[str, Any] | None = None,
    department: uuid.UUID | None = None,
) -> dict[str, Any]:
    conversation_id = uuid.uuid4()
    now = datetime.now(UTC)
    conversation = ConversationOut(
        id=conversation_id,
        instance_id=uuid.uuid4(),
        remote_jid="120363000000000000@g.us" if group else "5511987650001@s.whatsapp.net",
        is_group=group,
        subject="Família" if group else None,
        status="open",
        assignee_id=assignee,
        contact=None if group else ContactBrief(id=uuid.uuid4(), name="Dona Rosa", phone_e164=None),
        last_message_id=None,
        last_message_preview="depois",
        last_message_at=now,
        last_message_status=None,
        last_message_from_me=from_me,
        unread_count=1,
        updated_at=now,
        department_id=department,
    )
    message = MessageOut(
        id=uuid.uuid4(),
        conversation_id=conversation_id,
        key_id="K1",
        from_me=from_me,
        sender_jid=None,
        push_name="Tio Zé" if group else "Rosa",
        type=message_type,
        body=body,
        status=None,
        message_timestamp=now - age,
        quoted_key_id=None,
        media=None,
        reactions={},
        edited_at=None,
        deleted_at=None,
        error_detail=None,
        details=details or {},
    )
    return {
        "type": kind,
        "conversation_id": str(conversation_id),
        "assignee_id": str(assignee) if assignee else None,
        "data": {
            "message": message.model_dump(mode="json"),
            "conversation": conversation.model_dump(mode="json"),
        },
    }


def test_a_customer_writing_in_a_waiting_or_own_chat_is_announced() -> None:
    view, me = _view(Role.OPERATOR)
    event = _event()
    notice = view.notification(event)
    assert notice is not None
    assert orjson.loads(notice) == {
        "conversation_id": event["conversation_id"],
        "title": "Dona Rosa",
        "body": "O pedido <b>4821</b> chegou?",  # plain text: the browser shows it as such
        "url": f"/panel/inbox/{event['conversation_id']}",
    }
    assert view.notification(_event(assignee=me)) is not None


def test_our_own_messages_colleagues_chats_history_and_other_events_are_not() -> None:
    view, _me = _view(Role.OPERATOR)
    assert view.notification(_event(from_me=True)) is None
    assert view.notification(_event(kind="message.updated")) is None
    assert view.notification(_event(age=timedelta(minutes=6))) is None  # history arriving now
    assert view.notification({"type": "message.created", "data": {}}) is None
    # A supervisor sees colleagues' chats, but is not rung for each of their messages.
    supervisor, _boss = _view(Role.SUPERVISOR)
    assert supervisor.notification(_event(assignee=uuid.uuid4())) is None
    assert supervisor.notification(_event()) is not None


def test_groups_name_the_sender_and_media_use_their_label() -> None:
    view, _me = _view(Role.OPERATOR)
    group = orjson.loads(view.notification(_event(group=True, body="bom dia")) or "{}")
    assert (group["title"], group["body"]) == ("Família", "Tio Zé: bom dia")
    photo = _event(body=None, message_type="image", details={"caption": "a nota"})
    assert orjson.loads(view.notification(photo) or "{}")["body"] == "📷 Foto: a nota"


def test_a_chat_someone_else_gives_the_reader_is_announced() -> None:
    colleague = uuid.uuid4()
    view, me = _view(Role.OPERATOR, Agents(by_id={colleague: "Bia"}, active=[]))

    def transfer(to: uuid.UUID | None, by: object) -> dict[str, Any]:
        event = _event(assignee=to)
        event["type"] = "conversation.updated"
        del event["data"]["message"]
        event["data"]["assigned_by"] = by
        return event

    notice = orjson.loads(view.notification(transfer(me, str(colleague))) or "{}")
    assert (notice["title"], notice["body"]) == ("Dona Rosa", "Bia passou esta conversa para você")
    assert view.notification(transfer(me, str(me))) is None  # "Assumir": my own doing
    assert view.notification(transfer(colleague, str(me))) is None  # given away by me
    assert view.notification(transfer(me, None)) is None  # a status change, say
    assert view.notification(transfer(me, "not-an-id")) is None


def test_a_chat_the_distributor_gives_the_reader_is_announced_with_its_last_words() -> None:
    view, me = _view(Role.OPERATOR)

    def distributed(to: uuid.UUID | None) -> dict[str, Any]:
        event = _event(assignee=to)
        event["type"] = "conversation.updated"
        del event["data"]["message"]
        event["data"]["distributed"] = True
        return event

    notice = orjson.loads(view.notification(distributed(me)) or "{}")
    assert (notice["title"], notice["body"]) == ("Dona Rosa", "Nova conversa para você: depois")
    assert view.notification(distributed(uuid.uuid4())) is None  # a colleague's
    with use_locale("en"):
        english = orjson.loads(view.notification(distributed(me)) or "{}")
    assert english["body"] == "New chat for you: depois"


def test_a_task_someone_else_gives_the_reader_is_announced() -> None:
    colleague = uuid.uuid4()
    view, me = _view(Role.OPERATOR, Agents(by_id={colleague: "Bia"}, active=[]))

    def task(
        kind: str, to: uuid.UUID | None, by: uuid.UUID, before: uuid.UUID | None = None
    ) -> Any:
        data = {"task_id": "t1", "assignee_id": str(to) if to else None, "actor_id": str(by),
                "previous_assignee_id": str(before) if before else None}  # fmt: skip
        return view.notification({"type": kind, "data": data})

    notice = orjson.loads(task("task.created", me, colleague) or "{}")
    assert notice == {
        "conversation_id": "task-t1",
        "title": "Nova tarefa para você",
        "body": "Bia passou uma tarefa para você",
        "url": "/panel/tasks",
    }
    assert task("task.updated", me, colleague, before=colleague) is not None  # passed to me
    assert task("task.updated", me, colleague, before=me) is None  # edited, still mine
    assert task("task.created", me, me) is None  # my own
    assert task("task.created", colleague, me) is None  # someone else's
    assert task("task.completed", me, colleague) is None


def test_a_colleague_naming_the_reader_in_a_note_is_announced() -> None:
    view, me = _view(Role.OPERATOR)
    colleague = uuid.uuid4()

    def noted(author: uuid.UUID, mentioned: list[str] | None) -> dict[str, Any]:
        conversation_id = uuid.uuid4()
        data: dict[str, Any] = {
            "note": NoteOut(
                id=uuid.uuid4(),
                conversation_id=conversation_id,
                author_id=author,
                author_name="Bia <b>B</b>",
                body="Pode ver o pedido\n#4821?",
                created_at=datetime.now(UTC),
            ).model_dump(mode="json")
        }
        if mentioned is not None:
            data["mentioned"] = mentioned
        return {"type": "note.created", "conversation_id": str(conversation_id), "data": data}

    event = noted(colleague, [str(me)])
    notice = orjson.loads(view.notification(event) or "{}")
    assert notice == {
        "conversation_id": event["conversation_id"],
        "title": "Bia <b>B</b> mencionou você numa nota",  # text: the browser shows it as such
        "body": "Pode ver o pedido #4821?",
        "url": f"/panel/inbox/{event['conversation_id']}",
    }
    assert view.notification(noted(colleague, [str(uuid.uuid4())])) is None  # someone else
    assert view.notification(noted(colleague, None)) is None  # nobody named
    assert view.notification(noted(me, [str(me)])) is None  # my own note


def test_a_waiting_chat_of_another_department_does_not_ring_its_non_members() -> None:
    view, me = _view(Role.OPERATOR)
    sales, support = uuid.uuid4(), uuid.uuid4()
    view.filter = replace(view.filter, scope=frozenset({sales}))
    assert view.notification(_event(department=sales)) is not None
    assert view.notification(_event()) is not None  # in no department: anyone's
    assert view.notification(_event(department=support)) is None
    # Once it is theirs, whatever its department, its customer is heard.
    assert view.notification(_event(department=support, assignee=me)) is not None


def test_a_survey_grade_rings_its_agent_and_supervisors_only_when_low() -> None:
    agent = uuid.uuid4()
    agents = Agents(by_id={agent: "Olga"}, active=[(agent, "Olga")])
    view, me = _view(Role.OPERATOR, agents)
    five = _event(assignee=me, body="5", details={"survey_rating": 5})
    assert orjson.loads(view.notification(five) or "{}")["body"] == (
        "Avaliou seu atendimento: ★★★★★ (nota 5 de 5)"
    )
    # A grade in someone else's chat, or in nobody's, is no message waiting for the reader.
    assert view.notification(_event(assignee=agent, body="1", details={"survey_rating": 1})) is None
    assert view.notification(_event(body="5", details={"survey_rating": 5})) is None
    supervisor, _boss = _view(Role.SUPERVISOR, agents)
    low = _event(assignee=agent, body="1", details={"survey_rating": 1})
    assert orjson.loads(supervisor.notification(low) or "{}")["body"] == (
        "Nota baixa: ★☆☆☆☆ (nota 1 de 5) no atendimento de Olga"
    )
    good = _event(assignee=agent, body="4", details={"survey_rating": 4})
    assert supervisor.notification(good) is None


def test_a_chat_a_colleague_sends_to_the_readers_department_is_announced() -> None:
    colleague = uuid.uuid4()
    view, me = _view(Role.SUPERVISOR, Agents(by_id={colleague: "Bia"}, active=[]))
    finance, sales = uuid.uuid4(), uuid.uuid4()
    view.member_of = frozenset({finance})

    def routed(department: uuid.UUID, by: uuid.UUID, to: uuid.UUID | None = None) -> dict[str, Any]:
        event = _event(department=department, assignee=to)
        event["type"] = "conversation.updated"
        del event["data"]["message"]
        event["data"]["conversation"]["department_name"] = "Financeiro <1>"
        event["data"]["routed_by"] = str(by)
        return event

    notice = orjson.loads(view.notification(routed(finance, colleague)) or "{}")
    assert (notice["title"], notice["body"]) == (
        "Dona Rosa",
        "Bia enviou ao setor Financeiro <1>: depois",  # plain text: the browser shows it as such
    )
    assert view.notification(routed(sales, colleague)) is None  # not the reader's department
    assert view.notification(routed(finance, me)) is None  # the reader's own doing
    assert view.notification(routed(finance, colleague, to=uuid.uuid4())) is None  # taken already
    with use_locale("en"):
        english = orjson.loads(view.notification(routed(finance, colleague)) or "{}")
    assert english["body"] == "Bia sent to the Financeiro <1> department: depois"


def test_a_funnel_board_hears_of_changed_contacts_and_of_imports_that_wrote_some() -> None:
    view, _ = _view(Role.OPERATOR)
    board = PageView(view.user, InboxFilter(), None, view.agents, funnel=True)
    contact_id = uuid.uuid4()
    changed = {"type": "contact.updated", "data": {"contact_id": str(contact_id)}}
    assert f'data-contact="{contact_id}"' in board.fragments(changed)
    assert view.fragments(changed) == ""  # other pages have no board
    hostile = {"type": "contact.updated", "data": {"contact_id": '"><script>'}}
    assert board.fragments(hostile) == ""

    def finished(status: str, created: int) -> dict[str, object]:
        data = {"job_id": str(uuid.uuid4()), "status": status, "created": created, "updated": 0}
        return {"type": "import.progress", "data": data}

    bulk = {"type": "contact.bulk", "data": {"contact_id": None, "bulk": True}}
    assert 'data-reload="1"' in board.fragments(bulk)  # many at once: the board reads itself
    assert 'data-reload="1"' in board.fragments(finished("completed", 3))
    assert 'data-reload="1"' in board.fragments(finished("cancelled", 1))  # chunks it wrote
    assert board.fragments(finished("running", 3)) == ""
    assert board.fragments(finished("completed", 0)) == ""  # every row skipped or failed


def test_only_the_inbox_is_drawn_rows_and_bubbles() -> None:
    view, _ = _view(Role.SUPERVISOR)
    event = _event()
    conversation_id = event["data"]["conversation"]["id"]
    inbox = PageView(view.user, InboxFilter(), uuid.UUID(conversation_id), view.agents, inbox=True)
    assert f'id="conv-{conversation_id}"' in inbox.fragments(event)
    # Any other page (home, contacts, reports...) would drop them: they are not even drawn.
    assert view.fragments(event) == ""
    home = PageView(view.user, InboxFilter(), None, view.agents, home=True)
    assert home.fragments(event) == '<div id="home-live" hidden hx-swap-oob="true"></div>'
