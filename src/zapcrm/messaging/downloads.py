"""Message attachments as HTTP responses, one rule for the API and the panel.

Customer files are untrusted: only a short list of image, audio and video types is served
inline (the panel needs that for previews and players); everything else, SVG and HTML included,
is sent as a download of `application/octet-stream`. Every response carries `nosniff` and a
sandboxing CSP, so even a lying file cannot run script on our origin.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fastapi.responses import Response

from zapcrm.exceptions import NotFound
from zapcrm.i18n import N_
from zapcrm.messaging.media import build_media_storage
from zapcrm.messaging.service import inbox
from zapcrm.runtime import Runtime

INLINE_TYPES = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/webp",
        "image/gif",
        "audio/ogg",
        "audio/mpeg",
        "audio/mp4",
        "audio/aac",
        "video/mp4",
        "video/3gpp",
    }
)
MEDIA_CSP = "default-src 'none'; img-src 'self'; media-src 'self'; sandbox"


def content_disposition(kind: str, file_name: str) -> str:
    """RFC 6266/5987: an ASCII fallback plus the UTF-8 name ("relatório.pdf" stays readable)."""
    fallback = "".join(
        ch if ch.isascii() and ch not in '"\\;' and ch.isprintable() else "_" for ch in file_name
    )
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(file_name, safe='')}"


async def media_response(
    runtime: Runtime, claims: Mapping[str, Any], message_id: uuid.UUID
) -> Response:
    """The bytes of a message's attachment, if the caller (RLS claims) may see the message."""
    async with runtime.db.tenant_session(claims) as session:
        media = await inbox.stored_media(session, message_id)
    try:
        data = await build_media_storage(runtime.settings).read(media.key)
    except (FileNotFoundError, ValueError):
        raise NotFound(N_("arquivo não encontrado")) from None
    declared = (media.mimetype or "").split(";")[0].strip().lower()
    inline = declared in INLINE_TYPES
    file_name = (media.file_name or f"{media.message_type}-{message_id}")[:200]
    return Response(
        content=data,
        media_type=declared if inline else "application/octet-stream",
        headers={
            "Content-Disposition": content_disposition(
                "inline" if inline else "attachment", file_name
            ),
            "Content-Security-Policy": MEDIA_CSP,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, max-age=3600",
        },
    )
