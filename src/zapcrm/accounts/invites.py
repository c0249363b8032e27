"""Invitations: an admin invites a colleague by e-mail, the colleague sets a password and joins.

Inviting creates the login at once, inactive and with a random password nobody knows, so the
e-mail is taken and the users page lists it; the invitation carries a single-use token that
expires, of which only the SHA-256 is stored. Resending issues a new token (the old link stops
working); revoking cancels the link, and the unused login is removed after commit. Accepting
sets the password and activates the login. Callers own the transaction (a service session
scoped to the admin's company: logins are outside a tenant's reach) and send the e-mail after
commit.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.accounts import repository
from zapcrm.accounts.audit import audit_action
from zapcrm.accounts.directory import UserDirectory
from zapcrm.auth.identity import Identity
from zapcrm.auth.passwords import validate_password
from zapcrm.exceptions import Conflict, NotFound, ValidationFailed, ZapcrmError
from zapcrm.i18n import N_
from zapcrm.models import Role, UserInvite

__all__ = [
    "InviteState",
    "InviteUnusable",
    "IssuedInvite",
    "accept_invite",
    "hash_token",
    "invite_by_token",
    "invite_user",
    "list_open_invites",
    "remove_unused_login",
    "resend_invite",
    "revoke_invite",
    "state_of",
]

# 32 random bytes: as strong as the session ids; URL-safe base64 is 43 characters.
_TOKEN_BYTES = 32
TOKEN_MAX_LENGTH = 64


class InviteState(enum.StrEnum):
    """Where an invitation stands, as the invitee's page explains it."""

    PENDING = "pending"
    EXPIRED = "expired"
    ACCEPTED = "accepted"
    REVOKED = "revoked"


class InviteUnusable(ZapcrmError):
    """The link cannot be used: unknown, expired, already used or revoked (`state`)."""

    status_code = 410
    code = "invite_unusable"

    def __init__(self, state: InviteState | None) -> None:
        super().__init__(N_("este convite não pode mais ser usado"), state=state)
        self.state = state


@dataclass(frozen=True, slots=True)
class IssuedInvite:
    """An invitation with the token of its link (known only now: only its hash is stored)."""

    invite: UserInvite
    token: str


def hash_token(token: str) -> str:
    """The stored form of a token: SHA-256, hex (the token is random, so no salt is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def state_of(invite: UserInvite, now: datetime | None = None) -> InviteState:
    """Where the invitation stands now."""
    if invite.revoked_at is not None:
        return InviteState.REVOKED
    if invite.accepted_at is not None:
        return InviteState.ACCEPTED
    if invite.expires_at <= (now or datetime.now(UTC)):
        return InviteState.EXPIRED
    return InviteState.PENDING


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    return token, hash_token(token)


async def invite_user(
    session: AsyncSession,
    directory: UserDirectory,
    actor: Identity,
    *,
    email: str,
    display_name: str,
    role: Role,
    ttl: timedelta,
) -> IssuedInvite:
    """Create the inactive login and its invitation in the admin's company."""
    email = email.strip().lower()
    display_name = display_name.strip()
    if not 3 <= len(email) <= 255 or len(display_name) > 200:
        raise ValidationFailed(N_("confira o nome e o e-mail"))
    # Nobody knows this password; the login stays inactive until the invitee chooses one.
    try:
        user_id = await directory.create(
            session,
            email=email,
            password=secrets.token_urlsafe(32),
            display_name=display_name or email.split("@")[0],
        )
    except Conflict:
        # The login that exists may be our own pending invitation's: then the way on is
        # to resend it (a new link), not to look for a colleague who is not there yet.
        pending = await repository.open_invite_for(session, actor.company_id, email)
        if pending is None:
            raise
        raise Conflict(
            N_("este e-mail já tem um convite pendente: use “Reenviar” na lista de convites"),
            invite_id=str(pending.id),
        ) from None
    try:
        profile = await repository.insert_profile(
            session,
            user_id=user_id,
            company_id=actor.company_id,
            role=role.value,
            email=email,
            display_name=display_name or email.split("@")[0],
        )
        await repository.update_profile(session, profile, active=False)
    except Exception:
        await directory.discard(user_id)
        raise
    token, token_hash = _new_token()
    invite = await repository.insert_invite(
        session,
        company_id=actor.company_id,
        user_id=user_id,
        email=email,
        display_name=display_name,
        role=role.value,
        token_hash=token_hash,
        invited_by=actor.user_id,
        expires_at=datetime.now(UTC) + ttl,
    )
    await audit_action(
        session,
        actor,
        "user.invited",
        "user",
        user_id,
        {"role": role.value, "invite_id": str(invite.id)},
    )
    return IssuedInvite(invite, token)


async def list_open_invites(session: AsyncSession, company_id: uuid.UUID) -> Sequence[UserInvite]:
    """Invitations not yet accepted nor revoked (expired ones included: they can be resent)."""
    return await repository.list_open_invites(session, company_id)


async def _open_invite(session: AsyncSession, actor: Identity, invite_id: uuid.UUID) -> UserInvite:
    invite = await repository.get_invite(session, actor.company_id, invite_id, for_update=True)
    if invite is None:
        raise NotFound(N_("convite não encontrado"))
    if invite.accepted_at is not None:
        raise Conflict(N_("este convite já foi aceito"))
    if invite.revoked_at is not None:
        raise Conflict(N_("este convite foi cancelado"))
    return invite


async def resend_invite(
    session: AsyncSession, actor: Identity, invite_id: uuid.UUID, *, ttl: timedelta
) -> IssuedInvite:
    """Issue a new token (the previous link stops working) valid for `ttl` from now."""
    invite = await _open_invite(session, actor, invite_id)
    token, token_hash = _new_token()
    await repository.update_invite(
        session,
        invite,
        token_hash=token_hash,
        sent_at=func.now(),
        expires_at=datetime.now(UTC) + ttl,
    )
    await audit_action(
        session, actor, "user.invite_resent", "user", invite.user_id, {"invite_id": str(invite.id)}
    )
    return IssuedInvite(invite, token)


async def revoke_invite(
    session: AsyncSession, actor: Identity, invite_id: uuid.UUID
) -> uuid.UUID | None:
    """Cancel an invitation (its link stops working at once); the unused login to remove.

    The caller removes that login through the directory after commit: with Supabase Auth the
    deletion commits at the auth server, and its cascade (profile, then this invitation's
    `user_id`) would wait for this transaction's lock while this transaction waits for it.
    Once the revocation is committed no one can accept the invitation, so removing is safe.
    """
    invite = await _open_invite(session, actor, invite_id)
    user_id = invite.user_id
    await repository.update_invite(session, invite, revoked_at=func.now())
    await audit_action(
        session,
        actor,
        "user.invite_revoked",
        "user",
        user_id,
        {"invite_id": str(invite.id), "email": invite.email},
    )
    return user_id


async def remove_unused_login(
    session: AsyncSession, directory: UserDirectory, company_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    """Delete the login of a revoked invitation, unless it became active meanwhile."""
    profile = await repository.get_profile(session, company_id, user_id)
    if profile is None or profile.active:
        return
    await directory.remove(session, user_id)


async def invite_by_token(
    session: AsyncSession, token: str, *, for_update: bool = False
) -> UserInvite:
    """The pending invitation of a link; InviteUnusable (with why) otherwise."""
    if not token or len(token) > TOKEN_MAX_LENGTH:
        raise InviteUnusable(None)
    invite = await repository.find_invite_by_token_hash(
        session, hash_token(token), for_update=for_update
    )
    if invite is None:
        raise InviteUnusable(None)
    state = state_of(invite)
    if state is not InviteState.PENDING or invite.user_id is None:
        raise InviteUnusable(state)
    return invite


async def accept_invite(
    session: AsyncSession, directory: UserDirectory, token: str, password: str
) -> UserInvite:
    """Set the invitee's password, activate the login and use the token up (once, under lock)."""
    invite = await invite_by_token(session, token, for_update=True)
    validate_password(password)
    assert invite.user_id is not None  # invite_by_token refuses a link without its login
    profile = await repository.get_profile(
        session, invite.company_id, invite.user_id, for_update=True
    )
    if profile is None:
        raise InviteUnusable(InviteState.REVOKED)
    await directory.set_password(session, invite.user_id, password)
    await repository.update_profile(session, profile, active=True)
    await repository.update_invite(session, invite, accepted_at=func.now())
    await repository.insert_audit(
        session,
        company_id=invite.company_id,
        actor_id=invite.user_id,
        action="user.invite_accepted",
        target_type="user",
        target_id=str(invite.user_id),
        details={"invite_id": str(invite.id)},
    )
    return invite
