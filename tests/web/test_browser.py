"""The panel in real Chromium against the live app, worker and Evolution API simulator."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
from playwright.async_api import Browser as PlaywrightBrowser
from playwright.async_api import Page, expect

from tests.conftest import Factory, UserFixture
from tests.evolution.harness import rows as db_rows
from tests.live import token_headers
from tests.web.conftest import screenshot_path
from tests.web.shop import Shop, open_panel, send_from_composer
from zapcrm.db import Database
from zapcrm.models import Role

RECORD_LIVE_EVENTS = """
window.liveEvents = [];
document.addEventListener("htmx:sseMessage", event => {
    window.liveEvents.push([Date.now(), event.detail.data]);
});
document.addEventListener("htmx:afterRequest", event => {
    const config = event.detail.requestConfig || {};
    const target = (config.headers || {})["HX-Target"];
    const size = event.detail.xhr ? event.detail.xhr.responseText.length : -1;
    window.liveEvents.push([Date.now(), `REQUEST ${config.verb} ${config.path} ${target} ${size}`]);
});
"""


async def _explain(page: Page, db: Database, failure: str, shop: Shop | None = None) -> str:
    """What the page got live and what Postgres holds (parked early updates included), and
    with the shop what the simulator sent and how its webhook deliveries went, for a
    live-update failure."""
    events = await page.evaluate("() => window.liveEvents || []")
    html = await page.evaluate("() => document.getElementById('messages')?.outerHTML")
    bubbles = await page.evaluate(
        """() => [...document.querySelectorAll(".bubble")].map(b => {
            const path = [];
            for (let e = b; e; e = e.parentElement) path.push(`${e.tagName}#${e.id}`);
            const tick = b.querySelector(".tick");
            return [b.id, b.getAttribute("data-version"), tick && tick.title, path.join(" < ")];
        })"""
    )
    url = page.url
    conversation = url.split("/panel/inbox/")[-1].split("?")[0]
    stored = await db_rows(
        db,
        "select id, status, key_id, from_me, version, body from evolution_messages"
        " where conversation_id = :c order by message_timestamp",
        c=conversation,
    )
    parked = await db_rows(
        db,
        "select u.key_id, u.kind, u.payload, u.received_at from evolution_pending_updates u"
        " join evolution_conversations c on c.instance_id = u.instance_id where c.id = :c",
        c=conversation,
    )
    lines = [failure, f"URL {url}", f"ROWS {stored}", f"PARKED {parked}", f"BUBBLES {bubbles}"]
    if shop is not None:
        sent = (await shop.sim.get(f"/_sim/instances/{shop.instance}/sent")).json()
        deliveries = (await shop.sim.get("/_sim/deliveries")).json()
        lines += [f"SIM SENT {sent}"[:3000], f"SIM DELIVERIES {deliveries[-30:]}"[:4000]]
    lines.append(f"MESSAGES {html}")
    lines += [f"EVENT {at} {data[:1500]}" for at, data in events]
    return "\n".join(lines)


async def test_a_whole_conversation_from_first_message_to_reopening(
    shop: Shop, db: Database
) -> None:
    operator = await shop.user(Role.OPERATOR)
    page = await shop.panel(user=operator)
    await page.add_init_script(RECORD_LIVE_EVENTS)
    customer = await shop.customer("Dona Cida")
    await page.goto("/panel/inbox?tab=unassigned")
    await expect(page.locator("[sse-connect]")).to_have_count(1)
    await page.wait_for_timeout(300)  # let the live stream open

    await customer.writes("Quero encomendar um bolo de fubá")
    row = page.locator(".conv", has_text="Dona Cida")
    await expect(row).to_contain_text("Quero encomendar um bolo de fubá")
    await expect(row.locator(".badge")).to_have_text("1")
    if path := screenshot_path("inbox"):
        await page.screenshot(path=path)

    await row.locator("a").click()
    await expect(page.locator("#chat-header h1")).to_have_text("Dona Cida")
    await expect(page.locator("#messages")).to_contain_text("bolo de fubá")
    await page.get_by_role("button", name="Assumir").click()
    await expect(page.locator("#chat-header .assignee")).to_have_text(operator_name(operator))

    bubble = await send_from_composer(page, "Claro! Para quando seria?")
    await expect(bubble).to_have_count(1)
    await expect(page.locator("#composer-text")).to_have_value("")
    await customer.until_received("Claro! Para quando seria?")
    try:
        # Ours by its id: the gateway's echo may be drawn as a bubble of its own until it is
        # folded into ours (send_from_composer says why that matters), and then it goes.
        await expect(bubble.locator(".tick")).to_have_attribute("title", "lida")
        sent = page.locator("#messages .bubble.out", has_text="Claro! Para quando seria?")
        await expect(sent).to_have_count(1)
    except AssertionError as error:
        raise AssertionError(await _explain(page, db, str(error), shop)) from error
    if path := screenshot_path("conversation"):
        await page.screenshot(path=path)

    await page.get_by_role("button", name="Encerrar").click()
    await expect(page.locator("#chat-header .status")).to_have_text("Encerrada")
    await customer.writes("Esqueci: sem glúten, por favor")
    await expect(page.locator("#messages")).to_contain_text("sem glúten")
    await expect(page.locator("#chat-header .status")).to_have_text("Aberta")


def operator_name(user: UserFixture) -> str:
    return f"{user.role.value} teste"  # the factory's display name


async def test_an_operator_never_sees_a_colleagues_chat_live_or_by_url(shop: Shop) -> None:
    owner = await shop.user(Role.OPERATOR)
    owner_page = await shop.panel(user=owner)
    customer = await shop.customer("Seu Jorge")
    await owner_page.goto("/panel/inbox?tab=unassigned")
    await owner_page.wait_for_timeout(300)
    await customer.writes("primeira mensagem")
    await owner_page.locator(".conv", has_text="Seu Jorge").locator("a").click()
    await owner_page.get_by_role("button", name="Assumir").click()
    await expect(owner_page.locator("#chat-header .assignee")).to_have_text(operator_name(owner))
    conversation_url = owner_page.url

    other_page = await shop.panel(Role.OPERATOR)
    for tab in ("mine", "unassigned"):
        await other_page.goto(f"/panel/inbox?tab={tab}")
        await expect(other_page.locator(".conv", has_text="Seu Jorge")).to_have_count(0)
    await other_page.goto("/panel/inbox?tab=unassigned")
    await other_page.wait_for_timeout(300)
    await customer.writes("segredo: meu CPF é 123")
    await expect(owner_page.locator("#messages")).to_contain_text("segredo")
    await other_page.wait_for_timeout(500)  # the event has reached every stream by now
    assert "segredo" not in await other_page.content()
    response = await other_page.goto(conversation_url)
    assert response is not None
    assert response.status == 404
    await expect(other_page.locator("h1")).to_have_text("Página não encontrada")
    assert "segredo" not in await other_page.content()


async def test_hostile_text_renders_as_text_and_csrf_is_enforced(shop: Shop) -> None:
    page = await shop.panel(Role.SUPERVISOR)
    hostile = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
    customer = await shop.customer('<b onmouseover="x()">Mal</b>')
    await page.goto("/panel/inbox?tab=all")
    await page.wait_for_timeout(300)
    await customer.writes(hostile)
    row = page.locator(".conv").first
    await expect(row).to_contain_text(hostile)  # arrived live, shown as typed
    await row.locator("a").click()
    await expect(page.locator("#messages .body").first).to_have_text(hostile)
    await expect(page.locator("#chat-header h1")).to_have_text('<b onmouseover="x()">Mal</b>')
    assert await page.evaluate("window.__xss") is None
    conversation_id = page.url.rsplit("/", 1)[1].split("?")[0]
    forged = await page.evaluate(
        """async (id) => {
            const r = await fetch(`/panel/conversations/${id}/status`, {
                method: "POST",
                headers: {"content-type": "application/x-www-form-urlencoded"},
                body: "status=closed",
            });
            return r.status;
        }""",
        conversation_id,
    )
    assert forged == 403
    await expect(page.locator("#chat-header .status")).to_have_text("Aberta")
    await page.get_by_role("button", name="Sair").click()
    # The chat's own requests in flight when the session ended may win the race to navigate:
    # they send the reader to the same login form, with the chat to come back to (`next`).
    await page.wait_for_url(re.compile(r"/panel/login(\?next=/panel/inbox/[0-9a-f-]+)?$"))
    await page.goto("/panel/inbox")
    await page.wait_for_url("**/panel/login?next=/panel/inbox")


async def test_on_a_phone_the_list_and_the_chat_are_separate_screens(shop: Shop) -> None:
    page = await shop.panel(Role.OPERATOR, viewport=(390, 844))
    customer = await shop.customer("Bia")
    # A long first line: its row ends in "…" instead of widening the list past the screen.
    await customer.writes("oi, vocês abrem sábado? " + "e no domingo, e nos feriados? " * 4)
    await page.goto("/panel/inbox?tab=unassigned")
    row = page.locator(".conv", has_text="Bia")
    await expect(row).to_be_visible()
    await expect(page.locator(".chat-pane")).to_be_hidden()
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    if path := screenshot_path("phone-inbox"):
        await page.screenshot(path=path)
    await row.locator("a").click()
    await expect(page.locator(".list-pane")).to_be_hidden()
    await expect(page.locator("#messages")).to_contain_text("sábado")
    await expect(page.locator("#composer-text")).to_be_visible()
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390  # nothing forces sideways scrolling
    if path := screenshot_path("phone-conversation"):
        await page.screenshot(path=path)
    # A notice shows at the top, clear of the composer's buttons at the bottom.
    await page.evaluate(
        """document.getElementById("toast").innerHTML = '<p class="toast">Nota salva.</p>'"""
    )
    notice = await page.locator("#toast").bounding_box()
    composer = await page.locator("#composer-text").bounding_box()
    assert notice is not None
    assert composer is not None
    assert notice["y"] + notice["height"] < composer["y"]
    await page.get_by_role("link", name="Voltar para a lista").click()
    await expect(page.locator(".list-pane")).to_be_visible()
    # On the contact list a number stays on one line, and the language links follow the page
    # instead of lying over its last row.
    await page.goto("/panel/contacts")
    cell = page.locator("td.phone-cell").first
    await expect(cell).to_be_visible()
    height = await cell.evaluate("cell => cell.getBoundingClientRect().height")
    line = await cell.evaluate("cell => parseFloat(getComputedStyle(cell).lineHeight) || 20")
    assert height < 2 * line, (height, line, await cell.inner_text())
    assert await page.locator("footer.langs").evaluate("f => getComputedStyle(f).position") == (
        "static"
    )


async def test_the_filter_builder_saves_a_segment(
    chromium: PlaywrightBrowser, live_server: str, factory: Factory
) -> None:
    company_id = await factory.company()
    admin = await factory.user(company_id, Role.ADMIN)
    async with httpx.AsyncClient(base_url=live_server, timeout=10) as api:
        headers = await token_headers(api, admin)
        for name, tags in (("Lia VIP", ["vip"]), ("Rui VIP", ["vip"]), ("Téo", ["novo"])):
            response = await api.post(
                "/api/contacts", json={"name": name, "tags": tags}, headers=headers
            )
            assert response.status_code == 201, response.text
    page = await open_panel(chromium, live_server, admin)
    await page.goto("/panel/contacts")
    await page.get_by_role("button", name="+ condição", exact=True).click()
    condition = page.locator(".condition").first
    await condition.get_by_label("Campo").select_option("tags")
    await condition.get_by_label("Operador").select_option("contains")
    await condition.get_by_label("Valor").fill("vip")
    await page.get_by_role("button", name="Aplicar").click()
    await expect(page.locator("table.contacts tbody tr")).to_have_count(2)
    await expect(page.locator(".count")).to_contain_text("2")
    if path := screenshot_path("contacts"):
        await page.screenshot(path=path)
    await page.get_by_placeholder("Nome do segmento").fill("Clientes VIP")
    await page.get_by_role("button", name="Salvar como segmento").click()
    await page.wait_for_url("**/panel/contacts?segment=*")
    await expect(page.locator("#segment option:checked")).to_have_text("Clientes VIP")
    await expect(page.locator("table.contacts tbody tr")).to_have_count(2)
    await expect(page.locator("table.contacts")).not_to_contain_text("Téo")
    await page.context.close()


async def test_import_progress_reaches_the_end_without_the_live_stream(
    chromium: PlaywrightBrowser,
    live_server: str,
    live_worker: None,
    factory: Factory,
    tmp_path: Path,
) -> None:
    """A proxy that buffers Server-Sent Events (or a stream that drops) must not leave the
    progress bar frozen: the block reads itself while the import runs."""
    admin = await factory.user(await factory.company(), Role.ADMIN)
    csv_file = tmp_path / "poucos.csv"
    csv_file.write_text("nome;telefone\nJoana Lima;(11) 98765-2001\n", encoding="utf-8")
    page = await open_panel(chromium, live_server, admin)
    await page.route("**/panel/events**", lambda route: route.abort())
    await page.goto("/panel/contacts/import")
    await page.set_input_files("#file", str(csv_file))
    await page.get_by_role("button", name="Enviar e ver prévia").click()
    await page.wait_for_url("**/panel/contacts/import/*")
    await page.get_by_role("button", name="Importar").click()
    await expect(page.locator("#import-progress h2")).to_have_text(
        "Importação concluída", timeout=30000
    )
    await expect(page.locator("#import-progress .created")).to_have_text("1")
    await page.context.close()


async def test_a_csv_import_runs_with_live_progress_and_offers_the_failed_rows(
    chromium: PlaywrightBrowser,
    live_server: str,
    live_worker: None,
    factory: Factory,
    tmp_path: Path,
) -> None:
    admin = await factory.user(await factory.company(), Role.ADMIN)
    csv_file = tmp_path / "clientes.csv"
    csv_file.write_text(
        "nome;telefone;e-mail\n"
        "Marta Rocha;(11) 98765-1001;marta@exemplo.com.br\n"
        "Pedro Alves;+55 21 98765-1002;pedro@\n"
        '"Luana ""Lu"" Dias";031 98765 1003;lu@exemplo.com.br\n'
        "Sem Telefone;abc;\n",
        encoding="utf-8",
    )
    page = await open_panel(chromium, live_server, admin)
    await page.goto("/panel/contacts")
    await page.get_by_role("link", name="Importar CSV").click()
    await page.set_input_files("#file", str(csv_file))
    await page.get_by_role("button", name="Enviar e ver prévia").click()
    await page.wait_for_url("**/panel/contacts/import/*")
    await expect(page.locator("table.mapping tbody tr")).to_have_count(4)
    await expect(page.get_by_label("telefone", exact=True)).to_have_value("phone")
    await expect(page.get_by_label("nome", exact=True)).to_have_value("name")
    if path := screenshot_path("import-mapping"):
        await page.screenshot(path=path)
    await page.get_by_role("button", name="Importar").click()
    await expect(page.locator("#import-progress h2")).to_have_text(
        "Importação concluída", timeout=45000
    )
    await expect(page.locator("#import-progress .created")).to_have_text("3")
    await expect(page.locator("#import-progress .failed")).to_have_text("1")
    # Pedro came in without his e-mail, which could not be read.
    await expect(page.locator("#import-progress .warned")).to_have_text("1")
    await expect(page.locator("#import-progress progress")).to_have_attribute("value", "100.0")
    if path := screenshot_path("import-done"):
        await page.screenshot(path=path)
    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="Baixar linhas com problemas (CSV)").click()
    download = await download_info.value
    failed = (await download.path()).read_text(encoding="utf-8-sig")
    assert "Sem Telefone" in failed
    assert "importada sem este valor: e-mail inválido" in failed.split("Pedro Alves")[1]
    assert "Marta" not in failed
    await page.context.close()


async def test_a_task_created_in_a_conversation_shows_on_home_and_in_the_badge(
    shop: Shop,
) -> None:
    page = await shop.panel(Role.OPERATOR)
    await shop.open_new_chat(page, "Seu Zé", "Vocês entregam em Niterói?")
    await page.get_by_text("Criar tarefa sobre esta conversa").click()
    await page.get_by_label("Tarefa", exact=True).fill("Confirmar frete para Niterói")
    await page.get_by_role("button", name="Criar tarefa").click()
    await expect(page.locator("#toast")).to_contain_text("Tarefa criada")
    await expect(page.locator("#task-badge")).to_have_text("1")
    await page.get_by_role("link", name="Início").click()
    task = page.locator(".task", has_text="Confirmar frete para Niterói")
    await expect(task).to_be_visible()
    if path := screenshot_path("home"):
        await page.screenshot(path=path)
    await task.get_by_role("link", name="conversa").click()
    await expect(page.locator("#chat-header h1")).to_have_text("Seu Zé")


async def test_quick_replies_fill_the_composer_and_notes_reach_colleagues_live(
    shop: Shop,
) -> None:
    supervisor = await shop.user(Role.SUPERVISOR)
    async with httpx.AsyncClient(base_url=shop.base_url, timeout=10) as api:
        response = await api.post(
            "/api/quick-replies",
            json={"shortcut": "/horario", "title": "Horário",
                  "body": "Oi {{primeiro_nome}}, abrimos das 9h às 18h."},
            headers=await token_headers(api, supervisor),
        )  # fmt: skip
        assert response.status_code == 201, response.text
    boss = await shop.panel(user=supervisor)
    page = await shop.panel(Role.OPERATOR)
    customer = await shop.open_new_chat(page, "Carla Mendes", "Que horas vocês abrem?")
    await boss.goto(page.url)
    await expect(boss.locator("#messages")).to_contain_text("Que horas")
    await boss.wait_for_timeout(300)
    await page.get_by_label("Resposta rápida").select_option(label="/horario — Horário")
    await expect(page.locator("#composer-text")).to_have_value("Oi Carla, abrimos das 9h às 18h.")
    await page.fill("#composer-text", "Cliente pediu retorno amanhã")
    await page.get_by_role("button", name="Nota interna").click()
    note = page.locator(".bubble.note", has_text="Cliente pediu retorno amanhã")
    await expect(note).to_have_count(1)
    await expect(page.locator("#composer-text")).to_have_value("")
    await expect(
        boss.locator(".bubble.note", has_text="Cliente pediu retorno amanhã")
    ).to_have_count(1)
    assert "Cliente pediu retorno" not in " ".join(await customer.received())


async def test_an_attached_photo_reaches_the_customer(shop: Shop, tmp_path: Path) -> None:
    page = await shop.panel(Role.OPERATOR)
    photo = tmp_path / "vitrine.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 128)
    await shop.open_new_chat(page, "Rita", "Tem foto da vitrine?")
    await page.set_input_files("#attach-file", str(photo))
    await expect(page.locator("#attach")).to_be_visible()
    await page.get_by_placeholder("Legenda (opcional)").fill("Nossa vitrine hoje")
    await page.get_by_role("button", name="Enviar arquivo").click()
    bubble = page.locator(".bubble.out", has_text="Nossa vitrine hoje")
    await expect(bubble).to_have_count(1)
    await expect(page.locator("#attach")).to_be_hidden()
    async with asyncio.timeout(15):
        while True:
            sent = (await shop.sim.get(f"/_sim/instances/{shop.instance}/sent")).json()
            if any(item["endpoint"] == "sendMedia" for item in sent):
                break
            await asyncio.sleep(0.2)
    media = next(item for item in sent if item["endpoint"] == "sendMedia")
    assert media["request"]["mediatype"] == "image"
    assert media["request"]["caption"] == "Nossa vitrine hoje"


async def test_ticks_reach_the_page_even_when_its_live_stream_is_gone(shop: Shop) -> None:
    """A live stream can go away without the page noticing (a proxy or network that drops it
    quietly): a message that has not reached the phone yet is checked again until it has."""
    page = await shop.panel(Role.OPERATOR)
    customer = await shop.open_new_chat(page, "Seu Lima", "Tem pão de queijo?")
    await expect(page.locator("[sse-connect]")).to_have_count(1)
    # The page's live stream goes away (htmx closes it with its element).
    await page.evaluate("() => document.querySelector('[sse-connect]').remove()")
    bubble = await send_from_composer(page, "Temos, quentinho!")
    await expect(bubble.locator(".tick")).to_have_attribute("title", "na fila")
    await customer.until_received("Temos, quentinho!")
    await expect(bubble.locator(".tick")).to_have_attribute(
        "title", re.compile("entregue|lida"), timeout=20_000
    )


async def test_home_shows_a_new_customer_waiting_without_reload(shop: Shop) -> None:
    page = await shop.panel(Role.SUPERVISOR)
    # The sections are read again once the live stream opens; wait for that, so only a
    # live event can bring the new customer in.
    await page.add_init_script(
        """document.addEventListener("htmx:afterSwap", event => {
            // A live fragment's swap (hx-swap="none") has no target.
            if (event.detail.target && event.detail.target.id === "home-grid") {
                window.homeReloaded = true;
            }
        });"""
    )
    await page.goto("/panel/")
    waiting = page.locator(".waiting")
    await expect(waiting).to_contain_text("Ninguém esperando")
    await page.wait_for_function("() => window.homeReloaded === true")
    customer = await shop.customer("Dona Neide")
    await customer.writes("Vocês abrem no feriado?")
    await expect(waiting).to_contain_text("Dona Neide")
    await expect(waiting).to_contain_text("Vocês abrem no feriado?")


async def test_an_empty_queue_says_so_until_a_customer_arrives_live(shop: Shop) -> None:
    page = await shop.panel()
    await page.goto("/panel/inbox?tab=unassigned")
    empty = page.locator("#conversation-list .empty")
    await expect(empty).to_be_visible()
    await expect(empty).to_have_text("Nenhuma conversa aqui.")
    customer = await shop.customer("Seu Valdir")
    await customer.writes("Tem pão de queijo hoje?")
    await expect(page.locator(".conv", has_text="Seu Valdir")).to_be_visible()
    await expect(empty).to_be_hidden()
    await page.fill("#q", "ninguém com este nome")
    await expect(page.locator(".conv")).to_have_count(0)
    await expect(empty).to_have_text("Nenhuma conversa encontrada.")
    await expect(empty).to_be_visible()


async def test_a_live_change_in_an_older_chat_keeps_the_list_in_message_order(shop: Shop) -> None:
    watcher = await shop.panel(Role.SUPERVISOR)
    await watcher.goto("/panel/inbox?tab=all")
    await expect(watcher.locator("[sse-connect]")).to_have_count(1)
    older = await shop.customer("Dona Zilda")
    await older.writes("Vocês entregam em Niterói?")
    rows = watcher.locator("#conversation-list .conv .conv-name")
    await expect(rows).to_have_text(["Dona Zilda"])
    # The test simulator's clock stands still unless told: the next message is a minute later.
    assert (await shop.sim.post("/_sim/clock/advance", json={"seconds": 60})).status_code == 200
    newer = await shop.customer("Seu Jorge")
    await newer.writes("Qual o horário de sábado?")
    await expect(rows).to_have_text(["Seu Jorge", "Dona Zilda"])
    # A colleague takes the older chat: its row changes live, and stays below the newer one.
    colleague = await shop.panel(Role.SUPERVISOR)
    await colleague.goto("/panel/inbox?tab=all")
    await colleague.locator(".conv", has_text="Dona Zilda").locator("a").click()
    await colleague.get_by_role("button", name="Assumir").click()
    older_row = watcher.locator(".conv", has_text="Dona Zilda")
    await expect(older_row.locator(".conv-assignee")).to_have_text("supervisor teste")
    await expect(rows).to_have_text(["Seu Jorge", "Dona Zilda"])


async def test_the_chat_header_keeps_its_buttons_when_it_changes_live(shop: Shop) -> None:
    page = await shop.panel(Role.SUPERVISOR)
    await shop.open_new_chat(page, "Dona Célia", "Bom dia, tem pão de queijo?")
    await page.get_by_role("button", name="Assumir").click()
    await expect(page.get_by_role("button", name="Assumir")).to_have_count(0)  # answered
    close = page.get_by_role("button", name="Encerrar")
    button = await close.element_handle()
    version = await page.locator("#chat-header").get_attribute("data-version")
    assert version is not None
    # A colleague takes the chat over: the header is drawn again, live.
    colleague = await shop.user(Role.SUPERVISOR)
    found = re.search(r"/panel/inbox/([0-9a-f-]{36})", page.url)
    assert found, page.url
    conversation_id = found.group(1)
    async with httpx.AsyncClient(base_url=shop.base_url, timeout=10) as api:
        taken = await api.post(
            f"/api/conversations/{conversation_id}/assign",
            json={"assignee_id": str(colleague.id)},
            headers=await token_headers(api, colleague),
        )
    assert taken.status_code == 200, taken.text
    await expect(page.locator("#chat-header")).not_to_have_attribute("data-version", version)
    # Morphed in place: a click pressed as the header changed reaches the same button (a
    # replaced header lost it, under load, right after the taking over).
    assert await button.evaluate("element => element.isConnected")
    await close.click()
    await expect(page.locator("#chat-header .status")).to_have_text("Encerrada")


async def test_a_supervisor_reads_the_service_of_the_day_in_reports(shop: Shop) -> None:
    supervisor = await shop.user(Role.SUPERVISOR)
    page = await shop.panel(user=supervisor)
    await shop.open_new_chat(page, "Dona Lurdes", "Vocês fazem bolo sem lactose?")
    await page.get_by_role("button", name="Assumir").click()
    await page.fill("#composer-text", "Fazemos sim! Para quando?")
    await page.keyboard.press("Enter")
    await expect(page.locator("#messages .bubble.out")).to_have_count(1)
    await page.get_by_role("button", name="Encerrar").click()
    await expect(page.locator("#chat-header .status")).to_have_text("Encerrada")

    await page.get_by_role("link", name="Relatórios").click()
    await expect(page.locator("h1")).to_have_text("Relatórios")
    started = page.locator("dl.counts div", has_text="Iniciados").locator("dd")
    await expect(started).to_have_text("1")
    await expect(page.locator("dl.counts div", has_text="Encerrados").locator("dd")).to_have_text(
        "1"
    )
    agent_row = page.locator("table tr", has_text=operator_name(supervisor))
    await expect(agent_row).to_contain_text("1")
    # The day's bar and the customer's hour on the weekday map (the one message: darkest).
    await expect(page.get_by_test_id("days-chart").locator("rect")).to_have_count(14)
    await expect(page.get_by_test_id("heat-map").locator("td.heat-4")).to_have_text(["1"])
    if path := screenshot_path("reports"):
        await page.screenshot(path=path, full_page=True)

    # Typed dates are the period (the preset in the menu no longer overrides them)...
    await page.fill("input[name=from]", "2026-01-05")
    await page.fill("input[name=to]", "2026-01-09")
    await page.get_by_role("button", name="Ver relatório").click()
    await expect(page.locator(".reports > p.muted").first).to_contain_text(
        "De 05/01/2026 a 09/01/2026"
    )
    await expect(started).to_have_text("0")
    # ...and a preset applies as soon as it is chosen.
    # (30 days, not "today": a run that crosses midnight in São Paulo would find yesterday's chat
    # out of "today", the one way this test failed.)
    await page.select_option("select[name=period]", "30d")
    await expect(page).to_have_url(re.compile(r"period=30d"))
    await expect(started).to_have_text("1")


PHONE_WIDTH = 390
# The furthest right edge of anything in the page's main area outside a sideways-scrolling
# box: the page itself does not scroll sideways (main clips it), so its width says nothing.
RIGHT_EDGE = """Math.max(...[...document.querySelectorAll('main *')]
    .filter(e => !e.closest('.table-scroll') && getComputedStyle(e).position !== 'absolute')
    .map(e => e.getBoundingClientRect().right))"""


async def test_on_a_phone_every_page_fits_the_screen(shop: Shop) -> None:
    """Wide tables (queue health, contacts, users) scroll inside their box instead of pushing
    the page past the screen's edge, as the home's, the contacts' and the users' did."""
    for role, paths in (
        (Role.SUPERVISOR, ["/panel/", "/panel/contacts", "/panel/reports", "/panel/campaigns",
                           "/panel/admin/distribution", "/panel/tasks"]),
        (Role.ADMIN, ["/panel/admin/users", "/panel/admin/hours", "/panel/contacts/list-rules"]),
    ):  # fmt: skip
        page = await shop.panel(role, viewport=(PHONE_WIDTH, 844))
        for path in paths:
            await page.goto(path)
            await expect(page.locator("main h1").first).to_be_visible()
            assert await page.evaluate(RIGHT_EDGE) <= PHONE_WIDTH, path
