"""Filling `{{variable}}` placeholders: known ones replaced, anything else left exactly as typed."""

from __future__ import annotations

import pytest

from zapcrm.kit.placeholders import first_name
from zapcrm.quickreplies.rendering import render_quick_reply

CONTEXT = {
    "name": "Maria Souza",
    "first_name": "Maria",
    "phone": "+5511987654321",
    "agent": "Ana",
    "company": "Doces da Vó",
}


def test_every_variable_is_filled() -> None:
    body = "Oi {{first_name}} ({{name}}, {{phone}}), aqui é {{agent}} da {{company}}."
    assert render_quick_reply(body, CONTEXT) == (
        "Oi Maria (Maria Souza, +5511987654321), aqui é Ana da Doces da Vó."
    )


def test_spacing_and_letter_case_inside_the_braces_do_not_matter() -> None:
    assert render_quick_reply("{{ name }}|{{name  }}|{{ NAME}}", CONTEXT) == (
        "Maria Souza|Maria Souza|Maria Souza"
    )


def test_portuguese_names_of_the_variables() -> None:
    body = "{{nome}} {{primeiro_nome}} {{telefone}} {{atendente}} {{empresa}}"
    assert render_quick_reply(body, CONTEXT) == ("Maria Souza Maria +5511987654321 Ana Doces da Vó")


@pytest.mark.parametrize(
    "typed",
    [
        "{{__class__}}",
        "{{ __init__ }}",
        "{{name.__class__}}",
        "{{ name | upper }}",
        "{{ 7*7 }}",
        "{{ config }}",
        "{% for x in name %}{{ x }}{% endfor %}",
        "{name}",
        "{0.__class__}",
        "${name}",
        "{{desconto}}",
        "{{}}",
        "{{ name",
    ],
)
def test_anything_else_is_left_exactly_as_typed(typed: str) -> None:
    assert render_quick_reply(f"a {typed} b", CONTEXT) == f"a {typed} b"


def test_braces_around_a_variable_are_kept() -> None:
    assert render_quick_reply("{{{name}}} {cupom} }}{{", CONTEXT) == "{Maria Souza} {cupom} }}{{"


def test_values_are_inserted_literally_never_rendered_again() -> None:
    hostile = {**CONTEXT, "name": "{{company}} {{__class__}} \\1 \\g<0>"}
    assert render_quick_reply("Oi {{name}}!", hostile) == "Oi {{company}} {{__class__}} \\1 \\g<0>!"


def test_a_variable_without_a_value_stays_for_the_agent_to_fill() -> None:
    assert render_quick_reply("Oi {{name}}, {{agent}}", {"name": None, "agent": "Ana"}) == (
        "Oi {{name}}, Ana"
    )
    assert render_quick_reply("Oi {{ first_name }}", {"first_name": ""}) == "Oi {{ first_name }}"


def test_first_name_is_the_first_word() -> None:
    assert first_name("  Maria  da Silva ") == "Maria"
    assert first_name("") is None
    assert first_name(None) is None
