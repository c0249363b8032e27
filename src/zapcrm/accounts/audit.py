"""The audit log entry of an action a signed-in person took: who, in which company, did what
to which thing."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.accounts import repository
from zapcrm.auth.identity import Identity


async def audit_action(
    session: AsyncSession,
    actor: Identity,
    action: str,
    target_type: str,
    target_id: object,
    details: dict[str, Any] | None = None,
) -> None:
    """Append the entry in the caller's transaction (it commits or rolls back with the action)."""
    await repository.insert_audit(
        session,
        company_id=actor.company_id,
        actor_id=actor.user_id,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        details=details,
    )
