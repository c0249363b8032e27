"""The contact filter builder's form, to and from the filter JSON the contacts query understands.

The form is flat so it works as a plain GET form (bookmarkable, back-button friendly): parallel
lists `field`, `operator`, `value` and `group` (0 = the top level, n = the n-th group), one
`match` for the top level and `group_match` per group. Validation of fields, operators and
values stays in the contacts query service: this module reshapes, and words the problems of a
row in the builder's own terms ("Etapa do funil: escolha é igual a, …"), not the filter JSON's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from babel.lists import format_list

from zapcrm.contacts.query.fields import FIELDS, OPERATORS
from zapcrm.contacts.sources import source_key
from zapcrm.web.i18n import N_, current_locale, translate

MAX_ROWS = 50
NO_VALUE = frozenset({"present", "absent"})
NUMERIC = frozenset({"days_ago_more_than", "days_ago_less_than"})

FIELD_LABELS = {
    "name": N_("Nome"),
    "phone": N_("Telefone"),
    "email": N_("E-mail"),
    "tags": N_("Etiquetas"),
    "stage": N_("Etapa do funil"),
    "source": N_("Origem"),
    "opt_out": N_("Não quer receber"),
    "created_at": N_("Criado em"),
    "last_interaction_at": N_("Última interação"),
    "stage_since": N_("Na etapa desde"),
}
OPERATOR_LABELS = {
    "equals": N_("é igual a"),
    "not_equals": N_("é diferente de"),
    "contains": N_("contém"),
    "not_contains": N_("não contém"),
    "starts_with": N_("começa com"),
    "present": N_("está preenchido"),
    "absent": N_("está vazio"),
    "gt": N_("maior / depois de"),
    "lt": N_("menor / antes de"),
    "days_ago_more_than": N_("há mais de N dias"),
    "days_ago_less_than": N_("nos últimos N dias"),
}
assert set(FIELD_LABELS) == set(FIELDS)
assert set(OPERATOR_LABELS) == set(OPERATORS)
# The part of an error's path (filter.conditions[0].operator) that names the condition.
_CONDITION_PATH = re.compile(r"^(.*\.conditions\[\d+\])(?:\.(?:field|operator|value))?$")


@dataclass(frozen=True)
class FieldChoice:
    """A field the builder offers: its filter name, its label and the operators it takes."""

    key: str
    label: str
    operators: tuple[str, ...]


@dataclass
class Row:
    """One condition as the form shows it."""

    field: str = "name"
    operator: str = "contains"
    value: str = ""
    # What is wrong with the condition, as the builder shows it under the row.
    error: str | None = None


@dataclass
class Group:
    """A group of conditions combined by `match` (all = AND, any = OR)."""

    match: str = "all"
    rows: list[Row] = field(default_factory=list)


@dataclass
class FilterForm:
    """The builder's state: top-level rows and nested groups."""

    match: str = "all"
    rows: list[Row] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)

    @classmethod
    def parse(cls, params: Mapping[str, Sequence[str]]) -> FilterForm:
        """Read the form from query parameters (missing or extra entries are tolerated)."""
        fields = list(params.get("field", []))[:MAX_ROWS]
        operators = list(params.get("operator", []))
        values = list(params.get("value", []))
        groups = list(params.get("group", []))
        group_matches = list(params.get("group_match", []))
        form = cls(match=_match(_first(params.get("match"))))
        form.groups = [Group(match=_match(value)) for value in group_matches[:10]]
        for index, name in enumerate(fields):
            row = Row(
                field=name,
                operator=operators[index] if index < len(operators) else "",
                value=values[index] if index < len(values) else "",
            )
            group = (_int(groups[index]) if index < len(groups) else 0) or 0
            if 1 <= group <= len(form.groups):
                form.groups[group - 1].rows.append(row)
            else:
                form.rows.append(row)
        return form

    def is_empty(self) -> bool:
        """Whether no condition was given."""
        return not self.rows and not any(group.rows for group in self.groups)

    def to_filter(self) -> dict[str, Any] | None:
        """The filter JSON (None when the form has no condition)."""
        if self.is_empty():
            return None
        conditions: list[dict[str, Any]] = [_condition(row) for row in self.rows]
        for group in self.groups:
            if group.rows:
                conditions.append(
                    {
                        "op": _op(group.match),
                        "conditions": [_condition(row) for row in group.rows],
                    }
                )
        return {"op": _op(self.match), "conditions": conditions}

    def check(self, fields: Sequence[FieldChoice]) -> bool:
        """Mark the rows whose operator does not fit their field or that lack their value;
        whether any was marked (then the filter is not worth running)."""
        choices = {choice.key: choice for choice in fields}
        marked = False
        for _, row in self._numbered_paths():
            choice = choices.get(row.field)
            if choice is None:
                continue  # the query service names an unknown field
            if row.operator not in choice.operators:
                operators = [translate(OPERATOR_LABELS[name]) for name in choice.operators]
                row.error = translate(
                    N_(
                        "{field}: escolha {operators}",
                        field=choice.label,
                        operators=format_list(operators, style="or", locale=current_locale()),
                    )
                )
            elif row.operator not in NO_VALUE and not row.value.strip():
                row.error = translate(
                    N_(
                        "{field}: informe um valor ou escolha “{absent}”",
                        field=choice.label,
                        absent=OPERATOR_LABELS["absent"],
                    )
                )
            marked = marked or row.error is not None
        return marked

    def place_errors(
        self, errors: Sequence[Mapping[str, str]], fields: Sequence[FieldChoice]
    ) -> list[str]:
        """Put the query service's errors on the rows they are about (by their path in the
        filter JSON); the messages of those about no row, for the page to show."""
        rows = dict(self._numbered_paths())
        labels = {choice.key: choice.label for choice in fields}
        left: list[str] = []
        for error in errors:
            match = _CONDITION_PATH.match(error.get("field", ""))
            row = rows.get(match.group(1)) if match else None
            if row is None:
                left.append(translate(error["message"]))
            elif row.error is None:  # one message per row: the first is the one to fix
                label = labels.get(row.field, row.field)
                row.error = translate(
                    N_("{field}: {problem}", field=label, problem=error["message"])
                )
        return left

    def _numbered_paths(self) -> Iterator[tuple[str, Row]]:
        """Each row with its path in `to_filter()`'s JSON (groups without rows are left out)."""
        for index, row in enumerate(self.rows):
            yield f"filter.conditions[{index}]", row
        position = len(self.rows)
        for group in self.groups:
            if not group.rows:
                continue
            for index, row in enumerate(group.rows):
                yield f"filter.conditions[{position}].conditions[{index}]", row
            position += 1

    def query_items(self) -> list[tuple[str, str]]:
        """The form as query parameters (for links that keep the filter)."""
        items: list[tuple[str, str]] = [("match", self.match)]
        for group in self.groups:
            items.append(("group_match", group.match))
        numbered = [(0, row) for row in self.rows] + [
            (index, row) for index, group in enumerate(self.groups, 1) for row in group.rows
        ]
        for group_number, row in numbered:
            items += [
                ("field", row.field),
                ("operator", row.operator),
                ("value", row.value),
                ("group", str(group_number)),
            ]
        return items


def _condition(row: Row) -> dict[str, Any]:
    condition: dict[str, Any] = {"field": row.field, "operator": row.operator}
    if row.operator in NO_VALUE:
        return condition
    value: Any = row.value.strip()
    if row.operator in NUMERIC:
        number = _int(value)
        value = number if number is not None else value
    elif row.field == "tags":
        value = [tag.strip() for tag in value.split(",") if tag.strip()]
    elif row.field == "opt_out":
        value = value.lower() in ("sim", "true", "1", "s", "yes")
    elif row.field == "source" and row.operator in ("equals", "not_equals"):
        value = source_key(value, translate)  # "Importação", as the panel shows it, is `import`
    condition["value"] = value
    return condition


def _first(values: Sequence[str] | None) -> str | None:
    return values[0] if values else None


def _match(value: str | None) -> str:
    return "any" if value == "any" else "all"


def _op(match: str) -> str:
    return "or" if match == "any" else "and"


def _int(value: str) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
