"""The CSV import through the API: upload -> preview -> start -> job -> counts -> failed rows."""

from __future__ import annotations

import asyncio
import csv
import io
import sys
from datetime import datetime

import httpx
import orjson
import pytest

from tests.conftest import Factory
from tests.contacts.importing.conftest import (
    UPLOAD_ROUTE,
    contacts_of,
    csv_bytes,
    define,
    import_file,
    new_tenant,
    query,
    run_job,
    upload,
)
from zapcrm.contacts.importing import limits, runner
from zapcrm.contacts.importing.progress import Progress
from zapcrm.contacts.importing.service import imports_dir
from zapcrm.kit.threads import RESPONSIVE_SWITCH_SECONDS
from zapcrm.messaging.realtime import channel_for
from zapcrm.models import Role
from zapcrm.runtime import Runtime

# Brazilian Excel's CSV: cp1252, semicolons, a quoted newline, duplicates, bad rows, formulas.
EXCEL_FILE = csv_bytes(
    [
        "Nome;Celular;E-mail;Etiquetas;Origem;Etapa;Plano",
        "João Conceição;+55 (11) 98765-4321;JOAO@exemplo.com;vip, novo;Feira;Novo lead;ouro",
        '"Ana\r\nMaria";(21) 8765-4321;;novo;;cliente;',
        "Zé Duplicado;011 98765 4321;ze@exemplo.com;;;;",
        '=HYPERLINK("http://mal.example");12;;;;;',
        "Sem Telefone;;a@b.com;;;;",
        "",
        "Carla;(31) 3456-7890;carla@;;;;",
        "Davi;(41) 99876-5432;;;;Perdido;",
        "Eva;(51) 99876-5432;;;;;diamante",
    ],
    encoding="cp1252",
    newline="\r\n",
)


async def test_full_flow_from_upload_to_failed_rows(
    imports_api: httpx.AsyncClient, runtime: Runtime, factory: Factory
) -> None:
    tenant = await new_tenant(factory, imports_api, (Role.OPERATOR,))
    await define(
        runtime.db,
        tenant.company_id,
        attributes=[("plano", "Plano", "list", ["ouro", "prata"])],
        stages=[("lead", "Novo lead"), ("cliente", "Cliente")],
    )
    headers = tenant.headers[Role.OPERATOR]
    uploaded = await upload(imports_api, headers, EXCEL_FILE, "clientes março.csv")
    assert uploaded.status_code == 201, uploaded.text
    job = uploaded.json()
    assert job["status"] == "uploaded"
    assert job["file_name"] == "clientes março.csv"
    assert job["total_rows"] == 8
    preview = job["preview"]
    assert (preview["encoding"], preview["delimiter"]) == ("cp1252", ";")
    assert preview["columns"] == [
        "Nome",
        "Celular",
        "E-mail",
        "Etiquetas",
        "Origem",
        "Etapa",
        "Plano",
    ]
    assert preview["sample"][0][0] == "João Conceição"
    assert preview["sample"][1][0] == "Ana\r\nMaria"
    assert preview["suggested_mapping"] == {
        "Nome": "name",
        "Celular": "phone",
        "E-mail": "email",
        "Etiquetas": "tags",
        "Origem": "source",
        "Etapa": "stage",
        "Plano": "custom.plano",
    }

    pubsub = runtime.redis.pubsub()
    await pubsub.subscribe(channel_for(tenant.company_id))
    started = await imports_api.post(
        f"{UPLOAD_ROUTE}/{job['id']}/start",
        json={"mapping": preview["suggested_mapping"], "existing_policy": "skip"},
        headers=headers,
    )
    assert started.status_code == 202, started.text
    assert started.json()["status"] == "queued"
    # The start left exactly one entry for the worker (through the outbox, after commit).
    entries = await runtime.redis.xrange("contacts:import") or []
    assert any(
        orjson.loads((fields or {})["payload"])["job_id"] == job["id"] for _, fields in entries
    )

    await run_job(runtime, job["id"], tenant.company_id)
    final = (await imports_api.get(f"{UPLOAD_ROUTE}/{job['id']}", headers=headers)).json()
    assert final["status"] == "completed"
    # Carla, Davi and Eva come in without the value that could not be read.
    assert final["counts"] == {"created": 5, "updated": 0, "skipped": 1, "failed": 2, "warned": 3}
    assert final["processed_rows"] == final["total_rows"] == 8
    assert final["progress"]["percent"] == 100.0
    assert final["progress"]["eta_seconds"] is None
    assert final["failed_rows_url"] == f"{UPLOAD_ROUTE}/{job['id']}/failed.csv"

    progress = []
    for _ in range(50):
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
        if message is not None:
            event = orjson.loads(message["data"])
            if event["type"] == "import.progress":
                progress.append(event)
                if event["data"]["status"] == "completed":
                    break
    await pubsub.aclose()  # type: ignore[no-untyped-call]
    assert progress
    assert progress[-1]["data"]["status"] == "completed"
    assert (progress[-1]["data"]["created"], progress[-1]["data"]["warned"]) == (5, 3)

    contacts = await contacts_of(runtime.db, tenant.company_id)
    assert [(c["name"], c["phone_e164"]) for c in contacts] == [
        ("João Conceição", "+5511987654321"),
        ("Ana Maria", "+5521987654321"),
        ("Carla", "+553134567890"),
        ("Davi", "+5541998765432"),
        ("Eva", "+5551998765432"),
    ]
    assert [(c["email"], c["funnel_stage"], c["custom_fields"]) for c in contacts[2:]] == [
        (None, None, {}),
        (None, None, {}),
        (None, None, {}),
    ]
    joao = contacts[0]
    assert joao["email"] == "joao@exemplo.com"
    assert joao["tags"] == ["vip", "novo"]
    assert (joao["source"], joao["funnel_stage"]) == ("Feira", "lead")
    assert joao["custom_fields"] == {"plano": "ouro"}
    assert (contacts[1]["source"], contacts[1]["funnel_stage"]) == ("import", "cliente")
    keys = await query(
        runtime.db,
        "select value from contact_identities where contact_id = :id order by value",
        id=joao["id"],
    )
    assert [row["value"] for row in keys] == ["551187654321", "5511987654321"]
    # The contact's timeline says which job made it, from which row, when; by whom is the job's
    # creator, this operator.
    history = await imports_api.get(f"/api/contacts/{joao['id']}/history", headers=headers)
    (entry,) = history.json()["items"]
    assert (entry["kind"], entry["details"]) == ("import.created", {"job_id": job["id"], "row": 1})
    (created,) = await query(
        runtime.db,
        "select c.created_at, j.created_by from contacts c"
        " join import_jobs j on j.id = c.import_job_id where c.id = :id",
        id=joao["id"],
    )
    assert datetime.fromisoformat(entry["at"]) == created["created_at"]
    assert created["created_by"] == tenant.users[Role.OPERATOR].id

    failed = await imports_api.get(final["failed_rows_url"], headers=headers)
    assert failed.status_code == 200
    assert failed.headers["content-type"].startswith("text/csv")
    assert "attachment" in failed.headers["content-disposition"]
    text_body = failed.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text_body), delimiter=";"))
    assert rows[0] == ["linha", *preview["columns"], "motivo"]
    by_line = {row[0]: row for row in rows[1:]}
    assert sorted(by_line, key=int) == ["6", "7", "9", "10", "11"]
    # The formula stays visible but inert; every reason is in Portuguese.
    assert by_line["6"][1] == '\'=HYPERLINK("http://mal.example")'
    assert by_line["6"][-1].startswith("telefone inválido")
    assert by_line["7"][-1] == "telefone ausente"
    assert by_line["9"][-1] == "importada sem este valor: e-mail inválido"
    assert by_line["10"][-1] == "importada sem este valor: etapa do funil desconhecida: Perdido"
    assert by_line["11"][-1].startswith("importada sem este valor: Plano: valor fora da lista")
    assert [row[0] for row in rows[1:]] == ["6", "7", "9", "10", "11"]  # in the file's order

    listed = (await imports_api.get(UPLOAD_ROUTE, headers=headers)).json()["items"]
    assert [item["id"] for item in listed][:1] == [job["id"]]


async def test_start_validates_the_mapping_and_runs_once(
    imports_api: httpx.AsyncClient, runtime: Runtime, factory: Factory
) -> None:
    tenant = await new_tenant(factory, imports_api, (Role.OPERATOR,))
    headers = tenant.headers[Role.OPERATOR]
    job = (await upload(imports_api, headers, b"nome,fone\nAna,11987654321\n")).json()
    start = f"{UPLOAD_ROUTE}/{job['id']}/start"
    no_phone = await imports_api.post(start, json={"mapping": {"nome": "name"}}, headers=headers)
    assert no_phone.status_code == 422
    assert no_phone.json()["error"]["fields"][0]["field"] == "mapping"
    bad_region = await imports_api.post(
        start, json={"mapping": {"fone": "phone"}, "default_region": "XX"}, headers=headers
    )
    assert bad_region.status_code == 422
    bad_policy = await imports_api.post(
        start, json={"mapping": {"fone": "phone"}, "existing_policy": "merge"}, headers=headers
    )
    assert bad_policy.status_code == 422
    ok = await imports_api.post(start, json={"mapping": {"fone": "phone"}}, headers=headers)
    assert ok.status_code == 202
    assert ok.json()["mapping"] == {"nome": "ignore", "fone": "phone"}
    again = await imports_api.post(start, json={"mapping": {"fone": "phone"}}, headers=headers)
    assert again.status_code == 409
    await run_job(runtime, job["id"], tenant.company_id)
    await run_job(runtime, job["id"], tenant.company_id)  # a redelivered entry is a no-op
    final = (await imports_api.get(f"{UPLOAD_ROUTE}/{job['id']}", headers=headers)).json()
    assert final["counts"] == {"created": 1, "updated": 0, "skipped": 0, "failed": 0, "warned": 0}
    assert final["failed_rows_url"] is None
    assert (
        await imports_api.get(f"{UPLOAD_ROUTE}/{job['id']}/failed.csv", headers=headers)
    ).status_code == 404
    contacts = await contacts_of(runtime.db, tenant.company_id)
    assert [(c["name"], c["phone_e164"]) for c in contacts] == [("", "+5511987654321")]


async def test_bad_uploads_are_refused_with_clear_errors(
    imports_api: httpx.AsyncClient,
    runtime: Runtime,
    factory: Factory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tenant = await new_tenant(factory, imports_api, (Role.OPERATOR,))
    headers = tenant.headers[Role.OPERATOR]
    empty = await upload(imports_api, headers, b"")
    assert empty.status_code == 422
    assert "vazio" in empty.json()["error"]["message"]
    binary = await upload(imports_api, headers, b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(range(256)))
    assert binary.status_code == 422
    assert "binário" in binary.json()["error"]["message"]
    headerless = await upload(imports_api, headers, b"Ana,11987654321\n")
    assert headerless.status_code == 422
    no_file = await imports_api.post(
        UPLOAD_ROUTE, files={"arquivo": ("x.csv", b"a,b\n1,2\n")}, headers=headers
    )
    assert no_file.status_code == 422
    not_multipart = await imports_api.post(UPLOAD_ROUTE, content=b"a,b", headers=headers)
    assert not_multipart.status_code == 422
    monkeypatch.setattr(limits, "MAX_FILE_BYTES", 1000)
    too_big = await upload(imports_api, headers, b"nome,telefone\n" + b"Ana,11987654321\n" * 100)
    assert too_big.status_code == 413
    assert "limite" in too_big.json()["error"]["message"]
    # Nothing was recorded and no file was left behind.
    assert (
        await query(
            runtime.db, "select id from import_jobs where company_id = :c", c=tenant.company_id
        )
        == []
    )
    stored = imports_dir(runtime.settings) / str(tenant.company_id)
    assert not stored.exists() or list(stored.iterdir()) == []


async def test_upload_streams_a_file_bigger_than_the_api_body_limit(
    imports_api: httpx.AsyncClient, runtime: Runtime, factory: Factory
) -> None:
    tenant = await new_tenant(factory, imports_api, (Role.OPERATOR,))
    lines = ["nome,telefone,obs"] + [
        f"Pessoa {index},1198{index:07d},{'x' * 60}" for index in range(30_000)
    ]
    content = csv_bytes(lines)
    assert len(content) > 2_000_000
    response = await upload(imports_api, tenant.headers[Role.OPERATOR], content)
    assert response.status_code == 201, response.text
    assert response.json()["file_size"] == len(content)
    assert response.json()["total_rows"] == 30_000


async def test_cancel_stops_a_queued_job(
    imports_api: httpx.AsyncClient, runtime: Runtime, factory: Factory
) -> None:
    tenant = await new_tenant(factory, imports_api, (Role.OPERATOR,))
    headers = tenant.headers[Role.OPERATOR]
    job = (await upload(imports_api, headers, b"telefone\n11987654321\n")).json()
    await imports_api.post(
        f"{UPLOAD_ROUTE}/{job['id']}/start",
        json={"mapping": {"telefone": "phone"}},
        headers=headers,
    )
    cancelled = await imports_api.post(f"{UPLOAD_ROUTE}/{job['id']}/cancel", headers=headers)
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    await run_job(runtime, job["id"], tenant.company_id)
    assert await contacts_of(runtime.db, tenant.company_id) == []
    again = await imports_api.post(f"{UPLOAD_ROUTE}/{job['id']}/cancel", headers=headers)
    assert again.status_code == 409


async def test_cancel_while_running_stops_between_chunks(
    imports_api: httpx.AsyncClient,
    runtime: Runtime,
    factory: Factory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tenant = await new_tenant(factory, imports_api, (Role.OPERATOR,))
    headers = tenant.headers[Role.OPERATOR]
    content = csv_bytes(["telefone"] + [f"1198765{index:04d}" for index in range(50)])
    job = (await upload(imports_api, headers, content)).json()
    await imports_api.post(
        f"{UPLOAD_ROUTE}/{job['id']}/start",
        json={"mapping": {"telefone": "phone"}},
        headers=headers,
    )
    monkeypatch.setattr(limits, "CHUNK_ROWS", 10)
    real_report = runner.ImportRunner._report
    cancelled = asyncio.Event()

    async def report_then_cancel(self: runner.ImportRunner, progress: Progress) -> None:
        await real_report(self, progress)
        if progress.processed_rows == 20 and not cancelled.is_set():
            running = await imports_api.get(f"{UPLOAD_ROUTE}/{job['id']}", headers=headers)
            body = running.json()
            assert body["status"] == "running"
            assert body["progress"]["percent"] == 40.0
            assert body["progress"]["rows_per_second"] > 0
            assert body["progress"]["eta_seconds"] is not None
            cancelled.set()
            response = await imports_api.post(f"{UPLOAD_ROUTE}/{job['id']}/cancel", headers=headers)
            assert response.status_code == 200

    monkeypatch.setattr(runner.ImportRunner, "_report", report_then_cancel)
    await run_job(runtime, job["id"], tenant.company_id)
    final = (await imports_api.get(f"{UPLOAD_ROUTE}/{job['id']}", headers=headers)).json()
    assert final["status"] == "cancelled"
    assert final["processed_rows"] == 20
    assert final["counts"]["created"] == 20
    assert len(await contacts_of(runtime.db, tenant.company_id)) == 20


async def test_chunks_are_applied_with_the_event_loop_taking_the_gil_first(
    imports_api: httpx.AsyncClient,
    runtime: Runtime,
    factory: Factory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The next chunk is parsed in a thread while the lanes' statements go out from the event
    # loop, which by default waited up to 5 ms for the GIL after each (kit/threads.py).
    tenant = await new_tenant(factory, imports_api, (Role.OPERATOR,))
    content = csv_bytes(["telefone"] + [f"1198766{index:04d}" for index in range(30)])
    monkeypatch.setattr(limits, "CHUNK_ROWS", 10)
    real_report = runner.ImportRunner._report
    intervals: list[float] = []

    async def report_interval(self: runner.ImportRunner, progress: Progress) -> None:
        intervals.append(sys.getswitchinterval())
        await real_report(self, progress)

    monkeypatch.setattr(runner.ImportRunner, "_report", report_interval)
    before = sys.getswitchinterval()
    final = await import_file(imports_api, runtime, tenant, content, {"telefone": "phone"})
    assert final["counts"]["created"] == 30
    # A report per chunk, then the job's last one, once the parsing thread is done.
    assert intervals == [pytest.approx(RESPONSIVE_SWITCH_SECONDS)] * 3 + [before]
    assert sys.getswitchinterval() == before


async def test_the_problem_rows_file_fixed_and_imported_again_completes_the_contacts(
    imports_api: httpx.AsyncClient, runtime: Runtime, factory: Factory
) -> None:
    tenant = await new_tenant(factory, imports_api, (Role.OPERATOR,))
    await define(runtime.db, tenant.company_id, attributes=[("saldo", "Saldo", "number", [])])
    headers = tenant.headers[Role.OPERATOR]
    content = csv_bytes(
        [
            "Nome;Celular;E-mail;Saldo",
            "Carla;+55 31 99876-5401;carla@;-10",
            "Davi;11;davi@exemplo.com;5",
        ]
    )
    first = await import_file(imports_api, runtime, tenant, content)
    assert (first["counts"]["created"], first["counts"]["failed"], first["counts"]["warned"]) == (
        1,
        1,
        1,
    )
    problems = await imports_api.get(first["failed_rows_url"], headers=headers)
    assert "linhas-com-problemas.csv" in problems.headers["content-disposition"]
    text_body = problems.content.decode("utf-8-sig")
    # The phone and the balance are written against formulas; the team fixes both rows in the
    # file as it is, and the apostrophes are not read as part of the values.
    assert "'+55 31 99876-5401" in text_body
    assert ";'-10;" in text_body
    fixed = text_body.replace("carla@;", "carla@exemplo.com;").replace(";11;", ";21 98765-4302;")

    second = await import_file(
        imports_api, runtime, tenant, ("\ufeff" + fixed).encode(), policy="fill_empty"
    )
    assert second["counts"] == {
        "created": 1,
        "updated": 1,
        "skipped": 0,
        "failed": 0,
        "warned": 0,
    }
    contacts = await contacts_of(runtime.db, tenant.company_id)
    assert sorted(
        (c["name"], c["phone_e164"], c["email"], c["custom_fields"]) for c in contacts
    ) == [
        ("Carla", "+5531998765401", "carla@exemplo.com", {"saldo": -10}),
        ("Davi", "+5521987654302", "davi@exemplo.com", {"saldo": 5}),
    ]
