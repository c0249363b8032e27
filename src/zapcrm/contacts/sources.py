"""Where a contact came from: the stored source keys our own code writes, and their labels.

A contact's `source` is free text people type ("Instagram", "Indicação"), except for the keys
the importers write (`import` for a spreadsheet, `api` for the bulk endpoint). Those stay as
stored, for integrations and filters, and the panel shows them by their label.
"""

from __future__ import annotations

from collections.abc import Callable

from zapcrm.i18n import N_
from zapcrm.kit.folding import fold

__all__ = ["SOURCE_LABELS", "source_key", "source_label"]

SOURCE_LABELS: dict[str, str] = {
    "import": N_("Importação"),
    "api": N_("API"),
}


def source_label(source: str | None, translate: Callable[[str], str] = str) -> str:
    """The source as people read it: our keys by their label (through `translate`, into the
    reader's language), any other text as stored; "" for none."""
    if not source:
        return ""
    label = SOURCE_LABELS.get(source)
    return source if label is None else translate(label)


def source_key(text: str, translate: Callable[[str], str] = str) -> str:
    """The stored key a typed source names ("Importação", or its label as `translate` gives it
    in the reader's language, is `import`); any other text as typed."""
    wanted = fold(text.strip())
    for key, label in SOURCE_LABELS.items():
        if wanted in (fold(key), fold(label), fold(translate(label))):
            return key
    return text
