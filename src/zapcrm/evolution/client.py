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
