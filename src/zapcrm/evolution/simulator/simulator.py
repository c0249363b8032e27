"""The `Simulator`: one Evolution API server's state and behaviour, driven by REST and control."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Literal

from zapcrm.evolution.simulator import chat, inbound, instance_payloads, outbound
from zapcrm.evolution.simulator.clock import (
    Clock,
    IdFactory,
    ManualClock,
    SystemClock,
    seeded_random,
)
from zapcrm.evolution.simulator.directory import Directory, NumberCheck
from zapcrm.evolution.simulator.emitter import ALLOWED_EVENTS, Emitter, GlobalWebhook
from zapcrm.evolution.simulator.encoding import encode
from zapcrm.evolution.simulator.errors import SimulatorError
from zapcrm.evolution.simulator.faults import Faults
from zapcrm.evolution.simulator.state import (
    Customer,
    Instance,
    RestRequest,
    SentRecord,
    WebhookConfig,
)
from zapcrm.logging import get_logger

__all__ = ["NumberCheck", "SendHook", "Simulator", "SimulatorConfig", "SimulatorError"]

log = get_logger("zapcrm.evolution.simulator")

Mode = Literal["test", "demo"]
SendHook = Callable[[Instance, SentRecord, Customer | None], None]

DEFAULT_SETTINGS: dict[str, Any] = {
    "rejectCall": False,
    "msgCall": "",
    "groupsIgnore": False,
    "alwaysOnline": False,
    "readMessages": False,
    "readStatus": False,
    "syncFullHistory": False,
    "wavoipToken": "",
}


@dataclass
class SimulatorConfig:
    """What an Evolution server is configured with, plus the simulator's own knobs."""

    global_key: str = "sim-global-key"  # AUTHENTICATION_API_KEY
    server_url: str = "http://127.0.0.1:8080"  # SERVER_URL, echoed in every envelope
    mode: Mode = "test"
    seed: int = 0
    # Real seconds per simulated second for every wait (acks, retries, pairing, latency).
    time_scale: float = 1.0
    tz_offset_minutes: int = 0  # TZ of the container: -180 for America/Sao_Paulo (§1.6)
    profile_name: str = "Loja Demo"
    owner_number: str = "5511900000000"
    auto_pair: bool = True  # the "phone" scans the QR code by itself after `pair_delay`
    pair_delay: float = 8.0
    qr_wait: float = 5.0  # /instance/create with qrcode:true waits for the first QR (§3.8)
    reconnect_delay: float = 1.0
    ack_gaps: tuple[float, ...] = (0.5, 1.0, 2.5, 2.0)  # before SERVER_ACK, DELIVERY, READ, PLAYED
    fetch_media_urls: bool = True  # download `media` URLs like Evolution; else use stand-in bytes
    global_webhook: GlobalWebhook | None = None


def _report_failure(task: asyncio.Task[Any]) -> None:
    # Background behaviour has no caller to raise to: a bug there must still be visible.
    if not task.cancelled() and task.exception() is not None:
        log.error("simulator.task.failed", error=repr(task.exception()))


class Simulator:
    """An in-process Evolution API 2.3.6: instances, a contact directory and a webhook sender."""

    def __init__(
        self,
        config: SimulatorConfig | None = None,
        *,
        clock: Clock | None = None,
        faults: Faults | None = None,
    ) -> None:
        self.config = config or SimulatorConfig()
        self.clock: Clock = clock or (
            ManualClock() if self.config.mode == "test" else SystemClock()
        )
        self.send_hooks: list[SendHook] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._initial_faults = faults or Faults()
        self._build()

    def _build(self) -> None:
        seed = self.config.seed
        self.faults = self._initial_faults
        self.ids = IdFactory(seed)
        self.rng = seeded_random(seed, "payloads")
        self.fault_rng = seeded_random(seed, "faults")
        self.instances: dict[str, Instance] = {}
        self.requests: list[RestRequest] = []
        self.directory = Directory(self.ids)
        self.emitter = Emitter(
            clock=self.clock,
            rng=seeded_random(seed, "jitter"),
            server_url=self.config.server_url,
            global_key=self.config.global_key,
            time_scale=self.config.time_scale,
            tz_offset_minutes=self.config.tz_offset_minutes,
            global_webhook=self.config.global_webhook,
        )

    # -- plumbing --------------------------------------------------------------------------

    def now_ts(self) -> int:
        """The current time in whole epoch seconds (`messageTimestamp`)."""
        return int(self.clock.now())

    def now_ms(self) -> int:
        """The current time in epoch milliseconds."""
        return int(self.clock.now() * 1000)

    async def sleep(self, seconds: float) -> None:
        """Wait a simulated duration (scaled by `time_scale`)."""
        if seconds > 0:
            await asyncio.sleep(seconds * self.config.time_scale)

    def spawn(self, coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run background behaviour (acks, pairing) that `drain()` waits for."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(_report_failure)
        return task

    async def drain(self) -> None:
        """Wait until scheduled behaviour and every webhook delivery have finished."""
        while self._tasks or self.emitter.pending:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
            await self.emitter.drain()

    async def aclose(self) -> None:
        """Stop background work and close the webhook client."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self.emitter.aclose()

    async def reset(self, seed: int | None = None) -> None:
        """Forget instances, customers, faults and logs; optionally reseed."""
        await self.aclose()
        if seed is not None:
            self.config.seed = seed
        if isinstance(self.clock, ManualClock):
            self.clock = ManualClock()
        self._build()

    def faults_for(self, instance: Instance | None) -> Faults:
        """The switches in force for an instance (its own, else the simulator's)."""
        if instance is not None and instance.faults is not None:
            return instance.faults
        return self.faults

    def emit(self, instance: Instance, event: str, data: Any) -> Any:
        """Encode data for the instance's version switches, send it, and return it as sent."""
        faults = self.faults_for(instance)
        objects = faults.binary_objects and not faults.v1_shapes
        encoded = encode(data, binary_objects=objects)
        self.emitter.emit(instance, event, encoded, faults)
        return encoded

    def instance(self, name: str) -> Instance:
        """An instance by name, or SimulatorError."""
        try:
            return self.instances[name]
        except KeyError:
            raise SimulatorError(f'instance "{name}" does not exist') from None

    # -- instances ---------------------------------------------------------------------------

    async def create_instance(
        self,
        name: str,
        *,
        token: str | None = None,
        integration: str = "WHATSAPP-BAILEYS",
        qrcode: bool = False,
        number: str | None = None,
        webhook: dict[str, Any] | None = None,
        settings: dict[str, Any] | None = None,
    ) -> Instance:
        """Create an instance; with `qrcode` it starts connecting at once (§3.8)."""
        now = self.clock.now()
        owner = number or str(int(self.config.owner_number) + len(self.instances))
        instance = Instance(
            name=name,
            id=self.ids.uuid(),
            token=token or self.ids.uuid(upper=True),
            integration=integration,
            number=owner,
            profile_name=self.config.profile_name,
            created_at=now,
            updated_at=now,
            settings={
                **DEFAULT_SETTINGS,
                **{k: v for k, v in (settings or {}).items() if k in DEFAULT_SETTINGS},
            },
        )
        if webhook and webhook.get("url"):
            self.set_webhook(instance, {"enabled": True, **webhook})
        self.instances[name] = instance
        self.emit(instance, "instance.create", {"instanceName": name, "instanceId": instance.id})
        if qrcode:
            self.start_connecting(instance, number)
        return instance

    def change_token(self, instance: Instance, token: str | None = None) -> str:
        """Give the instance a new token, as an operator editing Evolution's database and
        restarting it would (§4): REST and the envelope `apikey` use the new one at once, while
        the webhook's custom headers keep whatever `/webhook/set` stored."""
        instance.token = token or self.ids.uuid(upper=True)
        instance.updated_at = self.clock.now()
        return instance.token

    def record_request(self, method: str, path: str, status: int) -> None:
        """Log one REST call (tests count gateway calls with it)."""
        self.requests.append(RestRequest(method, path, status, self.clock.now()))

    def set_webhook(self, instance: Instance, config: dict[str, Any]) -> WebhookConfig:
        """Store the instance webhook (§3.9): `events: []` means all, disabled clears them."""
        now = self.clock.now()
        enabled = bool(config.get("enabled", True))
        events = list(config.get("events") or [])
        if enabled and not events:
            events = list(ALLOWED_EVENTS)
        if not enabled:
            events = []
        current = instance.webhook
        instance.webhook = WebhookConfig(
            id=current.id if current else self.ids.cuid(),
            url=str(config.get("url", "")),
            enabled=enabled,
            events=events,
            headers={str(k): str(v) for k, v in (config.get("headers") or {}).items()},
            by_events=bool(config.get("byEvents", False)),
            base64=bool(config.get("base64", False)),
            created_at=current.created_at if current else now,
            updated_at=now,
        )
        return instance.webhook

    def start_connecting(self, instance: Instance, number: str | None = None) -> dict[str, Any]:
        """Open a socket that waits for a QR scan; emits connection.update and qrcode.updated."""
        instance.state = "connecting"
        instance.qr_count += 1
        refs = [base64.b64encode(self.rng.randbytes(n)).decode() for n in (48, 32, 32, 32)]
        instance.qr_code = "2@" + ",".join(refs)
        instance.pairing_code = self.ids.pairing_code() if number else None
        self.emit(instance, "connection.update", instance_payloads.connection_connecting(instance))
        self.emit(instance, "qrcode.updated", instance_payloads.qrcode_event(instance))
        if self.config.auto_pair:
            self.spawn(self._pair_later(instance, instance.qr_count))
        return instance_payloads.qr_object(instance)

    async def _pair_later(self, instance: Instance, qr_count: int) -> None:
        await self.sleep(self.config.pair_delay)
        if self.instances.get(instance.name) is instance and instance.qr_count == qr_count:
            self.pair(instance)

    def pair(self, instance: Instance) -> None:
        """The phone scanned the QR code: the instance opens (§2.5)."""
        if instance.state == "open":
            return
        self._open(instance)

    def _open(self, instance: Instance) -> None:
        instance.state = "open"
        instance.has_session = True
        instance.ever_connected = True
        instance.qr_code = None
        # The webhook's base64 flag is loaded on connect only (§1.8, #1555).
        webhook = instance.webhook
        instance.active_base64 = bool(webhook and webhook.enabled and webhook.base64)
        instance.updated_at = self.clock.now()
        self.emit(instance, "connection.update", instance_payloads.connection_open(instance))

    def connect(self, instance: Instance, number: str | None = None) -> dict[str, Any]:
        """`/instance/connect`: the state when open, else a fresh QR object (§3.8)."""
        if instance.state == "open":
            return instance_payloads.connection_state(instance)
        return self.start_connecting(instance, number)

    def drop_connection(self, instance: Instance) -> None:
        """A transient close (428, 408, 515…): `connecting` then `open`, no close webhook (§2.5)."""
        if not instance.has_session:
            raise SimulatorError("the instance has no session to reconnect")
        instance.state = "connecting"
        self.emit(instance, "connection.update", instance_payloads.connection_connecting(instance))
        self.spawn(self._reopen_later(instance))

    async def _reopen_later(self, instance: Instance) -> None:
        await self.sleep(self.config.reconnect_delay)
        if self.instances.get(instance.name) is instance and instance.has_session:
            self._open(instance)

    def restart(self, instance: Instance) -> dict[str, Any]:
        """`/instance/restart`: reconnect; failures are HTTP 200 `{error: true}` (§3.8)."""
        if instance.has_session:
            self.drop_connection(instance)
            return instance_payloads.connection_state(instance)
        if instance.state == "connecting":
            return self.start_connecting(instance)
        return {"error": True, "message": f'The "{instance.name}" instance is not connected'}

    def logout(self, instance: Instance, code: int = 401) -> None:
        """A permanent close: status.instance, connection.update close, logout.instance (§2.5)."""
        now = self.clock.now()
        instance.disconnection_code = code
        instance.disconnection_at = now
        instance.disconnection_object = instance_payloads.disconnection_object(code, now)
        instance.state = "close"
        instance.has_session = False
        instance.qr_code = None
        instance.updated_at = now
        self.emit(instance, "status.instance", instance_payloads.status_instance_closed(instance))
        self.emit(instance, "connection.update", instance_payloads.connection_close(instance, code))
        self.emit(instance, "logout.instance", None)

    def refuse_qr(self, instance: Instance) -> None:
        """The QR code limit was reached: an error QR event, then state `refused` (§2.7)."""
        limit = {"message": "QR code limit reached, please login again", "statusCode": 500}
        self.emit(instance, "qrcode.updated", limit)
        data = instance_payloads.connection_open(instance) | {
            "state": "refused",
            "statusReason": 428,
        }
        instance.state = "close"
        instance.qr_code = None
        self.emit(instance, "connection.update", data)

    def delete_instance(self, instance: Instance) -> None:
        """Log out if needed, then forget the instance (§3.8)."""
        if instance.state != "close":
            self.logout(instance)
        self.emit(
            instance, "instance.delete", {"instanceName": instance.name, "instanceId": instance.id}
        )
        self.emit(instance, "remove.instance", None)
        self.instances.pop(instance.name, None)

    # -- the directory -----------------------------------------------------------------------

    @property
    def customers(self) -> dict[str, Customer]:
        """The simulated WhatsApp users by phone."""
        return self.directory.customers

    def add_customer(self, phone: str, name: str, **fields: Any) -> Customer:
        """Add (or replace) a simulated WhatsApp user."""
        return self.directory.add(phone, name, **fields)

    def find_customer(self, number_or_jid: str) -> Customer | None:
        """The customer a number, phone JID or lid JID belongs to."""
        return self.directory.find(number_or_jid)

    # -- messaging (see outbound.py and inbound.py) ------------------------------------------------

    async def send(
        self, instance: Instance, endpoint: str, body: Any, file: bytes | None = None
    ) -> dict[str, Any]:
        """Handle a `/message/send*` call (`file` = a multipart upload); returns §3.11's shape."""
        return await outbound.send(self, instance, endpoint, body, file)

    def mark_read(self, instance: Instance, body: Any) -> dict[str, Any]:
        """Handle `/chat/markMessageAsRead` (§3.6)."""
        return chat.mark_read(self, instance, body)

    def whatsapp_numbers(self, instance: Instance, body: Any) -> list[dict[str, Any]]:
        """Handle `/chat/whatsappNumbers` (§3.7)."""
        return chat.whatsapp_numbers(self, instance, body)

    def media_base64(self, instance: Instance, body: Any) -> dict[str, Any]:
        """Handle `/chat/getBase64FromMediaMessage` (§3.10)."""
        return chat.media_base64(self, instance, body)

    async def customer_sends(
        self, instance: Instance, customer: Customer | str, kind: str, **options: Any
    ) -> dict[str, Any]:
        """Make a customer do something on WhatsApp; returns the main event's name and data."""
        if isinstance(customer, str):
            found = self.directory.find(customer)
            if found is None:
                raise SimulatorError(f"no customer with phone {customer}")
            customer = found
        return await inbound.customer_sends(self, instance, customer, kind, options)
