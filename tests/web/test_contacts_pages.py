"""Contact pages over HTTP: search and filter builder, segments, bulk tags, export, the contact
page (edit, validation, merge, timeline) and tenant isolation."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from playwright.async_api import Dialog, expect

from tests.conftest import Factory, UserFixture, login
from tests.contacts.importing.conftest import csv_bytes, import_file, new_tenant
from tests.evolution.harness import new_instance, post, rows, text_message
from tests.web.conftest import Browser, panel_login
from tests.web.shop import Shop
from zapcrm.db import Database
from zapcrm.models import Role
from zapcrm.runtime import Runtime
from zapcrm.web.pages import contacts as contact_pages


async def _contact(client: httpx.AsyncClient, user: UserFixture, **fields: Any) -> str:
    response = await client.post("/api/contacts", json=fields, headers=await login(client, user))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _people(
    client: httpx.AsyncClient, factory: Factory
) -> tuple[UserFixture, dict[str, str]]:
    company = await factory.company()
    admin = await factory.user(company, Role.ADMIN)
    ids = {
        "ana": await _contact(
            client, admin, name="Ana Souza", phone="11987650101", tags=["vip"], source="site"
        ),
        "bruno": await _contact(
            client, admin, name="Bruno Lima", phone="21987650102", tags=["vip", "atacado"]
        ),
        "carla": await _contact(
            client, admin, name='=HYPERLINK("http://x")', phone="31987650103", source="feira"
        ),
    }
    return admin, ids


async def test_search_and_filter_builder_narrow_the_list(
    new_browser: Browser, client: httpx.AsyncClient, factory: Factory
) -> None:
    admin, ids = await _people(client, factory)
    http = await new_browser()
    await panel_login(http, admin)
    searched = await http.get("/panel/contacts", params={"q": "souza"})
    assert searched.status_code == 200
    assert ids["ana"] in searched.text
    assert ids["bruno"] not in searched.text
    # (tags contains vip) AND (source equals site OR name contains lima)
    params: list[tuple[str, str | int | float | bool | None]] = [
        ("match", "all"),
        ("group_match", "any"),
        ("field", "tags"), ("operator", "contains"), ("value", "vip"), ("group", "0"),
        ("field", "source"), ("operator", "equals"), ("value", "site"), ("group", "1"),
        ("field", "name"), ("operator", "contains"), ("value", "lima"), ("group", "1"),
    ]  # fmt: skip
    filtered = await http.get("/panel/contacts", params=params)
    assert filtered.status_code == 200, filtered.text
    assert ids["ana"] in filtered.text
    assert ids["bruno"] in filtered.text
    assert ids["carla"] not in filtered.text
    counted = await http.get("/panel/contacts/count", params=params)
    assert counted.status_code == 200, counted.text
    assert "<strong>2</strong> contato(s)" in counted.text
    hostile = await http.get(
        "/panel/contacts",
        params=[("field", "name; drop table contacts"), ("operator", "equals"), ("value", "x")],
    )
    assert hostile.status_code == 422
    assert "campo desconhecido" in hostile.text or "filter" in hostile.text
    assert "<table" not in hostile.text


async def test_the_list_shows_its_rows_without_waiting_for_their_count(
    new_browser: Browser, client: httpx.AsyncClient, factory: Factory
) -> None:
    """Counting every match of a common name takes longer than a page of rows: the page holds
    a placeholder that asks for the count (and the bulk actions that say it) once shown."""
    admin, ids = await _people(client, factory)
    http = await new_browser()
    await panel_login(http, admin)
    listed = await http.get("/panel/contacts", params={"q": "souza"})
    assert listed.status_code == 200
    assert ids["ana"] in listed.text
    shown = " ".join(listed.text.split())
    assert (
        '<div id="contact-count" class="list-tools" hx-get="/panel/contacts/count?q=souza"'
        ' hx-trigger="load, contacts-changed from:body">'
        ' <p class="count" role="status">contando…</p> </div>'
    ) in shown
    assert "<strong>1</strong>" not in listed.text
    assert "/panel/contacts/bulk-tag" not in listed.text
    counted = await http.get("/panel/contacts/count", params={"q": "souza"})
    assert counted.status_code == 200
    assert '<p class="count" role="status"><strong>1</strong> contato(s)</p>' in counted.text
    assert "Mudar a etiqueta dos 1 contato(s) desta lista?" in counted.text
    # Without criteria: the number, and no action on the whole base.
    everyone = await http.get("/panel/contacts/count")
    assert "<strong>3</strong> contato(s)" in everyone.text
    assert "/panel/contacts/bulk-tag" not in everyone.text


async def test_a_count_past_its_cap_says_more_than_it_and_never_a_number_it_did_not_count(
    new_browser: Browser,
    client: httpx.AsyncClient,
    db: Database,
    factory: Factory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The list counts up to COUNT_CAP: past it the line and the bulk confirmations say "mais
    de", the reader may ask for every one counted, and a bulk action still changes every
    contact of the list, however many."""
    monkeypatch.setattr(contact_pages, "COUNT_CAP", 2)
    admin = await factory.user(await factory.company(), Role.ADMIN)
    marias = {
        await _contact(client, admin, name=f"Maria {surname}", phone=f"1198765030{index}")
        for index, surname in enumerate(("Souza", "Lima", "Prado"))
    }
    other = await _contact(client, admin, name="Bruno Alves", phone="11987650310")
    made = await client.post(
        "/api/funnel-stages",
        json={"key": "novo", "label": "Novo", "position": 0},
        headers=await login(client, admin),
    )
    assert made.status_code == 201, made.text
    http = await new_browser()
    csrf = await panel_login(http, admin)

    capped = await http.get("/panel/contacts/count", params={"q": "maria"})
    assert capped.status_code == 200, capped.text
    assert "<strong>mais de 2 contatos</strong>" in capped.text
    assert 'hx-get="/panel/contacts/count?q=maria&amp;exact=1"' in capped.text
    assert 'hx-confirm="Mudar a etiqueta de todos os mais de 2 contatos desta lista?"' in (
        capped.text
    )
    assert (
        'hx-confirm="Mover todos os mais de 2 contatos desta lista para a etapa escolhida?"'
        in capped.text
    )
    assert "contato(s)" not in capped.text  # no number of the list's people is claimed

    # Asked for, every one is counted, and the confirmations say that number.
    exact = await http.get("/panel/contacts/count", params={"q": "maria", "exact": "1"})
    assert exact.status_code == 200, exact.text
    assert '<p class="count" role="status"><strong>3</strong> contato(s)</p>' in exact.text
    assert "Mudar a etiqueta dos 3 contato(s) desta lista?" in exact.text
    assert "Mover os 3 contato(s) desta lista para a etapa escolhida?" in exact.text
    assert "mais de" not in exact.text

    # Up to the cap the count is exact; without criteria the kept tallies give it past the cap.
    monkeypatch.setattr(contact_pages, "COUNT_CAP", 3)
    at_cap = await http.get("/panel/contacts/count", params={"q": "maria"})
    assert "<strong>3</strong> contato(s)" in at_cap.text
    assert "mais de" not in at_cap.text
    monkeypatch.setattr(contact_pages, "COUNT_CAP", 2)
    everyone = await http.get("/panel/contacts/count")
    assert "<strong>4</strong> contato(s)" in everyone.text

    # The action applies to the list, not to the counted part of it.
    tagged = await http.post(
        "/panel/contacts/bulk-tag",
        data={"tag": "promo", "action": "add", "q": "maria"},
        headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
    )
    assert tagged.status_code == 200, tagged.text
    assert "3 contato(s) recebeu a etiqueta “promo”" in tagged.text
    found = await rows(
        db,
        "select id::text from contacts where 'promo' = any(tags) and id = any(:ids)",
        ids=[*marias, other],
    )
    assert {row["id"] for row in found} == marias


async def test_in_a_browser_the_reader_asks_for_every_one_counted_before_a_bulk_action(
    shop: Shop, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the cap a confirmation says "todos os mais de"; "contar todos" puts the exact
    number in its place, and the confirmations then say it."""
    monkeypatch.setattr(contact_pages, "COUNT_CAP", 2)
    admin = await shop.user(Role.ADMIN)
    made = await client.post(
        "/api/funnel-stages",
        json={"key": "proposta", "label": "Proposta", "position": 0},
        headers=await login(client, admin),
    )
    assert made.status_code == 201, made.text
    for n in range(3):
        await _contact(client, admin, name=f"Feira {n}", phone=f"1198823{n:04d}")
    page = await shop.panel(user=admin)
    await page.goto("/panel/contacts?q=feira")
    count = page.locator("#contact-count")
    await expect(count.locator(".count")).to_have_text("mais de 2 contatos")
    asked: list[str] = []

    async def confirm(dialog: Dialog) -> None:
        asked.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", confirm)
    # confirm() blocks the click's handler: once the click is done, the question was asked.
    await page.get_by_role("button", name="Mover todos para a etapa").click()
    assert asked == ["Mover todos os mais de 2 contatos desta lista para a etapa escolhida?"]
    await page.get_by_role("button", name="contar todos").click()
    await expect(count.locator(".count")).to_have_text("3 contato(s)")
    await page.get_by_role("button", name="Mover todos para a etapa").click()
    assert asked[1:] == ["Mover os 3 contato(s) desta lista para a etapa escolhida?"]


async def test_a_capped_count_is_written_as_the_page_writes_numbers(
    new_browser: Browser,
    client: httpx.AsyncClient,
    db: Database,
    factory: Factory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """pt-BR digit grouping, as the suggestions' "mais de 1.000 contatos"."""
    monkeypatch.setattr(contact_pages, "COUNT_CAP", 1_000)
    company = await factory.company()
    admin = await factory.user(company, Role.ADMIN)
    await rows(
        db,
        "insert into contacts (company_id, name, phone_e164)"
        " select :company, 'Cliente ' || g, '+55119' || lpad(g::text, 8, '0')"
        " from generate_series(1, 1001) g returning id",
        company=company,
    )
    http = await new_browser()
    await panel_login(http, admin)
    counted = await http.get("/panel/contacts/count", params={"q": "cliente"})
    assert counted.status_code == 200, counted.text
    assert "<strong>mais de 1.000 contatos</strong>" in counted.text
    assert "Mudar a etiqueta de todos os mais de 1.000 contatos desta lista?" in counted.text


async def test_the_list_its_count_and_its_export_refuse_a_segment_that_is_no_id(
    new_browser: Browser, client: httpx.AsyncClient, factory: Factory
) -> None:
    """The three read one set of parameters (web/pages/contacts.py ListParams): a mangled
    segment link gets the same clear 422 from each, never an error page or another list."""
    admin, _ids = await _people(client, factory)
    http = await new_browser()
    await panel_login(http, admin)
    for path in ("/panel/contacts", "/panel/contacts/count", "/panel/contacts/export"):
        response = await http.get(path, params={"segment": "not-an-id", "q": "souza"})
        assert response.status_code == 422, path
        assert "Segmento inválido" in response.text, path


async def test_the_count_is_of_the_list_the_reader_may_see(
    new_browser: Browser, client: httpx.AsyncClient, factory: Factory
) -> None:
    """The count route reads the list's search, filter and segment as the list does, under
    the reader's company (RLS): the same number as the list's rows."""
    admin, _ids = await _people(client, factory)
    await _contact(client, admin, name="Ana Lima", phone="11987650104", tags=["vip"])
    stranger = await factory.user(await factory.company(), Role.ADMIN)
    await _contact(client, stranger, name="Ana Souza", phone="11987650101", tags=["vip"])
    ours, theirs = await new_browser(), await new_browser()
    csrf = await panel_login(ours, admin)
    await panel_login(theirs, stranger)
    vip = (("field", "tags"), ("operator", "contains"), ("value", "vip"))
    cases: list[tuple[tuple[tuple[str, str], ...], int]] = [
        ((), 4),
        ((("q", "ana"),), 2),
        (vip, 3),
        ((("q", "ana"), *vip), 2),
        ((("q", "lima"), *vip), 2),  # Bruno Lima and Ana Lima
        ((("q", "ninguém"),), 0),
    ]
    for params, expected in cases:
        rows_page = await ours.get(
            "/panel/contacts",
            params=params,
            headers={"HX-Request": "true", "HX-Target": "contact-rows"},
        )
        assert rows_page.text.count("<tr>") == expected, params
        counted = await ours.get("/panel/contacts/count", params=params)
        assert counted.status_code == 200, counted.text
        assert f"<strong>{expected}</strong> contato(s)" in counted.text, params
    # The other company's reader counts their own contacts only.
    assert (
        "<strong>1</strong> contato(s)"
        in (await theirs.get("/panel/contacts/count", params={"q": "ana"})).text
    )
    saved = await ours.post(
        "/panel/contacts/segments",
        data={
            "name": "VIP",
            "filter_json": json.dumps(
                {
                    "op": "and",
                    "conditions": [{"field": "tags", "operator": "contains", "value": "vip"}],
                }
            ),
        },
        headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
    )
    segment_id = saved.headers["HX-Redirect"].split("segment=")[1]
    in_segment = await ours.get("/panel/contacts/count", params={"segment": segment_id})
    assert "<strong>3</strong> contato(s)" in in_segment.text
    assert f'<input type="hidden" name="segment" value="{segment_id}">' in in_segment.text
    # Another company's segment is not one the reader may count.
    assert (
        await theirs.get("/panel/contacts/count", params={"segment": segment_id})
    ).status_code == 404


async def test_the_search_box_lists_everyone_at_a_domain_by_its_name(
    new_browser: Browser, client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.user(await factory.company(), Role.ADMIN)
    gabi = await _contact(client, admin, name="Gabi", email="gabi.reis@gmail.com")
    hugo = await _contact(client, admin, name="Hugo", email="hugo@hotmail.com")
    http = await new_browser()
    await panel_login(http, admin)
    for q in ("gmail", "@gmail", "gmail.com"):
        searched = await http.get("/panel/contacts", params={"q": q})
        assert searched.status_code == 200, q
        assert gabi in searched.text, q
        assert hugo not in searched.text, q


async def test_a_name_found_nowhere_offers_the_closest_spellings(
    new_browser: Browser, client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.user(await factory.company(), Role.ADMIN)
    silvia = await _contact(client, admin, name="Sílvia Prado", phone="11987650201")
    http = await new_browser()
    await panel_login(http, admin)
    searched = await http.get("/panel/contacts", params={"q": "slivia"})
    assert searched.status_code == 200
    shown = " ".join(searched.text.split())
    assert "Nenhum contato encontrado." in shown
    offer = 'Você quis dizer <a href="/panel/contacts?q=S%C3%ADlvia">Sílvia</a> (1 contato)?'
    assert offer in shown
    followed = await http.get("/panel/contacts?q=S%C3%ADlvia")
    assert silvia in followed.text
    assert "Você quis dizer" not in followed.text
    # A search that finds someone asks nothing.
    assert "Você quis dizer" not in (await http.get("/panel/contacts?q=prado")).text


async def test_a_filter_becomes_a_segment_and_bulk_tags_apply_to_its_list(
    new_browser: Browser, client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    admin, ids = await _people(client, factory)
    http = await new_browser()
    csrf = await panel_login(http, admin)
    filter_json = (
        '{"op": "and", "conditions": [{"field": "tags", "operator": "contains", "value": ["vip"]}]}'
    )
    headers = {"X-CSRF-Token": csrf, "HX-Request": "true"}
    saved = await http.post(
        "/panel/contacts/segments",
        data={"name": "Clientes VIP", "filter_json": filter_json},
        headers=headers,
    )
    assert saved.status_code == 204, saved.text
    target = saved.headers["HX-Redirect"]
    segment_page = await http.get(target)
    assert "Clientes VIP" in segment_page.text
    assert ids["ana"] in segment_page.text
    assert ids["carla"] not in segment_page.text
    segment_id = target.split("segment=")[1]
    tagged = await http.post(
        "/panel/contacts/bulk-tag",
        data={"tag": "black friday", "action": "add", "segment": segment_id},
        headers=headers,
    )
    assert tagged.status_code == 200, tagged.text
    assert "2 contato(s) recebeu a etiqueta “black friday”" in tagged.text
    tags = await rows(
        db, "select id::text, tags from contacts where id = any(:ids)", ids=list(ids.values())
    )
    with_tag = {row["id"] for row in tags if "black friday" in row["tags"]}
    assert with_tag == {ids["ana"], ids["bruno"]}
    assert tagged.headers["HX-Trigger"] == "contacts-changed"  # the rows read themselves again
    everyone = await http.post("/panel/contacts/bulk-tag", data={"tag": "x"}, headers=headers)
    assert everyone.status_code == 422  # no criteria: never the whole base by accident

    # The same list moved to a funnel stage at once: offered once stages exist, confirmed first.
    admin_headers = await login(client, admin)
    for position, (key, label) in enumerate((("novo", "Novo"), ("proposta", "Proposta"))):
        made = await client.post(
            "/api/funnel-stages",
            json={"key": key, "label": label, "position": position},
            headers=admin_headers,
        )
        assert made.status_code == 201, made.text
    listed = await http.get(target)
    assert 'hx-trigger="contacts-changed from:body"' in listed.text
    # The bulk forms come with the list's count, which the page asks for after its rows.
    counted = await http.get(target.replace("/panel/contacts?", "/panel/contacts/count?"))
    assert 'hx-post="/panel/contacts/bulk-stage"' in counted.text
    assert "Mover os 2 contato(s) desta lista para a etapa escolhida?" in counted.text
    assert "Mudar a etiqueta dos 2 contato(s) desta lista?" in counted.text
    # Both bulk forms carry the list they apply to.
    assert counted.text.count(f'<input type="hidden" name="segment" value="{segment_id}">') == 2
    moved = await http.post(
        "/panel/contacts/bulk-stage",
        data={"stage": "proposta", "segment": segment_id},
        headers=headers,
    )
    assert moved.status_code == 200, moved.text
    assert "2 contato(s) mudou de etapa." in moved.text
    assert moved.headers["HX-Trigger"] == "contacts-changed"
    stages = await rows(
        db,
        "select id::text, funnel_stage from contacts where id = any(:ids)",
        ids=list(ids.values()),
    )
    assert {row["id"]: row["funnel_stage"] for row in stages} == {
        ids["ana"]: "proposta",
        ids["bruno"]: "proposta",
        ids["carla"]: None,
    }
    # The rows the list reads again name the new stage.
    reread = await http.get(target, headers={"HX-Request": "true", "HX-Target": "contact-rows"})
    assert reread.text.count("<td>Proposta</td>") == 2
    forged = await http.post(
        "/panel/contacts/bulk-stage", data={"stage": "novo", "segment": segment_id}
    )
    assert forged.status_code == 403


async def test_export_is_for_supervisors_and_neutralises_formulas(
    new_browser: Browser, client: httpx.AsyncClient, factory: Factory
) -> None:
    admin, _ids = await _people(client, factory)
    http = await new_browser()
    await panel_login(http, admin)
    response = await http.get("/panel/contacts/export", params={"q": "hyperlink"})
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    assert response.headers["content-type"].startswith("text/csv")
    assert "'=HYPERLINK" in response.text
    operator = await factory.user(admin.company_id, Role.OPERATOR)
    other = await new_browser()
    await panel_login(other, operator)
    assert (await other.get("/panel/contacts/export")).status_code == 404
    assert "Exportar CSV" not in (await other.get("/panel/contacts")).text


async def test_new_contact_form_shows_field_errors_and_conflicts(
    new_browser: Browser, client: httpx.AsyncClient, factory: Factory
) -> None:
    admin, ids = await _people(client, factory)
    http = await new_browser()
    csrf = await panel_login(http, admin)
    bad = await http.post(
        "/panel/contacts/new",
        data={"csrf_token": csrf, "name": "Zé <b>", "email": "nao-e-email", "phone": "11 9"},
    )
    assert bad.status_code == 422
    assert 'aria-invalid="true"' in bad.text
    assert 'value="Zé &lt;b&gt;"' in bad.text  # what was typed comes back, escaped
    taken = await http.post(
        "/panel/contacts/new",
        data={"csrf_token": csrf, "name": "Outra Ana", "phone": "+55 (11) 98765-0101"},
    )
    assert taken.status_code == 409
    created = await http.post(
        "/panel/contacts/new",
        data={"csrf_token": csrf, "name": "Dora", "phone": "011 98765 0199", "tags": "a, b"},
    )
    assert created.status_code == 303
    page = await http.get(created.headers["location"])
    assert 'value="+55 11 98765-0199"' in page.text  # any human format, shown as the list does
    assert ids["ana"] not in created.headers["location"]


async def test_contact_page_edits_fields_merges_duplicates_and_shows_history(
    new_browser: Browser, client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    admin, ids = await _people(client, factory)
    twin = await _contact(client, admin, name="Ana S.", email="ana@exemplo.com.br")
    http = await new_browser()
    csrf = await panel_login(http, admin)
    page = await http.get(f"/panel/contacts/{ids['ana']}")
    assert page.status_code == 200
    keys = page.text.split("Identificadores", 1)[1].split("</section>", 1)[0]
    assert ">telefone</span> <code>5511987650101</code>" in keys
    assert "telefone, forma antiga</span> <code>551187650101</code>" in keys  # no ninth digit
    saved = await http.post(
        f"/panel/contacts/{ids['ana']}",
        data={
            "csrf_token": csrf,
            "name": "Ana Souza Prado",
            "phone": "11987650101",
            "email": "ana@exemplo.com.br",
            "tags": "vip, recorrente",
            "source": "site",
            "notes": "prefere manhã",
        },
    )
    assert saved.status_code == 303, saved.text
    stored = await rows(db, "select name, tags, notes from contacts where id = :id", id=ids["ana"])
    assert stored == [
        {"name": "Ana Souza Prado", "tags": ["vip", "recorrente"], "notes": "prefere manhã"}
    ]
    shown = await http.get(saved.headers["location"])
    assert "Alterações salvas." in shown.text
    assert "Dados alterados" in shown.text
    invalid = await http.post(
        f"/panel/contacts/{ids['ana']}",
        data={"csrf_token": csrf, "name": "Ana", "email": "x@"},
    )
    assert invalid.status_code == 422
    assert "Confira os campos" in invalid.text
    suggestion = await http.get(f"/panel/contacts/{ids['ana']}")
    assert "Possíveis duplicados" in suggestion.text
    assert f'name="other_id" value="{twin}"' in suggestion.text
    assert "mesmo e-mail" in suggestion.text
    merged = await http.post(
        f"/panel/contacts/{ids['ana']}/merge", data={"csrf_token": csrf, "other_id": twin}
    )
    assert merged.status_code == 303
    assert await rows(db, "select id from contacts where id = :id", id=twin) == []
    assert "Contatos unificados" in (await http.get(merged.headers["location"])).text


async def test_a_contact_from_whatsapp_reads_its_messages_as_the_chat_shows_them(
    new_browser: Browser, client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)
    said = text_message(
        "TIMELINE1",
        remote_jid="5511987650421@s.whatsapp.net",
        push_name="Rita",
        text_body="Quero o *vestido azul* <tamanho M>",
    )
    assert (await post(client, instance.envelope(said))).status_code == 200
    found = await rows(
        db,
        "select id, source from contacts where company_id = :c and name = 'Rita'",
        c=instance.company_id,
    )
    assert [row["source"] for row in found] == ["WhatsApp"]
    http = await new_browser()
    await panel_login(http, await factory.user(instance.company_id, Role.SUPERVISOR))
    page = (await http.get(f"/panel/contacts/{found[0]['id']}")).text
    history = page.split("Histórico", 1)[1]
    assert "Quero o <strong>vestido azul</strong> &lt;tamanho M&gt;" in history
    assert "*vestido" not in history


async def test_another_companys_contact_does_not_exist(
    new_browser: Browser, client: httpx.AsyncClient, factory: Factory
) -> None:
    _admin, ids = await _people(client, factory)
    stranger = await factory.user(await factory.company(), Role.ADMIN)
    http = await new_browser()
    csrf = await panel_login(http, stranger)
    assert (await http.get(f"/panel/contacts/{ids['ana']}")).status_code == 404
    assert (await http.get(f"/panel/contacts/{uuid.uuid4()}")).status_code == 404
    edit = await http.post(
        f"/panel/contacts/{ids['ana']}", data={"csrf_token": csrf, "name": "hack"}
    )
    assert edit.status_code == 404


async def test_import_upload_needs_the_csrf_header_and_reports_bad_files(
    new_browser: Browser, factory: Factory
) -> None:
    admin = await factory.user(await factory.company(), Role.ADMIN)
    http = await new_browser()
    csrf = await panel_login(http, admin)
    files = {"file": ("clientes.csv", b"nome;telefone\nAna;11987650000\n", "text/csv")}
    forged = await http.post("/panel/contacts/import", files=files)
    assert forged.status_code == 403
    headers = {"X-CSRF-Token": csrf, "HX-Request": "true"}
    binary = {"file": ("foto.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 50, "text/csv")}
    refused = await http.post("/panel/contacts/import", files=binary, headers=headers)
    assert 400 <= refused.status_code < 500
    assert refused.headers["HX-Retarget"] == "#toast"
    accepted = await http.post("/panel/contacts/import", files=files, headers=headers)
    assert accepted.status_code == 204, accepted.text
    mapping = await http.get(accepted.headers["HX-Redirect"])
    assert mapping.status_code == 200
    assert 'name="target_1"' in mapping.text
    assert "UTF-8 · separador ponto e vírgula" in mapping.text
    recent = (await http.get("/panel/contacts/import")).text
    assert "<td>Aguardando mapeamento</td>" in recent
    assert "<td>uploaded</td>" not in recent
    stranger = await new_browser()
    await panel_login(stranger, await factory.user(await factory.company(), Role.ADMIN))
    assert (await stranger.get(accepted.headers["HX-Redirect"])).status_code == 404


async def _attributes(client: httpx.AsyncClient, admin: UserFixture) -> None:
    headers = await login(client, admin)
    for attribute in (
        {"key": "valor", "label": "Valor", "type": "number"},
        {"key": "pontos", "label": "Pontos", "type": "number"},
        {"key": "antigo", "label": "Cliente antigo", "type": "boolean"},
    ):
        made = await client.post("/api/contact-attributes", json=attribute, headers=headers)
        assert made.status_code == 201, made.text


async def test_a_failed_save_keeps_what_was_typed_next_to_its_error(
    new_browser: Browser, client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    admin = await factory.user(await factory.company(), Role.ADMIN)
    await _attributes(client, admin)
    felipe = await _contact(
        client, admin, name="Felipe", phone="62998754291", custom_fields={"valor": 10}
    )
    http = await new_browser()
    csrf = await panel_login(http, admin)
    typed = {
        "csrf_token": csrf,
        "name": "Felipe Rocha",
        "phone": "12345",
        "email": "felipe@gmail.com",
        "tags": "vip, novo",
        "source": "Feira",
        "notes": "ligar de manhã",
        "opted_out": "on",
        "custom.valor": "99,9",
        "custom.antigo": "true",
    }
    bad_phone = await http.post(f"/panel/contacts/{felipe}", data=typed)
    assert bad_phone.status_code == 422
    page = bad_phone.text
    assert '<p class="field-error" id="phone-error">curto demais</p>' in page
    for shown in (
        'value="Felipe Rocha"',
        'value="12345"',
        'value="felipe@gmail.com"',
        'value="vip, novo"',
        'value="Feira"',
        'value="99,9"',
        '<option value="true" selected>',
        ">ligar de manhã</textarea>",
    ):
        assert shown in page, shown
    assert 'name="opted_out" checked' in page
    bad_email = await http.post(
        f"/panel/contacts/{felipe}", data=typed | {"phone": "62998754291", "email": "felipe@@gmail"}
    )
    assert bad_email.status_code == 422
    assert 'id="email-error">e-mail inválido</p>' in bad_email.text
    assert 'value="felipe@@gmail"' in bad_email.text
    assert 'value="Felipe Rocha"' in bad_email.text
    stored = await rows(db, "select name, email, notes from contacts where id = :id", id=felipe)
    assert stored == [{"name": "Felipe", "email": None, "notes": ""}]


async def test_phone_problems_read_in_portuguese_on_both_forms(
    new_browser: Browser, client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.user(await factory.company(), Role.ADMIN)
    felipe = await _contact(client, admin, name="Felipe")
    http = await new_browser()
    csrf = await panel_login(http, admin)
    for phone, problem in (("123", "curto demais"), ("abc-def", "contém letras")):
        for url in ("/panel/contacts/new", f"/panel/contacts/{felipe}"):
            response = await http.post(url, data={"csrf_token": csrf, "name": "F", "phone": phone})
            assert response.status_code == 422, url
            assert f'id="phone-error">{problem}</p>' in response.text, url
            assert "invalid phone number" not in response.text


async def test_a_blank_contact_is_refused_with_a_field_error(
    new_browser: Browser, db: Database, factory: Factory
) -> None:
    company = await factory.company()
    admin = await factory.user(company, Role.ADMIN)
    http = await new_browser()
    csrf = await panel_login(http, admin)
    blank = await http.post(
        "/panel/contacts/new",
        data={"csrf_token": csrf, "name": " ", "phone": "", "email": "", "tags": "vip"},
    )
    assert blank.status_code == 422
    assert 'id="f-name" name="name"' in blank.text
    assert 'aria-invalid="true" aria-describedby="name-error"' in blank.text
    assert 'id="name-error">informe o nome, o telefone ou o e-mail</p>' in blank.text
    assert 'value="vip"' in blank.text
    assert await rows(db, "select id from contacts where company_id = :c", c=company) == []


async def test_the_filter_builder_says_what_to_fix_in_plain_portuguese_once(
    new_browser: Browser, client: httpx.AsyncClient, factory: Factory
) -> None:
    admin, _ids = await _people(client, factory)
    http = await new_browser()
    await panel_login(http, admin)
    cases = {
        ("stage", "contains", "cliente"): (
            "Etapa do funil: escolha é igual a, é diferente de, está preenchido ou está vazio"
        ),
        ("created_at", "contains", "2026"): (
            "Criado em: escolha é igual a, é diferente de, está preenchido, está vazio, "
            "maior / depois de, menor / antes de, há mais de N dias ou nos últimos N dias"
        ),
        ("name", "contains", " "): "Nome: informe um valor ou escolha “está vazio”",
        # Refused by the query service, worded by the builder.
        ("created_at", "gt", "ontem"): (
            "Criado em: use uma data (AAAA-MM-DD ou DD/MM/AAAA) ou data e hora ISO 8601"
        ),
    }
    for (field, operator, value), message in cases.items():
        # The broken condition sits in a group, after a good one.
        params: list[tuple[str, str | int | float | bool | None]] = [
            ("group_match", "all"),
            ("field", "name"), ("operator", "contains"), ("value", "ana"), ("group", "0"),
            ("field", field), ("operator", operator), ("value", value), ("group", "1"),
        ]  # fmt: skip
        response = await http.get("/panel/contacts", params=params)
        assert response.status_code == 422, field
        text = response.text.replace("&#34;", '"')
        assert text.count(message) == 1, (message, response.text)
        assert '<p class="field-error">' + message in text
        assert "Confira as condições destacadas no filtro." in text
        assert "filter.conditions" not in text
        assert "use o operador absent" not in text
    # API clients still get the path and the operators' names.
    api = await client.get(
        "/api/contacts",
        params={
            "filter": json.dumps({"field": "stage", "operator": "contains", "value": "cliente"})
        },
        headers=await login(client, admin),
    )
    assert api.status_code == 422
    assert api.json()["error"]["fields"] == [
        {
            "field": "filter.operator",
            "message": "o operador contains não se aplica a stage; "
            "use equals, not_equals, present, absent",
        }
    ]


async def test_each_field_offers_only_its_operators(
    new_browser: Browser, client: httpx.AsyncClient, factory: Factory
) -> None:
    admin, _ids = await _people(client, factory)
    await _attributes(client, admin)
    http = await new_browser()
    await panel_login(http, admin)
    page = await http.get(
        "/panel/contacts",
        params=[("field", "stage"), ("operator", "equals"), ("value", "x"), ("group", "0")],
    )
    row = page.text.split('<div class="condition"', 1)[1].split("</div>", 1)[0]
    assert '<option value="stage" selected>' in row
    assert '<option value="contains" hidden disabled>' in row
    assert '<option value="present">' in row
    # What panel.js offers when another field is chosen (custom fields by their type).
    builder = page.text.split('<fieldset class="builder" data-operators=\'', 1)[1].split("'>")[0]
    operators = json.loads(builder)
    assert operators["stage"] == ["equals", "not_equals", "present", "absent"]
    assert "contains" not in operators["created_at"]
    assert operators["custom.valor"] == ["equals", "not_equals", "present", "absent", "gt", "lt"]
    assert operators["custom.antigo"] == ["equals", "not_equals", "present", "absent"]


async def test_imported_contacts_say_where_they_came_from_in_words(
    new_browser: Browser,
    client: httpx.AsyncClient,
    db: Database,
    runtime: Runtime,
    factory: Factory,
) -> None:
    tenant = await new_tenant(factory, client, (Role.ADMIN,))
    admin = tenant.users[Role.ADMIN]
    await import_file(
        client, runtime, tenant, csv_bytes(["nome;telefone", "Felipe;62998754291"]), role=Role.ADMIN
    )
    await import_file(
        client,
        runtime,
        tenant,
        csv_bytes(["nome;telefone", "Felipe Rocha;62998754291"]),
        policy="overwrite",
        role=Role.ADMIN,
    )
    bulk = await client.post(
        "/api/contacts/bulk",
        json=[{"name": "Gabi", "phone": "62998754292"}],
        headers=tenant.headers[Role.ADMIN],
    )
    assert bulk.status_code == 200, bulk.text
    found = await rows(
        db,
        "select id::text, name, source from contacts where company_id = :c order by name",
        c=tenant.company_id,
    )
    assert [(row["name"], row["source"]) for row in found] == [
        ("Felipe Rocha", "import"),
        ("Gabi", "api"),
    ]  # the stored keys stay as they are
    felipe, gabi = (row["id"] for row in found)
    http = await new_browser()
    csrf = await panel_login(http, admin)
    page = (await http.get(f"/panel/contacts/{felipe}")).text
    history = page.split("Histórico", 1)[1]
    assert "<strong>Importado de planilha</strong>" in history
    assert "<strong>Atualizado por importação</strong>" in history
    assert "<li>Nome: Felipe → Felipe Rocha</li>" in history
    assert "import." not in history
    assert 'name="source" type="text" value="Importação"' in page
    other = (await http.get(f"/panel/contacts/{gabi}")).text
    assert "<strong>Importado pela API</strong>" in other
    assert 'name="source" type="text" value="API"' in other
    # Saved as shown, the source stays the importer's key.
    saved = await http.post(
        f"/panel/contacts/{felipe}",
        data={
            "csrf_token": csrf,
            "name": "Felipe Rocha",
            "phone": "+55 62 99875-4291",
            "source": "Importação",
        },
    )
    assert saved.status_code == 303, saved.text
    assert await rows(db, "select source from contacts where id = :id", id=felipe) == [
        {"source": "import"}
    ]
    # The filter takes the label too.
    filtered = await http.get(
        "/panel/contacts",
        params=[("field", "source"), ("operator", "equals"), ("value", "Importação")],
    )
    assert felipe in filtered.text
    assert gabi not in filtered.text
    # A change of source says it in words too.
    moved = await http.post(
        f"/panel/contacts/{felipe}",
        data={"csrf_token": csrf, "name": "Felipe Rocha", "source": "Feira"},
    )
    assert moved.status_code == 303, moved.text
    assert "<li>Origem: Importação → Feira</li>" in (await http.get(moved.headers["location"])).text


async def test_the_contact_page_writes_phone_and_numbers_the_readers_way(
    new_browser: Browser, client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    admin = await factory.user(await factory.company(), Role.ADMIN)
    await _attributes(client, admin)
    felipe = await _contact(
        client,
        admin,
        name="Felipe",
        phone="+5562998754291",
        custom_fields={"valor": "12,5", "pontos": "1234,5", "antigo": False},
    )
    http = await new_browser()
    csrf = await panel_login(http, admin)
    page = (await http.get(f"/panel/contacts/{felipe}")).text
    assert 'name="phone" type="tel" value="+55 62 99875-4291"' in page
    assert 'name="custom.valor" type="text" value="12,5"' in page
    # No thousands separator: "1.234,5" is fine, but "1.234" would read back as 1.234.
    assert 'name="custom.pontos" type="text" value="1234,5"' in page
    assert '<option value="false" selected>' in page
    english = (await http.get(f"/panel/contacts/{felipe}", headers={"Accept-Language": "en"})).text
    assert 'name="custom.valor" type="text" value="12.5"' in english
    before = await rows(
        db, "select count(*) as n from contact_events where contact_id = :id", id=felipe
    )
    unchanged = await http.post(
        f"/panel/contacts/{felipe}",
        data={
            "csrf_token": csrf,
            "name": "Felipe",
            "phone": "+55 62 99875-4291",
            "email": "",
            "tags": "",
            "source": "manual",
            "funnel_stage": "",
            "notes": "",
            "custom.valor": "12,5",
            "custom.pontos": "1234,5",
            "custom.antigo": "false",
        },
    )
    assert unchanged.status_code == 303, unchanged.text
    after = await rows(
        db, "select count(*) as n from contact_events where contact_id = :id", id=felipe
    )
    assert after == before  # nothing changed, so nothing was recorded
    stored = await rows(
        db, "select phone_e164, custom_fields from contacts where id = :id", id=felipe
    )
    assert stored == [
        {
            "phone_e164": "+5562998754291",
            "custom_fields": {"valor": 12.5, "pontos": 1234.5, "antigo": False},
        }
    ]
