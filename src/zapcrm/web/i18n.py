"""The panel's languages: pt-BR (the source text) and English, from gettext catalogs.

Templates are written in Portuguese and mark their text with `_()`. The English catalog is a
`.po` file in the package (`make messages` extracts and updates it with Babel); it is compiled
in memory at startup, so no binary `.mo` lives in the repository. The language of a request
comes from the `zapcrm_lang` cookie (the switch in the page footer), else the browser's
Accept-Language, else pt-BR; a context variable carries it to every template rendered for
that request, live-event fragments included.

Text built in Python (service errors, toasts, labels) is marked with `N_()` from
`zapcrm.i18n` and reaches the reader through `translate()`, which fills a `Text`'s
parameters into the translated template. The API keeps the Portuguese message.
"""

from __future__ import annotations

import contextvars
import gettext
import io
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from starlette.types import ASGIApp, Receive, Scope, Send

from zapcrm.i18n import N_, Text

__all__ = [
    "DEFAULT_LOCALE",
    "HTML_LANG",
    "LANGUAGES",
    "LANG_COOKIE",
    "N_",
    "LocaleMiddleware",
    "current_locale",
    "field_message",
    "negotiate",
    "translate",
    "translate_plural",
    "use_locale",
]

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_LOCALE = "pt_BR"
LANG_COOKIE = "zapcrm_lang"
# The language codes the switch offers, with each language's own name.
LANGUAGES = {"pt_BR": "Português", "en": "English"}
HTML_LANG = {"pt_BR": "pt-BR", "en": "en"}


def _load(locale: str) -> gettext.NullTranslations:
    path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as source:
        catalog = read_po(source, locale=locale)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


_CATALOGS: dict[str, gettext.NullTranslations] = {
    locale: (gettext.NullTranslations() if locale == DEFAULT_LOCALE else _load(locale))
    for locale in LANGUAGES
}
_current: contextvars.ContextVar[str] = contextvars.ContextVar(
    "panel_locale", default=DEFAULT_LOCALE
)


def current_locale() -> str:
    """The language of the request being served."""
    return _current.get()


def translate(message: str) -> str:
    """`_()` in templates: the message in the current language.

    A `Text` (from `N_()` with parameters) is looked up by its template and then filled in;
    a plain string is looked up as it is, so an unmarked message stays Portuguese.
    """
    catalog = _CATALOGS[_current.get()]
    if isinstance(message, Text):
        return message.render(catalog.gettext)
    return catalog.gettext(message)


def translate_plural(singular: str, plural: str, count: int) -> str:
    """`ngettext()` in templates."""
    return _CATALOGS[_current.get()].ngettext(singular, plural, count)


# Pydantic's messages (English, for developers) by error type, as the panel words them.
_FIELD_MESSAGES: dict[str, str] = {
    "missing": N_("campo obrigatório"),
    "string_too_short": N_("precisa de pelo menos {min_length} caractere(s)"),
    "string_too_long": N_("aceita no máximo {max_length} caracteres"),
    "string_pattern_mismatch": N_("formato inválido"),
    "string_type": N_("deve ser um texto"),
    "too_short": N_("precisa de pelo menos {min_length} item(ns)"),
    "too_long": N_("aceita no máximo {max_length} itens"),
    "int_parsing": N_("deve ser um número inteiro"),
    "int_type": N_("deve ser um número inteiro"),
    "float_parsing": N_("deve ser um número"),
    "bool_parsing": N_("deve ser sim ou não"),
    "greater_than_equal": N_("deve ser no mínimo {ge}"),
    "less_than_equal": N_("deve ser no máximo {le}"),
    "uuid_parsing": N_("identificador inválido"),
    "date_parsing": N_("data inválida"),
    "date_from_datetime_parsing": N_("data inválida"),
    "datetime_parsing": N_("data e hora inválidas"),
    "datetime_from_date_parsing": N_("data e hora inválidas"),
    "literal_error": N_("escolha uma das opções: {expected}"),
    "enum": N_("escolha uma das opções: {expected}"),
    "extra_forbidden": N_("campo desconhecido"),
}


def field_message(error: Mapping[str, object]) -> str:
    """One Pydantic field error (an item of `errors()`) worded for the panel, translated."""
    template = _FIELD_MESSAGES.get(str(error.get("type")), N_("valor inválido"))
    context = error.get("ctx")
    params = dict(context) if isinstance(context, Mapping) else {}
    try:
        return translate(Text(template, **params) if params else template)
    except (KeyError, IndexError, ValueError):
        # The error lacks a parameter its template names (a Pydantic change): say less.
        return translate(N_("valor inválido"))


@contextmanager
def use_locale(locale: str) -> Iterator[None]:
    """Render in `locale` inside the block (tests and background renders)."""
    token = _current.set(locale if locale in LANGUAGES else DEFAULT_LOCALE)
    try:
        yield
    finally:
        _current.reset(token)


def negotiate(cookie: str | None, accept_language: str | None) -> str:
    """The cookie's choice, else the first supported language the browser asks for."""
    if cookie in LANGUAGES:
        return cookie
    for part in (accept_language or "").split(","):
        tag = part.split(";", 1)[0].strip().lower()
        if tag.startswith("pt"):
            return "pt_BR"
        if tag.startswith("en"):
            return "en"
    return DEFAULT_LOCALE


class LocaleMiddleware:
    """Set the request's language before the panel handles it (plain ASGI: streams pass)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {
            name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]
        }
        cookie = None
        for item in headers.get("cookie", "").split(";"):
            name, _, value = item.strip().partition("=")
            if name == LANG_COOKIE:
                cookie = value
        token = _current.set(negotiate(cookie, headers.get("accept-language")))
        try:
            await self.app(scope, receive, send)
        finally:
            _current.reset(token)
