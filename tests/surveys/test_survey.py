"""The satisfaction survey: asked when a person closes a chat they served, answered with a
1-5 grade that rates the cycle without reopening the chat; anything else is a message."""

from __future__ import annotations

import time as clock
import uuid
from typing import Any

import httpx
from sqlalchemy import text

from tests.conftest import Factory, login
from tests.departments.test_menu import company_with_menu
from tests.evolution.harness import Instance, new_instance, post, rows, text_message
from tests.web.conftest import panel_login
from zapcrm.db import Database
from zapcrm.models import Role
from zapcrm.surveys.answer import rating_in

QUESTION = "{{primeiro_nome|Cliente}}, que nota você dá ao nosso atendimento? De 1 a 5."
THANKS = "Obrigado, {{primeiro_nome|cliente}}!"


async def company_with_survey(
    client: httpx.AsyncClient, db: Database, factory: Factory, *, enabled: bool = True
) -> tuple[Instance, dict[str, str]]:
    """A company whose admin switched the survey on (or saved it off); the admin's headers."""
    instance = await new_instance(db, factory, name=f"loja-{uuid.uuid4().hex[:8]}")
    admin = await login(client, await factory.user(instance.company_id, Role.ADMIN))
    body = {"enabled": enabled, "question": QUESTION, "thanks": THANKS}
    saved = await client.put("/api/survey", json=body, headers=admin)
    assert saved.status_code == 200, saved.text
    return instance, admin


async def writes(
    client: httpx.AsyncClient, instance: Instance, words: str, key_id: str | None = None
) -> None:
    message = text_message(
        key_id or f"IN-{uuid.uuid4().hex[:12]}", text_body=words, timestamp=int(clock.time())
    )
    response = await post(client, instance.envelope(message))
    assert response.status_code == 200, response.text


async def chat(db: Database, instance: Instance) -> dict[str, Any]:
    [row] = await rows(
        db,
        "select id, status, unread_count from evolution_conversations where instance_id = :i",
        i=instance.instance_id,
    )
    return row


async def cycles(db: Database, instance: Instance) -> list[dict[str, Any]]:
    return await rows(
        db,
        "select cc.survey_sent_at, cc.rating, cc.rating_message_id, cc.closed_at"
        " from conversation_cycles cc join evolution_conversations c on c.id = cc.conversation_id"
        " where c.instance_id = :i order by cc.created_at",
        i=instance.instance_id,
    )


async def automatic(db: Database, instance: Instance, mark: str) -> list[str]:
    found = await rows(
        db,
        "select body from evolution_messages where instance_id = :i and from_me"
        " and message_payload ? :mark order by created_at",
        i=instance.instance_id,
        mark=mark,
    )
    return [row["body"] for row in found]


async def serve_and_close(
    client: httpx.AsyncClient, db: Database, instance: Instance, admin: dict[str, str]
) -> uuid.UUID:
    """The customer writes, a person answers and closes the chat."""
    await writes(client, instance, "Meu pedido chegou quebrado")
    conversation_id = (await chat(db, instance))["id"]
    answered = await client.post(
        f"/api/conversations/{conversation_id}/messages",
        json={"text": "Vamos trocar hoje mesmo!"},
        headers=admin,
    )
    assert answered.status_code == 202, answered.text
    await close(client, conversation_id, admin)
    return uuid.UUID(str(conversation_id))


async def close(client: httpx.AsyncClient, conversation_id: object, admin: dict[str, str]) -> None:
    closed = await client.post(
        f"/api/conversations/{conversation_id}/status", json={"status": "closed"}, headers=admin
    )
    assert closed.status_code == 200, closed.text


async def test_a_grade_rates_the_served_cycle_and_leaves_the_chat_closed(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance, admin = await company_with_survey(client, db, factory)
    await serve_and_close(client, db, instance, admin)
    unread = (await chat(db, instance))["unread_count"]
    assert await automatic(db, instance, "survey_request") == [
        "Maria, que nota você dá ao nosso atendimento? De 1 a 5."
    ]
    [asked] = await cycles(db, instance)
    assert asked["survey_sent_at"] == asked["closed_at"]

    await writes(client, instance, "5 ⭐", key_id="IN-GRADE-5")
    await writes(client, instance, "5 ⭐", key_id="IN-GRADE-5")  # Evolution delivered it twice
    [rated] = await cycles(db, instance)
    assert rated["rating"] == 5
    [grade] = await rows(
        db,
        "select id, message_payload from evolution_messages where key_id = 'IN-GRADE-5'",
    )
    assert rated["rating_message_id"] == grade["id"]
    assert grade["message_payload"]["survey_rating"] == 5
    assert await automatic(db, instance, "survey_reply") == ["Obrigado, Maria!"]
    # Nobody has to close it again: still closed, nothing unread, no new cycle.
    state = await chat(db, instance)
    assert (state["status"], state["unread_count"]) == ("closed", unread)


async def test_anything_but_a_grade_reopens_and_a_grade_after_it_counts_until_someone_answers(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance, admin = await company_with_survey(client, db, factory)
    conversation_id = await serve_and_close(client, db, instance, admin)
    await writes(client, instance, "Não, obrigado!")
    reopened = await chat(db, instance)
    assert reopened["status"] == "open"
    # The grade that follows still rates the service it answers; the chat is not rung again.
    await writes(client, instance, "4")
    first, second = await cycles(db, instance)
    assert (first["rating"], second["rating"]) == (4, None)
    assert await automatic(db, instance, "survey_reply") == ["Obrigado, Maria!"]
    assert (await chat(db, instance))["unread_count"] == reopened["unread_count"]
    # Rated once: once someone answers the customer, a number is just a message.
    answered = await client.post(
        f"/api/conversations/{conversation_id}/messages", json={"text": "De nada!"}, headers=admin
    )
    assert answered.status_code == 202
    await writes(client, instance, "5")
    assert [cycle["rating"] for cycle in await cycles(db, instance)] == [4, None]
    assert len(await automatic(db, instance, "survey_reply")) == 1


async def asked_then_reopened_into_the_menu(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> tuple[Instance, dict[str, str], uuid.UUID]:
    """A company with the menu (Vendas, Suporte Técnico) and the survey: Maria chose Vendas,
    was served and asked, then wrote "Obrigado!", which reopened the chat into the menu."""
    instance, departments, admin = await company_with_menu(client, db, factory)
    body = {"enabled": True, "question": QUESTION, "thanks": THANKS}
    assert (await client.put("/api/survey", json=body, headers=admin)).status_code == 200
    await writes(client, instance, "Oi")
    await writes(client, instance, "1")  # Vendas
    conversation_id = (await chat(db, instance))["id"]
    answered = await client.post(
        f"/api/conversations/{conversation_id}/messages", json={"text": "Olá!"}, headers=admin
    )
    assert answered.status_code == 202
    await close(client, conversation_id, admin)
    await writes(client, instance, "Obrigado!")  # reopens: the menu asks again
    return instance, departments, conversation_id


async def department_of(db: Database, conversation_id: uuid.UUID) -> str | None:
    [row] = await rows(
        db, "select department_id from evolution_conversations where id = :id", id=conversation_id
    )
    return str(row["department_id"]) if row["department_id"] else None


async def test_a_number_the_waiting_menu_lists_is_its_choice_and_any_other_grade_counts(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance, departments, chat_id = await asked_then_reopened_into_the_menu(client, db, factory)
    await writes(client, instance, "2")  # the menu lists a 2: its choice, not a grade
    assert await department_of(db, chat_id) == departments["Suporte Técnico"]
    assert [cycle["rating"] for cycle in await cycles(db, instance)] == [None, None]
    await writes(client, instance, "5")  # the menu has its answer: now a grade
    assert [cycle["rating"] for cycle in await cycles(db, instance)] == [5, None]

    instance, departments, chat_id = await asked_then_reopened_into_the_menu(client, db, factory)
    await writes(client, instance, "4")  # no 4 in the menu: the grade it reads as
    assert [cycle["rating"] for cycle in await cycles(db, instance)] == [4, None]
    assert await department_of(db, chat_id) is None  # the menu still waits for its choice
    await writes(client, instance, "1")
    assert await department_of(db, chat_id) == departments["Vendas"]


async def test_a_grade_after_a_day_is_an_ordinary_message(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance, admin = await company_with_survey(client, db, factory)
    await serve_and_close(client, db, instance, admin)
    async with db.service_session() as session:
        await session.execute(
            text(
                "update conversation_cycles set survey_sent_at = survey_sent_at"
                " - interval '25 hours' where company_id = :c"
            ),
            {"c": instance.company_id},
        )
    await writes(client, instance, "5")
    assert (await chat(db, instance))["status"] == "open"
    assert (await cycles(db, instance))[0]["rating"] is None
    assert await automatic(db, instance, "survey_reply") == []


async def test_no_question_when_the_survey_is_off_or_nobody_answered(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    off, admin = await company_with_survey(client, db, factory, enabled=False)
    await serve_and_close(client, db, off, admin)
    assert await automatic(db, off, "survey_request") == []
    await writes(client, off, "5")
    assert (await chat(db, off))["status"] == "open"  # no survey: the chat is back

    unserved, admin = await company_with_survey(client, db, factory)
    await writes(client, unserved, "promoção imperdível!!!")
    await close(client, (await chat(db, unserved))["id"], admin)
    assert await automatic(db, unserved, "survey_request") == []


async def test_the_survey_api_reads_for_everyone_and_saves_for_admins(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    company_id = await factory.company()
    operator = await login(client, await factory.user(company_id, Role.OPERATOR))
    admin = await login(client, await factory.user(company_id, Role.ADMIN))
    default = await client.get("/api/survey", headers=operator)
    assert default.status_code == 200
    assert default.json()["enabled"] is False
    assert "*1*" in default.json()["question"]
    body = {"enabled": True, "question": "Nota de 1 a 5?", "thanks": "Valeu!"}
    refused = await client.put("/api/survey", json=body, headers=operator)
    assert refused.status_code == 403
    typo = await client.put(
        "/api/survey", json={**body, "thanks": "Valeu, {{nomee}}!"}, headers=admin
    )
    assert typo.status_code == 422
    assert "nomee" in typo.text
    saved = await client.put("/api/survey", json=body, headers=admin)
    assert saved.status_code == 200, saved.text
    assert (await client.get("/api/survey", headers=operator)).json()["thanks"] == "Valeu!"
    [audit] = await rows(
        db,
        "select action from audit_log where company_id = :c and action like 'survey.%'",
        c=company_id,
    )
    assert audit["action"] == "survey.changed"


def test_grades_are_read_from_numbers_stars_and_scales() -> None:
    grades = {
        "5": 5, " 4 ": 4, "nota 3": 3, "Nota: 2!": 2, "1.": 1, "5/5": 5, "4 de 5": 4,
        "5 ⭐": 5, "⭐⭐⭐": 3, "★★★★★": 5, "⭐️⭐️⭐️⭐️": 4, "5 estrelas": 5, "3 - razoável": 3,
    }  # fmt: skip
    for answer, grade in grades.items():
        assert rating_in(answer) == grade, answer
    refused: tuple[str | None, ...] = (
        "", None, "0", "6", "10", "1 ou 2", "quero 2 bolos", "⭐" * 6, "obrigado",
        "5" + " muito bom" * 5,
    )  # fmt: skip
    for refusal in refused:
        assert rating_in(refusal) is None, refusal


async def test_an_operators_close_asks_too(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    # Under RLS as an operator: the question, its outbox entries and the cycle's mark.
    instance, _admin = await company_with_survey(client, db, factory)
    operator = await login(client, await factory.user(instance.company_id, Role.OPERATOR))
    await serve_and_close(client, db, instance, operator)
    assert len(await automatic(db, instance, "survey_request")) == 1
    [asked] = await cycles(db, instance)
    assert asked["survey_sent_at"] is not None


async def test_the_grade_is_in_the_customers_timeline(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance, admin = await company_with_survey(client, db, factory)
    conversation_id = await serve_and_close(client, db, instance, admin)
    await writes(client, instance, "nota 2")
    [chat_row] = await rows(
        db, "select contact_id from evolution_conversations where id = :id", id=conversation_id
    )
    history = await client.get(f"/api/contacts/{chat_row['contact_id']}/history", headers=admin)
    assert history.status_code == 200, history.text
    [rated] = [item for item in history.json()["items"] if item["kind"] == "survey.rated"]
    assert rated["details"]["rating"] == 2
    assert rated["conversation_id"] == str(conversation_id)
    # The contact page shows it with its stars, linked to the chat.
    await panel_login(client, await factory.user(instance.company_id, Role.SUPERVISOR))
    page = await client.get(f"/panel/contacts/{chat_row['contact_id']}")
    assert page.status_code == 200
    assert "Avaliou o atendimento" in page.text
    link = f'href="/panel/inbox/{conversation_id}" aria-label="Avaliação do atendimento: nota 2'
    assert link in page.text
    assert "★★☆☆☆" in page.text


async def test_a_customer_is_asked_at_most_once_a_day(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance, admin = await company_with_survey(client, db, factory)
    await serve_and_close(client, db, instance, admin)
    await writes(client, instance, "5")
    # Back the same afternoon with another question, served and closed again: not asked.
    await serve_and_close(client, db, instance, admin)
    assert len(await automatic(db, instance, "survey_request")) == 1
    # A day after the last question, the next served close asks again.
    async with db.service_session() as session:
        await session.execute(
            text(
                "update conversation_cycles set survey_sent_at = survey_sent_at"
                " - interval '25 hours' where company_id = :c and survey_sent_at is not null"
            ),
            {"c": instance.company_id},
        )
    await serve_and_close(client, db, instance, admin)
    assert len(await automatic(db, instance, "survey_request")) == 2
