"""Files operators send: the multipart form, the size limit per kind, the type read from the bytes.

The client's Content-Type and file name are not trusted for the type: the bytes are sniffed
(puremagic, a pure-Python magic-number table) and must be one of the types WhatsApp renders for
the chosen kind. The form is parsed by Starlette after the body limit middleware has capped the
whole request at `MediaLimits.body_limit`; each kind's own limit is checked here (413).
"""

from __future__ import annotations

import mimetypes
import uuid
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Literal

import puremagic
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import UploadFile
from starlette.requests import Request

from zapcrm.config import Settings
from zapcrm.exceptions import PayloadTooLarge, ValidationFailed
from zapcrm.i18n import N_

__all__ = [
    "MediaKind",
    "MediaLimits",
    "MediaUpload",
    "inspect_upload",
    "is_multipart",
    "read_media_form",
    "sniff",
]

MediaKind = Literal["image", "video", "document", "audio"]

MAX_CAPTION_LENGTH = 1024  # WhatsApp's own limit for a media caption
MAX_FILE_NAME_LENGTH = 200
# Multipart framing and the small text fields around the file.
_FORM_OVERHEAD_BYTES = 64 * 1024

_IMAGE = frozenset({"image/jpeg", "image/png", "image/webp"})
_VIDEO = frozenset({"video/mp4", "video/3gpp"})
# Evolution converts any of these to OGG/Opus with ffmpeg for a voice note (§3.4); browsers record
# webm (Chrome), ogg (Firefox) or mp4 (Safari).
_AUDIO = frozenset(
    {"audio/ogg", "audio/mpeg", "audio/mp4", "audio/aac", "audio/wav", "audio/webm", "audio/flac"}
)
_OFFICE = frozenset(
    {
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.presentation",
    }
)
_DOCUMENT = (
    frozenset({"application/pdf", "application/zip", "application/rtf", "text/plain", "text/csv"})
    | _OFFICE
    | _IMAGE
    | _VIDEO
    | _AUDIO
)
ALLOWED: dict[MediaKind, frozenset[str]] = {
    "image": _IMAGE,
    "video": _VIDEO,
    "audio": _AUDIO,
    "document": _DOCUMENT,
}
# A document is any file a customer may open; programs are refused whatever their bytes say.
_BLOCKED_EXTENSIONS = frozenset(
    {
        ".exe", ".msi", ".bat", ".cmd", ".com", ".scr", ".pif", ".dll", ".js", ".vbs", ".ps1",
        ".jar", ".apk", ".sh", ".html", ".htm", ".svg", ".hta", ".lnk",
    }
)  # fmt: skip
# The magic table names some containers by another member of their family.
_ALIASES = {
    "application/ogg": "audio/ogg",
    "audio/opus": "audio/ogg",
    "audio/wave": "audio/wav",
    "audio/x-wav": "audio/wav",
    "audio/vnd.wave": "audio/wav",
    "audio/x-flac": "audio/flac",
    "audio/x-m4a": "audio/mp4",
}
# A voice note in an mp4 or webm container is audio whatever the table calls the container.
_AUDIO_CONTAINERS = {"video/mp4": "audio/mp4", "video/webm": "audio/webm"}
_LABELS: dict[MediaKind, str] = {
    "image": N_("a imagem"),
    "video": N_("o vídeo"),
    "audio": N_("o áudio"),
    "document": N_("o documento"),
}


@dataclass(frozen=True, slots=True)
class MediaLimits:
    """The largest file of each kind, in bytes."""

    image: int
    video: int
    audio: int
    document: int

    @classmethod
    def from_settings(cls, settings: Settings) -> MediaLimits:
        """The limits configured by MEDIA_MAX_*_BYTES."""
        return cls(
            image=settings.media_max_image_bytes,
            video=settings.media_max_video_bytes,
            audio=settings.media_max_audio_bytes,
            document=settings.media_max_document_bytes,
        )

    def of(self, kind: MediaKind) -> int:
        """The limit of one kind."""
        limit: int = getattr(self, kind)
        return limit

    @property
    def body_limit(self) -> int:
        """What the request body limit must allow on the send route."""
        return max(self.image, self.video, self.audio, self.document) + _FORM_OVERHEAD_BYTES


@dataclass(frozen=True, slots=True)
class MediaUpload:
    """A validated file to send: its kind, bytes, sniffed mimetype and what goes with it."""

    kind: MediaKind
    data: bytes
    mimetype: str
    file_name: str | None
    caption: str | None
    quoted_message_id: uuid.UUID | None


class MediaFields(BaseModel):
    """The text fields of the media form (the bytes come in the `file` part)."""

    model_config = ConfigDict(extra="forbid")

    type: MediaKind
    caption: str | None = Field(default=None, max_length=MAX_CAPTION_LENGTH)
    file_name: str | None = Field(default=None, max_length=MAX_FILE_NAME_LENGTH)
    quoted_message_id: uuid.UUID | None = None


def is_multipart(request: Request) -> bool:
    """Whether the request carries a form upload rather than JSON."""
    return request.headers.get("content-type", "").lower().startswith("multipart/form-data")


def _megabytes(size: int) -> str:
    value = size / (1024 * 1024)
    return f"{value:.0f} MB" if value >= 1 else f"{size} bytes"


def _clean_name(raw: str | None) -> str | None:
    """A bare file name: no directories, no control characters."""
    if not raw:
        return None
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(char for char in name if char.isprintable()).strip()
    return name[:MAX_FILE_NAME_LENGTH] or None


def _text_type(data: bytes, file_name: str | None) -> str | None:
    """Plain text has no magic number, so puremagic cannot name it: accept UTF-8 without NUL
    bytes under a .txt or .csv name (or none), nothing else (an HTML page is text too)."""
    if b"\x00" in data:
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    suffix = PurePosixPath(file_name or "").suffix.lower()
    if suffix == ".csv":
        return "text/csv"
    return "text/plain" if suffix in ("", ".txt") else None


def sniff(kind: MediaKind, data: bytes, file_name: str | None) -> str | None:
    """The mimetype the bytes really have, when it is one allowed for `kind`; else None."""
    if kind == "document" and PurePosixPath(file_name or "").suffix.lower() in _BLOCKED_EXTENSIONS:
        return None
    try:
        # The file name only breaks ties between types sharing a signature (docx vs xlsx).
        candidates = puremagic.magic_string(data, filename=file_name or "")
    except (puremagic.PureError, ValueError):
        candidates = []
    for candidate in candidates:
        mimetype = _ALIASES.get(candidate.mime_type, candidate.mime_type)
        if not mimetype or mimetype == "application/octet-stream":
            continue  # the table's entry names an extension only: look further
        if kind == "audio":
            mimetype = _AUDIO_CONTAINERS.get(mimetype, mimetype)
        # The first named type decides: a later candidate is a weaker guess, not an alternative.
        return mimetype if mimetype in ALLOWED[kind] else None
    return _text_type(data, file_name) if kind == "document" else None


def _validated(fields: dict[str, str]) -> MediaFields:
    try:
        return MediaFields.model_validate(fields)
    except ValidationError as error:
        # Rendered like FastAPI's own body validation errors (422, one entry per field).
        raise RequestValidationError(error.errors(include_url=False)) from None


async def read_media_form(request: Request, limits: MediaLimits) -> MediaUpload:
    """Parse and check the media form: fields, size for the kind (413), sniffed type (422)."""
    async with request.form(max_files=1, max_fields=8, max_part_size=8 * 1024) as form:
        fields: dict[str, str] = {}
        upload: UploadFile | None = None
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                if name != "file":
                    raise ValidationFailed(N_("arquivo inesperado no campo {name}", name=name))
                upload = value
            else:
                fields[name] = value
        parsed = _validated(fields)
        if upload is None:
            raise ValidationFailed(
                N_("envie o arquivo no campo file"),
                fields=[{"field": "file", "message": N_("campo obrigatório")}],
            )
        limit = limits.of(parsed.type)
        if upload.size is not None and upload.size > limit:
            raise PayloadTooLarge(
                N_(
                    "{what} passa do limite de {size}",
                    what=_LABELS[parsed.type],
                    size=_megabytes(limit),
                ),
                limit_bytes=limit,
            )
        data = await upload.read(limit + 1)
        if len(data) > limit:
            raise PayloadTooLarge(
                N_(
                    "{what} passa do limite de {size}",
                    what=_LABELS[parsed.type],
                    size=_megabytes(limit),
                ),
                limit_bytes=limit,
            )
        if not data:
            raise ValidationFailed(N_("o arquivo está vazio"))
        file_name = _clean_name(parsed.file_name) or _clean_name(upload.filename)
    return inspect_upload(
        parsed.type,
        data,
        file_name=file_name,
        caption=parsed.caption,
        quoted_message_id=parsed.quoted_message_id,
    )


def inspect_upload(
    kind: MediaKind,
    data: bytes,
    *,
    file_name: str | None,
    caption: str | None,
    quoted_message_id: uuid.UUID | None,
) -> MediaUpload:
    """Apply the rules that do not depend on HTTP: type, caption and reply for the kind."""
    mimetype = sniff(kind, data, file_name)
    if mimetype is None:
        allowed = ", ".join(sorted(ALLOWED[kind]))
        raise ValidationFailed(
            N_(
                "tipo de arquivo não permitido para {kind}; aceitos: {allowed}",
                kind=kind,
                allowed=allowed,
            ),
            fields=[{"field": "file", "message": N_("tipo não permitido")}],
        )
    text = (caption or "").strip() or None
    if kind == "audio" and (text is not None or quoted_message_id is not None):
        # sendWhatsAppAudio has no caption and ignores `quoted` (evolution-api.md §3.4).
        raise ValidationFailed(N_("mensagens de voz não levam legenda nem citação"))
    if kind == "document" and file_name is None:
        # Base64 documents need a file name at the gateway (§3.3); the customer sees it.
        file_name = "documento" + (mimetypes.guess_extension(mimetype) or "")
    return MediaUpload(
        kind=kind,
        data=data,
        mimetype=mimetype,
        file_name=file_name if kind == "document" else None,
        caption=text,
        quoted_message_id=quoted_message_id,
    )
