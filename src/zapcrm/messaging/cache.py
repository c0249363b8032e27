"""Redis caches of conversations and messages (DESIGN.md §7); Postgres stays the truth.

Keys: `evolution:message:<id>` holds a message's JSON snapshot;
`evolution:conversation:<id>:messages` is a sorted set of the newest message ids by time, and
`...:messages:complete` says a reader filled it from Postgres, so a page read from it is whole.
No snapshot of a chat is kept: the inbox reads chats from Postgres, and the snapshot DESIGN.md
§7 named (`evolution:conversation:<id>`) was written twice a send and read nowhere.
Every key has a TTL; the worker writes through after each change. An announcement of a change
may carry the message and its chat as they were committed (`copies`): the worker then writes
and publishes those instead of reading them again.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import orjson
from pydantic import ValidationError
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from zapcrm.messaging.schemas import (
    AUTOMATIC_MARKS,
    ContactBrief,
    ConversationOut,
    MediaOut,
    MessageOut,
)

SNAPSHOT_TTL_SECONDS = 3600
# The API serves up to 100 messages a page and looks one ahead to know if more exist.
PAGE_SIZE = 101


# What of a message's normalized payload the API and the panel show, besides its body: the
# automatic marks say which automation sent it (the panel labels the bubble), and
# `survey_rating` is the grade a customer's message gave the satisfaction survey.
_DETAILS = (
    "caption",
    "location",
    "contacts",
    "poll",
    "quoted",
    "mentions",
    *AUTOMATIC_MARKS,
    "survey_rating",
)


def message_key(message_id: uuid.UUID | str) -> str:
    """Key of a message snapshot."""
    return f"evolution:message:{message_id}"


def page_key(conversation_id: uuid.UUID | str) -> str:
    """Key of a conversation's latest-messages page."""
    return f"evolution:conversation:{conversation_id}:messages"


def page_complete_key(conversation_id: uuid.UUID | str) -> str:
    """Marker that the page holds every one of the newest messages."""
    return f"evolution:conversation:{conversation_id}:messages:complete"


def session_key(instance_id: uuid.UUID | str) -> str:
    """Key of an instance's connection state."""
    return f"evolution:session:{instance_id}"


def qrcode_key(instance_id: uuid.UUID | str) -> str:
    """Key of an instance's latest pairing QR code."""
    return f"evolution:qrcode:{instance_id}"


# Where an announcement (changes.message_changed) carries the message and its chat, as the API
# shows them.
CARRIED_MESSAGE_FIELD = "message"
CARRIED_CONVERSATION_FIELD = "conversation"
Carried = TypeVar("Carried", MessageOut, ConversationOut)


def copies(message: MessageOut, conversation: ConversationOut | None) -> dict[str, Any]:
    """The fields with which an announcement carries the message and its chat (when known)
    as they are once the writer's transaction commits.

    Only a writer that changes neither again before its commit may send them, and only with
    the publication right after the commit (outbox.OutboxItem.after_commit): the incoming
    worker writes these copies and publishes them as they are, and a copy older than what was
    committed would stay in the cache until its TTL. A copy that only turns out older than
    another one (a later change's) is harmless: the newer version wins in the cache and in
    the panel."""
    fields = {CARRIED_MESSAGE_FIELD: message.model_dump(mode="json")}
    if conversation is not None:
        fields[CARRIED_CONVERSATION_FIELD] = conversation.model_dump(mode="json")
    return fields


def carried_message(payload: Mapping[str, Any]) -> MessageOut | None:
    """The message an announcement carries, or None (the worker reads it)."""
    return _carried(payload, CARRIED_MESSAGE_FIELD, MessageOut)


def carried_conversation(payload: Mapping[str, Any]) -> ConversationOut | None:
    """The chat an announcement carries, or None (the worker reads it)."""
    return _carried(payload, CARRIED_CONVERSATION_FIELD, ConversationOut)


def _carried(payload: Mapping[str, Any], field: str, model: type[Carried]) -> Carried | None:
    document = payload.get(field)
    if not isinstance(document, dict):
        return None
    try:
        return model.model_validate(document)
    except ValidationError:
        return None  # not a copy this release can read: Postgres still answers


def message_and_chat_out(row: Mapping[str, Any]) -> tuple[MessageOut, ConversationOut | None]:
    """A message row with its chat in JSON (`conversation`, None when absent), as the API
    shows both: what `copies` takes."""
    chat = row["conversation"]
    return message_out(row), None if chat is None else conversation_out(chat)


def message_out(row: Mapping[str, Any]) -> MessageOut:
    """A message row (from the inbox repository) as the API shows it."""
    media = None
    if row["media_mimetype"] or row["media_status"]:
        media = MediaOut(
            mimetype=row["media_mimetype"],
            file_name=row["media_file_name"],
            size=row["media_size"],
            status=row["media_status"],
        )
    payload = row["message_payload"] or {}
    details = {key: payload[key] for key in _DETAILS if key in payload}
    return MessageOut(
        id=row["id"],
        conversation_id=row["conversation_id"],
        key_id=row["key_id"],
        from_me=row["from_me"],
        sender_jid=row["sender_jid"],
        push_name=row["push_name"],
        type=row["type"],
        body=row["body"],
        status=row["status"],
        message_timestamp=row["message_timestamp"],
        quoted_key_id=row["quoted_key_id"],
        media=media,
        reactions=row["reactions"] or {},
        edited_at=row["edited_at"],
        deleted_at=row["deleted_at"],
        error_detail=row["error_detail"],
        details=details,
        version=row["version"],
    )


def conversation_out(row: Mapping[str, Any]) -> ConversationOut:
    """A conversation row (with its contact columns) as the API shows it."""
    contact = None
    if row["contact_id"] is not None:
        contact = ContactBrief(
            id=row["contact_id"], name=row["contact_name"], phone_e164=row["contact_phone"]
        )
    return ConversationOut(
        id=row["id"],
        instance_id=row["instance_id"],
        remote_jid=row["remote_jid"],
        is_group=row["is_group"],
        subject=row["subject"],
        status=row["status"],
        assignee_id=row["assignee_id"],
        contact=contact,
        last_message_id=row["last_message_id"],
        last_message_preview=row["last_message_preview"],
        last_message_at=row["last_message_at"],
        last_message_status=row["last_message_status"],
        last_message_from_me=row["last_message_from_me"],
        unread_count=row["unread_count"],
        updated_at=row["updated_at"],
        version=row["version"],
        snoozed_until=row["snoozed_until"],
        department_id=row["department_id"],
        department_name=row["department_name"],
    )


# Several batches write snapshots at once (worker consumers, readers filling a page), so an
# older read can arrive last: a snapshot is written only when its row version is not lower than
# the stored one. Redis has no compare-on-a-JSON-field command, hence these scripts. A message
# that no longer exists leaves a tombstone with the highest version for the snapshot's TTL.
_NEWER_OR_EQUAL = """
local current = redis.call('GET', KEYS[1])
if current then
  local ok, stored = pcall(cjson.decode, current)
  if ok and type(stored) == 'table' and tonumber(stored['version'])
      and tonumber(stored['version']) > tonumber(ARGV[2]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
"""
_WRITE_MESSAGE = (
    _NEWER_OR_EQUAL
    + """
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[4])
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(tonumber(ARGV[6]) + 1))
redis.call('EXPIRE', KEYS[2], ARGV[3])
redis.call('EXPIRE', KEYS[3], ARGV[3])
return 1
"""
)
TOMBSTONE_VERSION = 2**53 - 1  # above any row version; exact in Lua's doubles
_TOMBSTONE = orjson.dumps({"gone": True, "version": TOMBSTONE_VERSION})


def write_message(pipe: Pipeline, message: MessageOut) -> None:
    """Queue the message snapshot and its place in its page, unless a newer one is stored."""
    pipe.eval(
        _WRITE_MESSAGE,
        3,
        message_key(message.id),
        page_key(message.conversation_id),
        # The marker must never outlive the page it vouches for.
        page_complete_key(message.conversation_id),
        message.model_dump_json(),
        message.version,
        SNAPSHOT_TTL_SECONDS,
        str(message.id),
        message.message_timestamp.timestamp(),
        PAGE_SIZE,
    )


def forget_message(
    pipe: Pipeline, conversation_id: uuid.UUID | str, message_id: uuid.UUID | str
) -> None:
    """Drop a message that no longer exists (an echo folded into our sent row) for good."""
    pipe.set(message_key(message_id), _TOMBSTONE, ex=SNAPSHOT_TTL_SECONDS)
    pipe.zrem(page_key(conversation_id), str(message_id))


def forget_page(pipe: Pipeline, conversation_id: uuid.UUID | str) -> None:
    """Drop a page whose messages changed conversation (a lid chat folded into a phone one)."""
    pipe.delete(page_key(conversation_id), page_complete_key(conversation_id))


async def read_page(
    redis: Redis, conversation_id: uuid.UUID, limit: int
) -> list[MessageOut] | None:
    """The newest `limit` messages from the cache, or None when it cannot answer whole."""
    if limit > PAGE_SIZE:
        return None
    async with redis.pipeline(transaction=False) as pipe:
        pipe.exists(page_complete_key(conversation_id))
        pipe.zrevrange(page_key(conversation_id), 0, limit - 1)
        complete, ids = await pipe.execute()
    if not complete:
        return None
    if not ids:
        return []
    snapshots = await redis.mget([message_key(message_id) for message_id in ids])
    messages = []
    for snapshot in snapshots:
        document = orjson.loads(snapshot) if snapshot is not None else None
        if document is None or document.get("gone"):
            return None
        messages.append(MessageOut.model_validate(document))
    return messages


async def fill_page(
    redis: Redis, conversation_id: uuid.UUID, messages: Sequence[MessageOut], *, whole: bool
) -> None:
    """Store a page read from Postgres; mark it complete when it holds the newest messages."""
    async with redis.pipeline(transaction=False) as pipe:
        for message in messages:
            write_message(pipe, message)
        if whole:
            pipe.set(page_complete_key(conversation_id), "1", ex=SNAPSHOT_TTL_SECONDS)
        await pipe.execute()
