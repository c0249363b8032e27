"""`zapcrm contacts import`: the same pipeline in-process, with progress and a result table."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import uuid
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result

from tests.conftest import Factory
from tests.contacts.importing.conftest import contacts_of, csv_bytes, query
from zapcrm.config import Settings
from zapcrm.contacts.importing import cli
from zapcrm.runtime import Runtime

runner = CliRunner()


def _read_csv(path: str) -> list[list[str]]:
    text = Path(path).read_text("utf-8-sig")
    return list(csv.reader(io.StringIO(text), delimiter=";"))


async def _invoke(settings: Settings, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    # The command runs its own event loop (asyncio.run), so it needs a thread of its own here.
    return await asyncio.to_thread(runner.invoke, cli.contacts_app, list(args))


async def test_cli_imports_a_file_and_reports_failed_rows(
    imports_api: httpx.AsyncClient,
    runtime: Runtime,
    factory: Factory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    company = await factory.company()
    path = tmp_path / "lista.csv"
    path.write_bytes(
        csv_bytes(
            ["Cliente;Fone;Obs", "Ana;11987654321;x", "Ruim;999;y", "Ana 2;(11) 98765-4321;z"],
            encoding="cp1252",
        )
    )
    result = await _invoke(
        runtime.settings,
        monkeypatch,
        "import",
        str(path),
        "--company",
        str(company),
        "--mapping",
        "Cliente=name,Fone=phone",
        "--policy",
        "overwrite",
    )
    assert result.exit_code == 0, result.output
    assert "3 linhas" in result.output
    assert re.search(r"1\s+│\s+1\s+│\s+0\s+│\s+1", result.output), result.output
    failed_path = re.search(
        r"linhas com problemas.*: (\S+\.failed\.csv)", result.output.replace("\n", "")
    )
    assert failed_path is not None, result.output
    rows = _read_csv(failed_path.group(1))
    assert rows[1][0] == "3"
    assert rows[1][-1].startswith("telefone inválido")
    contacts = await contacts_of(runtime.db, company)
    assert [(c["name"], c["phone_e164"], c["source"]) for c in contacts] == [
        ("Ana 2", "+5511987654321", "import")
    ]
    jobs = await query(
        runtime.db, "select status, created_by from import_jobs where company_id = :c", c=company
    )
    assert jobs == [{"status": "completed", "created_by": None}]


async def test_cli_json_mapping_and_suggested_mapping(
    imports_api: httpx.AsyncClient,
    runtime: Runtime,
    factory: Factory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    company = await factory.company()
    path = tmp_path / "lista.csv"
    path.write_bytes(csv_bytes(["nome,celular,cod", "Bia,21987654321,1"]))
    suggested = await _invoke(
        runtime.settings, monkeypatch, "import", str(path), "--company", str(company)
    )
    assert suggested.exit_code == 0, suggested.output
    as_json = await _invoke(
        runtime.settings,
        monkeypatch,
        "import",
        str(path),
        "--company",
        str(company),
        "--mapping",
        '{"celular": "phone", "cod": "name"}',
        "--policy",
        "overwrite",
    )
    assert as_json.exit_code == 0, as_json.output
    (contact,) = await contacts_of(runtime.db, company)
    assert contact["name"] == "1"


async def test_cli_errors_are_clear(
    runtime: Runtime, factory: Factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    company = await factory.company()
    path = tmp_path / "lista.csv"
    path.write_bytes(csv_bytes(["nome,celular", "Bia,21987654321"]))
    unknown = await _invoke(
        runtime.settings, monkeypatch, "import", str(path), "--company", str(uuid.uuid4())
    )
    assert unknown.exit_code == 1
    assert "empresa não encontrada" in unknown.output
    no_phone = await _invoke(
        runtime.settings, monkeypatch, "import", str(path), "--company", str(company),
        "--mapping", "nome=name",
    )  # fmt: skip
    assert no_phone.exit_code == 1
    assert "mapeie uma coluna para phone" in no_phone.output
    bad = await _invoke(
        runtime.settings, monkeypatch, "import", str(path), "--company", str(company),
        "--mapping", "nome",
    )  # fmt: skip
    assert bad.exit_code == 2
    policy = await _invoke(
        runtime.settings, monkeypatch, "import", str(path), "--company", str(company),
        "--policy", "merge",
    )  # fmt: skip
    assert policy.exit_code == 2
    empty = tmp_path / "vazio.csv"
    empty.write_bytes(b"")
    refused = await _invoke(
        runtime.settings, monkeypatch, "import", str(empty), "--company", str(company)
    )
    assert refused.exit_code == 1
    assert "vazio" in refused.output
