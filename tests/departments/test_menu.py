"""The departments' WhatsApp menu: asked once per cycle, answered by number or name, routing
the chat; never in a chat someone has, never for backlog, never when off."""

from __future__ import annotations

import time as clock
import uuid
from datetime import timedelta
from typing import Any

import httpx

from tests.conftest import Factory, login
from tests.evolution.harness import Instance, new_instance, post, rows, text_message
from zapcrm.db import Database
from zapcrm.departments.menu import MenuRule, Option
from zapcrm.models import Role

GREETING = "Olá, {{primeiro_nome|cliente}}! Com quem você quer falar?"
# Maria's first name comes from her WhatsApp profile.
GREETED = "Olá, Maria! Com quem você quer falar?"


async def company_with_menu(
    client: httpx.AsyncClient, db: Database, factory: Factory, *, enabled: bool = True
) -> tuple[Instance, dict[str, str], dict[str, str]]:
    """A company whose admin created Vendas and Suporte and saved the menu; its departments."""
    instance = await new_instance(db, factory, name=f"loja-{uuid.uuid4().hex[:8]}")
    admin = await login(client, await factory.user(instance.company_id, Role.ADMIN))
    departments = {}
    for name in ("Vendas", "Suporte Técnico"):
        created = await client.post("/api/departments", json={"name": name}, headers=admin)
        departments[name] = created.json()["id"]
    body = {"enabled": enabled, "greeting": GREETING}
    saved = await client.put("/api/departments/menu", json=body, headers=admin)
    assert saved.status_code == 200, saved.text
    return instance, departments, admin


async def writes(
    client: httpx.AsyncClient, instance: Instance, words: str, *, ago: timedelta = timedelta(0)
) -> None:
    message = text_message(
        f"IN-{uuid.uuid4().hex[:12]}",
        text_body=words,
        timestamp=int(clock.time() - ago.total_seconds()),
    )
    response = await post(client, instance.envelope(message))
    assert response.status_code == 200, response.text


async def replies(db: Database, instance: Instance) -> list[str]:
    found = await rows(
        db,
        "select m.body from evolution_messages m where m.instance_id = :i and m.from_me"
        " and m.message_payload ? 'menu_reply' order by m.created_at",
        i=instance.instance_id,
    )
    return [row["body"] for row in found]


async def chat(db: Database, instance: Instance) -> dict[str, Any]:
    [row] = await rows(
        db,
        "select id, department_id, assignee_id, menu_tries, last_message_from_me, unread_count"
        " from evolution_conversations where instance_id = :i",
        i=instance.instance_id,
    )
    return row


MENU = f"{GREETED}\n\n*1* - Vendas\n*2* - Suporte Técnico"


async def test_the_customer_chooses_by_number_and_the_chat_goes_there(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance, departments, _ = await company_with_menu(client, db, factory)
    await writes(client, instance, "Boa tarde!")
    assert await replies(db, instance) == [MENU]
    await writes(client, instance, "2.")
    assert (await replies(db, instance))[1:] == [
        "Certo! Sua conversa foi encaminhada para *Suporte Técnico*."
        " Em instantes alguém vai te atender."
    ]
    routed = await chat(db, instance)
    assert routed["department_id"] == uuid.UUID(departments["Suporte Técnico"])
    # The customer still waits for a person: the robot's lines do not answer the chat.
    assert (routed["last_message_from_me"], routed["unread_count"]) == (False, 2)
    await writes(client, instance, "Meu aparelho não liga")
    assert len(await replies(db, instance)) == 2


async def test_an_answer_by_name_counts_and_nonsense_twice_goes_to_the_general_queue(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    named, departments, _ = await company_with_menu(client, db, factory)
    await writes(client, named, "Oi")
    await writes(client, named, "quero falar com vendas")
    assert (await chat(db, named))["department_id"] == uuid.UUID(departments["Vendas"])

    lost, _, _ = await company_with_menu(client, db, factory)
    await writes(client, lost, "Oi")
    await writes(client, lost, "9")  # no such option
    await writes(client, lost, "Preciso de ajuda com um pedido que não chegou até hoje")
    await writes(client, lost, "1")  # too late: the robot has stopped asking
    assert await replies(db, lost) == [
        MENU,
        "Não entendi sua escolha. Responda só com o número do setor:"
        "\n\n*1* - Vendas\n*2* - Suporte Técnico",
        "Tudo bem! Em instantes alguém da nossa equipe vai te atender.",
    ]
    state = await chat(db, lost)
    assert (state["department_id"], state["menu_tries"]) == (None, 2)


async def test_a_new_cycle_is_asked_again_and_a_taken_chat_never(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance, _, admin = await company_with_menu(client, db, factory)
    await writes(client, instance, "Oi")
    await writes(client, instance, "1")
    conversation_id = (await chat(db, instance))["id"]
    closed = await client.post(
        f"/api/conversations/{conversation_id}/status", json={"status": "closed"}, headers=admin
    )
    assert closed.status_code == 200, closed.text
    await writes(client, instance, "Voltei, tenho outra dúvida")
    assert (await replies(db, instance))[-1] == MENU
    assert (await chat(db, instance))["department_id"] is None  # to be chosen anew
    # Someone takes the chat: the robot stays out of it.
    me = await client.get("/api/me", headers=admin)
    taken = await client.post(
        f"/api/conversations/{conversation_id}/assign",
        json={"assignee_id": me.json()["id"]},
        headers=admin,
    )
    assert taken.status_code == 200, taken.text
    count = len(await replies(db, instance))
    await writes(client, instance, "2")
    assert len(await replies(db, instance)) == count


async def test_a_department_chosen_by_the_team_after_a_close_stands(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance, departments, admin = await company_with_menu(client, db, factory)
    await writes(client, instance, "Oi")
    await writes(client, instance, "1")  # Vendas
    conversation_id = (await chat(db, instance))["id"]
    closed = await client.post(
        f"/api/conversations/{conversation_id}/status", json={"status": "closed"}, headers=admin
    )
    assert closed.status_code == 200, closed.text
    # Reopened and sent to Suporte by a person before the customer writes again.
    reopened = await client.post(
        f"/api/conversations/{conversation_id}/status", json={"status": "open"}, headers=admin
    )
    assert reopened.status_code == 200, reopened.text
    routed = await client.post(
        f"/api/conversations/{conversation_id}/department",
        json={"department_id": departments["Suporte Técnico"]},
        headers=admin,
    )
    assert routed.status_code == 200, routed.text
    asked = len(await replies(db, instance))
    await writes(client, instance, "Oi de novo")
    await writes(client, instance, "1")  # not a menu answer now: nobody asked
    assert len(await replies(db, instance)) == asked  # no menu in between
    assert str((await chat(db, instance))["department_id"]) == departments["Suporte Técnico"]


async def test_no_menu_when_off_or_for_backlog(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    off, _, _ = await company_with_menu(client, db, factory, enabled=False)
    await writes(client, off, "Oi")
    assert await replies(db, off) == []
    on, _, _ = await company_with_menu(client, db, factory)
    await writes(client, on, "Mensagem de ontem", ago=timedelta(hours=20))
    assert await replies(db, on) == []


def test_answers_name_one_option_or_none() -> None:
    sales, support = Option(uuid.uuid4(), "Vendas"), Option(uuid.uuid4(), "Suporte Técnico")
    rule = MenuRule("Olá", (sales, support))
    assert rule.choice("1") is sales
    assert rule.choice(" 2) ") is support
    assert rule.choice("opção 2") is support
    assert rule.choice("Número 1, por favor") is sales
    assert rule.choice("nº 2") is support
    assert rule.choice("2 - suporte") is support
    assert rule.choice("SUPORTE TECNICO") is support
    assert rule.choice("vendas") is sales
    nothing = ("", None, "3", "0", "12", "vendas ou suporte tecnico", "oi", "x" * 41)
    for answer in (*nothing, "1 ou 2", "quero 2 bolos", "2024 foi bom"):
        assert rule.choice(answer) is None, answer
