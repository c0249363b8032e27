"""The failed-rows CSV of an import job: each refused row, its line and the reason, and each
row imported without some of its values (rows.py), its reason saying so ("importada sem este
valor: e-mail inválido"), so the team fixes both in one file and imports it again.

Written as the job goes, next to the upload; a chunk whose transaction does not commit has its
rows rewound, and a resumed job trims the file back to its checkpoint, so every failed row
appears exactly once. Cells are neutralised against spreadsheet formulas.
"""

from __future__ import annotations

import csv
import os
import uuid
from collections.abc import Sequence
from pathlib import Path

from zapcrm.spreadsheets import neutralise

__all__ = ["FailedRows", "failed_rows_path", "warned_reason"]

# How a warned row's reason begins: a resumed job tells the two kinds apart by it.
_WARNED = "importada sem "


def warned_reason(warnings: list[str]) -> str:
    """The reason written for a row imported without the values `warnings` explain."""
    values = "este valor" if len(warnings) == 1 else "estes valores"
    return f"{_WARNED}{values}: {'; '.join(warnings)}"


def failed_rows_path(file_path: str | Path, job_id: uuid.UUID) -> Path:
    """Where a job's failed rows go: next to its uploaded file."""
    return Path(file_path).with_name(f"{job_id}.failed.csv")


class FailedRows:
    """The failed-rows CSV: the original cells (formulas neutralised), the line and the reason;
    `count` refused rows and `warned` rows imported without some values."""

    def __init__(self, path: Path, columns: list[str], delimiter: str, keep_through: int | None):
        self.path = path
        self.width = len(columns)
        self.delimiter = delimiter
        self.count = 0
        self.warned = 0
        if keep_through is None or not path.exists():
            with path.open("w", encoding="utf-8-sig", newline="") as stream:
                csv.writer(stream, delimiter=delimiter).writerow(
                    ["linha", *(neutralise(name) for name in columns), "motivo"]
                )
        else:
            self._trim(keep_through)
        self._stream = path.open("a", encoding="utf-8", newline="")
        self._writer = csv.writer(self._stream, delimiter=delimiter)

    def _trim(self, keep_through: int) -> None:
        # Rows written for a chunk whose transaction never committed are dropped: that chunk
        # runs again and writes them again.
        kept = self.path.with_suffix(".tmp")
        with (
            self.path.open(encoding="utf-8-sig", newline="") as source,
            kept.open("w", encoding="utf-8-sig", newline="") as target,
        ):
            reader = csv.reader(source, delimiter=self.delimiter)
            writer = csv.writer(target, delimiter=self.delimiter)
            writer.writerow(next(reader))
            for row in reader:
                if row and row[0].isdigit() and int(row[0]) <= keep_through:
                    writer.writerow(row)
                    if row[-1].startswith(_WARNED):
                        self.warned += 1
                    else:
                        self.count += 1
        os.replace(kept, self.path)

    def write(
        self,
        failures: Sequence[tuple[int, list[str], str]],
        warned: Sequence[tuple[int, list[str], str]] = (),
    ) -> None:
        """Append refused rows and warned rows (line, cells, reason), in line order, and flush
        them to disk."""
        # Lines are unique, so the sort never compares further than the line.
        rows = sorted([*failures, *warned]) if warned else failures
        for line, cells, reason in rows:
            padded = cells + [""] * (self.width - len(cells))
            self._writer.writerow([line, *(neutralise(cell) for cell in padded), reason])
        self._stream.flush()
        self.count += len(failures)
        self.warned += len(warned)

    def mark(self) -> tuple[int, int, int]:
        """Where the file ends now (to rewind to if the chunk does not commit)."""
        self._stream.flush()
        return os.fstat(self._stream.fileno()).st_size, self.count, self.warned

    def rewind(self, mark: tuple[int, int, int]) -> None:
        """Drop what was written since `mark`."""
        # The stream appends (O_APPEND), so after truncating, writing resumes at the mark.
        self._stream.flush()
        os.ftruncate(self._stream.fileno(), mark[0])
        self.count, self.warned = mark[1], mark[2]

    def close(self) -> None:
        """Close the file."""
        self._stream.close()
