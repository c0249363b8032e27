"""Panel pages over HTTP: sign-in, sessions, CSRF, role visibility, escaping and chat actions."""

from __future__ import annotations

import asyncio
import re
import time

import httpx

from tests.conftest import Factory, identity_of
from tests.evolution.harness import post, rows, text_message
from tests.messaging.inbox_search import SEARCHES, searchable_chats
from tests.web.conftest import Browser, customer_writes, new_company_chat, panel_login
from zapcrm.db import Database
from zapcrm.messaging.schemas import ConversationOut
from zapcrm.messaging.service import inbox
from zapcrm.models import Role
from zapcrm.runtime import Runtime
from zapcrm.web.dependencies import PanelUser
from zapcrm.web.pages.events import PageView
from zapcrm.web.sessions import SESSION_PREFIX, PanelSession
from zapcrm.web.views import Agents, InboxFilter


async def _login_form(http: httpx.AsyncClient) -> str:
    page = await http.get("/panel/login")
    assert page.status_code == 200
    marker = 'name="csrf_token" value="'
    return page.text.split(marker, 1)[1].split('"', 1)[0]


async def test_login_opens_an_httponly_session_and_keeps_tokens_server_side(
    new_browser: Browser, factory: Factory
) -> None:
    user = await factory.user(await factory.company(), Role.OPERATOR)
    http = await new_browser()
    token = await _login_form(http)
    response = await http.post(
        "/panel/login",
        data={
            "email": user.email.upper(),
            "password": user.password,
            "csrf_token": token,
            "next": "/panel/inbox?tab=unassigned",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/panel/inbox?tab=unassigned"
    cookie = next(
        value
        for name, value in response.headers.multi_items()
        if name == "set-cookie" and value.startswith("zapcrm_session=")
    )
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
    assert "Path=/panel" in cookie
    assert "Secure" not in cookie  # plain http here; https sets it
    session_id = cookie.split(";", 1)[0].split("=", 1)[1]
    assert session_id.count(".") != 2  # an opaque id, not a JWT
    page = await http.get("/panel/inbox")
    assert page.status_code == 200
    assert "eyJ" not in page.text  # no token of any kind reaches the page


async def test_wrong_password_disabled_account_and_rate_limit_say_so_in_portuguese(
    new_browser: Browser, factory: Factory
) -> None:
    user = await factory.user(await factory.company(), Role.OPERATOR)
    http = await new_browser()
    statuses = []
    for _ in range(6):
        token = await _login_form(http)
        response = await http.post(
            "/panel/login", data={"email": user.email, "password": "errada", "csrf_token": token}
        )
        statuses.append(response.status_code)
        if response.status_code == 401:
            assert "E-mail ou senha incorretos." in response.text
    assert statuses[0] == 401
    assert statuses[-1] == 429
    assert "Muitas tentativas. Tente novamente em" in response.text
    assert user.email in response.text  # the e-mail stays typed in


async def test_login_form_needs_its_csrf_cookie_and_same_origin(
    new_browser: Browser, factory: Factory
) -> None:
    user = await factory.user(await factory.company(), Role.OPERATOR)
    http = await new_browser()
    token = await _login_form(http)
    forged = await http.post(
        "/panel/login",
        data={"email": user.email, "password": user.password, "csrf_token": token},
        headers={"origin": "https://evil.example"},
    )
    assert forged.status_code == 403
    stranger = await new_browser()  # a page elsewhere cannot know the cookie's value
    blind = await stranger.post(
        "/panel/login",
        data={"email": user.email, "password": user.password, "csrf_token": token},
    )
    assert blind.status_code == 403
    assert "zapcrm_session" not in blind.headers.get("set-cookie", "")


async def test_next_never_leaves_the_panel(new_browser: Browser, factory: Factory) -> None:
    user = await factory.user(await factory.company(), Role.OPERATOR)
    for target in ("https://evil.example/", "//evil.example", "/panel//evil.example", "/api/me"):
        http = await new_browser()
        token = await _login_form(http)
        response = await http.post(
            "/panel/login",
            data={
                "email": user.email,
                "password": user.password,
                "csrf_token": token,
                "next": target,
            },
        )
        assert response.headers["location"] == "/panel/", target


async def test_the_bare_address_opens_the_panel(new_browser: Browser) -> None:
    http = await new_browser()
    root = await http.get("/")
    assert root.status_code == 307
    assert root.headers["location"] == "/panel/"
    assert (await http.get(root.headers["location"])).headers["location"].startswith("/panel/login")


async def test_pages_name_their_icon_so_browsers_ask_for_no_missing_favicon(
    new_browser: Browser,
) -> None:
    http = await new_browser()
    login_page = await http.get("/panel/login")
    assert (
        '<link rel="icon" href="/panel/static/favicon.svg" type="image/svg+xml">' in login_page.text
    )
    icon = await http.get("/panel/static/favicon.svg")
    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")


async def test_without_a_session_pages_send_to_login_and_htmx_gets_a_redirect_header(
    new_browser: Browser,
) -> None:
    http = await new_browser()
    page = await http.get("/panel/inbox?tab=all")
    assert page.status_code == 303
    assert page.headers["location"] == "/panel/login?next=/panel/inbox"
    fragment = await http.get("/panel/inbox", headers={"HX-Request": "true"})
    assert fragment.status_code == 401
    assert fragment.headers["HX-Redirect"].startswith("/panel/login")
    http.cookies.set("zapcrm_session", "x" * 43)
    forged = await http.get("/panel/inbox")
    assert forged.status_code == 303


async def test_state_changes_need_the_session_csrf_token(
    new_browser: Browser, client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    chat = await new_company_chat(client, db, factory)
    user = await factory.user(chat.instance.company_id, Role.OPERATOR)
    http = await new_browser()
    csrf = await panel_login(http, user)
    url = f"/panel/conversations/{chat.conversation_id}/assign"
    missing = await http.post(url, data={"assignee": "me"})
    wrong = await http.post(url, data={"assignee": "me"}, headers={"X-CSRF-Token": "x" * 43})
    foreign = await http.post(
        url,
        data={"assignee": "me"},
        headers={"X-CSRF-Token": csrf, "origin": "https://evil.example"},
    )
    assert [missing.status_code, wrong.status_code, foreign.status_code] == [403, 403, 403]
    assert "recarregue a página" in missing.text
    assigned = await rows(
        db,
        "select assignee_id from evolution_conversations where id = :id",
        id=chat.conversation_id,
    )
    assert assigned == [{"assignee_id": None}]
    ok = await http.post(url, data={"assignee": "me"}, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200, ok.text
    assert 'id="chat-header"' in ok.text
    form_field = await http.post(
        f"/panel/conversations/{chat.conversation_id}/status",
        data={"status": "closed", "csrf_token": csrf},
    )
    assert form_field.status_code == 200, form_field.text
    assert "Reabrir" in form_field.text
    assert await rows(
        db,
        "select assignee_id, status from evolution_conversations where id = :id",
        id=chat.conversation_id,
    ) == [{"assignee_id": user.id, "status": "closed"}]


async def test_logout_ends_the_session(
    new_browser: Browser, factory: Factory, runtime: Runtime
) -> None:
    user = await factory.user(await factory.company(), Role.SUPERVISOR)
    http = await new_browser()
    csrf = await panel_login(http, user)
    cookie = http.cookies.get("zapcrm_session")
    assert cookie
    response = await http.post("/panel/logout", data={"csrf_token": csrf})
    assert response.status_code == 303
    assert response.headers["location"] == "/panel/login"
    replay = await new_browser()
    replay.cookies.set("zapcrm_session", cookie)
    again = await replay.get("/panel/inbox")
    assert again.status_code == 303  # the stolen-after-logout cookie opens nothing
    assert not await runtime.redis.keys(SESSION_PREFIX + "*" + cookie)


async def test_an_expiring_session_is_refreshed_once_even_by_concurrent_requests(
    new_browser: Browser, factory: Factory, runtime: Runtime
) -> None:
    user = await factory.user(await factory.company(), Role.OPERATOR)
    http = await new_browser()
    await panel_login(http, user)
    keys = [
        key
        for key in await runtime.redis.keys(SESSION_PREFIX + "*")
        if await runtime.redis.hget(key, "access_expires_at") is not None
    ]
    before = {key: await runtime.redis.hget(key, "refresh_token") for key in keys}
    for key in keys:
        await runtime.redis.hset(key, "access_expires_at", str(time.time() - 1))
    pages = await asyncio.gather(*(http.get("/panel/inbox") for _ in range(5)))
    assert [page.status_code for page in pages] == [200] * 5
    renewed = [key for key in keys if await runtime.redis.hget(key, "refresh_token") != before[key]]
    assert len(renewed) == 1  # ours; and a refresh token presented twice would have ended it
    assert (await http.get("/panel/inbox")).status_code == 200


async def test_operators_see_only_their_own_and_unassigned_chats(
    new_browser: Browser, client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    chat = await new_company_chat(client, db, factory, text_body="conversa da colega")
    company_id = chat.instance.company_id
    colleague = await factory.user(company_id, Role.OPERATOR)
    operator = await factory.user(company_id, Role.OPERATOR)
    supervisor = await factory.user(company_id, Role.SUPERVISOR)
    async with db.service_session() as session:
        from sqlalchemy import text

        await session.execute(
            text("update evolution_conversations set assignee_id = :a where id = :id"),
            {"a": colleague.id, "id": chat.conversation_id},
        )
    http = await new_browser()
    await panel_login(http, operator)
    direct = await http.get(f"/panel/inbox/{chat.conversation_id}")
    assert direct.status_code == 404
    assert "conversa da colega" not in direct.text
    listed = await http.get("/panel/inbox?tab=all")  # operators have no "all": mine instead
    assert str(chat.conversation_id) not in listed.text
    assert "Todas" not in listed.text
    older = await http.get(f"/panel/conversations/{chat.conversation_id}/older?cursor=x")
    assert older.status_code == 404
    boss = await new_browser()
    await panel_login(boss, supervisor)
    seen = await boss.get("/panel/inbox?tab=all")
    assert str(chat.conversation_id) in seen.text
    opened = await boss.get(f"/panel/inbox/{chat.conversation_id}")
    assert opened.status_code == 200
    assert "conversa da colega" in opened.text


async def test_customer_text_and_names_are_escaped(
    new_browser: Browser, client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    chat = await new_company_chat(client, db, factory, text_body=payload)
    await customer_writes(
        client, db, chat.instance, text_body="de novo", phone="5511987650009", name=payload
    )
    supervisor = await factory.user(chat.instance.company_id, Role.SUPERVISOR)
    http = await new_browser()
    await panel_login(http, supervisor)
    for url in ("/panel/inbox?tab=all", f"/panel/inbox/{chat.conversation_id}"):
        page = await http.get(url)
        assert page.status_code == 200
        assert "<script>alert" not in page.text
        assert "<img src=x" not in page.text
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"


async def test_composer_queues_the_text_and_answers_with_its_bubble(
    new_browser: Browser, client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    chat = await new_company_chat(client, db, factory)
    operator = await factory.user(chat.instance.company_id, Role.OPERATOR)
    http = await new_browser()
    csrf = await panel_login(http, operator)
    url = f"/panel/conversations/{chat.conversation_id}/messages"
    headers = {"X-CSRF-Token": csrf, "HX-Request": "true"}
    form = {"text": "Bom dia <b>Maria</b>\nTudo bem?", "idempotency_key": "k-123"}
    first = await http.post(url, data=form, headers=headers)
    again = await http.post(url, data=form, headers=headers)  # a double submit
    assert first.status_code == 200, first.text
    assert "Bom dia &lt;b&gt;Maria&lt;/b&gt;" in first.text
    assert 'class="bubble out' in first.text
    assert first.text.split('id="msg-')[1][:36] == again.text.split('id="msg-')[1][:36]
    sent = await rows(
        db,
        "select body, status, sent_by from evolution_messages"
        " where conversation_id = :c and from_me",
        c=chat.conversation_id,
    )
    assert sent == [
        {"body": "Bom dia <b>Maria</b>\nTudo bem?", "status": "queued", "sent_by": operator.id}
    ]
    empty = await http.post(url, data={"text": "   "}, headers=headers)
    assert empty.status_code == 422
    assert empty.headers["HX-Retarget"] == "#toast"
    assert "Escreva uma mensagem" in empty.text


async def test_search_returns_just_the_matching_rows_for_htmx(
    new_browser: Browser, client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    chat = await new_company_chat(client, db, factory)
    await customer_writes(
        client, db, chat.instance, text_body="oi", phone="5521987650002", name="Joana Araújo"
    )
    supervisor = await factory.user(chat.instance.company_id, Role.SUPERVISOR)
    http = await new_browser()
    await panel_login(http, supervisor)
    fragment = await http.get(
        "/panel/inbox",
        params={"tab": "all", "q": "araujo"},
        headers={"HX-Request": "true", "HX-Target": "conversation-list"},
    )
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert "Joana Araújo" in fragment.text
    assert str(chat.conversation_id) not in fragment.text


async def test_a_live_row_joins_a_searched_list_exactly_when_the_list_finds_it(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    """The live stream's twin of the search (InboxFilter._found, with Postgres asked about a
    possible typo) keeps each chat in or out of a searched list as the list's SQL does."""
    instance = await searchable_chats(client, db, factory)
    supervisor = identity_of(await factory.user(instance.company_id, Role.SUPERVISOR))
    user = PanelUser(supervisor, PanelSession("s", "a", "r", 0.0, "csrf"))

    async def listed(q: str | None) -> list[ConversationOut]:
        async with db.tenant_session(supervisor.claims) as session:
            page = await inbox.list_conversations(
                session, supervisor, status="open", assignee="any", instance_id=None,
                cursor=None, limit=50, search=q,
            )  # fmt: skip
        return page.items

    chats = await listed(None)
    assert len(chats) == 5
    for q, expected in SEARCHES.items():
        found = {chat.id for chat in await listed(q)}
        view = PageView(user, InboxFilter(tab="all", q=q), None, Agents({}, []), inbox=True)
        admitted = set()
        for chat in chats:
            snapshot = chat.model_dump(mode="json")
            event = {"type": "conversation.updated", "data": {"conversation": snapshot}}
            await view.judge_typos(db, event)
            row = view.fragments(event)
            assert f'id="conv-{chat.id}"' in row
            if "data-row-gone" not in row:  # the row at the top of the list, not its removal
                admitted.add(chat.id)
        assert admitted == found, q
        assert sorted(_label(chat) for chat in chats if chat.id in admitted) == expected, q


def _label(chat: ConversationOut) -> str:
    return chat.subject or (chat.contact.name if chat.contact else "") or ""


def test_language_negotiation_prefers_the_cookie_then_the_browser() -> None:
    from zapcrm.web.i18n import negotiate

    assert negotiate(None, None) == "pt_BR"
    assert negotiate(None, "en-US,en;q=0.9,pt-BR;q=0.8") == "en"
    assert negotiate(None, "pt-PT,en;q=0.5") == "pt_BR"
    assert negotiate(None, "de-DE,fr;q=0.8") == "pt_BR"
    assert negotiate("en", "pt-BR") == "en"
    assert negotiate("xx", "en") == "en"  # an unknown cookie value is ignored


async def test_the_language_switch_sets_a_cookie_and_returns_to_the_page(
    new_browser: Browser, factory: Factory
) -> None:
    http = await new_browser()
    await panel_login(http, await factory.user(await factory.company(), Role.OPERATOR))
    switched = await http.get(
        "/panel/lang/en", headers={"referer": "http://zapcrm.test/panel/contacts?q=ana"}
    )
    assert switched.status_code == 303
    assert switched.headers["location"] == "/panel/contacts?q=ana"
    assert "zapcrm_lang=en" in switched.headers["set-cookie"]
    page = await http.get("/panel/contacts")
    assert '<html lang="en">' in page.text
    elsewhere = await http.get("/panel/lang/pt_BR", headers={"referer": "https://evil.example/x"})
    assert elsewhere.headers["location"] == "/panel/"
    assert '<html lang="pt-BR">' in (await http.get("/panel/contacts")).text


async def test_an_english_browser_gets_the_english_panel(new_browser: Browser) -> None:
    http = await new_browser()
    english = await http.get("/panel/login", headers={"accept-language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in english.text
    assert "Sign in" in english.text
    assert "Entrar" not in english.text
    portuguese = await http.get("/panel/login", headers={"accept-language": "pt-BR"})
    assert "Entrar" in portuguese.text


async def test_the_inbox_filters_by_whatsapp_number_when_there_are_several(
    new_browser: Browser, client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    from tests.evolution.harness import Instance
    from zapcrm.config import load_settings
    from zapcrm.evolution.credentials import CredentialBox
    from zapcrm.evolution.instances import register_instance

    chat = await new_company_chat(client, db, factory, text_body="pelo número da loja")
    token = "token-second-number"
    async with db.service_session() as session:
        second_id = await register_instance(
            session,
            company_id=chat.instance.company_id,
            name="acme-sac",
            token=token,
            credentials=CredentialBox.from_settings(load_settings(environment="test")),
            server_url=chat.instance.server_url,
        )
    second = Instance(
        chat.instance.company_id, second_id, "acme-sac", chat.instance.server_url, token
    )
    other = await customer_writes(
        client, db, second, text_body="pelo número do SAC", phone="5511987650077"
    )
    http = await new_browser()
    await panel_login(http, await factory.user(chat.instance.company_id, Role.SUPERVISOR))
    everything = await http.get("/panel/inbox?tab=all")
    assert 'id="instance"' in everything.text
    assert str(chat.conversation_id) in everything.text
    assert str(other) in everything.text
    only_sac = await http.get(f"/panel/inbox?tab=all&instance={second_id}")
    assert str(other) in only_sac.text
    assert str(chat.conversation_id) not in only_sac.text
    junk = await http.get("/panel/inbox?tab=all&instance=not-a-uuid")
    assert junk.status_code == 200  # an unreadable choice means "all numbers"


async def test_the_chat_reloads_its_latest_messages_alone(
    new_browser: Browser, client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    """The page asks for this when its live stream (re)opens: messages only, no list."""
    chat = await new_company_chat(client, db, factory, text_body="Chegou enquanto fechado")
    operator = await factory.user(chat.instance.company_id, Role.OPERATOR)
    http = await new_browser()
    await panel_login(http, operator)
    url = f"/panel/inbox/{chat.conversation_id}"
    page = await http.get(url)
    assert f'data-refresh-url="{url}"' in page.text
    fragment = await http.get(url, headers={"HX-Request": "true", "HX-Target": "messages"})
    assert fragment.status_code == 200
    assert "Chegou enquanto fechado" in fragment.text
    assert 'data-version="1"' in fragment.text
    assert "conversation-list" not in fragment.text
    assert "<html" not in fragment.text


async def test_the_chat_header_says_whatsapp_hides_the_number_of_an_lid_customer(
    new_browser: Browser, client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    chat = await new_company_chat(client, db, factory)
    key = "LIDHEADER0001"
    body = text_message(key, remote_jid="148392017465823@lid", push_name="Carlos")
    assert (await post(client, chat.instance.envelope(body))).status_code == 200
    found = await rows(
        db, "select conversation_id from evolution_messages where key_id = :k", k=key
    )
    supervisor = await factory.user(chat.instance.company_id, Role.SUPERVISOR)
    http = await new_browser()
    await panel_login(http, supervisor)
    lid_page = await http.get(f"/panel/inbox/{found[0]['conversation_id']}")
    phone_page = await http.get(f"/panel/inbox/{chat.conversation_id}")

    def subtitle(page: httpx.Response) -> str:
        header = page.text.split('id="chat-header"', 1)[1].split("</p>", 1)[0]
        paragraph = header.split('<p class="muted">', 1)[1]
        return " ".join(re.sub(r"<[^>]+>", " ", paragraph).split())

    assert subtitle(lid_page) == "Número oculto pelo WhatsApp · Aberta · Sem responsável"
    assert subtitle(phone_page) == "+55 11 98765-0001 · Aberta · Sem responsável"
