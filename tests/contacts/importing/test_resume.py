"""An interrupted job resumes after its last committed chunk: nothing lost, nothing twice."""

from __future__ import annotations

import csv
import io
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy.exc import OperationalError

from tests.conftest import Factory
from tests.contacts.importing.conftest import (
    UPLOAD_ROUTE,
    Tenant,
    contacts_of,
    csv_bytes,
    job_status,
    new_tenant,
    query,
    run_job,
    timeline_kinds,
    upload,
)
from zapcrm.contacts.importing import failed as failed_module
from zapcrm.contacts.importing import limits, repository
from zapcrm.contacts.importing.jobs import ContactImportHandler
from zapcrm.models import Role
from zapcrm.runtime import Runtime
from zapcrm.worker import Job, PermanentJobError, RetryJobLater

# 12 rows in chunks of 3: every chunk has one failed row and one duplicate of an earlier row;
# Caio (line 6, before the crash below) and Eli (line 11, after it) come without their e-mails.
ROWS = [
    "Ana,11987650001,", "Bia,11987650002,", "Erro A,12,",
    "Ana,(11) 98765-0001,", "Caio,11987650003,caio@", "Erro B,13,",
    "Dani,11987650004,", "Bia,1187650002,", "Erro C,14,",
    "Eli,11987650005,eli@", "Caio,+55 11 98765-0003,", "Erro D,15,",
]  # fmt: skip


async def _queued_job(imports_api: httpx.AsyncClient, tenant: Tenant) -> str:
    headers = tenant.headers[Role.OPERATOR]
    job = (await upload(imports_api, headers, csv_bytes(["nome,telefone,email", *ROWS]))).json()
    started = await imports_api.post(
        f"{UPLOAD_ROUTE}/{job['id']}/start",
        json={"mapping": {"nome": "name", "telefone": "phone", "email": "email"}},
        headers=headers,
    )
    assert started.status_code == 202
    return str(job["id"])


def _transient() -> OperationalError:
    return OperationalError("update import_jobs", {}, ConnectionError("server closed"))


async def _outcome(runtime: Runtime, tenant: Tenant, job_id: str) -> dict[str, Any]:
    (job,) = await query(
        runtime.db,
        "select status, processed_rows, created_count, updated_count, skipped_count,"
        " failed_count, warned_count, failed_path from import_jobs where id = :id",
        id=job_id,
    )
    return job


def _remove(path: str) -> None:
    Path(path).unlink()


def _failed_lines(path: str) -> list[str]:
    text = Path(path).read_text(encoding="utf-8-sig")
    return [row[0] for row in csv.reader(io.StringIO(text))][1:]


@pytest.mark.parametrize("hard_crash", [False, True])
async def test_a_crash_mid_file_resumes_exactly(
    imports_api: httpx.AsyncClient,
    runtime: Runtime,
    factory: Factory,
    monkeypatch: pytest.MonkeyPatch,
    hard_crash: bool,
) -> None:
    monkeypatch.setattr(limits, "CHUNK_ROWS", 3)
    tenant = await new_tenant(factory, imports_api, (Role.OPERATOR,))
    job_id = await _queued_job(imports_api, tenant)
    real_record = repository.record_chunk
    calls = 0

    async def record_then_die(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 3:
            # The third chunk's contacts and failed rows are written; its commit never happens.
            raise _transient()
        return await real_record(*args, **kwargs)

    monkeypatch.setattr(repository, "record_chunk", record_then_die)
    if hard_crash:
        # The process dies on the spot: no chance to trim the failed-rows file it appended to.
        monkeypatch.setattr(failed_module.FailedRows, "rewind", lambda self, mark: None)
    with pytest.raises(OperationalError):
        await run_job(runtime, job_id, tenant.company_id)
    interrupted = await _outcome(runtime, tenant, job_id)
    assert interrupted["status"] == "running"
    assert interrupted["processed_rows"] == 6
    assert interrupted["failed_path"] is None

    monkeypatch.setattr(repository, "record_chunk", real_record)
    await run_job(runtime, job_id, tenant.company_id)
    final = await _outcome(runtime, tenant, job_id)
    assert final["status"] == "completed"
    assert final["processed_rows"] == 12
    # Same counts as an uninterrupted run: 5 people, 3 later rows of them, 4 bad rows, 2 bad
    # e-mails (the one before the crash is counted once).
    assert (
        final["created_count"],
        final["updated_count"],
        final["skipped_count"],
        final["failed_count"],
        final["warned_count"],
    ) == (5, 0, 3, 4, 2)
    contacts = await contacts_of(runtime.db, tenant.company_id)
    assert sorted(c["name"] for c in contacts) == ["Ana", "Bia", "Caio", "Dani", "Eli"]
    assert await timeline_kinds(runtime.db, tenant.company_id) == {"import.created": 5}
    assert _failed_lines(final["failed_path"]) == ["4", "6", "7", "10", "11", "13"]


async def test_a_second_runner_waits_for_the_lease(
    imports_api: httpx.AsyncClient, runtime: Runtime, factory: Factory
) -> None:
    tenant = await new_tenant(factory, imports_api, (Role.OPERATOR,))
    job_id = await _queued_job(imports_api, tenant)
    await runtime.redis.set(f"contacts:import:lease:{job_id}", "someone-else", ex=30)
    handler = ContactImportHandler(runtime.db, runtime.redis)
    entry = Job("contacts:import", "1-0", {"job_id": job_id, "company_id": str(tenant.company_id)})
    with pytest.raises(RetryJobLater):
        await handler(entry)
    assert await job_status(runtime.db, job_id) == "queued"
    await runtime.redis.delete(f"contacts:import:lease:{job_id}")
    await handler(entry)
    assert await job_status(runtime.db, job_id) == "completed"


async def test_malformed_entries_and_vanished_files_fail_for_good(
    imports_api: httpx.AsyncClient, runtime: Runtime, factory: Factory
) -> None:
    handler = ContactImportHandler(runtime.db, runtime.redis)
    with pytest.raises(PermanentJobError):
        await handler(Job("contacts:import", "1-0", {"job_id": "nope"}))
    # An entry for a job that does not exist (or another company's) is a no-op.
    await handler(
        Job(
            "contacts:import", "1-0", {"job_id": str(uuid.uuid4()), "company_id": str(uuid.uuid4())}
        )
    )
    tenant = await new_tenant(factory, imports_api, (Role.OPERATOR,))
    job_id = await _queued_job(imports_api, tenant)
    (row,) = await query(runtime.db, "select file_path from import_jobs where id = :id", id=job_id)
    _remove(row["file_path"])
    with pytest.raises(PermanentJobError):
        await handler(
            Job("contacts:import", "1-0", {"job_id": job_id, "company_id": str(tenant.company_id)})
        )
    final = await _outcome(runtime, tenant, job_id)
    assert final["status"] == "failed"
    (job,) = await query(runtime.db, "select error from import_jobs where id = :id", id=job_id)
    assert job["error"] == "a importação falhou: o arquivo enviado não está mais disponível"


async def test_a_lane_that_committed_before_the_chunk_failed_is_counted_once(
    imports_api: httpx.AsyncClient,
    runtime: Runtime,
    factory: Factory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(limits, "IMPORT_LANES", 2)
    tenant = await new_tenant(factory, imports_api, (Role.OPERATOR,))
    headers = tenant.headers[Role.OPERATOR]
    people = [f"P{index},1198766{index:04d}" for index in range(40)]
    # A second row for a few people: under fill_empty it brings their e-mail (an update).
    again = [f"P{index},(11) 98766-{index:04d},p{index}@x.com" for index in range(0, 40, 10)]
    content = csv_bytes(["nome,telefone,email", *people, *again])
    job = (await upload(imports_api, headers, content)).json()
    await imports_api.post(
        f"{UPLOAD_ROUTE}/{job['id']}/start",
        json={
            "mapping": {"nome": "name", "telefone": "phone", "email": "email"},
            "existing_policy": "fill_empty",
        },
        headers=headers,
    )
    real_record = repository.record_chunk
    failures = 0

    async def deadlock_once(*args: Any, **kwargs: Any) -> Any:
        nonlocal failures
        if failures == 0:
            failures += 1
            # The other lane has committed by now; this one (holding the job row) rolls back.
            raise psycopg.errors.DeadlockDetected("deadlock detected")
        return await real_record(*args, **kwargs)

    monkeypatch.setattr(repository, "record_chunk", deadlock_once)
    await run_job(runtime, job["id"], tenant.company_id)
    assert failures == 1
    final = await _outcome(runtime, tenant, job["id"])
    assert (
        final["created_count"],
        final["updated_count"],
        final["skipped_count"],
        final["failed_count"],
    ) == (40, 4, 0, 0)
    assert await timeline_kinds(runtime.db, tenant.company_id) == {
        "import.created": 40,
        "import.updated": 4,
    }
    assert len(await contacts_of(runtime.db, tenant.company_id)) == 40
