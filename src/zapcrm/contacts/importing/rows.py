"""One imported row to a clean contact, or the pt-BR reason it cannot be imported.

Shared by the CSV job, the bulk JSON endpoint and the CLI, so every path applies the same
rules: canonical phone (required) and its identity keys, basic e-mail check, tags split on
`,` `;` `|`, stage by key or label, typed custom attributes through `coerce_value`.

Only what makes the row no one (no usable phone, cells the header does not have, a custom
field the company does not have) refuses it. A bad optional value (an e-mail without `@`, a
stage the funnel lacks, "muitos" in a number field) is left out and said in the contact's
`warnings`: a lead whose e-mail was mistyped is still a lead, and losing the person over one
cell is worse than importing them without it. The warnings go to the same file as the refused
rows, so the team fixes both in one place.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from zapcrm.contacts.attributes import AttributeDef, coerce_value
from zapcrm.contacts.importing import limits
from zapcrm.contacts.importing.mapping import ColumnPlan
from zapcrm.contacts.importing.phones import canonical, phone_keys
from zapcrm.kit.folding import fold
from zapcrm.kit.phones import InvalidPhone
from zapcrm.spreadsheets import restored

__all__ = ["CleanContact", "RawContact", "RowRules"]

# The WHATWG (HTML form) e-mail syntax: "basic validation", no DNS lookups.
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
_TAG_SEPARATORS = re.compile(r"[,;|]")
# Distinct tag cells (up to 256 characters) one RowRules (one import job) remembers at a time.
_TAG_CACHE_SIZE = 4096
_TAG_CACHE_CELL_CHARS = 256


@dataclass(slots=True)
class RawContact:
    """A row as given: text cells from a CSV, or the fields of a bulk JSON item."""

    phone: str | None
    name: str | None = None
    email: str | None = None
    source: str | None = None
    stage: str | None = None
    tags: str | Sequence[str] | None = None
    custom: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class CleanContact:
    """A row ready for the database: canonical phone, its identity keys, checked fields."""

    phone: str
    keys: list[str]
    name: str
    email: str | None
    source: str | None
    stage: str | None
    tags: list[str]
    custom: dict[str, Any]
    # The values left out and why ("e-mail inválido"), in the order of the fields.
    warnings: list[str] = field(default_factory=list)


def _fold(text: str) -> str:
    return fold(text.strip())


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    cleaned = " ".join(value.split())  # quoted newlines and runs of spaces become one space
    return cleaned or None


class RowRules:
    """The company-specific rules a row is checked against."""

    def __init__(
        self,
        *,
        default_region: str,
        definitions: Mapping[str, AttributeDef],
        stages: Sequence[tuple[str, str]],
    ) -> None:
        self.default_region = default_region
        self.definitions = definitions
        # Tag cells repeat from row to row ("vip", "vip,novo"): each spelling is split once.
        self._tag_cache: dict[tuple[str, ...], tuple[tuple[str, ...], tuple[str, ...]]] = {}
        # A company without stages accepts any stage text, as the contacts API does.
        self.stages: dict[str, str] | None = None
        if stages:
            self.stages = {}
            for key, label in stages:
                self.stages.setdefault(_fold(key), key)
                self.stages.setdefault(_fold(label), key)

    def from_cells(self, cells: list[str], plan: ColumnPlan, width: int) -> CleanContact | str:
        """Clean one CSV row mapped by `plan`; a string is the reason it failed."""
        count = len(cells)
        if count > width and any(cell.strip() for cell in cells[width:]):
            return f"a linha tem {count} colunas; o cabeçalho tem {width}"
        if count < width:
            cells = cells + [""] * (width - count)  # short rows: the missing cells are empty
        # The failed-rows file writes "'+55 11 98765-4321" against formulas; fixed and imported
        # again, the apostrophe is not part of the phone (nor of "-10" or "=soma"). One join
        # finds whether any cell starts with an apostrophe; nearly no row has one.
        if "\x00'" in "\x00" + "\x00".join(cells):
            cells = [restored(cell) for cell in cells]
        return self._clean(
            cells[plan.phone],
            None if plan.name is None else cells[plan.name],
            None if plan.email is None else cells[plan.email],
            None if plan.source is None else cells[plan.source],
            None if plan.stage is None else cells[plan.stage],
            [cells[position] for position in plan.tags],
            {definition.key: cells[position] for position, definition in plan.custom},
        )

    def clean(self, raw: RawContact) -> CleanContact | str:
        """Clean one row; a string is the reason it failed."""
        tags = raw.tags
        return self._clean(
            raw.phone,
            raw.name,
            raw.email,
            raw.source,
            raw.stage,
            [] if tags is None else [tags] if isinstance(tags, str) else list(tags),
            raw.custom,
        )

    def _clean(
        self,
        raw_phone: str | None,
        raw_name: str | None,
        raw_email: str | None,
        raw_source: str | None,
        raw_stage: str | None,
        raw_tags: list[str],
        raw_custom: Mapping[str, Any],
    ) -> CleanContact | str:
        # One plain function over plain values: it runs a million times per big import.
        if raw_phone is None or not raw_phone.strip():
            return "telefone ausente"
        try:
            phone = canonical(raw_phone, self.default_region)
        except InvalidPhone as error:
            return f"telefone inválido: {error.reason}"
        warnings: list[str] = []
        name = " ".join(raw_name.split()) if raw_name else ""
        if len(name) > limits.MAX_NAME_CHARS:
            warnings.append(f"nome com mais de {limits.MAX_NAME_CHARS} caracteres")
            name = ""
        email = _text(raw_email)
        if email is not None:
            email = email.lower()
            if len(email) > limits.MAX_EMAIL_CHARS or not _EMAIL.match(email):
                warnings.append("e-mail inválido")
                email = None
        source = _text(raw_source)
        if source is not None and len(source) > limits.MAX_SOURCE_CHARS:
            warnings.append(f"origem com mais de {limits.MAX_SOURCE_CHARS} caracteres")
            source = None
        stage = self._stage(_text(raw_stage)) if raw_stage else None
        if stage is not None and stage.startswith("!"):
            warnings.append(stage[1:])
            stage = None
        tags = self._tags(raw_tags, warnings) if raw_tags else []
        custom: dict[str, Any] = {}
        for key, value in raw_custom.items():
            definition = self.definitions.get(key)
            if definition is None:
                # Not a bad value but a field the company does not have: a request built for
                # another account or a typo in an integration, which should not pass quietly.
                return f"atributo personalizado inexistente: {key}"
            try:
                coerced = coerce_value(definition, value)
            except ValueError as error:
                warnings.append(f"{definition.label}: {error}")
                continue
            if coerced is not None:
                custom[key] = coerced
        return CleanContact(
            phone=phone,
            keys=phone_keys(phone),
            name=name,
            email=email,
            source=source,
            stage=stage,
            tags=tags,
            custom=custom,
            warnings=warnings,
        )

    def _stage(self, value: str | None) -> str | None:
        """The stage key, None for no stage, or "!reason" when unknown."""
        if value is None:
            return None
        if self.stages is None:
            if len(value) > limits.MAX_SOURCE_CHARS:
                return f"!etapa com mais de {limits.MAX_SOURCE_CHARS} caracteres"
            return value
        key = self.stages.get(_fold(value))
        return key if key is not None else f"!etapa do funil desconhecida: {value[:50]}"

    def _tags(self, parts: list[str], warnings: list[str]) -> list[str]:
        """Tags split, trimmed and deduplicated in order; one too long, or those beyond the
        limit, are left out and said in `warnings`."""
        key = tuple(parts)
        known = self._tag_cache.get(key)
        if known is None:
            found: list[str] = []
            known = (tuple(self._split_tags(parts, found)), tuple(found))
            if sum(map(len, parts)) <= _TAG_CACHE_CELL_CHARS:
                if len(self._tag_cache) >= _TAG_CACHE_SIZE:
                    self._tag_cache.clear()
                self._tag_cache[key] = known
        tags, left_out = known
        warnings.extend(left_out)
        return list(tags)

    @staticmethod
    def _split_tags(parts: list[str], warnings: list[str]) -> list[str]:
        tags: dict[str, None] = {}
        too_long = 0
        for part in parts:
            for piece in _TAG_SEPARATORS.split(part):
                tag = " ".join(piece.split())
                if not tag:
                    continue
                if len(tag) > limits.MAX_TAG_CHARS:
                    too_long += 1
                    continue
                tags[tag] = None
        if too_long:
            warnings.append(f"etiqueta com mais de {limits.MAX_TAG_CHARS} caracteres")
        if len(tags) > limits.MAX_TAGS:
            warnings.append(
                f"mais de {limits.MAX_TAGS} etiquetas: ficaram as {limits.MAX_TAGS} primeiras"
            )
            return list(tags)[: limits.MAX_TAGS]
        return list(tags)
