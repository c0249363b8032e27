"""A refused panel form in words: the summary and each field's problem, translated.

Field names are Pydantic's locations joined by dots (`variants.1`, `schedule.3.closes`), which
is what the templates' `field_error` macro looks for.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from zapcrm.exceptions import ZapcrmError
from zapcrm.i18n import message_of
from zapcrm.web.i18n import N_, field_message, translate

# How Pydantic's `EmailStr` starts its refusal (tests/web/test_form_errors.py pins it).
_EMAIL_REFUSED = "value is not a valid email address"


def form_errors(failure: Exception) -> tuple[str, list[dict[str, str]]]:
    """The summary and the field errors of a refused form; an error of the whole form (a rule
    across fields that names none of them) becomes the summary."""
    if isinstance(failure, ValidationError):
        errors = [
            {"field": ".".join(str(part) for part in item["loc"]), "message": _message(item)}
            for item in failure.errors()
        ]
        general = [item["message"] for item in errors if not item["field"]]
        return general[0] if general else translate(N_("Confira os campos destacados.")), errors
    assert isinstance(failure, ZapcrmError)
    fields = failure.details.get("fields", []) if failure.details else []
    return translate(failure.message), [
        {"field": item["field"], "message": translate(item["message"])} for item in fields
    ]


def _message(item: Any) -> str:
    """A field's problem: a validator's own words (texts, ranges), "e-mail inválido" for an
    address Pydantic refused, else Pydantic's, translated."""
    reason = (item.get("ctx") or {}).get("error")
    if item.get("type") == "value_error" and isinstance(reason, Exception):
        return translate(message_of(reason))
    if item.get("type") == "value_error" and _is_email(item):
        # Pydantic's own reason ("An email address must have an @-sign.") is English only.
        return translate(N_("e-mail inválido"))
    return field_message(item)


def _is_email(item: Any) -> bool:
    """Whether a value error is `EmailStr` refusing an address (whatever the field's name)."""
    return str(item.get("msg", "")).startswith(_EMAIL_REFUSED)
