"""A chat as a text file: every kind of message written as people read it, on the company's
clock, internal notes only when asked, long chats whole, exports audited, and nobody gets a
chat they may not read."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import orjson
from sqlalchemy import text

from tests.conftest import Factory, UserFixture, login
from tests.evolution.harness import rows
from tests.messaging.chats import Chat, assign, new_chat
from zapcrm.db import Database
from zapcrm.models import Role

BRT = ZoneInfo("America/Sao_Paulo")
START = datetime(2026, 3, 2, 9, 0, tzinfo=BRT)


async def name(db: Database, user: UserFixture, display_name: str) -> None:
    async with db.service_session() as session:
        await session.execute(
            text("update profiles set display_name = :n where id = :id"),
            {"n": display_name, "id": user.id},
        )


async def add_message(db: Database, chat: Chat, minutes: int, **columns: Any) -> None:
    """A message `minutes` after START with the given columns (service role)."""
    values = {
        "from_me": False,
        "type": "text",
        "body": None,
        "message_payload": "{}",
        "sent_by": None,
        "status": None,
        "media_file_name": None,
        "edited_at": None,
        "deleted_at": None,
        "push_name": None,
        **columns,
    }
    if isinstance(values["message_payload"], dict):
        values["message_payload"] = orjson.dumps(values["message_payload"]).decode()
    async with db.service_session() as session:
        await session.execute(
            text(
                "insert into evolution_messages (company_id, instance_id, conversation_id, key_id,"
                " from_me, remote_jid, type, body, message_payload, sent_by, status,"
                " media_file_name, edited_at, deleted_at, push_name, message_timestamp)"
                " select c.company_id, c.instance_id, c.id, 'T' || gen_random_uuid(), :from_me,"
                " c.remote_jid, :type, :body, cast(:message_payload as jsonb), :sent_by, :status,"
                " :media_file_name, :edited_at, :deleted_at, :push_name, :at"
                " from evolution_conversations c where c.id = :conversation"
            ),
            {
                **values,
                "conversation": chat.conversation_id,
                "at": START + timedelta(minutes=minutes),
            },
        )


async def seeded_chat(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> tuple[Chat, UserFixture, UserFixture]:
    """A chat opened by Maria's "oi" (16/11/2025 17:49 BRT), then one message of each kind from
    START on, and a note; returns it with a supervisor and the agent Olga, who holds it."""
    chat = await new_chat(client, db, factory, "TRANSCRIPT-1")
    supervisor = await factory.user(chat.instance.company_id, Role.SUPERVISOR)
    olga = await factory.user(chat.instance.company_id, Role.OPERATOR)
    await name(db, olga, "Olga Operadora")
    await assign(db, chat.conversation_id, olga.id)
    await add_message(db, chat, 0, body="Bom dia!\nQueria saber do pedido #4821")
    await add_message(db, chat, 1, from_me=True, sent_by=olga.id, body="Olá, Maria!", status="READ")
    await add_message(
        db, chat, 2, type="image", message_payload={"caption": "a nota"}, media_file_name="nota.jpg"
    )
    await add_message(
        db,
        chat,
        3,
        type="location",
        message_payload={"location": {"latitude": -8.05, "longitude": -34.9, "name": "Loja"}},
    )
    await add_message(db, chat, 4, body="errei", deleted_at=START)
    await add_message(db, chat, 5, body="pedido 4821, corrigido", edited_at=START)
    await add_message(db, chat, 6, from_me=True, body="Chega amanhã.", status="DELIVERY_ACK")
    await add_message(
        db, chat, 7, from_me=True, body="Promoção!", message_payload={"campaign_id": "x"}
    )
    await add_message(db, chat, 8, from_me=True, sent_by=olga.id, body="Oi?", status="ERROR")
    async with db.service_session() as session:
        await session.execute(
            text(
                "insert into conversation_notes (company_id, conversation_id, author_id, body,"
                " created_at) select company_id, id, :olga, 'cliente VIP', :at"
                " from evolution_conversations where id = :id"
            ),
            {
                "olga": olga.id,
                "at": START + timedelta(minutes=1, seconds=30),
                "id": chat.conversation_id,
            },
        )
    return chat, supervisor, olga


EXPECTED = [
    "[16/11/2025 17:49] Maria: oi",
    "[02/03/2026 09:00] Maria: Bom dia!",
    "    Queria saber do pedido #4821",
    "[02/03/2026 09:01] Olga Operadora: Olá, Maria!",
    "[02/03/2026 09:02] Maria: 📷 Foto: a nota [nota.jpg]",
    "[02/03/2026 09:03] Maria: 📍 Localização Loja (-8.05, -34.9)",
    "[02/03/2026 09:04] Maria: 🚫 Mensagem apagada",
    "[02/03/2026 09:05] Maria: pedido 4821, corrigido (editada)",
    "[02/03/2026 09:06] Empresa (pelo celular): Chega amanhã.",
    "[02/03/2026 09:07] Campanha: Promoção!",
    "[02/03/2026 09:08] Olga Operadora: Oi? (não enviada: falhou)",
]
NOTE = "[02/03/2026 09:01] Nota interna de Olga Operadora: cliente VIP"


def body_lines(response: httpx.Response) -> list[str]:
    """The file's lines after its header (which ends with an empty line)."""
    content = response.content.decode("utf-8")
    assert content.startswith("\ufeff")
    header, _, body = content[1:].partition("\r\n\r\n")
    assert header.startswith("Conversa no WhatsApp: Maria (+55 11 98765-4321)\r\nExportada em ")
    assert "Horários em Horário de Brasília (America/Sao_Paulo)." in header
    return body.split("\r\n")[:-1]


async def test_every_kind_of_message_reads_as_people_say_it_in_order_and_on_the_shops_clock(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    chat, supervisor, _olga = await seeded_chat(client, db, factory)
    headers = await login(client, supervisor)
    response = await transcript(client, chat, headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-disposition"].startswith('attachment; filename="conversa-')
    assert body_lines(response) == EXPECTED
    with_notes = await transcript(client, chat, headers, notes="true")
    assert body_lines(with_notes) == [*EXPECTED[:4], NOTE, *EXPECTED[4:]]
    audit = await rows(
        db,
        "select actor_id, details from audit_log where action = 'conversation.exported'"
        " and target_id = :c order by created_at",
        c=str(chat.conversation_id),
    )
    assert audit == [
        {"actor_id": supervisor.id, "details": {"notes": False}},
        {"actor_id": supervisor.id, "details": {"notes": True}},
    ]


async def test_only_who_may_read_the_chat_may_export_it(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    chat, _supervisor, olga = await seeded_chat(client, db, factory)
    assert (await transcript(client, chat, await login(client, olga))).status_code == 200
    colleague = await factory.user(chat.instance.company_id, Role.OPERATOR)
    assert (await transcript(client, chat, await login(client, colleague))).status_code == 404
    stranger = await factory.user(await factory.company(), Role.ADMIN)
    assert (await transcript(client, chat, await login(client, stranger))).status_code == 404
    assert (await transcript(client, chat, {})).status_code == 401


async def test_a_long_chat_comes_whole_through_several_batches(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    chat = await new_chat(client, db, factory, "TRANSCRIPT-LONG")
    async with db.service_session() as session:
        await session.execute(
            text(
                "insert into evolution_messages (company_id, instance_id, conversation_id, key_id,"
                " from_me, remote_jid, type, body, message_timestamp)"
                " select c.company_id, c.instance_id, c.id, 'L' || n, false, c.remote_jid, 'text',"
                " 'mensagem ' || n, :start + make_interval(secs => n)"
                " from evolution_conversations c, generate_series(1, 1234) n where c.id = :id"
            ),
            {"start": START, "id": chat.conversation_id},
        )
    supervisor = await factory.user(chat.instance.company_id, Role.SUPERVISOR)
    lines = body_lines(await transcript(client, chat, await login(client, supervisor)))
    assert len(lines) == 1 + 1234
    assert lines[-1] == "[02/03/2026 09:20] Maria: mensagem 1234"


async def transcript(
    client: httpx.AsyncClient, chat: Chat, headers: dict[str, str], **params: str
) -> httpx.Response:
    return await client.get(
        f"/api/conversations/{chat.conversation_id}/transcript.txt", params=params, headers=headers
    )
