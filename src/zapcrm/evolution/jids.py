"""WhatsApp JID parsing: kinds, device suffixes and the phone/LID pairing Evolution API reports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

JidKind = Literal["pn", "lid", "group", "broadcast", "newsletter", "unknown"]

PHONE_SERVER = "s.whatsapp.net"
LID_SERVER = "lid"
GROUP_SERVER = "g.us"
BROADCAST_SERVER = "broadcast"
NEWSLETTER_SERVER = "newsletter"

_KIND_BY_SERVER: dict[str, JidKind] = {
    PHONE_SERVER: "pn",
    LID_SERVER: "lid",
    GROUP_SERVER: "group",
    BROADCAST_SERVER: "broadcast",
    NEWSLETTER_SERVER: "newsletter",
}


@dataclass(frozen=True, slots=True)
class Jid:
    """One parsed JID: `user[:device]@server`."""

    raw: str
    user: str
    server: str
    device: int | None
    kind: JidKind

    @property
    def bare(self) -> str:
        """The JID without its device suffix (`5511...:75@s.whatsapp.net` -> `5511...@s...`)."""
        return f"{self.user}@{self.server}" if self.server else self.user

    @property
    def is_phone(self) -> bool:
        """True for a phone-number user (`@s.whatsapp.net`)."""
        return self.kind == "pn"

    @property
    def is_lid(self) -> bool:
        """True for a Linked ID privacy alias (`@lid`)."""
        return self.kind == "lid"

    @property
    def is_group(self) -> bool:
        """True for a group chat (`@g.us`)."""
        return self.kind == "group"


def parse_jid(value: object) -> Jid | None:
    """Parse a JID string; None for anything that is not a non-empty string."""
    if not isinstance(value, str):
        return None
    raw = value.strip()
    # Evolution sends `participant: ""` in 1:1 chats (§2.1): an empty string means "no JID".
    if not raw:
        return None
    local, at, server = raw.rpartition("@")
    if not at:
        local, server = raw, ""
    # Spaces around the "@" (a hand-typed or mangled id) are not part of either side: kept,
    # they made `5511... @s.whatsapp.net` a different person from `5511...@s.whatsapp.net`.
    local, server = local.strip(), server.strip().lower()
    user, colon, device_text = local.partition(":")
    is_device = colon and device_text.isascii() and device_text.isdigit() and len(device_text) < 7
    device = int(device_text) if is_device else None
    if colon and device is None:
        # Not a numeric device suffix: keep the local part untouched rather than guess.
        user = local
    if not user:
        return None
    kind: JidKind = _KIND_BY_SERVER.get(server, "unknown")
    return Jid(raw=raw, user=user, server=server, device=device, kind=kind)


def jid_kind(value: object) -> JidKind:
    """Return the kind of a JID (`pn`, `lid`, `group`, `broadcast`, `newsletter`, `unknown`)."""
    jid = parse_jid(value)
    return jid.kind if jid is not None else "unknown"


def strip_device(jid: str) -> str:
    """Remove a device suffix from a JID, e.g. receipts in #1937 carry `557391639625:75@...`."""
    parsed = parse_jid(jid)
    return parsed.bare if parsed is not None else jid


def bare_jid(value: object) -> str | None:
    """Return the device-less JID, or None when the value is not a usable JID string."""
    parsed = parse_jid(value)
    return parsed.bare if parsed is not None else None


def phone_jid_from(value: object) -> str | None:
    """Return a phone JID from a JID or bare digits (forks may send `senderPn` without server)."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return f"{value.strip()}@{PHONE_SERVER}"
    parsed = parse_jid(value)
    return parsed.bare if parsed is not None and parsed.is_phone else None


def pick_phone_jid(*candidates: object) -> str | None:
    """Return the first candidate that is a phone JID (`@s.whatsapp.net`), device suffix removed.

    `remoteJidAlt`/`participantAlt` hold *the other form* of the same user, so the phone may be in
    either field (evolution-api.md §2.0, §6.5): never take the `...Alt` field blindly.
    """
    for candidate in candidates:
        parsed = parse_jid(candidate)
        if parsed is not None and parsed.is_phone:
            return parsed.bare
    return None


def pick_lid(*candidates: object) -> str | None:
    """Return the first candidate that is a Linked ID (`@lid`), device suffix removed."""
    for candidate in candidates:
        parsed = parse_jid(candidate)
        if parsed is not None and parsed.is_lid:
            return parsed.bare
    return None


@dataclass(frozen=True, slots=True)
class PeerIdentity:
    """A peer (chat or sender) with its best JID and whichever phone/LID forms are known."""

    jid: str
    kind: JidKind
    phone_jid: str | None
    lid: str | None


def resolve_peer(
    primary: object,
    alt: object = None,
    *,
    sender_pn: object = None,
    sender_lid: object = None,
    previous_remote_jid: object = None,
) -> PeerIdentity | None:
    """Combine a JID, its `...Alt` and the older LID fields into one identity, phone form first.

    Covers every LID generation (§2.0): `senderPn`/`senderLid` from forks (<= 2.3.0), the
    2.3.1-2.3.4 rewrite that moved the LID to `previousRemoteJid`, 2.3.5+ `remoteJidAlt`, and
    2.3.7 where `remoteJid == remoteJidAlt == PN` and the LID is simply gone.
    """
    parsed = parse_jid(primary)
    if parsed is None:
        return None
    phone = pick_phone_jid(parsed.raw, alt) or phone_jid_from(sender_pn)
    lid = pick_lid(parsed.raw, alt, previous_remote_jid, sender_lid)
    if parsed.kind in ("pn", "lid"):
        # A 1:1 peer: the phone JID is the stable chat id when known, else the LID (#1872, #2337).
        chosen = phone or lid or parsed.bare
        kind: JidKind = "pn" if phone else "lid" if lid else parsed.kind
        return PeerIdentity(jid=chosen, kind=kind, phone_jid=phone, lid=lid)
    # Groups, broadcasts, newsletters: the JID is the chat itself; no phone/LID pairing applies.
    return PeerIdentity(jid=parsed.bare, kind=parsed.kind, phone_jid=None, lid=None)


def resolve_key_chat(key: Mapping[str, object]) -> PeerIdentity | None:
    """Resolve the chat of a Baileys message key (`remoteJid` side)."""
    return resolve_peer(
        key.get("remoteJid"),
        key.get("remoteJidAlt"),
        sender_pn=key.get("senderPn"),
        sender_lid=key.get("senderLid"),
        previous_remote_jid=key.get("previousRemoteJid"),
    )


def resolve_key_sender(key: Mapping[str, object]) -> PeerIdentity | None:
    """Resolve the sender inside a group/broadcast of a message key (`participant` side).

    Returns None when there is no participant: `""` in 1:1 chats (§2.1), or a copy of
    `remoteJid` in a 1:1 chat (the <= 2.3.4 `messages.update` bug, §2.3).
    """
    participant = parse_jid(key.get("participant"))
    if participant is None:
        return None
    chat = parse_jid(key.get("remoteJid"))
    if chat is not None and chat.kind in ("pn", "lid") and chat.bare == participant.bare:
        return None
    return resolve_peer(participant.raw, key.get("participantAlt"))
