"""The panel's languages: pt-BR (the source text) and English, from gettext catalogs.

Templates are written in Portuguese and mark their text with `_()`. The English catalog is a
`.po` file in the package (`make messages` extracts and updates it with Babel); it is compiled
in memory at startup, so no binary `.mo` lives in the repository. The language of a request
comes from the `zapcrm_lang` cookie (the switch in the page footer), else the browser's
Accept-Language, else pt-BR; a context variable carries it to every template rendered for
that request, live-event fragments included.
"""

from __future__ import annotations

import contextvars
import gettext
import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from starlette.types import ASGIApp, Receive, Scope, Send

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_LOCALE = "pt_BR"
LANG_COOKIE = "zapcrm_lang"
# The language codes the switch offers, with each language's own name.
LANGUAGES = {"pt_BR": "Português", "en": "English"}
HTML_LANG = {"pt_BR": "pt-BR", "en": "en"}


def N_(message: str) -> str:
    """Mark a string for extraction without translating it here (it is translated on display)."""
    return message


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
    """`_()` in templates: the message in the current language."""
    return _CATALOGS[_current.get()].gettext(message)


def translate_plural(singular: str, plural: str, count: int) -> str:
    """`ngettext()` in templates."""
    return _CATALOGS[_current.get()].ngettext(singular, plural, count)


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
