"""SQL of the demo's past: conversations, their service cycles and messages, written in bulk
as the service role (the shop's history is not something the webhooks could replay: who
answered each message is known only to the panel)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

HISTORY_KEY_PREFIX = "DEMOHIST-"


async def has_history(session: AsyncSession, instance_id: uuid.UUID) -> bool:
    """Whether the demo's past was written already (its messages carry our key prefix)."""
    result = await session.execute(
        text(
            "select 1 from evolution_messages where instance_id = :instance"
            " and key_id like :prefix limit 1"
        ),
        {"instance": instance_id, "prefix": f"{HISTORY_KEY_PREFIX}%"},
    )
    return result.first() is not None


async def insert_conversation(session: AsyncSession, values: dict[str, Any]) -> uuid.UUID:
    """One closed chat with its latest message already known; its id."""
    result = await session.execute(
        text(
            "insert into evolution_conversations (company_id, instance_id, remote_jid,"
            " contact_id, status, assignee_id, last_message_id, last_message_preview,"
            " last_message_at, last_message_status, last_message_from_me, unread_count,"
            " first_inbound_at, last_inbound_at, first_outbound_at, last_outbound_at, closed_at)"
            " values (:company_id, :instance_id, :remote_jid, :contact_id, 'closed',"
            " :assignee_id, :last_message_id, :last_message_preview, :last_message_at,"
            " :last_message_status, :last_message_from_me, 0, :first_inbound_at,"
            " :last_inbound_at, :first_outbound_at, :last_outbound_at, :closed_at)"
            " returning id"
        ),
        values,
    )
    conversation_id: uuid.UUID = result.scalar_one()
    return conversation_id


async def insert_cycles(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Service cycles with who held them, in which department, their first reply, their close
    and its survey."""
    await session.execute(
        text(
            "insert into conversation_cycles (company_id, conversation_id, started_at,"
            " first_human_reply_at, closed_at, closed_by, assignee_id, survey_sent_at, rating,"
            " rated_at, rating_message_id, department_id) values (:company_id, :conversation_id,"
            " :started_at, :first_human_reply_at, :closed_at, :closed_by, :assignee_id,"
            " :survey_sent_at, :rating, :rated_at, :rating_message_id, :department_id)"
        ),
        list(rows),
    )


async def set_department(
    session: AsyncSession, conversation_id: uuid.UUID, department_id: uuid.UUID | None
) -> None:
    """The department the chat is in now (its last cycle's)."""
    await session.execute(
        text("update evolution_conversations set department_id = :d where id = :id"),
        {"d": department_id, "id": conversation_id},
    )


async def insert_messages(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Text messages, the customer's, the agents' and the survey's."""
    await session.execute(
        text(
            "insert into evolution_messages (id, company_id, instance_id, conversation_id,"
            " key_id, from_me, remote_jid, push_name, type, body, status, message_timestamp,"
            " sent_by, message_payload) values (:id, :company_id, :instance_id,"
            " :conversation_id, :key_id, :from_me, :remote_jid, :push_name, 'text', :body,"
            " :status, :at, :sent_by, cast(:message_payload as jsonb))"
        ),
        list(rows),
    )


async def touch_contact(
    session: AsyncSession, contact_id: uuid.UUID, at: Any, stage_since: Any
) -> None:
    """The contact's last interaction is the last message of their chat; they are in their
    funnel stage since their first chat (the board's "N dias na etapa")."""
    await session.execute(
        text("update contacts set last_interaction_at = :at, stage_since = :since where id = :id"),
        {"at": at, "since": stage_since, "id": contact_id},
    )
