"""Instance credential rotation: learn each instance's current token from Evolution and keep
`api_key_hash`, the sealed credential and the webhook's `apikey` header in step with it.

Evolution 2.x has no route to change a token (evolution-api.md §4): an operator edits its
database, or deletes and recreates the instance. Either way only `fetchInstances` with the
global key tells us, so three things ask it: the worker on a schedule, an admin on demand, and
a webhook whose key no longer matches a known instance (at most once per server and interval,
so a flood of bad keys cannot hammer the gateway). A changed token is stored hashed and sealed,
audited and counted; the webhook's custom `apikey` header is moved to it first, so deliveries
keep authenticating through the whole change.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from prometheus_client import Counter
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.accounts import repository as accounts_repo
from zapcrm.auth.identity import Identity
from zapcrm.evolution import repository
from zapcrm.evolution.client import EvolutionClient
from zapcrm.evolution.credentials import CredentialBox, CredentialError
from zapcrm.evolution.errors import GatewayError
from zapcrm.evolution.instances import (
    InstanceRef,
    api_key_matches,
    authenticate_delivery,
    hash_api_key,
    select_instance,
)
from zapcrm.exceptions import ValidationFailed
from zapcrm.i18n import N_
from zapcrm.kit.periodic import every
from zapcrm.logging import get_logger
from zapcrm.runtime import Runtime

log = get_logger(__name__)

Trigger = Literal["schedule", "admin", "webhook", "send"]

ROTATIONS = Counter(
    "zapcrm_instance_credential_rotations_total",
    "Instance tokens found changed on the gateway and stored, by trigger",
    ["trigger"],
)
SYNCS = Counter(
    "zapcrm_instance_credential_syncs_total",
    "Credential syncs per Evolution server, by trigger and outcome",
    ["trigger", "outcome"],
)

# Longer than any gateway call (10 s timeouts): a crashed sync cannot leave the flag forever.
RUNNING_TTL_SECONDS = 60
SERVERS_AT_ONCE = 8  # servers an admin's sync asks at the same time
TICK_SECONDS = 5.0  # how often the schedule looks for servers due a sync
# How long a delivery waits for a sync already under way before it is judged.
WAIT_FOR_SYNC_SECONDS = 5.0
ROTATED_ACTION = "instance.credential_rotated"

# Claim the webhook trigger's slot and raise the "running" flag in one step: a delivery that
# loses the claim must see the flag, or it would be refused while the winner is still syncing.
_CLAIM = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('SET', KEYS[2], '1', 'EX', ARGV[2])
  return 1
end
return 0
"""


def _server_key(kind: str, server_url: str) -> str:
    return f"evolution:credentials:{kind}:{hashlib.sha256(server_url.encode()).hexdigest()[:16]}"


class SyncGate:
    """Per-server flags in Redis: a sync running now, and the webhook trigger's rate limit."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def claim_webhook_sync(self, server_url: str, interval: int) -> bool:
        """Whether a mismatched webhook may sync this server now (once per `interval`)."""
        keys = (_server_key("webhook-sync", server_url), _server_key("running", server_url))
        try:
            claimed = await self._redis.eval(_CLAIM, 2, *keys, interval, RUNNING_TTL_SECONDS)
        except RedisError as error:
            # Without Redis there is no rate limit: refuse rather than let bad keys through.
            log.warning("credentials.gate_unavailable", error_type=type(error).__name__)
            return False
        return bool(claimed)

    async def mark_running(self, server_url: str) -> None:
        """Raise the flag deliveries wait on while a sync of this server is under way."""
        with contextlib.suppress(RedisError):
            await self._redis.set(_server_key("running", server_url), "1", ex=RUNNING_TTL_SECONDS)

    async def clear_running(self, server_url: str) -> None:
        """Lower the flag: the sync committed (or gave up)."""
        with contextlib.suppress(RedisError):
            await self._redis.delete(_server_key("running", server_url))

    async def wait_until_idle(self, server_url: str) -> bool:
        """Wait (up to WAIT_FOR_SYNC_SECONDS) while a sync of the server runs; True when one
        was running, so the caller should look at Postgres again."""
        key = _server_key("running", server_url)
        waited = False
        with contextlib.suppress(TimeoutError, RedisError):
            async with asyncio.timeout(WAIT_FOR_SYNC_SECONDS):
                while await self._redis.exists(key):
                    waited = True
                    await asyncio.sleep(0.05)
        return waited


@dataclass(frozen=True, slots=True)
class RotatedInstance:
    """An instance whose token changed on the gateway and was stored."""

    id: uuid.UUID
    company_id: uuid.UUID
    external_id: str
    server_url: str


@dataclass
class SyncReport:
    """What a sync found: instances compared, instances rotated, servers that did not answer."""

    checked: int = 0
    rotated: list[RotatedInstance] = field(default_factory=list)
    failed_servers: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class TokenChange:
    """An instance whose gateway token no longer matches the hash we hold."""

    stored: repository.StoredCredential
    token: str


def gateway_tokens(rows: Sequence[dict[str, Any]]) -> dict[str, str]:
    """Instance name -> current token, from `fetchInstances` rows (§3.8).

    2.x rows carry `name` and `token`; 1.x nested them as `instance.instanceName` and
    `instance.apikey` (the latter only with AUTHENTICATION_EXPOSE_IN_FETCH_INSTANCES).
    """
    tokens: dict[str, str] = {}
    for row in rows:
        found = row.get("instance")
        nested: dict[str, Any] = found if isinstance(found, dict) else {}
        name = row.get("name") or nested.get("instanceName")
        token = row.get("token") or nested.get("apikey")
        if isinstance(name, str) and isinstance(token, str) and token:
            tokens[name] = token
    return tokens


async def record_rotations(
    session: AsyncSession,
    changes: Sequence[TokenChange],
    *,
    server_url: str,
    credentials: CredentialBox,
    trigger: Trigger,
    actor_id: uuid.UUID | None,
) -> list[RotatedInstance]:
    """Store each new token (hash and sealed) and audit it; flushes, never commits."""
    rotated = []
    for change in changes:
        stored = change.stored
        replaced = await repository.replace_credential(
            session,
            stored.id,
            previous_hash=stored.api_key_hash,
            api_key_hash=hash_api_key(change.token),
            api_key_ciphertext=credentials.seal(change.token),
        )
        if not replaced:
            continue  # another sync stored this rotation first (and audited it)
        await accounts_repo.insert_audit(
            session,
            company_id=stored.company_id,
            actor_id=actor_id,
            action=ROTATED_ACTION,
            target_type="instance",
            target_id=str(stored.id),
            # Never the token nor its hash: the audit log is readable by every admin.
            details={"trigger": trigger, "instance": stored.external_id, "server_url": server_url},
        )
        rotated.append(
            RotatedInstance(stored.id, stored.company_id, stored.external_id, server_url)
        )
    return rotated


@dataclass
class CredentialSync:
    """Compares the tokens Evolution reports with ours and stores the ones that changed.

    It owns its transactions, like a queue job: each is short and none spans a gateway call.
    """

    runtime: Runtime
    credentials: CredentialBox

    @property
    def configured(self) -> bool:
        """Whether a global key is set (without it Evolution will not list the tokens)."""
        return self.runtime.settings.evolution_global_key is not None

    async def sync(
        self,
        *,
        trigger: Trigger,
        company_id: uuid.UUID | None = None,
        actor_id: uuid.UUID | None = None,
    ) -> SyncReport:
        """Sync every server instances are registered on (only one company's, when given)."""
        report = SyncReport()
        if not self.configured:
            SYNCS.labels(trigger, "skipped").inc()
            return report
        async with self.runtime.db.service_session() as session:
            servers = await repository.server_urls(session, company_id)
        # Side by side: one server that hangs until the timeout (or is gone) must not hold up
        # the others; a round takes as long as its slowest server, not the sum of them all.
        limit = asyncio.Semaphore(SERVERS_AT_ONCE)

        async def one(server_url: str) -> None:
            async with limit:
                await self.sync_server(
                    server_url,
                    trigger=trigger,
                    company_id=company_id,
                    actor_id=actor_id,
                    report=report,
                )

        await asyncio.gather(*(one(server_url) for server_url in servers))
        return report

    async def sync_server(
        self,
        server_url: str,
        *,
        trigger: Trigger,
        company_id: uuid.UUID | None = None,
        actor_id: uuid.UUID | None = None,
        report: SyncReport | None = None,
    ) -> SyncReport:
        """Sync the instances of one Evolution server."""
        report = report if report is not None else SyncReport()
        global_key = self.runtime.settings.evolution_global_key
        if global_key is None:
            SYNCS.labels(trigger, "skipped").inc()
            return report
        gate = SyncGate(self.runtime.redis)
        rotated: list[RotatedInstance] = []
        await gate.mark_running(server_url)
        try:
            admin = EvolutionClient(
                self.runtime.http,
                server_url=server_url,
                instance="",
                token=global_key.get_secret_value(),
            )
            try:
                tokens = gateway_tokens(await admin.fetch_instances())
            except GatewayError as error:
                SYNCS.labels(trigger, "failed").inc()
                report.failed_servers.append(server_url)
                log.warning(
                    "credentials.sync_failed",
                    server_url=server_url,
                    trigger=trigger,
                    error_type=type(error).__name__,
                    reason=error.reason[:200],
                )
                return report
            async with self.runtime.db.service_session() as session:
                ours = await repository.credentials_on_server(session, server_url, company_id)
            report.checked += len(ours)
            changes = [
                TokenChange(stored, tokens[stored.external_id])
                for stored in ours
                if stored.external_id in tokens
                and not api_key_matches(tokens[stored.external_id], stored.api_key_hash)
            ]
            # The header first: from then on deliveries carry the new key, which they match
            # once the commit below lands (and wait for it while the `running` flag is up).
            for change in changes:
                await self._move_webhook_header(server_url, change)
            if changes:
                async with self.runtime.db.service_session() as session:
                    rotated = await record_rotations(
                        session,
                        changes,
                        server_url=server_url,
                        credentials=self.credentials,
                        trigger=trigger,
                        actor_id=actor_id,
                    )
            # Committed: only now may this process's memory of the old hashes go.
            for instance in rotated:
                self.runtime.instances.forget(instance.external_id)
        finally:
            await gate.clear_running(server_url)
        for instance in rotated:
            ROTATIONS.labels(trigger).inc()
            log.info(
                "instance.credential_rotated",
                instance_id=str(instance.id),
                company_id=str(instance.company_id),
                trigger=trigger,
            )
        SYNCS.labels(trigger, "rotated" if rotated else "unchanged").inc()
        report.rotated.extend(rotated)
        return report

    async def _move_webhook_header(self, server_url: str, change: TokenChange) -> None:
        """Point the instance webhook's `apikey` header at the new token, keeping the rest."""
        client = EvolutionClient(
            self.runtime.http,
            server_url=server_url,
            instance=change.stored.external_id,
            token=change.token,
        )
        try:
            hook = await client.find_webhook()
            headers = hook.get("headers") if hook else None
            if not hook or not hook.get("enabled") or not isinstance(headers, dict):
                return
            if "apikey" not in headers:
                return  # not authenticating through the header: the envelope key follows alone
            await client.set_webhook(
                url=str(hook.get("url", "")),
                events=[str(event) for event in hook.get("events") or []],
                headers={**{str(k): str(v) for k, v in headers.items()}, "apikey": change.token},
                base64=bool(hook.get("webhookBase64")),
                by_events=bool(hook.get("webhookByEvents")),
            )
        except GatewayError as error:
            # The credential is stored anyway: REST calls need it, and a delivery whose header
            # still holds the old key is answered 401 and counted, visible to the admin.
            log.warning(
                "credentials.webhook_header_not_moved",
                instance_id=str(change.stored.id),
                error_type=type(error).__name__,
            )


async def sync_for_admin(runtime: Runtime, actor: Identity) -> SyncReport:
    """The admin action: sync the servers of the actor's company, audited under their name."""
    sync = CredentialSync(runtime, CredentialBox.from_settings(runtime.settings))
    if not sync.configured:
        raise ValidationFailed(N_("configure EVOLUTION_GLOBAL_KEY para sincronizar as credenciais"))
    return await sync.sync(trigger="admin", company_id=actor.company_id, actor_id=actor.user_id)


@dataclass(frozen=True, slots=True)
class Recheck:
    """A mismatched delivery judged again: its instance when a key now matches; `verified`
    False when the gateway could not be asked (rate limited or down), so the sender should
    retry later rather than drop the event."""

    instance: InstanceRef | None
    verified: bool = True


async def _sync_once_per_interval(runtime: Runtime, server_url: str, trigger: Trigger) -> bool:
    """Sync one server's tokens unless another caller did this interval (then wait for that
    sync to end). False when the tokens could not be learned: the sync failed, or this
    interval's sync was already spent (perhaps on a bad key, minutes before a real rotation)."""
    gate = SyncGate(runtime.redis)
    interval = runtime.settings.evolution_webhook_sync_interval_seconds
    if await gate.claim_webhook_sync(server_url, interval):
        sync = CredentialSync(runtime, CredentialBox.from_settings(runtime.settings))
        report = await sync.sync_server(server_url, trigger=trigger)
        return not report.failed_servers
    if await gate.wait_until_idle(server_url):
        return True
    SYNCS.labels(trigger, "rate_limited").inc()
    return False


async def resync_for_delivery(
    runtime: Runtime,
    *,
    instance_name: str,
    server_url: str | None,
    api_keys: Sequence[str | None],
) -> Recheck:
    """A delivery for a known instance matched no stored key: sync its server (at most once
    per interval) or wait for a sync under way, then authenticate it again."""
    if not any(api_keys) or runtime.settings.evolution_global_key is None:
        return Recheck(None)  # nothing to compare, or no way to ask: refused as before
    async with runtime.db.service_session() as session:
        candidates = await runtime.instances.candidates(session, instance_name)
    instance = select_instance(candidates, server_url)
    if instance is None:
        return Recheck(None)  # an unknown instance never reaches the gateway
    # Not verified is not wrong: the delivery is answered 503 and Evolution retries it (§1.5)
    # until a sync may run.
    verified = await _sync_once_per_interval(runtime, instance.server_url, "webhook")
    # Look again in every case: another delivery's sync may have committed the new token after
    # this one first read Postgres (the burst that follows a rotation depends on it).
    async with runtime.db.service_session() as session:
        found = await authenticate_delivery(
            session,
            runtime.instances,
            instance_name=instance_name,
            server_url=server_url,
            api_keys=api_keys,
        )
    return Recheck(found, verified=verified or found is not None)


async def resync_for_send(
    runtime: Runtime, *, instance_id: uuid.UUID, server_url: str, used_token: str
) -> bool:
    """A REST call with the instance's token came back unauthorized: sync its server (at most
    once per interval, or wait for the sync under way) and say whether the instance now holds
    a different token, worth one more try. False when nothing can be learned (no global key)
    or the token did not change, so the caller fails instead of looping."""
    if runtime.settings.evolution_global_key is None:
        return False
    await _sync_once_per_interval(runtime, server_url, "send")
    credentials = CredentialBox.from_settings(runtime.settings)
    async with runtime.db.service_session() as session:
        access = await repository.gateway_access(session, instance_id)
    if access is None or access[2] is None:
        return False
    try:
        return credentials.open(access[2]) != used_token
    except CredentialError:
        return False


class ServerClocks:
    """The scheduled sync keeps one clock per server: a server is asked again `interval` seconds
    after its last answer (or failure), whatever the others do. One round for every server
    would wait for the slowest each time, so a few gone servers (each a 10 s timeout) would
    stretch every live server's interval by their timeouts and delay a rotation's pickup.
    At most one sync per server is in flight, which bounds the concurrency by the servers."""

    def __init__(self, sync: CredentialSync, interval: float) -> None:
        self.sync = sync
        self.interval = interval
        self.due: dict[str, float] = {}
        self.running: dict[str, asyncio.Task[None]] = {}

    async def tick(self) -> None:
        """Start a sync for each server whose time has come and that is not syncing."""
        async with self.sync.runtime.db.service_session() as session:
            servers = await repository.server_urls(session)
        now = asyncio.get_running_loop().time()
        for server_url in servers:
            if server_url not in self.running and self.due.get(server_url, 0.0) <= now:
                self.running[server_url] = asyncio.create_task(self._sync(server_url))

    async def _sync(self, server_url: str) -> None:
        try:
            await self.sync.sync_server(server_url, trigger="schedule")
        except Exception as error:  # noqa: BLE001 - Redis or Postgres blips: the next turn retries
            log.warning(
                "credentials.schedule_failed",
                server_url=server_url,
                error_type=type(error).__name__,
            )
        finally:
            self.due[server_url] = asyncio.get_running_loop().time() + self.interval
            del self.running[server_url]

    async def close(self) -> None:
        """Stop the syncs under way (the worker is shutting down)."""
        for task in self.running.values():
            task.cancel()
        await asyncio.gather(*self.running.values(), return_exceptions=True)


async def sync_forever(runtime: Runtime, stop: asyncio.Event) -> None:
    """The worker's scheduled sync: each server every EVOLUTION_CREDENTIALS_SYNC_SECONDS until
    `stop`, on its own clock (`ServerClocks`)."""
    interval = runtime.settings.evolution_credentials_sync_seconds
    sync = CredentialSync(runtime, CredentialBox.from_settings(runtime.settings))
    if interval == 0 or not sync.configured:
        log.info("credentials.schedule_off", global_key=sync.configured, interval=interval)
        return
    clocks = ServerClocks(sync, interval)
    try:
        # Looking for due servers is one small query; a few seconds' lateness is nothing
        # against a 15-minute interval, and a short interval is looked at as often as it asks.
        await every(
            min(interval, TICK_SECONDS), stop, clocks.tick, failure="credentials.schedule_failed"
        )
    finally:
        await clocks.close()
