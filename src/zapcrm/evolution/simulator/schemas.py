"""JSON schemas of the request bodies, with the checks Evolution's validator applies (§3)."""

from __future__ import annotations

from typing import Any

__all__ = ["BASE64_SCHEMA", "NUMBERS_SCHEMA", "READ_SCHEMA", "SEND_ENDPOINTS", "SEND_SCHEMAS"]

_NUMBER = {"type": "string", "description": "Invalid format", "notEmpty": True}
_DELAY = {"type": "integer", "description": "Enter a value in milliseconds"}
_QUOTED = {
    "type": "object",
    "properties": {
        "key": {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]},
        "message": {"type": "object"},
    },
    "required": ["key"],
}
_KEY = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "remoteJid": {"type": "string"},
        "fromMe": {"type": "boolean"},
    },
    "required": ["id", "remoteJid", "fromMe"],
}
SEND_SCHEMAS: dict[str, dict[str, Any]] = {
    "sendText": {
        "type": "object",
        "properties": {
            "number": _NUMBER,
            "text": {"type": "string", "notEmpty": True},
            "delay": _DELAY,
            "linkPreview": {"type": "boolean"},
            "quoted": _QUOTED,
            "mentionsEveryOne": {"type": "boolean"},
            "mentioned": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["number", "text"],
    },
    "sendMedia": {
        "type": "object",
        "properties": {
            "number": _NUMBER,
            "mediatype": {"type": "string", "enum": ["image", "document", "video", "audio"]},
            "mimetype": {"type": "string"},
            "caption": {"type": "string"},
            "fileName": {"type": "string"},
            "media": {"type": "string"},
            "delay": _DELAY,
            "quoted": _QUOTED,
        },
        "required": ["number", "mediatype"],
    },
    "sendWhatsAppAudio": {
        "type": "object",
        "properties": {
            "number": _NUMBER,
            "audio": {"type": "string"},
            "delay": _DELAY,
            "encoding": {"type": "boolean"},
        },
        "required": ["number"],
    },
    "sendReaction": {
        "type": "object",
        "properties": {"key": _KEY, "reaction": {"type": "string"}},
        "required": ["key", "reaction"],
    },
}
SEND_ENDPOINTS = tuple(SEND_SCHEMAS)
READ_SCHEMA = {
    "type": "object",
    "properties": {"readMessages": {"type": "array", "items": _KEY}},
    "required": ["readMessages"],
}
NUMBERS_SCHEMA = {
    "type": "object",
    "properties": {"numbers": {"type": "array", "items": {"type": "string"}}},
    "required": ["numbers"],
}
BASE64_SCHEMA = {
    "type": "object",
    "properties": {
        "message": {
            "type": "object",
            "properties": {
                "key": {
                    "type": "object",
                    "properties": {"id": {"type": "string"}},
                    "required": ["id"],
                }
            },
            "required": ["key"],
        },
        "convertToMp4": {"type": "boolean"},
    },
    "required": ["message"],
}
