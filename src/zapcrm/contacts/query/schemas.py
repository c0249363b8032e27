"""Request and response bodies of contact search, segments, bulk tags and export."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from zapcrm.contacts.query.sorting import Sort
from zapcrm.contacts.schemas import ContactOut
from zapcrm.messaging.schemas import Page

__all__ = [
    "BulkOut",
    "BulkStageIn",
    "BulkTagIn",
    "ContactOut",
    "ContactQuery",
    "CountOut",
    "MembersAdded",
    "MembersIn",
    "MembersRemoved",
    "Page",
    "SearchIn",
    "SegmentIn",
    "SegmentOut",
    "SegmentPatch",
    "SuggestionOut",
]

MAX_Q_LENGTH = 200
MAX_FILTER_PARAM_LENGTH = 8000
MAX_CURSOR_LENGTH = 1000
MAX_MEMBER_IDS = 1000

FILTER_DESCRIPTION = (
    'Filtro JSON: {"op": "and"|"or", "conditions": [...]} com condições '
    '{"field", "operator", "value"}; grupos aninham até 5 níveis, no máximo 50 condições.'
)


class ContactQuery(BaseModel):
    """Which contacts: search box, filter and segment, all combined with AND."""

    model_config = ConfigDict(extra="forbid")

    q: str | None = Field(
        default=None, max_length=MAX_Q_LENGTH, description="busca: nome, telefone ou e-mail"
    )
    filter: dict[str, Any] | None = Field(default=None, description=FILTER_DESCRIPTION)
    segment_id: uuid.UUID | None = None

    def is_empty(self) -> bool:
        """Whether nothing narrows the contacts down."""
        return not (self.q and self.q.strip()) and not self.filter and self.segment_id is None


class SearchIn(ContactQuery):
    """A contact search with its page parameters (the body of POST /api/contacts/search)."""

    sort: Sort | None = Field(
        default=None,
        description="recent (padrão), last_interaction, name ou relevance "
        "(melhor nome primeiro; só numa busca por nome)",
    )
    cursor: str | None = Field(default=None, max_length=MAX_CURSOR_LENGTH)
    limit: int = Field(default=50, ge=1, le=100)


class CountOut(BaseModel):
    """How many contacts match."""

    count: int


class SuggestionOut(BaseModel):
    """Another spelling of a name search that found nobody ("Você quis dizer…?"), and how many
    contacts the same query finds with it (`more`: more than `count`, which stops at 1,000)."""

    q: str
    count: int
    more: bool = False


class FunnelColumn(BaseModel):
    """One column of the funnel board: a stage and how many matching contacts are in it."""

    key: str | None = Field(description="the stage's key; null: contacts in no stage")
    label: str | None = Field(description="the stage's name; null for the no-stage column")
    count: int
    removed: bool = Field(
        default=False, description="a stage no longer defined that contacts are still in"
    )
    value: Decimal | None = Field(
        default=None,
        description="the sum of the asked number attribute over the column's contacts"
        " (null when none was asked for, or none of them has a value)",
    )


class FunnelOut(BaseModel):
    """The funnel: the company's stages in order, stages since removed that contacts are
    still in, then the contacts in no stage."""

    columns: list[FunnelColumn]
    total: int
    value_key: str | None = Field(
        default=None, description="the number attribute summed per column, when asked for"
    )
    value_label: str | None = None
    value_total: Decimal | None = None


class SegmentIn(BaseModel):
    """A new segment: a saved filter (dynamic) or a list of chosen contacts (static)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    kind: Literal["dynamic", "static"] = "dynamic"
    filter: dict[str, Any] | None = Field(default=None, description=FILTER_DESCRIPTION)

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        return _clean_name(name)


class SegmentPatch(BaseModel):
    """Changes to a segment; the kind never changes."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    filter: dict[str, Any] | None = Field(default=None, description=FILTER_DESCRIPTION)

    @field_validator("name")
    @classmethod
    def _name(cls, name: str | None) -> str | None:
        return None if name is None else _clean_name(name)


class SegmentOut(BaseModel):
    """A segment as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    kind: Literal["dynamic", "static"]
    filter: dict[str, Any]
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class MembersIn(ContactQuery):
    """Contacts to put on (or take off) a static list: by id, or every one matching q/filter."""

    contact_ids: list[uuid.UUID] | None = Field(default=None, max_length=MAX_MEMBER_IDS)


class MembersAdded(BaseModel):
    """How many contacts joined the list (those already on it do not count)."""

    added: int


class MembersRemoved(BaseModel):
    """How many contacts left the list (those not on it do not count)."""

    removed: int


class BulkTagIn(ContactQuery):
    """A tag to add to or remove from every contact matching q/filter/segment."""

    tag: str = Field(min_length=1, max_length=50)
    action: Literal["add", "remove"]

    @field_validator("tag")
    @classmethod
    def _tag(cls, tag: str) -> str:
        cleaned = " ".join(tag.split())
        if not cleaned:
            raise ValueError("etiqueta vazia")
        return cleaned


class BulkStageIn(ContactQuery):
    """A funnel stage to put every contact matching q/filter/segment in (null: none)."""

    stage: str | None = Field(max_length=100)


class BulkOut(BaseModel):
    """How many contacts changed."""

    affected: int


def _clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise ValueError("nome vazio")
    return cleaned
