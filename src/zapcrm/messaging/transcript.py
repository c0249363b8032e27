"""A chat as a plain-text file: one line per message, oldest first, on the company's clock,
for the customer's records, a dispute or a colleague outside the panel.

Streamed in batches from a server-side cursor in a transaction of its own under the caller's
RLS (like the CSV exports), so a chat of any length keeps memory flat. UTF-8 with a BOM and
CRLF line ends, which Windows' Notepad opens as written.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any

from starlette.responses import StreamingResponse

from zapcrm.db import Database
from zapcrm.kit.zones import zone_name
from zapcrm.logging import get_logger
from zapcrm.messaging.labels import DELETED_PREVIEW, label_of
from zapcrm.messaging.service.transcript import TranscriptPlan
from zapcrm.reports.repository import stream_rows

log = get_logger(__name__)

BATCH_SIZE = 500
NEWLINE = "\r\n"
# Our messages that never reached the customer say so (the file may be shown as proof).
NOT_SENT = {"queued": "não enviada: na fila", "ERROR": "não enviada: falhou"}


def transcript_response(
    db: Database, claims: Mapping[str, Any], plan: TranscriptPlan
) -> StreamingResponse:
    """The transcript as a download, conversa-AAAAMMDD-HHMM.txt (never cached)."""
    now = datetime.now(UTC).astimezone(plan.timezone)
    return StreamingResponse(
        transcript_chunks(db, claims, plan),
        media_type="text/plain; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="conversa-{now:%Y%m%d-%H%M}.txt"',
            "Cache-Control": "no-store",
        },
    )


async def transcript_chunks(
    db: Database, claims: Mapping[str, Any], plan: TranscriptPlan, *, batch: int = BATCH_SIZE
) -> AsyncIterator[bytes]:
    """The file in chunks: a header, then the messages."""
    yield ("\ufeff" + NEWLINE.join(header(plan, datetime.now(UTC))) + NEWLINE).encode()
    count = 0
    async with db.tenant_session(claims) as session:
        async for partition in stream_rows(session, plan.statement, batch):
            yield "".join(line(row, plan) + NEWLINE for row in partition).encode()
            count += len(partition)
    log.info("conversations.transcript_exported", lines=count)


def header(plan: TranscriptPlan, now: datetime) -> list[str]:
    """Who the chat is with, when and by whom it was exported."""
    who = (
        plan.title if not plan.phone or plan.phone == plan.title else f"{plan.title} ({plan.phone})"
    )
    return [
        f"Conversa no WhatsApp: {who}",
        f"Exportada em {now.astimezone(plan.timezone):%d/%m/%Y %H:%M} por {plan.exported_by}",
        # The zone as people say it; the id too, for whoever reads the file years later.
        f"Horários em {zone_name(plan.timezone.key, 'pt_BR')} ({plan.timezone.key}).",
        "",
    ]


def line(row: Any, plan: TranscriptPlan) -> str:
    """One message (or internal note) as `[dd/mm/aaaa hh:mm] Quem: texto`."""
    at = f"[{row.at.astimezone(plan.timezone):%d/%m/%Y %H:%M}]"
    if row.kind == "note":
        edited = " (editada)" if row.edited else ""
        author = row.sender or "alguém da equipe"
        return f"{at} Nota interna de {author}{edited}: {_flat(row.body)}"
    payload = row.payload or {}
    return f"{at} {_who(row, payload, plan)}: {_text(row, payload)}"


def _who(row: Any, payload: Mapping[str, Any], plan: TranscriptPlan) -> str:
    if not row.from_me:
        if plan.is_group:
            return row.push_name or "Participante"
        return plan.customer
    # The marks of messaging.schemas.AUTOMATIC_MARKS: nobody typed these.
    if "campaign_id" in payload:
        return "Campanha"
    if "away_reply" in payload:
        return "Resposta automática"
    if "closing_reply" in payload:
        return "Encerramento automático"
    if "menu_reply" in payload:
        return "Menu de setores"
    if "survey_request" in payload or "survey_reply" in payload:
        return "Pesquisa de satisfação"
    # Typed on the phone or WhatsApp Web: nobody in the panel, the company's number.
    return row.sender or "Empresa (pelo celular)"


def _text(row: Any, payload: Mapping[str, Any]) -> str:
    if row.deleted:
        return DELETED_PREVIEW
    caption = payload.get("caption")
    text = label_of(row.type, row.body, caption if isinstance(caption, str) else None)
    if row.file_name and row.file_name not in text:
        text += f" [{row.file_name}]"
    location = payload.get("location")
    if isinstance(location, Mapping) and location.get("latitude") is not None:
        place = location.get("name") or location.get("address")
        text += f" {place} " if place else " "
        text += f"({location['latitude']}, {location.get('longitude')})"
    if row.edited:
        text += " (editada)"
    if row.status in NOT_SENT:
        text += f" ({NOT_SENT[row.status]})"
    return _flat(text)


def _flat(text: str | None) -> str:
    """Line breaks inside a message kept readable without breaking the one-line-per-message
    shape: continued lines are indented."""
    return (text or "").replace("\r\n", "\n").replace("\n", NEWLINE + "    ")
