"""Live events: one Redis pub/sub channel per company, filtered per reader by the SSE endpoint.

Each event says who may see it (`audience`: everyone of the company, or admins only) and, for
conversation events, the conversation's assignee, so an operator only receives events of
their own and unassigned conversations — the same rule RLS applies to the rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Literal

import orjson
from redis.asyncio import Redis

from zapcrm.auth.identity import Identity
from zapcrm.models import Role

Audience = Literal["company", "supervisors", "admins"]


def channel_for(company_id: uuid.UUID | str) -> str:
    """The pub/sub channel of a company's live events."""
    return f"realtime:company:{company_id}"


def encode_event(
    event_type: str,
    *,
    audience: Audience = "company",
    conversation_id: uuid.UUID | str | None = None,
    assignee_id: uuid.UUID | str | None = None,
    data: Mapping[str, Any] | None = None,
) -> str:
    """Serialise one live event."""
    return orjson.dumps(
        {
            "type": event_type,
            "audience": audience,
            "conversation_id": None if conversation_id is None else str(conversation_id),
            "assignee_id": None if assignee_id is None else str(assignee_id),
            "data": dict(data or {}),
        }
    ).decode()


async def publish(redis: Redis, company_id: uuid.UUID | str, event: str) -> None:
    """Publish an encoded event to the company's channel."""
    await redis.publish(channel_for(company_id), event)


def visible_to(identity: Identity, event: Mapping[str, Any]) -> bool:
    """Whether this reader may receive the event (mirrors the RLS rules)."""
    audience = event.get("audience", "company")
    if audience == "admins":
        return identity.role is Role.ADMIN
    if audience == "supervisors":
        return identity.has_role(Role.SUPERVISOR)
    if event.get("conversation_id") is None or identity.has_role(Role.SUPERVISOR):
        return True
    assignee = event.get("assignee_id")
    return assignee is None or assignee == str(identity.user_id)
