"""Every captured-shape fixture parses, is registered, and normalizes to its stated facts.

Fixture format (`src/zapcrm/evolution/fixtures/<event>__<variant>.json`):
`{"description": str, "envelope": {...webhook body...}, "expect": {path: value}}`. A path is
dotted attribute/key/index access on the normalizer's result (properties included);
`envelope.<field>` reads the parsed envelope; `$count` is the result's length (list results);
`$handled: false` marks an event we deliberately ignore. Values compare in JSON form (datetimes
as ISO `...Z`, bytes as base64).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from pydantic_core import to_jsonable_python

import zapcrm.evolution
from zapcrm.evolution.events import (
    HANDLED_EVENTS,
    IGNORED_EVENTS,
    NORMALIZERS,
    is_handled,
    is_known,
)
from zapcrm.evolution.payloads import EVENT_NAMES, Envelope, parse_envelope

FIXTURES = Path(zapcrm.evolution.__file__).parent / "fixtures"
FIXTURE_FILES = sorted(FIXTURES.glob("*.json"))

_MISSING = object()


def _load(path: Path) -> dict[str, Any]:
    document = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def resolve_path(root: object, path: str) -> object:
    """Follow a dotted path through models (attributes and properties), dicts and sequences."""
    current = root
    for part in path.split("."):
        if isinstance(current, list | tuple):
            index = int(part)
            current = current[index] if -len(current) <= index < len(current) else _MISSING
        elif isinstance(current, dict):
            current = current.get(part, _MISSING)
        elif isinstance(current, BaseModel):
            current = getattr(current, part, _MISSING)
        else:
            current = _MISSING
        if current is _MISSING:
            return _MISSING
    return current


def as_json(value: object) -> object:
    """JSON form of a value as the models dump it (standard base64 for bytes, ISO datetimes)."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return to_jsonable_python(value)


def check_expectations(envelope: Envelope, result: object, expect: dict[str, Any]) -> list[str]:
    """Return one message per expectation that does not hold (empty when all hold)."""
    failures: list[str] = []
    for path, expected in expect.items():
        if path == "$handled":
            continue
        if path == "$count":
            actual: object = len(result) if isinstance(result, list) else _MISSING
        elif path.startswith("envelope."):
            actual = resolve_path(envelope, path.removeprefix("envelope."))
        else:
            actual = resolve_path(result, path)
        if actual is _MISSING:
            failures.append(f"{path}: missing (expected {expected!r})")
            continue
        actual_json = as_json(actual)
        if actual_json != expected:
            failures.append(f"{path}: expected {expected!r}, got {actual_json!r}")
    return failures


def test_there_are_fixtures_for_every_handled_event() -> None:
    """The registry and the fixture set cover each other: no handled event goes untested."""
    events_with_fixtures = {path.name.split("__")[0] for path in FIXTURE_FILES}
    missing = HANDLED_EVENTS - events_with_fixtures
    assert not missing, missing


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda path: path.stem)
def test_fixture_parses_and_meets_its_expectations(path: Path) -> None:
    """Each fixture: well named, registered event, parses, and every `expect` fact holds."""
    document = _load(path)
    assert set(document) == {"description", "envelope", "expect"}, path.name
    assert document["description"], "describe the variant/quirk the fixture pins"
    expect = document["expect"]
    assert expect, "a fixture must state at least one expectation"
    envelope = parse_envelope(json.dumps(document["envelope"]).encode())
    event_in_name, _, variant = path.stem.partition("__")
    assert variant, f"{path.name}: name must be <event>__<variant>.json"
    assert envelope.event == event_in_name
    assert is_known(envelope.event), f"{envelope.event} is in neither HANDLED nor IGNORED"
    if expect.get("$handled") is False:
        assert not is_handled(envelope.event)
        result: object = None
    else:
        assert is_handled(envelope.event), f"{envelope.event} has no normalizer"
        result = NORMALIZERS[envelope.event](envelope.data)
    failures = check_expectations(envelope, result, expect)
    assert not failures, "\n".join(failures)


def test_expectation_checker_reports_a_wrong_value() -> None:
    """The checker itself can fail: a wrong value and a missing path are both reported."""
    document = _load(FIXTURES / "messages.upsert__text.json")
    envelope = parse_envelope(document["envelope"])
    result = NORMALIZERS[envelope.event](envelope.data)
    failures = check_expectations(
        envelope,
        result,
        {"body": "something else", "no_such_field": 1, "key_id": "3EB0A9C2D7F1B45E8E21AB"},
    )
    assert len(failures) == 2


def test_registry_partitions_every_known_event() -> None:
    """HANDLED and IGNORED are disjoint and together cover every event the gateway emits."""
    assert not HANDLED_EVENTS & IGNORED_EVENTS
    assert HANDLED_EVENTS | IGNORED_EVENTS == EVENT_NAMES
    assert set(NORMALIZERS) == HANDLED_EVENTS


@pytest.mark.parametrize(
    "event",
    [
        "messages.upsert",
        "send.message",
        "messages.update",
        "messages.delete",
        "messages.edited",
        "send.message.update",
        "connection.update",
        "status.instance",
        "logout.instance",
        "remove.instance",
        "qrcode.updated",
        "contacts.upsert",
        "contacts.update",
        "groups.upsert",
        "group-participants.update",
        "presence.update",
    ],
)
def test_brief_events_are_handled(event: str) -> None:
    """The events the CRM needs are handled, each with its normalizer."""
    assert is_handled(event)
    assert callable(NORMALIZERS[event])


@pytest.mark.parametrize("event", ["groups.update", "messages.set", "chats.update", "call"])
def test_known_but_ignored(event: str) -> None:
    """Events we deliberately skip are known (200, counted) but not handled."""
    assert is_known(event)
    assert not is_handled(event)


def test_unregistered_event_is_unknown() -> None:
    """An event name from a future version is neither handled nor ignored."""
    assert not is_known("messages.reaction")
    assert not is_known("MESSAGES_UPSERT")
