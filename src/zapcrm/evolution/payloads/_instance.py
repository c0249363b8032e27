"""Instance events: `connection.update`, `status.instance`, `qrcode.updated`, logout/remove."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, Literal

import orjson

from zapcrm.evolution.jids import bare_jid
from zapcrm.evolution.payloads._base import NormalizedModel
from zapcrm.evolution.payloads._errors import MalformedPayload
from zapcrm.evolution.payloads._values import (
    as_dict,
    as_text,
    first_text,
    parse_int,
    parse_timestamp,
    require_dict,
)

ConnectionState = Literal["open", "connecting", "close", "refused"]

# `status.instance` says "closed" where `connection.update` says "close" (§2.5).
_STATES: Final[dict[str, ConnectionState]] = {
    "open": "open",
    "connecting": "connecting",
    "close": "close",
    "closed": "close",
    "refused": "refused",
}

# Disconnect codes after which the session is wiped and a new QR pairing is needed (§2.5).
PERMANENT_CLOSE_REASONS: Final[frozenset[int]] = frozenset({401, 402, 403, 406})


class NormalizedConnection(NormalizedModel):
    """A connection state change from `connection.update` or `status.instance`."""

    origin_event: Literal["connection.update", "status.instance"]
    instance_name: str | None = None
    state: ConnectionState | None = None
    raw_state: str | None = None
    status_reason: int | None = None
    wuid: str | None = None
    """The instance's own JID once open (device suffix removed)."""
    profile_name: str | None = None
    profile_picture_url: str | None = None
    disconnected_at: datetime | None = None
    disconnection_reason_code: int | None = None
    disconnection_object: dict[str, Any] | None = None
    raw: dict[str, Any]

    @property
    def is_permanent_close(self) -> bool:
        """True for a logout-like close (401/402/403/406) that needs a new QR pairing."""
        reason = self.disconnection_reason_code or self.status_reason
        return self.state == "close" and reason in PERMANENT_CLOSE_REASONS


def _json_object(value: object) -> dict[str, Any] | None:
    """`disconnectionObject` is a JSON *string* in the payload (§2.5); decode it if possible."""
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            return None
    return as_dict(value)


def _normalize_connection(
    data: object, origin: Literal["connection.update", "status.instance"]
) -> NormalizedConnection:
    record = require_dict(data, "data")
    raw_state = first_text(record.get("state"), record.get("status"))
    return NormalizedConnection(
        origin_event=origin,
        instance_name=as_text(record.get("instance")),
        state=_STATES.get(raw_state.strip().lower()) if raw_state else None,
        raw_state=raw_state,
        status_reason=parse_int(record.get("statusReason")),
        wuid=bare_jid(record.get("wuid")),
        profile_name=as_text(record.get("profileName")),
        profile_picture_url=as_text(record.get("profilePictureUrl")),
        disconnected_at=parse_timestamp(record.get("disconnectionAt")),
        disconnection_reason_code=parse_int(record.get("disconnectionReasonCode")),
        disconnection_object=_json_object(record.get("disconnectionObject")),
        raw=record,
    )


def normalize_connection_update(data: object) -> NormalizedConnection:
    """Normalize `connection.update` data (`state` open|connecting|close|refused, §2.5)."""
    return _normalize_connection(data, "connection.update")


def normalize_status_instance(data: object) -> NormalizedConnection:
    """Normalize `status.instance` data (`status: "closed"` plus the disconnection details)."""
    return _normalize_connection(data, "status.instance")


class NormalizedQrCode(NormalizedModel):
    """A new pairing QR code, or the notice that the QR limit was reached (§2.7)."""

    instance_name: str | None = None
    code: str | None = None
    base64: str | None = None
    """A `data:image/png;base64,...` URI ready for an `<img>`."""
    pairing_code: str | None = None
    count: int | None = None
    limit_reached: bool = False
    message: str | None = None
    status_code: int | None = None
    raw: dict[str, Any]


def normalize_qrcode_updated(data: object) -> NormalizedQrCode:
    """Normalize `qrcode.updated` data: `{qrcode: {...}}` or the limit notice `{message, ...}`."""
    record = require_dict(data, "data")
    qrcode = as_dict(record.get("qrcode"))
    source = qrcode if qrcode is not None else record
    code, image = as_text(source.get("code")), as_text(source.get("base64"))
    message = as_text(record.get("message"))
    if code is None and image is None and message is None:
        raise MalformedPayload("neither a QR code nor a message", path="data")
    return NormalizedQrCode(
        instance_name=as_text(source.get("instance")),
        code=code,
        base64=image,
        pairing_code=as_text(source.get("pairingCode")),
        count=parse_int(source.get("count")),
        # QRCODE_LIMIT reached: the gateway sends a message instead of a code, then
        # `connection.update` with state `refused` (§2.7).
        limit_reached=code is None and image is None,
        message=message,
        status_code=parse_int(record.get("statusCode")),
        raw=record,
    )


class NormalizedInstanceGone(NormalizedModel):
    """The instance logged out (`logout.instance`) or was deleted (`remove.instance`)."""

    origin_event: Literal["logout.instance", "remove.instance"]
    raw: dict[str, Any] | None = None


def normalize_logout_instance(data: object) -> NormalizedInstanceGone:
    """Normalize `logout.instance` (session wiped; a new QR pairing is needed)."""
    return NormalizedInstanceGone(origin_event="logout.instance", raw=as_dict(data))


def normalize_remove_instance(data: object) -> NormalizedInstanceGone:
    """Normalize `remove.instance` (the instance was deleted from the gateway)."""
    return NormalizedInstanceGone(origin_event="remove.instance", raw=as_dict(data))
