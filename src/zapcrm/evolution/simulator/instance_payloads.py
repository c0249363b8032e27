"""Builders of instance-level shapes: create/fetch responses, QR codes and connection events."""

from __future__ import annotations

import base64
import json
from typing import Any

from zapcrm.evolution.simulator import media
from zapcrm.evolution.simulator.clock import iso_utc
from zapcrm.evolution.simulator.state import Instance

__all__ = [
    "connection_close",
    "connection_connecting",
    "connection_open",
    "connection_state",
    "create_response",
    "fetch_row",
    "profile_picture_url",
    "qr_object",
    "qrcode_event",
    "settings_row",
    "status_instance_closed",
]


def profile_picture_url(number: str) -> str:
    """A profile picture URL in WhatsApp's CDN style."""
    return f"https://pps.whatsapp.net/v/t61.24694-24/{number[-9:]}00_{number[:9]}_n.jpg?ccb=11-4"


def qr_object(instance: Instance) -> dict[str, Any]:
    """The QR object of `/instance/connect` and `/instance/create` (§3.8)."""
    code = instance.qr_code or ""
    return {
        "pairingCode": instance.pairing_code,
        "code": code,
        "base64": "data:image/png;base64," + base64.b64encode(media.qr_png(code)).decode("ascii"),
        "count": instance.qr_count,
    }


def qrcode_event(instance: Instance) -> dict[str, Any]:
    """`qrcode.updated` data (§2.7)."""
    qr = qr_object(instance)
    return {
        "qrcode": {
            "instance": instance.name,
            "pairingCode": qr["pairingCode"],
            "code": qr["code"],
            "base64": qr["base64"],
        }
    }


def connection_state(instance: Instance) -> dict[str, Any]:
    """`/instance/connectionState` body, also what connect/restart return when open (§3.8)."""
    return {"instance": {"instanceName": instance.name, "state": instance.state}}


def connection_connecting(instance: Instance) -> dict[str, Any]:
    """`connection.update` while (re)connecting (§2.5)."""
    return {"instance": instance.name, "state": "connecting", "statusReason": 200}


def connection_open(instance: Instance) -> dict[str, Any]:
    """`connection.update` once open (§2.5)."""
    return {
        "instance": instance.name,
        "wuid": instance.wuid,
        "profileName": instance.profile_name,
        "profilePictureUrl": profile_picture_url(instance.number),
        "state": "open",
        "statusReason": 200,
    }


def connection_close(instance: Instance, code: int) -> dict[str, Any]:
    """`connection.update` after a permanent close such as a logout (§2.5)."""
    return {"instance": instance.name, "state": "close", "statusReason": code}


def disconnection_object(code: int, at: float) -> str:
    """The JSON string Evolution stores for a permanent disconnection (a serialised Boom)."""
    phrase = {401: "Intentional Logout", 403: "Forbidden", 406: "Not Acceptable"}.get(
        code, "Closed"
    )
    return json.dumps(
        {
            "error": {
                "data": None,
                "isBoom": True,
                "isServer": code >= 500,
                "output": {
                    "statusCode": code,
                    "payload": {"statusCode": code, "error": "Unauthorized", "message": phrase},
                    "headers": {},
                },
            },
            "date": iso_utc(at),
        },
        separators=(",", ":"),
    )


def status_instance_closed(instance: Instance) -> dict[str, Any]:
    """`status.instance` data sent before the close webhook of a permanent logout (§2.5)."""
    return {
        "instance": instance.name,
        "status": "closed",
        "disconnectionAt": iso_utc(instance.disconnection_at or 0.0),
        "disconnectionReasonCode": instance.disconnection_code,
        "disconnectionObject": instance.disconnection_object,
    }


def settings_row(instance: Instance) -> dict[str, Any]:
    """The `Setting` row of an instance."""
    return {
        "id": instance.id.replace("-", "")[:25],
        **instance.settings,
        "createdAt": iso_utc(instance.created_at),
        "updatedAt": iso_utc(instance.updated_at),
        "instanceId": instance.id,
    }


def create_response(instance: Instance, *, with_qrcode: bool) -> dict[str, Any]:
    """The `/instance/create` response; `hash` is the instance token (§3.8)."""
    webhook = instance.webhook
    body: dict[str, Any] = {
        "instance": {
            "instanceName": instance.name,
            "instanceId": instance.id,
            "integration": instance.integration,
            "webhookWaBusiness": None,
            "accessTokenWaBusiness": "",
            "status": instance.state,
        },
        "hash": instance.token,
        "webhook": {
            "webhookUrl": webhook.url if webhook else None,
            "webhookHeaders": webhook.headers if webhook else None,
            "webhookByEvents": webhook.by_events if webhook else None,
            "webhookBase64": webhook.base64 if webhook else None,
        },
        # `{enabled: undefined}` serialises as `{}` (§3.8).
        "websocket": {},
        "rabbitmq": {},
        "nats": {},
        "sqs": {},
        "settings": dict(instance.settings),
    }
    if with_qrcode:
        # With qrcode:false the value is undefined and the key vanishes from the JSON.
        body["qrcode"] = qr_object(instance)
    return body


def fetch_row(instance: Instance) -> dict[str, Any]:
    """One `/instance/fetchInstances` row; `token` is always included in 2.x (§3.8)."""
    open_ever = instance.ever_connected
    return {
        "id": instance.id,
        "name": instance.name,
        "connectionStatus": instance.state,
        "ownerJid": instance.wuid if open_ever else None,
        "profileName": instance.profile_name if open_ever else None,
        "profilePicUrl": profile_picture_url(instance.number) if open_ever else None,
        "integration": instance.integration,
        "number": instance.number,
        "businessId": None,
        "token": instance.token,
        "clientName": "evolution_exchange",
        "disconnectionReasonCode": instance.disconnection_code,
        "disconnectionObject": instance.disconnection_object,
        "disconnectionAt": (
            iso_utc(instance.disconnection_at) if instance.disconnection_at is not None else None
        ),
        "createdAt": iso_utc(instance.created_at),
        "updatedAt": iso_utc(instance.updated_at),
        "Chatwoot": None,
        "Proxy": None,
        "Rabbitmq": None,
        "Nats": None,
        "Sqs": None,
        "Websocket": None,
        "Setting": settings_row(instance),
        "_count": {
            "Message": len(instance.messages),
            "Contact": len(instance.contacts),
            "Chat": len(instance.contacts),
        },
    }
