"""Request and response bodies of the contacts API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from zapcrm.models import Contact

Tag = Field(min_length=1, max_length=50)


def _clean_tags(tags: list[str]) -> list[str]:
    # Tags compare case-insensitively in people's heads: keep one spelling, in first-seen order.
    seen: dict[str, str] = {}
    for tag in tags:
        text = " ".join(tag.split())
        if text and text.lower() not in seen:
            seen[text.lower()] = text
    return list(seen.values())


class ContactIn(BaseModel):
    """A new contact typed by a person or sent by an integration."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="", max_length=200)
    phone: str | None = Field(default=None, max_length=40, description="any human format")
    email: EmailStr | None = Field(default=None, max_length=320)
    tags: list[str] = Field(default_factory=list, max_length=50)
    source: str | None = Field(default=None, max_length=100)
    funnel_stage: str | None = Field(default=None, max_length=100)
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    notes: str = Field(default="", max_length=10_000)
    opted_out: bool = False

    _tags = field_validator("tags")(_clean_tags)


class ContactPatch(BaseModel):
    """Changes to a contact; omitted fields stay; `custom_fields` merges key by key."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    email: EmailStr | None = Field(default=None, max_length=320)
    tags: list[str] | None = Field(default=None, max_length=50)
    source: str | None = Field(default=None, max_length=100)
    funnel_stage: str | None = Field(default=None, max_length=100)
    custom_fields: dict[str, Any] | None = None
    notes: str | None = Field(default=None, max_length=10_000)
    opted_out: bool | None = None

    @field_validator("tags")
    @classmethod
    def _tags(cls, tags: list[str] | None) -> list[str] | None:
        return None if tags is None else _clean_tags(tags)


class ContactOut(BaseModel):
    """A contact as the API shows it."""

    id: uuid.UUID
    name: str
    phone_e164: str | None
    email: str | None
    tags: list[str]
    source: str | None
    funnel_stage: str | None
    custom_fields: dict[str, Any]
    notes: str
    opted_out: bool
    last_interaction_at: datetime | None
    created_at: datetime
    updated_at: datetime
    stage_since: datetime = Field(description="since when it is in its funnel stage (or in none)")

    @classmethod
    def of(cls, contact: Contact) -> ContactOut:
        """Build from a contact row."""
        return cls(
            id=contact.id,
            name=contact.name,
            phone_e164=contact.phone_e164,
            email=contact.email,
            tags=list(contact.tags),
            source=contact.source,
            funnel_stage=contact.funnel_stage,
            custom_fields=dict(contact.custom_fields),
            notes=contact.notes,
            opted_out=contact.opted_out,
            last_interaction_at=contact.last_interaction_at,
            created_at=contact.created_at,
            updated_at=contact.updated_at,
            stage_since=contact.stage_since,
        )


class IdentityOut(BaseModel):
    """One key that resolves to the contact."""

    kind: Literal["phone", "jid", "lid"]
    value: str


class ContactDetail(ContactOut):
    """A contact with every key that identifies it."""

    identities: list[IdentityOut]


class MergeIn(BaseModel):
    """Which contact to fold into the one in the URL."""

    model_config = ConfigDict(extra="forbid")

    other_id: uuid.UUID


class DuplicatePair(BaseModel):
    """Two contacts that are probably one person, and why."""

    first: ContactOut
    second: ContactOut
    reason: Literal["same_email", "same_name_and_phone_end", "similar_name_and_phone_end"]


class HistoryItem(BaseModel):
    """One entry of a contact's timeline."""

    at: datetime
    kind: str
    conversation_id: uuid.UUID | None = None
    message_id: uuid.UUID | None = None
    from_me: bool | None = None
    text: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class AttributeIn(BaseModel):
    """A custom attribute definition."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,49}$")
    label: str = Field(min_length=1, max_length=100)
    type: Literal["text", "number", "date", "boolean", "list"]
    options: list[str] = Field(default_factory=list, max_length=100)
    position: int = 0


class AttributeOut(AttributeIn):
    """A stored custom attribute definition."""

    id: uuid.UUID


class StageIn(BaseModel):
    """A funnel stage."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,49}$")
    label: str = Field(min_length=1, max_length=100)
    position: int = 0


class StageOut(StageIn):
    """A stored funnel stage."""

    id: uuid.UUID


MAX_POSITION = 1000  # a place among a company's stages or fields


class DefinitionChange(BaseModel):
    """A stage's or attribute's new name and/or place (0 is the first). The key stays: it is
    what contacts, saved segments and list rules hold. A blank name is refused by the service,
    which also collapses the spaces of a name ("   " is as blank as "")."""

    model_config = ConfigDict(extra="forbid")

    label: str | None = Field(default=None, max_length=100)
    position: int | None = Field(default=None, ge=0, le=MAX_POSITION)


class AttributeChange(DefinitionChange):
    """An attribute's changes; a list attribute may also get its options replaced (values
    already stored on contacts stay as they are)."""

    options: list[str] | None = Field(default=None, max_length=100)
