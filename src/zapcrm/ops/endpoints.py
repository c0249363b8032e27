"""Operations endpoints: liveness, readiness, Prometheus metrics, queue supervision."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from zapcrm.auth.identity import Identity
from zapcrm.dependencies import RuntimeDep, Supervisor
from zapcrm.logging import get_logger
from zapcrm.ops import queues as queue_ops
from zapcrm.runtime import Runtime
from zapcrm.worker import update_queue_metrics

router = APIRouter(tags=["ops"])
log = get_logger(__name__)

_PROBE_TIMEOUT_SECONDS = 2.0


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up and serving."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    """Postgres and Redis both answer; 503 names the one that does not."""
    checks: dict[str, str] = {}
    for name, probe in (("postgres", runtime.db.ping()), ("redis", runtime.redis.ping())):
        try:
            await asyncio.wait_for(probe, timeout=_PROBE_TIMEOUT_SECONDS)
            checks[name] = "ok"
        except Exception as error:  # noqa: BLE001 - any failure means "not ready"
            log.warning("readyz.failed", dependency=name, error_type=type(error).__name__)
            checks[name] = "unavailable"
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )


class StreamOut(BaseModel):
    """Figures of one queue."""

    stream: str
    length: int
    waiting: int | None
    pending: int
    oldest_pending_seconds: float | None
    retry_scheduled: int
    dead: int
    consumers: int


class WorkerOut(BaseModel):
    """A live worker."""

    consumer: str
    streams: list[str]
    host: str
    pid: int
    started_at: datetime
    last_beat: datetime
    processed: int
    failed: int


class AlertOut(BaseModel):
    """An active alert."""

    alert: str
    subject: str
    severity: str
    message: str


class QueuesOut(BaseModel):
    """Queues, workers and alerts at one moment."""

    at: datetime
    streams: list[StreamOut]
    workers: list[WorkerOut]
    alerts: list[AlertOut]


@router.get("/api/admin/queues", tags=["admin: queues"])
async def queues(supervisor: Supervisor, runtime: RuntimeDep) -> QueuesOut:
    """Length, pending, oldest pending age, retries and dead letters per stream; live workers."""
    return await _report(supervisor, runtime)


@router.get("/api/admin/alerts", tags=["admin: queues"])
async def alerts(supervisor: Supervisor, runtime: RuntimeDep) -> list[AlertOut]:
    """Active alert conditions (queues, workers, this company's instances)."""
    return (await _report(supervisor, runtime)).alerts


async def _report(identity: Identity, runtime: Runtime) -> QueuesOut:
    report = await queue_ops.health_report(runtime.redis, runtime.db, identity.company_id)
    return QueuesOut(
        at=report.at,
        streams=[StreamOut(**dataclasses.asdict(item)) for item in report.streams],
        workers=[
            WorkerOut(**{**dataclasses.asdict(worker), "streams": list(worker.streams)})
            for worker in report.workers
        ],
        alerts=[AlertOut(**dataclasses.asdict(alert)) for alert in report.alerts],
    )


@router.get("/metrics", include_in_schema=False)
async def metrics(runtime: RuntimeDep) -> Response:
    """Prometheus metrics, with the queue gauges refreshed at scrape time."""
    try:
        await update_queue_metrics(runtime.redis, queue_ops.STREAMS)
    except Exception as error:  # noqa: BLE001 - a scrape must still answer without Redis
        log.warning("metrics.queue_refresh_failed", error_type=type(error).__name__)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
