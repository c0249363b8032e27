"""The filter whitelist: fields, their kinds, the operators each kind takes, and the typed SQL
expression of every field (custom attributes included), plus the SQL helpers searches share."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Boolean, Numeric, Text, and_, bindparam, case, cast, func
from sqlalchemy.sql.elements import ColumnElement

from zapcrm.contacts.attributes import AttributeDef
from zapcrm.contacts.query import source
from zapcrm.contacts.query.source import search_text
from zapcrm.kit.name_search import like_escape

__all__ = [
    "ALLOWED",
    "CUSTOM_KEY",
    "FIELDS",
    "OPERATORS",
    "RELATIVE",
    "Field",
    "Kind",
    "builtin_field",
    "custom_field",
    "like_escape",
    "operators_of",
    "param",
    "prefix_range",
    "search_text",
    "suffix_range",
]

FIELDS = (
    "name",
    "phone",
    "email",
    "tags",
    "stage",
    "source",
    "opt_out",
    "created_at",
    "last_interaction_at",
    "stage_since",
)
OPERATORS = (
    "equals",
    "not_equals",
    "contains",
    "not_contains",
    "starts_with",
    "present",
    "absent",
    "gt",
    "lt",
    "days_ago_more_than",
    "days_ago_less_than",
)
CUSTOM_KEY = re.compile(r"^[a-z][a-z0-9_]{0,49}$")  # the contact_attributes.key check


class Kind(enum.Enum):
    """What a field holds; decides its operators and how values are read."""

    TEXT = "texto"
    EMAIL = "e-mail"
    PHONE = "telefone"
    STAGE = "etapa"
    TAGS = "etiquetas"
    BOOLEAN = "sim/não"
    TIMESTAMP = "data e hora"
    NUMBER = "número"
    DATE = "data"
    LIST = "lista"


_TEXTUAL = frozenset(
    {"equals", "not_equals", "contains", "not_contains", "starts_with", "present", "absent"}
)
_ORDERED = frozenset({"equals", "not_equals", "gt", "lt", "present", "absent"})
RELATIVE = frozenset({"days_ago_more_than", "days_ago_less_than"})
ALLOWED: dict[Kind, frozenset[str]] = {
    Kind.TEXT: _TEXTUAL,
    Kind.EMAIL: _TEXTUAL,
    Kind.PHONE: _TEXTUAL,
    Kind.STAGE: frozenset({"equals", "not_equals", "present", "absent"}),
    Kind.TAGS: frozenset({"equals", "not_equals", "contains", "not_contains", "present", "absent"}),
    Kind.BOOLEAN: frozenset({"equals", "not_equals", "present", "absent"}),
    Kind.TIMESTAMP: _ORDERED | RELATIVE,
    Kind.NUMBER: _ORDERED,
    Kind.DATE: _ORDERED | RELATIVE,
    Kind.LIST: frozenset({"equals", "not_equals", "present", "absent"}),
}


@dataclass(frozen=True, slots=True)
class Field:
    """A whitelisted field: its kind, its SQL expression, how messages name it."""

    kind: Kind
    column: ColumnElement[Any]
    label: str
    definition: AttributeDef | None = None

    def normalized(self) -> ColumnElement[str]:
        """The value as text searches compare it: lower case, no accents."""
        if self.label == "name":
            return source.search_name()  # the indexed (and maybe stored) form
        return search_text(self.column)


def param(value: Any, type_: Any = None) -> ColumnElement[Any]:
    """An anonymous bound parameter: every value reaches Postgres as a parameter, never SQL."""
    # An anonymous bound parameter: every value reaches Postgres as a parameter, never as SQL.
    return bindparam(None, value, type_=type_)


def builtin_field(name: str) -> Field | None:
    """A built-in field by its filter name, or None."""
    entry = _BUILTIN.get(name)
    if entry is None:
        return None
    kind, column = entry
    return Field(kind, column(), name)


def custom_field(key: str, definition: AttributeDef | None) -> Field | None:
    """`custom.<key>` typed by the company's definition; None for an unknown or malformed key."""
    if definition is None or not CUSTOM_KEY.match(key):
        return None
    kind = _CUSTOM_KINDS[definition.type]
    return Field(kind, _custom_column(kind, key), f"custom.{key}", definition)


def operators_of(name: str, attribute_type: str | None = None) -> tuple[str, ...]:
    """The operators a field takes, in `OPERATORS` order: a built-in field by its name,
    `custom.<key>` by its attribute's type; () for an unknown field."""
    builtin = _BUILTIN.get(name)
    kind = builtin[0] if builtin is not None else None
    if kind is None and name.startswith("custom."):
        kind = _CUSTOM_KINDS.get(attribute_type or "")
    if kind is None:
        return ()
    return tuple(operator for operator in OPERATORS if operator in ALLOWED[kind])


def prefix_range(column: ColumnElement[Any], prefix: str) -> ColumnElement[bool]:
    """`column` starts with `prefix`, as a byte-wise range on the text_pattern_ops index.

    LIKE 'prefix%' means the same, but LIKE is not LEAKPROOF, so under RLS Postgres will not
    use it in an index scan; `~>=~` and `~<~` are (see source.py).
    """
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return and_(
        column.op("~>=~", is_comparison=True)(param(prefix, Text)),
        column.op("~<~", is_comparison=True)(param(upper, Text)),
    )


def suffix_range(column: ColumnElement[Any], suffix: str) -> ColumnElement[bool]:
    """`column` ends with `suffix`: a prefix range on `reverse(column)`, which the btrees of
    migration 0041 index (for `phone_e164` and `lower(email)`)."""
    return prefix_range(func.reverse(column, type_=Text), suffix[::-1])


_BUILTIN: dict[str, tuple[Kind, Callable[[], ColumnElement[Any]]]] = {
    "name": (Kind.TEXT, lambda: source.contacts().c.name),
    "phone": (Kind.PHONE, lambda: source.contacts().c.phone_e164),
    "email": (Kind.EMAIL, lambda: source.contacts().c.email),
    "tags": (Kind.TAGS, lambda: source.contacts().c.tags),
    "stage": (Kind.STAGE, lambda: source.contacts().c.funnel_stage),
    "source": (Kind.TEXT, lambda: source.contacts().c.source),
    "opt_out": (Kind.BOOLEAN, lambda: source.contacts().c.opted_out),
    "created_at": (Kind.TIMESTAMP, lambda: source.contacts().c.created_at),
    "last_interaction_at": (Kind.TIMESTAMP, lambda: source.contacts().c.last_interaction_at),
    "stage_since": (Kind.TIMESTAMP, lambda: source.contacts().c.stage_since),
}
_CUSTOM_KINDS = {
    "text": Kind.TEXT,
    "number": Kind.NUMBER,
    "date": Kind.DATE,
    "boolean": Kind.BOOLEAN,
    "list": Kind.LIST,
}
_JSON_TYPES = {
    Kind.TEXT: "string",
    Kind.LIST: "string",
    Kind.DATE: "string",
    Kind.NUMBER: "number",
    Kind.BOOLEAN: "boolean",
}


def _custom_column(kind: Kind, key: str) -> ColumnElement[Any]:
    # Typed access to custom_fields[key] that never raises: a value of another JSON type (left
    # by an old import or a changed definition) reads as empty instead of failing the cast for
    # the whole query. The key is a bound parameter like any value.
    document = source.contacts().c.custom_fields
    element = document.op("->")(param(key, type_=Text))
    as_text = document.op("->>", return_type=Text)(param(key, type_=Text))
    typed: ColumnElement[Any] = as_text
    if kind is Kind.NUMBER:
        typed = cast(as_text, Numeric)
    elif kind is Kind.BOOLEAN:
        typed = cast(as_text, Boolean)
    return case((func.jsonb_typeof(element) == _JSON_TYPES[kind], typed), else_=None)
