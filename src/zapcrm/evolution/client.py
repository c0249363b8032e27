"""Async REST client for the Evolution API endpoints zapcrm calls.

Every failure leaves as a typed `GatewayError` (see errors.py); the instance name is the path
parameter and the instance token goes in the `apikey` header (evolution-api.md §3.1).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import httpx

from zapcrm.evolution.errors import (
    GatewayError,
    GatewayRateLimited,
    GatewayRejected,
    GatewayUnauthorized,
    GatewayUnavailable,
    InstanceNotFound,
    reason_of,
)


@dataclass(frozen=True, slots=True)
class SentMessage:
    """What the gateway answered to a send: the WhatsApp id and the JID it really used."""

    key_id: str
    remote_jid: str
    status: str | None
    raw: dict[str, Any]


@dataclass(frozen=True, slots=True)
class NumberCheck:
    """Whether a number is on WhatsApp, and under which JID WhatsApp knows it."""

    number: str
    exists: bool
    jid: str | None


@dataclass(frozen=True, slots=True)
class MediaDownload:
    """Media bytes fetched from the gateway."""

    data: bytes
    mimetype: str | None
    file_name: str | None


class EvolutionClient:
    """One Evolution server, called with one instance's token."""

    def __init__(
        self, http: httpx.AsyncClient, *, server_url: str, instance: str, token: str
    ) -> None:
        self._http = http
        self._base = server_url.rstrip("/")
        self._instance = instance
        self._token = token

    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        url = f"{self._base}{path}/{self._instance}"
        try:
            response = await self._http.post(url, json=body, headers={"apikey": self._token})
        except httpx.TimeoutException as error:
            raise GatewayUnavailable("a Evolution API não respondeu a tempo") from error
        except httpx.HTTPError as error:
            raise GatewayUnavailable(
                f"falha de conexão com a Evolution API: {type(error).__name__}"
            ) from error
        try:
            body_json: Any = response.json()
        except ValueError:
            body_json = response.text
        status = response.status_code
        if status < 400:
            return body_json
        reason = reason_of(body_json) or f"HTTP {status}"
        error_class: type[GatewayError]
        if status == 429:
            error_class = GatewayRateLimited
        elif status >= 500:
            error_class = GatewayUnavailable
        elif status == 401:
            error_class = GatewayUnauthorized
        elif status == 404:
            error_class = InstanceNotFound
        else:
            error_class = GatewayRejected
        raise error_class(reason, status=status)

    async def send_text(
        self, number: str, text: str, *, quoted: dict[str, Any] | None = None
    ) -> SentMessage:
        """`POST /message/sendText`; `number` is digits or a JID (§3.2)."""
        body: dict[str, Any] = {"number": number, "text": text, "linkPreview": False}
        if quoted is not None:
            body["quoted"] = quoted
        return _sent(await self._post("/message/sendText", body))

    async def send_reaction(
        self, *, remote_jid: str, from_me: bool, key_id: str, emoji: str
    ) -> SentMessage:
        """`POST /message/sendReaction`; an empty emoji removes our reaction (§3.5)."""
        body = {
            "key": {"remoteJid": remote_jid, "fromMe": from_me, "id": key_id},
            "reaction": emoji,
        }
        return _sent(await self._post("/message/sendReaction", body))

    async def whatsapp_numbers(self, numbers: list[str]) -> list[NumberCheck]:
        """`POST /chat/whatsappNumbers`: which numbers exist, and their real JIDs (§3.7)."""
        body = await self._post("/chat/whatsappNumbers", {"numbers": numbers})
        if not isinstance(body, list):
            raise GatewayRejected("resposta inesperada de whatsappNumbers")
        checks = []
        for item in body:
            if isinstance(item, dict):
                jid = item.get("jid") if isinstance(item.get("jid"), str) else None
                checks.append(
                    NumberCheck(
                        number=str(item.get("number", "")),
                        exists=item.get("exists") is True,
                        jid=jid,
                    )
                )
        return checks

    async def mark_read(self, keys: list[dict[str, Any]]) -> None:
        """`POST /chat/markMessageAsRead` (Evolution silently skips @lid keys, §3.6)."""
        await self._post("/chat/markMessageAsRead", {"readMessages": keys})

    async def media_base64(self, key_id: str) -> MediaDownload:
        """`POST /chat/getBase64FromMediaMessage`: the bytes of a stored media message."""
        body = await self._post(
            "/chat/getBase64FromMediaMessage",
            {"message": {"key": {"id": key_id}}, "convertToMp4": False},
        )
        if not isinstance(body, dict) or not isinstance(body.get("base64"), str):
            raise GatewayRejected("resposta sem base64")
        try:
            data = base64.b64decode(body["base64"].split(",", 1)[-1], validate=True)
        except (binascii.Error, ValueError):
            raise GatewayRejected("base64 inválido na resposta") from None
        return MediaDownload(
            data=data,
            mimetype=body.get("mimetype") if isinstance(body.get("mimetype"), str) else None,
            file_name=body.get("fileName") if isinstance(body.get("fileName"), str) else None,
        )


def _sent(body: Any) -> SentMessage:
    key = body.get("key") if isinstance(body, dict) else None
    if not isinstance(key, dict) or not isinstance(key.get("id"), str):
        raise GatewayRejected("resposta de envio sem key.id")
    status = body.get("status")
    return SentMessage(
        key_id=key["id"],
        remote_jid=str(key.get("remoteJid", "")),
        status=status if isinstance(status, str) else None,
        raw=body,
    )
