"""Texts zapcrm sends with nobody reading them first (campaigns, the out-of-office reply):
`{{variable}}` and `{{variable|fallback}}` filled in per person.

The variables are the quick replies' (kit/placeholders.py: `nome`, `primeiro_nome`,
`telefone`, `empresa`, or their English names) except `atendente`: nobody in particular sends
these; each use says which it offers (the out-of-office reply adds `reabertura`). Two
differences from a quick reply, which an agent reads and edits before sending: these go out
unread, so a mistake (an unknown variable, a stray brace) is refused when the text is saved,
and a variable without a value (a contact without a name) takes its fallback, or vanishes with
the space before it, instead of being left as typed. As with quick replies nothing is
evaluated: a placeholder is looked up in a dict and its value inserted literally (no template
engine: see quickreplies/rendering.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from zapcrm.i18n import N_
from zapcrm.kit.placeholders import ALIASES, first_name, variable

# Anything between double braces, so a misspelt name is reported rather than sent as typed.
_PLACEHOLDER = re.compile(r"( ?)\{\{([^{}|]*)(?:\|\s*([^{}]*?)\s*)?\}\}")
_STRAY_BRACES = re.compile(r"\{\{|\}\}")
# What a campaign text may use.
USABLE = ("name", "first_name", "phone", "company")


class TextError(ValueError):
    """A text that cannot be filled in; the message is for the person who wrote it."""


def check(text: str, usable: tuple[str, ...] = USABLE) -> None:
    """Raise TextError for a variable outside `usable` or an unbalanced pair of braces."""
    for match in _PLACEHOLDER.finditer(text):
        if variable(match.group(2)) not in usable:
            known = ", ".join(alias for alias, name in ALIASES.items() if name in usable)
            raise TextError(
                N_(
                    "variável desconhecida: {name} (use {known})",
                    name=match.group(2).strip(),
                    known=known,
                )
            )
    if _STRAY_BRACES.search(_PLACEHOLDER.sub("", text)):
        raise TextError(N_("chaves sem par: escreva as variáveis entre chaves duplas"))


def checked(text: str, usable: tuple[str, ...] = USABLE) -> str:
    """`text` stripped, once `check` passes: a Pydantic validator's body (TextError is a
    ValueError, and the panel and the API show its message as the field's reason)."""
    body = text.strip()
    check(body, usable)
    return body


def render(text: str, context: Mapping[str, str | None]) -> str:
    """The text for one person (a checked text; `context` by variable name): each variable
    filled in, or its fallback when it has no value."""

    def fill(match: re.Match[str]) -> str:
        space, typed, fallback = match.groups()
        known = variable(typed)
        value = (context.get(known) if known else None) or fallback or ""
        # An empty variable takes the space before it along: "Olá {{primeiro_nome}}, tudo bem?"
        # to a contact without a name reads "Olá, tudo bem?", not "Olá , tudo bem?".
        return space + value if value else ""

    return _PLACEHOLDER.sub(fill, text).strip()


def person_context(
    name: str | None, phone_e164: str | None, company: str | None
) -> dict[str, str | None]:
    """What the variables say about one person of a company (the quick replies' values)."""
    full = " ".join((name or "").split()) or None
    return {
        "name": full,
        "first_name": first_name(full),
        "phone": phone_e164,
        "company": company,
    }
