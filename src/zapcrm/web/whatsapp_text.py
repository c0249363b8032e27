"""WhatsApp's text formatting in the panel: *bold*, _italic_, ~strikethrough~ and ```monospace```
as the customer's phone shows them (the menu's options, signed messages and customers' own
emphasis read the same in the chat as on WhatsApp), and web addresses as links, as the phone
makes them (`https://…`, `http://…`, `www.…`; opened in a new tab, without the panel as referrer).

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
# An address runs to the next space; punctuation that ends the sentence is not part of it.
_ADDRESS = re.compile(r"(?<![\w@/.])(?:https?://|www\.)[^\s<>\"]+", re.IGNORECASE)
_SENTENCE_END = ".,;:!?)]}'\"*_~"


def whatsapp(text: str | None) -> Markup:
    """`text` escaped, with WhatsApp's formatting markers as HTML and its web addresses as
    links. The markers are read between the addresses only: an address keeps its `_` and `*`."""
    raw = text or ""
    parts: list[str] = []
    shown = 0
    for found in _ADDRESS.finditer(raw):
        address = found.group(0).rstrip(_SENTENCE_END)
        if "." not in address.split("//", 1)[-1]:
            continue  # "http://" alone or a name without a dot is no address
        parts.append(_styled(raw[shown : found.start()]))
        parts.append(_link(address))
        shown = found.start() + len(address)
    parts.append(_styled(raw[shown:]))
    return Markup("".join(parts))  # noqa: S704 - built from escaped text and our own tags only


def _styled(text: str) -> str:
    """Escaped text with the formatting markers as tags."""
    html = str(escape(text))
    html = _MONOSPACE.sub(r"<code>\1</code>", html)
    for pattern, tag in _STYLES:
        html = pattern.sub(rf"<{tag}>\1</{tag}>", html)
    return html


def _link(address: str) -> str:
    """A web address as a link that opens apart from the panel (only http and https)."""
    target = (
        address if address.lower().startswith(("http://", "https://")) else "https://" + address
    )
    return (
        f'<a href="{escape(target)}" target="_blank" rel="noopener noreferrer nofollow">'
        f"{escape(address)}</a>"
    )
