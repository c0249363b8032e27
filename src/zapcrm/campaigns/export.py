"""A campaign's recipients as a CSV file: who got which text, what became of it, who replied.

The format is `zapcrm.spreadsheets`' (UTF-8 with a BOM, `;` between cells, CRLF line ends,
formula cells neutralised), with a pt-BR header; times are DD/MM/AAAA HH:MM:SS in the company's
zone. The
rows are read in pages of the recipients list (by position) in a transaction of their own,
under the caller's RLS, so memory stays flat for any audience.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from starlette.responses import StreamingResponse

from zapcrm.campaigns import repository
from zapcrm.db import Database
from zapcrm.spreadsheets import BOM, download, lines, local_moment, neutralise

BATCH_SIZE = 1000
# "Variação do texto": which of the campaign's texts (1, 2...) the person got, not the text.
HEADER = (
    "Posição",
    "Nome",
    "Telefone",
    "Situação",
    "Motivo",
    "Variação do texto",
    "Enviada em",
    "Respondeu",
)
STATUS_LABELS = {
    "pending": "Aguardando",
    "skipped": "Ignorado",
    "queued": "Na fila",
    "sent": "Enviada",
    "delivered": "Entregue",
    "read": "Lida",
    "failed": "Falhou",
}


def csv_response(
    db: Database, claims: Mapping[str, Any], campaign_id: uuid.UUID, timezone: ZoneInfo
) -> StreamingResponse:
    """The recipients as a streamed download, campanha-AAAAMMDD-HHMM.csv (API and panel)."""
    return download(csv_chunks(db, claims, campaign_id, timezone), "campanha", timezone)


async def csv_chunks(
    db: Database,
    claims: Mapping[str, Any],
    campaign_id: uuid.UUID,
    timezone: ZoneInfo,
    *,
    batch: int = BATCH_SIZE,
) -> AsyncIterator[bytes]:
    """The file in chunks, one page of recipients each."""
    yield (BOM + lines([list(HEADER)])).encode()
    after = 0
    async with db.tenant_session(claims) as session:
        while True:
            page = await repository.recipients_page(
                session, campaign_id, shown=None, after_position=after, limit=batch
            )
            if not page:
                return
            yield lines([_cells(row, timezone) for row in page]).encode()
            after = page[-1]["position"]


def _cells(row: Mapping[str, Any], timezone: ZoneInfo) -> list[str]:
    cells = [
        str(row["position"]),
        row["name"] or "",
        row["phone_e164"] or "",
        STATUS_LABELS.get(row["status"], row["status"]),
        row["reason"] or "",
        "" if row["variant"] is None else str(row["variant"] + 1),
        local_moment(row["dispatched_at"], timezone),
        "sim" if row["replied"] else "",
    ]
    return [neutralise(cell) for cell in cells]
