"""List rules in the panel: a supervisor turns the contact list's filter into a rule for a static
list, pauses and deletes it on the rules page; operators read the rules and change nothing."""

from __future__ import annotations

import httpx

from tests.conftest import Factory, login
from tests.web.conftest import Browser, panel_login
from zapcrm.models import Role

VIP_FILTER = (
    '{"op": "and", "conditions": [{"field": "tags", "operator": "contains", "value": ["vip"]}]}'
)


async def _static_list(client: httpx.AsyncClient, headers: dict[str, str], name: str) -> str:
    response = await client.post(
        "/api/segments", json={"name": name, "kind": "static"}, headers=headers
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_a_supervisor_makes_pauses_and_deletes_a_rule_from_the_panel(
    new_browser: Browser, client: httpx.AsyncClient, factory: Factory
) -> None:
    company = await factory.company()
    supervisor = await factory.user(company, Role.SUPERVISOR)
    api_headers = await login(client, supervisor)
    vips = await _static_list(client, api_headers, "VIPs")
    http = await new_browser()
    csrf = await panel_login(http, supervisor)
    filtered = await http.get(
        "/panel/contacts", params=[("field", "tags"), ("operator", "contains"), ("value", "vip")]
    )
    assert 'hx-post="/panel/contacts/list-rules"' in filtered.text
    assert f'<option value="{vips}">VIPs</option>' in filtered.text

    headers = {"X-CSRF-Token": csrf, "HX-Request": "true"}
    form = {"name": "Etiqueta vip", "segment": vips, "filter_json": VIP_FILTER}
    assert (await http.post("/panel/contacts/list-rules", data=form)).status_code == 403
    created = await http.post("/panel/contacts/list-rules", data=form, headers=headers)
    assert created.status_code == 200, created.text
    assert "Regra criada" in created.text
    (rule,) = (await client.get("/api/list-rules", headers=api_headers)).json()
    assert (rule["name"], rule["segment_id"], rule["active"]) == ("Etiqueta vip", vips, True)
    contact = await client.post(
        "/api/contacts",
        json={"name": "Ana", "phone": "11987650301", "tags": ["vip"]},
        headers=api_headers,
    )
    assert contact.status_code == 201

    page = await http.get("/panel/contacts/list-rules")
    assert page.status_code == 200
    assert "Etiqueta vip" in page.text
    assert f'href="/panel/contacts?segment={vips}">VIPs</a>' in page.text
    assert '<a href="/panel/campaigns/new">Nova campanha</a>' in page.text  # the next step
    paused = await http.post(
        f"/panel/contacts/list-rules/{rule['id']}/active", data={"active": "false"}, headers=headers
    )
    assert paused.status_code == 200, paused.text
    assert "Ativar" in paused.text
    assert (await client.get(f"/api/list-rules/{rule['id']}", headers=api_headers)).json()[
        "active"
    ] is False
    deleted = await http.post(f"/panel/contacts/list-rules/{rule['id']}/delete", headers=headers)
    assert deleted.status_code == 200
    assert (await client.get("/api/list-rules", headers=api_headers)).json() == []
    members = await client.get(f"/api/segments/{vips}/contacts", headers=api_headers)
    assert [item["name"] for item in members.json()["items"]] == ["Ana"]


async def test_operators_read_rules_but_cannot_change_them(
    new_browser: Browser, client: httpx.AsyncClient, factory: Factory
) -> None:
    company = await factory.company()
    supervisor_headers = await login(client, await factory.user(company, Role.SUPERVISOR))
    vips = await _static_list(client, supervisor_headers, "VIPs")
    rule = await client.post(
        "/api/list-rules",
        json={"segment_id": vips, "name": "Etiqueta vip", "filter": {}},
        headers=supervisor_headers,
    )
    assert rule.status_code == 201
    operator = await factory.user(company, Role.OPERATOR)
    http = await new_browser()
    csrf = await panel_login(http, operator)
    page = await http.get("/panel/contacts/list-rules")
    assert "Etiqueta vip" in page.text
    assert "/delete" not in page.text
    assert "/panel/campaigns/new" not in page.text  # operators do not run campaigns
    filtered = await http.get(
        "/panel/contacts", params=[("field", "tags"), ("operator", "contains"), ("value", "vip")]
    )
    assert 'hx-post="/panel/contacts/list-rules"' not in filtered.text
    headers = {"X-CSRF-Token": csrf, "HX-Request": "true"}
    form = {"name": "Minha", "segment": vips, "filter_json": VIP_FILTER}
    refused = await http.post("/panel/contacts/list-rules", data=form, headers=headers)
    assert refused.status_code == 404
    rule_id = rule.json()["id"]
    for action in ("active", "delete"):
        response = await http.post(
            f"/panel/contacts/list-rules/{rule_id}/{action}", headers=headers
        )
        assert response.status_code == 404
    assert len((await client.get("/api/list-rules", headers=supervisor_headers)).json()) == 1
