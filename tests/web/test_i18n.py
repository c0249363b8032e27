"""The panel speaks the reader's language: every marked text is in the English catalog, and
text built in Python (service errors, validation messages, labels) reaches the page in English
when the panel is in English and in Portuguese by default."""

from __future__ import annotations

from pathlib import Path

import httpx
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from tests.conftest import Factory, login
from tests.web.conftest import Browser, new_company_chat, panel_login
from zapcrm.db import Database
from zapcrm.i18n import placeholders
from zapcrm.models import Role

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "src" / "zapcrm" / "web" / "locale" / "en" / "LC_MESSAGES" / "messages.po"


def _extracted() -> set[str]:
    """What `make messages` extracts, read through the project's own babel.cfg."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)  # type: ignore[no-untyped-call]
    return {
        message if isinstance(message, str) else message[0]
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT),
            method_map=method_map,
            options_map=options_map,
            keywords={**DEFAULT_KEYWORDS, "N_": None},
        )
        if message
    }


def _catalog() -> dict[str, str]:
    """Each text by its msgid; a plural text (ngettext) by its singular, translated only when
    every form is."""
    with CATALOG.open("rb") as source:
        catalog = read_po(source, locale="en")
    texts: dict[str, str] = {}
    for message in catalog:
        if isinstance(message.id, str) and isinstance(message.string, str):
            texts[message.id] = message.string
        elif isinstance(message.id, tuple) and isinstance(message.string, tuple):
            texts[message.id[0]] = message.string[0] if all(message.string) else ""
    return texts


def test_every_marked_text_has_an_english_translation_with_the_same_fields() -> None:
    extracted = _extracted()
    catalog = _catalog()
    missing = sorted(text for text in extracted if not catalog.get(text))
    assert not missing, f"untranslated texts (run `make messages` and translate): {missing}"
    wrong = {
        text: catalog[text]
        for text in extracted
        if placeholders(text) != placeholders(catalog[text])
    }
    assert not wrong, f"translations naming other {{fields}} than their template: {wrong}"
    # Templates, the panel's Python and the services' errors are all extracted.
    assert {
        "Sair",
        "Hoje",
        "escreva uma mensagem antes de enviar",
        "o atalho {shortcut} já existe",
        "a mensagem passa de {limit} caracteres",
    } <= extracted
    assert len(extracted) > 400


async def _english(http: httpx.AsyncClient) -> None:
    switched = await http.get("/panel/lang/en")
    assert switched.status_code == 303


async def test_a_service_error_toast_is_in_english_in_the_english_panel(
    new_browser: Browser, client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    chat = await new_company_chat(client, db, factory)
    operator = await factory.user(chat.instance.company_id, Role.OPERATOR)
    url = f"/panel/conversations/{chat.conversation_id}/messages"
    portuguese = await new_browser()
    english = await new_browser()
    pt_headers = {"X-CSRF-Token": await panel_login(portuguese, operator), "HX-Request": "true"}
    en_headers = {"X-CSRF-Token": await panel_login(english, operator), "HX-Request": "true"}
    await _english(english)

    in_english = await english.post(url, data={"text": "  "}, headers=en_headers)
    assert in_english.status_code == 422
    assert in_english.headers["HX-Retarget"] == "#toast"
    assert "Write a message before sending" in in_english.text
    assert "escreva" not in in_english.text
    by_default = await portuguese.post(url, data={"text": "  "}, headers=pt_headers)
    assert "Escreva uma mensagem antes de enviar" in by_default.text


async def test_a_conflict_fills_its_parameters_into_the_english_message(
    new_browser: Browser, client: httpx.AsyncClient, factory: Factory
) -> None:
    company = await factory.company()
    supervisor = await factory.user(company, Role.SUPERVISOR)
    portuguese = await new_browser()
    english = await new_browser()
    pt_csrf = await panel_login(portuguese, supervisor)
    en_csrf = await panel_login(english, supervisor)
    await _english(english)
    reply = {"shortcut": "frete", "title": "Frete", "body": "O frete é grátis."}
    created = await portuguese.post(
        "/panel/admin/quick-replies", data={"csrf_token": pt_csrf, **reply}
    )
    assert created.status_code == 303, created.text

    taken = await english.post("/panel/admin/quick-replies", data={"csrf_token": en_csrf, **reply})
    assert taken.status_code == 409
    assert "The shortcut /frete already exists" in taken.text
    again = await portuguese.post(
        "/panel/admin/quick-replies", data={"csrf_token": pt_csrf, **reply}
    )
    assert again.status_code == 409
    assert "O atalho /frete já existe" in again.text
    # The API keeps its Portuguese message, whatever the client's language.
    api = await client.post(
        "/api/quick-replies",
        json=reply,
        headers={**await login(client, supervisor), "Accept-Language": "en"},
    )
    assert api.status_code == 409
    assert api.json()["error"]["message"] == "o atalho /frete já existe"


async def test_validation_errors_are_in_english_in_the_english_panel(
    new_browser: Browser, client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    chat = await new_company_chat(client, db, factory)
    admin = await factory.user(chat.instance.company_id, Role.ADMIN)
    url = f"/panel/conversations/{chat.conversation_id}/messages"
    portuguese = await new_browser()
    english = await new_browser()
    pt_csrf = await panel_login(portuguese, admin)
    en_csrf = await panel_login(english, admin)
    await _english(english)

    # FastAPI's own validation (the composer's 4,096-character limit).
    too_long = {"text": "x" * 5000}
    in_english = await english.post(url, data=too_long, headers={"X-CSRF-Token": en_csrf})
    assert in_english.status_code == 422
    assert "Invalid data: check the fields and try again." in in_english.text
    by_default = await portuguese.post(url, data=too_long, headers={"X-CSRF-Token": pt_csrf})
    assert "Dados inválidos: confira os campos e tente de novo." in by_default.text

    # Pydantic's field messages and the service's summary on the new-contact form.
    contact = {"name": "Zé", "email": "nao-e-email", "phone": "+55 11 98765-4321"}
    form = await english.post("/panel/contacts/new", data={"csrf_token": en_csrf, **contact})
    assert form.status_code == 422
    assert "Check the highlighted fields." in form.text
    assert "invalid e-mail" in form.text
    form = await portuguese.post("/panel/contacts/new", data={"csrf_token": pt_csrf, **contact})
    assert "Confira os campos destacados." in form.text
    assert "e-mail inválido" in form.text


async def test_labels_built_in_python_are_in_english_in_the_english_panel(
    new_browser: Browser, client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    chat = await new_company_chat(client, db, factory)
    operator = await factory.user(chat.instance.company_id, Role.OPERATOR)
    portuguese = await new_browser()
    english = await new_browser()
    csrf = await panel_login(portuguese, operator)
    await panel_login(english, operator)
    await _english(english)
    sent = await portuguese.post(
        f"/panel/conversations/{chat.conversation_id}/messages",
        data={"text": "Bom dia"},
        headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
    )
    assert sent.status_code == 200, sent.text

    page = f"/panel/inbox/{chat.conversation_id}"
    in_english = (await english.get(page)).text
    assert ">Today<" in in_english  # the day separator (templating.day_label)
    assert "queued" in in_english  # the delivery tick's label (templating.tick)
    assert "Hoje" not in in_english
    assert "na fila" not in in_english
    by_default = (await portuguese.get(page)).text
    assert ">Hoje<" in by_default
    assert "na fila" in by_default
