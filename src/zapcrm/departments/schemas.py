"""Departments API shapes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from zapcrm.kit import texts

NAME_MAX = 60  # the menu's line on a phone
GREETING_MAX = 1000


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_MAX)]
# `{{primeiro_nome}}`, `{{nome}}`, `{{telefone}}`, `{{empresa}}` (kit/texts.py), per customer.
Greeting = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=GREETING_MAX),
    # Sent with nobody reading it first: an unknown variable or a stray brace is refused now.
    AfterValidator(texts.checked),
]
# A company has a handful of teams; a menu longer than this is one nobody reads on a phone.
MAX_DEPARTMENTS = 20
# Answers naming no option before the menu gives up and the chat goes to the general queue.
MENU_MAX_TRIES = 2


class DepartmentIn(BaseModel):
    """A new department and who works in it."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    member_ids: list[uuid.UUID] = Field(default_factory=list, max_length=500)


class DepartmentPatch(BaseModel):
    """What changes: the name, the place in the menu (1 = first), the members (all of them)."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    position: int | None = Field(default=None, ge=1, le=MAX_DEPARTMENTS)
    member_ids: list[uuid.UUID] | None = Field(default=None, max_length=500)


class DepartmentOut(BaseModel):
    """A department as the menu lists it (`position`: its number there)."""

    id: uuid.UUID
    name: str
    position: int
    member_ids: list[uuid.UUID]


class MenuIn(BaseModel):
    """The menu new chats get: on or off, and the greeting above the numbered options."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool
    greeting: Greeting


class MenuOut(BaseModel):
    """The company's menu (the default greeting until an admin saves one)."""

    enabled: bool
    greeting: str
    updated_at: datetime | None


class ConversationDepartmentIn(BaseModel):
    """The department a chat goes to (null: none); it waits there for one of its members."""

    model_config = ConfigDict(extra="forbid")

    department_id: uuid.UUID | None
