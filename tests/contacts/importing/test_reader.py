"""Reading uploaded files: encodings, delimiters, quoted newlines, blank lines and bad files."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from zapcrm.contacts.importing import limits
from zapcrm.contacts.importing.reader import inspect_file, iter_records
from zapcrm.exceptions import ValidationFailed
from zapcrm.spreadsheets import neutralise, restored


def _file(tmp_path: Path, content: bytes, name: str = "contatos.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def test_utf8_with_bom_keeps_the_first_column_name_clean(tmp_path: Path) -> None:
    path = _file(tmp_path, codecs.BOM_UTF8 + "Nome,Telefone\nJoão,11987654321\n".encode())
    profile = inspect_file(path)
    assert profile.encoding == "utf-8-sig"
    assert profile.columns == ["Nome", "Telefone"]
    assert profile.sample == [["João", "11987654321"]]


def test_cp1252_file_from_excel_reads_accents(tmp_path: Path) -> None:
    # Brazilian Excel saves "CSV" as cp1252 with semicolons.
    path = _file(tmp_path, "Nome;Celular\nJoão Conceição;11987654321\n".encode("cp1252"))
    profile = inspect_file(path)
    assert profile.encoding == "cp1252"
    assert profile.delimiter == ";"
    assert profile.sample == [["João Conceição", "11987654321"]]


def test_a_byte_cp1252_leaves_undefined_falls_back_to_latin1(tmp_path: Path) -> None:
    path = _file(tmp_path, b"Nome;Celular\nJo\xe3o\x81;11987654321\n")
    profile = inspect_file(path)
    assert profile.encoding == "latin-1"
    assert profile.sample[0][0] == "João\x81"


@pytest.mark.parametrize(("delimiter", "name"), [(",", "comma"), (";", "semicolon"), ("\t", "tab")])
def test_delimiter_is_sniffed(tmp_path: Path, delimiter: str, name: str) -> None:
    lines = [
        delimiter.join(["Nome", "Telefone", "Etiquetas"]),
        delimiter.join(['"Silva, Maria"', "11987654321", '"vip;novo"']),
        delimiter.join(["José", "21987654321", "novo"]),
    ]
    path = _file(tmp_path, "\n".join(lines).encode(), f"{name}.csv")
    profile = inspect_file(path)
    assert profile.delimiter == delimiter
    assert profile.columns == ["Nome", "Telefone", "Etiquetas"]
    assert profile.sample[0][0] == "Silva, Maria"


def test_a_single_column_of_phones_needs_no_delimiter(tmp_path: Path) -> None:
    path = _file(tmp_path, b"telefone\n+55 (11) 98765-4321\n(21) 98765-4321\n")
    profile = inspect_file(path)
    assert profile.columns == ["telefone"]
    assert profile.total_rows == 2
    assert profile.sample[0] == ["+55 (11) 98765-4321"]


def test_quoted_newlines_and_blank_lines(tmp_path: Path) -> None:
    content = (
        'nome,telefone,obs\r\n\r\n"Ana\r\nMaria",11987654321,"linha 1\nlinha 2"\r\n'
        ",,\r\n;\r\n   \r\nBeto,21987654321,x\r\n"
    )
    path = _file(tmp_path, content.encode())
    profile = inspect_file(path)
    assert profile.total_rows == 3  # the ";" line is a one-cell row, not blank under ","
    records = list(iter_records(path, profile.encoding, profile.delimiter))
    assert [record.cells[0] for record in records] == ["Ana\r\nMaria", ";", "Beto"]
    # Line numbers point at the physical line each row starts on (header = 1).
    assert [record.line for record in records] == [3, 7, 9]
    assert [record.index for record in records] == [1, 2, 3]
    resumed = list(iter_records(path, profile.encoding, profile.delimiter, skip=2))
    assert [record.index for record in resumed] == [3]


def test_excel_sep_line_names_the_delimiter(tmp_path: Path) -> None:
    path = _file(tmp_path, b"sep=;\nNome;Telefone\nAna;11987654321\n")
    profile = inspect_file(path)
    assert profile.delimiter == ";"
    assert profile.columns == ["Nome", "Telefone"]
    assert [r.cells for r in iter_records(path, "utf-8", ";")] == [["Ana", "11987654321"]]


def test_utf16_unicode_text_from_excel(tmp_path: Path) -> None:
    content = "Nome\tTelefone\r\nJoão\t11987654321\r\n".encode("utf-16")
    profile = inspect_file(_file(tmp_path, content))
    assert profile.encoding == "utf-16"
    assert profile.delimiter == "\t"
    assert profile.sample == [["João", "11987654321"]]


def test_column_names_are_made_unique_and_never_empty(tmp_path: Path) -> None:
    path = _file(tmp_path, b"Telefone,,telefone, Nome  Completo \n11987654321,a,b,c\n")
    assert inspect_file(path).columns == ["Telefone", "coluna 2", "telefone (2)", "Nome Completo"]


def test_huge_cell_under_the_limit_is_read_over_it_is_refused(tmp_path: Path) -> None:
    big = "x" * 100_000
    path = _file(tmp_path, f"nome,telefone\n{big},11987654321\n".encode())
    profile = inspect_file(path)
    assert len(profile.sample[0][0]) == limits.PREVIEW_CELL_CHARS  # the preview is trimmed
    assert next(iter_records(path, "utf-8", ",")).cells[0] == big
    too_big = "x" * (limits.MAX_CELL_CHARS + 1)
    with pytest.raises(ValidationFailed, match="linha 2: uma célula passa de"):
        inspect_file(_file(tmp_path, f"nome,telefone\n{too_big},1\n".encode(), "big.csv"))


def test_empty_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="vazio"):
        inspect_file(_file(tmp_path, b""))


def test_binary_files_are_refused(tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
    with pytest.raises(ValidationFailed, match="binário"):
        inspect_file(_file(tmp_path, png, "foto.csv"))
    no_nul = bytes(range(1, 32)) * 200
    with pytest.raises(ValidationFailed, match="binário"):
        inspect_file(_file(tmp_path, no_nul, "ruido.csv"))
    xlsx = b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 100
    with pytest.raises(ValidationFailed, match="Excel"):
        inspect_file(_file(tmp_path, xlsx, "planilha.csv"))


def test_file_without_a_header_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="cabeçalho"):
        inspect_file(_file(tmp_path, b"Maria,11987654321\nJose,21987654321\n"))
    with pytest.raises(ValidationFailed, match="cabeçalho"):
        inspect_file(_file(tmp_path, b"ana@exemplo.com;Ana\n", "emails.csv"))
    with pytest.raises(ValidationFailed, match="só tem o cabeçalho"):
        inspect_file(_file(tmp_path, b"nome,telefone\n\n\n", "vazio.csv"))


def test_row_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_ROWS", 3)
    rows = "".join(f"P{index},1198765432{index}\n" for index in range(4))
    with pytest.raises(ValidationFailed, match="mais de 3 linhas"):
        inspect_file(_file(tmp_path, f"nome,telefone\n{rows}".encode()))
    inspect_file(_file(tmp_path, f"nome,telefone\n{rows[: rows.rindex('P')]}".encode(), "ok.csv"))


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+55 11 98765-4321", "'+55 11 98765-4321"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Maria", "Maria"),
        ("", ""),
    ],
)
def test_formula_cells_are_neutralised_and_read_back_as_they_were(cell: str, safe: str) -> None:
    assert neutralise(cell) == safe
    assert restored(safe) == cell


def test_an_apostrophe_of_the_data_itself_stays() -> None:
    assert restored("'Tá bom'") == "'Tá bom'"
    assert restored("'") == "'"
    assert restored("''=1") == "''=1"
