"""Instance registry: API key hashing, registration, and authenticating webhook deliveries."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.accounts import repository as accounts_repo
from zapcrm.evolution import repository
from zapcrm.exceptions import Conflict, NotFound, ValidationFailed
from zapcrm.models import EvolutionInstance

DEFAULT_SERVER_URL = "http://127.0.0.1:8080"


def hash_api_key(token: str) -> str:
    """SHA-256 hex of an instance token: all zapcrm keeps to validate webhooks."""
    return hashlib.sha256(token.encode()).hexdigest()


def api_key_matches(presented: str | None, stored_hash: str) -> bool:
    """Constant-time comparison of a presented token with the stored hash."""
    if not presented:
        return False
    return hmac.compare_digest(hash_api_key(presented), stored_hash)


@dataclass(frozen=True, slots=True)
class InstanceRef:
    """What ingestion needs to know about the instance a delivery belongs to."""

    id: uuid.UUID
    company_id: uuid.UUID
    external_id: str
    server_url: str


def select_instance(
    candidates: list[EvolutionInstance], server_url: str | None
) -> EvolutionInstance | None:
    """Pick the instance of a delivery: by name, and by server when several servers share it."""
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    wanted = (server_url or "").rstrip("/")
    for instance in candidates:
        if instance.server_url.rstrip("/") == wanted:
            return instance
    return None


async def authenticate_delivery(
    session: AsyncSession, *, instance_name: str, server_url: str | None, api_key: str | None
) -> InstanceRef | None:
    """The instance a webhook delivery belongs to, or None when unknown or the key is wrong."""
    candidates = list(await repository.find_by_name(session, instance_name))
    instance = select_instance(candidates, server_url)
    if instance is None:
        # Still hash something so unknown names and wrong keys take the same time.
        api_key_matches(api_key, "0" * 64)
        return None
    if not api_key_matches(api_key, instance.api_key_hash):
        return None
    return InstanceRef(
        id=instance.id,
        company_id=instance.company_id,
        external_id=instance.external_id,
        server_url=instance.server_url,
    )


async def register_instance(
    session: AsyncSession,
    *,
    company_id: uuid.UUID,
    name: str,
    token: str,
    server_url: str = DEFAULT_SERVER_URL,
    webhook_url: str | None = None,
) -> uuid.UUID:
    """Register an existing Evolution instance for a company (only the token's hash is kept)."""
    name = name.strip()
    if not name or len(name) > 200:
        raise ValidationFailed("o nome da instância deve ter de 1 a 200 caracteres")
    if len(token) < 8:
        raise ValidationFailed("o token da instância deve ter pelo menos 8 caracteres")
    if not server_url.startswith(("http://", "https://")):
        raise ValidationFailed("a URL do servidor Evolution deve começar com http:// ou https://")
    if await accounts_repo.get_company(session, company_id) is None:
        raise NotFound("empresa não encontrada")
    try:
        async with session.begin_nested():
            return await repository.insert_instance(
                session,
                company_id=company_id,
                external_id=name,
                server_url=server_url.rstrip("/"),
                api_key_hash=hash_api_key(token),
                webhook_url=webhook_url,
            )
    except IntegrityError:
        raise Conflict("esta instância já está registrada neste servidor Evolution") from None
