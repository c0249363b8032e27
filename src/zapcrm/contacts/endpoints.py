"""Contacts API: records, merge, duplicates, timeline; attribute and stage definitions."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.contacts import definitions, live, service
from zapcrm.contacts.schemas import (
    AttributeChange,
    AttributeIn,
    AttributeOut,
    ContactDetail,
    ContactIn,
    ContactOut,
    ContactPatch,
    DefinitionChange,
    DuplicatePair,
    HistoryItem,
    MergeIn,
    StageIn,
    StageOut,
)
from zapcrm.dependencies import Admin, CurrentUser, RuntimeDep, Supervisor, TenantSession
from zapcrm.messaging.schemas import Page
from zapcrm.models import ContactAttribute, FunnelStage
from zapcrm.outbox import OutboxItem
from zapcrm.transactions import in_tenant_transaction

router = APIRouter(tags=["contacts"])


@router.post("/api/contacts", status_code=status.HTTP_201_CREATED)
async def create_contact(body: ContactIn, actor: CurrentUser, runtime: RuntimeDep) -> ContactOut:
    """Create a contact (409 when its phone already belongs to someone, with their id)."""

    async def work(session: AsyncSession) -> tuple[ContactOut, list[OutboxItem]]:
        return await live.create_contact(session, actor, body)

    return await in_tenant_transaction(runtime, actor, work)


@router.get("/api/contacts/duplicates")
async def duplicates(
    actor: Supervisor, session: TenantSession, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> list[DuplicatePair]:
    """Pairs of contacts that look like the same person."""
    return await service.suggest_duplicates(session, actor, limit)


@router.get("/api/contacts/{contact_id:uuid}")
async def get_contact(
    contact_id: uuid.UUID, actor: CurrentUser, session: TenantSession
) -> ContactDetail:
    """One contact with every key (phones, WhatsApp ids) that resolves to it."""
    return await service.get_contact(session, actor, contact_id)


@router.patch("/api/contacts/{contact_id:uuid}")
async def update_contact(
    contact_id: uuid.UUID, body: ContactPatch, actor: CurrentUser, runtime: RuntimeDep
) -> ContactOut:
    """Change fields; each change is recorded in the contact's timeline."""

    async def work(session: AsyncSession) -> tuple[ContactOut, list[OutboxItem]]:
        return await live.update_contact(session, actor, contact_id, body)

    return await in_tenant_transaction(runtime, actor, work)


@router.delete("/api/contacts/{contact_id:uuid}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_contact(contact_id: uuid.UUID, actor: CurrentUser, runtime: RuntimeDep) -> None:
    """Delete a contact (supervisors and admins)."""

    async def work(session: AsyncSession) -> tuple[None, list[OutboxItem]]:
        return await live.delete_contact(session, actor, contact_id)

    await in_tenant_transaction(runtime, actor, work)


@router.post("/api/contacts/{contact_id:uuid}/merge")
async def merge_contact(
    contact_id: uuid.UUID, body: MergeIn, actor: Supervisor, runtime: RuntimeDep
) -> ContactOut:
    """Fold another contact into this one: chats, messages, tasks, lists and fields move
    (supervisors and admins: only they see every chat that has to move)."""

    async def work(session: AsyncSession) -> tuple[ContactOut, list[OutboxItem]]:
        return await live.merge_contacts(session, actor, contact_id, body.other_id)

    return await in_tenant_transaction(runtime, actor, work)


@router.get("/api/contacts/{contact_id:uuid}/history")
async def history(
    contact_id: uuid.UUID,
    actor: CurrentUser,
    session: TenantSession,
    cursor: Annotated[str | None, Query(max_length=300)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[HistoryItem]:
    """The contact's timeline: messages in every chat and instance, tasks, merges, changes."""
    items, next_cursor = await service.contact_history(
        session, actor, contact_id, cursor=cursor, limit=limit
    )
    return Page[HistoryItem](items=list(items), next_cursor=next_cursor)


@router.get("/api/contact-attributes")
async def list_attributes(actor: CurrentUser, session: TenantSession) -> list[AttributeOut]:
    """The company's custom contact attributes."""
    return await definitions.list_attributes(session, actor)


@router.post("/api/contact-attributes", status_code=status.HTTP_201_CREATED)
async def create_attribute(body: AttributeIn, actor: Admin, session: TenantSession) -> AttributeOut:
    """Define a custom attribute (admins)."""
    return await definitions.create_attribute(session, actor, body)


@router.patch("/api/contact-attributes/{attribute_id}")
async def change_attribute(
    attribute_id: uuid.UUID, body: AttributeChange, actor: Admin, session: TenantSession
) -> AttributeOut:
    """Rename a custom attribute, move it or replace a list's options (admins); its key and
    type stay."""
    return await definitions.change_attribute(session, actor, attribute_id, body)


@router.delete("/api/contact-attributes/{attribute_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_attribute(attribute_id: uuid.UUID, actor: Admin, session: TenantSession) -> None:
    """Remove a custom attribute definition (admins)."""
    await definitions.delete_definition(session, actor, ContactAttribute, attribute_id)


@router.get("/api/funnel-stages")
async def list_stages(actor: CurrentUser, session: TenantSession) -> list[StageOut]:
    """The company's funnel stages."""
    return await definitions.list_stages(session, actor)


@router.post("/api/funnel-stages", status_code=status.HTTP_201_CREATED)
async def create_stage(body: StageIn, actor: Admin, session: TenantSession) -> StageOut:
    """Add a funnel stage (admins)."""
    return await definitions.create_stage(session, actor, body)


@router.patch("/api/funnel-stages/{stage_id}")
async def change_stage(
    stage_id: uuid.UUID, body: DefinitionChange, actor: Admin, session: TenantSession
) -> StageOut:
    """Rename a funnel stage or move it (admins); its key stays."""
    return await definitions.change_stage(session, actor, stage_id, body)


@router.delete("/api/funnel-stages/{stage_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_stage(stage_id: uuid.UUID, actor: Admin, session: TenantSession) -> None:
    """Remove a funnel stage (admins)."""
    await definitions.delete_definition(session, actor, FunnelStage, stage_id)
