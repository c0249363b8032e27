"""Repository helper for the settings tables that hold one row per company (business hours,
distribution, the departments' menu, the satisfaction survey): saving creates or replaces it."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.models import Base

Row = TypeVar("Row", bound=Base)


async def save_company_row(
    session: AsyncSession, model: type[Row], company_id: uuid.UUID, values: Mapping[str, Any]
) -> Row:
    """Create or replace the company's row of `model` (its primary key is `company_id`); the
    row as stored. One statement: two admins saving at once cannot both insert."""
    statement = (
        insert(model)
        .values(company_id=company_id, **values)
        .on_conflict_do_update(index_elements=["company_id"], set_=dict(values))
        .returning(model)
    )
    return (await session.scalars(statement)).one()
