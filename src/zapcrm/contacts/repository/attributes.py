"""SQL for company-defined contact attributes and funnel stages."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.models import ContactAttribute, FunnelStage


async def list_attributes(
    session: AsyncSession, company_id: uuid.UUID
) -> Sequence[ContactAttribute]:
    """The company's attribute definitions in display order."""
    statement = (
        select(ContactAttribute)
        .where(ContactAttribute.company_id == company_id)
        .order_by(ContactAttribute.position, ContactAttribute.key)
    )
    return (await session.scalars(statement)).all()


async def list_stages(session: AsyncSession, company_id: uuid.UUID) -> Sequence[FunnelStage]:
    """The company's funnel stages in order."""
    statement = (
        select(FunnelStage)
        .where(FunnelStage.company_id == company_id)
        .order_by(FunnelStage.position, FunnelStage.key)
    )
    return (await session.scalars(statement)).all()


async def insert_definition(
    session: AsyncSession,
    model: type[ContactAttribute] | type[FunnelStage],
    values: dict[str, object],
) -> ContactAttribute | FunnelStage:
    """Create an attribute or stage definition."""
    row = model(**values)
    session.add(row)
    await session.flush()
    await session.refresh(row)
    return row


async def get_definition(
    session: AsyncSession,
    model: type[ContactAttribute] | type[FunnelStage],
    company_id: uuid.UUID,
    definition_id: uuid.UUID,
) -> ContactAttribute | FunnelStage | None:
    """One definition of the company, or None."""
    row = await session.get(model, definition_id)
    if isinstance(row, ContactAttribute | FunnelStage) and row.company_id == company_id:
        return row
    return None


async def save_definitions(session: AsyncSession) -> None:
    """Write the changes made to loaded definitions (labels, options, places)."""
    await session.flush()


async def remove_definition(session: AsyncSession, row: ContactAttribute | FunnelStage) -> None:
    """Delete a definition (values already stored on contacts stay as they are)."""
    await session.delete(row)
    await session.flush()
