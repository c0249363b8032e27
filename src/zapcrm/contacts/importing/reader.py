"""Reading uploaded CSV files: encoding, delimiter and header detection, then streamed records.

`inspect_file` runs once at upload over the whole file (so limits and broken files are refused
before anything is imported): UTF-8 with or without BOM, UTF-16 with BOM (Excel's "Unicode
text"), else cp1252 (Latin-1 when a byte cp1252 leaves undefined appears); comma, semicolon or
tab; quoted newlines; blank lines skipped. `iter_records` streams the data rows afterwards.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from zapcrm.contacts.importing import limits
from zapcrm.exceptions import ValidationFailed
from zapcrm.i18n import N_

__all__ = [
    "DELIMITERS",
    "FileProfile",
    "Record",
    "inspect_file",
    "iter_records",
]

DELIMITERS = (",", ";", "\t")
_BLOCK = 1024 * 1024
_SAMPLE_CHARS = 64 * 1024
# Bytes cp1252 leaves undefined: a file holding one is read as Latin-1 instead.
_CP1252_HOLES = (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# A header cell that is really data: a phone number or an e-mail address.
_DIGIT = re.compile(r"\d")
_EMAIL_LIKE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True, slots=True)
class FileProfile:
    """What the upload pass learnt about a file."""

    encoding: str
    delimiter: str
    columns: list[str]
    sample: list[list[str]]
    total_rows: int


@dataclass(frozen=True, slots=True)
class Record:
    """One data row: its 1-based index among data rows, the line it starts on, its cells."""

    index: int
    line: int
    cells: list[str]


def _rejected(message: str) -> ValidationFailed:
    return ValidationFailed(message, fields=[{"field": "file", "message": message}])


def _detect_encoding(path: Path) -> str:
    """Decode the whole file once: the first encoding that reads every byte wins."""
    with path.open("rb") as stream:
        head = stream.read(4)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        if head == b"PK\x03\x04":
            raise _rejected(
                N_(
                    "o arquivo parece uma planilha do Excel (.xlsx): "
                    "salve-a como CSV e envie de novo"
                )
            )
        stream.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        utf8 = True
        holes = False
        while block := stream.read(_BLOCK):
            if b"\x00" in block:
                raise _rejected(N_("o arquivo é binário, não um CSV de texto"))
            if utf8:
                try:
                    decoder.decode(block)
                except UnicodeDecodeError:
                    utf8 = False
            if not utf8 and not holes:
                holes = any(byte in block for byte in _CP1252_HOLES)
        if utf8:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                utf8 = False
    if utf8:
        return "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"
    return "latin-1" if holes else "cp1252"


def _read_sample(path: Path, encoding: str) -> str:
    with path.open(encoding=encoding, newline="") as stream:
        sample = stream.read(_SAMPLE_CHARS)
        complete = stream.read(1) == ""
    if "\x00" in sample:
        raise _rejected(N_("o arquivo é binário, não um CSV de texto"))
    # A few stray control characters happen in real exports; a binary file is full of them.
    if len(_CONTROL.findall(sample)) > max(3, len(sample) // 200):
        raise _rejected(N_("o arquivo é binário, não um CSV de texto"))
    if not complete and "\n" in sample:
        sample = sample[: sample.rindex("\n")]  # never judge a delimiter on a cut-off row
    return sample


def _widths(sample: str, delimiter: str) -> list[int]:
    try:
        rows = csv.reader(sample.splitlines(keepends=True), delimiter=delimiter)
        return [len(row) for _, row in zip(range(50), rows, strict=False) if any(row)]
    except csv.Error:
        return []


def _sniff_delimiter(sample: str) -> str:
    """csv.Sniffer's guess when the rows agree with it, else the delimiter giving steady rows."""
    try:
        guess: str | None = csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        guess = None
    scores: dict[str, tuple[float, int]] = {}
    for delimiter in DELIMITERS:
        widths = _widths(sample, delimiter)
        if not widths or widths[0] < 2:
            continue
        steady = sum(1 for width in widths if width == widths[0]) / len(widths)
        scores[delimiter] = (steady, widths[0])
    if guess in scores and scores[guess][0] >= 0.9:
        return guess
    if scores:
        return max(scores, key=lambda delimiter: scores[delimiter])
    return ","  # one column (a plain list of phones): no delimiter needed


def _looks_like_data(cell: str) -> bool:
    digits = len(_DIGIT.findall(cell))
    return (digits >= 8 and digits * 2 >= len(cell)) or bool(_EMAIL_LIKE.match(cell))


def _column_names(header: list[str]) -> list[str]:
    names: list[str] = []
    seen: dict[str, int] = {}
    for position, cell in enumerate(header, start=1):
        name = " ".join(cell.replace("\ufeff", "").split())[:100] or f"coluna {position}"
        count = seen.get(name.casefold(), 0) + 1
        seen[name.casefold()] = count
        names.append(name if count == 1 else f"{name} ({count})")
    return names


def _is_blank(row: list[str]) -> bool:
    # One join and one strip in C: a generator over the cells cost ~7 s of a 1M-row import.
    return not "".join(row).strip()


def _is_sep_line(row: list[str]) -> bool:
    # Excel writes "sep=;" as the first line of some exports to name the delimiter.
    return len(row) <= 2 and row[0].strip().lower().startswith("sep=")


def _thousands(number: int) -> str:
    return f"{number:,}".replace(",", ".")


def inspect_file(path: Path) -> FileProfile:
    """Validate a whole uploaded file and describe it; ValidationFailed says what is wrong."""
    if path.stat().st_size == 0:
        raise _rejected(N_("o arquivo está vazio"))
    encoding = _detect_encoding(path)
    sample = _read_sample(path, encoding)
    delimiter = _sniff_delimiter(sample)
    if sample.lower().startswith("sep=") and sample[4:5] in DELIMITERS:
        delimiter = sample[4]
    header: list[str] | None = None
    preview: list[list[str]] = []
    total = 0
    sep_allowed = True
    with path.open(encoding=encoding, newline="") as stream:
        rows = csv.reader(stream, delimiter=delimiter)
        try:
            for row in rows:
                if _is_blank(row):
                    continue
                if header is None:
                    if total == 0 and not preview and _is_sep_line(row) and sep_allowed:
                        sep_allowed = False
                        continue
                    header = row
                    continue
                total += 1
                if total > limits.MAX_ROWS:
                    raise _rejected(
                        N_(
                            "o arquivo tem mais de {rows} linhas de dados",
                            rows=_thousands(limits.MAX_ROWS),
                        )
                    )
                if len(preview) < limits.PREVIEW_ROWS:
                    preview.append([cell[: limits.PREVIEW_CELL_CHARS] for cell in row])
        except UnicodeDecodeError:
            raise _rejected(
                N_("linha {line}: texto com codificação inválida", line=rows.line_num)
            ) from None
        except csv.Error as error:
            if "field larger" in str(error):
                raise _rejected(
                    N_(
                        "linha {line}: uma célula passa de {limit} caracteres",
                        line=rows.line_num,
                        limit=limits.MAX_CELL_CHARS,
                    )
                ) from None
            raise _rejected(
                N_(
                    "linha {line}: CSV malformado ({problem})",
                    line=rows.line_num,
                    problem=str(error),
                )
            ) from None
    if header is None:
        raise _rejected(N_("o arquivo não tem nenhuma linha"))
    if any(_looks_like_data(cell.strip()) for cell in header):
        raise _rejected(
            N_(
                "a primeira linha parece conter dados: inclua uma linha de cabeçalho"
                " com os nomes das colunas"
            )
        )
    if total == 0:
        raise _rejected(N_("o arquivo só tem o cabeçalho, nenhuma linha de dados"))
    return FileProfile(
        encoding=encoding,
        delimiter=delimiter,
        columns=_column_names(header),
        sample=preview,
        total_rows=total,
    )


def iter_records(path: Path, encoding: str, delimiter: str, *, skip: int = 0) -> Iterator[Record]:
    """The data rows after the header, blank lines left out; the first `skip` rows are passed."""
    with path.open(encoding=encoding, newline="") as stream:
        rows = csv.reader(stream, delimiter=delimiter)
        index = 0
        header_seen = False
        first = True
        line_end = 0
        for row in rows:
            line = line_end + 1
            line_end = rows.line_num
            if _is_blank(row):
                continue
            if not header_seen:
                if first and _is_sep_line(row):
                    first = False
                    continue
                header_seen = True
                continue
            index += 1
            if index > skip:
                yield Record(index, line, row)


def line_of(path: Path, encoding: str, delimiter: str, index: int) -> int:
    """The line data row `index` starts on (0 before the first one)."""
    if index == 0:
        return 0
    for record in iter_records(path, encoding, delimiter):
        if record.index == index:
            return record.line
    return 0
