"""A refused panel form in words: an address Pydantic refused reads "e-mail inválido" on every
form, not Pydantic's English reason nor a bare "valor inválido"."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, EmailStr, Field, ValidationError, field_validator

from zapcrm.i18n import N_
from zapcrm.web.form_errors import form_errors


class _Invite(BaseModel):
    to: EmailStr
    reply_email: str = Field(default="", max_length=320)

    @field_validator("reply_email")
    @classmethod
    def _reply(cls, value: str) -> str:
        if value.endswith("@example.com"):
            raise ValueError(N_("use o e-mail da empresa"))
        return value


def _refusal(**fields: str) -> ValidationError:
    with pytest.raises(ValidationError) as refused:
        _Invite.model_validate(fields)
    return refused.value


def test_an_address_pydantic_refuses_reads_e_mail_invalido_whatever_the_field_is_called() -> None:
    summary, errors = form_errors(_refusal(to="ana@@gmail"))
    assert summary == "Confira os campos destacados."
    assert errors == [{"field": "to", "message": "e-mail inválido"}]


def test_a_validators_own_words_still_win_on_an_address_field() -> None:
    _summary, errors = form_errors(_refusal(to="ana@gmail.com", reply_email="ana@example.com"))
    assert errors == [{"field": "reply_email", "message": "use o e-mail da empresa"}]
