"""Prometheus metrics of the queues, registered once per process in the default registry.

Counters and the latency histogram are updated by the runtime as jobs settle; the gauges hold
the latest figures of `update_queue_metrics`, which the web app calls before serving /metrics.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

PROCESSED = Counter("zapcrm_queue_processed", "Jobs handled and acknowledged.", ["stream"])
FAILED = Counter(
    "zapcrm_queue_failed", "Handler runs that raised (every failed attempt).", ["stream"]
)
RETRIED = Counter("zapcrm_queue_retried", "Retries scheduled after a failed run.", ["stream"])
DEFERRED = Counter(
    "zapcrm_queue_deferred",
    "Jobs put back for later without spending an attempt (what they need was busy or away).",
    ["stream"],
)
DEAD_LETTERED = Counter("zapcrm_queue_dead_lettered", "Jobs moved to the dead letters.", ["stream"])
RECLAIMED = Counter(
    "zapcrm_queue_reclaimed", "Entries taken over from a consumer idle too long.", ["stream"]
)
HANDLER_SECONDS = Histogram(
    "zapcrm_queue_handler_seconds",
    "Duration of one handler call (one job, or one whole batch for batch handlers).",
    ["stream"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)

LENGTH = Gauge("zapcrm_queue_length", "Entries in the stream (XLEN).", ["stream"])
WAITING = Gauge("zapcrm_queue_waiting", "Entries not yet delivered to the group (lag).", ["stream"])
PENDING = Gauge("zapcrm_queue_pending", "Entries delivered and not yet acknowledged.", ["stream"])
OLDEST_PENDING = Gauge(
    "zapcrm_queue_oldest_pending_seconds", "Age of the oldest unacknowledged entry.", ["stream"]
)
RETRY_SCHEDULED = Gauge(
    "zapcrm_queue_retry_scheduled", "Retries waiting for their time.", ["stream"]
)
DEAD = Gauge("zapcrm_queue_dead_letters", "Entries in the dead-letter stream.", ["stream"])
CONSUMERS = Gauge("zapcrm_queue_consumers", "Consumers known to the stream's group.", ["stream"])
