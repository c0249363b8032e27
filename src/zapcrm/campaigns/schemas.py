"""Campaign API models: what a supervisor writes, what the panel reads back."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, time
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SkipValidation,
    ValidationInfo,
    field_validator,
)

from zapcrm.contacts.query.schemas import ContactQuery
from zapcrm.evolution.errors import NOT_ON_WHATSAPP
from zapcrm.i18n import N_, Text
from zapcrm.kit import texts

CampaignStatus = Literal["draft", "running", "paused", "completed", "cancelled"]
CampaignOutcome = CampaignStatus | Literal["completed_with_failures", "nothing_sent"]
"""The status as people read it: a completed campaign also says whether its messages failed."""
# A recipient as people read it: its own state before the send, its message's after.
RecipientStatus = Literal["pending", "skipped", "queued", "sent", "delivered", "read", "failed"]
MAX_TEXT_LENGTH = 4096  # WhatsApp's limit for one text message
MAX_VARIANTS = 10


def check_variant(text: str) -> str:
    """A text stripped, not empty, within WhatsApp's length, with valid variables."""
    body = text.strip()
    if not body:
        raise ValueError(N_("o texto está vazio"))
    if len(body) > MAX_TEXT_LENGTH:
        raise ValueError(N_("o texto passa de {limit} caracteres", limit=MAX_TEXT_LENGTH))
    return texts.checked(body)


# One text, checked on its own so an error names which one (`variants.1`).
Variant = Annotated[str, AfterValidator(check_variant)]

WORKDAYS = [1, 2, 3, 4, 5, 6]  # Monday to Saturday (ISO days)


def _not_blank(value: str) -> str:
    stripped = value.strip()
    if not stripped:
        raise ValueError(N_("o nome está vazio"))
    return stripped


# Each bound once, for a new campaign and for a change to one (where every field is optional).
CampaignName = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_not_blank)]
GapSeconds = Annotated[int, Field(ge=1, le=3600)]
BatchSize = Annotated[int, Field(ge=1, le=1000)]
PauseSeconds = Annotated[int, Field(ge=0, le=86400)]
HourlyCap = Annotated[int, Field(ge=1, le=10000)]
DailyCap = Annotated[int, Field(ge=1, le=100000)]
Weekdays = Annotated[
    list[int], Field(min_length=1, max_length=7), AfterValidator(lambda days: sorted(set(days)))
]
Failures = Annotated[int, Field(ge=1, le=1000)]


def range_problems(values: Mapping[str, Any]) -> list[dict[str, str]]:
    """Every problem of a pace at once, each by the field it is reported on: a maximum under
    its minimum, a window that closes before it opens, days outside 1 to 7. A pair is compared
    only when both sides are known (a side refused on its own already says why)."""

    def crossed(low: str, high: str, *, equal_too: bool = False) -> bool:
        if values.get(low) is None or values.get(high) is None:
            return False
        return bool(values[high] <= values[low] if equal_too else values[high] < values[low])

    problems: list[dict[str, str]] = []
    if crossed("min_gap_seconds", "max_gap_seconds"):
        problems.append(
            {"field": "max_gap_seconds", "message": N_("o intervalo máximo é menor que o mínimo")}
        )
    if crossed("batch_pause_min_seconds", "batch_pause_max_seconds"):
        problems.append(
            {
                "field": "batch_pause_max_seconds",
                "message": N_("a pausa máxima entre lotes é menor que a mínima"),
            }
        )
    if crossed("window_start", "window_end", equal_too=True):
        problems.append(
            {"field": "window_end", "message": N_("a janela de envio termina antes de começar")}
        )
    days = values.get("weekdays")
    if days is not None and (not days or not set(days) <= set(range(1, 8))):
        problems.append(
            {
                "field": "weekdays",
                "message": N_("escolha os dias da semana entre 1 (segunda) e 7 (domingo)"),
            }
        )
    return problems


# The fields range_problems reports on; each is checked against the fields before it, so a
# form hears of every problem at once, each by its field.
_RANGE_CHECKED = ("max_gap_seconds", "batch_pause_max_seconds", "window_end", "weekdays")


def _in_range(value: Any, info: ValidationInfo) -> Any:
    """A field of _RANGE_CHECKED against the fields validated before it."""
    name = info.field_name or ""
    for problem in range_problems({**info.data, name: value}):
        if problem["field"] == name:
            raise ValueError(problem["message"])
    return value


class PacingIn(BaseModel):
    """The pace; the defaults are the safe ones from crm-features.md."""

    model_config = ConfigDict(extra="forbid")

    min_gap_seconds: GapSeconds = Field(default=8, description="intervalo mínimo (s)")
    max_gap_seconds: GapSeconds = Field(default=20, description="intervalo máximo (s)")
    batch_size: BatchSize = Field(default=20, description="envios por lote")
    batch_pause_min_seconds: PauseSeconds = 60
    batch_pause_max_seconds: PauseSeconds = 120
    hourly_cap: HourlyCap = Field(default=70, description="envios por hora (número)")
    daily_cap: DailyCap = Field(default=300, description="envios por dia (número)")
    warmup: bool = Field(
        default=True, description="limite diário começa em 30 e cresce 30 por dia de número novo"
    )
    window_start: time = Field(default=time(8), description="início da janela (fuso da empresa)")
    window_end: time = Field(default=time(20), description="fim da janela (fuso da empresa)")
    weekdays: Weekdays = Field(
        default_factory=lambda: list(WORKDAYS),
        description="dias da semana em que envia (ISO: 1 = segunda ... 7 = domingo); "
        "padrão: segunda a sábado",
    )
    max_consecutive_failures: Failures = Field(
        default=5, description="pausa sozinha após tantas falhas seguidas"
    )

    _ranges = field_validator(*_RANGE_CHECKED)(_in_range)


# Settings people may change while a campaign runs or is paused (slower, smaller caps...).
PACING_FIELDS = tuple(PacingIn.model_fields)


class CampaignIn(PacingIn):
    """A new campaign (a draft until it is started)."""

    name: CampaignName
    instance_id: uuid.UUID
    audience: ContactQuery = Field(
        default_factory=ContactQuery,
        description="quem recebe: busca, filtro e segmento combinados (vazio: todos os contatos)",
    )
    variants: list[Variant] = Field(
        min_length=1,
        max_length=MAX_VARIANTS,
        description="textos alternados entre os destinatários; variáveis {{nome}}, "
        "{{primeiro_nome}}, {{telefone}}, {{empresa}}, e com valor padrão para quem não o "
        "tem: {{primeiro_nome|cliente}}",
    )
    follows_list: bool = Field(
        default=False,
        description="o público é uma lista estática e quem entrar nela depois do início "
        "também recebe (a campanha segue ativa à espera de novos membros)",
    )


class CampaignUpdate(BaseModel):
    """Changes to a campaign: the pace and the name at any time before it ends; the number,
    the audience and the texts only while it is a draft."""

    model_config = ConfigDict(extra="forbid")

    name: CampaignName | None = None
    instance_id: uuid.UUID | None = None
    audience: ContactQuery | None = None
    variants: list[Variant] | None = Field(default=None, min_length=1, max_length=MAX_VARIANTS)
    follows_list: bool | None = None
    min_gap_seconds: GapSeconds | None = None
    max_gap_seconds: GapSeconds | None = None
    batch_size: BatchSize | None = None
    batch_pause_min_seconds: PauseSeconds | None = None
    batch_pause_max_seconds: PauseSeconds | None = None
    hourly_cap: HourlyCap | None = None
    daily_cap: DailyCap | None = None
    warmup: bool | None = None
    window_start: time | None = None
    window_end: time | None = None
    weekdays: Weekdays | None = None
    max_consecutive_failures: Failures | None = None

    # Pairs sent together are checked here; against the stored values, by the service.
    _ranges = field_validator(*_RANGE_CHECKED)(_in_range)


class StartIn(BaseModel):
    """How to start: now (no body, or no `at`) or at a scheduled time."""

    model_config = ConfigDict(extra="forbid")

    at: datetime | None = Field(
        default=None,
        description="primeiro envio agendado (com fuso; no máximo 90 dias à frente); "
        "a janela de envio continua valendo",
    )


class CampaignProgress(BaseModel):
    """How far the campaign got: recipients by status, replies and the time left."""

    total: int
    pending: int
    skipped: int
    queued: int
    sent: int
    delivered: int
    read: int
    failed: int
    replied: int
    eta_seconds: float | None = Field(
        description="estimativa do tempo até o último envio: o ritmo, só dentro da janela de "
        "envio e até o limite diário do número; null quando não está enviando (ou passa de 3 "
        "anos)"
    )
    finishes_at: datetime | None = Field(
        default=None,
        description="o momento do último envio pela mesma estimativa (eta_seconds a partir de "
        "agora); null quando não está enviando",
    )

    @property
    def done(self) -> int:
        """Recipients the campaign has finished with (sent or skipped)."""
        return self.total - self.pending

    @property
    def sent_total(self) -> int:
        """Messages the gateway took, however far they got since (the funnel's first step)."""
        return self.sent + self.delivered + self.read

    @property
    def delivered_total(self) -> int:
        """Messages that reached the phone, read or not."""
        return self.delivered + self.read


def paused_by_hand(name: str) -> Text:
    """The pause reason of a campaign someone paused (CampaignOut.paused_by reads it back)."""
    return N_("pausada por {name}", name=name)


class CampaignOut(PacingIn):
    """A campaign as the API shows it."""

    model_config = ConfigDict(extra="ignore")

    id: uuid.UUID
    name: str
    status: CampaignStatus
    instance_id: uuid.UUID
    audience: ContactQuery
    variants: list[str]
    follows_list: bool
    next_send_at: datetime | None
    next_send_in_window_at: datetime | None = Field(
        default=None,
        description="quando o próximo envio pode sair: next_send_at ou, se ele cai fora da "
        "janela de envio, a próxima abertura dela (fuso da empresa), como o disparo fará",
    )
    # Kept as the stored `Text`, so the panel can show it in the reader's language.
    pause_reason: Annotated[str | None, SkipValidation()]
    created_by: uuid.UUID | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    progress: CampaignProgress

    @property
    def paused_by(self) -> str | None:
        """Who paused the campaign by hand; None unless paused so (the dispatcher pauses it
        itself for a problem: a number disconnected, sends failing)."""
        reason = self.pause_reason
        if self.status != "paused" or not isinstance(reason, Text):
            return None
        if reason.template != paused_by_hand("").template:
            return None
        return str(reason.params.get("name", ""))

    @property
    def outcome(self) -> CampaignOutcome:
        """The status, where "completed" tells a campaign whose messages all went out from
        one where some failed or none was sent (everyone refused or skipped)."""
        progress = self.progress
        if self.status != "completed" or not progress.total:
            return self.status
        if not progress.sent_total:
            return "nothing_sent"
        return "completed_with_failures" if progress.failed else "completed"


class RecipientOut(BaseModel):
    """One person of the campaign and what became of their message."""

    contact_id: uuid.UUID
    name: str
    phone_e164: str | None
    position: int
    status: RecipientStatus
    reason: str | None
    variant: int | None
    dispatched_at: datetime | None
    message_id: uuid.UUID | None
    conversation_id: uuid.UUID | None
    replied: bool

    @property
    def not_on_whatsapp(self) -> bool:
        """Whether the message failed for a number without WhatsApp (its chat holds nothing)."""
        return self.status == "failed" and NOT_ON_WHATSAPP in (self.reason or "")
