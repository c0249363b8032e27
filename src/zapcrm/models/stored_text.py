"""A column holding a translatable message: its Portuguese template and parameters (jsonb).

A message built with `N_()` and parameters ("o número {name} desconectou") stored as plain text
can only be shown in Portuguese later: the panel's catalog knows the template, not the filled
sentence. Stored as `{"template": ..., "params": {...}}` it comes back as the same `Text`, which
the API shows in Portuguese and the panel renders in the reader's language.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from zapcrm.i18n import Text


class StoredText(TypeDecorator[str]):
    """`Text` (or a plain string) in, `Text` out; parameters must be JSON values."""

    impl = JSONB
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> dict[str, Any] | None:
        if value is None:
            return None
        if isinstance(value, Text) and value.params:
            return {"template": value.template, "params": dict(value.params)}
        return {"template": str(value)}

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return Text(value["template"], **value.get("params", {}))
