"""SQL of ingestion: conversations, messages, service cycles and parked out-of-order updates.

Every write lets a unique key decide duplicates (`INSERT ... ON CONFLICT`); the status rule
lives in SQL (`app.status_advances`) so concurrent deliveries cannot move a status backwards.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.db import driver_rows


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


@dataclass(frozen=True, slots=True)
class ConversationRow:
    """The conversation a message belongs to, as it was before this message."""

    id: uuid.UUID
    status: str
    assignee_id: uuid.UUID | None
    contact_id: uuid.UUID | None


_UPSERT_CONVERSATION = text(
    """
insert into evolution_conversations
  (company_id, instance_id, remote_jid, is_group, subject, contact_id,
   chatwoot_conversation_id, chatwoot_inbox_id, message_context)
values (:company_id, :instance_id, :remote_jid, :is_group, :subject, :contact_id,
        :chatwoot_conversation_id, :chatwoot_inbox_id, cast(:message_context as jsonb))
on conflict on constraint evolution_conversations_instance_jid_key do update set
  contact_id = coalesce(excluded.contact_id, evolution_conversations.contact_id),
  subject = coalesce(excluded.subject, evolution_conversations.subject),
  chatwoot_conversation_id = coalesce(excluded.chatwoot_conversation_id,
                                      evolution_conversations.chatwoot_conversation_id),
  chatwoot_inbox_id = coalesce(excluded.chatwoot_inbox_id,
                               evolution_conversations.chatwoot_inbox_id),
  message_context = coalesce(excluded.message_context, evolution_conversations.message_context)
returning id, status, assignee_id, contact_id
"""
)


async def upsert_conversation(
    session: AsyncSession,
    *,
    company_id: uuid.UUID,
    instance_id: uuid.UUID,
    remote_jid: str,
    is_group: bool,
    contact_id: uuid.UUID | None,
    subject: str | None = None,
    chatwoot_conversation_id: int | None = None,
    chatwoot_inbox_id: int | None = None,
    message_context: dict[str, Any] | None = None,
) -> ConversationRow:
    """Create the conversation or refresh its identifiers; locks the row for this transaction."""
    rows = await driver_rows(
        session,
        _UPSERT_CONVERSATION,
        {
            "company_id": company_id,
            "instance_id": instance_id,
            "remote_jid": remote_jid,
            "is_group": is_group,
            "subject": subject,
            "contact_id": contact_id,
            "chatwoot_conversation_id": chatwoot_conversation_id,
            "chatwoot_inbox_id": chatwoot_inbox_id,
            "message_context": None if message_context is None else _json(message_context),
        },
    )
    row = rows[0]
    return ConversationRow(id=row[0], status=row[1], assignee_id=row[2], contact_id=row[3])


async def find_conversation_id(
    session: AsyncSession, instance_id: uuid.UUID, remote_jid: str
) -> uuid.UUID | None:
    """The conversation of a chat on an instance, if it exists."""
    result = await session.execute(
        text(
            "select id from evolution_conversations"
            " where instance_id = :instance_id and remote_jid = :remote_jid"
        ),
        {"instance_id": instance_id, "remote_jid": remote_jid},
    )
    return result.scalar_one_or_none()


async def contact_conversation_id(
    session: AsyncSession, instance_id: uuid.UUID, contact_id: uuid.UUID
) -> uuid.UUID | None:
    """The contact's latest 1:1 chat on the instance, also one the caller may not see (its
    company only: migration 0031); None in a service session."""
    result = await session.execute(
        text("select app.contact_conversation_id(:instance_id, :contact_id)"),
        {"instance_id": instance_id, "contact_id": contact_id},
    )
    found: uuid.UUID | None = result.scalar_one_or_none()
    return found


async def rekey_conversation(
    session: AsyncSession, conversation_id: uuid.UUID, remote_jid: str
) -> None:
    """Give a conversation its phone JID once the @lid it was opened under resolves."""
    await session.execute(
        text("update evolution_conversations set remote_jid = :jid where id = :id"),
        {"id": conversation_id, "jid": remote_jid},
    )


async def fold_conversation(
    session: AsyncSession, source_id: uuid.UUID, target_id: uuid.UUID
) -> None:
    """Move messages, cycles and tasks of `source_id` into `target_id` and delete it."""
    params = {"source": source_id, "target": target_id}
    # One open cycle per conversation: the target's open cycle starts at the earlier of both.
    await session.execute(
        text(
            "with gone as (delete from conversation_cycles where conversation_id = :source"
            "   and closed_at is null returning started_at)"
            " update conversation_cycles set started_at = least(started_at,"
            "   (select min(started_at) from gone))"
            " where conversation_id = :target and closed_at is null"
            "   and exists (select 1 from gone)"
        ),
        params,
    )
    for statement in (
        "update evolution_messages set conversation_id = :target where conversation_id = :source",
        "update conversation_cycles set conversation_id = :target where conversation_id = :source",
        "update tasks set conversation_id = :target where conversation_id = :source",
        "update evolution_conversations t set"
        " unread_count = t.unread_count + s.unread_count,"
        " first_inbound_at = least(t.first_inbound_at, s.first_inbound_at),"
        " first_outbound_at = least(t.first_outbound_at, s.first_outbound_at),"
        " last_inbound_at = greatest(t.last_inbound_at, s.last_inbound_at),"
        " last_outbound_at = greatest(t.last_outbound_at, s.last_outbound_at)"
        " from evolution_conversations s where t.id = :target and s.id = :source",
        "delete from evolution_conversations where id = :source",
    ):
        await session.execute(text(statement), params)


_UPSERT_MESSAGE = text(
    """
insert into evolution_messages as m
  (company_id, instance_id, conversation_id, key_id, from_me, remote_jid, sender_jid, push_name,
   type, body, message_payload, raw_payload, status, message_timestamp, event_datetime,
   quoted_key_id, media_mimetype, media_file_name, media_size, media_status)
values
  (:company_id, :instance_id, :conversation_id, :key_id, :from_me, :remote_jid, :sender_jid,
   :push_name, :type, :body, cast(:message_payload as jsonb), cast(:raw_payload as jsonb),
   :status, :message_timestamp, :event_datetime, :quoted_key_id, :media_mimetype,
   :media_file_name, :media_size, :media_status)
on conflict on constraint evolution_messages_instance_key_key do update set
  status = case when app.status_advances(m.status, excluded.status)
                then excluded.status else m.status end,
  body = coalesce(m.body, excluded.body),
  sender_jid = coalesce(m.sender_jid, excluded.sender_jid),
  push_name = coalesce(m.push_name, excluded.push_name),
  -- A file we already hold (our own send) needs no second copy inside the row.
  raw_payload = coalesce(m.raw_payload, case when m.media_status = 'stored'
                                             then excluded.raw_payload #- '{message,base64}'
                                             else excluded.raw_payload end),
  message_payload = case when m.message_payload = '{}'::jsonb
                         then excluded.message_payload else m.message_payload end
-- A duplicate that brings nothing new changes nothing and returns no row.
where app.status_advances(m.status, excluded.status)
   or (m.body is null and excluded.body is not null)
   or (m.raw_payload is null and excluded.raw_payload is not null)
returning id, conversation_id, (xmax = 0) as inserted, status
"""
)


# In SET expressions every column reads the row as it was before this update.
NEWER_SQL = "coalesce(c.last_message_at <= :at, true)"

# A new message's inbox fields: preview, times, unread count; a customer's message that waits
# for the team (`awaits_team`: not the answer to a satisfaction survey) reopens the chat.
_INBOX_UPDATE_SQL = """update evolution_conversations c set
    last_message_id = case when NEWER then msg.id else c.last_message_id end,
    last_message_preview = case when NEWER then :preview else c.last_message_preview end,
    last_message_status = case when NEWER then msg.status else c.last_message_status end,
    last_message_from_me = case when NEWER then :from_me else c.last_message_from_me end,
    last_message_at = greatest(c.last_message_at, :at),
    unread_count = c.unread_count + case when :awaits_team then 1 else 0 end,
    first_inbound_at = case when :inbound then least(coalesce(c.first_inbound_at, :at), :at)
                            else c.first_inbound_at end,
    last_inbound_at = case when :inbound then greatest(c.last_inbound_at, :at)
                           else c.last_inbound_at end,
    first_outbound_at = case when not :inbound
                             then least(coalesce(c.first_outbound_at, :at), :at)
                             else c.first_outbound_at end,
    last_outbound_at = case when not :inbound then greatest(c.last_outbound_at, :at)
                            else c.last_outbound_at end,
    status = case when :awaits_team and (c.status = 'closed' or c.snoozed_until is not null)
                  then 'open' else c.status end,
    snoozed_until = case when :awaits_team then null else c.snoozed_until end,
    closed_at = case when :awaits_team and c.status = 'closed' then null else c.closed_at end
  from msg
  where c.id = msg.conversation_id and msg.inserted"""
INBOX_CTE_SQL = f"inbox as (\n  {_INBOX_UPDATE_SQL}\n),\n"
# The same, answering the chat as the update left it (every column, `c.*`): the send request
# announces that snapshot (repository/outbound.py queue_message).
INBOX_RETURNING_CTE_SQL = f"inbox as (\n  {_INBOX_UPDATE_SQL}\n  returning c.*\n),\n"
# A person's first reply of the open service cycle (from the phone, WhatsApp Web or the panel).
REPLY_CTE_SQL = """reply as (
  update conversation_cycles cc set first_human_reply_at = :at
  from msg
  where msg.inserted and :human_reply
    and cc.conversation_id = msg.conversation_id
    and cc.closed_at is null
    and cc.first_human_reply_at is null
    and cc.started_at <= :at
),
"""

# The new-message path in ONE statement (one round trip instead of six): the message
# insert-or-merge, then, only when the row is new, the inbox fields, the service cycle, the
# contact's last interaction and the parked updates; for a merge, the inbox status mirror.
# Each CTE touches a different row or table, so no row is modified twice in the statement.
_STORE_MESSAGE = text(
    """
with msg as (MESSAGE_UPSERT),
INBOX_CTE
mirror as (
  update evolution_conversations c set last_message_status = msg.status
  from msg
  where c.id = msg.conversation_id and not msg.inserted
    and c.last_message_id = msg.id
),
cycle as (
  insert into conversation_cycles (company_id, conversation_id, started_at)
  select :company_id, msg.conversation_id, :at from msg where msg.inserted and :awaits_team
  on conflict (conversation_id) where closed_at is null do nothing
),
REPLY_CTE
contact as (
  update contacts ct set last_interaction_at = :at
  from msg
  where msg.inserted and ct.id = :contact_id
    and (ct.last_interaction_at is null or ct.last_interaction_at < :at)
),
parked as (
  delete from evolution_pending_updates p
  using msg
  where msg.inserted and p.instance_id = :instance_id
    and p.key_id = :key_id
  returning p.id, p.kind, p.payload
)
select msg.id, msg.conversation_id, msg.inserted, msg.status,
  (select coalesce(jsonb_agg(jsonb_build_array(parked.kind, parked.payload) order by parked.id),
                   '[]'::jsonb) from parked) as parked
from msg
""".replace("MESSAGE_UPSERT", _UPSERT_MESSAGE.text)
    .replace("INBOX_CTE", INBOX_CTE_SQL)
    .replace("REPLY_CTE", REPLY_CTE_SQL)
    .replace("NEWER", NEWER_SQL)
)
# psycopg caches the parsing of statements up to 4096 characters, measured in its own
# `%(name)s` style, which is longer than `:name`: squeeze this one under it (no string literal
# in it has a space next to a parenthesis, a comma or the operators = < +).
# tests/messaging/test_statement_sizes.py keeps it there.
_STORE_MESSAGE = text(" ".join(line.split("--")[0] for line in _STORE_MESSAGE.text.split("\n")))
_STORE_MESSAGE = text(re.sub(r"\s*([(),=<+])\s*", r"\1", " ".join(_STORE_MESSAGE.text.split())))


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """Outcome of `store_message`; None of it when the delivery was a pure duplicate."""

    id: uuid.UUID
    conversation_id: uuid.UUID
    inserted: bool
    status: str | None
    parked: list[tuple[str, dict[str, Any]]]


async def store_message(
    session: AsyncSession,
    values: dict[str, Any],
    *,
    preview: str,
    awaits_team: bool,
    human_reply: bool,
    contact_id: uuid.UUID | None,
) -> StoredMessage | None:
    """Insert-or-merge a message and apply every consequence of a new one, in one statement.

    `awaits_team`: a customer's message the team must see (counted unread, reopening a closed
    or snoozed chat, starting a service cycle); false for ours and for a survey's rating."""
    params = dict(values)
    params["message_payload"] = _json(params["message_payload"])
    params["raw_payload"] = None if params["raw_payload"] is None else _json(params["raw_payload"])
    params.update(
        preview=preview,
        at=values["message_timestamp"],
        inbound=not values["from_me"],
        awaits_team=awaits_team,
        human_reply=human_reply,
        contact_id=contact_id,
    )
    rows = await driver_rows(session, _STORE_MESSAGE, params)
    if not rows:
        return None
    row = rows[0]
    parked = [(kind, payload) for kind, payload in row[4]]
    return StoredMessage(
        id=row[0], conversation_id=row[1], inserted=row[2], status=row[3], parked=parked
    )


_APPLY_STATUS = text(
    """
update evolution_messages set status = :status,
  error_detail = case when :status = 'ERROR' then coalesce(cast(:error as text), error_detail)
                      else error_detail end
where instance_id = :instance_id and key_id = :key_id
  and app.status_advances(status, :status)
returning id, conversation_id
"""
)


async def apply_status(
    session: AsyncSession,
    *,
    instance_id: uuid.UUID,
    key_id: str,
    status: str,
    error: str | None = None,
) -> tuple[uuid.UUID, uuid.UUID] | None:
    """Move a message's status forward; (message id, conversation id) when it moved."""
    row = (
        await session.execute(
            _APPLY_STATUS,
            {"instance_id": instance_id, "key_id": key_id, "status": status, "error": error},
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def sync_last_status(
    session: AsyncSession, conversation_id: uuid.UUID, message_id: uuid.UUID, status: str
) -> None:
    """Mirror the status on the inbox row when the message is the conversation's last."""
    await session.execute(
        text(
            "update evolution_conversations set last_message_status = :status"
            " where id = :conversation_id and last_message_id = :message_id"
        ),
        {"conversation_id": conversation_id, "message_id": message_id, "status": status},
    )


async def sync_last_preview(
    session: AsyncSession, conversation_id: uuid.UUID, message_id: uuid.UUID, preview: str
) -> None:
    """Mirror an edit or a deletion on the inbox row when the message is the conversation's
    last, so the list says what the chat says."""
    await session.execute(
        text(
            "update evolution_conversations set last_message_preview = :preview"
            " where id = :conversation_id and last_message_id = :message_id"
        ),
        {"conversation_id": conversation_id, "message_id": message_id, "preview": preview},
    )


async def lock_key_id(session: AsyncSession, instance_id: uuid.UUID, key_id: str) -> None:
    """Serialise, until commit, the writers that decide whether a WhatsApp key id is stored
    (parking an early update, giving our sent row its key id). `app.attach_sent_key`
    (migration 0019) takes the same lock by the same name: change both or neither."""
    await driver_rows(
        session,
        text("select pg_advisory_xact_lock(hashtextextended(:lock, 0))"),
        {"lock": f"evolution-key:{instance_id}:{key_id}"},
    )


async def message_ref(
    session: AsyncSession, instance_id: uuid.UUID, key_id: str
) -> tuple[uuid.UUID, uuid.UUID] | None:
    """(message id, conversation id) of a WhatsApp key on an instance, if stored."""
    row = (
        await session.execute(
            text(
                "select id, conversation_id from evolution_messages"
                " where instance_id = :instance_id and key_id = :key_id"
            ),
            {"instance_id": instance_id, "key_id": key_id},
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def apply_edit(
    session: AsyncSession,
    *,
    instance_id: uuid.UUID,
    key_id: str,
    new_text: str | None,
    edited_at: datetime,
) -> tuple[uuid.UUID, uuid.UUID, str] | None:
    """Replace the text, keeping the previous one in `edit_history`; repeated edits are no-ops.
    Returns the message's id, conversation id and type."""
    row = (
        await session.execute(
            text(
                "update evolution_messages set"
                " edit_history = edit_history || jsonb_build_array(jsonb_build_object("
                "   'body', body, 'replaced_at', cast(:edited_at as timestamptz))),"
                " body = cast(:new_text as text), edited_at = :edited_at"
                " where instance_id = :instance_id and key_id = :key_id"
                " and (edited_at is null or edited_at < :edited_at)"
                " returning id, conversation_id, type"
            ),
            {
                "instance_id": instance_id,
                "key_id": key_id,
                "new_text": new_text,
                "edited_at": edited_at,
            },
        )
    ).first()
    return None if row is None else (row[0], row[1], row[2])


async def apply_delete(
    session: AsyncSession, *, instance_id: uuid.UUID, key_id: str, deleted_at: datetime
) -> tuple[uuid.UUID, uuid.UUID] | None:
    """Flag a message as deleted for everyone (the row and its text stay for audit)."""
    row = (
        await session.execute(
            text(
                "update evolution_messages set deleted_at = :deleted_at"
                " where instance_id = :instance_id and key_id = :key_id and deleted_at is null"
                " returning id, conversation_id"
            ),
            {"instance_id": instance_id, "key_id": key_id, "deleted_at": deleted_at},
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def apply_reaction(
    session: AsyncSession,
    *,
    instance_id: uuid.UUID,
    key_id: str,
    reactor: str,
    emoji: str,
    at: datetime,
) -> tuple[uuid.UUID, uuid.UUID] | None:
    """Set (or with an empty emoji remove) one person's reaction, keeping the newest."""
    row = (
        await session.execute(
            text(
                "update evolution_messages set reactions = case when cast(:emoji as text) = ''"
                "   then reactions - cast(:reactor as text)"
                "   else reactions || jsonb_build_object(cast(:reactor as text),"
                "        jsonb_build_object('emoji', cast(:emoji as text),"
                "                           'at', cast(:at as timestamptz))) end"
                " where instance_id = :instance_id and key_id = :key_id"
                " and coalesce((reactions -> cast(:reactor as text) ->> 'at')::timestamptz,"
                "              '-infinity') <= :at"
                " returning id, conversation_id"
            ),
            {
                "instance_id": instance_id,
                "key_id": key_id,
                "reactor": reactor,
                "emoji": emoji,
                "at": at,
            },
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def park_update(
    session: AsyncSession,
    *,
    company_id: uuid.UUID,
    instance_id: uuid.UUID,
    key_id: str,
    kind: str,
    payload: dict[str, Any],
) -> None:
    """Keep an update whose message has not arrived yet."""
    await session.execute(
        text(
            "insert into evolution_pending_updates (company_id, instance_id, key_id, kind, payload)"
            " values (:company_id, :instance_id, :key_id, :kind, cast(:payload as jsonb))"
        ),
        {
            "company_id": company_id,
            "instance_id": instance_id,
            "key_id": key_id,
            "kind": kind,
            "payload": _json(payload),
        },
    )
