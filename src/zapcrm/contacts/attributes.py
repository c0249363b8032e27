"""Typed custom attributes: definitions per company and validation of `custom_fields` values.

Values are stored in `contacts.custom_fields` as JSON: text -> string, number -> number,
date -> ISO date string (YYYY-MM-DD), boolean -> true/false, list -> one of the options.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.contacts.repository import attributes as repository
from zapcrm.exceptions import ValidationFailed
from zapcrm.i18n import N_, message_of

AttributeType = Literal["text", "number", "date", "boolean", "list"]
MAX_TEXT_LENGTH = 1000
_TRUE = {"true", "1", "sim", "s", "yes", "y", "verdadeiro"}
_FALSE = {"false", "0", "não", "nao", "n", "no", "falso"}


@dataclass(frozen=True, slots=True)
class AttributeDef:
    """One custom attribute a company defined."""

    key: str
    label: str
    type: AttributeType
    options: tuple[str, ...] = ()


async def load_definitions(session: AsyncSession, company_id: uuid.UUID) -> dict[str, AttributeDef]:
    """The company's attributes by key."""
    return {
        row.key: AttributeDef(
            key=row.key,
            label=row.label,
            type=row.type,  # type: ignore[arg-type]  # the table's check constraint
            options=tuple(str(option) for option in row.options),
        )
        for row in await repository.list_attributes(session, company_id)
    }


async def load_stage_keys(session: AsyncSession, company_id: uuid.UUID) -> set[str]:
    """The funnel stage keys a contact may be in."""
    return {row.key for row in await repository.list_stages(session, company_id)}


def coerce_value(definition: AttributeDef, value: Any) -> Any:
    """The JSON value to store for one attribute, or ValueError with a pt-BR reason.

    Accepts what people type in forms and spreadsheets: "1.234,56" or "1234.56" for numbers,
    "31/12/2026" or "2026-12-31" for dates, sim/não for booleans. None clears the field.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if definition.type == "text":
        text = str(value).strip()
        if len(text) > MAX_TEXT_LENGTH:
            raise ValueError(N_("texto com mais de {limit} caracteres", limit=MAX_TEXT_LENGTH))
        return text
    if definition.type == "number":
        return _number(value)
    if definition.type == "date":
        return _date(value).isoformat()
    if definition.type == "boolean":
        return _boolean(value)
    text = str(value).strip()
    if text not in definition.options:
        raise ValueError(
            N_("valor fora da lista: {options}", options=", ".join(definition.options))
        )
    return text


def coerce_custom_fields(
    values: Mapping[str, Any], definitions: Mapping[str, AttributeDef]
) -> dict[str, Any]:
    """Validate every value against its definition; one ValidationFailed listing every field."""
    errors = []
    result: dict[str, Any] = {}
    for key, value in values.items():
        definition = definitions.get(key)
        if definition is None:
            errors.append({"field": f"custom_fields.{key}", "message": N_("atributo não definido")})
            continue
        try:
            result[key] = coerce_value(definition, value)
        except ValueError as error:
            errors.append({"field": f"custom_fields.{key}", "message": message_of(error)})
    if errors:
        raise ValidationFailed(N_("atributos personalizados inválidos"), fields=errors)
    return result


_CURRENCY = re.compile(r"R\$|US\$|\$|€", re.IGNORECASE)


def _number(value: Any) -> int | float:
    if isinstance(value, bool):
        raise ValueError(N_("número inválido"))
    if isinstance(value, int | float):
        return value
    # Spreadsheets write money as "R$ 1.234,56" (with a non-breaking space, often), plain
    # exports as 1234.56: the currency sign and every space go.
    text = "".join(_CURRENCY.sub("", str(value)).split())
    # Brazilian spreadsheets write 1.234,56, American ones 1,234.56, plain exports 1234.56:
    # the last separator is the decimal one when both appear, a lone comma is decimal (12,5)
    # and repeated dots group thousands (1.234.567).
    if "," in text and text.rfind(",") > text.rfind("."):
        text = text.replace(".", "").replace(",", ".")
    elif "," in text or text.count(".") > 1:
        text = text.replace(",", "") if "," in text else text.replace(".", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(N_("número inválido")) from None
    if not number.is_finite():
        raise ValueError(N_("número inválido"))
    return int(number) if number == number.to_integral_value() else float(number)


def _date(value: Any) -> date:
    if isinstance(value, date):
        return value
    text = str(value).strip()
    try:
        if "/" in text:
            day, month, year = (int(part) for part in text.split("/"))
            return date(year, month, day)
        return date.fromisoformat(text[:10])
    except (ValueError, TypeError):
        raise ValueError(N_("data inválida (use DD/MM/AAAA ou AAAA-MM-DD)")) from None


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(N_("use sim ou não"))
