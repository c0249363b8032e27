"""Contact pages over HTTP: search and filter builder, segments, bulk tags, export, the contact
page (edit, validation, merge, timeline) and tenant isolation."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.conftest import Factory, UserFixture, login
from tests.evolution.harness import new_instance, post, rows, text_message
from tests.web.conftest import Browser, panel_login
from zapcrm.db import Database
from zapcrm.models import Role


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
    assert "<strong>2</strong>" in filtered.text
    hostile = await http.get(
        "/panel/contacts",
        params=[("field", "name; drop table contacts"), ("operator", "equals"), ("value", "x")],
    )
    assert hostile.status_code == 422
    assert "campo desconhecido" in hostile.text or "filter" in hostile.text
    assert "<table" not in hostile.text


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
    assert 'hx-post="/panel/contacts/bulk-stage"' in listed.text
    assert "Mover os 2 contato(s) desta lista para a etapa escolhida?" in listed.text
    assert "Mudar a etiqueta dos 2 contato(s) desta lista?" in listed.text
    # Both bulk forms carry the list they apply to.
    assert listed.text.count(f'<input type="hidden" name="segment" value="{segment_id}">') == 2
    assert 'hx-trigger="contacts-changed from:body"' in listed.text
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
    assert 'value="+5511987650199"' in page.text  # any human format, stored canonical
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
