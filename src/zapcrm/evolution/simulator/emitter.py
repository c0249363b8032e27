"""Webhook sender: the 2.x envelope, event filters, byEvents URLs and 2.3.x retries (§1)."""

from __future__ import annotations

import asyncio
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
import orjson

from zapcrm.evolution.simulator.clock import Clock, iso_utc
from zapcrm.evolution.simulator.faults import Faults, RetryPolicy
from zapcrm.evolution.simulator.state import Instance
from zapcrm.logging import get_logger

__all__ = [
    "ALLOWED_EVENTS",
    "DeliveryAttempt",
    "EmittedEvent",
    "Emitter",
    "GlobalWebhook",
    "by_events_suffix",
    "event_constant",
]

log = get_logger("zapcrm.evolution.simulator")

# The event names `/webhook/set` accepts in 2.3.6 (§1.2). GROUP_UPDATE is the allowed spelling,
# while the emitter looks up GROUPS_UPDATE: groups.update is never delivered.
ALLOWED_EVENTS: tuple[str, ...] = (
    "APPLICATION_STARTUP",
    "QRCODE_UPDATED",
    "MESSAGES_SET",
    "MESSAGES_UPSERT",
    "MESSAGES_EDITED",
    "MESSAGES_UPDATE",
    "MESSAGES_DELETE",
    "SEND_MESSAGE",
    "SEND_MESSAGE_UPDATE",
    "CONTACTS_SET",
    "CONTACTS_UPSERT",
    "CONTACTS_UPDATE",
    "PRESENCE_UPDATE",
    "CHATS_SET",
    "CHATS_UPSERT",
    "CHATS_UPDATE",
    "CHATS_DELETE",
    "GROUPS_UPSERT",
    "GROUP_UPDATE",
    "GROUP_PARTICIPANTS_UPDATE",
    "CONNECTION_UPDATE",
    "LABELS_EDIT",
    "LABELS_ASSOCIATION",
    "CALL",
    "TYPEBOT_START",
    "TYPEBOT_CHANGE_STATUS",
    "REMOVE_INSTANCE",
    "LOGOUT_INSTANCE",
    "INSTANCE_CREATE",
    "INSTANCE_DELETE",
    "STATUS_INSTANCE",
)
# No WEBHOOK_EVENTS_* env key exists for these, so the global webhook never gets them (§1.2).
_INSTANCE_ONLY = frozenset({"status.instance", "remove.instance", "logout.instance"})
# Events 1.x did not have (§1.2): with 1.x shapes on they are not emitted at all.
V1_MISSING = frozenset(
    {"messages.edited", "send.message.update", "remove.instance", "logout.instance"}
)
_HTTP_URL = re.compile(r"^https?://")
_AXIOS_HEADERS = {
    "accept": "application/json, text/plain, */*",
    "content-type": "application/json",
    "user-agent": "axios/1.7.9",
}


def event_constant(event: str) -> str:
    """The UPPER_SNAKE config key of a dotted event name (`send.message` → `SEND_MESSAGE`)."""
    return event.upper().replace(".", "_").replace("-", "_")


def by_events_suffix(event: str) -> str:
    """The "webhook by events" URL suffix (`messages.upsert` → `messages-upsert`)."""
    return event.lower().replace(".", "-").replace("_", "-")


@dataclass(frozen=True)
class GlobalWebhook:
    """The env-configured global webhook (`WEBHOOK_GLOBAL_*`): no custom headers (§1.4)."""

    url: str
    by_events: bool = False
    events: frozenset[str] = frozenset(ALLOWED_EVENTS)


@dataclass
class EmittedEvent:
    """One event as built, in emission order, with the URLs it was sent to."""

    seq: int
    event: str
    instance: str
    body: dict[str, Any]
    targets: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The event as JSON."""
        return {"seq": self.seq, "event": self.event, "targets": self.targets, "body": self.body}


@dataclass
class DeliveryAttempt:
    """One POST of one copy of an event, and what came back."""

    seq: int
    copy: int
    url: str
    attempt: int
    status: int | None
    error: str | None
    next_delay: float | None  # simulated seconds before the next try; None when final

    def as_dict(self) -> dict[str, Any]:
        """The attempt as JSON."""
        return dict(self.__dict__)


class Emitter:
    """Builds envelopes and delivers them concurrently, each copy with its own retry loop."""

    def __init__(
        self,
        *,
        clock: Clock,
        rng: random.Random,
        server_url: str,
        global_key: str,
        time_scale: float = 1.0,
        tz_offset_minutes: int = 0,
        global_webhook: GlobalWebhook | None = None,
    ) -> None:
        self.clock = clock
        self.rng = rng
        self.server_url = server_url
        self.global_key = global_key
        self.time_scale = time_scale
        self.tz_offset_minutes = tz_offset_minutes
        self.global_webhook = global_webhook
        self.emitted: list[EmittedEvent] = []
        self.attempts: list[DeliveryAttempt] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None

    def _date_time(self) -> str:
        # Local wall-clock time with a literal Z: the code subtracts the TZ offset before
        # toISOString(), so São Paulo (-180) reads 3 h behind UTC (§1.6).
        return iso_utc(self.clock.now() + self.tz_offset_minutes * 60)

    def _envelope(
        self,
        instance: Instance,
        event: str,
        data: Any,
        destination: str,
        faults: Faults,
        *,
        to_global: bool,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "event": event,
            "instance": instance.name,
            "data": data,
            "destination": destination,
            "date_time": self._date_time(),
        }
        if instance.ever_connected:
            body["sender"] = instance.wuid  # undefined (absent) before the first connection
        body["server_url"] = self.server_url
        if faults.v1_shapes:
            # 1.x: the instance key, but the GLOBAL key on the global webhook; omitted when
            # not exposed (§1.7).
            if faults.expose_apikey:
                body["apikey"] = self.global_key if to_global else instance.token
        else:
            body["apikey"] = instance.token if faults.expose_apikey else None
        return body

    def emit(
        self, instance: Instance, event: str, data: Any, faults: Faults
    ) -> EmittedEvent | None:
        """Send one event to the instance and global webhooks that subscribe to it."""
        if faults.v1_shapes and event in V1_MISSING:
            return None
        constant = event_constant(event)
        suffix = by_events_suffix(event)
        webhook = instance.webhook
        to_instance = webhook is not None and webhook.enabled and constant in webhook.events
        glob = self.global_webhook
        to_global = glob is not None and constant in glob.events and event not in _INSTANCE_ONLY
        if not (to_instance or to_global):
            return None
        if webhook is not None:
            destination = webhook.url  # never carries the byEvents suffix (§1.3)
        else:
            assert glob is not None
            destination = f"{glob.url}/{suffix}"
        body = self._envelope(instance, event, data, destination, faults, to_global=False)
        record = EmittedEvent(len(self.emitted) + 1, event, instance.name, body)
        self.emitted.append(record)
        if to_instance and webhook is not None:
            url = f"{webhook.url}/{suffix}" if webhook.by_events else webhook.url
            self._send(record, url, self._instance_headers(webhook.headers), body, faults)
        if to_global and glob is not None:
            url = f"{glob.url}/{suffix}" if glob.by_events else glob.url
            global_body = body
            if faults.v1_shapes:
                global_body = self._envelope(
                    instance, event, data, destination, faults, to_global=True
                )
            self._send(record, url, dict(_AXIOS_HEADERS), global_body, faults)
        return record

    @staticmethod
    def _instance_headers(custom: dict[str, str]) -> dict[str, str]:
        headers = dict(_AXIOS_HEADERS)
        for name, value in custom.items():
            if name == "jwt_key":
                # jwt_key becomes a 10-minute HS256 bearer token (2.3.0+, §1.4); it is signed
                # with real time because the receiver verifies it against its own clock.
                issued = int(time.time())
                claims = {
                    "iat": issued,
                    "exp": issued + 600,
                    "app": "evolution",
                    "action": "webhook",
                }
                headers["authorization"] = "Bearer " + jwt.encode(claims, str(value), "HS256")
            else:
                headers[name] = str(value)
        return headers

    def _send(
        self, record: EmittedEvent, url: str, headers: dict[str, str], body: Any, faults: Faults
    ) -> None:
        if not _HTTP_URL.match(url):
            return  # 2.3.x silently skips a URL that does not start with http(s):// (§1.3)
        record.targets.append(url)
        content = orjson.dumps(body)
        for copy in range(1, faults.duplicate_deliveries + 1):
            task = asyncio.get_running_loop().create_task(
                self._deliver(record.seq, copy, url, headers, content, faults.retry)
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            # axios follows redirects; trust_env=False keeps proxies away from local receivers.
            self._client = httpx.AsyncClient(
                follow_redirects=True,
                trust_env=False,
                limits=httpx.Limits(max_connections=256, max_keepalive_connections=32),
            )
        return self._client

    async def _deliver(
        self,
        seq: int,
        copy: int,
        url: str,
        headers: dict[str, str],
        content: bytes,
        policy: RetryPolicy,
    ) -> None:
        failures = 0
        while True:
            status: int | None = None
            error: str | None = None
            try:
                response = await self._http().post(
                    url, content=content, headers=headers, timeout=policy.timeout
                )
                status = response.status_code
            except httpx.TimeoutException:
                error = "ECONNABORTED"  # axios' timeout code, retried like a 5xx (§1.5)
            except httpx.HTTPError as exc:
                error = type(exc).__name__
            ok = status is not None and 200 <= status < 300
            final = (
                ok
                or (status is not None and status in policy.non_retryable)
                or failures + 1 >= policy.max_attempts
            )
            delay = None if final else policy.delay_after(failures + 1, self.rng)
            attempt = DeliveryAttempt(seq, copy, url, failures + 1, status, error, delay)
            self.attempts.append(attempt)
            if final:
                if not ok:
                    log.info("simulator.webhook.dropped", seq=seq, status=status, error=error)
                return
            failures += 1
            assert delay is not None
            await asyncio.sleep(delay * self.time_scale)

    @property
    def pending(self) -> int:
        """How many deliveries (with their retry loops) are still running."""
        return len(self._tasks)

    async def drain(self) -> None:
        """Wait until every delivery (including its retries) has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        """Cancel pending deliveries and close the HTTP client."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def clear(self) -> None:
        """Forget the emitted-event and attempt logs."""
        self.emitted.clear()
        self.attempts.clear()
