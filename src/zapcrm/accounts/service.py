"""Company and user administration rules; callers own the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo, available_timezones

import phonenumbers
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.accounts import repository
from zapcrm.accounts.directory import UserDirectory
from zapcrm.distribution import service as distribution
from zapcrm.exceptions import Conflict, NotFound, ValidationFailed
from zapcrm.i18n import N_
from zapcrm.kit.zones import zone_or_default
from zapcrm.models import Company, Profile, Role
from zapcrm.outbox import record


async def create_company(session: AsyncSession, *, name: str) -> Company:
    """Create a company."""
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise ValidationFailed(N_("o nome da empresa deve ter de 1 a 200 caracteres"))
    return await repository.insert_company(session, name=name)


async def create_user(
    session: AsyncSession,
    directory: UserDirectory,
    *,
    company_id: uuid.UUID,
    email: str,
    password: str,
    role: Role,
    display_name: str,
    actor_id: uuid.UUID | None,
) -> Profile:
    """Create a login through the directory and its profile in the company."""
    email = email.strip().lower()
    display_name = display_name.strip() or email.split("@")[0]
    if await repository.get_company(session, company_id) is None:
        raise NotFound(N_("empresa não encontrada"))
    user_id = await directory.create(
        session, email=email, password=password, display_name=display_name
    )
    try:
        profile = await repository.insert_profile(
            session,
            user_id=user_id,
            company_id=company_id,
            role=role.value,
            email=email,
            display_name=display_name,
        )
    except Exception:
        await directory.discard(user_id)
        raise
    await repository.insert_audit(
        session,
        company_id=company_id,
        actor_id=actor_id,
        action="user.created",
        target_type="user",
        target_id=str(user_id),
        details={"role": role.value},
    )
    return profile


async def list_users(session: AsyncSession, company_id: uuid.UUID) -> Sequence[Profile]:
    """Every user of the company."""
    return await repository.list_profiles(session, company_id)


async def update_user(
    session: AsyncSession,
    *,
    company_id: uuid.UUID,
    user_id: uuid.UUID,
    actor_id: uuid.UUID | None,
    role: Role | None = None,
    display_name: str | None = None,
    active: bool | None = None,
) -> Profile:
    """Change a user's role, name or active flag, keeping at least one active admin; a user
    deactivated gives their open and pending chats back to the queue."""
    profile = await repository.get_profile(session, company_id, user_id, for_update=True)
    if profile is None:
        raise NotFound(N_("usuário não encontrado"))
    changes: dict[str, object] = {}
    if role is not None and role.value != profile.role:
        changes["role"] = role.value
    if display_name is not None and display_name != profile.display_name:
        changes["display_name"] = display_name
    if active is not None and active != profile.active:
        changes["active"] = active
    if not changes:
        return profile
    loses_admin = (
        profile.role == Role.ADMIN
        and profile.active
        and (changes.get("role", Role.ADMIN) != Role.ADMIN or changes.get("active") is False)
    )
    if loses_admin and await repository.count_active_admins(session, company_id) <= 1:
        raise Conflict(N_("a empresa precisa de pelo menos um administrador ativo"))
    if actor_id == user_id and ("role" in changes or "active" in changes):
        raise Conflict(N_("você não pode alterar o próprio perfil de acesso"))
    before = {name: getattr(profile, name) for name in changes}
    await repository.update_profile(session, profile, **changes)
    details: dict[str, object] = {"before": before, "after": changes}
    if changes.get("active") is False:
        # Nobody else sees a chat assigned to them (operators see their own and the
        # unassigned): back to the queue, announced by the outbox relay after commit.
        released, items = await distribution.release_chats(session, company_id, user_id)
        await record(session, company_id, items)
        details["released_conversations"] = released
    await repository.insert_audit(
        session,
        company_id=company_id,
        actor_id=actor_id,
        action="user.updated",
        target_type="user",
        target_id=str(user_id),
        details=details,
    )
    return profile


@dataclass(frozen=True)
class CompanySettings:
    """What an admin sets for the whole company (`sign_messages`: agents' texts go out with
    their name on top)."""

    name: str
    timezone: str
    default_region: str
    sign_messages: bool = False


async def company_settings(session: AsyncSession, company_id: uuid.UUID) -> CompanySettings:
    """The company's name, time zone, default phone region and signature choice."""
    company = await repository.get_company(session, company_id)
    if company is None:
        raise NotFound(N_("empresa não encontrada"))
    return _settings(company)


def _settings(company: Company) -> CompanySettings:
    return CompanySettings(
        company.name, company.timezone, company.default_region, company.sign_messages
    )


async def company_zone(session: AsyncSession, company_id: uuid.UUID) -> ZoneInfo:
    """The company's time zone, where its calendar days begin (São Paulo's when unset)."""
    company = await repository.get_company(session, company_id)
    return zone_or_default(company.timezone if company else None)


async def update_company_settings(
    session: AsyncSession,
    *,
    company_id: uuid.UUID,
    actor_id: uuid.UUID,
    name: str,
    timezone: str,
    default_region: str,
    sign_messages: bool | None = None,
) -> CompanySettings:
    """Validate and store the company's settings, with an audit entry of what changed
    (`sign_messages` None: left as it is)."""
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise ValidationFailed(
            N_("o nome da empresa deve ter de 1 a 200 caracteres"),
            fields=[{"field": "name", "message": N_("de 1 a 200 caracteres")}],
        )
    if timezone not in available_timezones():
        raise ValidationFailed(
            N_("fuso horário desconhecido"),
            fields=[{"field": "timezone", "message": N_("use um nome como America/Sao_Paulo")}],
        )
    region = default_region.upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationFailed(
            N_("país desconhecido"),
            fields=[{"field": "default_region", "message": N_("use um código como BR")}],
        )
    company = await repository.get_company(session, company_id)
    if company is None:
        raise NotFound(N_("empresa não encontrada"))
    wanted: dict[str, object] = {"name": name, "timezone": timezone, "default_region": region}
    if sign_messages is not None:
        wanted["sign_messages"] = sign_messages
    changes = {key: value for key, value in wanted.items() if getattr(company, key) != value}
    if changes:
        before = {key: getattr(company, key) for key in changes}
        await repository.update_company(session, company, **changes)
        await repository.insert_audit(
            session,
            company_id=company_id,
            actor_id=actor_id,
            action="company.updated",
            target_type="company",
            target_id=str(company_id),
            details={"before": before, "after": changes},
        )
    return CompanySettings(company.name, company.timezone, company.default_region)
