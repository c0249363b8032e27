"""SQL for Evolution instances."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.models import EvolutionInstance


async def find_by_name(session: AsyncSession, external_id: str) -> Sequence[EvolutionInstance]:
    """Instances with this Evolution name (one per Evolution server)."""
    statement = select(EvolutionInstance).where(EvolutionInstance.external_id == external_id)
    return (await session.scalars(statement)).all()


@dataclass(frozen=True, slots=True)
class StoredCredential:
    """An instance's identity on its server and the hash of the token zapcrm holds."""

    id: uuid.UUID
    company_id: uuid.UUID
    external_id: str
    api_key_hash: str


async def server_urls(session: AsyncSession, company_id: uuid.UUID | None = None) -> list[str]:
    """The Evolution servers instances are registered on (of one company, when given)."""
    statement = (
        select(EvolutionInstance.server_url).distinct().order_by(EvolutionInstance.server_url)
    )
    if company_id is not None:
        statement = statement.where(EvolutionInstance.company_id == company_id)
    return list((await session.scalars(statement)).all())


async def credentials_on_server(
    session: AsyncSession, server_url: str, company_id: uuid.UUID | None = None
) -> list[StoredCredential]:
    """The instances registered on one server (of one company, when given)."""
    statement = select(
        EvolutionInstance.id,
        EvolutionInstance.company_id,
        EvolutionInstance.external_id,
        EvolutionInstance.api_key_hash,
    ).where(EvolutionInstance.server_url == server_url)
    if company_id is not None:
        statement = statement.where(EvolutionInstance.company_id == company_id)
    return [StoredCredential(*row) for row in (await session.execute(statement)).all()]


async def replace_credential(
    session: AsyncSession,
    instance_id: uuid.UUID,
    *,
    previous_hash: str,
    api_key_hash: str,
    api_key_ciphertext: str,
) -> bool:
    """Store a new token (hash and sealed) unless someone already replaced the one we read.

    Compare-and-set on the old hash: two syncs seeing the same rotation write (and audit) once.
    """
    result = await session.execute(
        update(EvolutionInstance)
        .where(EvolutionInstance.id == instance_id, EvolutionInstance.api_key_hash == previous_hash)
        .values(api_key_hash=api_key_hash, api_key_ciphertext=api_key_ciphertext)
        .returning(EvolutionInstance.id)
    )
    return result.first() is not None


async def insert_instance(
    session: AsyncSession,
    *,
    company_id: uuid.UUID,
    external_id: str,
    server_url: str,
    api_key_hash: str,
    api_key_ciphertext: str,
    webhook_url: str | None,
) -> uuid.UUID:
    """Register an instance and return its id."""
    result = await session.execute(
        insert(EvolutionInstance)
        .values(
            company_id=company_id,
            external_id=external_id,
            server_url=server_url,
            api_key_hash=api_key_hash,
            api_key_ciphertext=api_key_ciphertext,
            webhook_url=webhook_url,
        )
        .returning(EvolutionInstance.id)
    )
    return result.scalar_one()


async def touch_last_event(session: AsyncSession, instance_id: uuid.UUID, at: datetime) -> None:
    """Move `last_event_at`, at most every few seconds.

    Throttled so concurrent deliveries of one instance do not queue on its row lock: a row the
    WHERE clause rejects is neither updated nor locked.
    """
    await session.execute(
        text(
            "update evolution_instances set last_event_at = :at where id = :id"
            " and (last_event_at is null or last_event_at < :at - interval '5 seconds')"
        ),
        {"id": instance_id, "at": at},
    )


async def record_connection(
    session: AsyncSession,
    instance_id: uuid.UUID,
    *,
    connection_state: str,
    owner_jid: str | None = None,
    profile_name: str | None = None,
    changed_at: datetime | None = None,
) -> None:
    """Store the instance's connection state and, when given, its number and profile name.

    With `changed_at` (the gateway's event time) an older event never overwrites a newer one;
    without it (a live answer from the gateway) the state is simply the truth now.
    """
    values: dict[str, object] = {"connection_state": connection_state}
    if owner_jid is not None:
        values["owner_jid"] = owner_jid
    if profile_name is not None:
        values["profile_name"] = profile_name
    statement = update(EvolutionInstance).where(EvolutionInstance.id == instance_id)
    if changed_at is not None:
        values["connection_changed_at"] = changed_at
        statement = statement.where(
            (EvolutionInstance.connection_changed_at.is_(None))
            | (EvolutionInstance.connection_changed_at <= changed_at)
        )
    await session.execute(statement.values(**values))


async def gateway_access(
    session: AsyncSession, instance_id: uuid.UUID
) -> tuple[str, str, str | None] | None:
    """(Evolution name, server URL, sealed token) of an instance, for REST calls."""
    row = (
        await session.execute(
            select(
                EvolutionInstance.external_id,
                EvolutionInstance.server_url,
                EvolutionInstance.api_key_ciphertext,
            ).where(EvolutionInstance.id == instance_id)
        )
    ).first()
    return None if row is None else (row[0], row[1], row[2])


_PUBLIC_COLUMNS = (
    "id, external_id, server_url, webhook_url, connection_state, owner_jid, profile_name,"
    " last_event_at, created_at"
)


async def list_public(session: AsyncSession, company_id: uuid.UUID) -> list[dict[str, object]]:
    """The company's instances without key material (users may not read those columns)."""
    rows = await session.execute(
        text(
            f"select {_PUBLIC_COLUMNS} from evolution_instances"  # noqa: S608 - constant columns
            " where company_id = :company_id order by external_id"
        ),
        {"company_id": company_id},
    )
    return [dict(row._mapping) for row in rows]


async def get_public(
    session: AsyncSession, company_id: uuid.UUID, instance_id: uuid.UUID
) -> dict[str, object] | None:
    """One instance of the company without key material."""
    row = (
        await session.execute(
            text(
                f"select {_PUBLIC_COLUMNS} from evolution_instances"  # noqa: S608 - constant columns
                " where company_id = :company_id and id = :id"
            ),
            {"company_id": company_id, "id": instance_id},
        )
    ).first()
    return None if row is None else dict(row._mapping)


async def set_webhook_url(session: AsyncSession, instance_id: uuid.UUID, url: str) -> None:
    """Remember where the instance's webhook was pointed."""
    await session.execute(
        update(EvolutionInstance).where(EvolutionInstance.id == instance_id).values(webhook_url=url)
    )
