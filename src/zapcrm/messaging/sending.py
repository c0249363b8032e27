"""The send worker: one queued message to the gateway, exactly once as far as the customer sees.

Rules (issue 4, "at-least-once must not mean twice"):
1. A message leaves the queue only while it is `queued` and has no WhatsApp key id. Texts,
   media files and voice notes take the same path (gateway_calls.py builds the call).
2. The attempt is recorded (committed) BEFORE the gateway is called, as a compare-and-set on
   the attempt time this worker saw, inside the instance's send turn (pacing.py: one send at a
   time per instance across workers, paced by SEND_MIN_INTERVAL_MS). If a worker finds an
   attempt already recorded, it may have died during the call: it first looks for the
   gateway's `send.message` echo of that message (same type and text or caption) in the
   conversation and adopts it; only when no echo came for ECHO_GRACE does it send again. The
   residual risk is a gateway that accepted the send but never echoed it within that time.
3. The send response's key id is attached to our row; an echo that beat the response to the
   database is folded into our row in the same transaction (unique (instance, key id)). After
   the commit the worker itself caches the message and publishes `message.sent` (no outbox
   row, no incoming-stream entry); its job is acknowledged only after that, so a job delivered
   again that finds the key attached announces it again.
4. Timeouts, connection errors, 5xx and 429 are retried with backoff up to MAX_AGE; any other
   gateway refusal fails the message at once with the gateway's reason. A number that is not on
   WhatsApp fails without a send. A disconnected instance holds its sends (they stay queued,
   no attempt is spent) until it reconnects, up to HOLD_LIMIT; then they fail.
5. A failed send retried by a person (service/outbound.py `retry`) is the same row queued again
   only while it has no key id; its attempt counter and time limits start over, but its last
   attempt time stays, so rule 2 still looks for that attempt's echo before sending again. The
   job asks for a fresh number check: a cached "not on WhatsApp" may be what it failed on.
6. A 401 from the gateway (number check, connection state or send) means the instance's token
   was rotated on the server: the worker syncs the server's tokens (rotation.py, at most once
   per server per interval) and tries again when the stored token changed; otherwise (no
   global key, same token) the message fails at once instead of burning its retries.
7. A server that cannot be reached, or an instance whose calls its server takes and never
   answers, is left alone for a growing wait (reachability.py): its jobs are deferred past it
   without a call and one probe goes out when it ends, so dead servers and stuck instances do
   not keep every handler waiting on timeouts. A deferral spends no attempt (DeferJob), nor
   do waits for the instance's send turn, for a number-check slot or for an echo (rule 2):
   only MAX_AGE ends a send waiting for its server, and a read or reaction job goes to the
   dead letters after the same age.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.contacts.repository import identity as identity_repo
from zapcrm.evolution.client import EvolutionClient, NumberCheck
from zapcrm.evolution.credentials import CredentialBox, CredentialError
from zapcrm.evolution.errors import (
    NOT_ON_WHATSAPP,
    GatewayError,
    GatewayUnauthorized,
    GatewayUnavailable,
)
from zapcrm.evolution.repository import gateway_access, record_connection
from zapcrm.evolution.rotation import resync_for_send
from zapcrm.logging import get_logger
from zapcrm.messaging import cache
from zapcrm.messaging.changes import message_changed
from zapcrm.messaging.gateway_calls import UnsendableMessage, call_for
from zapcrm.messaging.held import (
    SWEEP_PER_ROUND,
    mark_held,
    not_requeued_lately,
    send_jobs,
    sweep_waiting,
    unmark_held,
)
from zapcrm.messaging.jobs import announce_message
from zapcrm.messaging.labels import DELETED_PREVIEW, preview_of
from zapcrm.messaging.media import build_media_storage
from zapcrm.messaging.pacing import InstanceBusy, SendGate
from zapcrm.messaging.reachability import Passage, ServerReachability
from zapcrm.messaging.repository import apply_status, outbound
from zapcrm.outbox import OutboxItem, record
from zapcrm.runtime import Runtime
from zapcrm.worker import DeferJob, Job, PermanentJobError, RetryJobLater, enqueue_many

log = get_logger(__name__)

ECHO_GRACE = timedelta(seconds=30)
HOLD_LIMIT = timedelta(hours=1)
MAX_AGE = timedelta(minutes=15)
TOO_LONG_UNAVAILABLE = "a Evolution API ficou indisponível por tempo demais"
NUMBER_CACHE_SECONDS = 7 * 86400
NUMBER_CHECKS_PER_MINUTE = 30  # bulk lookups get numbers flagged: keep them slow
# The sweeper (requeue_held) queues a waiting send again at most this often.
REQUEUE_AGAIN_AFTER = timedelta(minutes=5)


def _age(since: datetime) -> timedelta:
    return datetime.now(UTC) - since


def _checked_digits(row: dict[str, Any]) -> str | None:
    """The number a send's target is checked under; None for groups and @lid chats."""
    remote_jid: str = row["remote_jid"]
    if row["is_group"] or not remote_jid.endswith("@s.whatsapp.net"):
        return None
    return remote_jid.split("@", 1)[0]


def _number_key(row: dict[str, Any], digits: str) -> str:
    """Where the number check's answer for this instance is cached."""
    return f"evolution:numbers:{row['instance_id']}:{digits}"


class OutgoingHandler:
    """Per-job handler of `evolution:outgoing-messages` (ordered by instance)."""

    def __init__(self, runtime: Runtime, credentials: CredentialBox) -> None:
        self.runtime = runtime
        self.credentials = credentials
        self.storage = build_media_storage(runtime.settings)
        self.gate = SendGate(runtime.redis, min_interval_ms=runtime.settings.send_min_interval_ms)
        self.servers = ServerReachability(runtime.redis)

    async def __call__(self, job: Job) -> None:
        """Send one queued message (see the module rules), or mark a chat read."""
        if job.payload.get("kind") == "read":
            await self._read(job)
            return
        if job.payload.get("kind") == "reaction":
            await self._react(job)
            return
        try:
            message_id = uuid.UUID(str(job.payload.get("message_id")))
        except ValueError:
            raise PermanentJobError("send job without a valid message_id") from None
        async with self.runtime.db.autocommit_session() as session:
            row = await outbound.load_outgoing(session, message_id)
        if row is not None and row["key_id"] and job.attempt > 0:
            # An earlier run may have attached the key and died (or lost Redis) before its
            # announcement, which nothing else would repeat (rule 3): announce it again.
            await self._announce_again(row)
            return
        if row is None or row["status"] != "queued" or row["key_id"]:
            return
        try:
            await self._send(job, row)
        except GatewayUnauthorized as error:
            await self._unauthorized(row, error)

    async def _send(self, job: Job, row: dict[str, Any]) -> None:
        """Rules 1-4 and 7 of the module docstring for one queued message."""
        if row["send_attempted_at"] is not None and await self._adopt_echo(row):
            return
        digits = _checked_digits(row)
        # The number check's cached answer comes in the round trip that asks for passage.
        passage = await self._passage(
            job,
            row["server_url"],
            row["external_id"],
            row["queued_at"],
            read=None if digits is None else _number_key(row, digits),
        )
        if passage is None:
            await self._fail(row, TOO_LONG_UNAVAILABLE)
            return
        try:
            await self._send_now(job, row, passage.read)
        finally:
            if passage.probe:
                await self.servers.release(passage.probe)

    async def _send_now(self, job: Job, row: dict[str, Any], cached_number: str | None) -> None:
        """Rules 1-4 once the instance's server may be called (rule 7); `cached_number`: the
        number check's cached answer, read with the passage."""
        message_id: uuid.UUID = row["id"]
        if row["connection_state"] != "open":
            # Marked before the live check, so a reconnection in between still queues it.
            await mark_held(self.runtime.redis, message_id, HOLD_LIMIT)
            if not await self._live_open(row):
                # Held, without burning attempts: the message stays queued and is queued again
                # when the instance's connection.update says open (IncomingHandler) or by the
                # sweeper.
                log.info("send.held", message_id=str(message_id), state=row["connection_state"])
                return
            await unmark_held(self.runtime.redis, message_id)
        target = await self._target(
            row, cached_number, recheck=bool(job.payload.get("recheck_number"))
        )
        if target is None:
            return
        token = self._token(row)
        if token is None:
            await self._fail(row, "a instância não tem credencial para enviar")
            return
        try:
            call = await call_for(row, self.storage)
        except UnsendableMessage as error:
            await self._fail(row, str(error))
            return
        client = self._client(row, token)
        try:
            async with self.gate.turn(row["instance_id"]):
                async with self.runtime.db.autocommit_session() as session:
                    claimed = await outbound.record_attempt(
                        session, message_id, datetime.now(UTC), seen=row["send_attempted_at"]
                    )
                if not claimed:
                    # Another worker sent or tried it while we waited for the turn (rule 1).
                    return
                sent = await call(client, target)
                # Still in the turn: the gateway's echo is already on its way, and every moment
                # before our row holds the key id is one in which the echo shows up on its own.
                await self._attach(row, sent.key_id, sent.status, sent.remote_jid)
        except InstanceBusy:
            raise DeferJob(5, "another worker holds the instance's send turn") from None
        except GatewayUnavailable:
            if _age(row["queued_at"]) > MAX_AGE:
                await self._fail(row, TOO_LONG_UNAVAILABLE)
                return
            raise  # the runtime retries with exponential backoff and jitter
        except GatewayUnauthorized:
            raise  # the token changed on the server: see _unauthorized
        except GatewayError as error:
            await self._fail(row, error.reason or "a Evolution API recusou o envio")
            return

    async def _read(self, job: Job) -> None:
        try:
            conversation_id = uuid.UUID(str(job.payload.get("conversation_id")))
        except ValueError:
            raise PermanentJobError("read job without a valid conversation_id") from None
        async with self.runtime.db.service_session() as session:
            keys = await outbound.unread_inbound_keys(session, conversation_id)
            access = await gateway_access(session, uuid.UUID(str(job.payload["instance_id"])))
        if not keys or access is None:
            return
        client = self._access_client(access)
        probe = await self._access_passage(job, access)
        try:
            await self._mark_read(client, keys)
        finally:
            if probe:
                await self.servers.release(probe)

    async def _mark_read(self, client: EvolutionClient, keys: list[dict[str, Any]]) -> None:
        try:
            await client.mark_read(
                [
                    {"remoteJid": key["remote_jid"], "fromMe": False, "id": key["key_id"]}
                    | ({"participant": key["sender_jid"]} if key["sender_jid"] else {})
                    for key in keys
                ]
            )
        except GatewayUnavailable:
            raise
        except GatewayError as error:
            raise PermanentJobError(f"gateway refused markMessageAsRead: {error.reason}") from None
        async with self.runtime.db.service_session() as session:
            await outbound.mark_inbound_read(session, [key["id"] for key in keys])

    async def _react(self, job: Job) -> None:
        try:
            message_id = uuid.UUID(str(job.payload.get("message_id")))
        except ValueError:
            raise PermanentJobError("reaction job without a valid message_id") from None
        async with self.runtime.db.service_session() as session:
            target = await outbound.reaction_target(session, message_id)
            access = await gateway_access(session, target["instance_id"]) if target else None
        if target is None or access is None or not target["key_id"]:
            return
        client = self._access_client(access)
        probe = await self._access_passage(job, access)
        try:
            async with self.gate.turn(target["instance_id"]):
                await client.send_reaction(
                    remote_jid=target["remote_jid"],
                    from_me=target["from_me"],
                    key_id=target["key_id"],
                    emoji=str(job.payload.get("emoji", "")),
                )
        except InstanceBusy:
            raise DeferJob(5, "another worker holds the instance's send turn") from None
        except GatewayUnavailable:
            raise
        except GatewayError as error:
            raise PermanentJobError(f"gateway refused the reaction: {error.reason}") from None
        finally:
            if probe:
                await self.servers.release(probe)

    async def _passage(
        self,
        job: Job,
        server_url: str,
        instance: str,
        queued_at: datetime | None = None,
        *,
        read: str | None = None,
    ) -> Passage | None:
        """Rule 7: may a call for `instance` on `server_url` go out now? Yes: its passage, with
        the mark whose probe this job holds (or none), which the caller releases when the job
        ends, and the value of the `read` key. While the server or the instance is marked the
        job is deferred past the rest of its wait (DeferJob: no attempt spent), or None is
        returned once it has waited more than MAX_AGE since `queued_at` (a send's, which then
        fails like any other send out of time) or since the job was first enqueued."""
        passage = await self.servers.passage(server_url, instance, read=read)
        if not passage.wait:
            return passage
        since = queued_at or datetime.fromtimestamp(job.first_enqueued_at, UTC)
        if _age(since) > MAX_AGE:
            return None
        raise DeferJob(passage.wait, "the instance's Evolution server is not answering")

    async def _access_passage(self, job: Job, access: tuple[str, str, str | None]) -> str:
        """A read or reaction job's passage to its instance (`gateway_access`): the probe it
        holds, or "". Out of time, the job goes to the dead letters."""
        name, server_url, _sealed = access
        granted = await self._passage(job, server_url, name)
        if granted is None:
            raise PermanentJobError(TOO_LONG_UNAVAILABLE)
        return granted.probe or ""

    async def _unauthorized(self, row: dict[str, Any], error: GatewayUnauthorized) -> None:
        """The gateway refused the instance's token (number check, state or send call).

        The token was most likely rotated on the server since we stored it: a sync stores the
        new one and the job tries again. A refused send call delivered nothing; its recorded
        attempt still makes the retry look for an echo first (rule 1). When no new token can be
        learned the message fails now instead of burning retries.
        """
        token = self._token(row)
        if token is not None and await resync_for_send(
            self.runtime,
            instance_id=row["instance_id"],
            server_url=row["server_url"],
            used_token=token,
        ):
            log.info("send.credential_refreshed", message_id=str(row["id"]))
            raise RetryJobLater(1, "the instance's credential changed: sending again") from None
        await self._fail(row, error.reason or "a Evolution API recusou a credencial da instância")

    async def _live_open(self, row: dict[str, Any]) -> bool:
        """Ask the gateway: our stored state may be stale or out of order (§6.2, §6.7)."""
        token = self._token(row)
        if token is None:
            return False
        try:
            state = await self._client(row, token).connection_state()
        except GatewayUnauthorized:
            raise  # not "disconnected": a rotated token (see _unauthorized)
        except GatewayError:
            return False
        if state == "open":
            async with self.runtime.db.service_session() as session:
                await record_connection(session, row["instance_id"], connection_state="open")
        return state == "open"

    async def _adopt_echo(self, row: dict[str, Any]) -> bool:
        """True when an earlier attempt's echo was found and adopted (no new send)."""
        since = row["send_attempted_at"] - timedelta(seconds=5)
        async with self.runtime.db.service_session() as session:
            echo = await outbound.find_echo(
                session,
                row["conversation_id"],
                message_type=row["type"],
                body=row["body"],
                caption=row["caption"],
                since=since,
            )
        if echo is not None:
            await self._attach(row, echo["key_id"], echo["status"], None)
            log.info("send.echo_adopted", message_id=str(row["id"]))
            return True
        waited = _age(row["send_attempted_at"])
        if waited < ECHO_GRACE:
            raise DeferJob((ECHO_GRACE - waited).total_seconds(), "waiting for an echo")
        log.warning("send.retrying_after_silent_attempt", message_id=str(row["id"]))
        return False

    async def _target(
        self, row: dict[str, Any], cached_number: str | None, *, recheck: bool = False
    ) -> str | None:
        """The number or JID to send to; None (message failed) when it is not on WhatsApp.

        `cached_number` is the number check's cached answer (`_number_key`), `recheck` asks
        the gateway again when it says the number is not on WhatsApp (a retried send).
        """
        digits = _checked_digits(row)
        if digits is None:
            return str(row["remote_jid"])  # groups and @lid chats are addressed by their JID
        check = await self._number(row, digits, cached_number, recheck=recheck)
        if check is None:
            return None
        return check.jid or digits

    async def _number(
        self, row: dict[str, Any], digits: str, cached: str | None, *, recheck: bool = False
    ) -> NumberCheck | None:
        redis: Redis = self.runtime.redis
        key = _number_key(row, digits)
        data = orjson.loads(cached) if cached else None
        if data is not None and not (recheck and not data["exists"]):
            check = NumberCheck(number=digits, exists=data["exists"], jid=data.get("jid"))
        else:
            rate_key = f"evolution:numbers-rate:{row['instance_id']}"
            async with redis.pipeline(transaction=True) as pipe:
                pipe.incr(rate_key)
                pipe.expire(rate_key, 60, nx=True)
                count, _ = await pipe.execute()
            if int(count) > NUMBER_CHECKS_PER_MINUTE:
                raise DeferJob(10, "number checks rate-limited")
            token = self._token(row)
            if token is None:
                await self._fail(row, "a instância não tem credencial para enviar")
                return None
            client = self._client(row, token)
            try:
                results = await client.whatsapp_numbers([digits])
            except (GatewayUnavailable, GatewayUnauthorized):
                raise
            except GatewayError as error:
                await self._fail(row, error.reason)
                return None
            check = results[0] if results else NumberCheck(number=digits, exists=False, jid=None)
            ttl = NUMBER_CACHE_SECONDS if check.exists else 86400
            await redis.set(key, orjson.dumps({"exists": check.exists, "jid": check.jid}), ex=ttl)
        if not check.exists:
            await self._fail(row, f"este número {NOT_ON_WHATSAPP}")
            return None
        return check

    def _client(self, row: dict[str, Any], token: str) -> EvolutionClient:
        return EvolutionClient(
            self.runtime.http,
            server_url=row["server_url"],
            instance=row["external_id"],
            token=token,
            watch=self.servers,
        )

    def _access_client(self, access: tuple[str, str, str | None]) -> EvolutionClient:
        """A client from `gateway_access`; a job without a usable credential cannot succeed."""
        name, server_url, sealed = access
        token = self._token({"api_key_ciphertext": sealed})
        if token is None:
            raise PermanentJobError("no usable credential for this instance")
        return self._client({"server_url": server_url, "external_id": name}, token)

    def _token(self, row: dict[str, Any]) -> str | None:
        if not row["api_key_ciphertext"]:
            return None
        try:
            return self.credentials.open(row["api_key_ciphertext"])
        except CredentialError:
            return None

    async def _attach(
        self, row: dict[str, Any], key_id: str, status: str | None, used_jid: str | None
    ) -> None:
        async with self.runtime.db.service_session() as session:
            attached = await outbound.attach_key(
                session,
                message_id=row["id"],
                conversation_id=row["conversation_id"],
                instance_id=row["instance_id"],
                key_id=key_id,
                status=status,
            )
            folded = attached.folded
            # Statuses that arrived before we knew our key id were parked under it.
            for kind, payload in attached.parked:
                if kind == "status":
                    await apply_status(
                        session,
                        instance_id=row["instance_id"],
                        key_id=key_id,
                        status=payload["status"],
                        error=payload.get("error"),
                    )
            if folded is not None and row["aside"]:
                await _restore_inbox(session, row["conversation_id"])
            if used_jid and row["contact_id"] and used_jid.endswith("@s.whatsapp.net"):
                # Brazilian numbers may come back with or without the ninth digit: remember it.
                await identity_repo.add_identities(
                    session, row["company_id"], row["contact_id"], [("jid", used_jid)]
                )
            # Read after the transaction's last write, the row and the chat still locked by
            # it: as they will be committed.
            sent = await outbound.message_and_chat(session, row["id"])
        if sent is not None:
            await self._announce_sent(row, sent, folded.id if folded is not None else None)
        if folded is not None and folded.media_path is not None:
            # The echo's copy of our file, downloaded before the fold: ours is the one kept.
            await self.storage.delete(row["company_id"], folded.id, folded.media_mimetype)
        log.info("send.accepted", message_id=str(row["id"]), status=attached.final_status)

    async def _announce_sent(
        self, row: dict[str, Any], sent: dict[str, Any], folded_id: uuid.UUID | None = None
    ) -> None:
        """Rule 3's announcement: the caches and the live `message.sent`, written here instead
        of through the outbox and the incoming stream (no outbox row, no stream entry, no
        second parse of the copies). A crash or a Redis failure before it ends leaves the job
        unacknowledged, and its next delivery, finding the key attached, announces again
        (`__call__`): the job is this announcement's outbox."""
        message, chat = cache.message_and_chat_out(sent)
        await announce_message(
            self.runtime.redis,
            row["company_id"],
            message,
            chat,
            change="sent",
            folded_message_id=folded_id,
        )

    async def _announce_again(self, row: dict[str, Any]) -> None:
        """A sent message's announcement once more, as it is now (idempotent: the cache keeps
        the newest version, and clients take a repeated event for what it is)."""
        async with self.runtime.db.autocommit_session() as session:
            sent = await outbound.message_and_chat(session, row["id"])
        if sent is not None:
            await self._announce_sent(row, sent)

    async def _fail(self, row: dict[str, Any], reason: str) -> None:
        async with self.runtime.db.service_session() as session:
            await outbound.fail_message(session, row["id"], row["conversation_id"], reason)
            entries = await record(session, row["company_id"], [self._event(row, "status")])
        await self.runtime.outbox.publish(entries)
        log.info("send.failed", message_id=str(row["id"]), reason=reason[:200])

    @staticmethod
    def _event(row: dict[str, Any], change: str) -> OutboxItem:
        return message_changed(
            company_id=row["company_id"],
            conversation_id=row["conversation_id"],
            message_id=row["id"],
            change=change,
        )


async def _restore_inbox(session: AsyncSession, conversation_id: uuid.UUID) -> None:
    """Undo what the echo of a message kept out of the inbox did to it.

    The gateway's echo can arrive before its send call returns; stored then as a new message
    of ours, it became the chat's latest (the customer no longer looked like the one waiting).
    Once folded into our row, the chat's summary goes back to its latest message that counts.
    """
    latest = await outbound.latest_in_inbox(session, conversation_id)
    if latest is None:
        return
    preview = (
        DELETED_PREVIEW
        if latest["deleted"]
        else preview_of(latest["type"], latest["body"], latest["caption"])
    )
    await outbound.set_inbox_summary(session, conversation_id, latest, preview)


async def requeue_held(
    runtime: Runtime,
    *,
    older_than: timedelta = timedelta(minutes=1),
    again_after: timedelta = REQUEUE_AGAIN_AFTER,
    per_round: int = SWEEP_PER_ROUND,
) -> int:
    """Queue again the sends still waiting on an open instance, each at most once per
    `again_after` (the next `per_round` of them: held.py `sweep_waiting`); fail those held too
    long. Returns how many were queued.

    This is the safety net of a send whose job is gone (a hold whose reconnect was missed, a
    job buried or lost). Most sends still queued after a minute have a live job, though: one
    waiting for the instance's turn, a retry or a deferral (rule 7). Queued again on every
    round (30 s), each one gained a chain of runs of its own, every round: during a gateway
    outage that meant a fresh attempt per message every 30 s whatever the backoff, and as many
    runs of the number's queue to go through."""
    now = datetime.now(UTC)
    async with runtime.db.service_session() as session:
        expired = await outbound.expire_held(session, now - HOLD_LIMIT)
    waiting = await sweep_waiting(
        runtime.db, runtime.redis, older_than=now - older_than, per_round=per_round
    )
    due = await not_requeued_lately(runtime.redis, waiting, again_after)
    if due:
        await enqueue_many(
            runtime.redis, send_jobs((send.message_id, send.instance_id) for send in due)
        )
    if expired:
        log.warning("send.held_expired", messages=expired)
    return len(due)
