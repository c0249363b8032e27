"""The funnel and fields admin page: stages and fields renamed and moved in place, a refused
change shown on the page with the form it came from."""

from __future__ import annotations

import re

from tests.conftest import Factory
from tests.web.conftest import Browser, panel_login
from zapcrm.models import Role


def _stage_order(html: str) -> list[str]:
    """The stage keys in the order the page lists them."""
    stages = html.split("Etapas do funil", 1)[1].split("Campos personalizados", 1)[0]
    return re.findall(r'<code class="muted">([a-z_0-9]+)</code>', stages)


async def test_an_admin_renames_and_moves_stages_and_fields(
    new_browser: Browser, factory: Factory
) -> None:
    http = await new_browser()
    csrf = await panel_login(http, await factory.user(await factory.company(), Role.ADMIN))
    for label in ("Primeiro contato", "Proposta", "Fechado"):
        added = await http.post("/panel/admin/stages", data={"csrf_token": csrf, "label": label})
        assert added.status_code == 303
    page = (await http.get("/panel/admin/fields")).text
    assert _stage_order(page) == ["primeiro_contato", "proposta", "fechado"]
    ids = re.findall(r'action="/panel/admin/stages/([0-9a-f-]{36})/move"', page)
    # The first cannot go up, the last cannot go down; each button names its stage.
    assert 'value="0" class="icon" disabled aria-label="Subir Primeiro contato"' in page
    assert 'value="3" class="icon" disabled aria-label="Descer Fechado"' in page
    # Up from the third place is the second (the place index 1), as the button says.
    assert 'name="position" value="1" class="icon" aria-label="Subir Fechado"' in page

    moved = await http.post(
        f"/panel/admin/stages/{ids[2]}/move", data={"csrf_token": csrf, "position": "1"}
    )
    assert moved.status_code == 303
    renamed = await http.post(
        f"/panel/admin/stages/{ids[1]}", data={"csrf_token": csrf, "label": "Proposta enviada"}
    )
    assert renamed.status_code == 303
    page = (await http.get("/panel/admin/fields")).text
    assert _stage_order(page) == ["primeiro_contato", "fechado", "proposta"]
    assert "Proposta enviada" in page
    new_contact = (await http.get("/panel/contacts/new")).text
    assert '<option value="proposta">Proposta enviada</option>' in new_contact

    added = await http.post(
        "/panel/admin/attributes",
        data={"csrf_token": csrf, "label": "Tamanho", "type": "list", "options": "P\nM"},
    )
    assert added.status_code == 303
    page = (await http.get("/panel/admin/fields")).text
    (field_id,) = re.findall(r'action="/panel/admin/attributes/([0-9a-f-]{36})"', page)
    changed = await http.post(
        f"/panel/admin/attributes/{field_id}",
        data={"csrf_token": csrf, "label": "Tamanho da roupa", "options": "P\nM\nG\n"},
    )
    assert changed.status_code == 303
    page = (await http.get("/panel/admin/fields")).text
    assert "Tamanho da roupa" in page
    assert "(P, M, G)" in page
    crowded = await http.post(
        f"/panel/admin/attributes/{field_id}",
        data={"csrf_token": csrf, "label": "Tamanho", "options": "\n".join(map(str, range(101)))},
    )
    assert crowded.status_code == 422  # said under the options, not as a missing name
    assert 'class="field-error" id="options-error"' in crowded.text
    assert "dê um nome ao campo" not in crowded.text
    removed = await http.post(
        f"/panel/admin/attributes/{field_id}/delete",
        data={"csrf_token": csrf},
        headers={"HX-Request": "true"},
    )
    assert removed.status_code == 204
    assert removed.headers["HX-Redirect"] == "/panel/admin/fields?ok=deleted"
    assert "Tamanho da roupa" not in (await http.get("/panel/admin/fields")).text


async def test_a_refused_change_comes_back_on_the_page(
    new_browser: Browser, factory: Factory
) -> None:
    http = await new_browser()
    csrf = await panel_login(http, await factory.user(await factory.company(), Role.ADMIN))
    for label in ("Lead", "Cliente"):
        await http.post("/panel/admin/stages", data={"csrf_token": csrf, "label": label})
    page = (await http.get("/panel/admin/fields")).text
    first, second = re.findall(r'action="/panel/admin/stages/([0-9a-f-]{36})"', page)
    taken = await http.post(
        f"/panel/admin/stages/{second}", data={"csrf_token": csrf, "label": "lead"}
    )
    assert taken.status_code == 409
    assert '<p class="alert" role="alert">Já existe uma etapa chamada lead</p>' in taken.text
    # The refused stage's form is the one open, its focus in the name.
    assert re.search(r'<details class="inline-edit" open>\s*<summary>editar', taken.text)
    focused = f'id="label-{second}" name="label" required maxlength="100" value="Cliente" autofocus'
    assert focused in taken.text
    blank = await http.post(f"/panel/admin/stages/{first}", data={"csrf_token": csrf, "label": ""})
    assert blank.status_code == 422
    assert "dê um nome à etapa" in blank.text
    empty_list = await http.post(
        "/panel/admin/attributes",
        data={"csrf_token": csrf, "label": "Cor", "type": "list", "options": ""},
    )
    assert empty_list.status_code == 422
    # What was typed is still there to fix.
    assert 'placeholder="Ex.: Data de nascimento" value="Cor"' in empty_list.text
    assert '<option value="list" selected>' in empty_list.text
