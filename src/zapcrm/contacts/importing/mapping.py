"""Column mapping: what each CSV column feeds (name, phone, ... custom.<key>, ignore).

`suggest_mapping` guesses from header names in Portuguese and English and from the company's
custom attribute keys and labels; `plan_columns` validates a mapping into column positions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from zapcrm.contacts.attributes import AttributeDef
from zapcrm.exceptions import ValidationFailed
from zapcrm.i18n import N_
from zapcrm.kit.folding import fold

__all__ = ["FIELDS", "ColumnPlan", "plan_columns", "suggest_mapping"]

FIELDS = ("name", "phone", "email", "tags", "source", "stage")
IGNORE = "ignore"
CUSTOM_PREFIX = "custom."

# Normalised header names (lowercase, no accents, letters and digits only) per field.
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": ("nome", "name", "nomecompleto", "fullname", "cliente", "contato", "razaosocial"),
    "phone": (
        "telefone", "celular", "whatsapp", "whats", "zap", "phone", "fone", "tel", "mobile",
        "cel", "numero", "telefonecelular", "phonenumber", "mobilephone", "telefone1",
        "celular1", "whatsapp1",
    ),
    "email": ("email", "mail", "emailaddress", "correioeletronico", "enderecodeemail"),
    "tags": ("tags", "tag", "etiquetas", "etiqueta", "marcadores", "labels", "label"),
    "source": ("origem", "source", "fonte", "canal", "leadsource", "origemdolead"),
    "stage": ("etapa", "stage", "funil", "estagio", "fase", "etapadofunil", "lifecyclestage"),
}  # fmt: skip
_NON_ALNUM = re.compile(r"[^a-z0-9]")
_PARENTHESES = re.compile(r"\([^)]*\)")


def _normalise(name: str) -> str:
    return _NON_ALNUM.sub("", fold(name))


def _spellings(name: str) -> tuple[str, ...]:
    """A name as headers write it, with and without what it says in parentheses (a unit, a
    note): "Valor do pedido (R$)" is the column "Valor do pedido", and the other way round."""
    bare = _normalise(_PARENTHESES.sub("", name))
    return (_normalise(name), bare) if bare else (_normalise(name),)


def suggest_mapping(columns: list[str], definitions: Mapping[str, AttributeDef]) -> dict[str, str]:
    """A target for every column; each field is suggested once, first column wins."""
    lookup: dict[str, str] = {}
    for target, names in _SYNONYMS.items():
        for name in names:
            lookup.setdefault(name, target)
    for definition in definitions.values():
        for name in (definition.key, definition.label):
            for spelling in _spellings(name):
                lookup.setdefault(spelling, CUSTOM_PREFIX + definition.key)
    taken: set[str] = set()
    suggestion: dict[str, str] = {}
    for column in columns:
        found = (lookup.get(spelling) for spelling in _spellings(column))
        target = next((target for target in found if target), IGNORE)
        if target != IGNORE and target in taken:
            target = IGNORE
        taken.add(target)
        suggestion[column] = target
    return suggestion


@dataclass(frozen=True, slots=True)
class ColumnPlan:
    """Where each field comes from in a row of cells (positions in the header)."""

    phone: int
    name: int | None = None
    email: int | None = None
    source: int | None = None
    stage: int | None = None
    tags: tuple[int, ...] = ()
    custom: tuple[tuple[int, AttributeDef], ...] = field(default=())

    def as_mapping(self, columns: list[str]) -> dict[str, str]:
        """Back to the {column: target} form stored on the job."""
        mapping = dict.fromkeys(columns, IGNORE)
        for target in ("phone", "name", "email", "source", "stage"):
            position = getattr(self, target)
            if position is not None:
                mapping[columns[position]] = target
        for position in self.tags:
            mapping[columns[position]] = "tags"
        for position, definition in self.custom:
            mapping[columns[position]] = CUSTOM_PREFIX + definition.key
        return mapping


def plan_columns(
    mapping: Mapping[str, str], columns: list[str], definitions: Mapping[str, AttributeDef]
) -> ColumnPlan:
    """Validate a {column: target} mapping; unmapped columns are ignored.

    Each field may come from one column, except tags, which several columns may feed.
    """
    errors: list[dict[str, str]] = []
    positions = {column: position for position, column in enumerate(columns)}
    single: dict[str, int] = {}
    tags: list[int] = []
    custom: list[tuple[int, AttributeDef]] = []
    for column, target in mapping.items():
        where = f"mapping.{column}"
        if column not in positions:
            errors.append({"field": where, "message": N_("coluna inexistente no arquivo")})
            continue
        position = positions[column]
        if target == IGNORE:
            continue
        if target == "tags":
            tags.append(position)
        elif target.startswith(CUSTOM_PREFIX):
            definition = definitions.get(target.removeprefix(CUSTOM_PREFIX))
            if definition is None:
                errors.append({"field": where, "message": N_("atributo personalizado inexistente")})
            elif any(other.key == definition.key for _, other in custom):
                errors.append({"field": where, "message": N_("atributo mapeado em duas colunas")})
            else:
                custom.append((position, definition))
        elif target in FIELDS:
            if target in single:
                errors.append(
                    {
                        "field": where,
                        "message": N_("campo {target} mapeado duas vezes", target=target),
                    }
                )
            else:
                single[target] = position
        else:
            errors.append(
                {
                    "field": where,
                    "message": N_(
                        "destino inválido: use name, phone, email, tags, source, stage,"
                        " custom.<chave> ou ignore"
                    ),
                }
            )
    if "phone" not in single and not errors:
        errors.append(
            {"field": "mapping", "message": N_("mapeie uma coluna para phone (telefone)")}
        )
    if errors:
        raise ValidationFailed(N_("mapeamento de colunas inválido"), fields=errors)
    return ColumnPlan(
        phone=single["phone"],
        name=single.get("name"),
        email=single.get("email"),
        source=single.get("source"),
        stage=single.get("stage"),
        tags=tuple(sorted(tags)),
        custom=tuple(sorted(custom, key=lambda item: item[0])),
    )
