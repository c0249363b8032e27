"""Task pages: create (from the page, a chat or a contact), overdue highlighted, complete and
reopen in place, the navigation badge, and nobody touching a task they may not see."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import text

from tests.conftest import Factory
from tests.evolution.harness import rows
from tests.web.conftest import Browser, new_company_chat, panel_login
from zapcrm.db import Database
from zapcrm.models import Role
from zapcrm.web.templating import render_macro


async def test_tasks_page_creates_highlights_overdue_and_completes_in_place(
    new_browser: Browser, factory: Factory, db: Database
) -> None:
    operator = await factory.user(await factory.company(), Role.OPERATOR)
    http = await new_browser()
    csrf = await panel_login(http, operator)
    yesterday = (datetime.now(ZoneInfo("America/Sao_Paulo")) - timedelta(days=1)).date()
    late = await http.post(
        "/panel/tasks",
        data={"csrf_token": csrf, "title": "Ligar para a Dona Cida <urgente>",
              "due_date": yesterday.isoformat(), "due_time": "09:30"},
    )  # fmt: skip
    assert late.status_code == 303
    later = await http.post(
        "/panel/tasks", data={"csrf_token": csrf, "title": "Mandar catálogo", "due_date": ""}
    )
    assert later.status_code == 303
    untitled = await http.post(
        "/panel/tasks", data={"title": "  "}, headers={"X-CSRF-Token": csrf, "HX-Request": "true"}
    )
    assert untitled.status_code == 422
    page = await http.get("/panel/tasks")
    assert page.status_code == 200
    assert "Ligar para a Dona Cida &lt;urgente&gt;" in page.text
    assert page.text.index("Dona Cida") < page.text.index("Mandar catálogo")  # overdue first
    assert 'class="task overdue"' in page.text
    assert f"{yesterday.strftime('%d/%m/%Y')} 09:30" in page.text  # in BRT, as typed
    badge = await http.get("/panel/tasks/badge")
    assert ">2</span>" in badge.text
    assert "badge-late" in badge.text
    task_id = (
        await rows(
            db,
            "select id from tasks where company_id = :c and title like 'Ligar%%'",
            c=operator.company_id,
        )
    )[0]["id"]
    done = await http.post(
        f"/panel/tasks/{task_id}/complete", headers={"X-CSRF-Token": csrf, "HX-Request": "true"}
    )
    assert done.status_code == 200
    assert 'class="task done"' in done.text
    assert done.headers["HX-Trigger"] == "tasks-changed"
    assert ">1</span>" in (await http.get("/panel/tasks/badge")).text
    stranger = await new_browser()
    other_csrf = await panel_login(stranger, await factory.user(operator.company_id, Role.OPERATOR))
    refused = await stranger.post(
        f"/panel/tasks/{task_id}/reopen", headers={"X-CSRF-Token": other_csrf}
    )
    assert refused.status_code == 404


async def test_a_task_from_a_chat_links_the_chat_and_its_contact_and_shows_on_home(
    new_browser: Browser, client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    chat = await new_company_chat(client, db, factory, text_body="preciso de orçamento")
    operator = await factory.user(chat.instance.company_id, Role.OPERATOR)
    http = await new_browser()
    csrf = await panel_login(http, operator)
    page = await http.get(f"/panel/inbox/{chat.conversation_id}")
    assert "Criar tarefa sobre esta conversa" in page.text
    created = await http.post(
        "/panel/tasks",
        data={"title": "Enviar orçamento", "conversation_id": str(chat.conversation_id),
              "assignee": "me"},
        headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
    )  # fmt: skip
    assert created.status_code == 200, created.text
    assert "Tarefa criada: Enviar orçamento" in created.text
    stored = await rows(
        db,
        "select conversation_id, contact_id, assignee_id from tasks"
        " where title = 'Enviar orçamento' and company_id = :c",
        c=chat.instance.company_id,
    )
    assert stored[0]["conversation_id"] == chat.conversation_id
    assert stored[0]["contact_id"] is not None
    assert stored[0]["assignee_id"] == operator.id
    home = await http.get("/panel/")
    assert "Enviar orçamento" in home.text
    assert f'href="/panel/inbox/{chat.conversation_id}"' in home.text


async def test_the_list_a_live_event_fetches_follows_the_page_filters_and_rls(
    new_browser: Browser, factory: Factory, db: Database
) -> None:
    company = await factory.company()
    operator = await factory.user(company, Role.OPERATOR)
    colleague = await factory.user(company, Role.OPERATOR)
    supervisor = await factory.user(company, Role.SUPERVISOR)
    boss = await new_browser()
    boss_csrf = await panel_login(boss, supervisor)
    for title, assignee in (("Para mim <b>", operator.id), ("Para o colega", colleague.id)):
        created = await boss.post(
            "/panel/tasks",
            data={"csrf_token": boss_csrf, "title": title, "assignee": str(assignee)},
        )
        assert created.status_code == 303
    http = await new_browser()
    await panel_login(http, operator)

    mine = await http.get("/panel/tasks/list", params={"scope": "mine", "status": "open"})
    assert mine.status_code == 200
    assert "Para mim &lt;b&gt;" in mine.text
    assert "Para o colega" not in mine.text
    peeking = await http.get("/panel/tasks/list", params={"scope": "all"})
    assert "Para o colega" not in peeking.text  # "all" is for supervisors: mine instead
    done = await http.get("/panel/tasks/list", params={"status": "done"})
    assert "Nenhuma tarefa aqui." in done.text
    everyone = await boss.get("/panel/tasks/list", params={"scope": "all"})
    assert "Para o colega" in everyone.text


async def test_every_page_has_one_live_stream_and_the_tasks_page_asks_for_task_lists(
    new_browser: Browser, factory: Factory
) -> None:
    http = await new_browser()
    await panel_login(http, await factory.user(await factory.company(), Role.SUPERVISOR))
    for path, stream in (
        ("/panel/", 'sse-connect="/panel/events?home=1"'),
        ("/panel/contacts", 'sse-connect="/panel/events"'),
        ("/panel/tasks", 'sse-connect="/panel/events?tasks=1"'),
        ("/panel/inbox", 'sse-connect="/panel/events?'),
    ):
        page = await http.get(path)
        assert page.status_code == 200, path
        assert page.text.count("sse-connect=") == 1, path
        assert stream in page.text, path
        assert 'id="task-badge-live"' in page.text, path
    tasks = await http.get("/panel/tasks")
    assert 'id="task-list"' in tasks.text
    assert 'id="task-filters"' in tasks.text


async def test_a_blank_title_comes_back_on_the_form_with_what_was_typed(
    new_browser: Browser, factory: Factory, db: Database
) -> None:
    operator = await factory.user(await factory.company(), Role.OPERATOR)
    http = await new_browser()
    csrf = await panel_login(http, operator)
    page = await http.get("/panel/tasks")
    # The browser itself refuses a title of only spaces (a `required` box takes them).
    assert 'name="title" required maxlength="200" pattern=".*\\S.*"' in page.text
    refused = await http.post(
        "/panel/tasks",
        data={"csrf_token": csrf, "title": "   ", "description": "Levar a <nota> fiscal",
              "due_date": "2030-05-06", "due_time": "09:15", "assignee": "team"},
    )  # fmt: skip
    assert refused.status_code == 422
    assert 'href="/panel/tasks" aria-current="page"' in refused.text  # the page, with its menu
    assert '<p class="field-error" id="title-error">dê um título à tarefa</p>' in refused.text
    assert 'aria-invalid="true" aria-describedby="title-error"' in refused.text
    assert ">Levar a &lt;nota&gt; fiscal</textarea>" in refused.text
    assert 'name="due_date" type="date" value="2030-05-06"' in refused.text
    assert 'name="due_time" type="time" value="09:15"' in refused.text
    assert '<option value="team" selected>Equipe (sem responsável)</option>' in refused.text
    bad_day = await http.post(
        "/panel/tasks", data={"csrf_token": csrf, "title": "Ligar", "due_date": "amanhã"}
    )
    assert bad_day.status_code == 422
    assert '<p class="field-error" id="due_date-error">data ou hora inválida</p>' in bad_day.text
    assert 'value="Ligar"' in bad_day.text
    assert await rows(db, "select id from tasks where company_id = :c", c=operator.company_id) == []
    # Fixed, it goes to the team's pool as chosen (an empty option value arrived as "me").
    fixed = await http.post(
        "/panel/tasks", data={"csrf_token": csrf, "title": "Ligar", "assignee": "team"}
    )
    assert fixed.status_code == 303
    stored = await rows(
        db, "select assignee_id from tasks where company_id = :c", c=operator.company_id
    )
    assert stored == [{"assignee_id": None}]


async def test_each_problem_of_a_new_task_comes_back_by_its_own_field_as_typed(
    new_browser: Browser, factory: Factory, db: Database
) -> None:
    company = await factory.company()
    operator = await factory.user(company, Role.OPERATOR)
    gone = await factory.user(company, Role.OPERATOR)
    http = await new_browser()
    csrf = await panel_login(http, operator)

    # A blank title and a bad day: both said, each by its field, nothing typed lost.
    both = await http.post(
        "/panel/tasks",
        data={"csrf_token": csrf, "title": " ", "description": "Levar a nota",
              "due_date": "amanhã", "due_time": "09:15", "assignee": "team"},
    )  # fmt: skip
    assert both.status_code == 422
    assert '<p class="field-error" id="title-error">dê um título à tarefa</p>' in both.text
    assert '<p class="field-error" id="due_date-error">data ou hora inválida</p>' in both.text
    assert 'role="alert"' not in both.text.split('id="task-list"')[1]  # no summary to repeat
    assert ">Levar a nota</textarea>" in both.text
    assert 'name="due_date" type="date" value="amanhã"' in both.text
    assert 'name="due_time" type="time" value="09:15"' in both.text

    # Too long: said by the field that is, with the limit (not a page of "invalid data").
    long = await http.post(
        "/panel/tasks",
        data={"csrf_token": csrf, "title": "Ligar " + "a" * 200, "description": "d" * 2001},
    )
    assert long.status_code == 422
    assert (
        '<p class="field-error" id="title-error">aceita no máximo 200 caracteres</p>' in long.text
    )
    assert (
        '<p class="field-error" id="description-error">aceita no máximo 2000 caracteres</p>'
        in long.text
    )
    assert 'aria-invalid="true" aria-describedby="description-error"' in long.text
    assert f'value="Ligar {"a" * 200}"' in long.text
    # 1000 lines of one letter fill the box's 2000 characters: the browser's CRLF counts once.
    lines = await http.post(
        "/panel/tasks",
        data={"csrf_token": csrf, "title": "Conferir a lista", "description": "a\r\n" * 1000},
    )
    assert lines.status_code == 303, lines.text
    (stored,) = await rows(db, "select description from tasks where title = 'Conferir a lista'")
    assert stored["description"] == "a\n" * 1000

    # A colleague deactivated since the page was opened: said by the assignee's box.
    await rows(db, "update profiles set active = false where id = :id returning id", id=gone.id)
    inactive = await http.post(
        "/panel/tasks",
        data={"csrf_token": csrf, "title": "Ligar", "description": "Antes das 10h",
              "assignee": str(gone.id)},
    )  # fmt: skip
    assert inactive.status_code == 422
    assert (
        '<p class="field-error" id="assignee-error">'
        "o responsável deve ser um usuário ativo da empresa</p>"
    ) in inactive.text
    assert 'aria-invalid="true" aria-describedby="assignee-error"' in inactive.text
    assert 'value="Ligar"' in inactive.text
    assert ">Antes das 10h</textarea>" in inactive.text
    unreadable = await http.post(
        "/panel/tasks", data={"csrf_token": csrf, "title": "Ligar", "assignee": "ninguém"}
    )
    assert unreadable.status_code == 422
    assert '<p class="field-error" id="assignee-error">identificador inválido</p>' in (
        unreadable.text
    )
    assert await rows(db, "select title from tasks where company_id = :c", c=company) == [
        {"title": "Conferir a lista"}
    ]  # only the one of 1000 lines

    # The small form of a chat has no fields to point at: its toast says the first reason.
    inline = await http.post(
        "/panel/tasks",
        data={"title": "", "due_date": "amanhã"},
        headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
    )
    assert inline.status_code == 422
    assert '<p class="toast toast-error">Dê um título à tarefa</p>' in inline.text


async def test_a_field_past_the_forms_own_limit_is_refused_before_reading_the_task(
    new_browser: Browser, factory: Factory, db: Database
) -> None:
    """Both task forms keep their own roomy limits (title 1000, due time 5 characters...):
    past them the request is refused as the panel's invalid data, nothing stored or changed."""
    company = await factory.company()
    operator = await factory.user(company, Role.OPERATOR)
    http = await new_browser()
    csrf = await panel_login(http, operator)
    htmx = {"X-CSRF-Token": csrf, "HX-Request": "true"}
    invalid = "Dados inválidos: confira os campos e tente de novo."

    created = await http.post("/panel/tasks", data={"csrf_token": csrf, "title": "Ligar"})
    assert created.status_code == 303, created.text
    [task] = await rows(db, "select id from tasks where company_id = :c", c=company)
    for data in ({"title": "a" * 1001}, {"title": "Ligar de novo", "due_time": "10:00:00"}):
        page = await http.post("/panel/tasks", data={"csrf_token": csrf} | data)
        assert page.status_code == 422
        assert invalid in page.text
        toast = await http.post("/panel/tasks", data=data, headers=htmx)
        assert toast.status_code == 422
        assert f'<p class="toast toast-error">{invalid}</p>' in toast.text
        edit = await http.post(f"/panel/tasks/{task['id']}/edit", data=data, headers=htmx)
        assert edit.status_code == 422
        assert f'<p class="toast toast-error">{invalid}</p>' in edit.text
    assert await rows(db, "select title from tasks where company_id = :c", c=company) == [
        {"title": "Ligar"}
    ]


def test_the_menu_badge_counts_in_words_that_agree_with_the_number() -> None:
    one = render_macro("tasks/_task.html", "nav_badge", 1, 1)
    assert 'title="1 tarefa aberta, 1 atrasada"' in one
    many = render_macro("tasks/_task.html", "nav_badge", 3, 2)
    assert 'title="3 tarefas abertas, 2 atrasadas"' in many
    assert 'title="3 tarefas abertas"' in render_macro("tasks/_task.html", "nav_badge", 3, 0)


async def test_the_edit_form_refuses_a_blank_title_clears_a_due_date_and_guards_deleting(
    new_browser: Browser, factory: Factory, db: Database
) -> None:
    """An operator may edit a task given to them, not delete what a supervisor created."""
    company = await factory.company()
    operator = await factory.user(company, Role.OPERATOR)
    supervisor = await factory.user(company, Role.SUPERVISOR)
    boss = await new_browser()
    boss_csrf = await panel_login(boss, supervisor)
    created = await boss.post(
        "/panel/tasks",
        data={"csrf_token": boss_csrf, "title": "Conferir estoque", "due_date": "2030-01-10",
              "due_time": "10:00", "assignee": str(operator.id)},
    )  # fmt: skip
    assert created.status_code == 303
    [task] = await rows(db, "select id from tasks where company_id = :c", c=company)
    http = await new_browser()
    csrf = await panel_login(http, operator)
    htmx = {"X-CSRF-Token": csrf, "HX-Request": "true"}
    form = await http.get(f"/panel/tasks/{task['id']}/edit")
    assert 'value="2030-01-10"' in form.text
    assert 'value="10:00"' in form.text
    assert "task-delete" not in form.text  # not theirs to delete
    blank = await http.post(
        f"/panel/tasks/{task['id']}/edit",
        data={"title": "  ", "due_date": "", "assignee": "me"},
        headers=htmx,
    )
    assert blank.status_code == 422
    assert blank.headers["HX-Retarget"] == "#toast"
    assert "Dê um título à tarefa" in blank.text
    saved = await http.post(
        f"/panel/tasks/{task['id']}/edit",
        data={"title": "Conferir estoque do Natal", "due_date": "", "assignee": "me",
              "description": "Prateleira 3\r\nDepósito"},
        headers=htmx,
    )  # fmt: skip
    assert saved.status_code == 200, saved.text
    assert saved.headers["HX-Trigger"] == "tasks-changed"
    assert "Conferir estoque do Natal" in saved.text
    [stored] = await rows(
        db, "select title, description, due_at from tasks where id = :id", id=task["id"]
    )
    assert stored == {
        "title": "Conferir estoque do Natal",
        "description": "Prateleira 3\nDepósito",
        "due_at": None,
    }
    refused = await http.post(f"/panel/tasks/{task['id']}/delete", headers=htmx)
    assert refused.status_code == 403
    assert "task-delete" in (await boss.get(f"/panel/tasks/{task['id']}/edit")).text
    deleted = await boss.post(
        f"/panel/tasks/{task['id']}/delete",
        headers={"X-CSRF-Token": boss_csrf, "HX-Request": "true"},
    )
    assert deleted.status_code == 200
    assert deleted.text == ""
    assert await rows(db, "select 1 from tasks where id = :id", id=task["id"]) == []


async def test_a_done_task_says_when_it_was_completed_on_the_companys_clock(
    new_browser: Browser, factory: Factory, db: Database
) -> None:
    operator = await factory.user(await factory.company(), Role.OPERATOR)
    http = await new_browser()
    csrf = await panel_login(http, operator)
    created = await http.post("/panel/tasks", data={"csrf_token": csrf, "title": "Ligar"})
    assert created.status_code == 303
    [task] = await rows(db, "select id from tasks where company_id = :c", c=operator.company_id)
    done = await http.post(
        f"/panel/tasks/{task['id']}/complete", headers={"X-CSRF-Token": csrf, "HX-Request": "true"}
    )
    now = datetime.now(ZoneInfo("America/Sao_Paulo"))
    assert f"concluída em {now.strftime('%d/%m')} às " in done.text  # the row swapped in
    async with db.service_session() as session:
        await session.execute(
            text("update tasks set completed_at = '2026-11-28 17:03:00+00' where id = :id"),
            {"id": task["id"]},
        )
    page = (await http.get("/panel/tasks", params={"status": "done"})).text
    # 17:03 UTC is 14:03 in São Paulo.
    assert '<time datetime="2026-11-28T17:03:00+00:00" class="completed muted">' in page
    assert "concluída em 28/11 às 14:03</time>" in page
    reopened = await http.post(
        f"/panel/tasks/{task['id']}/reopen", headers={"X-CSRF-Token": csrf, "HX-Request": "true"}
    )
    assert "concluída em" not in reopened.text


async def test_the_lists_reload_answers_204_while_it_still_holds_what_the_page_drew(
    new_browser: Browser, factory: Factory
) -> None:
    """The stream's first reload sends the fingerprint the page drew (data-shown): nothing to
    swap while it is current, the whole list once a task changed."""
    operator = await factory.user(await factory.company(), Role.OPERATOR)
    http = await new_browser()
    csrf = await panel_login(http, operator)
    await http.post("/panel/tasks", data={"csrf_token": csrf, "title": "Ligar"})
    page = (await http.get("/panel/tasks")).text
    found = re.search(r'<ul class="tasks plain" id="task-list" data-shown="([0-9a-f]{64})">', page)
    assert found, page
    filters = {"scope": "mine", "status": "open", "due": ""}
    same = await http.get("/panel/tasks/list", params=filters | {"shown": found.group(1)})
    assert same.status_code == 204
    assert same.text == ""
    other = await http.get("/panel/tasks/list", params=filters | {"shown": "0" * 64})
    assert other.status_code == 200
    assert "Ligar" in other.text
    await http.post("/panel/tasks", data={"csrf_token": csrf, "title": "Mandar catálogo"})
    changed = await http.get("/panel/tasks/list", params=filters | {"shown": found.group(1)})
    assert changed.status_code == 200
    assert "Mandar catálogo" in changed.text
    done = await http.get("/panel/tasks/list", params=filters | {"status": "done"})
    assert "Nenhuma tarefa aqui." in done.text  # another filter, another list
