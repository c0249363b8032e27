"""Request and response bodies of the tasks API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(max_length=2000)]

TaskScope = Literal["mine", "created", "all"]
"""mine: assigned to me; created: created by me (what I delegated too); all: all I may see."""
TaskStatus = Literal["open", "done"]
DueFilter = Literal["overdue", "today", "upcoming"]
"""overdue: open and due before now; today: due from now to the end of the company's day;
upcoming: due after today."""


class TaskIn(BaseModel):
    """A new task; leaving out `assignee_id` assigns it to its creator, `null` to nobody."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    description: Description = ""
    due_at: AwareDatetime | None = None
    assignee_id: uuid.UUID | None = None
    contact_id: uuid.UUID | None = None
    conversation_id: uuid.UUID | None = Field(
        default=None, description="without contact_id, the task also links the chat's contact"
    )


class TaskUpdate(BaseModel):
    """Changes to a task; omitted fields stay, `null` clears a due date or a link."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    description: Description | None = None
    due_at: AwareDatetime | None = None
    assignee_id: uuid.UUID | None = None
    contact_id: uuid.UUID | None = None
    conversation_id: uuid.UUID | None = None

    @field_validator("title", "description")
    @classmethod
    def _not_null(cls, value: str | None) -> str:
        # Runs only for values actually sent: an explicit null cannot blank these fields.
        if value is None:
            raise ValueError("não pode ser nulo")
        return value


class TaskOut(BaseModel):
    """A task as the API and the panel show it, with the names of what it links to."""

    id: uuid.UUID
    title: str
    description: str
    status: TaskStatus
    due_at: datetime | None
    overdue: bool
    assignee_id: uuid.UUID | None
    assignee_name: str | None
    created_by: uuid.UUID | None
    contact_id: uuid.UUID | None
    contact_name: str | None
    conversation_id: uuid.UUID | None
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class TaskCounts(BaseModel):
    """The navigation badge: my open tasks, and how many of them are overdue."""

    open: int
    overdue: int
