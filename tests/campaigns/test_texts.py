"""Campaign texts: variables filled in per person, mistakes caught when the text is saved."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zapcrm.kit import texts


@pytest.mark.parametrize(
    ("template", "name", "expected"),
    [
        ("Olá {{primeiro_nome}}, tudo bem?", "Ana Maria Souza", "Olá Ana, tudo bem?"),
        ("Oi {{ nome }}!", "  Ana   Maria ", "Oi Ana Maria!"),
        ("Olá {{primeiro_nome}}, tudo bem?", None, "Olá, tudo bem?"),
        ("Olá {{primeiro_nome}}, tudo bem?", "   ", "Olá, tudo bem?"),
        ("Olá {{primeiro_nome|cliente}}!", "", "Olá cliente!"),
        ("Olá {{ primeiro_nome | cliente querido }}!", None, "Olá cliente querido!"),
        ("Olá {{primeiro_nome|cliente}}!", "João", "Olá João!"),
        ("Promoção: 20% off em {dia}", "Ana", "Promoção: 20% off em {dia}"),
    ],
)
def test_variables_are_filled_in_per_person(template: str, name: str | None, expected: str) -> None:
    texts.check(template)
    assert texts.render(template, texts.person_context(name, None, None)) == expected


def test_the_quick_replies_variables_in_either_language() -> None:
    template = "{{empresa}}: {{ Primeiro_Nome }} ({{telefone}}), {{name}} {{first_name}}"
    texts.check(template)
    context = texts.person_context("Maria Souza", "+5511987654321", "Doces da Vó")
    assert texts.render(template, context) == (
        "Doces da Vó: Maria (+5511987654321), Maria Souza Maria"
    )


def test_values_are_inserted_literally_never_rendered_again() -> None:
    context = texts.person_context("{{empresa}} \\1 \\g<0>", None, "Loja")
    assert texts.render("Oi {{nome}}!", context) == "Oi {{empresa}} \\1 \\g<0>!"


@pytest.mark.parametrize(
    ("template", "says"),
    [
        ("Olá {{nome_completo}}", "variável desconhecida: nome_completo"),
        ("Olá {{atendente}}", "variável desconhecida: atendente"),  # nobody sends a campaign
        ("Olá {{ name.__class__ }}", "variável desconhecida"),
        ("Olá {{}}", "variável desconhecida"),
        ("Olá {{primeiro_nome}", "chaves sem par"),
        ("Olá primeiro_nome}}", "chaves sem par"),
        ("Olá {{ {{nome}} }}", "chaves sem par"),
    ],
)
def test_a_mistake_is_named_when_the_text_is_checked(template: str, says: str) -> None:
    with pytest.raises(texts.TextError, match=says):
        texts.check(template)


@given(st.text(alphabet=st.characters(blacklist_characters="{}")), st.text() | st.none())
def test_a_text_without_variables_goes_out_as_written(words: str, name: str | None) -> None:
    texts.check(words)
    assert texts.render(words, texts.person_context(name, None, None)) == words.strip()
