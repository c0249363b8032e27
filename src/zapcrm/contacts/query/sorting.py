"""Orders of a contact list and their keyset pages: ORDER BY, "after this row" and cursors.

`recent` is the default, with or without a search. Every order ends with the contact id, so
rows never tie and a page boundary is exact:

- `recent`: newest first (`created_at desc, id desc`, the `(company_id, created_at desc, id
  desc)` index).
- `last_interaction`: most recent conversation first, never-contacted last
  (`last_interaction_at desc nulls last, id`, the matching index).
- `name`: alphabetical, ignoring accents and case (`app.search_text(name), id`).
- `relevance`: best name match first (only for a name search; otherwise `recent`). It scores
  every match before the first row comes out, so it is opt-in: on a million contacts, "joao
  silva" matches ~1% of them and ranking costs ~300 ms, while `recent` stops after a page.

A cursor is the last row's sort value and id, base64url JSON, tied to the order it came from.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, or_, tuple_
from sqlalchemy.sql.elements import ColumnElement, UnaryExpression

from zapcrm.contacts.query import source
from zapcrm.exceptions import BadRequest
from zapcrm.i18n import N_

__all__ = ["Sort", "SortKey", "after", "decode_cursor", "encode_cursor", "order_by", "sort_value"]


class Sort(enum.StrEnum):
    """The orders a contact list can have."""

    RECENT = "recent"
    LAST_INTERACTION = "last_interaction"
    NAME = "name"
    RELEVANCE = "relevance"


SortValue = datetime | str | float | None


@dataclass(frozen=True, slots=True)
class SortKey:
    """Where a page ended: the last row's sort value and id."""

    value: SortValue
    id: uuid.UUID


def sort_value(sort: Sort, score: ColumnElement[float] | None) -> ColumnElement[Any]:
    """The expression whose value a cursor carries for this order."""
    table = source.contacts().c
    if sort is Sort.RELEVANCE and score is not None:
        return score
    if sort is Sort.LAST_INTERACTION:
        return table.last_interaction_at
    if sort is Sort.NAME:
        return source.search_name()
    return table.created_at


def order_by(sort: Sort, score: ColumnElement[float] | None) -> list[UnaryExpression[Any]]:
    """ORDER BY terms of an order, id last as the tie-breaker."""
    table = source.contacts().c
    value = sort_value(sort, score)
    if sort is Sort.RELEVANCE and score is not None:
        return [value.desc(), table.id.asc()]
    if sort is Sort.LAST_INTERACTION:
        return [value.desc().nulls_last(), table.id.asc()]
    if sort is Sort.NAME:
        return [value.asc(), table.id.asc()]
    return [value.desc(), table.id.desc()]


def after(sort: Sort, score: ColumnElement[float] | None, key: SortKey) -> ColumnElement[bool]:
    """Rows that come after `key` in this order."""
    table = source.contacts().c
    value = sort_value(sort, score)
    row_id = bindparam(None, key.id, type_=table.id.type)
    if sort is Sort.RELEVANCE and score is not None:
        bound = bindparam(None, key.value, type_=value.type)
        return or_(value < bound, and_(value == bound, table.id > row_id))
    if sort is Sort.LAST_INTERACTION:
        if key.value is None:
            return and_(value.is_(None), table.id > row_id)
        bound = bindparam(None, key.value, type_=value.type)
        return or_(value < bound, and_(value == bound, table.id > row_id), value.is_(None))
    bound = bindparam(None, key.value, type_=value.type)
    if sort is Sort.NAME:
        return tuple_(value, table.id) > tuple_(bound, row_id)
    # Row comparison, so the (company_id, created_at desc, id desc) index seeks to the spot.
    return tuple_(value, table.id) < tuple_(bound, row_id)


def encode_cursor(sort: Sort, value: SortValue, row_id: uuid.UUID) -> str:
    """An opaque cursor for the row with this sort value and id."""
    shown = value.isoformat() if isinstance(value, datetime) else value
    raw = json.dumps([sort.value, shown, str(row_id)], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(sort: Sort, cursor: str) -> SortKey:
    """Parse a cursor of this order; BadRequest when it is malformed or from another order."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        name, shown, id_text = json.loads(base64.urlsafe_b64decode(padded.encode()))
        row_id = uuid.UUID(id_text)
        value = _parse_value(Sort(name), shown)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise BadRequest(N_("cursor de paginação inválido")) from None
    if Sort(name) is not sort:
        raise BadRequest(N_("o cursor é de outra ordenação; recomece sem cursor"))
    return SortKey(value, row_id)


def _parse_value(sort: Sort, shown: Any) -> SortValue:
    if sort is Sort.RELEVANCE:
        if isinstance(shown, bool) or not isinstance(shown, int | float):
            raise ValueError("relevance cursor")
        return float(shown)
    if sort is Sort.NAME:
        if not isinstance(shown, str):
            raise ValueError("name cursor")
        return shown
    if shown is None and sort is Sort.LAST_INTERACTION:
        return None
    if not isinstance(shown, str):
        raise ValueError("time cursor")
    moment = datetime.fromisoformat(shown)
    if moment.tzinfo is None:
        raise ValueError("time cursor without offset")
    return moment
