"""Contact rules: create and edit with identity keys, merge, timeline, duplicate suggestions.

Callers own the transaction (a tenant session under RLS for the API).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.accounts.audit import audit_action
from zapcrm.auth.identity import Identity
from zapcrm.contacts import attributes, merging
from zapcrm.contacts.repository import crud, identity
from zapcrm.contacts.rules import service as list_rules
from zapcrm.contacts.schemas import (
    ContactDetail,
    ContactIn,
    ContactOut,
    ContactPatch,
    DuplicatePair,
    HistoryItem,
    IdentityOut,
)
from zapcrm.exceptions import Conflict, Forbidden, NotFound, ValidationFailed
from zapcrm.i18n import N_
from zapcrm.kit.pagination import decode_key_cursor, encode_key_cursor
from zapcrm.kit.phones import InvalidPhone, canonical_phone, identity_variants
from zapcrm.messaging.labels import preview_of
from zapcrm.models import Role

DEFAULT_REGION = "BR"


def _phone(raw: str | None, region: str = DEFAULT_REGION) -> str | None:
    if raw is None or not raw.strip():
        return None
    try:
        return canonical_phone(raw, region)
    except InvalidPhone as error:
        raise ValidationFailed(
            N_("telefone inválido"), fields=[{"field": "phone", "message": error.reason}]
        ) from None


async def _company_phone(session: AsyncSession, actor: Identity, raw: str | None) -> str | None:
    """A typed phone read with the company's default country (BR unless an admin changed it)."""
    if raw is None or not raw.strip():
        return None
    region = await crud.company_region(session, actor.company_id)
    return _phone(raw, region or DEFAULT_REGION)


async def _check_stage(session: AsyncSession, company_id: uuid.UUID, stage: str | None) -> None:
    if stage is None:
        return
    stages = await attributes.load_stage_keys(session, company_id)
    if stages and stage not in stages:
        raise ValidationFailed(
            N_("etapa do funil desconhecida"),
            fields=[
                {
                    "field": "funnel_stage",
                    "message": N_("use uma de: {stages}", stages=", ".join(sorted(stages))),
                }
            ],
        )


async def _claim_phone(
    session: AsyncSession, company_id: uuid.UUID, contact_id: uuid.UUID, phone: str
) -> None:
    """Attach every phone form of `phone` to the contact, or Conflict naming the owner."""
    variants = sorted(identity_variants(phone))
    owners = await crud.owners_of(session, company_id, "phone", variants) - {contact_id}
    if owners:
        raise Conflict(
            N_("já existe um contato com este telefone"), contact_id=str(next(iter(owners)))
        )
    try:
        async with session.begin_nested():
            await identity.add_identities(
                session, company_id, contact_id, [("phone", value) for value in variants]
            )
    except IntegrityError:  # claimed by a concurrent request just now
        raise Conflict(N_("já existe um contato com este telefone")) from None


async def create_contact(session: AsyncSession, actor: Identity, data: ContactIn) -> ContactOut:
    """Create a contact; its phone (in any format) becomes its identity keys."""
    if not (data.name.strip() or (data.phone or "").strip() or data.email):
        # Nobody could find, greet or tell apart a contact without any of the three.
        raise ValidationFailed(
            N_("o contato precisa de um nome, telefone ou e-mail"),
            fields=[{"field": "name", "message": N_("informe o nome, o telefone ou o e-mail")}],
        )
    phone = await _company_phone(session, actor, data.phone)
    await _check_stage(session, actor.company_id, data.funnel_stage)
    definitions = await attributes.load_definitions(session, actor.company_id)
    custom = attributes.coerce_custom_fields(data.custom_fields, definitions)
    contact = await crud.add_contact(
        session,
        actor.company_id,
        {
            "name": data.name.strip(),
            "phone_e164": phone,
            "email": str(data.email).lower() if data.email else None,
            "tags": data.tags,
            "source": data.source or "manual",
            "funnel_stage": data.funnel_stage,
            "custom_fields": {k: v for k, v in custom.items() if v is not None},
            "notes": data.notes,
            "opted_out": data.opted_out,
        },
    )
    if phone:
        await _claim_phone(session, actor.company_id, contact.id, phone)
    await crud.add_event(
        session,
        company_id=actor.company_id,
        contact_id=contact.id,
        kind="contact.created",
        actor_id=actor.user_id,
        details={"source": contact.source},
    )
    await list_rules.apply_to_contacts(session, actor.company_id, [contact.id])
    return ContactOut.of(contact)


async def get_contact(
    session: AsyncSession, actor: Identity, contact_id: uuid.UUID
) -> ContactDetail:
    """One contact with its identity keys."""
    contact = await identity.get_contact(session, actor.company_id, contact_id)
    if contact is None:
        raise NotFound(N_("contato não encontrado"))
    keys = await crud.identities_of(session, contact.id)
    return ContactDetail(
        **ContactOut.of(contact).model_dump(),
        identities=[IdentityOut(kind=kind, value=value) for kind, value in keys],
    )


async def update_contact(
    session: AsyncSession, actor: Identity, contact_id: uuid.UUID, patch: ContactPatch
) -> ContactOut:
    """Apply the given changes and record them in the contact's timeline."""
    contact = await crud.lock_contact(session, actor.company_id, contact_id)
    if contact is None:
        raise NotFound(N_("contato não encontrado"))
    values: dict[str, Any] = {}
    sent = patch.model_fields_set
    for field in ("name", "source", "notes", "opted_out", "tags"):
        if field in sent and getattr(patch, field) is not None:
            values[field] = getattr(patch, field)
    if "email" in sent:
        values["email"] = str(patch.email).lower() if patch.email else None
    if "funnel_stage" in sent:
        await _check_stage(session, actor.company_id, patch.funnel_stage)
        values["funnel_stage"] = patch.funnel_stage
    if "custom_fields" in sent and patch.custom_fields is not None:
        definitions = await attributes.load_definitions(session, actor.company_id)
        merged = dict(contact.custom_fields)
        for key, value in attributes.coerce_custom_fields(patch.custom_fields, definitions).items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        values["custom_fields"] = merged
    if "phone" in sent:
        new_phone = await _company_phone(session, actor, patch.phone)
        if new_phone != contact.phone_e164:
            if contact.phone_e164:
                await crud.remove_identities(
                    session, contact.id, "phone", sorted(identity_variants(contact.phone_e164))
                )
            if new_phone:
                await _claim_phone(session, actor.company_id, contact.id, new_phone)
            values["phone_e164"] = new_phone
    changes = {
        key: {"from": getattr(contact, key), "to": value}
        for key, value in values.items()
        if getattr(contact, key) != value
    }
    if not changes:
        return ContactOut.of(contact)
    # List rules add a contact a change makes match (a stage reached, a tag given), and leave
    # alone one that matched already: someone may have taken it off the list by hand.
    standing = await list_rules.before_edit(session, actor.company_id, contact.id)
    contact = await crud.change_contact(session, contact, {key: values[key] for key in changes})
    await crud.add_event(
        session,
        company_id=actor.company_id,
        contact_id=contact.id,
        kind="contact.updated",
        actor_id=actor.user_id,
        details={"changes": changes},
    )
    await standing.apply(session)
    return ContactOut.of(contact)


async def delete_contact(session: AsyncSession, actor: Identity, contact_id: uuid.UUID) -> None:
    """Delete a contact (supervisors and admins); its chats stay, unlinked."""
    if not actor.has_role(Role.SUPERVISOR):
        raise Forbidden(N_("apenas supervisores e administradores excluem contatos"))
    if await identity.get_contact(session, actor.company_id, contact_id) is None:
        raise NotFound(N_("contato não encontrado"))
    await identity.delete_contact(session, actor.company_id, contact_id)
    await audit_action(session, actor, "contact.deleted", "contact", contact_id)


async def merge_contacts(
    session: AsyncSession, actor: Identity, keep_id: uuid.UUID, other_id: uuid.UUID
) -> ContactOut:
    """Fold `other_id` into `keep_id`: chats, messages, tasks, lists, keys and fields move."""
    if not actor.has_role(Role.SUPERVISOR):
        # The moves run under the caller's RLS: an operator cannot see a colleague's chats,
        # so they would stay behind and lose their contact when the other one is deleted.
        raise Forbidden(N_("só supervisores e administradores unificam contatos"))
    if keep_id == other_id:
        raise ValidationFailed(N_("escolha dois contatos diferentes"))
    # Lock in id order so two opposite merges cannot deadlock.
    locked = {}
    for contact_id in sorted((keep_id, other_id)):
        locked[contact_id] = await crud.lock_contact(session, actor.company_id, contact_id)
    keep, other = locked[keep_id], locked[other_id]
    if keep is None or other is None:
        raise NotFound(N_("contato não encontrado"))
    summary = {"merged_contact_id": str(other.id), "name": other.name, "phone": other.phone_e164}
    kept = await merging.fold_into(session, keep, other)
    await crud.add_event(
        session,
        company_id=actor.company_id,
        contact_id=keep.id,
        kind="contact.merged",
        actor_id=actor.user_id,
        details=summary,
    )
    await audit_action(session, actor, "contact.merged", "contact", keep.id, summary)
    return ContactOut.of(kept)


async def suggest_duplicates(
    session: AsyncSession, actor: Identity, limit: int
) -> list[DuplicatePair]:
    """Pairs that look like one person: same e-mail, or same phone ending and similar name."""
    pairs = await crud.duplicate_pairs(session, actor.company_id, limit)
    ids = sorted({contact_id for pair in pairs for contact_id in pair[:2]})
    contacts = await crud.contacts_by_id(session, actor.company_id, ids)
    result = []
    for first, second, reason in pairs[:limit]:
        if first in contacts and second in contacts:
            result.append(
                DuplicatePair(
                    first=ContactOut.of(contacts[first]),
                    second=ContactOut.of(contacts[second]),
                    reason=reason,
                )
            )
    return result


def _history_text(row: Mapping[str, Any]) -> str | None:
    """A message reads as in the inbox ("📷 Foto", a caption, the text), not as its raw type."""
    if row["kind"] != "message":
        return row["text"]  # type: ignore[no-any-return]
    return preview_of((row["details"] or {}).get("type", ""), row["text"], None)


async def contact_history(
    session: AsyncSession,
    actor: Identity,
    contact_id: uuid.UUID,
    *,
    cursor: str | None,
    limit: int,
) -> tuple[Sequence[HistoryItem], str | None]:
    """A page of the contact's timeline, newest first, and the next page's cursor."""
    if await identity.get_contact(session, actor.company_id, contact_id) is None:
        raise NotFound(N_("contato não encontrado"))
    before = decode_key_cursor(cursor) if cursor else None
    rows = await crud.history(session, contact_id, before=before, limit=limit + 1)
    items = [
        HistoryItem(
            at=row["at"],
            kind=row["kind"],
            conversation_id=row["conversation_id"],
            message_id=row["message_id"],
            from_me=row["from_me"],
            text=_history_text(row),
            details=row["details"] or {},
        )
        for row in rows[:limit]
    ]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        # The timeline mixes five tables: its tiebreaker is a text id ("e12", "m<uuid>"...).
        next_cursor = encode_key_cursor(last["at"], last["sort_id"])
    return items, next_cursor
