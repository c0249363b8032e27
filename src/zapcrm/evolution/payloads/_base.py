"""Shared base for the normalized, immutable results of the parsing layer."""

from __future__ import annotations

import base64
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer


def _standard_base64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _from_base64(value: object) -> object:
    # Lets a dumped model (e.g. the stored `message_payload`) validate back into the same model.
    return base64.b64decode(value, validate=True) if isinstance(value, str) else value


# pydantic's own base64 mode is URL-safe; the gateway and most tools use the standard alphabet.
Base64Bytes = Annotated[
    bytes,
    BeforeValidator(_from_base64),
    PlainSerializer(_standard_base64, return_type=str, when_used="json"),
]
"""Bytes that serialise as standard base64 in `model_dump(mode="json")` and read back from it."""


class NormalizedModel(BaseModel):
    """Frozen result; `model_dump(mode="json")` is ready for a jsonb column."""

    model_config = ConfigDict(frozen=True, extra="forbid")
