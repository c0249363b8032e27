"""The gateway call that delivers a queued message: sendText, sendMedia or sendWhatsAppAudio.

Built from the row's `outgoing` instruction (written by service/outbound.py) before the attempt
is recorded, so a file missing from storage fails the message without spending an attempt.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from zapcrm.evolution.client import EvolutionClient, SentMessage
from zapcrm.messaging.media import MediaStorage

GatewayCall = Callable[[EvolutionClient, str], Awaitable[SentMessage]]


class UnsendableMessage(Exception):
    """The queued instruction cannot be sent (its file is gone, or it is not one we know)."""


async def call_for(row: dict[str, Any], storage: MediaStorage) -> GatewayCall:
    """The call sending `row` to a target number or JID."""
    outgoing: dict[str, Any] = row["outgoing"] or {}
    kind = outgoing.get("kind", "text")
    quoted = outgoing.get("quoted")
    if kind == "text":
        text = outgoing.get("text") or row["body"] or ""

        async def send_text(client: EvolutionClient, target: str) -> SentMessage:
            return await client.send_text(target, text, quoted=quoted)

        return send_text
    if kind not in ("media", "voice_note"):
        raise UnsendableMessage(f"tipo de envio desconhecido: {kind}")
    try:
        data = await storage.read(str(outgoing["media_path"]))
    except (KeyError, FileNotFoundError, ValueError):
        raise UnsendableMessage("o arquivo deste envio não está mais disponível") from None
    if kind == "voice_note":

        async def send_voice_note(client: EvolutionClient, target: str) -> SentMessage:
            return await client.send_whatsapp_audio(target, data)

        return send_voice_note

    async def send_media(client: EvolutionClient, target: str) -> SentMessage:
        return await client.send_media(
            target,
            mediatype=outgoing["mediatype"],
            media=data,
            mimetype=outgoing["mimetype"],
            caption=outgoing.get("caption"),
            file_name=outgoing.get("file_name"),
            quoted=quoted,
        )

    return send_media
