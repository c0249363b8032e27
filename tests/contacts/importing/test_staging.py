"""A batch as the staging COPY receives it: waves, pre-made ids, text (no database needed)."""

from __future__ import annotations

import random

from zapcrm.contacts.importing import limits
from zapcrm.contacts.importing.mapping import ColumnPlan
from zapcrm.contacts.importing.pipeline import stage_rows
from zapcrm.contacts.importing.rows import CleanContact, RawContact, RowRules

_PLAN = ColumnPlan(phone=0, tags=(1,))


def _rows(payload: bytes) -> list[list[str]]:
    return [line.split("\t") for line in payload.decode().splitlines()]


def test_new_ids_ascend_in_phone_order_across_the_whole_batch() -> None:
    # New contacts enter the primary key and the phone index in ascending order only when
    # their ids follow phone order through the whole batch, well past 4,096 rows.
    rules = RowRules(default_region="BR", definitions={}, stages=[])
    numbers = [f"11 9{8000_0000 + index * 7}" for index in range(10_000)]
    random.Random(5).shuffle(numbers)
    cleaned = []
    for row_no, number in enumerate(numbers, start=1):
        contact = rules.clean(RawContact(phone=number))
        assert isinstance(contact, CleanContact)
        cleaned.append((row_no, contact))
    batch = stage_rows(cleaned)
    rows = _rows(batch.payload)
    assert batch.rows == len(rows) == 10_000
    by_phone = sorted(rows, key=lambda row: row[4])
    ids: list[str] = []
    for row in by_phone:
        ids.append(row[2])
        ids.extend(row[3].strip("{}").split(","))
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids) == 30_000  # each mobile: a contact and two keys
    assert all(len(value) == 32 and int(value[12], 16) == 7 for value in ids)  # UUIDv7 layout


def test_a_repeated_tag_cell_warns_every_row_and_shares_no_list() -> None:
    rules = RowRules(default_region="BR", definitions={}, stages=[])
    cell = "vip," + "x" * (limits.MAX_TAG_CHARS + 1)
    first = rules.from_cells(["11987654321", cell], _PLAN, 2)
    second = rules.from_cells(["11987654322", cell], _PLAN, 2)
    assert isinstance(first, CleanContact)
    assert isinstance(second, CleanContact)
    assert first.tags == second.tags == ["vip"]
    assert first.warnings == second.warnings == ["etiqueta com mais de 100 caracteres"]
    first.tags.append("novo")
    assert second.tags == ["vip"]
