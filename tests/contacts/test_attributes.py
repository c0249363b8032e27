"""Typed custom attribute values as people type them in forms and spreadsheets."""

from __future__ import annotations

import pytest

from zapcrm.contacts.attributes import AttributeDef, coerce_custom_fields, coerce_value
from zapcrm.exceptions import ValidationFailed

NUMBER = AttributeDef("gasto", "Gasto", "number")
DATE = AttributeDef("nascimento", "Nascimento", "date")
BOOLEAN = AttributeDef("whatsapp", "Tem WhatsApp", "boolean")
LIST = AttributeDef("plano", "Plano", "list", ("básico", "premium"))
TEXT = AttributeDef("cpf", "CPF", "text")


@pytest.mark.parametrize(
    ("definition", "typed", "stored"),
    [
        (NUMBER, "1.234,56", 1234.56),
        (NUMBER, "1234.56", 1234.56),
        (NUMBER, "42", 42),
        (NUMBER, "R$ 99,90", 99.9),  # money as spreadsheets write it
        (NUMBER, "R$\u00a01.234,50", 1234.5),
        (NUMBER, "-R$ 10", -10),
        (NUMBER, "US$ 1,234.50", 1234.5),
        (NUMBER, "12,5", 12.5),
        (NUMBER, "1.234.567", 1234567),
        (NUMBER, 7, 7),
        (DATE, "31/12/2026", "2026-12-31"),
        (DATE, "2026-12-31", "2026-12-31"),
        (BOOLEAN, "Sim", True),
        (BOOLEAN, "não", False),
        (BOOLEAN, False, False),
        (LIST, "premium", "premium"),
        (TEXT, "  123.456.789-09 ", "123.456.789-09"),
        (TEXT, "", None),
        (NUMBER, None, None),
    ],
)
def test_values_are_coerced(definition: AttributeDef, typed: object, stored: object) -> None:
    assert coerce_value(definition, typed) == stored


@pytest.mark.parametrize(
    ("definition", "typed"),
    [
        (NUMBER, "doze"),
        (NUMBER, "NaN"),
        (NUMBER, True),
        (DATE, "31/02/2026"),
        (DATE, "amanhã"),
        (BOOLEAN, "talvez"),
        (LIST, "ouro"),
        (TEXT, "x" * 1001),
    ],
)
def test_bad_values_are_refused(definition: AttributeDef, typed: object) -> None:
    with pytest.raises(ValueError, match=r"\w"):
        coerce_value(definition, typed)


def test_every_bad_field_is_reported_at_once() -> None:
    definitions = {"gasto": NUMBER, "plano": LIST}
    with pytest.raises(ValidationFailed) as caught:
        coerce_custom_fields({"gasto": "x", "plano": "ouro", "nope": 1}, definitions)
    fields = [item["field"] for item in caught.value.details["fields"]]
    assert fields == ["custom_fields.gasto", "custom_fields.plano", "custom_fields.nope"]
