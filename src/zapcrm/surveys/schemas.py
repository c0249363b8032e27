"""Satisfaction survey API shapes and limits."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

from zapcrm.kit import texts

TEXT_MAX = 1000
# How long after the question a "5" still counts as its answer; later it is just a message.
ANSWER_WINDOW = timedelta(hours=24)
# A customer served several times a day is asked once: more would read as spam.
ASK_AT_MOST_EVERY = timedelta(hours=24)

DEFAULT_QUESTION = (
    "Seu atendimento foi encerrado. Como você avalia nossa conversa? Responda com uma nota de"
    " *1* (muito insatisfeito) a *5* (muito satisfeito)."
)
DEFAULT_THANKS = "Obrigado pela avaliação, {{primeiro_nome|cliente}}! Ela nos ajuda a melhorar."

# `{{primeiro_nome}}`, `{{nome}}`, `{{telefone}}`, `{{empresa}}` (kit/texts.py), per customer;
# sent with nobody reading it first, so a mistake is refused when saved.
SurveyText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=TEXT_MAX),
    AfterValidator(texts.checked),
]


class SurveyIn(BaseModel):
    """The survey: on or off, the question sent at the close, the thanks after an answer."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool
    question: SurveyText
    thanks: SurveyText


class SurveyOut(BaseModel):
    """The company's survey (off, with the default texts, until an admin saves it)."""

    enabled: bool
    question: str
    thanks: str
    updated_at: datetime | None
