"""The queue runtime: Redis Streams consumer groups with batched acks, retries with backoff,
dead letters, reclaiming of jobs whose worker died, per-key ordering, heartbeats and metrics.

Producers call `enqueue` / `enqueue_many`; a worker process builds a `WorkerRuntime`,
registers one handler per stream and awaits `run(stop)`. Handlers must be idempotent: a job
runs at least once, more than once only when its worker died or stalled past claim_idle_ms.
"""

from zapcrm.worker._config import BatchHandler, ExhaustedHook, Handler, OrderKey
from zapcrm.worker._dead import DeadLetter, dead_letters, drop_dead, replay_dead
from zapcrm.worker._enqueue import enqueue, enqueue_many
from zapcrm.worker._heartbeat import WorkerInfo, live_workers
from zapcrm.worker._job import (
    DeferJob,
    Job,
    JobError,
    PermanentJobError,
    RetryJobLater,
    dead_key,
    retry_key,
)
from zapcrm.worker._retry import backoff_delay
from zapcrm.worker._runtime import WorkerRuntime, install_signal_handlers
from zapcrm.worker._stats import StreamStats, queue_stats, update_queue_metrics

__all__ = [
    "BatchHandler",
    "DeadLetter",
    "DeferJob",
    "ExhaustedHook",
    "Handler",
    "Job",
    "JobError",
    "OrderKey",
    "PermanentJobError",
    "RetryJobLater",
    "StreamStats",
    "WorkerInfo",
    "WorkerRuntime",
    "backoff_delay",
    "dead_key",
    "dead_letters",
    "drop_dead",
    "enqueue",
    "enqueue_many",
    "install_signal_handlers",
    "live_workers",
    "queue_stats",
    "replay_dead",
    "retry_key",
    "update_queue_metrics",
]
