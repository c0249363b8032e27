"""Inbox previews in pt-BR: what a message looks like in one line."""

from __future__ import annotations

PREVIEW_LENGTH = 200

_TYPE_LABELS = {
    "image": "📷 Foto",
    "video": "🎥 Vídeo",
    "audio": "🎤 Áudio",
    "document": "📄 Documento",
    "sticker": "Figurinha",
    "location": "📍 Localização",
    "live_location": "📍 Localização em tempo real",
    "contact": "👤 Contato",
    "contacts": "👥 Contatos",
    "poll": "📊 Enquete",
    "reaction": "Reação",
    "unknown": "Mensagem não suportada",
}


# What WhatsApp shows in place of a message deleted for everyone.
DELETED_PREVIEW = "🚫 Mensagem apagada"


def preview_of(message_type: str, body: str | None, caption: str | None) -> str:
    """One line for the inbox: the text, or a label for the media with its caption."""
    return _one_line(label_of(message_type, body, caption))


def label_of(message_type: str, body: str | None, caption: str | None) -> str:
    """The whole text, or a label for the media with its caption (transcripts)."""
    text = (body or "").strip()
    if text:
        return text
    label = _TYPE_LABELS.get(message_type, "Mensagem")
    if caption and caption.strip():
        return f"{label}: {caption.strip()}"
    return label


def _one_line(value: str) -> str:
    flat = " ".join(value.split())
    return flat if len(flat) <= PREVIEW_LENGTH else flat[: PREVIEW_LENGTH - 1] + "…"
