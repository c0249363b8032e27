"""Who is calling: the verified token plus their company and role."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from zapcrm.models import Role


@dataclass(frozen=True, slots=True)
class Identity:
    """A signed-in, active user of one company; `claims` become `request.jwt.claims` for RLS."""

    user_id: uuid.UUID
    company_id: uuid.UUID
    role: Role
    email: str
    display_name: str
    session_id: uuid.UUID | None
    claims: Mapping[str, Any] = field(repr=False)

    def has_role(self, minimum: Role) -> bool:
        """Whether this user's role is at least `minimum` (operator < supervisor < admin)."""
        return self.role.rank >= minimum.rank
