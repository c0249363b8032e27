"""Queue handler of `contacts:import`: run one CSV import job to its end.

Register with `worker.register(IMPORT_STREAM, handler=handler, concurrency=1,
on_exhausted=handler.on_exhausted, claim_idle_ms=...)`: one import at a time per worker keeps
Postgres for the rest. The handler is idempotent: a finished, cancelled or failed job is a
no-op, and an interrupted one resumes after its last committed chunk.

A job whose entry used up its attempts lands in `contacts:import:dead`. When its last attempt
fails (the database or Redis stayed away through every retry), the handler first marks the job
`failed` with the reason and publishes it, so the page stops showing it as running (issue 5);
`dead_letter_ids` and `held_elsewhere` tell the retry endpoint whether a job left `queued` or
`running` all the same (the database was still down for that mark) may be queued again. An
entry whose workers died on it every time never reaches the handler: the runtime calls
`on_exhausted` (register it with the stream), which records the failure the same way.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

from redis.asyncio import Redis
from redis.exceptions import RedisError

from zapcrm.contacts.importing.runner import (
    LEASE_SECONDS,
    ImportBusy,
    ImportFailed,
    ImportRunner,
    abandon_job,
    is_transient,
    lease_key,
)
from zapcrm.contacts.importing.service import IMPORT_STREAM
from zapcrm.db import Database
from zapcrm.logging import get_logger
from zapcrm.worker import Job, PermanentJobError, RetryJobLater, dead_letters

__all__ = ["IMPORT_STREAM", "ContactImportHandler", "dead_letter_ids", "held_elsewhere"]

log = get_logger(__name__)

_DEAD_PAGE = 500
# Pauses between tries of the final `failed` mark: the failure being given up on is often the
# database itself, which may be back a few seconds later.
GIVE_UP_DELAYS = (1.0, 3.0, 10.0)


def give_up_reason(error: BaseException, attempts: int) -> str:
    """The pt-BR reason recorded on a job the queue stopped retrying."""
    if is_transient(error):
        return (
            f"a importação falhou: o banco de dados ou o Redis ficou indisponível nas {attempts}"
            " tentativas; tente de novo quando o serviço voltar"
        )
    return f"a importação falhou: erro interno ({type(error).__name__}) nas {attempts} tentativas"


async def dead_letter_ids(redis: Redis, job_id: uuid.UUID) -> list[str]:
    """The ids of the dead letters of `contacts:import` naming this job (usually none or one)."""
    found: list[str] = []
    after: str | None = None
    # The dead stream of imports holds a handful of entries (one per failed job), so reading
    # it through is cheaper than keeping an index of it.
    while letters := await dead_letters(redis, IMPORT_STREAM, _DEAD_PAGE, after=after):
        found.extend(
            letter.dead_id
            for letter in letters
            if letter.payload is not None and letter.payload.get("job_id") == str(job_id)
        )
        after = letters[-1].dead_id
    return found


async def held_elsewhere(redis: Redis, job_id: uuid.UUID) -> bool:
    """Whether a runner holds the job's lease right now."""
    return bool(await redis.exists(lease_key(job_id)))


class ContactImportHandler:
    """Handler for `contacts:import` entries `{"job_id", "company_id"}`."""

    def __init__(
        self, db: Database, redis: Redis, *, give_up_delays: Sequence[float] = GIVE_UP_DELAYS
    ) -> None:
        self.db = db
        self.redis = redis
        self.give_up_delays = tuple(give_up_delays)

    async def __call__(self, job: Job) -> None:
        """Run the import the entry names (or finish it, after a crash)."""
        try:
            job_id = uuid.UUID(str(job.payload["job_id"]))
            company_id = uuid.UUID(str(job.payload["company_id"]))
        except (KeyError, ValueError):
            raise PermanentJobError("contacts:import entry without job_id/company_id") from None
        runner = ImportRunner(self.db, company_id, job_id, redis=self.redis)
        try:
            await runner.run()
        except ImportBusy:
            # Another worker is running it (this entry was reclaimed from a stalled one); come
            # back later, when it is either finished (a no-op) or abandoned (resumed here).
            raise RetryJobLater(LEASE_SECONDS / 2, "import running elsewhere") from None
        except ImportFailed as error:
            raise PermanentJobError(f"import {job_id} failed: {error}") from error
        except Exception as error:
            if job.last_attempt:
                await self._give_up(company_id, job_id, give_up_reason(error, job.attempt + 1))
            raise

    async def on_exhausted(self, job: Job, error: BaseException) -> None:
        """The entry ran out of deliveries without an outcome (its workers died or stalled
        each time, e.g. killed for memory): record the job as failed unless a runner holds it."""
        try:
            job_id = uuid.UUID(str(job.payload["job_id"]))
            company_id = uuid.UUID(str(job.payload["company_id"]))
        except (KeyError, ValueError):
            return
        try:
            if await held_elsewhere(self.redis, job_id):
                return  # a runner is still at it (slow, not dead): it finishes the job
        except (RedisError, OSError):
            pass  # unknown: the mark stops a live runner at its next chunk, losing nothing
        reason = (
            f"a importação falhou: o processamento foi interrompido nas {job.attempt}"
            " tentativas (o worker parou no meio); tente de novo"
        )
        await self._give_up(company_id, job_id, reason)

    async def _give_up(self, company_id: uuid.UUID, job_id: uuid.UUID, reason: str) -> None:
        """Mark the job failed before its entry is buried, trying again while Postgres is away."""
        for pause in (*self.give_up_delays, None):
            try:
                await abandon_job(self.db, company_id, job_id, reason=reason, redis=self.redis)
                return
            except Exception as error:  # noqa: BLE001 - logged; the entry is buried anyway
                if not is_transient(error) or pause is None:
                    # Left queued/running: the retry endpoint still accepts it (dead-lettered).
                    log.error(
                        "import.give_up_failed",
                        job_id=str(job_id),
                        error_type=type(error).__name__,
                    )
                    return
                await asyncio.sleep(pause)
