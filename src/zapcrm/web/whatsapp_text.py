"""WhatsApp's text formatting in the panel: *bold*, _italic_, ~strikethrough~ and ```monospace```
as the customer's phone shows them (the menu's options, signed messages and customers' own
emphasis read the same in the chat as on WhatsApp).

Hand-written: the Markdown libraries on PyPI implement CommonMark, whose rules differ
(`*x*` is italic there, `_` inside words, lists, links, raw HTML), and WhatsApp's four markers
are four regular expressions. The text is HTML-escaped first and the markers (none of which
escaping produces or changes) are then turned into tags around already escaped text, so no
customer text can ever become markup.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape


def _marker(symbol: str) -> re.Pattern[str]:
    # Opened before a non-space and not inside a word, closed after a non-space and not
    # followed by a word character, on one line: "2*3*4" and snake_case stay as typed.
    s = re.escape(symbol)
    return re.compile(rf"(?<![\w{s}]){s}(?!\s)([^{s}\n]*?[^\s{s}]){s}(?![\w{s}])")


_STYLES = (
    (_marker("*"), "strong"),
    (_marker("_"), "em"),
    (_marker("~"), "s"),
)
_MONOSPACE = re.compile(r"```(.+?)```", re.DOTALL)


def whatsapp(text: str | None) -> Markup:
    """`text` escaped, with WhatsApp's formatting markers as HTML."""
    html = str(escape(text or ""))
    html = _MONOSPACE.sub(r"<code>\1</code>", html)
    for pattern, tag in _STYLES:
        html = pattern.sub(rf"<{tag}>\1</{tag}>", html)
    return Markup(html)  # noqa: S704 - built from escaped text and our own tags only
