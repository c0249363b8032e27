"""Request and response bodies of the quick replies API."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
)

from zapcrm.i18n import N_

# The same rule as the table's check constraint (migration 0011).
_SHORTCUT = re.compile(r"^/\S{1,40}$")
MAX_BODY_LENGTH = 4096  # what fits in one WhatsApp text


def _slash_first(value: object) -> object:
    # People type `frete` as often as `/frete`; both mean the shortcut `/frete`.
    if isinstance(value, str):
        value = value.strip()
        if value and not value.startswith("/"):
            return "/" + value
    return value


def _check_shortcut(value: str) -> str:
    if not _SHORTCUT.fullmatch(value):
        raise ValueError(N_("use / seguido de até 40 caracteres, sem espaços (ex.: /frete)"))
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError(N_("não pode ficar em branco"))
    return value


Shortcut = Annotated[str, BeforeValidator(_slash_first), AfterValidator(_check_shortcut)]
Title = Annotated[
    str, Field(min_length=1, max_length=100), AfterValidator(_not_blank), AfterValidator(str.strip)
]
Body = Annotated[str, Field(min_length=1, max_length=MAX_BODY_LENGTH), AfterValidator(_not_blank)]


class QuickReplyIn(BaseModel):
    """A new quick reply; `body` may use {{name}}, {{first_name}}, {{phone}}, {{agent}},
    {{company}}."""

    model_config = ConfigDict(extra="forbid")

    shortcut: Shortcut = Field(description="typed in the composer, e.g. `/frete`")
    title: Title
    body: Body


class QuickReplyPatch(BaseModel):
    """Changes to a quick reply; omitted fields stay."""

    model_config = ConfigDict(extra="forbid")

    shortcut: Shortcut | None = None
    title: Title | None = None
    body: Body | None = None

    @field_validator("shortcut", "title", "body", mode="before")
    @classmethod
    def _present(cls, value: object) -> object:
        # Omitting a field keeps it; an explicit null is a mistake, not "erase".
        if value is None:
            raise ValueError("não pode ser nulo; omita o campo para mantê-lo")
        return value


class QuickReplyOut(BaseModel):
    """A stored quick reply."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    shortcut: str
    title: str
    body: str
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class RenderedQuickReply(BaseModel):
    """A quick reply's text filled for one conversation, ready for the composer."""

    quick_reply_id: uuid.UUID
    conversation_id: uuid.UUID
    text: str
