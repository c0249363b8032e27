"""CSV files for spreadsheets, as zapcrm's exports write them (contacts, report cycles).

Format, chosen for Excel as Brazilian offices run it: UTF-8 with a BOM (without it Excel reads
the file as Windows-1252 and breaks every accent), `;` between cells (Excel pt-BR uses `,` as
the decimal separator, so `;` is its list separator), CRLF line ends.

Against formula injection (CSV injection, OWASP) every cell that starts with `=`, `+`, `-`,
`@`, a tab or a carriage return gets a leading `'`, so a spreadsheet shows it as text. That
includes phones (`'+5511...`), which also keeps Excel from turning them into numbers. A file
of ours read back (the import's failed rows, fixed and imported again) drops that apostrophe
(`restored`), as a spreadsheet does.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from starlette.responses import StreamingResponse

__all__ = [
    "BOM",
    "MEDIA_TYPE",
    "download",
    "file_name",
    "lines",
    "local_moment",
    "neutralise",
    "restored",
]

MEDIA_TYPE = "text/csv; charset=utf-8"
BOM = "\ufeff"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """The cell as a spreadsheet will show it as text, never run it as a formula."""
    return f"'{cell}" if cell.startswith(_FORMULA_STARTS) else cell


def restored(cell: str) -> str:
    """A neutralised cell as it was before (`neutralise` undone); any other cell unchanged."""
    return cell[1:] if cell.startswith("'") and cell.startswith(_FORMULA_STARTS, 1) else cell


def local_moment(value: datetime | None, timezone: ZoneInfo) -> str:
    """A time to the second on the company's clock, DD/MM/AAAA HH:MM:SS (empty when none).

    Excel pt-BR reads this as a date and time it can sort and filter; an ISO 8601 time with its
    offset (2026-03-02T09:00:00-03:00) it keeps as text. The zone is the company's, as the
    panel shows times; the file's reader knows it."""
    return f"{value.astimezone(timezone):%d/%m/%Y %H:%M:%S}" if value else ""


def lines(records: Sequence[Sequence[str]]) -> str:
    """Rows of cells as CSV text in this format (cells already neutralised by the caller)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerows(records)
    return buffer.getvalue()


def file_name(stem: str, now: datetime, timezone: ZoneInfo) -> str:
    """A file name made only of safe characters: <stem>-AAAAMMDD-HHMM.csv (company time)."""
    return f"{stem}-{now.astimezone(timezone):%Y%m%d-%H%M}.csv"


def download(chunks: AsyncIterator[bytes], stem: str, timezone: ZoneInfo) -> StreamingResponse:
    """A streamed CSV download (never cached: it holds the company's data)."""
    name = file_name(stem, datetime.now(UTC), timezone)
    return StreamingResponse(
        chunks,
        media_type=MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
