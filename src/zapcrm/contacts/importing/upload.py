"""Receive a multipart upload straight to disk, refusing it (413) as soon as it passes the limit.

Starlette's `request.form()` would spool the whole body to a temporary file first and only
then let us look at its size; this parser streams the `file` part into its final place and
stops reading at the limit.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from zapcrm.contacts.importing import limits
from zapcrm.exceptions import BadRequest, PayloadTooLarge, ValidationFailed
from zapcrm.i18n import N_

__all__ = ["UploadedFile", "receive_csv"]

FIELD = "file"
# Other form fields are tiny (or absent); they are read and dropped.
_MAX_OTHER_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """The stored file: the name the client gave and its size in bytes."""

    file_name: str
    size: int


def _too_large() -> PayloadTooLarge:
    megabytes = limits.MAX_FILE_BYTES // (1024 * 1024)
    return PayloadTooLarge(
        N_("o arquivo passa do limite de {megabytes} MB", megabytes=megabytes)
        if megabytes
        else N_("o arquivo passa do limite de {limit} bytes", limit=limits.MAX_FILE_BYTES)
    )


class _Parts:
    """Callbacks of the streaming parser: routes the `file` part's bytes to disk."""

    def __init__(self, destination: Path) -> None:
        self.destination = destination
        self.stream: Any = None
        self.header_field = bytearray()
        self.header_value = bytearray()
        self.headers: dict[bytes, bytes] = {}
        self.in_file = False
        self.file_name: str | None = None
        self.size = 0
        self.other = 0
        self.error: Exception | None = None

    def on_part_begin(self) -> None:
        self.headers = {}
        self.in_file = False

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[bytes(self.header_field).lower()] = bytes(self.header_value)
        self.header_field.clear()
        self.header_value.clear()

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition"))
        if options.get(b"name") == FIELD.encode() and self.file_name is None:
            self.in_file = True
            raw_name = options.get(b"filename", b"contatos.csv")
            # Browsers send UTF-8 bytes; the parser hands them over as latin-1 text.
            name = raw_name.decode("utf-8", errors="replace").replace("\\", "/").split("/")[-1]
            self.file_name = name.strip()[:200] or "contatos.csv"
            self.stream = self.destination.open("wb")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.error is not None:
            return
        if not self.in_file:
            self.other += end - start
            if self.other > _MAX_OTHER_BYTES:
                self.error = BadRequest(N_("campos extras grandes demais no formulário"))
            return
        self.size += end - start
        if self.size > limits.MAX_FILE_BYTES:
            self.error = _too_large()
            return
        self.stream.write(data[start:end])

    def on_part_end(self) -> None:
        if self.in_file and self.stream is not None:
            self.stream.close()
        self.in_file = False


def _discard(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


async def receive_csv(request: Request, destination: Path) -> UploadedFile:
    """Stream the request's `file` field to `destination`; the file is removed on any error."""
    content_type, options = parse_options_header(request.headers.get("content-type"))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise ValidationFailed(
            N_("envie o CSV como multipart/form-data no campo file"),
            fields=[{"field": FIELD, "message": N_("campo obrigatório")}],
        )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limits.MAX_FILE_BYTES + _MAX_OTHER_BYTES:
        raise _too_large()
    destination.parent.mkdir(parents=True, exist_ok=True)
    parts = _Parts(destination)
    callbacks: Any = {
        "on_part_begin": parts.on_part_begin,
        "on_header_field": parts.on_header_field,
        "on_header_value": parts.on_header_value,
        "on_header_end": parts.on_header_end,
        "on_headers_finished": parts.on_headers_finished,
        "on_part_data": parts.on_part_data,
        "on_part_end": parts.on_part_end,
    }
    parser = MultipartParser(boundary, callbacks)
    try:
        try:
            async for chunk in request.stream():
                parser.write(chunk)
                if parts.error is not None:
                    raise parts.error
            parser.finalize()
        except MultipartParseError:
            raise BadRequest(N_("formulário multipart malformado")) from None
        if parts.file_name is None:
            raise ValidationFailed(
                N_("envie o arquivo CSV no campo file"),
                fields=[{"field": FIELD, "message": N_("campo obrigatório")}],
            )
    except BaseException:
        if parts.stream is not None:
            parts.stream.close()
        _discard(destination)
        raise
    if parts.stream is not None:
        parts.stream.close()
    return UploadedFile(file_name=parts.file_name, size=parts.size)
