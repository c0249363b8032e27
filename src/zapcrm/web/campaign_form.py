"""The campaign form of the panel: what was typed, to and from the campaign schemas, and the
text preview. A refused form comes back with everything as it was typed; validation itself is
the schemas' and the service's."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.datastructures import FormData, QueryParams

from zapcrm.campaigns.schemas import (
    PACING_FIELDS,
    WORKDAYS,
    CampaignIn,
    CampaignOut,
    CampaignUpdate,
    PacingIn,
    check_variant,
)
from zapcrm.exceptions import ValidationFailed
from zapcrm.i18n import message_of
from zapcrm.kit import texts
from zapcrm.kit.placeholders import ALIASES
from zapcrm.web.i18n import N_, translate

# The person the text preview is filled in for (and one without a name, for the fallbacks).
SAMPLE_NAME = "Maria Souza"
SAMPLE_PHONE = "+5511987654321"
_NOT_TYPED = ("warmup", "weekdays")  # a checkbox and a set of checkboxes
_NUMBERS = tuple(
    name for name in PACING_FIELDS if name not in (*_NOT_TYPED, "window_start", "window_end")
)

# The variables the form's help lists, by the Portuguese names the team types.
VARIABLES = tuple(alias for alias, name in ALIASES.items() if name in texts.USABLE)


@dataclass
class CampaignForm:
    """The campaign form as typed, so a refused form comes back with the user's text."""

    name: str = ""
    instance_id: str = ""
    segment_id: str = ""
    q: str = ""
    filter_json: str = ""  # an audience filter made through the API, kept as it is
    follows_list: bool = False
    variants: list[str] = field(default_factory=lambda: [""])
    pacing: dict[str, str] = field(default_factory=dict)
    warmup: bool = True
    weekdays: list[int] = field(default_factory=lambda: list(WORKDAYS))

    @classmethod
    def blank(cls) -> CampaignForm:
        """A new campaign: the safe pace filled in."""
        return cls(pacing=_pacing_text(PacingIn()))

    @classmethod
    def of(cls, campaign: CampaignOut) -> CampaignForm:
        """What an existing campaign holds."""
        audience = campaign.audience
        return cls(
            name=campaign.name,
            instance_id=str(campaign.instance_id),
            segment_id=str(audience.segment_id or ""),
            q=audience.q or "",
            filter_json=orjson.dumps(audience.filter).decode() if audience.filter else "",
            follows_list=campaign.follows_list,
            variants=list(campaign.variants),
            pacing=_pacing_text(campaign),
            warmup=campaign.warmup,
            weekdays=list(campaign.weekdays),
        )

    @classmethod
    def parse(cls, form: FormData | QueryParams) -> CampaignForm:
        """The posted fields; empty extra texts are dropped (at least one stays, to be refused)."""
        typed = [str(value) for value in form.getlist("variant")]
        return cls(
            name=str(form.get("name", "")),
            instance_id=str(form.get("instance_id", "")),
            segment_id=str(form.get("segment_id", "")),
            q=str(form.get("q", "")),
            filter_json=str(form.get("filter_json", "")),
            follows_list=form.get("follows_list") == "on",
            variants=[text for text in typed if text.strip()] or typed[:1] or [""],
            pacing={
                name: str(form.get(name, "")).strip()
                for name in PACING_FIELDS
                if name not in _NOT_TYPED
            },
            warmup=form.get("warmup") == "on",
            # No box ticked stays empty, for the schema to refuse with its reason.
            weekdays=[int(str(day)) for day in form.getlist("weekdays") if str(day).isdigit()],
        )

    def reworded(self, errors: list[dict[str, str]]) -> list[dict[str, str]]:
        """The refusals of what was left blank in the form's words: Pydantic's "precisa de
        pelo menos 1 caractere(s)" or "identificador inválido" do not say what to do."""
        blank = {
            "name": (not self.name.strip(), N_("dê um nome à campanha")),
            "instance_id": (not self.instance_id, N_("escolha o número de WhatsApp")),
            "weekdays": (not self.weekdays, N_("marque pelo menos um dia da semana")),
        }
        return [
            {"field": item["field"], "message": translate(blank[item["field"]][1])}
            if item["field"] in blank and blank[item["field"]][0]
            else item
            for item in errors
        ]

    def audience(self) -> dict[str, Any]:
        """The audience as the schemas read it (validated by them)."""
        try:
            criteria = orjson.loads(self.filter_json) if self.filter_json else None
        except orjson.JSONDecodeError:
            raise ValidationFailed(N_("filtro inválido")) from None
        return {
            "q": self.q.strip() or None,
            "segment_id": self.segment_id or None,
            "filter": criteria,
        }

    def pace(self) -> dict[str, Any]:
        """The pacing fields typed (an empty one keeps the default or the current value)."""
        typed = {name: value for name, value in self.pacing.items() if value}
        return typed | {"warmup": self.warmup, "weekdays": self.weekdays}

    def new_campaign(self) -> CampaignIn:
        """The draft to create."""
        return CampaignIn.model_validate(
            {
                "name": self.name,
                "instance_id": self.instance_id,
                "audience": self.audience(),
                "variants": self.variants,
                "follows_list": self.follows_list,
            }
            | self.pace()
        )

    def changes(self, *, draft: bool) -> CampaignUpdate:
        """The edit: everything for a draft, the name and the pace once it started."""
        fields: dict[str, Any] = {"name": self.name} | self.pace()
        if draft:
            fields |= {
                "instance_id": self.instance_id,
                "audience": self.audience(),
                "variants": self.variants,
                "follows_list": self.follows_list,
            }
        return CampaignUpdate.model_validate(fields)


def _pacing_text(pacing: PacingIn) -> dict[str, str]:
    values = {name: str(getattr(pacing, name)) for name in _NUMBERS}
    for name in ("window_start", "window_end"):
        moment = getattr(pacing, name)
        values[name] = moment.isoformat("minutes" if moment.second == 0 else "seconds")
    return values


@dataclass(frozen=True)
class Preview:
    """The first text as two people would read it, or why it cannot be sent."""

    named: str = ""
    unnamed: str = ""
    error: str = ""


def preview(text: str, company: str) -> Preview:
    """The text filled in for the sample person and for a contact without a name."""
    if not text.strip():
        return Preview()
    try:
        body = check_variant(text)
    except ValueError as invalid:
        return Preview(error=translate(message_of(invalid)))
    return Preview(
        named=texts.render(body, texts.person_context(SAMPLE_NAME, SAMPLE_PHONE, company)),
        unnamed=texts.render(body, texts.person_context(None, SAMPLE_PHONE, company)),
    )
