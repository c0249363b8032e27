"""`zapcrm worker`: every stream's consumers, the outbox relay, the alert watch, the
scheduled instance credential sync, the campaign dispatcher, the snooze alarm clock and the
funnel counts' upkeep, in one process."""

from __future__ import annotations

import asyncio

from prometheus_client import start_http_server

from zapcrm.campaigns.dispatch import dispatch_forever
from zapcrm.config import Settings
from zapcrm.contacts.importing.jobs import IMPORT_STREAM, ContactImportHandler
from zapcrm.contacts.jobs import fold_tallies_forever, prune_name_words_forever
from zapcrm.distribution.jobs import distribute_forever
from zapcrm.evolution.credentials import CredentialBox
from zapcrm.evolution.rotation import sync_forever
from zapcrm.kit.periodic import every, sleep_unless_stopped
from zapcrm.logging import get_logger
from zapcrm.messaging.jobs import MEDIA_STREAM, IncomingHandler, MediaHandler
from zapcrm.messaging.media import build_media_storage
from zapcrm.messaging.media_sweep import sweep_forever
from zapcrm.messaging.sending import OutgoingHandler, requeue_held
from zapcrm.messaging.service.outbound import OUTGOING_STREAM
from zapcrm.messaging.snooze import wake_forever
from zapcrm.ops.queues import AlertTracker, instance_alerts, snapshot, stream_alerts
from zapcrm.outbox import INCOMING_STREAM, relay_forever
from zapcrm.runtime import Runtime
from zapcrm.scheduling.jobs import send_due_forever
from zapcrm.worker import WorkerRuntime, install_signal_handlers

log = get_logger(__name__)


def build_worker(runtime: Runtime) -> WorkerRuntime:
    """A WorkerRuntime with every zapcrm stream registered."""
    claim_idle_ms = runtime.settings.worker_claim_idle_ms
    worker = WorkerRuntime(runtime.redis)
    worker.register(
        INCOMING_STREAM,
        batch_handler=IncomingHandler(runtime.db, runtime.redis),
        batch_size=100,
        concurrency=4,
        claim_idle_ms=claim_idle_ms,
    )
    storage = build_media_storage(runtime.settings)
    worker.register(
        MEDIA_STREAM,
        handler=MediaHandler(
            runtime.db,
            storage,
            runtime.http,
            CredentialBox.from_settings(runtime.settings),
            runtime.outbox,
        ),
        concurrency=4,
        batch_size=20,
        claim_idle_ms=claim_idle_ms,
    )
    worker.register(
        OUTGOING_STREAM,
        handler=OutgoingHandler(runtime, CredentialBox.from_settings(runtime.settings)),
        concurrency=8,
        batch_size=20,
        max_attempts=12,
        base_delay=2.0,
        max_delay=120.0,
        claim_idle_ms=claim_idle_ms,
        # One send at a time per instance: WhatsApp numbers get flagged for bursts.
        order_key=lambda payload: str(payload.get("instance_id")),
    )
    imports = ContactImportHandler(runtime.db, runtime.redis)
    worker.register(
        IMPORT_STREAM,
        handler=imports,
        # One import at a time per worker leaves Postgres to the message streams.
        concurrency=1,
        batch_size=1,
        claim_idle_ms=claim_idle_ms,
        on_exhausted=imports.on_exhausted,
    )
    return worker


async def watch_alerts(
    runtime: Runtime,
    stop: asyncio.Event,
    *,
    interval: float = 30.0,
    settle: float = 5.0,
    tracker: AlertTracker | None = None,
) -> None:
    """Evaluate the alert conditions periodically (each raise and clear is logged once) and
    queue again sends left waiting on a connected instance.

    The first evaluation waits `settle` seconds: this worker starts its consumers and its
    heartbeat at the same moment, and an evaluation before the first beat raised `no_worker`
    for every stream it serves, at every start."""
    tracker = tracker or AlertTracker()
    await sleep_unless_stopped(stop, settle)

    async def evaluate() -> None:
        stats, workers = await snapshot(runtime.redis)
        async with runtime.db.service_session() as session:
            found = stream_alerts(stats, workers) + await instance_alerts(session, None)
        tracker.update(found)
        await requeue_held(runtime)

    await every(interval, stop, evaluate, failure="alerts.evaluation_failed")


async def run_worker(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Run until SIGTERM/SIGINT (or `stop`), then finish in-flight jobs and exit."""
    stop = stop or asyncio.Event()
    install_signal_handlers(stop)
    runtime = Runtime.build(settings)
    worker = build_worker(runtime)
    if settings.worker_metrics_port:
        # Queue counters, handler latency and alert gauges live in this process.
        try:
            start_http_server(settings.worker_metrics_port, addr="127.0.0.1")
        except OSError as error:  # a second worker on the host: the first one exports
            log.warning(
                "worker.metrics_port_busy", port=settings.worker_metrics_port, error=str(error)
            )
    try:
        await asyncio.gather(
            worker.run(stop),
            relay_forever(runtime.db, runtime.redis, stop),
            watch_alerts(runtime, stop),
            sync_forever(runtime, stop),
            sweep_forever(runtime, stop),
            dispatch_forever(runtime, stop),
            wake_forever(runtime, stop),
            distribute_forever(runtime, stop),
            send_due_forever(runtime, stop),
            fold_tallies_forever(runtime, stop),
            prune_name_words_forever(runtime, stop),
        )
    finally:
        await runtime.close()
