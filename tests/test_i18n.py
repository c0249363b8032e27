"""Marked messages: Portuguese for the API and logs, their template kept for translation."""

from __future__ import annotations

import copy
import pickle

from zapcrm.exceptions import Conflict
from zapcrm.i18n import N_, Text, message_of, placeholders

ENGLISH = {
    "o atalho {shortcut} já existe": "the shortcut {shortcut} already exists",
    "filtro inválido em {field}: {problem}": "invalid filter at {field}: {problem}",
    "informe um valor": "enter a value",
}


def test_a_marked_message_is_the_portuguese_text_with_its_parameters_filled() -> None:
    error = Conflict(N_("o atalho {shortcut} já existe", shortcut="/frete"))
    assert error.message == "o atalho /frete já existe"
    assert isinstance(error.message, Text)
    assert error.message.render(lambda s: ENGLISH.get(s, s)) == "the shortcut /frete already exists"
    assert N_("sem parâmetros {op, conditions}") == "sem parâmetros {op, conditions}"


def test_a_message_inside_another_is_translated_too() -> None:
    summary = N_("filtro inválido em {field}: {problem}", field="q", problem=N_("informe um valor"))
    assert summary == "filtro inválido em q: informe um valor"
    assert summary.render(lambda s: ENGLISH.get(s, s)) == "invalid filter at q: enter a value"


def test_a_translation_with_unknown_fields_falls_back_to_portuguese() -> None:
    message = N_("o atalho {shortcut} já existe", shortcut="/frete")
    assert message.render(lambda s: "the shortcut {name} exists") == "o atalho /frete já existe"


def test_copies_pickles_and_exceptions_keep_the_template() -> None:
    message = N_("o atalho {shortcut} já existe", shortcut="/frete")
    for again in (copy.deepcopy(message), pickle.loads(pickle.dumps(message))):  # noqa: S301 - our bytes
        assert again == message
        assert isinstance(again, Text)
        assert (again.template, dict(again.params)) == (message.template, {"shortcut": "/frete"})
    assert message_of(ValueError(message)) is message
    assert placeholders("{count} contato(s) recebeu a etiqueta “{tag}”.") == {"count", "tag"}
