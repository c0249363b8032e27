"""Business hours API models: what an admin writes, what the panel and the API read back."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from zapcrm.i18n import N_
from zapcrm.kit import texts

# What the out-of-office reply may say about the person and the business.
AWAY_VARIABLES = (*texts.USABLE, "reopens")
MAX_AWAY_LENGTH = 1000  # a short notice, not a brochure (the table checks it too)
MAX_HOLIDAYS = 366
MAX_HOLIDAY_NAME = 80

DEFAULT_AWAY_MESSAGE = (
    "Olá {{primeiro_nome}}! Recebemos sua mensagem, mas agora estamos fora do horário de "
    "atendimento. Voltamos {{reabertura|em breve}} e respondemos assim que possível."
)


def _check_away_text(text: str) -> str:
    return texts.checked(text, AWAY_VARIABLES)


AwayText = Annotated[str, Field(max_length=MAX_AWAY_LENGTH), AfterValidator(_check_away_text)]
Weekday = Annotated[int, Field(ge=1, le=7)]
HolidayName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_HOLIDAY_NAME)]


class DayHours(BaseModel):
    """One day's opening interval, [opens, closes) on the wall clock of the company, and the
    break inside it when the business closes for one (lunch), [break_from, break_until)."""

    model_config = ConfigDict(extra="forbid")

    opens: time
    closes: time
    break_from: time | None = Field(default=None, description="início do intervalo (almoço)")
    break_until: time | None = Field(default=None, description="fim do intervalo")

    @model_validator(mode="after")
    def _closes_after_opening(self) -> Self:
        if self.closes <= self.opens:
            raise ValueError(N_("o horário de fechar deve ser depois do de abrir"))
        if (self.break_from is None) != (self.break_until is None):
            raise ValueError(N_("diga quando o intervalo começa e quando termina"))
        pause = self.pause
        if pause is not None and not self.opens < pause[0] < pause[1] < self.closes:
            raise ValueError(
                N_("o intervalo deve começar e terminar entre a abertura e o fechamento")
            )
        return self

    @property
    def pause(self) -> tuple[time, time] | None:
        """The break as (from, until), or None when the day has none."""
        if self.break_from is None or self.break_until is None:
            return None
        return self.break_from, self.break_until


DEFAULT_SCHEDULE: dict[int, DayHours] = {
    **{day: DayHours(opens=time(8), closes=time(18)) for day in range(1, 6)},
    6: DayHours(opens=time(8), closes=time(12)),
}


class BusinessHoursIn(BaseModel):
    """Opening hours by ISO weekday (1 = Monday; a day left out is closed), closed days, and
    the reply sent to someone who writes while the business is closed."""

    model_config = ConfigDict(extra="forbid")

    schedule: dict[Weekday, DayHours] = Field(
        description='por dia da semana (1 = segunda): {"1": {"opens": "08:00", "closes": "18:00"}}'
    )
    holidays: list[date] = Field(default_factory=list, max_length=MAX_HOLIDAYS)
    holiday_names: dict[date, HolidayName] = Field(
        default_factory=dict,
        description='nomes dos dias fechados, por data: {"2026-01-25": "Aniversário da cidade"}',
    )
    away_enabled: bool = Field(
        default=False, description="responder automaticamente fora do horário"
    )
    away_message: AwayText = DEFAULT_AWAY_MESSAGE

    @model_validator(mode="after")
    def _message_when_enabled(self) -> Self:
        if self.away_enabled and not self.away_message:
            raise ValueError(N_("escreva a mensagem de ausência"))
        self.holidays = sorted(set(self.holidays))
        # A name goes with its day: a day taken off the list takes its name along.
        self.holiday_names = {
            day: name for day, name in sorted(self.holiday_names.items())
            if name and day in self.holidays
        }  # fmt: skip
        return self


class BusinessHoursOut(BusinessHoursIn):
    """The settings as stored (defaults until an admin saves them) and what they mean now."""

    timezone: str
    open_now: bool
    next_opening: datetime | None = Field(description="quando abre de novo, se fechado agora")
    updated_at: datetime | None = None
