"""Source keys our importers write read as labels, and a typed label reads back as its key."""

from __future__ import annotations

from zapcrm.contacts.importing.runner import DEFAULT_SOURCE
from zapcrm.contacts.importing.service import BULK_SOURCE
from zapcrm.contacts.sources import source_key, source_label


def test_the_importers_keys_have_labels() -> None:
    assert source_label(DEFAULT_SOURCE) == "Importação"
    assert source_label(BULK_SOURCE) == "API"


def test_other_sources_read_as_stored() -> None:
    assert source_label("WhatsApp") == "WhatsApp"
    assert source_label("Indicação") == "Indicação"
    assert source_label(None) == ""


def test_a_label_as_typed_or_translated_is_the_stored_key() -> None:
    assert source_key("importação") == DEFAULT_SOURCE
    assert source_key(" API ") == BULK_SOURCE
    assert source_key("Spreadsheet import", lambda _label: "Spreadsheet import") == DEFAULT_SOURCE
    assert source_key("Feira") == "Feira"
