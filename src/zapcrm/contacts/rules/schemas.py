"""Request and response bodies of the list rules."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from zapcrm.contacts.query.schemas import FILTER_DESCRIPTION

__all__ = ["ListRuleIn", "ListRuleOut", "ListRulePatch"]


def _clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise ValueError("nome vazio")
    return cleaned


class ListRuleIn(BaseModel):
    """A new rule: which static list, and which new or imported contacts join it."""

    model_config = ConfigDict(extra="forbid")

    segment_id: uuid.UUID = Field(description="a lista estática (segmento static) a preencher")
    name: str = Field(min_length=1, max_length=200)
    filter: dict[str, Any] = Field(
        description=FILTER_DESCRIPTION + " Um filtro vazio ({}) aceita todo contato novo."
    )
    active: bool = True

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        return _clean_name(name)


class ListRulePatch(BaseModel):
    """Changes to a rule (null or absent: unchanged); its list never changes (make another)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    filter: dict[str, Any] | None = Field(default=None, description=FILTER_DESCRIPTION)
    active: bool | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, name: str | None) -> str | None:
        return None if name is None else _clean_name(name)


class ListRuleOut(BaseModel):
    """A list rule as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    segment_id: uuid.UUID
    name: str
    filter: dict[str, Any]
    active: bool
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
