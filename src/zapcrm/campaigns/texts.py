"""Campaign texts: `{{variable}}` and `{{variable|fallback}}` filled in per recipient.

Written by hand rather than with Jinja: the people who type these texts are not programmers,
so the only syntax is a name between double braces (with an optional fallback for a contact
without one), every mistake is caught when the campaign is saved, with a message in Portuguese,
and a text cannot run loops or reach attributes the way a template language allows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from zapcrm.i18n import N_

_PLACEHOLDER = re.compile(r"( ?)\{\{\s*([^{}|]*?)\s*(?:\|\s*([^{}]*?)\s*)?\}\}")
_STRAY_BRACES = re.compile(r"\{\{|\}\}")


def _full_name(name: str | None) -> str:
    return " ".join((name or "").split())


def _first_name(name: str | None) -> str:
    full = _full_name(name)
    return full.split(" ")[0] if full else ""


# What a text may say about the person it goes to, from the contact's name.
VARIABLES: Mapping[str, Callable[[str | None], str]] = {
    "nome": _full_name,
    "primeiro_nome": _first_name,
}


class TextError(ValueError):
    """A text that cannot be filled in; the message is for the person who wrote it."""


def check(text: str) -> None:
    """Raise TextError for an unknown variable or an unbalanced pair of braces."""
    for match in _PLACEHOLDER.finditer(text):
        name = match.group(2)
        if name not in VARIABLES:
            known = ", ".join(VARIABLES)
            raise TextError(
                N_("variável desconhecida: {name} (use {known})", name=name, known=known)
            )
    if _STRAY_BRACES.search(_PLACEHOLDER.sub("", text)):
        raise TextError(N_("chaves sem par: escreva as variáveis entre chaves duplas"))


def render(text: str, name: str | None) -> str:
    """The text for one person: each variable filled in, or its fallback when it is empty."""

    def fill(match: re.Match[str]) -> str:
        space, variable, fallback = match.groups()
        value = VARIABLES[variable](name) or fallback or ""
        # An empty variable takes the space before it along: "Olá {{primeiro_nome}}, tudo bem?"
        # to a contact without a name reads "Olá, tudo bem?", not "Olá , tudo bem?".
        return space + value if value else ""

    return _PLACEHOLDER.sub(fill, text).strip()
