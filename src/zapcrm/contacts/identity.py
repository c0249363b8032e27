"""Resolve a WhatsApp peer (phone JID and/or @lid) to exactly one contact, race-safely.

Keys of a person: every phone form (canonical E.164 digits and the legacy Brazilian form
without the ninth digit), the JID WhatsApp used, and the @lid alias. The unique index on
(company, kind, value) decides who owns a key; concurrent deliveries for a new person retry
until they agree on one contact (Chatwoot's race-safe get-or-create).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.accounts import repository as accounts_repo
from zapcrm.contacts import merging, repository
from zapcrm.contacts.repository import IdentityKey, IdentityMatch, crud
from zapcrm.contacts.rules import service as list_rules
from zapcrm.kit.phones import InvalidPhone, identity_variants, whatsapp_digits_to_phone
from zapcrm.logging import get_logger
from zapcrm.models import Contact

log = get_logger(__name__)

_MAX_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class WhatsAppPeer:
    """Who is on the other side of a 1:1 chat, as far as this delivery tells."""

    phone_jid: str | None
    lid: str | None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class ResolvedContact:
    """The contact a peer resolved to; `merged` lists contacts folded into it just now."""

    contact_id: uuid.UUID
    phone_e164: str | None
    created: bool
    merged: tuple[uuid.UUID, ...] = ()


def phone_of(phone_jid: str | None) -> str | None:
    """Canonical E.164 of a phone JID's user part, or None when it is not a valid phone."""
    if not phone_jid:
        return None
    digits = phone_jid.split("@", 1)[0].split(":", 1)[0]
    try:
        return whatsapp_digits_to_phone(digits)
    except InvalidPhone:
        return None


# Parsing a phone with phonenumbers costs more than the rest of a webhook's Python work on
# the identity; the same few thousand customers write again and again, and the answer is a
# pure function of the JID, so it is memoised.
@functools.lru_cache(maxsize=16_384)
def _phone_keys(phone_jid: str) -> tuple[tuple[IdentityKey, ...], str | None]:
    phone = phone_of(phone_jid)
    if phone is None:
        return (), None
    return tuple(("phone", variant) for variant in sorted(identity_variants(phone))), phone


def identity_keys(peer: WhatsAppPeer) -> tuple[list[IdentityKey], str | None]:
    """Every key of the peer (phone keys first) and its canonical phone."""
    keys: list[IdentityKey] = []
    phone = None
    if peer.phone_jid:
        phone_keys, phone = _phone_keys(peer.phone_jid)
        keys.extend(phone_keys)
        keys.append(("jid", peer.phone_jid))
    if peer.lid:
        keys.append(("lid", peer.lid))
    return keys, phone


async def resolve_peer(
    session: AsyncSession, company_id: uuid.UUID, peer: WhatsAppPeer, *, source: str = "WhatsApp"
) -> ResolvedContact | None:
    """Find or create the one contact of this peer; merges a lid-only contact into the phone one."""
    keys, phone = identity_keys(peer)
    if not keys:
        return None
    for _ in range(_MAX_ATTEMPTS):
        found = await repository.find_identities(session, company_id, keys)
        if not found:
            async with session.begin_nested() as savepoint:
                contact_id = await repository.insert_contact(
                    session,
                    company_id=company_id,
                    name=peer.name or "",
                    phone_e164=phone,
                    source=source,
                )
                added = await repository.add_identities(session, company_id, contact_id, keys)
                if len(added) < len(keys):
                    # Someone else claimed a key meanwhile: drop ours and adopt theirs.
                    await savepoint.rollback()
                    continue
            # A new number (a first message from or to it, a group member, the phone's address
            # book) is a new contact like one typed in or imported: the list rules apply.
            await list_rules.apply_to_contacts(session, company_id, [contact_id])
            return ResolvedContact(contact_id=contact_id, phone_e164=phone, created=True)
        return await _adopt(session, company_id, peer, keys, phone, found)
    raise RuntimeError("contact identity did not settle")  # pragma: no cover - needs 5 races


async def _adopt(
    session: AsyncSession,
    company_id: uuid.UUID,
    peer: WhatsAppPeer,
    keys: list[IdentityKey],
    phone: str | None,
    rows: Sequence[IdentityMatch],
) -> ResolvedContact:
    by_phone = [row for row in rows if row.kind in ("phone", "jid")]
    kept = by_phone[0] if by_phone else rows[0]
    keep = kept.contact_id
    owners = list(dict.fromkeys(row.contact_id for row in rows))
    merged: list[uuid.UUID] = []
    for other in owners:
        if other == keep:
            continue
        other_contact = await repository.get_contact(session, company_id, other)
        # Only a contact known by its @lid alone is folded in automatically: it is the same
        # person seen before the phone was known. Two contacts with phones need a human.
        if other_contact is not None and other_contact.phone_e164 is None:
            keep_contact = await repository.get_contact(session, company_id, keep)
            if keep_contact is not None:
                await _merge(session, keep_contact, other_contact)
                merged.append(other)
    owned = {(row.kind, row.value) for row in rows}
    missing = [key for key in keys if key not in owned]
    if missing:
        await repository.add_identities(session, company_id, keep, missing)
    # Most deliveries come from people we know completely: skip the write then.
    if (not kept.contact_name and peer.name) or (kept.contact_phone is None and phone):
        await repository.fill_contact_gaps(session, keep, name=peer.name, phone_e164=phone)
    return ResolvedContact(contact_id=keep, phone_e164=phone, created=False, merged=tuple(merged))


async def _merge(session: AsyncSession, keep: Contact, other: Contact) -> None:
    details = {
        "merged_contact_id": str(other.id),
        "name": other.name,
        "reason": "lid_resolved_to_phone",
    }
    await merging.fold_into(session, keep, other)
    await crud.add_event(
        session,
        company_id=keep.company_id,
        contact_id=keep.id,
        kind="contact.merged",
        actor_id=None,
        details=details,
    )
    await accounts_repo.insert_audit(
        session,
        company_id=keep.company_id,
        actor_id=None,
        action="contact.merged",
        target_type="contact",
        target_id=str(keep.id),
        details=details,
    )
    log.info("contact.merged", target=str(keep.id), merged=str(other.id))
