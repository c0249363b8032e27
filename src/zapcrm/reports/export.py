"""The per-cycle report as a CSV file, streamed in batches from a server-side cursor.

The format is `zapcrm.spreadsheets`' (UTF-8 with a BOM, `;` between cells, CRLF line ends,
formula cells neutralised), with a pt-BR header. Times are DD/MM/AAAA HH:MM:SS in the
company's zone (a date Excel pt-BR can sort);
durations in whole seconds (only the opening hours' when the report counts business hours, and
the header says so); the department is the one the cycle was served in (empty: none); the
grade is the customer's 1-5 answer to the satisfaction survey (empty: not asked or no answer).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from starlette.responses import StreamingResponse

from zapcrm.db import Database, plan_for_values, without_jit
from zapcrm.logging import get_logger
from zapcrm.reports import repository
from zapcrm.reports.service import ExportPlan
from zapcrm.spreadsheets import BOM, download, lines, neutralise

__all__ = ["BATCH_SIZE", "BUSINESS_HOURS_HEADER", "HEADER", "csv_chunks", "csv_response"]

log = get_logger(__name__)

BATCH_SIZE = 1000
HEADER = (
    "Conversa",
    "Contato",
    "Telefone",
    "Instância",
    "Atendente",
    "Início do ciclo",
    "Primeira resposta",
    "Encerrado em",
    "Tempo até a primeira resposta (s)",
    "Tempo até o encerramento (s)",
    # New columns go last, so a spreadsheet built on the earlier ones still lines up.
    "Setor",
    "Avaliação",
)
# The same columns, in the same places, when the durations count only the opening hours.
BUSINESS_HOURS_HEADER = tuple(
    column.replace("(s)", "(s, em horário de atendimento)") for column in HEADER
)


def csv_response(db: Database, claims: Mapping[str, Any], plan: ExportPlan) -> StreamingResponse:
    """The export as a streamed CSV download, atendimentos-AAAAMMDD-HHMM.csv (API and panel)."""
    return download(csv_chunks(db, claims, plan), "atendimentos", plan.timezone)


async def csv_chunks(
    db: Database, claims: Mapping[str, Any], plan: ExportPlan, *, batch: int = BATCH_SIZE
) -> AsyncIterator[bytes]:
    """The CSV file in chunks, read in its own transaction under the caller's RLS."""
    header = BUSINESS_HOURS_HEADER if plan.business_hours else HEADER
    yield (BOM + lines([list(header)])).encode()
    rows = 0
    # The request's transaction ended when the endpoint returned the response; the stream
    # reads in a transaction of its own, as the same user, so RLS still applies.
    async with db.tenant_session(claims) as session:
        await without_jit(session)
        await plan_for_values(session)  # as service.summary does, for the same reason
        async for partition in repository.stream_records(session, plan.statement, batch):
            yield lines([_cells(row) for row in partition]).encode()
            rows += len(partition)
    log.info("reports.cycles_exported", rows=rows)


def _cells(row: Any) -> list[str]:
    (
        conversation_id,
        contact,
        phone,
        instance,
        agent,
        started_at,
        replied_at,
        closed_at,
        first_response,
        resolution,
        department,
        rating,
    ) = row
    # Only a cell that may start with a formula character is neutralised: the id is hex, the
    # times (written by the statement) start with a digit, the grade is 1-5.
    return [
        str(conversation_id),
        neutralise(contact or ""),
        neutralise(phone or ""),
        neutralise(instance or ""),
        neutralise(agent or ""),
        started_at or "",
        replied_at or "",
        closed_at or "",
        neutralise(_seconds(first_response)),
        neutralise(_seconds(resolution)),
        neutralise(department or ""),
        "" if rating is None else str(rating),
    ]


def _seconds(value: float | None) -> str:
    return "" if value is None else str(round(value))
