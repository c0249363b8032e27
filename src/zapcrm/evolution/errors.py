"""Gateway errors, by cause: the client turns transport and HTTP failures into the most specific.

Callers decide on the class: `GatewayUnavailable` (and `GatewayRateLimited`) may succeed later
and are retried; the others will fail the same way again.
"""

from __future__ import annotations

from typing import Any


class GatewayError(Exception):
    """Base of every Evolution API failure; `reason` is the gateway's own message, flattened."""

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class GatewayUnavailable(GatewayError):
    """Timeout, connection error or 5xx: the gateway may answer later."""


class GatewayUnreachable(GatewayUnavailable):
    """No answer at all (timeout or connection error) from the server.

    Unlike a 5xx, which comes back at once, such a call held its caller for the client's whole
    timeout: the client's CallWatch hears of it (messaging/reachability.py).
    """


class GatewayRateLimited(GatewayUnavailable):
    """429: slow down and try again."""


class GatewayUnauthorized(GatewayError):
    """401: the instance token (or global key) is not accepted."""


class InstanceNotFound(GatewayError):
    """404: the gateway has no instance with that name."""


class GatewayRejected(GatewayError):
    """Any other 4xx: the request itself was refused, with the gateway's reason."""


# How every refusal for a number without WhatsApp ends (the gateway's and the number check's),
# so a campaign can tell a bad entry in its list from a blocked number.
NOT_ON_WHATSAPP = "não está no WhatsApp"


def flatten_message(message: Any) -> str:
    """`response.message` as one line: a string, an array, a nested array or objects (§3.1)."""
    if message is None:
        return ""
    if isinstance(message, str):
        return message
    if isinstance(message, list):
        return "; ".join(part for part in (flatten_message(item) for item in message) if part)
    if isinstance(message, dict):
        if message.get("exists") is False and "number" in message:
            return f"o número {message['number']} {NOT_ON_WHATSAPP}"
        return ", ".join(f"{key}={value}" for key, value in message.items())
    return str(message)


def reason_of(body: Any) -> str:
    """The human reason inside an Evolution error body, whatever its shape."""
    if not isinstance(body, dict):
        return str(body)[:500] if body else ""
    response = body.get("response")
    if isinstance(response, dict) and "message" in response:
        return flatten_message(response["message"])[:500]
    if "message" in body:  # /chat/whatsappNumbers and connect/restart skip the wrapper
        return flatten_message(body["message"])[:500]
    return str(body.get("error") or "")[:500]
