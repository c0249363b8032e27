"""Queue supervision: figures per stream, live workers, and the alert conditions.

Alerts (issue 4): no live worker for a stream, the oldest pending entry older than a
threshold, dead letters present, an instance of the company not connected. They are
evaluated on demand (API) and periodically by the worker, which logs each transition once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from prometheus_client import Gauge
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.db import Database
from zapcrm.logging import get_logger
from zapcrm.worker import StreamStats, WorkerInfo, live_workers, queue_stats

log = get_logger(__name__)

STREAMS = (
    "evolution:incoming-messages",
    "evolution:outgoing-messages",
    "evolution:media-sync",
    "contacts:import",
)
OLDEST_PENDING_ALERT_SECONDS = 120.0

ALERT_ACTIVE = Gauge(
    "zapcrm_alert_active", "1 while an alert condition holds", ["alert", "subject"]
)

Severity = Literal["warning", "critical"]


@dataclass(frozen=True, slots=True)
class Alert:
    """One condition that needs a person's attention."""

    alert: str
    subject: str
    severity: Severity
    message: str
    value: str = ""  # the figure the message quotes (seconds, items, connection state)


def stream_alerts(stats: list[StreamStats], workers: list[WorkerInfo]) -> list[Alert]:
    """Alerts about the queues themselves (the same for every company)."""
    alerts = []
    served = {stream for worker in workers for stream in worker.streams}
    for figures in stats:
        if figures.stream not in served:
            alerts.append(
                Alert(
                    "no_worker", figures.stream, "critical", "nenhum worker ativo consome esta fila"
                )
            )
        oldest = figures.oldest_pending_seconds or 0.0
        if oldest > OLDEST_PENDING_ALERT_SECONDS:
            alerts.append(
                Alert(
                    "stale_pending",
                    figures.stream,
                    "warning",
                    f"item pendente há {int(oldest)} s",
                    str(int(oldest)),
                )
            )
        if figures.dead:
            alerts.append(
                Alert(
                    "dead_letters",
                    figures.stream,
                    "warning",
                    f"{figures.dead} itens na fila de mortos ({figures.stream}:dead)",
                    str(figures.dead),
                )
            )
    return alerts


async def instance_alerts(session: AsyncSession, company_id: uuid.UUID | None) -> list[Alert]:
    """Instances that are not connected (all companies when `company_id` is None)."""
    sql = (
        "select external_id, connection_state from evolution_instances"
        " where connection_state <> 'open'"
    )
    params: dict[str, object] = {}
    if company_id is not None:
        sql += " and company_id = :company_id"
        params["company_id"] = company_id
    rows = await session.execute(text(sql), params)
    return [
        Alert(
            "instance_disconnected",
            name,
            "critical",
            f"instância {name} está {state}",
            state,
        )
        for name, state in rows
    ]


@dataclass(frozen=True, slots=True)
class HealthReport:
    """Queues, live workers and active alerts at one moment."""

    at: datetime
    streams: list[StreamStats]
    workers: list[WorkerInfo]
    alerts: list[Alert]


async def health_report(redis: Redis, db: Database, company_id: uuid.UUID) -> HealthReport:
    """What a supervisor of the company sees: every stream, every worker, the alerts in force."""
    stats, workers = await snapshot(redis)
    async with db.service_session() as session:
        company_alerts = await instance_alerts(session, company_id)
    return HealthReport(
        at=evaluated_at(),
        streams=stats,
        workers=workers,
        alerts=stream_alerts(stats, workers) + company_alerts,
    )


async def snapshot(redis: Redis) -> tuple[list[StreamStats], list[WorkerInfo]]:
    """Current figures of every stream and the workers alive now."""
    return await queue_stats(redis, STREAMS), await live_workers(redis)


class AlertTracker:
    """Remembers which alerts were active so each transition is logged once."""

    def __init__(self) -> None:
        self._active: set[tuple[str, str]] = set()

    def update(self, alerts: list[Alert]) -> None:
        """Log raised and cleared alerts, and set the gauge."""
        now = {(alert.alert, alert.subject) for alert in alerts}
        for alert in alerts:
            if (alert.alert, alert.subject) not in self._active:
                log.warning(
                    "alert.raised", alert=alert.alert, subject=alert.subject, detail=alert.message
                )
            ALERT_ACTIVE.labels(alert.alert, alert.subject).set(1)
        for name, subject in self._active - now:
            log.info("alert.cleared", alert=name, subject=subject)
            ALERT_ACTIVE.labels(name, subject).set(0)
        self._active = now


def evaluated_at() -> datetime:
    """When a report was made."""
    return datetime.now(UTC)
