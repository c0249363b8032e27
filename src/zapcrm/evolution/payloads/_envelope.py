"""The webhook envelope every Evolution API POST shares, and the event-name spellings."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from zapcrm.evolution.payloads._errors import MalformedPayload
from zapcrm.evolution.payloads._values import parse_timestamp

EVENT_NAMES: Final[frozenset[str]] = frozenset(
    {
        # 2.x, `wa.types.ts` 2.3.6 (evolution-api.md §1.2).
        "application.startup",
        "instance.create",
        "instance.delete",
        "qrcode.updated",
        "connection.update",
        "status.instance",
        "messages.set",
        "messages.upsert",
        "messages.edited",
        "messages.update",
        "messages.delete",
        "send.message",
        "send.message.update",
        "contacts.set",
        "contacts.upsert",
        "contacts.update",
        "presence.update",
        "chats.set",
        "chats.upsert",
        "chats.update",
        "chats.delete",
        "groups.upsert",
        "groups.update",
        "group-participants.update",
        "labels.edit",
        "labels.association",
        "call",
        "typebot.start",
        "typebot.change-status",
        "remove.instance",
        "logout.instance",
        # 2.4.0-rc.
        "messaging-history.set",
        # 1.x only.
        "chama-ai.action",
        "new.jwt",
    }
)
"""Every `event` value the gateway is known to emit, in any supported version."""


def event_to_suffix(event: str) -> str:
    """Return the by-events URL suffix of an event name (`messages.upsert` -> `messages-upsert`).

    The gateway lowers the name and turns `.` and `_` into `-` (§1.2).
    """
    return event.strip().lower().replace(".", "-").replace("_", "-")


_EVENT_BY_SUFFIX: Final[Mapping[str, str]] = {event_to_suffix(name): name for name in EVENT_NAMES}


def suffix_to_event(suffix: str) -> str | None:
    """Return the dotted event name of a by-events URL suffix, or None if no known event has it.

    The mapping is not mechanical (`group-participants-update` -> `group-participants.update`,
    `typebot-change-status` -> `typebot.change-status`), hence the lookup. Slashes are stripped
    because a webhook `url` ending in `/` yields `//messages-upsert` (§1.3).
    """
    return _EVENT_BY_SUFFIX.get(suffix.strip().strip("/").lower())


class Envelope(BaseModel):
    """The top-level body of every webhook POST (§1.6); unknown extra keys are kept."""

    model_config = ConfigDict(extra="allow", frozen=True)

    event: str = Field(min_length=1)
    instance: str = Field(min_length=1, description="the instance NAME, not its id")
    data: Any = None
    destination: str | None = None
    date_time: str | None = Field(
        default=None, description="server-local wall clock mislabelled with Z (§1.6)"
    )
    sender: str | None = Field(
        default=None, description="the instance's own JID; absent before the first connection"
    )
    server_url: str | None = None
    apikey: str | None = Field(
        default=None,
        description="instance token when EXPOSE is on; null (2.x) or absent (1.x) otherwise (§1.7)",
    )

    @field_validator("destination", "date_time", "sender", "server_url", "apikey", mode="before")
    @classmethod
    def _drop_non_strings(cls, value: object) -> str | None:
        """Informational fields of the wrong type are dropped rather than rejecting the event."""
        return value if isinstance(value, str) else None

    @property
    def event_datetime(self) -> datetime | None:
        """`date_time` parsed as UTC; it is really server-local time (§1.6), keep only for audit."""
        return parse_timestamp(self.date_time)


def parse_envelope(body: bytes | bytearray | str | Mapping[str, Any]) -> Envelope:
    """Parse a webhook body (raw JSON or an already decoded object) into an `Envelope`."""
    document: object
    if isinstance(body, bytes | bytearray | str):
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            raise MalformedPayload(f"body is not valid JSON: {error}") from error
    else:
        document = body
    if not isinstance(document, Mapping):
        raise MalformedPayload(
            f"body must be a JSON object, got {type(document).__name__}", path="envelope"
        )
    try:
        return Envelope.model_validate(dict(document))
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or 'envelope'}: {item['msg']}"
            for item in error.errors(include_url=False)
        )
        raise MalformedPayload(problems, path="envelope") from error
