"""CSV export: Excel-ready format, formula neutralisation, streaming in batches, the caller's
company only, and supervisors only."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime

import httpx
import pytest

from tests.conftest import Factory
from tests.contacts.query.conftest import (
    NOW,
    Tenant,
    add_contacts,
    add_definitions,
    filter_param,
    new_tenant,
)
from zapcrm.contacts.query import export, service
from zapcrm.contacts.query.export import HEADER, neutralise
from zapcrm.contacts.query.schemas import ContactQuery
from zapcrm.db import Database
from zapcrm.models import Role

HYPERLINK = '=HYPERLINK("http://mal.example/x","Clique aqui")'


@pytest.fixture(scope="module")
async def shop(api: httpx.AsyncClient, db: Database, factory: Factory) -> Tenant:
    """A company with contacts that try to smuggle formulas into a spreadsheet."""
    tenant = await new_tenant(factory, api)
    await add_definitions(
        db,
        tenant,
        [
            ("cidade", "Cidade", "text", []),
            ("renda", "Renda", "number", []),
            ("aniversario", "Aniversário", "date", []),
            ("ativo", "Ativo", "boolean", []),
        ],
        [("negociacao", "Em negociação")],
    )
    await add_contacts(
        db,
        tenant,
        [
            {
                "name": "João Silva",
                "phone_e164": "+5511987654321",
                "email": "joao@exemplo.com.br",
                "tags": ["vip", "cliente"],
                "funnel_stage": "negociacao",
                "source": "site",
                "created_at": datetime.fromisoformat("2026-01-01T02:30:00+00:00"),
                "last_interaction_at": datetime.fromisoformat("2026-06-14T15:05:00+00:00"),
                "custom_fields": {
                    "cidade": "São Paulo",
                    "renda": 1234.5,
                    "aniversario": "1990-05-20",
                    "ativo": True,
                },
            },
            {"name": HYPERLINK, "opted_out": True, "custom_fields": {"cidade": "@SUM(A1:A9)"}},
            {"name": "-2+3+cmd|' /C calc'!A0", "source": "\tinjetado"},
            {"name": "+55 golpe", "email": "=1+1@x.com", "tags": ["=cmd"]},
            {"name": 'Linha\rquebrada; com "aspas"'},
        ],
    )
    return tenant


def parse(body: bytes) -> list[list[str]]:
    """The CSV as Excel pt-BR reads it: UTF-8 with BOM, `;` separated."""
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body[3:].decode("utf-8"), newline=""), delimiter=";"))


async def test_export_is_an_excel_ready_csv(api: httpx.AsyncClient, shop: Tenant) -> None:
    response = await api.get("/api/contacts/export", headers=shop.headers[Role.SUPERVISOR])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="contatos-\d{8}-\d{4}\.csv"',
        response.headers["content-disposition"],
    )
    assert b"\r\n" in response.content
    rows = parse(response.content)
    assert rows[0] == [*HEADER, "Cidade", "Renda", "Aniversário", "Ativo"]
    assert rows[0][:3] == ["Nome", "Telefone", "E-mail"]
    assert len(rows) == 6
    joao = next(row for row in rows if row[0] == "João Silva")
    assert joao == [
        "João Silva",
        "'+5511987654321",
        "joao@exemplo.com.br",
        "vip, cliente",
        "Em negociação",  # the stage's label
        "site",
        "não",
        "31/12/2025 23:30",  # São Paulo time
        "14/06/2026 12:05",
        "São Paulo",
        "1234,5",
        "20/05/1990",
        "sim",
    ]


async def test_formulas_are_neutralised(api: httpx.AsyncClient, shop: Tenant) -> None:
    response = await api.get("/api/contacts/export", headers=shop.headers[Role.ADMIN])
    rows = parse(response.content)
    by_name = {row[0]: row for row in rows[1:]}
    assert "'" + HYPERLINK in by_name
    assert by_name["'" + HYPERLINK][6] == "sim"
    assert by_name["'" + HYPERLINK][9] == "'@SUM(A1:A9)"
    assert "'-2+3+cmd|' /C calc'!A0" in by_name
    assert by_name["'-2+3+cmd|' /C calc'!A0"][5] == "'\tinjetado"
    golpe = by_name["'+55 golpe"]
    assert (golpe[2], golpe[3]) == ("'=1+1@x.com", "'=cmd")
    assert 'Linha\rquebrada; com "aspas"' in by_name
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


def test_neutralise() -> None:
    assert neutralise("=1+1") == "'=1+1"
    assert neutralise("+5511") == "'+5511"
    assert neutralise("-1") == "'-1"
    assert neutralise("@x") == "'@x"
    assert neutralise("\tx") == "'\tx"
    assert neutralise("\rx") == "'\rx"
    assert neutralise("Maria = Ana") == "Maria = Ana"
    assert neutralise("") == ""


async def test_export_takes_the_list_criteria(api: httpx.AsyncClient, shop: Tenant) -> None:
    headers = shop.headers[Role.SUPERVISOR]
    vip = filter_param({"field": "tags", "operator": "contains", "value": "vip"})
    rows = parse(
        (await api.get("/api/contacts/export", params={"filter": vip}, headers=headers)).content
    )
    assert [row[0] for row in rows[1:]] == ["João Silva"]
    rows = parse(
        (await api.get("/api/contacts/export", params={"q": "golpe"}, headers=headers)).content
    )
    assert [row[0] for row in rows[1:]] == ["'+55 golpe"]
    bad = filter_param({"field": "senha", "operator": "equals", "value": "x"})
    refused = await api.get("/api/contacts/export", params={"filter": bad}, headers=headers)
    assert refused.status_code == 422  # before any byte of the file
    assert refused.json()["error"]["fields"][0]["field"] == "filter.field"


async def test_operators_may_not_export(api: httpx.AsyncClient, shop: Tenant) -> None:
    response = await api.get("/api/contacts/export", headers=shop.headers[Role.OPERATOR])
    assert response.status_code == 403
    assert (await api.get("/api/contacts/export")).status_code == 401


async def test_the_stream_reads_in_batches_under_rls(
    db: Database, factory: Factory, shop: Tenant
) -> None:
    other = await new_tenant(factory, roles=[Role.SUPERVISOR])
    await add_contacts(db, other, [{"name": "De outra empresa"}])
    identity = shop.identity(Role.SUPERVISOR)
    async with db.tenant_session(identity.claims) as session:
        plan = await service.plan_export(session, identity, ContactQuery(), now=NOW)
    chunks = [chunk async for chunk in export.csv_chunks(db, identity.claims, plan, batch=2)]
    assert len(chunks) == 1 + 3  # header, then 5 rows in batches of 2
    rows = parse(b"".join(chunks))
    assert len(rows) == 6
    assert "De outra empresa" not in {row[0] for row in rows}
    # The stream runs as the user: even handed a plan built for another company, RLS lets
    # nothing through.
    other_identity = other.identity(Role.SUPERVISOR)
    chunks = [chunk async for chunk in export.csv_chunks(db, other_identity.claims, plan)]
    assert [row[0] for row in parse(b"".join(chunks))[1:]] == []
