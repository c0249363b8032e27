"""Async REST client for the Evolution API endpoints zapcrm calls.

Every failure leaves as a typed `GatewayError` (see errors.py); the instance name is the path
parameter and the instance token goes in the `apikey` header (evolution-api.md §3.1).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import httpx

from zapcrm.evolution.errors import (
    GatewayError,
    GatewayRateLimited,
    GatewayRejected,
    GatewayUnauthorized,
    GatewayUnavailable,
    GatewayUnreachable,
    InstanceNotFound,
    reason_of,
)

# A media send uploads the file to WhatsApp before the gateway answers (and converts audio with
# ffmpeg first): far slower than a text. Connecting stays quick to fail.
MEDIA_SEND_TIMEOUT = httpx.Timeout(120.0, connect=3.0)


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


class CallWatch(Protocol):
    """Told whether each call got an answer (any HTTP response) from its server or none: from
    the server as a whole (`instance` None: it could not be reached) or for the instance
    (the server took the call and never answered it)."""

    async def answered(self, server_url: str, instance: str) -> None: ...

    async def unanswered(self, server_url: str, instance: str | None) -> None: ...


class EvolutionClient:
    """One Evolution server, called with one instance's token; `watch` hears of every call."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        server_url: str,
        instance: str,
        token: str,
        watch: CallWatch | None = None,
    ) -> None:
        self._http = http
        self._base = server_url.rstrip("/")
        self._instance = instance
        self._token = token
        self._watch = watch

    async def _post(
        self, path: str, body: dict[str, Any], *, patience: httpx.Timeout | None = None
    ) -> Any:
        return await self._call("POST", f"{path}/{self._instance}", body, patience=patience)

    async def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        patience: httpx.Timeout | None = None,
    ) -> Any:
        url = f"{self._base}{path}"
        extra: dict[str, Any] = {} if patience is None else {"timeout": patience}
        try:
            response = await self._http.request(
                method, url, json=body, headers={"apikey": self._token}, **extra
            )
        except httpx.PoolTimeout as error:
            # Every connection of our own pool was busy: our load, not the server's.
            raise GatewayUnavailable("muitas chamadas à Evolution API ao mesmo tempo") from error
        except httpx.HTTPError as error:
            if self._watch is not None:
                whole_server = isinstance(error, httpx.ConnectError | httpx.ConnectTimeout)
                await self._watch.unanswered(self._base, None if whole_server else self._instance)
            if isinstance(error, httpx.TimeoutException):
                raise GatewayUnreachable("a Evolution API não respondeu a tempo") from error
            raise GatewayUnreachable(
                f"falha de conexão com a Evolution API: {type(error).__name__}"
            ) from error
        if self._watch is not None:
            await self._watch.answered(self._base, self._instance)
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

    async def send_media(
        self,
        number: str,
        *,
        mediatype: Literal["image", "video", "document"],
        media: bytes,
        mimetype: str,
        caption: str | None = None,
        file_name: str | None = None,
        quoted: dict[str, Any] | None = None,
    ) -> SentMessage:
        """`POST /message/sendMedia` with the file as raw base64 (§3.3).

        A `data:` URI prefix is refused by the gateway, and a base64 document needs `fileName`.
        Images come back re-encoded as JPEG.
        """
        if mediatype == "document" and not file_name:
            raise ValueError("a base64 document needs a file name")
        body: dict[str, Any] = {
            "number": number,
            "mediatype": mediatype,
            "mimetype": mimetype,
            "media": base64.b64encode(media).decode("ascii"),
        }
        if caption:
            body["caption"] = caption
        if file_name:
            body["fileName"] = file_name
        if quoted is not None:
            body["quoted"] = quoted
        return _sent(await self._post("/message/sendMedia", body, patience=MEDIA_SEND_TIMEOUT))

    async def send_whatsapp_audio(self, number: str, audio: bytes) -> SentMessage:
        """`POST /message/sendWhatsAppAudio`: a voice note (PTT), converted by the gateway to
        OGG/Opus (§3.4). It takes no caption and ignores `quoted`."""
        body = {"number": number, "audio": base64.b64encode(audio).decode("ascii")}
        return _sent(
            await self._post("/message/sendWhatsAppAudio", body, patience=MEDIA_SEND_TIMEOUT)
        )

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

    async def connection_state(self) -> str:
        """`GET /instance/connectionState`: open, connecting or close, live (§3.8)."""
        body = await self._call("GET", f"/instance/connectionState/{self._instance}")
        state = body.get("instance", {}).get("state") if isinstance(body, dict) else None
        if not isinstance(state, str):
            raise GatewayRejected("resposta inesperada de connectionState")
        return state

    async def connect(self) -> dict[str, Any]:
        """`GET /instance/connect`: the pairing QR, or the state when already connected."""
        body = await self._call("GET", f"/instance/connect/{self._instance}")
        if isinstance(body, dict) and body.get("error") is True:
            # connect/restart report failures as HTTP 200 with {"error": true} (§6.7).
            raise GatewayRejected(str(body.get("message") or "falha ao conectar"))
        return body if isinstance(body, dict) else {}

    async def restart(self) -> None:
        """`POST /instance/restart`: reconnect the socket."""
        body = await self._call("POST", f"/instance/restart/{self._instance}")
        if isinstance(body, dict) and body.get("error") is True:
            raise GatewayRejected(str(body.get("message") or "falha ao reiniciar"))

    async def logout(self) -> None:
        """`DELETE /instance/logout`: unpair the phone (a new QR is needed)."""
        await self._call("DELETE", f"/instance/logout/{self._instance}")

    async def set_webhook(
        self,
        *,
        url: str,
        events: list[str],
        headers: dict[str, str],
        base64: bool = True,
        by_events: bool = False,
    ) -> None:
        """`POST /webhook/set` with the 2.x nested body (§3.9)."""
        await self._post(
            "/webhook/set",
            {
                "webhook": {
                    "enabled": True,
                    "url": url,
                    "headers": headers,
                    "byEvents": by_events,
                    "base64": base64,
                    "events": events,
                }
            },
        )

    async def find_webhook(self) -> dict[str, Any] | None:
        """`GET /webhook/find`: the instance webhook row, or None when none is set (§3.9)."""
        body = await self._call("GET", f"/webhook/find/{self._instance}")
        return body if isinstance(body, dict) else None

    async def create_instance(
        self, *, webhook_url: str, events: list[str], token: str | None = None
    ) -> dict[str, Any]:
        """`POST /instance/create` (global key): the new instance's token (`hash`) and QR."""
        body: dict[str, Any] = {
            "instanceName": self._instance,
            "integration": "WHATSAPP-BAILEYS",
            "qrcode": True,
            "groupsIgnore": False,
            "webhook": {
                "url": webhook_url,
                "byEvents": False,
                "base64": True,
                "events": events,
            },
        }
        if token:
            body["token"] = token
        result = await self._call("POST", "/instance/create", body)
        return result if isinstance(result, dict) else {}

    async def fetch_instances(self) -> list[dict[str, Any]]:
        """`GET /instance/fetchInstances`: every instance the key may see, token included."""
        result = await self._call("GET", "/instance/fetchInstances")
        return (
            [item for item in result if isinstance(item, dict)] if isinstance(result, list) else []
        )

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
