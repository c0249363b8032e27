"""The edge's unit of work: one tenant transaction, its outbox entries, publication after commit.

Endpoints that change data and announce it call `in_tenant_transaction`; a transaction that
Postgres aborts as a deadlock victim (a webhook touching the same chat) is simply run again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.auth.identity import Identity
from zapcrm.db import retry_transaction
from zapcrm.outbox import OutboxItem, RecordedEntry, record
from zapcrm.runtime import Runtime

T = TypeVar("T")

Work = Callable[[AsyncSession], Awaitable[tuple[T, list[OutboxItem]]]]


async def in_tenant_transaction(runtime: Runtime, identity: Identity, work: Work[T]) -> T:
    """Run `work` under the caller's RLS, record its outbox items, publish them after commit."""

    async def transaction() -> tuple[T, list[RecordedEntry]]:
        async with runtime.db.tenant_session(identity.claims) as session:
            result, items = await work(session)
            entries = await record(session, identity.company_id, items)
        return result, entries

    result, entries = await retry_transaction(transaction)
    await runtime.outbox.publish(entries)
    return result
