"""JID parsing: kinds, device suffixes, and choosing the phone form among LID variants."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zapcrm.evolution.jids import (
    PeerIdentity,
    bare_jid,
    jid_kind,
    parse_jid,
    phone_jid_from,
    pick_lid,
    pick_phone_jid,
    resolve_key_chat,
    resolve_key_sender,
    resolve_peer,
    strip_device,
)

PN = "5511987654321@s.whatsapp.net"
LID = "148392017465823@lid"
GROUP = "120363041234567890@g.us"


@pytest.mark.parametrize(
    ("jid", "kind", "user", "device"),
    [
        (PN, "pn", "5511987654321", None),
        ("557391639625:75@s.whatsapp.net", "pn", "557391639625", 75),
        (LID, "lid", "148392017465823", None),
        ("148392017465823:3@lid", "lid", "148392017465823", 3),
        (GROUP, "group", "120363041234567890", None),
        ("5511999990000-1600000000@g.us", "group", "5511999990000-1600000000", None),
        ("status@broadcast", "broadcast", "status", None),
        ("120363000000000000@newsletter", "newsletter", "120363000000000000", None),
        ("5511987654321@c.us", "unknown", "5511987654321", None),
        ("5511987654321", "unknown", "5511987654321", None),
        ("5511987654321@S.WhatsApp.NET", "pn", "5511987654321", None),
    ],
)
def test_parse_jid_kinds_users_and_devices(
    jid: str, kind: str, user: str, device: int | None
) -> None:
    """Each JID form is classified by its server, with the device suffix split off."""
    parsed = parse_jid(jid)
    assert parsed is not None
    assert (parsed.kind, parsed.user, parsed.device) == (kind, user, device)
    assert jid_kind(jid) == kind


@pytest.mark.parametrize("value", [None, "", "   ", 5511987654321, {"jid": PN}, ["x"], "@lid"])
def test_parse_jid_rejects_non_jids(value: object) -> None:
    """Empty strings (Evolution's `participant: ""`) and non-strings are not JIDs."""
    assert parse_jid(value) is None
    assert bare_jid(value) is None
    assert jid_kind(value) == "unknown"


def test_strip_device_removes_only_a_numeric_device_suffix() -> None:
    """#1937 receipts carry `:75`; a non-numeric suffix is left alone rather than guessed."""
    assert strip_device("557391639625:75@s.whatsapp.net") == "557391639625@s.whatsapp.net"
    assert strip_device("148392017465823:3@lid") == LID
    assert strip_device(PN) == PN
    assert strip_device("abc:def@s.whatsapp.net") == "abc:def@s.whatsapp.net"
    assert strip_device("") == ""


@pytest.mark.parametrize(
    ("a", "b", "phone", "lid"),
    [
        (LID, PN, PN, LID),  # LID addressing: phone in remoteJidAlt
        (PN, LID, PN, LID),  # PN addressing: the Alt holds the LID (never take Alt blindly)
        (LID, None, None, LID),  # Alt missing (#1872, #2337)
        (PN, PN, PN, None),  # 2.3.7 rewrite: both are the phone, LID lost
        ("5511987654321:4@s.whatsapp.net", "", PN, None),
        ("", "", None, None),
        (None, None, None, None),
        (GROUP, None, None, None),
    ],
)
def test_pick_phone_and_lid_from_a_pair(
    a: object, b: object, phone: str | None, lid: str | None
) -> None:
    """Whichever of the pair ends with @s.whatsapp.net is the phone; whichever is @lid the LID."""
    assert pick_phone_jid(a, b) == phone
    assert pick_phone_jid(b, a) == phone
    assert pick_lid(a, b) == lid
    assert pick_lid(b, a) == lid


def test_phone_jid_from_accepts_bare_digits_but_not_garbage() -> None:
    """Forks send `senderPn` as digits; 2.3.7 can send "[object Object]" as a phone number."""
    assert phone_jid_from("5511987654321") == PN
    assert phone_jid_from(PN) == PN
    assert phone_jid_from(LID) is None
    assert phone_jid_from("[object Object]") is None
    assert phone_jid_from(5511987654321) is None


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ({"remoteJid": LID, "remoteJidAlt": PN}, PeerIdentity(PN, "pn", PN, LID)),
        ({"remoteJid": PN, "remoteJidAlt": LID}, PeerIdentity(PN, "pn", PN, LID)),
        ({"remoteJid": LID}, PeerIdentity(LID, "lid", None, LID)),
        ({"remoteJid": PN, "remoteJidAlt": PN}, PeerIdentity(PN, "pn", PN, None)),
        # 2.3.1-2.3.4: remoteJid rewritten to the PN, LID kept in previousRemoteJid.
        (
            {"remoteJid": PN, "previousRemoteJid": LID, "senderPn": PN},
            PeerIdentity(PN, "pn", PN, LID),
        ),
        # <= 2.3.0 fork builds: raw LID plus senderPn (digits) / senderLid.
        (
            {"remoteJid": LID, "senderPn": "5511987654321", "senderLid": LID},
            PeerIdentity(PN, "pn", PN, LID),
        ),
        ({"remoteJid": GROUP, "remoteJidAlt": PN}, PeerIdentity(GROUP, "group", None, None)),
        ({"remoteJid": "5511987654321:9@s.whatsapp.net"}, PeerIdentity(PN, "pn", PN, None)),
    ],
)
def test_resolve_key_chat_across_lid_generations(
    key: dict[str, object], expected: PeerIdentity
) -> None:
    """Every LID generation in evolution-api.md §2.0 resolves to the same phone-first identity."""
    assert resolve_key_chat(key) == expected


def test_resolve_key_chat_without_remote_jid_is_none() -> None:
    """A key without a usable remoteJid has no chat."""
    assert resolve_key_chat({"remoteJid": ""}) is None
    assert resolve_key_chat({}) is None


@pytest.mark.parametrize(
    ("key", "jid", "lid"),
    [
        (
            {"remoteJid": GROUP, "participant": "112928179142781@lid", "participantAlt": PN},
            PN,
            "112928179142781@lid",
        ),
        (
            {"remoteJid": GROUP, "participant": PN, "participantAlt": "112928179142781@lid"},
            PN,
            "112928179142781@lid",
        ),
        (
            {"remoteJid": GROUP, "participant": "112928179142781@lid"},
            "112928179142781@lid",
            "112928179142781@lid",
        ),
        ({"remoteJid": GROUP, "participant": "5511987654321:12@s.whatsapp.net"}, PN, None),
    ],
)
def test_resolve_key_sender_in_groups(key: dict[str, object], jid: str, lid: str | None) -> None:
    """Group senders pick the phone among participant/participantAlt and strip devices."""
    sender = resolve_key_sender(key)
    assert sender is not None
    assert (sender.jid, sender.lid) == (jid, lid)


@pytest.mark.parametrize(
    "key",
    [
        {"remoteJid": PN, "participant": ""},  # 1:1 chats send an empty participant
        {"remoteJid": PN},
        {"remoteJid": PN, "participant": PN},  # <= 2.3.4 messages.update copied remoteJid
        {
            "remoteJid": "557391639625@s.whatsapp.net",
            "participant": "557391639625:75@s.whatsapp.net",
        },
    ],
)
def test_resolve_key_sender_none_in_one_to_one(key: dict[str, object]) -> None:
    """No sender is invented for 1:1 chats, including the buggy copied participant."""
    assert resolve_key_sender(key) is None


def test_resolve_peer_prefers_phone_even_when_given_second() -> None:
    """The phone form is the chat id whatever position it arrives in."""
    assert resolve_peer(LID, PN) == resolve_peer(PN, LID)


@given(st.text())
def test_parse_jid_never_raises_and_bare_is_idempotent(text: str) -> None:
    """Arbitrary text never crashes the parser; stripping a device twice changes nothing."""
    parsed = parse_jid(text)
    if parsed is not None:
        assert strip_device(parsed.bare) == parsed.bare
        assert parsed.kind == jid_kind(parsed.bare)


@given(
    st.from_regex(r"[1-9][0-9]{9,14}", fullmatch=True),
    st.integers(min_value=0, max_value=99),
    st.sampled_from(["s.whatsapp.net", "lid"]),
)
def test_device_suffix_round_trip(user: str, device: int, server: str) -> None:
    """`user:device@server` always strips back to `user@server`, keeping the device number."""
    parsed = parse_jid(f"{user}:{device}@{server}")
    assert parsed is not None
    assert parsed.bare == f"{user}@{server}"
    assert parsed.device == device


def test_spaces_around_the_at_sign_do_not_make_another_person() -> None:
    """Found by the property test above (`'0 @'`): the bare form kept the space."""
    assert bare_jid("5511987654321 @s.whatsapp.net") == "5511987654321@s.whatsapp.net"
    assert bare_jid("5511987654321@ s.whatsapp.net") == "5511987654321@s.whatsapp.net"
    assert strip_device(bare_jid("0 @") or "") == bare_jid("0 @")
