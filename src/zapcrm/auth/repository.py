"""SQL for the local provider's refresh tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.models import RefreshToken


async def insert_refresh_token(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    session_id: uuid.UUID,
    token_hash: str,
    expires_at: datetime,
    parent_id: uuid.UUID | None = None,
) -> None:
    """Store the hash of a new refresh token."""
    await session.execute(
        insert(RefreshToken).values(
            user_id=user_id,
            session_id=session_id,
            token_hash=token_hash,
            expires_at=expires_at,
            parent_id=parent_id,
        )
    )


async def lock_refresh_token(session: AsyncSession, token_hash: str) -> RefreshToken | None:
    """The token row by hash, locked so two concurrent refreshes cannot both rotate it."""
    statement = select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update()
    return (await session.scalars(statement)).first()


async def mark_used(session: AsyncSession, token_id: uuid.UUID, at: datetime) -> None:
    """Record that a token was exchanged."""
    await session.execute(
        update(RefreshToken).where(RefreshToken.id == token_id).values(used_at=at)
    )


async def revoke_session(session: AsyncSession, session_id: uuid.UUID, at: datetime) -> None:
    """Revoke every token of one login session."""
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.session_id == session_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=at)
    )


async def revoke_user(session: AsyncSession, user_id: uuid.UUID, at: datetime) -> list[uuid.UUID]:
    """Revoke every token of a user; returns the sessions that were still live."""
    result = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=at)
        .returning(RefreshToken.session_id)
    )
    return sorted(set(result.scalars().all()))
