"""People and groups: contacts, group metadata, membership changes and presence.

Covers `contacts.upsert`/`contacts.update`, `groups.upsert`, `group-participants.update` and
`presence.update` (evolution-api.md §2.8, §2.10, §2.11).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from zapcrm.evolution.jids import (
    JidKind,
    PeerIdentity,
    parse_jid,
    phone_jid_from,
    pick_lid,
    resolve_peer,
)
from zapcrm.evolution.payloads._base import NormalizedModel
from zapcrm.evolution.payloads._errors import MalformedPayload
from zapcrm.evolution.payloads._values import (
    as_bool,
    as_dict,
    as_list,
    as_text,
    first_text,
    parse_each,
    parse_int,
    parse_timestamp,
    require_dict,
    require_text,
)

AdminRole = Literal["admin", "superadmin"]


def _peer(primary: object, *others: object, path: str) -> PeerIdentity:
    """Resolve a person from their main JID plus any other forms (LID, phone) the payload has."""
    phone = next((jid for jid in map(phone_jid_from, others) if jid is not None), None)
    peer = resolve_peer(primary, sender_pn=phone, sender_lid=pick_lid(*others))
    if peer is None:
        raise MalformedPayload("expected a JID string", path=path)
    return peer


def _required_peer(value: object, path: str) -> PeerIdentity:
    """Resolve the JID a record cannot do without (a group's or chat's `id`), or raise."""
    return _peer(require_text(value, path), path=path)


class NormalizedContact(NormalizedModel):
    """One contact from `contacts.upsert` / `contacts.update`."""

    remote_jid: str
    """Phone JID when known, else the LID (§2.8: `remoteJid` may be `@lid`)."""
    kind: JidKind
    phone_jid: str | None = None
    lid: str | None = None
    push_name: str | None = None
    profile_pic_url: str | None = None
    instance_id: str | None = None
    raw: dict[str, Any]


def _contact(item: object, path: str) -> NormalizedContact:
    record = require_dict(item, path)
    primary = first_text(record.get("remoteJid"), record.get("id"))
    if primary is None:
        raise MalformedPayload("no remoteJid", path=f"{path}.remoteJid")
    peer = _peer(primary, record.get("lid"), record.get("phoneNumber"), path=f"{path}.remoteJid")
    push_name = first_text(
        record.get("pushName"), record.get("name"), record.get("notify"), record.get("verifiedName")
    )
    parsed = parse_jid(primary)
    if parsed is not None and push_name == parsed.user:
        # Sync contacts fall back to the number part of the JID as pushName (§2.8): not a name.
        push_name = None
    return NormalizedContact(
        remote_jid=peer.jid,
        kind=peer.kind,
        phone_jid=peer.phone_jid,
        lid=peer.lid,
        push_name=push_name,
        profile_pic_url=first_text(record.get("profilePicUrl"), record.get("imgUrl")),
        instance_id=as_text(record.get("instanceId")),
        raw=record,
    )


def normalize_contacts_upsert(data: object) -> list[NormalizedContact]:
    """Normalize `contacts.upsert`: an array from contact sync or one object per message (§2.8)."""
    return parse_each(data, _contact)


def normalize_contacts_update(data: object) -> list[NormalizedContact]:
    """Normalize `contacts.update`: an array or a single object depending on the source (§6.6)."""
    return parse_each(data, _contact)


class GroupMember(NormalizedModel):
    """A group participant; phone JID preferred, LID kept when known."""

    jid: str
    phone_jid: str | None = None
    lid: str | None = None
    admin: AdminRole | None = None
    name: str | None = None
    img_url: str | None = None


def _admin(value: object) -> AdminRole | None:
    if value == "admin":
        return "admin"
    if value == "superadmin":
        return "superadmin"
    return None


def _member(item: object, path: str) -> GroupMember:
    """Read a participant given as a JID string or as `{id, phoneNumber?, admin?}` (§2.11)."""
    if isinstance(item, str):
        peer = _peer(item, path=path)
        return GroupMember(jid=peer.jid, phone_jid=peer.phone_jid, lid=peer.lid)
    record = require_dict(item, path)
    primary = first_text(record.get("id"), record.get("jid"))
    # 2.3.7 can put "[object Object]" in phoneNumber [inferred, §2.11]; _peer ignores non-JIDs.
    peer = _peer(primary, record.get("lid"), record.get("phoneNumber"), path=f"{path}.id")
    return GroupMember(
        jid=peer.jid,
        phone_jid=peer.phone_jid,
        lid=peer.lid,
        admin=_admin(record.get("admin")),
        name=as_text(record.get("name")),
        img_url=as_text(record.get("imgUrl")),
    )


def _members(items: object, path: str) -> tuple[GroupMember, ...]:
    members: list[GroupMember] = []
    for index, item in enumerate(as_list(items) or ()):
        try:
            members.append(_member(item, f"{path}[{index}]"))
        except MalformedPayload:
            continue  # one unreadable participant must not drop the group event
    return tuple(members)


class NormalizedGroup(NormalizedModel):
    """Group metadata from `groups.upsert` (Baileys GroupMetadata)."""

    jid: str
    subject: str | None = None
    subject_owner: str | None = None
    subject_time: datetime | None = None
    description: str | None = None
    owner: str | None = None
    size: int | None = None
    created_at: datetime | None = None
    announce: bool | None = None
    restrict: bool | None = None
    ephemeral_duration: int | None = None
    addressing_mode: str | None = None
    participants: tuple[GroupMember, ...] = ()
    raw: dict[str, Any]


def _group(item: object, path: str) -> NormalizedGroup:
    record = require_dict(item, path)
    jid = _required_peer(record.get("id"), f"{path}.id").jid
    owner = resolve_peer(record.get("owner"), record.get("ownerPn"))
    subject_owner = resolve_peer(record.get("subjectOwner"), record.get("subjectOwnerPn"))
    return NormalizedGroup(
        jid=jid,
        subject=as_text(record.get("subject")),
        subject_owner=subject_owner.jid if subject_owner else None,
        subject_time=parse_timestamp(record.get("subjectTime")),
        description=as_text(record.get("desc")),
        owner=owner.jid if owner else None,
        size=parse_int(record.get("size")),
        created_at=parse_timestamp(record.get("creation")),
        announce=as_bool(record.get("announce")),
        restrict=as_bool(record.get("restrict")),
        ephemeral_duration=parse_int(record.get("ephemeralDuration")),
        addressing_mode=as_text(record.get("addressingMode")),
        participants=_members(record.get("participants"), f"{path}.participants"),
        raw=record,
    )


def normalize_groups_upsert(data: object) -> list[NormalizedGroup]:
    """Normalize `groups.upsert`: an array of group metadata (one object accepted too)."""
    return parse_each(data, _group)


def _merge_member(member: GroupMember, extra: dict[str, GroupMember]) -> GroupMember:
    """Complete a participant from its `participantsData` entry, if any, found by either JID."""
    found = next(
        (extra[jid] for jid in (member.jid, member.lid, member.phone_jid) if jid in extra), None
    )
    if found is None:
        return member
    update: dict[str, object] = {
        "name": member.name or found.name,
        "img_url": member.img_url or found.img_url,
    }
    # Re-resolved with the entry's other form, it reads as the object form `{id, phoneNumber}`
    # would: phone JID first, the lid<->phone pair complete.
    peer = resolve_peer(
        member.jid,
        sender_pn=member.phone_jid or found.phone_jid,
        sender_lid=member.lid or found.lid,
    )
    if peer is not None:  # always: `member.jid` is itself a resolved JID
        update.update(jid=peer.jid, phone_jid=peer.phone_jid, lid=peer.lid)
    return member.model_copy(update=update)


class NormalizedParticipantsUpdate(NormalizedModel):
    """Members added, removed, promoted or demoted (`group-participants.update`)."""

    group_jid: str
    action: str | None = None
    """`add`, `remove`, `promote`, `demote` or `modify` (kept as sent if new)."""
    author: str | None = None
    author_phone_jid: str | None = None
    participants: tuple[GroupMember, ...] = ()
    raw: dict[str, Any]


def normalize_group_participants_update(data: object) -> NormalizedParticipantsUpdate:
    """Normalize `group-participants.update`; participants may be strings or objects (§2.11)."""
    record = require_dict(data, "data")
    group_jid = _required_peer(record.get("id"), "data.id").jid
    members = _members(record.get("participants"), "data.participants")
    # PR #2025's `participantsData` carries names/pictures for the same people; merge them in.
    # An entry is found by any of its JIDs: its `jid` is resolved phone-first, so a participant
    # sent as its LID would otherwise miss the entry that holds its phone number.
    extra: dict[str, GroupMember] = {}
    for data_member in _members(record.get("participantsData"), "data.participantsData"):
        for jid in (data_member.jid, data_member.phone_jid, data_member.lid):
            if jid is not None:
                extra[jid] = data_member
    merged = tuple(_merge_member(member, extra) for member in members)
    author = resolve_peer(record.get("author"), record.get("authorPn"))
    action = as_text(record.get("action"))
    return NormalizedParticipantsUpdate(
        group_jid=group_jid,
        action=action.lower() if action else None,
        author=author.jid if author else None,
        author_phone_jid=author.phone_jid if author else None,
        participants=merged,
        raw=record,
    )


class PresenceEntry(NormalizedModel):
    """The last known presence of one JID."""

    jid: str
    presence: str | None = None
    """`unavailable`, `available`, `composing`, `recording` or `paused`."""
    last_seen: datetime | None = None


class NormalizedPresence(NormalizedModel):
    """A `presence.update` (typing/recording/online) for one chat."""

    chat_jid: str
    entries: tuple[PresenceEntry, ...] = ()
    raw: dict[str, Any]


def normalize_presence_update(data: object) -> NormalizedPresence:
    """Normalize `presence.update` data `{id, presences: {jid: {lastKnownPresence, lastSeen}}}`."""
    record = require_dict(data, "data")
    chat = _required_peer(record.get("id"), "data.id")
    entries: list[PresenceEntry] = []
    for jid, value in (as_dict(record.get("presences")) or {}).items():
        peer = resolve_peer(jid)
        details = as_dict(value) or {}
        if peer is None:
            continue
        presence = as_text(details.get("lastKnownPresence"))
        entries.append(
            PresenceEntry(
                jid=peer.jid,
                presence=presence.lower() if presence else None,
                last_seen=parse_timestamp(details.get("lastSeen")),
            )
        )
    return NormalizedPresence(chat_jid=chat.jid, entries=tuple(entries), raw=record)
