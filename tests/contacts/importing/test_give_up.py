"""Giving up on an import (issue 5): when the last attempt of its queue entry fails (or its
workers died on every delivery), the job is marked `failed` with a pt-BR reason and its live
event is sent, before the entry goes to the dead letters; the retry endpoint then resumes it
like any failed job."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy.exc import OperationalError

from tests.conftest import Factory
from tests.contacts.importing.conftest import (
    UPLOAD_ROUTE,
    Tenant,
    csv_bytes,
    job_status,
    new_tenant,
    run_job,
    upload,
)
from tests.worker.helpers import FAST, wait_until
from zapcrm.contacts.importing import limits, repository, runner
from zapcrm.contacts.importing.jobs import IMPORT_STREAM, ContactImportHandler
from zapcrm.contacts.importing.runner import lease_key
from zapcrm.messaging import realtime
from zapcrm.models import Role
from zapcrm.runtime import Runtime
from zapcrm.worker import Job, WorkerRuntime, dead_key, dead_letters, enqueue
from zapcrm.worker._job import DeliveriesExhausted
from zapcrm.worker.main import build_worker

ROWS = ["Ana,11987650001", "Bia,11987650002", "Erro,12", "Caio,11987650003", "Dani,11987650004"]
DOWN_REASON = (
    "a importação falhou: o banco de dados ou o Redis ficou indisponível nas 3 tentativas;"
    " tente de novo quando o serviço voltar"
)


def _database_down() -> OperationalError:
    return OperationalError("update import_jobs", {}, ConnectionError("server closed"))


async def _queued_job(api: httpx.AsyncClient, tenant: Tenant) -> str:
    headers = tenant.headers[Role.OPERATOR]
    job = (await upload(api, headers, csv_bytes(["nome,telefone", *ROWS]))).json()
    started = await api.post(
        f"{UPLOAD_ROUTE}/{job['id']}/start",
        json={"mapping": {"nome": "name", "telefone": "phone"}},
        headers=headers,
    )
    assert started.status_code == 202, started.text
    return str(job["id"])


def _break_second_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every checkpoint after the first fails as if Postgres went away."""
    real_record = repository.record_chunk
    calls = 0

    async def record_then_fail(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise _database_down()
        return await real_record(*args, **kwargs)

    monkeypatch.setattr(repository, "record_chunk", record_then_fail)


def _entry(job_id: str, tenant: Tenant, *, attempt: int, max_attempts: int = 3) -> Job:
    payload = {"job_id": job_id, "company_id": str(tenant.company_id)}
    return Job(IMPORT_STREAM, "1-0", payload, attempt=attempt, max_attempts=max_attempts)


async def _job(api: httpx.AsyncClient, tenant: Tenant, job_id: str) -> dict[str, Any]:
    response = await api.get(f"{UPLOAD_ROUTE}/{job_id}", headers=tenant.headers[Role.OPERATOR])
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_last_attempt_failing_marks_the_job_failed_and_tells_the_page(
    imports_api: httpx.AsyncClient,
    runtime: Runtime,
    factory: Factory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(limits, "CHUNK_ROWS", 2)
    tenant = await new_tenant(factory, imports_api, (Role.OPERATOR,))
    job_id = await _queued_job(imports_api, tenant)
    _break_second_chunk(monkeypatch)
    handler = ContactImportHandler(runtime.db, runtime.redis, give_up_delays=())
    pubsub = runtime.redis.pubsub()
    await pubsub.subscribe(realtime.channel_for(tenant.company_id))

    # An earlier attempt leaves the job running: the queue will try it again.
    with pytest.raises(OperationalError):
        await handler(_entry(job_id, tenant, attempt=0))
    assert await job_status(runtime.db, job_id) == "running"
    with pytest.raises(OperationalError):  # the runtime buries the entry after this
        await handler(_entry(job_id, tenant, attempt=2))

    failed = await _job(imports_api, tenant, job_id)
    assert (failed["status"], failed["error"]) == ("failed", DOWN_REASON)
    assert failed["processed_rows"] == 2  # the first chunk stays applied
    assert failed["finished_at"] is not None
    events = []
    for _ in range(30):
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
        if message is not None and (event := orjson.loads(message["data"]))["type"] == (
            "import.progress"
        ):
            events.append(event["data"])
    await pubsub.aclose()  # type: ignore[no-untyped-call]
    assert events[-1]["job_id"] == job_id
    assert (events[-1]["status"], events[-1]["error"]) == ("failed", DOWN_REASON)

    monkeypatch.undo()
    retried = await imports_api.post(
        f"{UPLOAD_ROUTE}/{job_id}/retry", headers=tenant.headers[Role.OPERATOR]
    )
    assert retried.status_code == 202, retried.text
    assert retried.json()["processed_rows"] == 2  # resumes after the checkpoint
    await run_job(runtime, job_id, tenant.company_id)
    final = await _job(imports_api, tenant, job_id)
    assert final["status"] == "completed"
    assert final["counts"] == {"created": 4, "updated": 0, "skipped": 0, "failed": 1, "warned": 0}


async def test_giving_up_tries_the_failed_mark_again_while_postgres_is_away(
    imports_api: httpx.AsyncClient,
    runtime: Runtime,
    factory: Factory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tenant = await new_tenant(factory, imports_api, (Role.OPERATOR,))
    job_id = await _queued_job(imports_api, tenant)
    real_abandon = runner.abandon_job
    tries = 0

    async def run_down(self: Any) -> None:
        raise _database_down()

    async def abandon_after_two_tries(*args: Any, **kwargs: Any) -> Any:
        nonlocal tries
        tries += 1
        if tries < 3:
            raise _database_down()
        return await real_abandon(*args, **kwargs)

    monkeypatch.setattr(runner.ImportRunner, "run", run_down)
    monkeypatch.setattr("zapcrm.contacts.importing.jobs.abandon_job", abandon_after_two_tries)
    handler = ContactImportHandler(runtime.db, runtime.redis, give_up_delays=(0.0, 0.0, 0.0))

    with pytest.raises(OperationalError):
        await handler(_entry(job_id, tenant, attempt=2))

    assert tries == 3
    assert await job_status(runtime.db, job_id) == "failed"


async def test_a_job_finished_meanwhile_is_left_as_it_is(
    imports_api: httpx.AsyncClient, runtime: Runtime, factory: Factory
) -> None:
    tenant = await new_tenant(factory, imports_api, (Role.OPERATOR,))
    job_id = await _queued_job(imports_api, tenant)
    await run_job(runtime, job_id, tenant.company_id)

    gone = await runner.abandon_job(
        runtime.db, tenant.company_id, uuid.UUID(job_id), reason="x", redis=runtime.redis
    )

    assert gone is None
    final = await _job(imports_api, tenant, job_id)
    assert (final["status"], final["error"]) == ("completed", None)


async def test_the_worker_marks_the_job_failed_when_it_dead_letters_its_entry(
    imports_api: httpx.AsyncClient,
    runtime: Runtime,
    factory: Factory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Through the real queue runtime: the handler learns which attempt is the last."""
    tenant = await new_tenant(factory, imports_api, (Role.OPERATOR,))
    job_id = await _queued_job(imports_api, tenant)
    runs = 0

    async def run_down(self: Any) -> None:
        nonlocal runs
        runs += 1
        raise _database_down()

    monkeypatch.setattr(runner.ImportRunner, "run", run_down)
    # A stream of this test's own: the session's live worker consumes contacts:import.
    stream = f"test:import-give-up:{uuid.uuid4().hex}"
    worker = WorkerRuntime(runtime.redis, **FAST)
    worker.register(
        stream,
        handler=ContactImportHandler(runtime.db, runtime.redis, give_up_delays=()),
        max_attempts=3,
        base_delay=0.0,
        max_delay=0.0,
        block_ms=50,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        await enqueue(
            runtime.redis, stream, {"job_id": job_id, "company_id": str(tenant.company_id)}
        )
        await wait_until(lambda: _dead_count(runtime, stream), within=15)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await runtime.redis.delete(stream, dead_key(stream), f"{stream}:retry")

    assert runs == 3
    failed = await _job(imports_api, tenant, job_id)
    assert (failed["status"], failed["error"]) == ("failed", DOWN_REASON)


async def _dead_count(runtime: Runtime, stream: str) -> bool:
    return len(await dead_letters(runtime.redis, stream)) == 1


async def test_a_job_whose_workers_died_every_time_is_marked_failed(
    imports_api: httpx.AsyncClient, runtime: Runtime, factory: Factory
) -> None:
    """The handler never ran to a failure (killed for memory, say): the runtime's
    `on_exhausted` hook records it, unless a runner still holds the job's lease."""
    tenant = await new_tenant(factory, imports_api, (Role.OPERATOR,))
    job_id = await _queued_job(imports_api, tenant)
    held_job = await _queued_job(imports_api, tenant)
    await runtime.redis.set(lease_key(uuid.UUID(held_job)), "slow-worker", ex=30)
    handler = ContactImportHandler(runtime.db, runtime.redis, give_up_delays=())
    exhausted = DeliveriesExhausted("delivered 5 times without acknowledgement")

    try:
        await handler.on_exhausted(_entry(job_id, tenant, attempt=5, max_attempts=5), exhausted)
        await handler.on_exhausted(_entry(held_job, tenant, attempt=5, max_attempts=5), exhausted)
    finally:
        await runtime.redis.delete(lease_key(uuid.UUID(held_job)))

    failed = await _job(imports_api, tenant, job_id)
    assert (failed["status"], failed["error"]) == (
        "failed",
        "a importação falhou: o processamento foi interrompido nas 5 tentativas"
        " (o worker parou no meio); tente de novo",
    )
    assert await job_status(runtime.db, held_job) == "queued"  # its runner finishes it


def test_the_worker_registers_the_import_streams_exhausted_hook(runtime: Runtime) -> None:
    worker = build_worker(runtime)
    config = worker._configs[IMPORT_STREAM]  # the wiring itself is what is checked here
    assert config.on_exhausted is not None
    assert getattr(config.on_exhausted, "__name__", "") == "on_exhausted"
