"""Queue handlers of the messaging domain.

`evolution:incoming-messages` (from the webhook's and the requests' outboxes): refresh the Redis
snapshots and the conversation page, publish the live event (messages, conversations, private
notes, tasks, instances), queue media downloads. `evolution:media-sync`: store media bytes (from the
payload's base64) and strip them from `raw_payload`.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import httpx
import orjson
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from zapcrm.db import Database
from zapcrm.evolution.client import EvolutionClient
from zapcrm.evolution.credentials import CredentialBox, CredentialError
from zapcrm.evolution.errors import GatewayError, GatewayUnavailable
from zapcrm.evolution.repository import gateway_access
from zapcrm.kit.ids import uuid_or_none
from zapcrm.logging import get_logger
from zapcrm.messaging import cache, realtime
from zapcrm.messaging.changes import FOLDED_MESSAGE_FIELD, message_changed
from zapcrm.messaging.held import held_jobs
from zapcrm.messaging.media import MediaStorage
from zapcrm.messaging.repository import get_conversations, get_messages, notes
from zapcrm.messaging.repository import media as media_repo
from zapcrm.messaging.schemas import ConversationOut, MessageOut, NoteOut
from zapcrm.outbox import OutboxPublisher, record
from zapcrm.worker import Job, PermanentJobError, enqueue_many

log = get_logger(__name__)

MEDIA_STREAM = "evolution:media-sync"
QRCODE_TTL_SECONDS = 60
SESSION_TTL_SECONDS = 3600


class IncomingHandler:
    """Batch handler for `evolution:incoming-messages`: caches, live events, media queue."""

    def __init__(self, db: Database, redis: Redis) -> None:
        self.db = db
        self.redis = redis

    async def __call__(self, jobs: Sequence[Job]) -> Mapping[str, BaseException]:
        """Handle a batch; everything is idempotent, so a retried batch does no harm."""
        # Copies an announcement carries (cache.copies) stand in for reads on its first
        # delivery, right after its commit; a retried or redelivered one may come after the
        # cache lost a newer copy (TTL, eviction), so it reads. Any other entry naming the same
        # row has it read, and the newest version of each row is used.
        messages: dict[uuid.UUID, MessageOut] = {}
        conversations: dict[uuid.UUID, ConversationOut] = {}
        message_ids: set[uuid.UUID] = set()
        conversation_ids: set[uuid.UUID] = set()
        for job in jobs:
            kind = job.payload.get("kind")
            fresh = job.attempt == 0
            if kind == "message" and (mid := uuid_or_none(job.payload.get("message_id"))):
                carried = cache.carried_message(job.payload) if fresh else None
                if carried is not None and carried.id == mid:
                    _keep_newest(messages, carried)
                else:
                    message_ids.add(mid)
            if kind in ("message", "conversation", "note", "task") and (
                cid := uuid_or_none(job.payload.get("conversation_id"))
            ):
                chat = (
                    cache.carried_conversation(job.payload) if fresh and kind == "message" else None
                )
                if chat is not None and chat.id == cid:
                    _keep_newest(conversations, chat)
                else:
                    conversation_ids.add(cid)
        note_ids = {
            nid for job in jobs if job.payload.get("kind") == "note"
            if (nid := uuid_or_none(job.payload.get("note_id"))) is not None
        }  # fmt: skip
        note_rows: Sequence[Mapping[str, Any]] = []
        if message_ids or conversation_ids or note_ids:
            # Each snapshot carries its own version (the cache keeps the newest), so the reads
            # need no common snapshot: no transaction around them.
            async with self.db.autocommit_session() as session:
                message_rows = await get_messages(session, sorted(message_ids))
                conversation_rows = await get_conversations(session, sorted(conversation_ids))
                note_rows = await notes.get_notes(session, sorted(note_ids))
            for row in message_rows:
                _keep_newest(messages, cache.message_out(row))
            for row in conversation_rows:
                _keep_newest(conversations, cache.conversation_out(row))
        notes_by_id = {row["id"]: NoteOut(**row) for row in note_rows}
        media_jobs: list[tuple[str, Mapping[str, Any]]] = []
        reconnected: list[uuid.UUID] = []

        async with self.redis.pipeline(transaction=False) as pipe:
            # The chats are read for the events only: no snapshot of a chat is kept (nothing
            # read one; the inbox list comes from Postgres).
            for message in messages.values():
                cache.write_message(pipe, message)
            for job in jobs:
                self._announce(
                    pipe,
                    job.payload,
                    messages,
                    conversations,
                    notes_by_id,
                    media_jobs,
                    reconnected,
                )
            await pipe.execute()
        for instance_id in reconnected:
            # Sends held while the instance was away go out now (sending.py rule 4); the other
            # queued ones still have their job (held.py).
            media_jobs += await held_jobs(self.db, self.redis, instance_id)
        if media_jobs:
            await enqueue_many(self.redis, media_jobs)
        return {}

    def _announce(
        self,
        pipe: Pipeline,
        payload: Mapping[str, Any],
        messages: Mapping[uuid.UUID, MessageOut],
        conversations: Mapping[uuid.UUID, ConversationOut],
        notes_by_id: Mapping[uuid.UUID, NoteOut],
        media_jobs: list[tuple[str, Mapping[str, Any]]],
        reconnected: list[uuid.UUID],
    ) -> None:
        kind = payload.get("kind")
        channel = realtime.channel_for(str(payload.get("company_id", "")))
        if kind == "message":
            message_id = uuid_or_none(payload.get("message_id"))
            message = messages.get(message_id) if message_id else None
            if message is None:
                return  # deleted since: nothing to announce
            _publish_message(
                pipe,
                channel,
                message,
                conversations.get(message.conversation_id),
                change=str(payload.get("change", "updated")),
                # Only in a "sent" entry an earlier release wrote to the outbox: the send
                # worker now announces its sends itself (announce_message).
                folded_message_id=payload.get(FOLDED_MESSAGE_FIELD),
            )
            if payload.get("media") and payload.get("change") == "created":
                media_jobs.append((MEDIA_STREAM, {"message_id": str(message.id)}))
            if new_contact := payload.get("new_contact_id"):
                # A first message from a number: the person is new on the funnel boards too.
                _publish_contact(
                    pipe, channel, "created", {"contact_id": new_contact, "actor_id": None}
                )
        elif kind == "conversation":
            conversation_id = uuid_or_none(payload.get("conversation_id"))
            if payload.get("change") == "folded":
                cache.forget_page(pipe, str(conversation_id))
            snapshot = conversations.get(conversation_id) if conversation_id else None
            if snapshot is not None:
                conversation_data: dict[str, Any] = {
                    "conversation": snapshot.model_dump(mode="json")
                }
                if assigned_by := payload.get("assigned_by"):
                    conversation_data["assigned_by"] = str(assigned_by)  # a transfer, by whom
                if payload.get("distributed"):
                    conversation_data["distributed"] = True  # handed out by the distributor
                if routed_by := payload.get("routed_by"):
                    conversation_data["routed_by"] = str(routed_by)  # sent to a department
                pipe.publish(
                    channel,
                    realtime.encode_event(
                        "conversation.updated",
                        conversation_id=snapshot.id,
                        assignee_id=snapshot.assignee_id,
                        department_id=snapshot.department_id,
                        data=conversation_data,
                    ),
                )
        elif kind == "note":
            note_id = uuid_or_none(payload.get("note_id"))
            note = notes_by_id.get(note_id) if note_id else None
            conversation_id = uuid_or_none(payload.get("conversation_id"))
            conversation = conversations.get(conversation_id) if conversation_id else None
            change = str(payload.get("change", "created"))
            # Without its conversation the audience (its assignee) is unknown: say nothing
            # rather than tell every operator. A note gone since is announced only as deleted.
            if conversation is None or note_id is None or (note is None and change != "deleted"):
                return
            note_data: dict[str, Any] = (
                {"note_id": str(note_id)}
                if note is None
                else {"note": note.model_dump(mode="json")}
            )
            mentioned = payload.get("mentioned")
            if note is not None and isinstance(mentioned, list):
                note_data["mentioned"] = [str(user_id) for user_id in mentioned]
            pipe.publish(
                channel,
                realtime.encode_event(
                    f"note.{'deleted' if note is None else change}",
                    conversation_id=conversation.id,
                    assignee_id=conversation.assignee_id,
                    department_id=conversation.department_id,
                    data=note_data,
                ),
            )
        elif kind == "task":
            # Ids only: each page fetches its tasks again under RLS (tasks/live.py). The
            # conversation's assignee, read now, decides who sees an unassigned task.
            conversation_id = uuid_or_none(payload.get("conversation_id"))
            conversation = conversations.get(conversation_id) if conversation_id else None
            fields = ("task_id", "assignee_id", "previous_assignee_id", "created_by", "actor_id")
            task_data: dict[str, Any] = {name: payload.get(name) for name in fields}
            task_data["change"] = str(payload.get("change", "updated"))
            task_data["conversation_id"] = None if conversation is None else str(conversation.id)
            task_data["conversation_assignee_id"] = (
                None
                if conversation is None or conversation.assignee_id is None
                else str(conversation.assignee_id)
            )
            pipe.publish(
                channel, realtime.encode_event(f"task.{task_data['change']}", data=task_data)
            )
        elif kind == "contact":
            contact_data = {name: payload.get(name) for name in ("contact_id", "actor_id")}
            _publish_contact(pipe, channel, str(payload.get("change", "updated")), contact_data)
        elif kind == "instance":
            instance_id = str(payload.get("instance_id"))
            state = str(payload.get("state"))
            pipe.set(cache.session_key(instance_id), state, ex=SESSION_TTL_SECONDS)
            event = realtime.encode_event("instance.state", audience="supervisors", data=payload)
            pipe.publish(channel, event)
            if state == "open":
                reconnected.append(uuid.UUID(instance_id))
        elif kind == "qrcode":
            instance_id = str(payload.get("instance_id"))
            qrcode = orjson.dumps(dict(payload)).decode()
            pipe.set(cache.qrcode_key(instance_id), qrcode, ex=QRCODE_TTL_SECONDS)
            event = realtime.encode_event("instance.qrcode", audience="admins", data=payload)
            pipe.publish(channel, event)
        else:
            log.warning("incoming.unknown_kind", kind=str(kind)[:50])


def _publish_message(
    pipe: Pipeline,
    channel: str,
    message: MessageOut,
    conversation: ConversationOut | None,
    *,
    change: str,
    folded_message_id: object = None,
) -> None:
    """Queue `message.<change>` with the message and its chat; a folded echo leaves the page."""
    data: dict[str, Any] = {"message": message.model_dump(mode="json")}
    if folded_message_id:
        # The gateway's echo beat the send response and was shown as its own message; it is
        # now part of this one (sending.py rule 3): clients drop it.
        cache.forget_message(pipe, message.conversation_id, str(folded_message_id))
        data[FOLDED_MESSAGE_FIELD] = str(folded_message_id)
    if conversation is not None:
        data["conversation"] = conversation.model_dump(mode="json")
    pipe.publish(
        channel,
        realtime.encode_event(
            f"message.{change}",
            conversation_id=message.conversation_id,
            assignee_id=conversation.assignee_id if conversation else None,
            department_id=conversation.department_id if conversation else None,
            data=data,
        ),
    )


async def announce_message(
    redis: Redis,
    company_id: uuid.UUID,
    message: MessageOut,
    conversation: ConversationOut | None,
    *,
    change: str,
    folded_message_id: uuid.UUID | None = None,
) -> None:
    """Do for a committed change of a message what the incoming worker does for its
    announcement (cache it, publish `message.<change>`), in one round trip and without the
    stream: for a writer whose own queue job, acknowledged after this, is what repeats it
    after a crash (the send worker's "sent", sending.py rule 3). `message` and `conversation`
    must be as committed, like the copies an announcement carries (cache.copies)."""
    async with redis.pipeline(transaction=False) as pipe:
        cache.write_message(pipe, message)
        _publish_message(
            pipe,
            realtime.channel_for(str(company_id)),
            message,
            conversation,
            change=change,
            folded_message_id=folded_message_id,
        )
        await pipe.execute()


Snapshot = TypeVar("Snapshot", MessageOut, ConversationOut)


def _keep_newest(snapshots: dict[uuid.UUID, Snapshot], snapshot: Snapshot) -> None:
    """Keep `snapshot` unless a newer copy of the same row is already kept."""
    kept = snapshots.get(snapshot.id)
    if kept is None or kept.version <= snapshot.version:
        snapshots[snapshot.id] = snapshot


def _publish_contact(pipe: Pipeline, channel: str, change: str, data: dict[str, Any]) -> None:
    """`contact.<change>`, ids only: a funnel board reads the card again under RLS
    (contacts/live.py); `bulk` (many contacts at once) names none."""
    if change == "bulk":
        data["bulk"] = True
    pipe.publish(channel, realtime.encode_event(f"contact.{change}", data=data))


class MediaHandler:
    """Per-job handler for `evolution:media-sync`."""

    def __init__(
        self,
        db: Database,
        storage: MediaStorage,
        http: httpx.AsyncClient,
        credentials: CredentialBox,
        outbox: OutboxPublisher,
    ) -> None:
        self.db = db
        self.storage = storage
        self.http = http
        self.credentials = credentials
        self.outbox = outbox

    async def __call__(self, job: Job) -> None:
        """Save a message's media once; later runs find it stored and do nothing."""
        message_id = uuid_or_none(job.payload.get("message_id"))
        if message_id is None:
            raise PermanentJobError("media job without a valid message_id")
        async with self.db.service_session() as session:
            row = await media_repo.media_source(session, message_id)
        if row is None or row.media_status == "stored":
            return
        if row.encoded:
            try:
                data = base64.b64decode(row.encoded.split(",", 1)[-1], validate=True)
            except (binascii.Error, ValueError):
                await self._mark(message_id, "failed", None)
                raise PermanentJobError("media base64 is not valid") from None
        else:
            # Webhook base64 is off (or needs a reconnect, §1.8): ask the gateway for the bytes.
            data = await self._download(message_id, row.instance_id, row.key_id)
        key = await self.storage.save(row.company_id, message_id, data, row.media_mimetype)
        if not await self._mark(message_id, "stored", key):
            # The row went while we downloaded (an echo folded into our own send): no orphan.
            await self.storage.delete(row.company_id, message_id, row.media_mimetype)
            return
        log.info("media.stored", message_id=str(message_id), size=len(data))

    async def _download(
        self, message_id: uuid.UUID, instance_id: uuid.UUID, key_id: str | None
    ) -> bytes:
        async with self.db.service_session() as session:
            access = await gateway_access(session, instance_id)
        sealed = access[2] if access else None
        if access is None or sealed is None or not key_id:
            await self._mark(message_id, "failed", None)
            raise PermanentJobError("no gateway credential for this instance")
        name, server_url, _ = access
        try:
            token = self.credentials.open(sealed)
        except CredentialError:
            await self._mark(message_id, "failed", None)
            raise PermanentJobError("the instance credential cannot be decrypted") from None
        client = EvolutionClient(self.http, server_url=server_url, instance=name, token=token)
        try:
            download = await client.media_base64(key_id)
        except GatewayUnavailable:
            raise  # transient: the runtime retries with backoff
        except GatewayError as error:
            await self._mark(message_id, "failed", None)
            raise PermanentJobError(f"gateway refused the media: {error.reason}") from None
        return download.data

    async def _mark(self, message_id: uuid.UUID, status: str, key: str | None) -> bool:
        """Record the media status and announce it; False when the message no longer exists.

        Announced like any change of the message: the incoming worker refreshes its cached
        copies and open chats redraw the bubble, which showed "📷 Imagem" until then (a
        cached page kept saying so until its TTL ran out)."""
        async with self.db.service_session() as session:
            row = await media_repo.mark_media(session, message_id, status, key)
            if row is None:
                return False
            change = message_changed(
                company_id=row.company_id,
                conversation_id=row.conversation_id,
                message_id=message_id,
                change="media",
            )
            entries = await record(session, row.company_id, [change])
        await self.outbox.publish(entries)
        return True
