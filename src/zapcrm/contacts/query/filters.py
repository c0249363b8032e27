"""Contact filters: the JSON grammar, its validation against a whitelist of fields and operators,
and its compilation to parameterised SQLAlchemy Core expressions.

Grammar::

    filter    = group | condition | {} | null        ({} and null: no restriction)
    group     = {"op": "and" | "or", "conditions": [filter-node, ...]}
    condition = {"field": FIELD, "operator": OPERATOR, "value": VALUE}

FIELD is one of `name`, `phone`, `email`, `tags`, `stage`, `source`, `opt_out`, `created_at`,
`last_interaction_at`, `stage_since` (since when the contact is in its funnel stage: "in
negotiation for more than 14 days" is `stage` equals plus `stage_since` days_ago_more_than), or
`custom.<key>` for a custom attribute the company defined (typed by its definition). Groups nest
at most 5 levels (the top group is level 1); a filter holds at most 50 conditions and 50
groups; an empty group matches every contact.

Semantics worth knowing (the rest reads as its name):

- Text (`name`, `source`, custom text) compares case- and accent-insensitively through the same
  `app.search_text()` the trigram index uses; `email` case-insensitively; `stage` takes a stage
  key or its label in any case and accents ("Cliente" = `cliente`), and a value that names no
  stage of the company is an error, not a filter that silently matches nobody; `phone` takes
  digits in any format: `equals` reads a whole number (canonical E.164, the company's region
  for numbers without a country code), `starts_with` the international digits ("5511" =
  +55 11...), `contains` any run of digits.
- Negative operators (`not_equals`, `not_contains`) also match contacts where the field is empty.
- `tags`: `contains` = has every given tag, `not_contains` = has none of them, `equals` = the tag
  set is exactly the given one (order and repeats do not matter), `present` = has any tag.
  Tags compare case-insensitively ("vip" finds "VIP"), through the GIN index on the stored
  `folded_tags` column.
- Dates: `gt`/`lt`/`equals` take an ISO date or date-time (or DD/MM/AAAA); a bare date is a
  whole day in the company's time zone (`gt` = after that day, `lt` = before it).
  `days_ago_more_than: N` = older than N days before `now`, `days_ago_less_than: N` = within the
  last N days; an empty date matches neither (use `absent`).

Field names, operators and custom keys are looked up in whitelists and never reach the SQL as
text; every value is a bound parameter (custom keys too: `custom_fields -> :key`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Boolean, Numeric, Text, and_, func, or_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import ColumnElement

from zapcrm.contacts.attributes import AttributeDef, coerce_value
from zapcrm.contacts.query import source
from zapcrm.contacts.query.fields import (
    ALLOWED,
    FIELDS,
    OPERATORS,
    RELATIVE,
    Field,
    Kind,
    builtin_field,
    custom_field,
    like_escape,
    param,
    prefix_range,
    search_text,
)
from zapcrm.exceptions import ValidationFailed
from zapcrm.i18n import N_, message_of
from zapcrm.kit.folding import fold
from zapcrm.kit.phones import InvalidPhone, canonical_phone
from zapcrm.kit.zones import DEFAULT_TIMEZONE

__all__ = [
    "FIELDS",
    "MAX_CONDITIONS",
    "MAX_DEPTH",
    "OPERATORS",
    "FilterContext",
    "compile_filter",
    "names_stage",
    "with_stage_keys",
]

MAX_DEPTH = 5
MAX_CONDITIONS = 50
MAX_GROUPS = 50
MAX_VALUE_LENGTH = 1000
MAX_TAGS = 50
MAX_TAG_LENGTH = 50
MAX_DAYS = 36_500

_GROUP_KEYS = frozenset({"op", "conditions"})
_CONDITION_KEYS = frozenset({"field", "operator", "value"})
_NO_VALUE = frozenset({"present", "absent"})
_COMPARED = frozenset({"equals", "not_equals"})
_PHONE_CHARS = re.compile(r"^\+?[0-9 ().\-/]+$")
_BR_DATE = re.compile(r"^(\d{2})/(\d{2})/(\d{4})$")


@dataclass(frozen=True, slots=True)
class FilterContext:
    """What compiling needs besides the JSON: the company's attributes, funnel stages (key to
    label; empty: stage values are compared as given), clock and region."""

    attributes: Mapping[str, AttributeDef]
    now: datetime
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo(DEFAULT_TIMEZONE))
    default_region: str = "BR"
    stages: Mapping[str, str] = field(default_factory=dict)


def compile_filter(
    raw: object, context: FilterContext, *, path: str = "filter"
) -> ColumnElement[bool] | None:
    """Validate a filter (parsed JSON) and compile it; None when it restricts nothing."""
    compiler = _Compiler(context)
    expression = compiler.root(raw, path)
    if compiler.errors:
        first = compiler.errors[0]
        more = len(compiler.errors) - 1
        if more == 0:
            template = N_("filtro inválido em {field}: {problem}")
        elif more == 1:
            template = N_("filtro inválido em {field}: {problem} (e mais 1 erro)")
        else:
            template = N_("filtro inválido em {field}: {problem} (e mais {more} erros)")
        raise ValidationFailed(
            N_(template, field=first["field"], problem=first["message"], more=more),
            fields=compiler.errors,
        )
    return expression


def names_stage(raw: object, depth: int = 0) -> bool:
    """Whether a filter has a `stage` condition (only then does compiling need the stages)."""
    if isinstance(raw, dict):
        if raw.get("field") == "stage":
            return True
        conditions = raw.get("conditions")
        if isinstance(conditions, list) and depth <= MAX_DEPTH:
            return any(names_stage(item, depth + 1) for item in conditions[:MAX_CONDITIONS])
    return False


def with_stage_keys(raw: Any, stages: Mapping[str, str]) -> Any:
    """A filter `compile_filter` accepted, with each stage condition's value written as the
    stage's key: what a saved segment or rule keeps, so that renaming a stage's label later
    does not break it."""
    if not isinstance(raw, dict):
        return raw
    value = raw.get("value")
    if raw.get("field") == "stage" and raw.get("operator") in _COMPARED and isinstance(value, str):
        try:
            return {**raw, "value": _stage_key(value.strip(), stages)}
        except ValueError:
            return raw  # not for this function to refuse: compile_filter judged it
    conditions = raw.get("conditions")
    if isinstance(conditions, list):
        return {**raw, "conditions": [with_stage_keys(item, stages) for item in conditions]}
    return raw


def _stage_key(text: str, stages: Mapping[str, str]) -> str:
    """The stage a value names: its key, or the key of the label it spells (people type what
    the board shows, "Em negociação", not `negociacao`); ValueError for none of them."""
    if not stages or text in stages:
        return text
    wanted = fold(text)
    for key, label in stages.items():
        if fold(label) == wanted or fold(key) == wanted:
            return key
    raise ValueError(
        N_("etapa desconhecida; use uma destas: {stages}", stages=", ".join(stages.values()))
    )


class _Limit(Exception):
    """A structural limit was crossed; compiling stops at once."""


class _Compiler:
    """One pass over the JSON tree: validates, counts, and builds the expression."""

    def __init__(self, context: FilterContext) -> None:
        self.context = context
        self.errors: list[dict[str, str]] = []
        self.conditions = 0
        self.groups = 0

    def root(self, raw: object, path: str) -> ColumnElement[bool] | None:
        if raw is None or raw == {}:
            return None
        try:
            return self.node(raw, path, depth=1)
        except _Limit as limit:
            # Structural problems make every other message noise: report only this one.
            self.errors = [{"field": path, "message": message_of(limit)}]
            return None

    def error(self, path: str, message: str) -> None:
        self.errors.append({"field": path, "message": message})

    def node(self, raw: object, path: str, depth: int) -> ColumnElement[bool] | None:
        if not isinstance(raw, dict):
            self.error(path, N_("cada item deve ser um grupo {op, conditions} ou uma condição"))
            return None
        if "op" in raw or "conditions" in raw:
            return self.group(raw, path, depth)
        return self.condition(raw, path)

    def group(self, raw: dict[Any, Any], path: str, depth: int) -> ColumnElement[bool] | None:
        if depth > MAX_DEPTH:
            raise _Limit(
                N_(
                    "grupos aninhados demais em {path} (máximo {limit} níveis)",
                    path=path,
                    limit=MAX_DEPTH,
                )
            )
        self.groups += 1
        if self.groups > MAX_GROUPS:
            raise _Limit(N_("grupos demais (máximo {limit})", limit=MAX_GROUPS))
        if set(raw) - _GROUP_KEYS:
            self.error(path, N_("um grupo só aceita as chaves op e conditions"))
            return None
        op = raw.get("op")
        if op not in ("and", "or"):
            self.error(f"{path}.op", N_("use and ou or"))
            return None
        children = raw.get("conditions")
        if not isinstance(children, list):
            self.error(f"{path}.conditions", N_("deve ser uma lista"))
            return None
        if len(children) > MAX_CONDITIONS:
            raise _Limit(
                N_("condições demais em {path} (máximo {limit})", path=path, limit=MAX_CONDITIONS)
            )
        parts = [
            part
            for index, child in enumerate(children)
            if (part := self.node(child, f"{path}.conditions[{index}]", depth + 1)) is not None
        ]
        if not parts:
            return None  # an empty group (or one whose children are all empty) restricts nothing
        if len(parts) == 1:
            return parts[0]
        return and_(*parts) if op == "and" else or_(*parts)

    def condition(self, raw: dict[Any, Any], path: str) -> ColumnElement[bool] | None:
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise _Limit(N_("condições demais (máximo {limit})", limit=MAX_CONDITIONS))
        if set(raw) - _CONDITION_KEYS:
            self.error(path, N_("uma condição só aceita as chaves field, operator e value"))
            return None
        target = self.field(raw.get("field"), f"{path}.field")
        operator = raw.get("operator")
        if not isinstance(operator, str) or operator not in OPERATORS:
            self.error(
                f"{path}.operator",
                N_("operador desconhecido; use {operators}", operators=", ".join(OPERATORS)),
            )
            return None
        if target is None:
            return None
        if operator not in ALLOWED[target.kind]:
            allowed = ", ".join(op for op in OPERATORS if op in ALLOWED[target.kind])
            self.error(
                f"{path}.operator",
                N_(
                    "o operador {operator} não se aplica a {field}; use {allowed}",
                    operator=operator,
                    field=target.label,
                    allowed=allowed,
                ),
            )
            return None
        value_path = f"{path}.value"
        value = raw.get("value")
        if operator in _NO_VALUE:
            if value is not None:
                self.error(
                    value_path, N_("o operador {operator} não leva valor", operator=operator)
                )
                return None
            return self.presence(target, present=operator == "present")
        if value is None:
            self.error(value_path, N_("informe um valor"))
            return None
        try:
            return _BUILDERS[target.kind](self, target, operator, value)
        except ValueError as problem:
            self.error(value_path, message_of(problem))
            return None

    def field(self, name: object, path: str) -> Field | None:
        if not isinstance(name, str):
            self.error(path, N_("informe o campo como texto"))
            return None
        builtin = builtin_field(name)
        if builtin is not None:
            return builtin
        key = name.removeprefix("custom.")
        if key == name:
            self.error(
                path,
                N_("campo desconhecido; use {fields} ou custom.<chave>", fields=", ".join(FIELDS)),
            )
            return None
        custom = custom_field(key, self.context.attributes.get(key))
        if custom is None:
            self.error(path, N_("atributo personalizado não definido nesta empresa"))
        return custom

    def presence(self, target: Field, *, present: bool) -> ColumnElement[bool]:
        column = target.column
        if target.kind is Kind.TAGS:
            count = func.cardinality(column)
            return count > 0 if present else count == 0
        if target.kind in (Kind.TEXT, Kind.EMAIL, Kind.STAGE, Kind.LIST):
            filled = func.coalesce(column, "") != ""
            return filled if present else ~filled
        return column.is_not(None) if present else column.is_(None)

    # Builders per kind: (compiler, field, operator, raw value) -> expression; ValueError names
    # what is wrong with the value.

    def text(self, target: Field, operator: str, value: Any) -> ColumnElement[bool]:
        if target.definition is not None:
            value = _coerce(target.definition, value)
        text = _text_value(value)
        normalized = target.normalized()
        if operator in ("equals", "not_equals"):
            same = normalized == search_text(param(text))
            return same if operator == "equals" else ~same
        pattern = _pattern(operator, text)
        matches = normalized.like(search_text(param(pattern)), escape="\\")
        return ~matches if operator == "not_contains" else matches

    def email(self, target: Field, operator: str, value: Any) -> ColumnElement[bool]:
        text = _text_value(value).lower()
        lowered = func.lower(target.column)
        if operator == "equals":
            return lowered == param(text)
        if operator == "not_equals":
            return or_(target.column.is_(None), lowered != param(text))
        matches = lowered.like(param(_pattern(operator, text)), escape="\\")
        if operator == "not_contains":
            return or_(target.column.is_(None), ~matches)
        return matches

    def phone(self, target: Field, operator: str, value: Any) -> ColumnElement[bool]:
        if not isinstance(value, str) or not _PHONE_CHARS.match(value) or len(value) > 40:
            raise ValueError(
                N_("telefone: use dígitos, com ou sem +, espaços, parênteses e hífens")
            )
        column = target.column
        if operator in ("equals", "not_equals"):
            try:
                e164 = canonical_phone(value, self.context.default_region)
            except InvalidPhone:
                raise ValueError(N_("telefone inválido")) from None
            if operator == "equals":
                return column == param(e164)
            return or_(column.is_(None), column != param(e164))
        digits = re.sub(r"\D", "", value)
        if not digits:
            raise ValueError(N_("telefone: informe ao menos um dígito"))
        if operator == "starts_with":
            return prefix_range(column, f"+{digits}")
        matches = column.like(param(f"%{digits}%"))
        return matches if operator == "contains" else or_(column.is_(None), ~matches)

    def stage(self, target: Field, operator: str, value: Any) -> ColumnElement[bool]:
        text = _stage_key(_text_value(value, limit=100), self.context.stages)
        if operator == "equals":
            return target.column == param(text)
        return or_(target.column.is_(None), target.column != param(text))

    def tags(self, target: Field, operator: str, value: Any) -> ColumnElement[bool]:
        # In lower case on both sides, folded by the same SQL function (Postgres folds the
        # constant once; the stored column has a GIN index).
        column = source.contacts().c.folded_tags
        array = source.folded_tags(param(_tag_values(value), type_=ARRAY(Text)))
        has_all: ColumnElement[bool] = column.contains(array)
        if operator == "contains":
            return has_all
        if operator == "not_contains":
            has_any: ColumnElement[bool] = column.overlap(array)
            return ~has_any
        same = and_(has_all, column.contained_by(array))
        return same if operator == "equals" else ~same

    def boolean(self, target: Field, operator: str, value: Any) -> ColumnElement[bool]:
        if target.definition is not None:
            flag = _coerce(target.definition, value)
        elif isinstance(value, bool):
            flag = value
        else:
            raise ValueError(N_("use true ou false"))
        same = target.column == param(flag, type_=Boolean())
        if operator == "equals":
            return same
        return or_(target.column.is_(None), ~same)

    def timestamp(self, target: Field, operator: str, value: Any) -> ColumnElement[bool]:
        column = target.column
        if operator in RELATIVE:
            edge = self.context.now - timedelta(days=_days(value))
            if operator == "days_ago_more_than":
                return column < param(edge)
            return column >= param(edge)
        moment = _moment(value, self.context.timezone)
        if isinstance(moment, datetime):
            if operator == "gt":
                return column > param(moment)
            if operator == "lt":
                return column < param(moment)
            same = column == param(moment)
        else:
            try:
                start = _start_of(moment, self.context.timezone)
                end = _start_of(moment + timedelta(days=1), self.context.timezone)
            except OverflowError:
                raise ValueError(N_("data fora do intervalo aceito")) from None
            if operator == "gt":
                return column >= param(end)
            if operator == "lt":
                return column < param(start)
            same = and_(column >= param(start), column < param(end))
        return same if operator == "equals" else or_(column.is_(None), ~same)

    def number(self, target: Field, operator: str, value: Any) -> ColumnElement[bool]:
        assert target.definition is not None
        number = _coerce(target.definition, value)
        if isinstance(number, float) and not math.isfinite(number):
            raise ValueError(N_("número inválido"))
        bound = param(Decimal(str(number)), type_=Numeric())
        return _compare(target.column, operator, bound)

    def date(self, target: Field, operator: str, value: Any) -> ColumnElement[bool]:
        assert target.definition is not None
        column = target.column
        if operator in RELATIVE:
            today = self.context.now.astimezone(self.context.timezone).date()
            edge = (today - timedelta(days=_days(value))).isoformat()
            # ISO dates compare correctly as text, and text never fails to cast.
            if operator == "days_ago_more_than":
                return column < param(edge)
            return column >= param(edge)
        return _compare(column, operator, param(_coerce(target.definition, value)))

    def listed(self, target: Field, operator: str, value: Any) -> ColumnElement[bool]:
        assert target.definition is not None
        return _compare(target.column, operator, param(_coerce(target.definition, value)))


_BUILDERS: dict[Kind, Callable[[_Compiler, Field, str, Any], ColumnElement[bool]]] = {
    Kind.TEXT: _Compiler.text,
    Kind.EMAIL: _Compiler.email,
    Kind.PHONE: _Compiler.phone,
    Kind.STAGE: _Compiler.stage,
    Kind.TAGS: _Compiler.tags,
    Kind.BOOLEAN: _Compiler.boolean,
    Kind.TIMESTAMP: _Compiler.timestamp,
    Kind.NUMBER: _Compiler.number,
    Kind.DATE: _Compiler.date,
    Kind.LIST: _Compiler.listed,
}


def _compare(
    column: ColumnElement[Any], operator: str, bound: ColumnElement[Any]
) -> ColumnElement[bool]:
    if operator == "not_equals":
        return or_(column.is_(None), column != bound)
    result: ColumnElement[bool]
    if operator == "equals":
        result = column == bound
    elif operator == "gt":
        result = column > bound
    else:
        result = column < bound
    return result


def _coerce(definition: AttributeDef, value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_VALUE_LENGTH:
        raise ValueError(N_("valor com mais de {limit} caracteres", limit=MAX_VALUE_LENGTH))
    if not isinstance(value, str | int | float | bool):
        raise ValueError(N_("valor inválido para um atributo do tipo {type}", type=definition.type))
    result = coerce_value(definition, value)
    if result is None:
        raise ValueError(N_("informe um valor (para campo vazio use o operador absent)"))
    return result


def _text_value(value: Any, *, limit: int = MAX_VALUE_LENGTH) -> str:
    if not isinstance(value, str):
        raise ValueError(N_("o valor deve ser um texto"))
    if len(value) > limit:
        raise ValueError(N_("valor com mais de {limit} caracteres", limit=limit))
    text = value.strip()
    if not text:
        raise ValueError(N_("informe um valor (para campo vazio use o operador absent)"))
    return text


def _pattern(operator: str, text: str) -> str:
    escaped = like_escape(text)
    return f"{escaped}%" if operator == "starts_with" else f"%{escaped}%"


def _tag_values(value: Any) -> list[str]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values:
        raise ValueError(N_("informe uma etiqueta ou uma lista de etiquetas"))
    if len(values) > MAX_TAGS:
        raise ValueError(N_("etiquetas demais (máximo {limit})", limit=MAX_TAGS))
    tags = []
    for tag in values:
        if not isinstance(tag, str) or not tag.strip():
            raise ValueError(N_("cada etiqueta deve ser um texto não vazio"))
        if len(tag) > MAX_TAG_LENGTH:
            raise ValueError(N_("etiqueta com mais de {limit} caracteres", limit=MAX_TAG_LENGTH))
        tags.append(" ".join(tag.split()))
    return sorted(set(tags))


def _days(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(N_("informe um número inteiro de dias (0 a {limit})", limit=MAX_DAYS))
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(N_("informe um número inteiro de dias (0 a {limit})", limit=MAX_DAYS))
    days = int(value)
    if not 0 <= days <= MAX_DAYS:
        raise ValueError(N_("informe um número inteiro de dias (0 a {limit})", limit=MAX_DAYS))
    return days


def _moment(value: Any, timezone: ZoneInfo) -> date | datetime:
    message = N_("use uma data (AAAA-MM-DD ou DD/MM/AAAA) ou data e hora ISO 8601")
    if not isinstance(value, str) or len(value) > 40:
        raise ValueError(message)
    text = value.strip()
    try:
        if match := _BR_DATE.match(text):
            day, month, year = (int(part) for part in match.groups())
            return date(year, month, day)
        if len(text) == 10:
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(message) from None
    # A time without an offset is the company's wall clock, as people read it.
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone)


def _start_of(day: date, timezone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone).astimezone(UTC)
