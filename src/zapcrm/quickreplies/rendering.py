"""Filling a quick reply's `{{variable}}` placeholders for one conversation."""

from __future__ import annotations

import re
from collections.abc import Mapping

# A deliberately tiny language: `{{ word }}` and nothing else. A template engine (Jinja,
# str.format) would let a company-written text reach attributes, filters or loops
# (`{{ name.__class__ }}`, `{0.__init__}`), and its own syntax would clash with braces that
# customers' texts contain. Here a placeholder is looked up in a dict; nothing is evaluated.
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")

VARIABLES = ("name", "first_name", "phone", "agent", "company")
# The panel is in Portuguese: the same variables under the names a Brazilian team would type.
ALIASES = {
    "nome": "name",
    "primeiro_nome": "first_name",
    "telefone": "phone",
    "atendente": "agent",
    "empresa": "company",
}


def render_quick_reply(body: str, context: Mapping[str, str | None]) -> str:
    """`body` with each known `{{variable}}` replaced by its value in `context`.

    Unknown variables, and known ones without a value (a contact with no name), are left as
    typed so the agent sees what still needs filling before sending; values are inserted
    literally, never rendered again.
    """

    def fill(match: re.Match[str]) -> str:
        name = match.group(1).lower()
        variable = ALIASES.get(name, name)
        value = context.get(variable) if variable in VARIABLES else None
        return value if value else match.group(0)

    return _PLACEHOLDER.sub(fill, body)


def first_name(name: str | None) -> str | None:
    """The first word of a person's name (None when there is none)."""
    parts = (name or "").split()
    return parts[0] if parts else None
