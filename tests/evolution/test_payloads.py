"""The parsing layer: defensive values, envelope, event names, statuses and every normalizer."""

from __future__ import annotations

import base64
import contextlib
import copy
import json
import math
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import zapcrm.evolution
from zapcrm.evolution.events import NORMALIZERS
from zapcrm.evolution.payloads import (
    EVENT_NAMES,
    STATUS_RANK,
    MalformedPayload,
    NormalizedMessage,
    event_to_suffix,
    normalize_connection_update,
    normalize_contacts_update,
    normalize_contacts_upsert,
    normalize_group_participants_update,
    normalize_groups_upsert,
    normalize_messages_delete,
    normalize_messages_edited,
    normalize_messages_update,
    normalize_messages_upsert,
    normalize_presence_update,
    normalize_qrcode_updated,
    normalize_send_message,
    normalize_status_instance,
    parse_bytes,
    parse_envelope,
    parse_int,
    parse_message_content,
    parse_status,
    parse_timestamp,
    status_advances,
    suffix_to_event,
)
from zapcrm.evolution.payloads._values import parse_float

FIXTURES = Path(zapcrm.evolution.__file__).parent / "fixtures"
PN = "5511987654321@s.whatsapp.net"
LID = "148392017465823@lid"
GROUP = "120363041234567890@g.us"
T0 = datetime(2025, 11, 16, 20, 49, 42, tzinfo=UTC)


def fixture_data(name: str) -> Any:
    """The `data` of a fixture envelope, deep-copied so tests can change it."""
    document = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return copy.deepcopy(document["envelope"]["data"])


def upsert(message: object, **overrides: object) -> dict[str, Any]:
    """A minimal 2.3.6 `messages.upsert` data object around the given content."""
    data: dict[str, Any] = {
        "key": {"remoteJid": PN, "fromMe": False, "id": "3EB0TEST", "participant": ""},
        "pushName": "Maria",
        "status": "DELIVERY_ACK",
        "message": message,
        "messageType": "conversation",
        "messageTimestamp": 1763326182,
        "instanceId": "99910a55-8bbd-440a-9e14-9d5833a63c5e",
        "source": "android",
    }
    data.update(overrides)
    return data


# --- timestamps


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1763326182, T0),
        (1763326182.0, T0),
        ("1763326182", T0),
        (" 1763326182 ", T0),
        (1763326182000, T0),  # milliseconds (timestampMs, 1.x datetime)
        ("1763326182000", T0),
        (1763326182000000, T0),  # microseconds
        (1763326182000000000, T0),  # nanoseconds
        ({"low": 1763326182, "high": 0, "unsigned": True}, T0),  # Long (2.3.6+, 1.x sends)
        ({"low": 1763326182000 & 0xFFFFFFFF, "high": 1763326182000 >> 32, "unsigned": False}, T0),
        ({"low": 1763326182000, "high": 0, "unsigned": False}, T0),  # whole value in `low`
        ("2025-11-16T20:49:42Z", T0),
        ("2025-11-16T20:49:42", T0),  # naive ISO is taken as UTC
        ("2025-11-16T17:49:42-03:00", T0),
        (T0, T0),
        (datetime(2025, 11, 16, 20, 49, 42), T0),  # naive datetime is taken as UTC
        (datetime(2025, 11, 16, 17, 49, 42, tzinfo=timezone(timedelta(hours=-3))), T0),
        (1763326182.5, datetime(2025, 11, 16, 20, 49, 42, 500000, tzinfo=UTC)),
    ],
)
def test_parse_timestamp_accepts_every_representation(value: object, expected: datetime) -> None:
    """Seconds, ms, Long objects, decimal and ISO strings all give the same aware UTC instant."""
    parsed = parse_timestamp(value)
    assert parsed == expected
    assert parsed is not None
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "value",
    [
        None,
        0,
        -5,
        "0",
        "",
        "soon",
        True,
        False,
        [],
        {},
        {"low": "1", "high": 0},
        10**400,
        math.inf,
        math.nan,
        "1e999",
    ],
)
def test_parse_timestamp_unusable_values_are_none(value: object) -> None:
    """Protobuf's "unset" zero, negatives, garbage and overflow give None, never an error."""
    assert parse_timestamp(value) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (291957, 291957),
        ("291957", 291957),
        ({"low": 291957, "high": 0, "unsigned": True}, 291957),
        ({"low": 705032704, "high": 1, "unsigned": True}, 5_000_000_000),
        ({"low": -1, "high": -1, "unsigned": False}, -1),  # signed Long -1
        ({"low": -1, "high": 2**31 - 1, "unsigned": True}, 2**63 - 1),
        ({"low": 0, "high": -(2**31), "unsigned": True}, None),  # 2**63: beyond bigint
        (12.0, 12),
        (12.5, None),
        (True, None),
        ("12a", None),
        ("9" * 30, None),
        (None, None),
    ],
)
def test_parse_int(value: object, expected: int | None) -> None:
    """64-bit values in every form; anything outside a signed bigint is rejected."""
    assert parse_int(value) == expected


def test_parse_float_for_coordinates() -> None:
    """Coordinates arrive as numbers or numeric strings; non-finite values are dropped."""
    assert parse_float(-23.5613) == -23.5613
    assert parse_float("-46.6565") == -46.6565
    assert parse_float(math.nan) is None
    assert parse_float("north") is None
    assert parse_float(True) is None


# --- bytes

RAW = bytes([115, 93, 15, 0, 255, 251, 62, 63])


@pytest.mark.parametrize(
    "value",
    [
        {str(index): byte for index, byte in enumerate(RAW)},  # 2.3.6+ index-keyed object
        {
            str(index): byte for index, byte in reversed(list(enumerate(RAW)))
        },  # key order irrelevant
        list(RAW),
        {"type": "Buffer", "data": list(RAW)},
        base64.b64encode(RAW).decode(),  # <= 2.3.5 base64 string
        base64.urlsafe_b64encode(RAW).decode(),
        base64.b64encode(RAW).decode().rstrip("="),
        RAW,
    ],
)
def test_parse_bytes_every_representation(value: object) -> None:
    """Objects, lists, Buffer JSON and (URL-safe, unpadded) base64 all decode to the same bytes."""
    assert parse_bytes(value) == RAW


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "not base64!",
        "olá",
        {"0": 1, "2": 3},  # a gap
        {"0": 256},
        {"0": -1},
        {"0": True},
        {"0": 1, "x": 2},
        {"…": "32 bytes total"},  # the contract's own shortening marker
        {},
        [1, "2"],
        12,
    ],
)
def test_parse_bytes_rejects_what_is_not_bytes(value: object) -> None:
    """Anything that is not unambiguously bytes gives None."""
    assert parse_bytes(value) is None


@given(st.binary(min_size=1, max_size=64))
def test_parse_bytes_round_trips_all_encodings(raw: bytes) -> None:
    """Any bytes survive every encoding the gateway uses."""
    as_object = {str(index): byte for index, byte in enumerate(raw)}
    assert parse_bytes(as_object) == raw
    assert parse_bytes(list(raw)) == raw
    assert parse_bytes(base64.b64encode(raw).decode()) == raw


@given(st.integers(min_value=0, max_value=2**63 - 1), st.booleans())
def test_long_round_trip(number: int, unsigned: bool) -> None:
    """A protobuf.js Long built from any non-negative int64 decodes back to it."""
    low, high = number & 0xFFFFFFFF, number >> 32
    # protobuf.js stores `low`/`high` as signed int32 for signed Longs.
    if not unsigned:
        low = low - 2**32 if low >= 2**31 else low
        high = high - 2**32 if high >= 2**31 else high
    assert parse_int({"low": low, "high": high, "unsigned": unsigned}) == number


JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.from_regex(r"[0-9]{1,25}", fullmatch=True)
)

# Real field names make random objects reach the interesting branches, not just the first check.
FIELD_NAMES = st.sampled_from(
    [
        "key",
        "id",
        "keyId",
        "remoteJid",
        "remoteJidAlt",
        "participant",
        "participantAlt",
        "fromMe",
        "message",
        "messageType",
        "conversation",
        "extendedTextMessage",
        "text",
        "imageMessage",
        "audioMessage",
        "documentWithCaptionMessage",
        "ephemeralMessage",
        "viewOnceMessageV2",
        "editedMessage",
        "protocolMessage",
        "reactionMessage",
        "pollCreationMessageV3",
        "options",
        "contactsArrayMessage",
        "contacts",
        "locationMessage",
        "degreesLatitude",
        "contextInfo",
        "quotedMessage",
        "stanzaId",
        "mentionedJid",
        "type",
        "timestampMs",
        "messageTimestamp",
        "status",
        "low",
        "high",
        "unsigned",
        "0",
        "1",
        "mediaKey",
        "fileLength",
        "state",
        "qrcode",
        "code",
        "base64",
        "participants",
        "phoneNumber",
        "presences",
        "lastSeen",
        "datetime",
        "disconnectionObject",
        "pushName",
        "senderPn",
        "previousRemoteJid",
        "action",
        "admin",
    ]
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(FIELD_NAMES | st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=25,
)


@given(JSON_VALUES)
def test_value_parsers_never_raise(value: object) -> None:
    """The low-level readers are total: arbitrary JSON in, a value or None out."""
    timestamp = parse_timestamp(value)
    assert timestamp is None or timestamp.tzinfo is not None
    assert parse_bytes(value) is None or isinstance(parse_bytes(value), bytes)
    number = parse_int(value)
    assert number is None or -(2**63) <= number < 2**63
    parse_float(value)
    parse_status(value)
    parse_message_content(value)


# --- envelope


def test_parse_envelope_from_bytes_str_and_dict() -> None:
    """The receiver may hand over raw bytes, text or an already decoded object."""
    body: dict[str, Any] = {
        "event": "messages.upsert",
        "instance": "acme-sales",
        "data": {},
        "apikey": None,
    }
    for form in (json.dumps(body).encode(), json.dumps(body), body):
        envelope = parse_envelope(form)
        assert (envelope.event, envelope.instance, envelope.apikey) == (
            "messages.upsert",
            "acme-sales",
            None,
        )


def test_envelope_keeps_extra_keys_and_handles_absent_apikey() -> None:
    """2.3.7 adds isLatest/progress to messages.set; 1.x omits apikey when not exposed (§1.7)."""
    envelope = parse_envelope(
        {"event": "messages.set", "instance": "a", "data": [], "isLatest": True, "progress": 80}
    )
    assert envelope.apikey is None
    assert envelope.model_extra == {"isLatest": True, "progress": 80}


def test_envelope_date_time_is_parsed_but_only_informational() -> None:
    """date_time is server-local time mislabelled Z (§1.6); it still parses for audit."""
    envelope = parse_envelope(
        {"event": "call", "instance": "a", "date_time": "2025-11-16T17:49:42.155Z"}
    )
    assert envelope.event_datetime == datetime(2025, 11, 16, 17, 49, 42, 155000, tzinfo=UTC)


def test_envelope_wrong_typed_informational_fields_are_dropped() -> None:
    """A non-string destination or apikey does not reject an otherwise usable event."""
    envelope = parse_envelope({"event": "call", "instance": "a", "destination": 5, "apikey": ["x"]})
    assert envelope.destination is None
    assert envelope.apikey is None


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'"text"', "JSON object"),
        (b"", "not valid JSON"),
        ({"instance": "a"}, "event"),
        ({"event": "", "instance": "a"}, "event"),
        ({"event": "call"}, "instance"),
        ({"event": "call", "instance": 12}, "instance"),
        ({"event": 3, "instance": "a"}, "event"),
    ],
)
def test_parse_envelope_malformed_bodies_raise_with_reason(body: Any, fragment: str) -> None:
    """Malformed bodies raise MalformedPayload naming what is wrong."""
    with pytest.raises(MalformedPayload, match=fragment):
        parse_envelope(body)


def test_malformed_payload_is_a_value_error_with_path() -> None:
    """Callers can catch ValueError; the path says where the problem is."""
    with pytest.raises(ValueError, match=r"data\.key\.id") as caught:
        normalize_messages_upsert({"key": {"remoteJid": PN}})
    assert isinstance(caught.value, MalformedPayload)
    assert caught.value.path == "data.key.id"


@given(st.binary(max_size=200))
def test_parse_envelope_arbitrary_bytes_only_raise_malformed(body: bytes) -> None:
    """No byte sequence makes the envelope parser fail with anything but MalformedPayload."""
    with contextlib.suppress(MalformedPayload):
        parse_envelope(body)


# --- event names


@pytest.mark.parametrize(
    ("event", "suffix"),
    [
        ("messages.upsert", "messages-upsert"),
        ("send.message.update", "send-message-update"),
        ("group-participants.update", "group-participants-update"),
        ("typebot.change-status", "typebot-change-status"),
        ("messaging-history.set", "messaging-history-set"),
        ("qrcode.updated", "qrcode-updated"),
    ],
)
def test_event_suffix_both_ways(event: str, suffix: str) -> None:
    """Dotted names and by-events URL suffixes convert both ways (§1.2, §1.3)."""
    assert event_to_suffix(event) == suffix
    assert suffix_to_event(suffix) == event
    assert suffix_to_event(f"/{suffix}") == event  # a url ending in "/" yields "//suffix"
    assert suffix_to_event(suffix.upper()) == event


def test_every_event_name_round_trips_and_suffixes_are_unique() -> None:
    """No two events share a suffix, so the reverse lookup is unambiguous."""
    suffixes = {event_to_suffix(name) for name in EVENT_NAMES}
    assert len(suffixes) == len(EVENT_NAMES)
    for name in EVENT_NAMES:
        assert suffix_to_event(event_to_suffix(name)) == name


def test_unknown_suffix_is_none() -> None:
    """A suffix no known event produces gives None, never a guess."""
    assert suffix_to_event("messages-reaction") is None
    assert event_to_suffix("MESSAGES_UPSERT") == "messages-upsert"


# --- statuses


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("READ", "READ"),
        ("read", "READ"),
        ("DELIVERY_ACK", "DELIVERY_ACK"),
        ("DELETED", "DELETED"),
        (0, "ERROR"),
        (1, "PENDING"),
        (2, "SERVER_ACK"),
        (3, "DELIVERY_ACK"),
        (4, "READ"),
        (5, "PLAYED"),
        ("4", "READ"),
        ("SENT", "SERVER_ACK"),
        ("DELIVERED", "DELIVERY_ACK"),
        ("FAILED", "ERROR"),
        (6, None),
        (True, None),
        ("SEEN", None),
        (None, None),
    ],
)
def test_parse_status(value: object, expected: str | None) -> None:
    """Strings, Baileys numeric codes and Meta Cloud names map to one status vocabulary."""
    assert parse_status(value) == expected


# Rows: stored status; columns: incoming status. "1" = the incoming status replaces the stored.
# Written out by hand from DESIGN.md §9, not derived from STATUS_RANK, so the two can disagree.
STATUS_COLUMNS = [
    "PENDING",
    "SERVER_ACK",
    "DELIVERY_ACK",
    "READ",
    "PLAYED",
    "ERROR",
    "DELETED",
    None,
]
STATUS_TABLE = {
    None: "1 1 1 1 1 1 0 0",
    "unknown": "1 1 1 1 1 1 0 0",
    "queued": "1 1 1 1 1 1 0 0",
    "PENDING": "0 1 1 1 1 1 0 0",
    "SERVER_ACK": "0 0 1 1 1 1 0 0",
    "DELIVERY_ACK": "0 0 0 1 1 0 0 0",
    "READ": "0 0 0 0 1 0 0 0",
    "PLAYED": "0 0 0 0 0 0 0 0",
    "ERROR": "0 0 1 1 1 0 0 0",
    "DELETED": "1 1 1 1 1 1 0 0",
}
STATUS_CASES = [
    (current, new, flag == "1")
    for current, row in STATUS_TABLE.items()
    for new, flag in zip(STATUS_COLUMNS, row.split(), strict=True)
]


@pytest.mark.parametrize(("current", "new", "advances"), STATUS_CASES)
def test_status_advances_truth_table(current: str | None, new: str | None, advances: bool) -> None:
    """Forward only; ERROR only before delivery; later delivery beats ERROR; DELETED/None never."""
    assert status_advances(current, new) is advances


def test_status_rank_orders_the_acks() -> None:
    """The rank the database mirrors; ERROR sits between SERVER_ACK and DELIVERY_ACK."""
    ordered = sorted(STATUS_RANK, key=STATUS_RANK.__getitem__)
    assert ordered == ["queued", "PENDING", "SERVER_ACK", "ERROR", "DELIVERY_ACK", "READ", "PLAYED"]
    assert "DELETED" not in STATUS_RANK


@given(st.lists(st.sampled_from(STATUS_COLUMNS), max_size=8))
def test_status_never_regresses_in_any_arrival_order(arrivals: list[str | None]) -> None:
    """Applying updates in any order with status_advances only ever raises the rank."""
    stored: str | None = "queued"
    for status in arrivals:
        if status_advances(stored, status):
            assert STATUS_RANK[status or ""] > STATUS_RANK[stored or ""]
            stored = status
    assert stored in STATUS_RANK


# --- messages.upsert quirks


def test_upsert_requires_key_id_and_remote_jid() -> None:
    """Without a key id or chat there is nothing to store: MalformedPayload with the path."""
    with pytest.raises(MalformedPayload, match=r"data\.key\.id"):
        normalize_messages_upsert(upsert({"conversation": "x"}, key={"remoteJid": PN}))
    with pytest.raises(MalformedPayload, match=r"data\.key\.remoteJid"):
        normalize_messages_upsert(upsert({"conversation": "x"}, key={"id": "X", "remoteJid": ""}))
    with pytest.raises(MalformedPayload, match=r"data\.key"):
        normalize_messages_upsert(upsert({"conversation": "x"}, key="3EB0"))
    with pytest.raises(MalformedPayload, match="data"):
        normalize_messages_upsert([upsert({"conversation": "x"})])


def test_extended_text_is_text_whether_rewritten_or_not() -> None:
    """2.1+ rewrites extendedTextMessage to conversation; 1.x keeps it (§2.1, §6.6)."""
    rewritten = normalize_messages_upsert(upsert({"conversation": "oi https://x.y"}))
    kept = normalize_messages_upsert(
        upsert(
            {"extendedTextMessage": {"text": "oi https://x.y"}}, messageType="extendedTextMessage"
        )
    )
    assert (
        (rewritten.message_type, rewritten.body)
        == (kept.message_type, kept.body)
        == ("text", "oi https://x.y")
    )


def test_unknown_content_never_loses_the_event() -> None:
    """A content type we do not know, or no content at all, keeps the raw payload."""
    data = upsert({"newFancyMessage": {"x": 1}}, messageType="newFancyMessage")
    message = normalize_messages_upsert(data)
    assert message.message_type == "unknown"
    assert message.content_key == "newFancyMessage"
    assert message.raw == data
    assert normalize_messages_upsert(upsert("garbage")).message_type == "unknown"
    assert (
        normalize_messages_upsert(upsert({"imageMessage": "not an object"})).message_type
        == "unknown"
    )


def test_wrappers_unwrap_recursively() -> None:
    """ephemeral -> viewOnceV2Extension -> audio is read through both wrappers (§2.1)."""
    content = parse_message_content(
        {
            "ephemeralMessage": {
                "message": {
                    "viewOnceMessageV2Extension": {"message": {"audioMessage": {"ptt": True}}}
                }
            }
        }
    )
    assert content.kind == "audio"
    assert content.wrappers == ("ephemeralMessage", "viewOnceMessageV2Extension")
    assert content.media is not None
    assert content.media.ptt is True


def test_wrapper_nesting_is_bounded() -> None:
    """A hostile chain of wrappers ends as unknown instead of recursing without end."""
    message: dict[str, Any] = {"conversation": "deep"}
    for _ in range(50):
        message = {"ephemeralMessage": {"message": message}}
    assert parse_message_content(message).kind == "unknown"


def test_message_type_hint_breaks_ties() -> None:
    """When several content keys exist, `messageType` says which one is the message."""
    content = {
        "conversation": "legenda",
        "imageMessage": {"caption": "legenda", "mimetype": "image/jpeg"},
    }
    assert parse_message_content(content, type_hint="imageMessage").kind == "image"
    assert parse_message_content(content).kind == "text"


def test_voce_push_name_is_ignored_only_for_from_me() -> None:
    """Evolution fills "Você" for our own messages (§6.6); a contact may really be called that."""
    ours = normalize_messages_upsert(
        upsert(
            {"conversation": "x"}, key={"remoteJid": PN, "id": "A", "fromMe": True}, pushName="Você"
        )
    )
    theirs = normalize_messages_upsert(upsert({"conversation": "x"}, pushName="Você"))
    assert ours.push_name is None
    assert theirs.push_name == "Você"


def test_reply_context_is_read_from_top_level_or_content() -> None:
    """2.x moves contextInfo to the top level; 1.x keeps it inside extendedTextMessage."""
    context = {
        "stanzaId": "Q1",
        "participant": PN,
        "quotedMessage": {"extendedTextMessage": {"text": "antes"}},
        "mentionedJid": [PN],
    }
    top = normalize_messages_upsert(upsert({"conversation": "depois"}, contextInfo=context))
    inner = normalize_messages_upsert(
        upsert({"extendedTextMessage": {"text": "depois", "contextInfo": context}})
    )
    for message in (top, inner):
        assert message.quoted is not None
        assert (message.quoted.stanza_id, message.quoted.text, message.mentions) == (
            "Q1",
            "antes",
            (PN,),
        )


def test_group_sender_prefers_phone_and_one_to_one_has_none() -> None:
    """Group senders resolve participant/participantAlt; 1:1 messages have no separate sender."""
    group = normalize_messages_upsert(fixture_data("messages.upsert__group_lid_participant"))
    assert (group.sender_jid, group.sender_lid, group.is_group) == (
        "5583989119837@s.whatsapp.net",
        "112928179142781@lid",
        True,
    )
    one_to_one = normalize_messages_upsert(fixture_data("messages.upsert__lid_with_alt"))
    assert one_to_one.sender_jid is None


def test_same_message_from_send_and_upsert_shares_the_key() -> None:
    """An API send can arrive as send.message and as upsert fromMe (#1340): one key id."""
    sent = normalize_send_message(fixture_data("send.message__text"))
    echoed = normalize_messages_upsert(fixture_data("messages.upsert__api_send_echo"))
    assert sent.key_id == echoed.key_id
    assert (sent.origin_event, echoed.origin_event) == ("send.message", "messages.upsert")


def test_normalized_models_are_frozen_and_json_ready() -> None:
    """Results cannot be mutated, and dump to JSON (bytes as standard base64) for jsonb."""
    message = normalize_messages_upsert(fixture_data("messages.upsert__image_caption"))
    with pytest.raises(ValidationError):
        message.body = "changed"  # type: ignore[misc]
    dumped = message.model_dump(mode="json")
    orjson.dumps(dumped)
    assert dumped["media"]["media_key"] == base64.b64encode(message.media.media_key or b"").decode()  # type: ignore[union-attr]
    assert NormalizedMessage.model_validate(dumped) == message


# --- messages.update / delete / edited


def test_update_prefers_key_id_over_db_message_id() -> None:
    """`messageId` is Evolution's DB id; the WhatsApp id is `keyId` (§2.3, §6.6)."""
    [update] = normalize_messages_update({"keyId": "WA1", "messageId": "cuid1", "status": "READ"})
    assert (update.key_id, update.db_message_id) == ("WA1", "cuid1")
    with pytest.raises(MalformedPayload):
        normalize_messages_update({"messageId": "cuid1", "status": "READ"})


def test_update_deleted_is_a_fallback_that_never_changes_status() -> None:
    """DELETED in messages.update is the <= 2.3.6 fallback (#2010): flagged and never applied."""
    [update] = normalize_messages_update(fixture_data("messages.update__deleted_artefact"))
    assert update.is_fallback_status
    assert not status_advances("DELIVERY_ACK", update.status)


def test_update_array_keeps_usable_items() -> None:
    """An array drops unusable entries but keeps the rest; all-bad is malformed."""
    updates = normalize_messages_update(
        [{"keyId": "A", "status": "READ"}, "junk", {"status": "READ"}]
    )
    assert [update.key_id for update in updates] == ["A"]
    with pytest.raises(MalformedPayload, match=r"data\[0\]"):
        normalize_messages_update(["junk", 3])
    assert normalize_messages_update([]) == []


def test_baileys_key_update_shape_is_accepted() -> None:
    """Baileys' own `{key, update}` shape reads the same as Evolution's flat one."""
    [update] = normalize_messages_update(
        {"key": {"remoteJid": PN, "id": "A", "fromMe": True}, "update": {"status": 3}}
    )
    assert (update.key_id, update.status, update.remote_jid, update.from_me) == (
        "A",
        "DELIVERY_ACK",
        PN,
        True,
    )


def test_delete_key_and_stored_message_forms() -> None:
    """messages.delete: a bare key (WhatsApp revoke) or the stored message (REST delete, §2.4)."""
    revoke = normalize_messages_delete({"remoteJid": PN, "fromMe": False, "id": "A"})
    stored = normalize_messages_delete(
        {"id": "cuid", "key": {"remoteJid": PN, "fromMe": True, "id": "B"}, "status": "DELETED"}
    )
    assert (revoke.key_id, revoke.via_api, revoke.db_message_id) == ("A", False, None)
    assert (stored.key_id, stored.via_api, stored.db_message_id) == ("B", True, "cuid")
    with pytest.raises(MalformedPayload):
        normalize_messages_delete({"remoteJid": PN})


def test_edit_correlates_by_original_id_not_by_inverted_key() -> None:
    """The edit key is from the editor's view (#1367): key_id is the original message's id."""
    edit = normalize_messages_edited(fixture_data("messages.edited__edit"))
    assert edit.key_id == "E925A9673BA41BDE6F0C2B7A1D5E4C3B"
    assert edit.editor_from_me is True  # the contact edited, yet fromMe is true


def test_edit_without_type_is_never_guessed_as_revoke() -> None:
    """A protocol message without `type` is an edit only if it carries the edited content."""
    with_content = normalize_messages_edited(
        {"key": {"id": "A"}, "editedMessage": {"conversation": "novo"}}
    )
    bare = normalize_messages_edited({"key": {"id": "A"}})
    assert (with_content.kind, with_content.new_text) == ("edit", "novo")
    assert (bare.kind, bare.protocol_type) == ("other", "UNKNOWN")


def test_edit_inside_full_message_shape() -> None:
    """Some builds send the whole message; the protocolMessage is found inside it."""
    edit = normalize_messages_edited(
        {
            "key": {"id": "OUTER"},
            "message": {
                "editedMessage": {
                    "message": {
                        "protocolMessage": {
                            "key": {"id": "ORIG"},
                            "type": "MESSAGE_EDIT",
                            "editedMessage": {"conversation": "x"},
                        }
                    }
                }
            },
        }
    )
    assert (edit.key_id, edit.new_text) == ("ORIG", "x")


# --- instance, contacts, groups, presence


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("open", "open"),
        ("connecting", "connecting"),
        ("close", "close"),
        ("refused", "refused"),
        ("CLOSED", "close"),
        ("weird", None),
    ],
)
def test_connection_states(raw: str, state: str | None) -> None:
    """connection.update states (and status.instance's "closed") normalise; unknown -> None."""
    assert normalize_connection_update({"state": raw}).state == state
    assert normalize_status_instance({"status": raw}).state == state


def test_disconnection_object_bad_json_is_dropped() -> None:
    """disconnectionObject is a JSON string; invalid JSON there does not reject the event."""
    assert (
        normalize_status_instance(
            {"status": "closed", "disconnectionObject": "{oops"}
        ).disconnection_object
        is None
    )


def test_qrcode_without_code_or_message_is_malformed() -> None:
    """A qrcode.updated carrying nothing usable is malformed."""
    with pytest.raises(MalformedPayload):
        normalize_qrcode_updated({"qrcode": {}})


def test_contacts_single_object_and_array_read_alike() -> None:
    """contacts.update is an array or a single object depending on the source (§6.6)."""
    item = {"remoteJid": PN, "pushName": "Maria", "profilePicUrl": None}
    assert (
        normalize_contacts_update(item)
        == normalize_contacts_update([item])
        == normalize_contacts_upsert(item)
    )


def test_contact_pushname_equal_to_number_is_not_a_name() -> None:
    """Sync contacts fall back to the number part as pushName (§2.8)."""
    [contact] = normalize_contacts_upsert({"remoteJid": PN, "pushName": "5511987654321"})
    assert contact.push_name is None


def test_group_participants_strings_and_objects_read_alike() -> None:
    """participants may be JID strings or `{id, phoneNumber?, admin?}` objects (§2.11)."""
    as_strings = normalize_group_participants_update(
        {"id": GROUP, "action": "add", "participants": [PN]}
    )
    as_objects = normalize_group_participants_update(
        {"id": GROUP, "action": "add", "participants": [{"id": LID, "phoneNumber": PN}]}
    )
    assert as_strings.participants[0].jid == as_objects.participants[0].jid == PN
    assert as_objects.participants[0].lid == LID


@pytest.mark.parametrize("participant", [PN, LID])
def test_participants_data_merges_whichever_form_the_participant_has(participant: str) -> None:
    """participantsData (PR #2025) enriches a participant given by either of its JIDs, and its
    other form completes the lid<->phone pair, read as the object form would read it."""
    update = normalize_group_participants_update(
        {
            "id": GROUP,
            "action": "add",
            "participants": [participant],
            "participantsData": [{"jid": LID, "phoneNumber": "5511987654321", "name": "Maria"}],
        }
    )
    as_object = normalize_group_participants_update(
        {"id": GROUP, "participants": [{"id": LID, "phoneNumber": PN, "name": "Maria"}]}
    )
    assert update.participants == as_object.participants
    [member] = update.participants
    assert (member.jid, member.phone_jid, member.lid, member.name) == (PN, PN, LID, "Maria")


def test_presence_skips_non_jid_entries() -> None:
    """Only entries keyed by a JID are kept."""
    presence = normalize_presence_update(
        {"id": PN, "presences": {PN: {"lastKnownPresence": "RECORDING"}, "": {}}}
    )
    assert [(entry.jid, entry.presence) for entry in presence.entries] == [(PN, "recording")]


@pytest.mark.parametrize(
    "normalize",
    [normalize_groups_upsert, normalize_group_participants_update, normalize_presence_update],
)
def test_group_and_presence_events_need_a_jid_id(normalize: Any) -> None:
    """The group or chat `id` is the one field these events cannot do without."""
    with pytest.raises(MalformedPayload, match=r"^data\.id: expected a non-empty string"):
        normalize({"participants": [PN], "presences": {}})
    with pytest.raises(MalformedPayload, match=r"^data\.id: expected a JID string$"):
        normalize({"id": "@"})


# --- fuzzing every normalizer


def _handled_fixture_samples() -> list[tuple[str, Any]]:
    samples = []
    for path in sorted(FIXTURES.glob("*.json")):
        envelope = json.loads(path.read_text(encoding="utf-8"))["envelope"]
        if envelope["event"] in NORMALIZERS:
            samples.append((envelope["event"], envelope["data"]))
    return samples


SAMPLES = _handled_fixture_samples()


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _replaced(node: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    clone = copy.copy(node)
    clone[path[0]] = _replaced(node[path[0]], path[1:], value)
    return clone


# Values of every wrong type, plus the gateway's own oddities ("[object Object]", Long objects).
HOSTILE_VALUES: list[object] = [
    None,
    True,
    0,
    -1,
    10**30,
    1.5,
    math.nan,
    "",
    "abc",
    "[object Object]",
    "0:1@lid",
    [],
    [None],
    {},
    {"low": "x", "high": 1},
    {"0": 999},
]


def _normalize_and_dump(event: str, data: object) -> None:
    """Normalize, then dump to JSON as the database layer will; only MalformedPayload may escape."""
    try:
        result = NORMALIZERS[event](data)
    except MalformedPayload:
        return
    items = result if isinstance(result, list) else [result]
    for item in items:
        item.model_dump(mode="json")


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(NORMALIZERS)), JSON_VALUES)
def test_normalizers_on_random_json_raise_only_malformed(event: str, data: object) -> None:
    """Arbitrary JSON into any normalizer: a model or MalformedPayload, nothing else."""
    _normalize_and_dump(event, data)


@pytest.mark.parametrize(
    "sample", SAMPLES, ids=[f"{event}#{index}" for index, (event, _) in enumerate(SAMPLES)]
)
def test_every_field_of_every_fixture_tolerates_hostile_values(sample: tuple[str, Any]) -> None:
    """Deterministic sweep: each path of each real shape, replaced by each hostile value."""
    event, payload = sample
    for path in _paths(payload):
        for value in HOSTILE_VALUES:
            _normalize_and_dump(event, _replaced(payload, path, value))


@pytest.mark.parametrize(
    "sample", SAMPLES, ids=[f"{event}#{index}" for index, (event, _) in enumerate(SAMPLES)]
)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_normalizers_on_mutated_fixtures_raise_only_malformed(
    sample: tuple[str, Any], data: st.DataObject
) -> None:
    """Each real shape with a few subtrees replaced by random JSON: deep paths stay safe."""
    event, payload = sample
    chosen = data.draw(
        st.lists(st.sampled_from(_paths(payload)), min_size=1, max_size=4, unique=True)
    )
    # Deepest first, so replacing a parent later never targets a path that no longer exists.
    for path in sorted(chosen, key=len, reverse=True):
        payload = _replaced(payload, path, data.draw(JSON_VALUES))
    _normalize_and_dump(event, payload)
