"""Request and response models of the import endpoints (CSV jobs and the bulk JSON path)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from zapcrm.contacts.importing.progress import Progress
from zapcrm.models import ImportJob

Policy = Literal["skip", "fill_empty", "overwrite"]
Region = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
_Short = Annotated[str, StringConstraints(max_length=1000)]


class ImportStart(BaseModel):
    """How to read the uploaded file: each column's target, the policy, the phones' region."""

    model_config = ConfigDict(extra="forbid")

    mapping: dict[Annotated[str, StringConstraints(max_length=200)], _Short] = Field(
        description="coluna -> name | phone | email | tags | source | stage | custom.<chave>"
        " | ignore; colunas ausentes são ignoradas",
        max_length=500,
    )
    existing_policy: Policy = "skip"
    default_region: Region = "BR"


class ImportPreview(BaseModel):
    """What the upload pass found in the file."""

    encoding: str
    delimiter: str
    columns: list[str]
    sample: list[list[str]]
    suggested_mapping: dict[str, str]


class ImportProgress(BaseModel):
    """Rows done, speed and time left."""

    percent: float
    rows_per_second: float | None
    eta_seconds: float | None


class ImportCounts(BaseModel):
    """What became of the rows so far."""

    created: int
    updated: int
    skipped: int
    failed: int
    warned: int = Field(
        description="rows imported without some of their values (created or updated, and also"
        " listed with the reason in the failed-rows file)"
    )


class ImportJobOut(BaseModel):
    """An import job as the API shows it."""

    id: uuid.UUID
    status: str
    file_name: str
    file_size: int
    total_rows: int
    processed_rows: int
    counts: ImportCounts
    progress: ImportProgress
    existing_policy: str
    mapping: dict[str, str]
    default_region: str | None
    error: str | None
    failed_rows_url: str | None
    preview: ImportPreview
    created_by: uuid.UUID | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, job: ImportJob) -> ImportJobOut:
        """The API view of a job row."""
        progress = Progress.of(job)
        detected: dict[str, Any] = job.detected or {}
        percent = 100.0 * job.processed_rows / job.total_rows if job.total_rows else 0.0
        return cls(
            id=job.id,
            status=job.status,
            file_name=job.file_name,
            file_size=job.file_size,
            total_rows=job.total_rows,
            processed_rows=job.processed_rows,
            counts=ImportCounts(
                created=job.created_count,
                updated=job.updated_count,
                skipped=job.skipped_count,
                failed=job.failed_count,
                warned=job.warned_count,
            ),
            progress=ImportProgress(
                percent=round(percent, 1),
                rows_per_second=progress.rows_per_second,
                eta_seconds=progress.eta_seconds,
            ),
            existing_policy=job.existing_policy,
            mapping=dict(job.mapping.get("columns", {})),
            default_region=job.mapping.get("default_region"),
            error=job.error,
            failed_rows_url=(
                f"/api/contacts/imports/{job.id}/failed.csv" if job.failed_path else None
            ),
            preview=ImportPreview(
                encoding=detected.get("encoding", ""),
                delimiter=detected.get("delimiter", ""),
                columns=detected.get("columns", []),
                sample=detected.get("sample", []),
                suggested_mapping=detected.get("suggested_mapping", {}),
            ),
            created_by=job.created_by,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
        )


class ImportList(BaseModel):
    """Recent jobs, newest first."""

    items: list[ImportJobOut]


class BulkContact(BaseModel):
    """One contact sent by an external integration; the same rules as a CSV row."""

    model_config = ConfigDict(extra="forbid")

    phone: Annotated[str, StringConstraints(max_length=100)] | None = None
    name: _Short | None = None
    email: _Short | None = None
    source: _Short | None = None
    stage: _Short | None = None
    tags: list[_Short] | _Short | None = Field(default=None)
    custom_fields: dict[Annotated[str, StringConstraints(max_length=100)], Any] = Field(
        default_factory=dict, max_length=100
    )


class BulkItem(BaseModel):
    """What became of one item, by its position in the request."""

    index: int
    status: Literal["created", "updated", "skipped", "failed"]
    contact_id: uuid.UUID | None = None
    reason: str | None = None
    warnings: list[str] = Field(
        default_factory=list, description="values left out of an imported item, and why"
    )


class BulkResult(BaseModel):
    """Counts plus one entry per item, in request order."""

    created: int
    updated: int
    skipped: int
    failed: int
    warned: int = Field(description="items imported without some of their values")
    items: list[BulkItem]
