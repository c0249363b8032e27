"""The one error the parsing layer raises: the gateway sent something we cannot use."""

from __future__ import annotations


class MalformedPayload(ValueError):
    """A webhook body or event `data` that lacks what the event needs (a key id, a JID, ...)."""

    def __init__(self, reason: str, *, path: str | None = None) -> None:
        self.reason = reason
        self.path = path
        super().__init__(f"{path}: {reason}" if path else reason)
