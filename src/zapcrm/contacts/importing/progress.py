"""Where an import job stands: rows done, counts, speed and time left (API and live events)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from zapcrm.models import ImportJob

__all__ = ["Progress"]


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a job stands, as shown by the API and sent as `import.progress` live events."""

    job_id: uuid.UUID
    status: str
    total_rows: int
    processed_rows: int
    created: int
    updated: int
    skipped: int
    failed: int
    # Imported without some of their values (they are in the failed-rows file too).
    warned: int
    rows_per_second: float | None
    eta_seconds: float | None
    # Why a failed job stopped, so an open page can say it without reloading.
    error: str | None = None

    @classmethod
    def of(cls, job: ImportJob, *, rows_per_second: float | None = None) -> Progress:
        """The progress of a job row; speed measured by the caller or derived from its times."""
        if rows_per_second is None and job.started_at is not None and job.processed_rows:
            end = job.finished_at or datetime.now(UTC)
            elapsed = (end - job.started_at).total_seconds()
            rows_per_second = job.processed_rows / elapsed if elapsed > 0 else None
        remaining = max(0, job.total_rows - job.processed_rows)
        running = job.status in ("queued", "running")
        eta = remaining / rows_per_second if running and rows_per_second else None
        return cls(
            job_id=job.id,
            status=job.status,
            total_rows=job.total_rows,
            processed_rows=job.processed_rows,
            created=job.created_count,
            updated=job.updated_count,
            skipped=job.skipped_count,
            failed=job.failed_count,
            warned=job.warned_count,
            rows_per_second=None if rows_per_second is None else round(rows_per_second, 1),
            eta_seconds=None if eta is None else round(eta, 1),
            error=job.error,
        )

    def event_data(self) -> dict[str, Any]:
        """The payload of the live event."""
        return {
            "job_id": str(self.job_id),
            "status": self.status,
            "total_rows": self.total_rows,
            "processed_rows": self.processed_rows,
            "created": self.created,
            "updated": self.updated,
            "skipped": self.skipped,
            "failed": self.failed,
            "warned": self.warned,
            "rows_per_second": self.rows_per_second,
            "eta_seconds": self.eta_seconds,
            "error": self.error,
        }
