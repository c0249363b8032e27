"""Every text the panel shows is in the English catalog and translated (run `make messages`
and fill the new msgstr entries when this fails)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

WEB = Path(__file__).resolve().parents[2] / "src" / "zapcrm" / "web"
CATALOG = WEB / "locale" / "en" / "LC_MESSAGES" / "messages.po"


def test_every_panel_text_has_an_english_translation() -> None:
    extracted = {
        message if isinstance(message, str) else message[0]
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(WEB),
            method_map=[("**.py", "python"), ("templates/**.html", "jinja2")],
            options_map={"templates/**.html": {"extensions": "jinja2.ext.i18n"}},
            keywords={**DEFAULT_KEYWORDS, "N_": None},
        )
    }
    with CATALOG.open("rb") as source:
        catalog = read_po(source, locale="en")
    translated = {message.id for message in catalog if message.id and message.string}
    missing = sorted(text for text in extracted if text and text not in translated)
    assert not missing, f"untranslated panel texts: {missing}"
    assert len(extracted) > 200
