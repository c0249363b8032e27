"""Instance registry: API key hashing, registration, and authenticating webhook deliveries."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.accounts import repository as accounts_repo
from zapcrm.evolution import repository
from zapcrm.evolution.credentials import CredentialBox
from zapcrm.exceptions import Conflict, NotFound, ValidationFailed
from zapcrm.i18n import N_
from zapcrm.kit.memory import Memory

DEFAULT_SERVER_URL = "http://127.0.0.1:8080"


def hash_api_key(token: str) -> str:
    """SHA-256 hex of an instance token: all zapcrm keeps to validate webhooks."""
    return hashlib.sha256(token.encode()).hexdigest()


def api_key_matches(presented: str | None, stored_hash: str) -> bool:
    """Constant-time comparison of a presented token with the stored hash."""
    if not presented:
        return False
    return hmac.compare_digest(hash_api_key(presented), stored_hash)


def any_key_matches(presented: Sequence[str | None], stored_hash: str) -> bool:
    """Whether any presented token matches the stored hash, each compared in constant time."""
    # No short circuit: the time taken must not tell which of the keys matched.
    matches = [api_key_matches(key, stored_hash) for key in presented]
    return any(matches)


@dataclass(frozen=True, slots=True)
class InstanceRef:
    """What ingestion needs to know about the instance a delivery belongs to."""

    id: uuid.UUID
    company_id: uuid.UUID
    external_id: str
    server_url: str


@dataclass(frozen=True, slots=True)
class InstanceRow:
    """What authenticating a delivery needs of an instance row."""

    id: uuid.UUID
    company_id: uuid.UUID
    external_id: str
    server_url: str
    api_key_hash: str


class InstanceCache:
    """Instances by name, kept a few seconds in process memory.

    Every webhook needs its instance before anything else; at hundreds of deliveries a second
    the same few rows would be read again and again. A changed key (rotation) takes effect
    within `ttl` seconds, or at once through `forget`.
    """

    def __init__(self, *, ttl: float = 5.0, max_names: int = 10_000) -> None:
        # Bounded: a flood of made-up names cannot grow memory.
        self._names: Memory[str, list[InstanceRow]] = Memory(ttl=ttl, max_entries=max_names)
        self._last_event_touch: dict[uuid.UUID, float] = {}

    async def candidates(
        self, session: AsyncSession, name: str, *, fresh: bool = False
    ) -> list[InstanceRow]:
        """The instances named `name` (one per Evolution server), from memory when recent."""

        async def load() -> list[InstanceRow]:
            return [
                InstanceRow(
                    id=row.id,
                    company_id=row.company_id,
                    external_id=row.external_id,
                    server_url=row.server_url,
                    api_key_hash=row.api_key_hash,
                )
                for row in await repository.find_by_name(session, name)
            ]

        return await self._names.get(name, load, fresh=fresh)

    def forget(self, name: str | None = None) -> None:
        """Drop one name (or everything) after instances changed."""
        self._names.forget(name)

    def last_event_due(self, instance_id: uuid.UUID, *, every: float = 5.0) -> bool:
        """Whether this process should refresh the instance's `last_event_at` now."""
        now = time.monotonic()
        if now - self._last_event_touch.get(instance_id, -every) < every:
            return False
        self._last_event_touch[instance_id] = now
        return True


def select_instance(candidates: list[InstanceRow], server_url: str | None) -> InstanceRow | None:
    """Pick the instance of a delivery: by name, and by server when several servers share it."""
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    wanted = (server_url or "").rstrip("/")
    for instance in candidates:
        if instance.server_url.rstrip("/") == wanted:
            return instance
    return None


async def authenticate_delivery(
    session: AsyncSession,
    cache: InstanceCache,
    *,
    instance_name: str,
    server_url: str | None,
    api_keys: Sequence[str | None],
) -> InstanceRef | None:
    """The instance a webhook delivery belongs to, or None when unknown or no key matches.

    A delivery may carry two keys, the envelope `apikey` and our custom `apikey` header; either
    proves the sender holds the token. Both count because during a rotation they can differ:
    Evolution keeps the envelope value in memory until it restarts (§4), while the header is
    what `/webhook/set` last stored.
    """
    instance = await _matching(session, cache, instance_name, server_url, api_keys, fresh=False)
    if instance is None:
        # The memory may predate a new instance or a new key: ask Postgres before refusing.
        instance = await _matching(session, cache, instance_name, server_url, api_keys, fresh=True)
    if instance is None:
        return None
    return InstanceRef(
        id=instance.id,
        company_id=instance.company_id,
        external_id=instance.external_id,
        server_url=instance.server_url,
    )


async def _matching(
    session: AsyncSession,
    cache: InstanceCache,
    name: str,
    server_url: str | None,
    api_keys: Sequence[str | None],
    *,
    fresh: bool,
) -> InstanceRow | None:
    instance = select_instance(await cache.candidates(session, name, fresh=fresh), server_url)
    if instance is None:
        # Still hash something so unknown names and wrong keys take the same time.
        any_key_matches(api_keys, "0" * 64)
        return None
    return instance if any_key_matches(api_keys, instance.api_key_hash) else None


async def register_instance(
    session: AsyncSession,
    *,
    company_id: uuid.UUID,
    name: str,
    token: str,
    credentials: CredentialBox,
    server_url: str = DEFAULT_SERVER_URL,
    webhook_url: str | None = None,
) -> uuid.UUID:
    """Register an existing Evolution instance: the token's hash (to check webhooks) and the
    token encrypted (to call the gateway); never the token itself."""
    name = name.strip()
    if not name or len(name) > 200:
        raise ValidationFailed(N_("o nome da instância deve ter de 1 a 200 caracteres"))
    if len(token) < 8:
        raise ValidationFailed(N_("o token da instância deve ter pelo menos 8 caracteres"))
    if not server_url.startswith(("http://", "https://")):
        raise ValidationFailed(
            N_("a URL do servidor Evolution deve começar com http:// ou https://")
        )
    if await accounts_repo.get_company(session, company_id) is None:
        raise NotFound(N_("empresa não encontrada"))
    try:
        async with session.begin_nested():
            return await repository.insert_instance(
                session,
                company_id=company_id,
                external_id=name,
                server_url=server_url.rstrip("/"),
                api_key_hash=hash_api_key(token),
                api_key_ciphertext=credentials.seal(token),
                webhook_url=webhook_url,
            )
    except IntegrityError:
        raise Conflict(N_("esta instância já está registrada neste servidor Evolution")) from None
