"""Translatable text for code outside the panel: Portuguese templates with named parameters.

Services, edges and labels write their messages in Portuguese (the msgid, as in the templates)
and mark them with `N_()` so `make messages` extracts them. `N_()` returns a `Text`: a `str`
holding the Portuguese message, ready for the API and the logs, that also remembers its
template and parameters so the panel can render it in the reader's language
(`zapcrm.web.i18n.translate`).
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping


class Text(str):
    """A Portuguese message that keeps its template and parameters for translation later."""

    template: str
    params: Mapping[str, object]

    def __new__(cls, template: str, /, **params: object) -> Text:
        text = super().__new__(cls, template.format(**params) if params else template)
        text.template = template
        text.params = params
        return text

    def __reduce__(self) -> tuple[Callable[..., Text], tuple[str, dict[str, object]]]:
        # Copies and pickles rebuild the message from its template and parameters.
        return _rebuild, (self.template, dict(self.params))

    def render(self, gettext: Callable[[str], str]) -> str:
        """The message in the language `gettext` looks up (Portuguese when it has no entry)."""
        translated = gettext(self.template)
        if not self.params:
            return translated
        # A parameter may itself be a message (a field's problem inside a summary).
        params = {
            name: value.render(gettext) if isinstance(value, Text) else value
            for name, value in self.params.items()
        }
        try:
            return translated.format(**params)
        except (KeyError, IndexError, ValueError):
            # A translation naming a parameter the template lacks: Portuguese beats a crash.
            return str(self)


def _rebuild(template: str, params: dict[str, object]) -> Text:
    return Text(template, **params)


def N_(template: str, /, **params: object) -> Text:
    """Mark a Portuguese message for extraction; `{name}` fields are filled from `params`."""
    return Text(template, **params)


def message_of(error: BaseException) -> str:
    """The message an exception was raised with, still a `Text` when it was marked."""
    if error.args and isinstance(error.args[0], str):
        return error.args[0]
    return str(error)


def placeholders(template: str) -> set[str]:
    """The named `{fields}` of a template (a translation must use the same ones)."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}
