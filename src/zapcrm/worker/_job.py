"""Jobs as handlers see them, the errors handlers raise, and how a job is stored in a stream entry.

A stream entry carries three fields: `payload` (the job's JSON object), `attempt` (how many
runs already failed) and, for a retried job, `origin` (the id of the entry first enqueued).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from redis.typing import EncodableT, FieldT

PAYLOAD_FIELD = "payload"
ATTEMPT_FIELD = "attempt"
ORIGIN_FIELD = "origin"


def retry_key(stream: str) -> str:
    """The sorted set holding a stream's scheduled retries, scored by due time."""
    return f"{stream}:retry"


def dead_key(stream: str) -> str:
    """The stream holding a stream's dead letters."""
    return f"{stream}:dead"


def entry_time(entry_id: str) -> float:
    """The unix time, in seconds, at which Redis created a stream entry id."""
    return int(entry_id.partition("-")[0]) / 1000


@dataclass(frozen=True, slots=True)
class Job:
    """One queue entry handed to a handler; `attempt` counts the runs that already failed.

    `max_attempts` is the stream's limit as registered (0 when the job was built outside a
    runtime, so unknown).
    """

    stream: str
    entry_id: str
    payload: Mapping[str, Any]
    attempt: int = 0
    origin_id: str = ""
    max_attempts: int = 0

    @property
    def last_attempt(self) -> bool:
        """Whether a failure of this run sends the job to the dead letters, whatever it is.

        A handler uses it to record that it gives up (a row left `running` forever otherwise)
        before the runtime buries the entry.
        """
        return 0 < self.max_attempts <= self.attempt + 1

    @property
    def enqueued_at(self) -> float:
        """When this entry was added to the stream (a retry is a new entry), as unix time."""
        return entry_time(self.entry_id)

    @property
    def first_enqueued_at(self) -> float:
        """When the job was first enqueued (before any retry or deferral), as unix time."""
        return entry_time(self.origin_id or self.entry_id)


class JobError(Exception):
    """Base of the exceptions a handler raises to decide what happens to its job."""


class PermanentJobError(JobError):
    """The job can never succeed: move it to the dead letters now, without retrying."""


class RetryJobLater(JobError):
    """Run the job again after `delay_seconds` (counts as an attempt, replaces the backoff)."""

    def __init__(self, delay_seconds: float, message: str = "") -> None:
        super().__init__(message or f"retry requested in {delay_seconds:g}s")
        self.delay_seconds = max(0.0, delay_seconds)


class DeferJob(RetryJobLater):
    """Run the job again after `delay_seconds` WITHOUT spending an attempt: it did not run.

    For a job that found what it needs busy or out of reach before doing anything (another
    worker's turn, a server in its wait, a rate limit, an echo still due). Counting those as
    failed runs sent healthy jobs to the dead letters during a long outage, long before their
    own time limit. The attempt limit no longer bounds a deferred job: its handler must (an age
    after which it fails the job, or raises something else).
    """


class MalformedEntry(PermanentJobError):
    """A stream entry without a JSON object payload (written by something other than enqueue)."""


class DeliveriesExhausted(PermanentJobError):
    """An entry was delivered max_attempts times and never acknowledged (its workers died)."""


def encode_payload(payload: Mapping[str, Any]) -> str:
    """The JSON text stored in an entry's `payload` field."""
    # orjson only serialises real dicts; a read-only Mapping is copied once here.
    document = payload if isinstance(payload, dict) else dict(payload)
    return orjson.dumps(document).decode()


def entry_fields(
    raw_payload: str, attempt: int, origin_id: str | None = None
) -> dict[FieldT, EncodableT]:
    """The fields of a stream entry for a job (typed the way redis-py's XADD wants them)."""
    fields: dict[FieldT, EncodableT] = {PAYLOAD_FIELD: raw_payload, ATTEMPT_FIELD: str(attempt)}
    if origin_id:
        fields[ORIGIN_FIELD] = origin_id
    return fields


def decode_job(stream: str, entry_id: str, fields: Mapping[str, str]) -> Job:
    """Build the Job of a stream entry, raising MalformedEntry when it is not one of ours."""
    raw = fields.get(PAYLOAD_FIELD)
    if raw is None:
        raise MalformedEntry(f"entry has no {PAYLOAD_FIELD!r} field")
    try:
        payload = orjson.loads(raw)
        attempt = int(fields.get(ATTEMPT_FIELD, 0))
    except (orjson.JSONDecodeError, ValueError) as error:
        raise MalformedEntry(f"undecodable entry: {error}") from None
    if not isinstance(payload, dict):
        raise MalformedEntry(f"payload is a JSON {type(payload).__name__}, not an object")
    return Job(
        stream=stream,
        entry_id=entry_id,
        payload=payload,
        attempt=max(0, attempt),
        origin_id=fields.get(ORIGIN_FIELD) or entry_id,
    )
