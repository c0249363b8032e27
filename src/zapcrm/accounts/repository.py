"""SQL for companies, users (`auth.users`), profiles and invitations."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.models import AuthUser, Company, Profile, UserInvite


async def insert_company(session: AsyncSession, *, name: str) -> Company:
    """Create a company row and return it."""
    company = Company(name=name)
    session.add(company)
    await session.flush()
    return company


async def get_company(session: AsyncSession, company_id: uuid.UUID) -> Company | None:
    """The company, or None."""
    return await session.get(Company, company_id)


async def update_company(session: AsyncSession, company: Company, **values: Any) -> None:
    """Change a company's columns (RLS: admins of that company only)."""
    await session.execute(update(Company).where(Company.id == company.id).values(**values))
    for name, value in values.items():
        setattr(company, name, value)


async def insert_auth_user(
    session: AsyncSession,
    *,
    email: str,
    encrypted_password: str,
    app_metadata: dict[str, Any],
    user_metadata: dict[str, Any],
    user_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Insert into `auth.users` the way Supabase Auth does for an e-mail signup."""
    values: dict[str, Any] = {
        "email": email,
        "encrypted_password": encrypted_password,
        "aud": "authenticated",
        "role": "authenticated",
        "email_confirmed_at": func.now(),
        "raw_app_meta_data": app_metadata,
        "raw_user_meta_data": user_metadata,
    }
    if user_id is not None:
        values["id"] = user_id
    result = await session.execute(insert(AuthUser).values(**values).returning(AuthUser.id))
    return result.scalar_one()


async def find_user_by_email(
    session: AsyncSession, email: str
) -> tuple[AuthUser, Profile | None] | None:
    """The auth user with this e-mail and their profile, if any."""
    statement = (
        select(AuthUser, Profile)
        .outerjoin(Profile, Profile.id == AuthUser.id)
        .where(func.lower(AuthUser.email) == email.lower(), AuthUser.is_sso_user.is_(False))
    )
    row = (await session.execute(statement)).first()
    return None if row is None else (row[0], row[1])


async def get_user_with_profile(
    session: AsyncSession, user_id: uuid.UUID
) -> tuple[AuthUser, Profile | None] | None:
    """The auth user with this id and their profile, if any."""
    statement = (
        select(AuthUser, Profile)
        .outerjoin(Profile, Profile.id == AuthUser.id)
        .where(AuthUser.id == user_id)
    )
    row = (await session.execute(statement)).first()
    return None if row is None else (row[0], row[1])


async def touch_last_sign_in(session: AsyncSession, user_id: uuid.UUID, at: datetime) -> None:
    """Record a successful sign-in."""
    await session.execute(update(AuthUser).where(AuthUser.id == user_id).values(last_sign_in_at=at))


async def insert_profile(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    company_id: uuid.UUID,
    role: str,
    email: str,
    display_name: str,
) -> Profile:
    """Attach a user to a company with a role."""
    profile = Profile(
        id=user_id, company_id=company_id, role=role, email=email, display_name=display_name
    )
    session.add(profile)
    await session.flush()
    return profile


async def list_profiles(session: AsyncSession, company_id: uuid.UUID) -> Sequence[Profile]:
    """Every user of a company, admins first, then by name."""
    statement = (
        select(Profile)
        .where(Profile.company_id == company_id)
        .order_by(Profile.role, Profile.display_name, Profile.email)
    )
    return (await session.scalars(statement)).all()


async def get_profile(
    session: AsyncSession, company_id: uuid.UUID, user_id: uuid.UUID, *, for_update: bool = False
) -> Profile | None:
    """One user of a company, or None (also when RLS hides it)."""
    statement = select(Profile).where(Profile.company_id == company_id, Profile.id == user_id)
    if for_update:
        statement = statement.with_for_update()
    return (await session.scalars(statement)).first()


async def count_active_admins(session: AsyncSession, company_id: uuid.UUID) -> int:
    """How many active admins a company has."""
    statement = select(func.count()).where(
        Profile.company_id == company_id, Profile.role == "admin", Profile.active.is_(True)
    )
    return int((await session.execute(statement)).scalar_one())


async def update_profile(session: AsyncSession, profile: Profile, **values: Any) -> None:
    """Change a profile's columns."""
    await session.execute(
        update(Profile)
        .where(Profile.id == profile.id, Profile.company_id == profile.company_id)
        .values(**values)
    )
    for name, value in values.items():
        setattr(profile, name, value)


async def set_banned_until(
    session: AsyncSession, user_id: uuid.UUID, until: datetime | None
) -> None:
    """Ban (or unban) the login, as Supabase's admin API does with `ban_duration`."""
    await session.execute(update(AuthUser).where(AuthUser.id == user_id).values(banned_until=until))


async def insert_audit(
    session: AsyncSession,
    *,
    company_id: uuid.UUID,
    actor_id: uuid.UUID | None,
    action: str,
    target_type: str,
    target_id: str | None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append an audit log entry."""
    # Plain SQL on purpose: SQLAlchemy would add RETURNING id to fetch the new key, and
    # RETURNING needs the SELECT policy that only admins have, so a supervisor's audited action
    # would be refused.
    await session.execute(
        text(
            "insert into audit_log (company_id, actor_id, action, target_type, target_id, details)"
            " values (:company_id, :actor_id, :action, :target_type, :target_id,"
            " cast(:details as jsonb))"
        ),
        {
            "company_id": company_id,
            "actor_id": actor_id,
            "action": action,
            "target_type": target_type,
            "target_id": target_id,
            "details": orjson.dumps(details or {}, default=str).decode(),
        },
    )


async def set_encrypted_password(
    session: AsyncSession, user_id: uuid.UUID, encrypted_password: str
) -> None:
    """Replace a login's bcrypt hash (local provider)."""
    await session.execute(
        update(AuthUser)
        .where(AuthUser.id == user_id)
        .values(encrypted_password=encrypted_password, updated_at=func.now())
    )


async def delete_auth_user(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Remove a login (its profile goes with it, by the foreign key)."""
    await session.execute(delete(AuthUser).where(AuthUser.id == user_id))


async def insert_invite(session: AsyncSession, **values: Any) -> UserInvite:
    """Record an invitation and return it."""
    invite = UserInvite(**values)
    session.add(invite)
    await session.flush()
    await session.refresh(invite)
    return invite


async def get_invite(
    session: AsyncSession, company_id: uuid.UUID, invite_id: uuid.UUID, *, for_update: bool = False
) -> UserInvite | None:
    """One invitation of the company, or None."""
    statement = select(UserInvite).where(
        UserInvite.company_id == company_id, UserInvite.id == invite_id
    )
    if for_update:
        statement = statement.with_for_update()
    return (await session.scalars(statement)).first()


async def find_invite_by_token_hash(
    session: AsyncSession, token_hash: str, *, for_update: bool = False
) -> UserInvite | None:
    """The invitation whose current token has this hash, or None."""
    statement = select(UserInvite).where(UserInvite.token_hash == token_hash)
    if for_update:
        statement = statement.with_for_update()
    return (await session.scalars(statement)).first()


async def list_open_invites(session: AsyncSession, company_id: uuid.UUID) -> Sequence[UserInvite]:
    """The company's invitations neither accepted nor revoked (expired ones too), newest first."""
    statement = (
        select(UserInvite)
        .where(
            UserInvite.company_id == company_id,
            UserInvite.accepted_at.is_(None),
            UserInvite.revoked_at.is_(None),
        )
        .order_by(UserInvite.created_at.desc(), UserInvite.id)
    )
    return (await session.scalars(statement)).all()


async def open_invite_for(
    session: AsyncSession, company_id: uuid.UUID, email: str
) -> UserInvite | None:
    """The company's invitation to `email` (lower case) neither accepted nor revoked, if any."""
    statement = select(UserInvite).where(
        UserInvite.company_id == company_id,
        UserInvite.email == email,
        UserInvite.accepted_at.is_(None),
        UserInvite.revoked_at.is_(None),
    )
    return (await session.scalars(statement.limit(1))).first()


async def update_invite(session: AsyncSession, invite: UserInvite, **values: Any) -> None:
    """Change an invitation's columns (server-side `now()` values are read back)."""
    await session.execute(
        update(UserInvite)
        .where(UserInvite.id == invite.id, UserInvite.company_id == invite.company_id)
        .values(**values)
    )
    await session.refresh(invite)
