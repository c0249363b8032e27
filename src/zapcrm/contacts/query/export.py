"""Contacts as a CSV file for spreadsheets, streamed in batches from a server-side cursor.

Format, chosen for Excel as Brazilian offices run it: UTF-8 with a BOM (without it Excel reads
the file as Windows-1252 and breaks every accent), `;` between cells (Excel pt-BR uses `,` as
the decimal separator, so `;` is its list separator), CRLF line ends, a pt-BR header row,
times in the company's time zone (America/Sao_Paulo unless the company set another) as
DD/MM/AAAA HH:MM, decimals with a comma, then one column per custom attribute. The file format
and the neutralisation of formula cells are `zapcrm.spreadsheets`'.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from starlette.responses import StreamingResponse

from zapcrm.contacts.attributes import AttributeDef
from zapcrm.contacts.query import repository
from zapcrm.contacts.query.service import ExportPlan
from zapcrm.db import Database
from zapcrm.logging import get_logger
from zapcrm.spreadsheets import BOM, MEDIA_TYPE, download, lines, neutralise

__all__ = [
    "BATCH_SIZE",
    "HEADER",
    "MEDIA_TYPE",
    "csv_chunks",
    "csv_response",
    "neutralise",
]

log = get_logger(__name__)

BATCH_SIZE = 1000
HEADER = (
    "Nome",
    "Telefone",
    "E-mail",
    "Etiquetas",
    "Etapa",
    "Origem",
    "Descadastrado",
    "Criado em",
    "Última interação",
)


def csv_response(db: Database, claims: Mapping[str, Any], plan: ExportPlan) -> StreamingResponse:
    """The export as a streamed CSV download, contatos-AAAAMMDD-HHMM.csv (API and panel)."""
    return download(csv_chunks(db, claims, plan), "contatos", plan.timezone)


async def csv_chunks(
    db: Database,
    claims: Mapping[str, Any],
    plan: ExportPlan,
    *,
    batch: int = BATCH_SIZE,
) -> AsyncIterator[bytes]:
    """The CSV file in chunks, read in its own transaction under the caller's RLS."""
    header = [*HEADER, *(attribute.label for attribute in plan.attributes)]
    yield (BOM + lines([[neutralise(cell) for cell in header]])).encode()
    rows = 0
    # The request's transaction ended when the endpoint returned the response; the stream
    # reads in a transaction of its own, as the same user, so RLS still applies.
    async with db.tenant_session(claims) as session:
        async for partition in repository.stream_rows(session, plan.statement, batch):
            yield lines([_cells(row, plan) for row in partition]).encode()
            rows += len(partition)
    log.info("contacts.exported", rows=rows)


def _cells(row: Any, plan: ExportPlan) -> list[str]:
    (name, phone, email, tags, stage, source, opted_out, created_at, last_seen, custom) = row
    cells = [
        name or "",
        phone or "",
        email or "",
        ", ".join(tags or ()),
        plan.stage_labels.get(stage, stage) if stage else "",
        source or "",
        "sim" if opted_out else "não",
        _moment(created_at, plan.timezone),
        _moment(last_seen, plan.timezone),
    ]
    values = custom or {}
    cells.extend(_custom(attribute, values.get(attribute.key)) for attribute in plan.attributes)
    return [neutralise(cell) for cell in cells]


def _moment(value: datetime | None, timezone: ZoneInfo) -> str:
    return f"{value.astimezone(timezone):%d/%m/%Y %H:%M}" if value else ""


def _custom(attribute: AttributeDef, value: Any) -> str:
    if value is None:
        return ""
    if attribute.type == "boolean" and isinstance(value, bool):
        return "sim" if value else "não"
    if (
        attribute.type == "number"
        and isinstance(value, int | float)
        and not isinstance(value, bool)
    ):
        return str(value).replace(".", ",")
    if attribute.type == "date" and isinstance(value, str):
        try:
            return f"{date.fromisoformat(value):%d/%m/%Y}"
        except ValueError:
            return value
    return str(value)
