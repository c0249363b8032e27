"""SQL of outbound sends: queue a message, record attempts, attach the gateway's key id."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.db import driver_mappings, driver_rows
from zapcrm.messaging.repository.inbox import MESSAGE_COLUMNS, conversation_json
from zapcrm.messaging.repository.ingest import (
    INBOX_RETURNING_CTE_SQL,
    NEWER_SQL,
    REPLY_CTE_SQL,
)
from zapcrm.messaging.schemas import INBOX_ASIDE_MARKS

# Insert the queued message and update the inbox and the cycle's first human reply in one
# statement, which answers the new row as the API shows it (no read after it) and the chat as
# the inbox update left it (`conversation`, as `inbox.get_conversations` reads it, in JSON; null
# when the update did not happen). The idempotency index answers a retried request with no row
# (see queue_message). `_queue_statement` puts the inbox update and the reply after the insert
# (`msg`, returning MESSAGE_COLUMNS and `inserted`).
_QUEUE_INSERT = """
  insert into evolution_messages as m
    (id, company_id, instance_id, conversation_id, from_me, remote_jid, type, body,
     message_payload, status, message_timestamp, sent_by, client_idempotency_key, outgoing,
     quoted_key_id, media_mimetype, media_file_name, media_size, media_path, media_status)
  values (:id, :company_id, :instance_id, :conversation_id, true, :remote_jid, :type, :body,
          cast(:message_payload as jsonb), 'queued', :at, :sent_by, :idempotency_key,
          cast(:outgoing as jsonb), :quoted_key_id, :media_mimetype, :media_file_name,
          :media_size, :media_path, :media_status)
  on conflict (company_id, client_idempotency_key) where client_idempotency_key is not null
  do nothing
  returning MESSAGE_COLUMNS, true as inserted
"""
_QUEUE_AFTER_INSERT = """
INBOX_CTE
REPLY_CTE
done as (select 1)
select *, CONVERSATION_SNAPSHOT as conversation from msg
"""


def _queue_statement(insert: str, *, inbox: bool = True) -> TextClause:
    """The queue statement around `insert` (the `msg` CTE's body); without `inbox` it leaves
    the chat as it was and answers no `conversation`. Whitespace folded: psycopg parses a
    statement once only up to MAX_CACHED_STATEMENT_LENGTH bytes (test_statement_sizes.py), and
    the indentation alone would pass it; no literal here holds a run of whitespace."""
    sql = f"with msg as ({insert}),{_QUEUE_AFTER_INSERT}"
    sql = sql.replace("MESSAGE_COLUMNS", MESSAGE_COLUMNS)
    if inbox:
        sql = (
            sql.replace("INBOX_CTE", INBOX_RETURNING_CTE_SQL)
            .replace("REPLY_CTE", REPLY_CTE_SQL)
            .replace("NEWER", NEWER_SQL)
            .replace("CONVERSATION_SNAPSHOT", conversation_json("inbox"))
        )
    else:
        sql = (
            sql.replace("INBOX_CTE", "")
            .replace("REPLY_CTE", "")
            .replace("CONVERSATION_SNAPSHOT", "cast(null as jsonb)")
        )
    return text(" ".join(sql.split()))


_QUEUE_MESSAGE = _queue_statement(_QUEUE_INSERT)
# A message that leaves the chat as it was in the inbox (the out-of-office reply): the
# customer is still the last to have spoken, waiting for a person, in the same place.
_QUEUE_ASIDE = _queue_statement(_QUEUE_INSERT, inbox=False)


_MEDIA_COLUMNS = ("media_mimetype", "media_file_name", "media_size", "media_path", "media_status")


# A person's plain text (no quote, no idempotency key) queued in one statement: the chat is
# read by the insert itself (RLS decides, as the request's own read of it did), and so is the
# company's signature setting, which makes what WhatsApp gets (`outgoing`). Two round trips and
# the chat's read for the request fewer than queue_message after those reads. The new row also
# answers its instance id (the send job's order key).
_QUEUE_TEXT = _queue_statement(
    """
  insert into evolution_messages as m
    (id, company_id, instance_id, conversation_id, from_me, remote_jid, type, body,
     message_payload, status, message_timestamp, sent_by, outgoing)
  select :id, :company_id, c.instance_id, c.id, true, c.remote_jid, 'text', :body,
    cast(:message_payload as jsonb), 'queued', :at, :sent_by,
    jsonb_build_object('kind', 'text', 'text',
      case when cast(:signer as text) <> ''
        and (select s.sign_messages from companies s where s.id = :company_id)
      then '*' || cast(:signer as text) || ':*' || chr(10) || cast(:body as text)
      else cast(:body as text) end)
  from evolution_conversations c where c.id = :conversation_id
  returning MESSAGE_COLUMNS, m.instance_id, true as inserted
"""
)


async def queue_text_in_chat(
    session: AsyncSession,
    *,
    message_id: uuid.UUID,
    company_id: uuid.UUID,
    conversation_id: uuid.UUID,
    body: str,
    signer: str,
    preview: str,
    at: datetime,
    sent_by: uuid.UUID,
) -> dict[str, Any] | None:
    """Queue a person's text in a chat they may see (RLS), signed with `signer` in bold on top
    when the company signs its messages (an empty `signer` never signs): the new row as
    `queue_message` answers it, with `instance_id`; None when the chat is not visible."""
    rows = await driver_mappings(
        session,
        _QUEUE_TEXT,
        {
            "id": message_id,
            "company_id": company_id,
            "conversation_id": conversation_id,
            "body": body,
            "signer": signer,
            "message_payload": "{}",
            "at": at,
            "sent_by": sent_by,
            "preview": preview,
            "from_me": True,
            "inbound": False,
            "awaits_team": False,
            "human_reply": True,
        },
    )
    if not rows:
        return None
    row = rows[0]
    del row["inserted"]
    return row


async def queue_message(
    session: AsyncSession, values: dict[str, Any], *, inbox: bool = True
) -> dict[str, Any] | None:
    """Queue an outbound message (with its id; media columns optional): the new row, with the
    columns of `inbox.MESSAGE_COLUMNS` and `conversation`, the chat as this statement left it
    (the columns of `inbox.CONVERSATION_COLUMNS` in JSON; None when it did not change it); None
    when its idempotency key was already used. With `inbox` false the chat's preview, times and
    unread count stay as they were."""
    params = {
        **dict.fromkeys(_MEDIA_COLUMNS),
        **values,
        "message_payload": orjson.dumps(values["message_payload"]).decode(),
        "outgoing": orjson.dumps(values["outgoing"]).decode(),
        "from_me": True,
        "inbound": False,
        "awaits_team": False,
        # A person's reply (panel, API) counts for the first-response report; a campaign's not.
        "human_reply": values.get("human_reply", True),
        "preview": values["preview"],
    }
    rows = await driver_mappings(session, _QUEUE_MESSAGE if inbox else _QUEUE_ASIDE, params)
    if not rows:
        return None
    row = rows[0]
    del row["inserted"]
    return row


async def find_by_idempotency_key(
    session: AsyncSession, company_id: uuid.UUID, key: str
) -> uuid.UUID | None:
    """The message a retried request already created."""
    result = await session.execute(
        text(
            "select id from evolution_messages"
            " where company_id = :company_id and client_idempotency_key = :key"
        ),
        {"company_id": company_id, "key": key},
    )
    return result.scalar_one_or_none()


# The statements every send runs, built once (a `text()` costs a parse of its binds).
_LOAD_OUTGOING = text(
    "select m.id, m.company_id, m.instance_id, m.conversation_id, m.key_id, m.status,"
    " m.type, m.body, m.message_payload ->> 'caption' as caption, m.outgoing,"
    " m.message_payload ?| cast(:aside as text[]) as aside,"
    " m.send_attempted_at,"
    # When the message last entered the queue: its time limits count from here.
    " coalesce(m.retried_at, m.created_at) as queued_at,"
    " c.remote_jid, c.is_group, c.contact_id,"
    " i.external_id, i.server_url, i.api_key_ciphertext, i.connection_state"
    " from evolution_messages m"
    " join evolution_conversations c on c.id = m.conversation_id"
    " join evolution_instances i on i.id = m.instance_id"
    " where m.id = :id"
)
_RECORD_ATTEMPT = text(
    "update evolution_messages set send_attempted_at = :at,"
    " send_attempts = send_attempts + 1 where id = :id and status = 'queued'"
    " and key_id is null and send_attempted_at is not distinct from :seen returning id"
)
_ATTACH_KEY = text(
    "select final_status, echo_id, echo_mimetype, echo_path, parked"
    " from app.attach_sent_key(:id, :conversation_id, :instance_id, :key_id, :status)"
)
_ASIDE_MARKS = list(INBOX_ASIDE_MARKS)


async def load_outgoing(session: AsyncSession, message_id: uuid.UUID) -> dict[str, Any] | None:
    """Everything the send worker needs about a queued message, its chat and its instance."""
    rows = await driver_mappings(session, _LOAD_OUTGOING, {"id": message_id, "aside": _ASIDE_MARKS})
    return rows[0] if rows else None


async def record_attempt(
    session: AsyncSession, message_id: uuid.UUID, at: datetime, *, seen: datetime | None
) -> bool:
    """Note that a send is about to reach the gateway (committed before the call); False when
    the message moved on since the caller read it (`seen`: the attempt time it read)."""
    claimed = await driver_rows(
        session, _RECORD_ATTEMPT, {"id": message_id, "at": at, "seen": seen}
    )
    return bool(claimed)


async def find_echo(
    session: AsyncSession,
    conversation_id: uuid.UUID,
    *,
    message_type: str,
    body: str | None,
    caption: str | None,
    since: datetime,
) -> dict[str, Any] | None:
    """A `send.message` echo of our send stored as its own row (it beat the send response):
    same type and text, or same caption for media (whose body is empty)."""
    row = (
        await session.execute(
            text(
                "select id, key_id, status from evolution_messages"
                " where conversation_id = :conversation_id and from_me and sent_by is null"
                " and key_id is not null and type = :type and body is not distinct from :body"
                " and message_payload ->> 'caption' is not distinct from :caption"
                " and created_at >= :since order by created_at limit 1"
            ),
            {
                "conversation_id": conversation_id,
                "type": message_type,
                "body": body,
                "caption": caption,
                "since": since,
            },
        )
    ).first()
    return None if row is None else dict(row._mapping)


async def lock_conversation(session: AsyncSession, conversation_id: uuid.UUID) -> None:
    """Lock the conversation row first, as ingestion does (upsert_conversation), so that a
    webhook and the send worker touching the same chat queue up instead of deadlocking."""
    await driver_rows(
        session,
        text("select 1 from evolution_conversations where id = :id for update"),
        {"id": conversation_id},
    )


@dataclass(frozen=True, slots=True)
class FoldedEcho:
    """An echo row folded into our sent row, and the media file it may have had downloaded."""

    id: uuid.UUID
    media_mimetype: str | None
    media_path: str | None


@dataclass(frozen=True, slots=True)
class AttachedKey:
    """What `attach_key` did: the resulting status, the echo row folded away (None when there
    was none) and the updates parked under the key id until now (oldest first)."""

    final_status: str | None
    folded: FoldedEcho | None
    parked: list[tuple[str, dict[str, Any]]]


async def attach_key(
    session: AsyncSession,
    *,
    message_id: uuid.UUID,
    conversation_id: uuid.UUID,
    instance_id: uuid.UUID,
    key_id: str,
    status: str | None,
) -> AttachedKey:
    """Give our row its WhatsApp id, an echo row already holding that id folded into ours.

    The parked updates are taken off the parking table. One call of `app.attach_sent_key`
    (migration 0019: the key lock as ingestion takes it, then the chat's), inside the caller's
    transaction, so the unique (instance, key id) never sees two rows. No outbox entry: the
    send worker announces the send itself after the commit, and its job, acknowledged only
    then, is what brings the announcement back after a crash (sending.py rule 3).
    """
    ((final, echo_id, echo_mimetype, echo_path, parked),) = await driver_rows(
        session,
        _ATTACH_KEY,
        {
            "id": message_id,
            "conversation_id": conversation_id,
            "instance_id": instance_id,
            "key_id": key_id,
            "status": status,
        },
    )
    return AttachedKey(
        final_status=final,
        folded=FoldedEcho(echo_id, echo_mimetype, echo_path) if echo_id is not None else None,
        parked=[(kind, payload) for kind, payload in parked],
    )


# A message and its chat as `inbox.get_messages` and `inbox.get_conversations` read them (the
# chat in JSON), in one round trip.
_MESSAGE_AND_CHAT = text(
    f"select {MESSAGE_COLUMNS},"  # noqa: S608 - constants
    f" {conversation_json(where='where c.id = m.conversation_id')} as conversation"
    " from evolution_messages m where m.id = :id"
)


async def message_and_chat(session: AsyncSession, message_id: uuid.UUID) -> dict[str, Any] | None:
    """A message with the columns of `inbox.MESSAGE_COLUMNS` and `conversation`, its chat with
    those of `inbox.CONVERSATION_COLUMNS` in JSON; None when it does not exist."""
    rows = await driver_mappings(session, _MESSAGE_AND_CHAT, {"id": message_id})
    return rows[0] if rows else None


# The chat's latest message that counts in the inbox (the automatic lines queued with
# inbox=False do not: INBOX_ASIDE_MARKS) and its latest such outbound time.
_LATEST_IN_INBOX = text(
    "select m.id, m.type, m.body, m.message_payload ->> 'caption' as caption, m.status,"
    " m.from_me, m.message_timestamp, m.deleted_at is not null as deleted,"
    " (select max(o.message_timestamp) from evolution_messages o"
    "  where o.conversation_id = :id and o.from_me"
    "  and not o.message_payload ?| cast(:aside as text[])) as last_outbound_at"
    " from evolution_messages m"
    " where m.conversation_id = :id and not m.message_payload ?| cast(:aside as text[])"
    " order by m.message_timestamp desc, m.created_at desc limit 1"
)


async def latest_in_inbox(
    session: AsyncSession, conversation_id: uuid.UUID
) -> dict[str, Any] | None:
    """The chat's latest message that counts in the inbox, and its latest such outbound time."""
    rows = await driver_mappings(
        session, _LATEST_IN_INBOX, {"id": conversation_id, "aside": list(INBOX_ASIDE_MARKS)}
    )
    return rows[0] if rows else None


async def set_inbox_summary(
    session: AsyncSession, conversation_id: uuid.UUID, latest: dict[str, Any], preview: str
) -> None:
    """Point the chat's inbox fields at `latest` (see latest_in_inbox)."""
    await session.execute(
        text(
            "update evolution_conversations set last_message_id = :id,"
            " last_message_preview = :preview, last_message_status = :status,"
            " last_message_from_me = :from_me, last_message_at = :at,"
            " last_outbound_at = :last_outbound_at where id = :conversation_id"
        ),
        {
            "conversation_id": conversation_id,
            "id": latest["id"],
            "preview": preview,
            "status": latest["status"],
            "from_me": latest["from_me"],
            "at": latest["message_timestamp"],
            "last_outbound_at": latest["last_outbound_at"],
        },
    )


async def fail_message(
    session: AsyncSession, message_id: uuid.UUID, conversation_id: uuid.UUID, reason: str
) -> None:
    """Mark a send as failed with the reason people will read."""
    await lock_conversation(session, conversation_id)
    await session.execute(
        text(
            "update evolution_messages set status = 'ERROR', error_detail = :reason"
            " where id = :id and app.status_advances(status, 'ERROR')"
        ),
        {"id": message_id, "reason": reason[:500]},
    )
    await session.execute(
        text(
            "update evolution_conversations c set last_message_status = 'ERROR'"
            " from evolution_messages m where m.id = :id and c.id = m.conversation_id"
            " and c.last_message_id = m.id"
        ),
        {"id": message_id},
    )


async def failed_send(session: AsyncSession, message_id: uuid.UUID) -> dict[str, Any] | None:
    """What deciding on a retry needs of a message (None when RLS hides it or it is gone)."""
    row = (
        await session.execute(
            text(
                "select id, company_id, instance_id, conversation_id, from_me, status, key_id,"
                " outgoing is not null as ours from evolution_messages where id = :id"
            ),
            {"id": message_id},
        )
    ).first()
    return None if row is None else dict(row._mapping)


async def requeue_failed(
    session: AsyncSession, message_id: uuid.UUID, conversation_id: uuid.UUID, at: datetime
) -> bool:
    """Put a failed send of ours back in the queue with fresh bookkeeping; False when it is no
    longer a failed send without a WhatsApp id (a concurrent retry or a late acknowledgement).

    `send_attempted_at` is kept: it is the proof that an earlier attempt may have reached the
    gateway, which makes the worker look for that attempt's echo before sending again.
    """
    await lock_conversation(session, conversation_id)
    result = await session.execute(
        text(
            "update evolution_messages set status = 'queued', error_detail = null,"
            " send_attempts = 0, retried_at = :at"
            " where id = :id and from_me and outgoing is not null and status = 'ERROR'"
            " and key_id is null"
        ),
        {"id": message_id, "at": at},
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    await session.execute(
        text(
            "update evolution_conversations set last_message_status = 'queued'"
            " where id = :conversation_id and last_message_id = :id"
        ),
        {"conversation_id": conversation_id, "id": message_id},
    )
    return True


async def instance_in_company(
    session: AsyncSession, company_id: uuid.UUID, instance_id: uuid.UUID
) -> bool:
    """Whether the instance exists and belongs to the company."""
    result = await session.execute(
        text("select 1 from evolution_instances where id = :id and company_id = :company_id"),
        {"id": instance_id, "company_id": company_id},
    )
    return result.first() is not None


async def company_signs_messages(session: AsyncSession, company_id: uuid.UUID) -> bool:
    """Whether the company's agents' texts go out signed with their name."""
    result = await session.execute(
        text("select sign_messages from companies where id = :id"), {"id": company_id}
    )
    return bool(result.scalar())


async def assign_if_free(
    session: AsyncSession, conversation_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    """Give a new conversation to whoever started it, unless someone already has it."""
    await session.execute(
        text(
            "update evolution_conversations set assignee_id = :user_id"
            " where id = :id and assignee_id is null"
        ),
        {"id": conversation_id, "user_id": user_id},
    )


async def clear_unread(session: AsyncSession, conversation_id: uuid.UUID) -> int | None:
    """Zero a conversation's unread count; the count it had, or None when the caller cannot
    see it (RLS)."""
    result = await session.execute(
        text(
            "update evolution_conversations c set unread_count = 0"
            " from (select id, unread_count from evolution_conversations where id = :id"
            " for update) before where c.id = before.id returning before.unread_count"
        ),
        {"id": conversation_id},
    )
    row = result.first()
    return None if row is None else int(row[0])


async def unread_inbound_keys(
    session: AsyncSession, conversation_id: uuid.UUID, limit: int = 100
) -> list[dict[str, Any]]:
    """Keys of the newest inbound messages not yet marked read, for markMessageAsRead."""
    rows = await session.execute(
        text(
            "select id, key_id, remote_jid, sender_jid from evolution_messages"
            " where conversation_id = :id and not from_me and key_id is not null"
            " and status is distinct from 'READ' and status is distinct from 'PLAYED'"
            " order by message_timestamp desc limit :limit"
        ),
        {"id": conversation_id, "limit": limit},
    )
    return [dict(row._mapping) for row in rows]


async def mark_inbound_read(session: AsyncSession, message_ids: list[uuid.UUID]) -> None:
    """Record that we read these inbound messages."""
    await session.execute(
        text(
            "update evolution_messages set status = 'READ'"
            " where id = any(:ids) and app.status_advances(status, 'READ')"
        ),
        {"ids": message_ids},
    )


@dataclass(frozen=True, slots=True)
class WaitingSend:
    """A send still `queued` without a key id; `created_at` and `message_id` are its place in
    the walk over them (`queued_messages(after=...)`)."""

    message_id: uuid.UUID
    instance_id: uuid.UUID
    created_at: datetime


async def queued_messages(
    session: AsyncSession,
    *,
    instance_id: uuid.UUID | None = None,
    older_than: datetime | None = None,
    require_open: bool = True,
    after: WaitingSend | None = None,
    limit: int = 1000,
) -> list[WaitingSend]:
    """Sends still waiting for their instance or a worker, oldest first; `after` continues
    a walk past the last one of the previous page."""
    clauses = ["m.status = 'queued'", "m.key_id is null"]
    if require_open:
        clauses.append("i.connection_state = 'open'")
    params: dict[str, Any] = {"limit": limit}
    if instance_id is not None:
        clauses.append("m.instance_id = :instance_id")
        params["instance_id"] = instance_id
    if older_than is not None:
        clauses.append("coalesce(m.retried_at, m.created_at) < :older_than")
        params["older_than"] = older_than
    if after is not None:
        clauses.append("(m.created_at, m.id) > (:after_at, :after_id)")
        params["after_at"] = after.created_at
        params["after_id"] = after.message_id
    sql = (
        "select m.id, m.instance_id, m.created_at from evolution_messages m"  # noqa: S608 - constant clauses
        " join evolution_instances i on i.id = m.instance_id where "
        + " and ".join(clauses)
        + " order by m.created_at, m.id limit :limit"
    )
    rows = await session.execute(text(sql), params)
    return [WaitingSend(row[0], row[1], row[2]) for row in rows]


async def expire_held(session: AsyncSession, older_than: datetime) -> int:
    """Fail sends that waited too long for a disconnected instance."""
    result = await session.execute(
        text(
            "update evolution_messages set status = 'ERROR',"
            " error_detail = 'a instância do WhatsApp ficou desconectada por tempo demais'"
            " where status = 'queued' and key_id is null"
            " and coalesce(retried_at, created_at) < :older_than"
        ),
        {"older_than": older_than},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def set_own_reaction(
    session: AsyncSession, message_id: uuid.UUID, emoji: str, at: datetime
) -> None:
    """Our reaction (reactor "me", as ingestion records the echo); empty removes it."""
    await session.execute(
        text(
            "update evolution_messages set reactions = case when cast(:emoji as text) = ''"
            " then reactions - 'me'"
            " else reactions || jsonb_build_object('me', jsonb_build_object("
            "   'emoji', cast(:emoji as text), 'at', cast(:at as timestamptz))) end"
            " where id = :id"
        ),
        {"id": message_id, "emoji": emoji, "at": at},
    )


async def reaction_target(session: AsyncSession, message_id: uuid.UUID) -> dict[str, Any] | None:
    """What sendReaction needs of the message it reacts to."""
    row = (
        await session.execute(
            text(
                "select m.key_id, m.remote_jid, m.from_me, m.sender_jid, m.instance_id"
                " from evolution_messages m where m.id = :id"
            ),
            {"id": message_id},
        )
    ).first()
    return None if row is None else dict(row._mapping)
