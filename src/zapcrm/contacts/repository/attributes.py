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
