"""The webhook receiver: verify, store in one transaction, answer, publish after commit.

Answers are chosen for Evolution's retry rules (evolution-api.md §1.5): 200 when stored, a
duplicate, or an event we deliberately ignore; 400 for a body that can never succeed (2.3.x
does not retry it); 401 for an unknown instance or a wrong key; 503 when Postgres is away so
Evolution retries later. A known instance's wrong key first triggers one rate-limited
credential sync (rotation.py); when the limit leaves the key unverified the answer is 503 too,
so the events of a real rotation come back instead of being dropped. Failures fall in three
kinds, each logged and counted on its own: unknown event, malformed payload, our own bug.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import ClientDisconnect

from zapcrm.db import retry_transaction
from zapcrm.dependencies import get_runtime
from zapcrm.evolution import repository
from zapcrm.evolution.events import HANDLED_EVENTS, IGNORED_EVENTS, NORMALIZERS
from zapcrm.evolution.handlers import HANDLERS, LIVE_ONLY_EVENTS
from zapcrm.evolution.instances import InstanceRef, authenticate_delivery
from zapcrm.evolution.payloads import Envelope, MalformedPayload, event_to_suffix, parse_envelope
from zapcrm.evolution.rotation import resync_for_delivery
from zapcrm.logging import get_logger
from zapcrm.messaging import realtime
from zapcrm.messaging.service.ingest import Delivery
from zapcrm.outbox import RecordedEntry, record
from zapcrm.runtime import Runtime

log = get_logger(__name__)
router = APIRouter(tags=["webhooks"])

DELIVERIES = Counter(
    "zapcrm_webhook_deliveries_total", "Evolution webhook deliveries by event and outcome",
    ["event", "outcome"],
)  # fmt: skip
AUTH_FAILURES = Counter(
    "zapcrm_webhook_auth_failures_total", "Rejected webhook deliveries by reason", ["reason"]
)


@dataclass(frozen=True, slots=True)
class WebhookAnswer:
    """The HTTP answer to a delivery."""

    status: int
    body: dict[str, Any]
    published: list[RecordedEntry] = field(default_factory=list)
    handled: bool = False  # went through a handler: publish its entries after commit


def _error(status: int, code: str, message: str) -> WebhookAnswer:
    return WebhookAnswer(status, {"error": {"code": code, "message": message}})


def _strip_nul(value: Any) -> Any:
    # Postgres text and jsonb cannot hold U+0000; a hostile or broken payload must not turn
    # into a 500, and the character carries no meaning in a chat message.
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_strip_nul(item) for item in value]
    if isinstance(value, dict):
        return {_strip_nul(key): _strip_nul(item) for key, item in value.items()}
    return value


def _decode(body: bytes) -> Any:
    document = orjson.loads(body)
    return _strip_nul(document) if b"\\u0000" in body else document


async def receive_delivery(
    runtime: Runtime, body: bytes, *, suffix: str | None, header_apikey: str | None
) -> WebhookAnswer:
    """Authenticate, store and announce one webhook delivery."""
    try:
        envelope = parse_envelope(_decode(body))
    except (orjson.JSONDecodeError, MalformedPayload) as error:
        DELIVERIES.labels("invalid", "malformed").inc()
        return _error(400, "malformed_payload", f"corpo inválido: {error}")
    event = envelope.event
    # Compare in the suffix direction so events newer than our list still match (§1.3).
    if suffix is not None and suffix.strip("/") != event_to_suffix(event):
        DELIVERIES.labels("invalid", "malformed").inc()
        return _error(400, "event_mismatch", "o evento do corpo não corresponde à URL")
    metric_event = event if event in HANDLED_EVENTS or event in IGNORED_EVENTS else "unknown"
    # Evolution sends the envelope apikey only with AUTHENTICATION_EXPOSE_IN_FETCH_INSTANCES;
    # otherwise our webhook config adds it as a custom `apikey` header (§1.7). Either will do.
    api_keys = (envelope.apikey, header_apikey)
    received_at = datetime.now(UTC)

    async def authenticate_and_store() -> WebhookAnswer | None:
        async with runtime.db.service_session() as session:
            instance = await authenticate_delivery(
                session,
                runtime.instances,
                instance_name=envelope.instance,
                server_url=envelope.server_url,
                api_keys=api_keys,
            )
            if instance is None:
                return None
            return await _store(runtime, session, envelope, instance, received_at, metric_event)

    # A deadlock victim is stored again here rather than answered 503: Evolution before 2.2.1
    # never retries a delivery, and later versions only after 5 s, out of order.
    answer = await retry_transaction(authenticate_and_store)
    if answer is None:
        # Outside the transaction: this may call the gateway (credential rotation).
        recheck = await resync_for_delivery(
            runtime,
            instance_name=envelope.instance,
            server_url=envelope.server_url,
            api_keys=api_keys,
        )
        instance = recheck.instance
        if instance is None:
            reason = "missing_key" if not any(api_keys) else "rejected"
            if not recheck.verified:
                reason = "unverified"
            AUTH_FAILURES.labels(reason).inc()
            DELIVERIES.labels(metric_event, "unauthorized").inc()
            log.warning("webhook.unauthorized", instance=envelope.instance[:100], reason=reason)
            if not recheck.verified:
                return _error(
                    503, "key_unverified", "apikey não confere; nova verificação em instantes"
                )
            return _error(401, "unauthorized", "instância desconhecida ou apikey inválida")
        verified = instance

        async def store() -> WebhookAnswer:
            async with runtime.db.service_session() as session:
                return await _store(runtime, session, envelope, verified, received_at, metric_event)

        answer = await retry_transaction(store)
    if answer.handled:
        # Committed: only now may the world hear about it.
        await runtime.outbox.publish(answer.published)
        DELIVERIES.labels(event, "stored" if answer.published else "duplicate").inc()
    return answer


async def _store(
    runtime: Runtime,
    session: AsyncSession,
    envelope: Envelope,
    instance: InstanceRef,
    received_at: datetime,
    metric_event: str,
) -> WebhookAnswer:
    """Handle an authenticated delivery inside the caller's transaction."""
    event = envelope.event
    if event not in HANDLED_EVENTS:
        outcome = "ignored" if event in IGNORED_EVENTS else "unknown"
        DELIVERIES.labels(metric_event, outcome).inc()
        if outcome == "unknown":
            log.info("webhook.unknown_event", event_name=event[:100])
        return WebhookAnswer(200, {"status": outcome})
    try:
        normalized = NORMALIZERS[event](envelope.data)
    except MalformedPayload as error:
        DELIVERIES.labels(event, "malformed").inc()
        log.warning("webhook.malformed", event_name=event, reason=str(error)[:300])
        return _error(400, "malformed_payload", f"dados do evento inválidos: {error}")
    if event in LIVE_ONLY_EVENTS:
        await _publish_live(runtime, instance, event, normalized)
        DELIVERIES.labels(event, "live").inc()
        return WebhookAnswer(200, {"status": "live"})
    away = menu = survey = None
    if event == "messages.upsert":  # the event that brings customers' new messages
        away = await runtime.away_rules.for_company(session, instance.company_id)
        menu = await runtime.menu_rules.for_company(session, instance.company_id)
        survey = await runtime.survey_rules.for_company(session, instance.company_id)
    delivery = Delivery(instance, received_at, envelope.event_datetime, away, menu, survey)
    items = await HANDLERS[event](session, delivery, normalized)
    if runtime.instances.last_event_due(instance.id):
        await repository.touch_last_event(session, instance.id, received_at)
    entries = await record(session, instance.company_id, items)
    status = "stored" if entries else "duplicate"
    return WebhookAnswer(200, {"status": status}, entries, handled=True)


async def _publish_live(
    runtime: Runtime, instance: InstanceRef, event: str, normalized: object
) -> None:
    data = normalized.model_dump(mode="json", exclude={"raw"})  # type: ignore[attr-defined]
    encoded = realtime.encode_event(
        event.replace(".", "_"), data={"instance_id": str(instance.id), **data}
    )
    try:
        await realtime.publish(runtime.redis, instance.company_id, encoded)
    except OSError as error:  # Redis away: presence is ephemeral, dropping it is fine
        log.info("webhook.presence_dropped", error_type=type(error).__name__)


async def _answer(request: Request, runtime: Runtime, suffix: str | None) -> JSONResponse:
    try:
        body = await request.body()
    except ClientDisconnect:
        # The sender gave up before its body arrived (axios' timeout, a load generator that
        # stops): nothing was read or stored, and Evolution sends it again. Not our bug.
        log.info("webhook.client_disconnected")
        return JSONResponse({}, status_code=400)
    answer = await receive_delivery(
        runtime, body, suffix=suffix, header_apikey=request.headers.get("apikey")
    )
    return JSONResponse(answer.body, status_code=answer.status)


# The runtime straight from the app rather than through RuntimeDep: FastAPI's dependency
# solving was ~5% of the web process's CPU on this, its busiest route (bench/ingest.py).
@router.post("/webhooks/evolution", response_model=None)
async def evolution_webhook(request: Request) -> JSONResponse:
    """Receive one Evolution API event (webhook with `byEvents=false`)."""
    return await _answer(request, await get_runtime(request), None)


@router.post("/webhooks/evolution/{event_suffix}", response_model=None)
async def evolution_webhook_by_event(event_suffix: str, request: Request) -> JSONResponse:
    """Receive one Evolution API event (webhook with `byEvents=true`: `/messages-upsert`...)."""
    return await _answer(request, await get_runtime(request), event_suffix)
