"""Message search in the panel: hits under the conversation list, a hit opening its chat."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from tests.conftest import Factory
from tests.evolution.harness import Instance, new_instance, post, rows, text_message
from tests.web.conftest import Browser, panel_login
from zapcrm.db import Database
from zapcrm.models import Role
from zapcrm.web.pages.inbox import chat as chat_pages


async def _history(client: httpx.AsyncClient, instance: Instance, texts: list[str]) -> None:
    """One customer's messages, a minute apart, in this order."""
    for index, words in enumerate(texts):
        body = text_message(
            f"HIST{index:03d}",
            remote_jid="5511987650031@s.whatsapp.net",
            text_body=words,
            timestamp=1763300000 + 60 * index,
            push_name="Dona Rosa",
        )
        assert (await post(client, instance.envelope(body))).status_code == 200


def _hit_texts(html: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", found).strip()
        for found in re.findall(r'<span class="hit-text">(.*?)</span>\s*</a>', html, re.S)
    ]


async def _message_id(db: Database, instance: Instance, key_id: str) -> uuid.UUID:
    found = await rows(
        db,
        "select id from evolution_messages where instance_id = :i and key_id = :k",
        i=instance.instance_id,
        k=key_id,
    )
    return uuid.UUID(str(found[0]["id"]))


async def test_typing_a_search_lists_the_messages_found_with_the_words_marked(
    new_browser: Browser, client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)
    await _history(client, instance, ["Meu <b>pedido</b> 4821 não veio", "obrigada"])
    http = await new_browser()
    await panel_login(http, await factory.user(instance.company_id, Role.OPERATOR))
    listed = await http.get(
        "/panel/inbox?tab=unassigned&q=pedido", headers={"HX-Target": "conversation-list"}
    )
    # The list's answer renews the hits section, which then asks for its hits.
    assert 'id="message-hits"' in listed.text
    assert 'hx-swap-oob="true"' in listed.text
    assert "/panel/search/messages?tab=unassigned&amp;status=open&amp;q=pedido" in listed.text
    hits = await http.get("/panel/search/messages?tab=unassigned&q=PEDIDOS")
    assert hits.status_code == 200
    assert "Dona Rosa" in hits.text
    # Customer text stays text; only our marks are markup.
    assert "Meu &lt;b&gt;<mark>pedido</mark>&lt;/b&gt; 4821 não veio" in hits.text
    target = await _message_id(db, instance, "HIST000")
    assert f"at={target}" in hits.text
    assert "obrigada" not in hits.text
    none = await http.get("/panel/search/messages?q=encomenda")
    assert "Nenhuma mensagem com essas palavras." in none.text
    short = await http.get("/panel/search/messages?q=a")
    assert "Digite ao menos duas letras ou números" in short.text
    cleared = await http.get(
        "/panel/inbox?tab=unassigned", headers={"HX-Target": "conversation-list"}
    )
    assert "/panel/search/messages" not in cleared.text  # no search: the section stays empty


async def test_more_hits_load_as_the_list_scrolls(
    new_browser: Browser, client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)
    await _history(client, instance, [f"boleto {index}" for index in range(25)])
    http = await new_browser()
    await panel_login(http, await factory.user(instance.company_id, Role.SUPERVISOR))
    first = await http.get("/panel/search/messages?q=boleto")
    assert _hit_texts(first.text) == [f"boleto {index}" for index in range(24, 4, -1)]
    more_url = first.text.split('class="more" hx-get="', 1)[1].split('"', 1)[0]
    rest = await http.get(more_url.replace("&amp;", "&"))
    assert _hit_texts(rest.text) == [f"boleto {index}" for index in range(4, -1, -1)]
    assert "Mensagens" not in rest.text  # rows only, appended to the first page
    assert 'class="more"' not in rest.text


async def test_a_hit_opens_its_chat_down_to_that_message(
    new_browser: Browser,
    client: httpx.AsyncClient,
    db: Database,
    factory: Factory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    instance = await new_instance(db, factory)
    texts = ["a nota fiscal do pedido"] + [
        f"mensagem {index}" for index in range(chat_pages.CHAT_PAGE_SIZE + 5)
    ]
    await _history(client, instance, texts)
    target = await _message_id(db, instance, "HIST000")
    conversation = await rows(
        db, "select conversation_id from evolution_messages where id = :id", id=target
    )
    url = f"/panel/inbox/{conversation[0]['conversation_id']}"
    http = await new_browser()
    await panel_login(http, await factory.user(instance.company_id, Role.SUPERVISOR))
    latest = await http.get(url)
    assert latest.status_code == 200, url
    assert f'id="msg-{target}"' not in latest.text  # older than the first page
    opened = await http.get(f"{url}?tab=all&q=nota&at={target}")
    assert f'id="msg-{target}"' in opened.text, re.sub(
        r"(?s).*<main[^>]*>(.*)</main>.*", r"\1", opened.text
    )
    assert f'data-hit="msg-{target}"' in opened.text
    # Its reloads (the live stream reconnecting) keep the message on the page.
    assert f'data-refresh-url="{url}?at={target}"' in opened.text
    reloaded = await http.get(f"{url}?at={target}", headers={"HX-Target": "messages"})
    assert f'id="msg-{target}"' in reloaded.text
    assert 'id="older"' in opened.text  # and what came before it loads on scrolling up
    # Further back than the page loads at once: the latest messages, and a word why.
    monkeypatch.setattr(chat_pages, "THROUGH_LIMIT", 10)
    far = await http.get(f"{url}?at={target}")
    assert f'id="msg-{target}"' not in far.text
    assert "antiga demais para abrir aqui" in far.text
    elsewhere = await http.get(f"{url}?at={uuid.uuid4()}")
    assert elsewhere.status_code == 200
    assert "data-hit" not in elsewhere.text
