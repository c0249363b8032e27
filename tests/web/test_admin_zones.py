"""Time zones read as people name them ("Horário de Brasília"), in the reader's language,
wherever the panel mentions one; the company settings list Brazil's zones first, by name,
while the form still posts the IANA id."""

from __future__ import annotations

import re

import httpx

from tests.conftest import Factory
from tests.web.conftest import Browser, panel_login
from zapcrm.kit.zones import zone_choices, zone_name
from zapcrm.models import Role


def test_zones_have_their_human_names_in_each_language() -> None:
    assert zone_name("America/Sao_Paulo", "pt_BR") == "Horário de Brasília"
    assert zone_name("America/Sao_Paulo", "en") == "Brasilia Time"
    assert zone_name("America/Manaus", "pt_BR") == "Horário do Amazonas"
    # Babel names a few zones by an older id's path; the city is what people read.
    buenos_aires = zone_name("America/Argentina/Buenos_Aires", "pt_BR")
    assert buenos_aires == "Horário Argentina (Buenos Aires)"
    assert zone_name("Mars/Olympus_Mons", "pt_BR") == "Mars/Olympus Mons"


def test_the_settings_list_brazil_first_and_keeps_a_zone_it_lacks() -> None:
    choices = zone_choices("pt_BR")
    assert choices.brazil[0] == ("America/Sao_Paulo", "Horário de Brasília — São Paulo")
    assert ("America/Manaus", "Horário do Amazonas — Manaus") in choices.brazil
    assert ("Europe/Lisbon", "Horário da Europa Ocidental — Lisboa") in choices.others
    assert all(zone.startswith(("America/", "Europe/", "Atlantic/")) for zone, _ in choices.others)
    assert not any("_" in name or "/" in name for _, name in choices.brazil + choices.others)
    # A zone saved from the old list of raw ids stays selectable.
    kept = zone_choices("pt_BR", "America/Fort_Wayne")
    assert kept.others[0][0] == "America/Fort_Wayne"


async def _admin(new_browser: Browser, factory: Factory) -> tuple[httpx.AsyncClient, str]:
    http = await new_browser()
    csrf = await panel_login(http, await factory.user(await factory.company(), Role.ADMIN))
    return http, csrf


async def test_pages_name_the_companys_zone_instead_of_its_id(
    new_browser: Browser, factory: Factory
) -> None:
    http, _ = await _admin(new_browser, factory)
    company = (await http.get("/panel/admin/company")).text
    select = company.split('<select id="c-tz"', 1)[1].split("</select>", 1)[0]
    groups = re.findall(r'<optgroup label="([^"]+)">', select)
    assert groups == ["Brasil", "Outros países"]
    options = re.findall(r'<option value="([^"]+)"( selected)?>([^<]+)</option>', select)
    assert options[0] == ("America/Sao_Paulo", " selected", "Horário de Brasília — São Paulo")
    assert ">America/" not in select
    hours = (await http.get("/panel/admin/hours")).text
    assert "horários em Horário de Brasília" in hours
    new_campaign = (await http.get("/panel/campaigns/new")).text
    assert "no fuso da empresa (Horário de Brasília)" in new_campaign
    reports = (await http.get("/panel/reports")).text
    assert "(Horário de Brasília). Cada tempo" in reports
    # Only in the attribute the page's script reads the company's day with (body data-zone).
    shown = re.sub(r' data-zone="[^"]*"', "", hours + new_campaign + reports)
    assert "America/Sao_Paulo" not in shown

    await http.get("/panel/lang/en")
    english = (await http.get("/panel/admin/company")).text
    assert '<option value="America/Sao_Paulo" selected>Brasilia Time — Sao Paulo<' in english
