"""Message search: words in texts and captions, accents, inflections, prefixes, who sees what."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.conftest import Factory, login
from tests.evolution.harness import Instance, new_instance, post, text_message
from zapcrm.db import Database
from zapcrm.messaging.service.search import snippet_parts, text_query
from zapcrm.models import Role

MARIA = "5511987650001@s.whatsapp.net"
JOAO = "5511987650002@s.whatsapp.net"


async def _say(
    client: httpx.AsyncClient,
    instance: Instance,
    key_id: str,
    words: str,
    *,
    jid: str = MARIA,
    at: int = 1763300000,
    from_me: bool = False,
) -> None:
    body = text_message(key_id, remote_jid=jid, text_body=words, timestamp=at, from_me=from_me)
    assert (await post(client, instance.envelope(body))).status_code == 200


async def _photo(client: httpx.AsyncClient, instance: Instance, key_id: str, caption: str) -> None:
    body = text_message(key_id, remote_jid=JOAO, timestamp=1763300500)
    body["data"]["message"] = {"imageMessage": {"caption": caption, "mimetype": "image/jpeg"}}
    body["data"]["messageType"] = "imageMessage"
    assert (await post(client, instance.envelope(body))).status_code == 200


async def _search(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> Any:
    response = await client.get("/api/messages/search", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def _texts(page: dict[str, Any]) -> list[str]:
    return ["".join(part["text"] for part in hit["snippet"]) for hit in page["items"]]


async def test_words_match_without_accents_in_any_inflection_and_as_prefixes(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)
    await _say(client, instance, "S1", "Meu pedido #4821 ainda não chegou", at=1763300000)
    await _say(client, instance, "S2", "Vocês entregam no Méier?", at=1763300100)
    await _say(client, instance, "S3", "Os pedidos chegam amanhã", at=1763300200, from_me=True)
    await _say(client, instance, "S4", "Bom dia", jid=JOAO, at=1763300300)
    await _photo(client, instance, "S5", "Cafeteira italiana, a do anúncio")
    headers = await login(client, await factory.user(instance.company_id, Role.SUPERVISOR))

    assert _texts(await _search(client, headers, q="4821")) == ["Meu pedido #4821 ainda não chegou"]
    assert _texts(await _search(client, headers, q="meier")) == ["Vocês entregam no Méier?"]
    # Inflections (pedidos / pedido), newest first, ours included.
    found = await _search(client, headers, q="PEDIDOS")
    assert _texts(found) == ["Os pedidos chegam amanhã", "Meu pedido #4821 ainda não chegou"]
    assert [hit["from_me"] for hit in found["items"]] == [True, False]
    # A word typed halfway, in a media caption; every word must be there.
    photo = await _search(client, headers, q="cafet anunc")
    assert _texts(photo) == ["Cafeteira italiana, a do anúncio"]
    assert photo["items"][0]["type"] == "image"
    assert photo["items"][0]["conversation"]["remote_jid"] == JOAO
    assert (await _search(client, headers, q="cafet chegou"))["items"] == []
    # Within one chat.
    in_chat = await _search(
        client, headers, q="pedido", conversation_id=photo["items"][0]["conversation"]["id"]
    )
    assert in_chat["items"] == []
    # The snippet marks the words found.
    marked = [part["text"] for part in found["items"][1]["snippet"] if part["match"]]
    assert marked == ["pedido"]
    assert found["items"][1]["conversation"]["contact"]["name"] == "Maria"


async def test_deleted_messages_other_companies_and_colleagues_chats_stay_out(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)
    other = await new_instance(db, factory, name="other-shop")
    await _say(client, instance, "V1", "orçamento da mesa", jid=MARIA)
    await _say(client, instance, "V2", "orçamento da cadeira", jid=JOAO)
    await _say(client, instance, "V3", "orçamento apagado", jid=JOAO, at=1763300900)
    await _say(client, other, "V4", "orçamento de outra empresa", jid=MARIA)
    operator = await factory.user(instance.company_id, Role.OPERATOR)
    colleague = await factory.user(instance.company_id, Role.OPERATOR)
    async with db.service_session() as session:
        await session.execute(
            text(
                "update evolution_conversations set assignee_id = :a"
                " where remote_jid = :jid and instance_id = :i"
            ),
            {"a": colleague.id, "jid": MARIA, "i": instance.instance_id},
        )
        await session.execute(
            text(
                "update evolution_messages set deleted_at = now()"
                " where key_id = 'V3' and instance_id = :i"
            ),
            {"i": instance.instance_id},
        )
    supervisor = await login(client, await factory.user(instance.company_id, Role.SUPERVISOR))
    assert sorted(_texts(await _search(client, supervisor, q="orcamento"))) == [
        "orçamento da cadeira",
        "orçamento da mesa",
    ]
    # An operator searches only the chats they may open: theirs and the unassigned ones.
    mine = await login(client, operator)
    assert _texts(await _search(client, mine, q="orcamento")) == ["orçamento da cadeira"]
    by_number = await _search(client, supervisor, q="orcamento", instance_id=other.instance_id)
    assert by_number["items"] == []


async def test_pages_walk_every_hit_once(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)
    for index in range(7):
        await _say(client, instance, f"P{index}", f"boleto número {index}", at=1763300000 + index)
    headers = await login(client, await factory.user(instance.company_id, Role.ADMIN))
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"q": "boleto", "limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = await _search(client, headers, **params)
        seen += _texts(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"boleto número {index}" for index in reversed(range(7))]


@pytest.mark.parametrize(
    "typed",
    ["'", "a & | ! :*", "pedido') or true --", "<->", "\\", "(((", "a:* & !b", "²³ ½", "\x02x\x03"],
)
async def test_typed_symbols_are_never_query_syntax(
    typed: str, client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)
    await _say(client, instance, "H1", "pedido feito")
    headers = await login(client, await factory.user(instance.company_id, Role.ADMIN))
    response = await client.get("/api/messages/search", params={"q": typed}, headers=headers)
    assert response.status_code in (200, 422), response.text
    if text_query(typed) is None:
        assert response.status_code == 422
        assert response.json()["error"]["fields"][0]["field"] == "q"


def test_the_query_keeps_words_only_and_needs_one_of_two_characters() -> None:
    assert text_query("Pedido #4821, café!") == "'Pedido':* & '4821':* & 'café':*"
    assert text_query("a b") is None
    assert text_query("  ") is None
    assert text_query("it's") == "'it':* & 's':*"
    many = text_query(" ".join(f"w{index}" for index in range(20)))
    assert many is not None
    assert many.count("&") == 7


def test_snippet_marks_become_parts() -> None:
    parts = snippet_parts("Meu \x02pedido\x03 chegou \x02ontem\x03")
    assert [(part.text, part.match) for part in parts] == [
        ("Meu ", False),
        ("pedido", True),
        (" chegou ", False),
        ("ontem", True),
    ]
