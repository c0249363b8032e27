"""Retrying an import: a failed or dead-lettered job is queued again, resumes after its last
checkpoint without applying a row twice, drops its dead letter and leaves an audit entry; any
other state answers 409."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any, cast

import httpx
import orjson
import pytest
from sqlalchemy.exc import OperationalError

from tests.conftest import Factory, login
from tests.contacts.importing.conftest import (
    UPLOAD_ROUTE,
    Tenant,
    contacts_of,
    csv_bytes,
    import_file,
    job_status,
    new_tenant,
    query,
    run_job,
    timeline_kinds,
    upload,
)
from zapcrm.contacts.importing import limits, repository
from zapcrm.contacts.importing.jobs import IMPORT_STREAM
from zapcrm.contacts.importing.runner import lease_key
from zapcrm.models import Role
from zapcrm.runtime import Runtime
from zapcrm.worker import PermanentJobError, dead_key, dead_letters
from zapcrm.worker._dead import dead_letter_fields

# 12 rows in chunks of 3: every chunk has one failed row and one duplicate of an earlier row.
ROWS = [
    "Ana,11987650001", "Bia,11987650002", "Erro A,12",
    "Ana,(11) 98765-0001", "Caio,11987650003", "Erro B,13",
    "Dani,11987650004", "Bia,1187650002", "Erro C,14",
    "Eli,11987650005", "Caio,+55 11 98765-0003", "Erro D,15",
]  # fmt: skip
# What an uninterrupted run of ROWS ends with: 5 people, 3 later rows of them, 4 bad rows.
CLEAN_COUNTS = {"created": 5, "updated": 0, "skipped": 3, "failed": 4, "warned": 0}


async def _queued_job(api: httpx.AsyncClient, tenant: Tenant, role: Role = Role.OPERATOR) -> str:
    headers = tenant.headers[role]
    job = (await upload(api, headers, csv_bytes(["nome,telefone", *ROWS]))).json()
    started = await api.post(
        f"{UPLOAD_ROUTE}/{job['id']}/start",
        json={"mapping": {"nome": "name", "telefone": "phone"}},
        headers=headers,
    )
    assert started.status_code == 202, started.text
    return str(job["id"])


async def _run_breaking_at_chunk(
    runtime: Runtime,
    tenant: Tenant,
    job_id: str,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    raised: type[BaseException],
    *,
    at: int = 3,
) -> None:
    """Run the job with the checkpoint of chunk `at` failing with `error` (the handler then
    raises `raised`, which decides what the worker does with the entry)."""
    real_record = repository.record_chunk
    calls = 0

    async def record_then_break(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == at:
            raise error
        return await real_record(*args, **kwargs)

    monkeypatch.setattr(repository, "record_chunk", record_then_break)
    with pytest.raises(raised):
        await run_job(runtime, job_id, tenant.company_id)
    monkeypatch.setattr(repository, "record_chunk", real_record)


async def _bury(runtime: Runtime, job_id: str, company_id: uuid.UUID) -> str:
    """Write the dead letter the worker writes when the job's entry used up its attempts."""
    payload = {"job_id": job_id, "company_id": str(company_id), "outbox_id": 1}
    fields = dead_letter_fields(
        raw_payload=orjson.dumps(payload).decode(),
        error=RuntimeError("boom"),
        attempts=5,
        entry_id="1-0",
        origin_id="1-0",
    )
    return str(await runtime.redis.xadd(dead_key(IMPORT_STREAM), fields))


async def _letters_of(runtime: Runtime, job_id: str) -> list[str]:
    letters = await dead_letters(runtime.redis, IMPORT_STREAM, 10_000)
    return [letter.dead_id for letter in letters if (letter.payload or {}).get("job_id") == job_id]


async def _job(api: httpx.AsyncClient, tenant: Tenant, job_id: str) -> dict[str, Any]:
    response = await api.get(f"{UPLOAD_ROUTE}/{job_id}", headers=tenant.headers[Role.OPERATOR])
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _queued_entries(runtime: Runtime, job_id: str) -> int:
    entries = cast(
        list[tuple[str, dict[str, str]]], await runtime.redis.xrange(IMPORT_STREAM, "-", "+")
    )
    payloads = [orjson.loads(fields["payload"]) for _, fields in entries]
    return sum(1 for payload in payloads if payload["job_id"] == job_id)


async def _check_clean_result(
    runtime: Runtime, api: httpx.AsyncClient, tenant: Tenant, job_id: str
) -> None:
    final = await _job(api, tenant, job_id)
    assert final["status"] == "completed"
    assert final["processed_rows"] == 12
    assert final["counts"] == CLEAN_COUNTS
    assert final["error"] is None
    contacts = await contacts_of(runtime.db, tenant.company_id)
    assert sorted(c["name"] for c in contacts) == ["Ana", "Bia", "Caio", "Dani", "Eli"]
    assert await timeline_kinds(runtime.db, tenant.company_id) == {"import.created": 5}
    failed = await api.get(final["failed_rows_url"], headers=tenant.headers[Role.OPERATOR])
    lines = [line.split(",")[0] for line in failed.text.lstrip("\ufeff").splitlines()[1:]]
    assert lines == ["4", "7", "10", "13"]


async def test_a_failed_job_retried_by_its_creator_resumes_and_repeats_nothing(
    imports_api: httpx.AsyncClient,
    runtime: Runtime,
    factory: Factory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(limits, "CHUNK_ROWS", 3)
    tenant = await new_tenant(factory, imports_api, (Role.OPERATOR,))
    job_id = await _queued_job(imports_api, tenant)
    await _run_breaking_at_chunk(
        runtime, tenant, job_id, monkeypatch, RuntimeError("a bug, since fixed"), PermanentJobError
    )
    failed = await _job(imports_api, tenant, job_id)
    assert failed["status"] == "failed"
    assert failed["error"] == "a importação falhou: erro interno (RuntimeError)"
    assert failed["processed_rows"] == 6
    await _bury(runtime, job_id, tenant.company_id)
    entries_before = await _queued_entries(runtime, job_id)

    retried = await imports_api.post(
        f"{UPLOAD_ROUTE}/{job_id}/retry", headers=tenant.headers[Role.OPERATOR]
    )

    assert retried.status_code == 202, retried.text
    body = retried.json()
    assert (body["status"], body["error"], body["finished_at"]) == ("queued", None, None)
    assert body["processed_rows"] == 6  # the checkpoint stays: it resumes from there
    assert await _queued_entries(runtime, job_id) == entries_before + 1
    assert await _letters_of(runtime, job_id) == []
    (audit,) = await query(
        runtime.db,
        "select actor_id, action, target_type, details from audit_log"
        " where company_id = :c and target_id = :id",
        c=tenant.company_id,
        id=job_id,
    )
    assert audit["actor_id"] == tenant.users[Role.OPERATOR].id
    assert (audit["action"], audit["target_type"]) == ("import.retried", "import_job")
    assert audit["details"]["status"] == "failed"
    assert audit["details"]["dead_lettered"] is True

    await run_job(runtime, job_id, tenant.company_id)
    await _check_clean_result(runtime, imports_api, tenant, job_id)


async def test_a_job_stranded_in_the_dead_letters_can_be_retried_once_no_one_runs_it(
    imports_api: httpx.AsyncClient,
    runtime: Runtime,
    factory: Factory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(limits, "CHUNK_ROWS", 3)
    tenant = await new_tenant(factory, imports_api, (Role.OPERATOR, Role.SUPERVISOR))
    job_id = await _queued_job(imports_api, tenant)
    # The database kept failing: the entry used up its attempts while the row says running.
    transient = OperationalError("update import_jobs", {}, ConnectionError("server closed"))
    await _run_breaking_at_chunk(runtime, tenant, job_id, monkeypatch, transient, OperationalError)
    assert await job_status(runtime.db, job_id) == "running"
    url = f"{UPLOAD_ROUTE}/{job_id}/retry"
    supervisor = tenant.headers[Role.SUPERVISOR]

    not_dead = await imports_api.post(url, headers=supervisor)
    assert not_dead.status_code == 409
    assert not_dead.json()["error"]["message"] == "esta importação está em andamento"

    await _bury(runtime, job_id, tenant.company_id)
    await runtime.redis.set(lease_key(uuid.UUID(job_id)), "another-worker", ex=30)
    held = await imports_api.post(url, headers=supervisor)
    assert held.status_code == 409
    assert len(await _letters_of(runtime, job_id)) == 1

    await runtime.redis.delete(lease_key(uuid.UUID(job_id)))
    retried = await imports_api.post(url, headers=supervisor)
    assert retried.status_code == 202, retried.text
    assert retried.json()["status"] == "queued"
    assert await _letters_of(runtime, job_id) == []
    await run_job(runtime, job_id, tenant.company_id)
    await _check_clean_result(runtime, imports_api, tenant, job_id)


async def test_only_failed_or_dead_lettered_jobs_can_be_retried(
    imports_api: httpx.AsyncClient, runtime: Runtime, factory: Factory
) -> None:
    tenant = await new_tenant(factory, imports_api, (Role.OPERATOR,))
    headers = tenant.headers[Role.OPERATOR]
    uploaded = (await upload(imports_api, headers, csv_bytes(["nome,telefone", *ROWS]))).json()
    queued = await _queued_job(imports_api, tenant)
    cancelled = await _queued_job(imports_api, tenant)
    assert (
        await imports_api.post(f"{UPLOAD_ROUTE}/{cancelled}/cancel", headers=headers)
    ).is_success
    completed = await import_file(imports_api, runtime, tenant, csv_bytes(["nome,telefone", *ROWS]))
    expected = {
        uploaded["id"]: "esta importação ainda não foi iniciada: escolha as colunas e importe",
        queued: "esta importação já está na fila",
        cancelled: "esta importação foi cancelada: envie o arquivo de novo para importá-lo",
        completed["id"]: "esta importação já foi concluída",
    }
    for job_id, message in expected.items():
        before = await _job(imports_api, tenant, job_id)
        refused = await imports_api.post(f"{UPLOAD_ROUTE}/{job_id}/retry", headers=headers)
        assert refused.status_code == 409, job_id
        assert refused.json()["error"]["message"] == message
        assert await _job(imports_api, tenant, job_id) == before
    missing = await imports_api.post(f"{UPLOAD_ROUTE}/{uuid.uuid4()}/retry", headers=headers)
    assert missing.status_code == 404


async def test_a_job_whose_file_is_gone_cannot_be_retried(
    imports_api: httpx.AsyncClient, runtime: Runtime, factory: Factory
) -> None:
    tenant = await new_tenant(factory, imports_api, (Role.OPERATOR,))
    job_id = await _queued_job(imports_api, tenant)
    (row,) = await query(runtime.db, "select file_path from import_jobs where id = :id", id=job_id)
    await asyncio.to_thread(Path(row["file_path"]).unlink)
    with pytest.raises(PermanentJobError):
        await run_job(runtime, job_id, tenant.company_id)
    assert await job_status(runtime.db, job_id) == "failed"
    refused = await imports_api.post(
        f"{UPLOAD_ROUTE}/{job_id}/retry", headers=tenant.headers[Role.OPERATOR]
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["message"] == (
        "o arquivo desta importação não está mais disponível: envie-o de novo"
    )
    assert await job_status(runtime.db, job_id) == "failed"


async def test_only_the_creator_and_supervisors_may_retry(
    imports_api: httpx.AsyncClient,
    runtime: Runtime,
    factory: Factory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(limits, "CHUNK_ROWS", 3)
    tenant = await new_tenant(factory, imports_api, (Role.OPERATOR, Role.SUPERVISOR))
    colleague = await login(imports_api, await factory.user(tenant.company_id, Role.OPERATOR))
    other = await new_tenant(factory, imports_api, (Role.ADMIN,))
    job_id = await _queued_job(imports_api, tenant)
    await _run_breaking_at_chunk(
        runtime, tenant, job_id, monkeypatch, RuntimeError("bug"), PermanentJobError
    )
    url = f"{UPLOAD_ROUTE}/{job_id}/retry"
    for headers in (colleague, other.headers[Role.ADMIN]):
        assert (await imports_api.post(url, headers=headers)).status_code == 404
    assert await job_status(runtime.db, job_id) == "failed"
    retried = await imports_api.post(url, headers=tenant.headers[Role.SUPERVISOR])
    assert retried.status_code == 202, retried.text
    assert await job_status(runtime.db, job_id) == "queued"


async def test_rows_a_lane_committed_before_the_failure_count_once_after_the_retry(
    imports_api: httpx.AsyncClient,
    runtime: Runtime,
    factory: Factory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(limits, "IMPORT_LANES", 2)
    tenant = await new_tenant(factory, imports_api, (Role.OPERATOR,))
    headers = tenant.headers[Role.OPERATOR]
    people = [f"P{index},1198767{index:04d}" for index in range(40)]
    job = (await upload(imports_api, headers, csv_bytes(["nome,telefone", *people]))).json()
    started = await imports_api.post(
        f"{UPLOAD_ROUTE}/{job['id']}/start",
        json={"mapping": {"nome": "name", "telefone": "phone"}},
        headers=headers,
    )
    assert started.status_code == 202
    # The one chunk fails for good after the second lane committed its half of the people.
    await _run_breaking_at_chunk(
        runtime, tenant, job["id"], monkeypatch, RuntimeError("bug"), PermanentJobError, at=1
    )
    failed = await _job(imports_api, tenant, job["id"])
    assert (failed["status"], failed["processed_rows"]) == ("failed", 0)
    assert 0 < len(await contacts_of(runtime.db, tenant.company_id)) < 40

    retried = await imports_api.post(f"{UPLOAD_ROUTE}/{job['id']}/retry", headers=headers)
    assert retried.status_code == 202, retried.text
    await run_job(runtime, job["id"], tenant.company_id)

    final = await _job(imports_api, tenant, job["id"])
    assert final["status"] == "completed"
    assert final["counts"] == {"created": 40, "updated": 0, "skipped": 0, "failed": 0, "warned": 0}
    assert await timeline_kinds(runtime.db, tenant.company_id) == {"import.created": 40}
