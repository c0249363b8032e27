"""Filling a quick reply's `{{variable}}` placeholders for one conversation."""

from __future__ import annotations

import re
from collections.abc import Mapping

from zapcrm.kit.placeholders import variable

# A deliberately tiny language: `{{ word }}` and nothing else. A template engine (Jinja,
# str.format) would let a company-written text reach attributes, filters or loops
# (`{{ name.__class__ }}`, `{0.__init__}`), and its own syntax would clash with braces that
# customers' texts contain. Here a placeholder is looked up in a dict; nothing is evaluated.
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def render_quick_reply(body: str, context: Mapping[str, str | None]) -> str:
    """`body` with each known `{{variable}}` replaced by its value in `context`.

    Unknown variables, and known ones without a value (a contact with no name), are left as
    typed so the agent sees what still needs filling before sending; values are inserted
    literally, never rendered again.
    """

    def fill(match: re.Match[str]) -> str:
        known = variable(match.group(1))
        value = context.get(known) if known else None
        return value if value else match.group(0)

    return _PLACEHOLDER.sub(fill, body)
