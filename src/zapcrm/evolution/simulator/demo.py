"""Demo mode: a few Brazilian customers who keep writing and answer when zapcrm replies (a
numbered menu, like the departments' one, with one of its numbers, as people do; a request
for a grade from 1 to 5, like the satisfaction survey's, with a grade, and no word after the
thanks that follows it)."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any

from zapcrm.evolution.simulator.simulator import Simulator, SimulatorError
from zapcrm.evolution.simulator.state import Customer, Instance, SentRecord
from zapcrm.logging import get_logger

__all__ = ["PERSONAS", "DemoDriver", "Persona"]

log = get_logger("zapcrm.evolution.simulator.demo")

Line = tuple[str, dict[str, Any]]

# An option of a numbered menu as WhatsApp menus write them ("*2* - Suporte").
_MENU_OPTION = re.compile(r"^\*(\d{1,2})\* - ", re.MULTILINE)
# A request for a grade: "nota" or "avalia..." and the scale's ends, 1 ... 5.
_GRADE_REQUEST = re.compile(r"(?is)(?=.*\b(?:nota|avali))(?=.*\b1\b.{1,60}\b5\b)")
GRADES = ("5", "5", "5 ⭐", "4", "4", "3")


@dataclass(frozen=True)
class Persona:
    """A customer with things to say unprompted and answers for when zapcrm writes back."""

    customer: dict[str, Any]
    openers: tuple[Line, ...]
    answers: tuple[Line, ...]


PERSONAS: tuple[Persona, ...] = (
    Persona(  # a bakery order, São Paulo
        {"phone": "5511987651234", "name": "Maria Aparecida", "device": "android"},
        (
            ("text", {"text": "Bom dia! Vocês já têm pão de queijo quentinho?"}),
            (
                "text",
                {"text": "Queria encomendar um bolo de chocolate pra sábado, umas 20 pessoas"},
            ),
            ("image", {"caption": "Tipo esse aqui, com morango em cima 🍓"}),
        ),
        (
            ("text", {"text": "Perfeito! Qual fica o valor?"}),
            ("text", {"text": "Pode ser no Pix?"}),
            ("react", {"emoji": "🙏"}),
            ("text", {"text": "Combinado, obrigada! 😊"}),
        ),
    ),
    Persona(  # a clinic appointment, Belo Horizonte: an old account WhatsApp knows without the 9
        {
            "phone": "5531991234567",
            "name": "João Pedro Santos",
            "legacy_without_ninth": True,
            "device": "ios",
        },
        (
            ("text", {"text": "Olá, boa tarde. Gostaria de agendar uma consulta com a Dra. Paula"}),
            ("text", {"text": "Vocês atendem pelo convênio Unimed?"}),
            ("document", {"file_name": "guia-unimed.pdf", "caption": "Segue a guia do convênio"}),
        ),
        (
            ("text", {"text": "Pode ser quinta de manhã?"}),
            ("text", {"text": "Ótimo, confirmado então."}),
            ("text", {"text": "Obrigado!"}),
        ),
    ),
    Persona(  # a late delivery, Recife, addressed by @lid with the phone in remoteJidAlt
        {"phone": "5581998765432", "name": "Ana Beatriz Lima", "addressing": "lid"},
        (
            ("text", {"text": "Oi! Meu pedido #4821 ainda não chegou 😕"}),
            ("text", {"text": "Comprei na sexta e o rastreio não atualiza"}),
            ("audio", {"seconds": 6}),
        ),
        (
            ("text", {"text": "Ah, entendi. Então chega até quarta?"}),
            (
                "location",
                {
                    "name": "Minha casa",
                    "address": "Rua da Aurora, 325 - Boa Vista, Recife",
                    "latitude": -8.0597,
                    "longitude": -34.8799,
                },
            ),
            ("text", {"text": "Valeu pela ajuda!"}),
        ),
    ),
    Persona(  # a shop question, Rio, @lid without the phone: only the lid is known
        {"phone": "5521976543210", "name": "Carlos Eduardo", "addressing": "lid_no_alt"},
        (
            ("text", {"text": "Boa noite, vocês fazem entrega no Méier?"}),
            (
                "extended_text",
                {"text": "Vi esse aqui no site: https://lojademo.example.com/p/cafeteira-italiana"},
            ),
            ("text", {"text": "Quero 2 unidades"}),
            ("edit_last", {"text": "Quero 3 unidades"}),
        ),
        (
            ("text", {"text": "Show, vou fechar então"}),
            ("text", {"text": "Manda o link de pagamento por favor"}),
        ),
    ),
)


@dataclass
class _Talk:
    persona: Persona
    customer: Customer
    opener: int = 0
    answer: int = 0
    last_id: str | None = None
    busy: bool = False
    last_received: str | None = field(default=None)
    # Just graded the service: the thanks that comes next needs no answer.
    graded: bool = False


class DemoDriver:
    """Keeps the personas chatting on one instance every few (simulated) seconds."""

    def __init__(
        self, sim: Simulator, instance: Instance, *, interval: tuple[float, float] = (4.0, 10.0)
    ) -> None:
        self.sim = sim
        self.instance = instance
        self.interval = interval
        self.rng = random.Random(f"{sim.config.seed}:demo")  # noqa: S311 - pacing, not secrecy
        self.talks: dict[str, _Talk] = {}
        for persona in PERSONAS:
            customer = sim.add_customer(**persona.customer)
            self.talks[customer.phone] = _Talk(persona, customer)
        sim.send_hooks.append(self._on_send)

    async def run(self) -> None:
        """Chat forever (until cancelled)."""
        while True:
            await self.sim.sleep(self.rng.uniform(*self.interval))
            idle = [t for t in self.talks.values() if not t.busy]
            current = self.sim.instances.get(self.instance.name) is self.instance
            if not current or self.instance.state != "open" or not idle:
                continue
            talk = self.rng.choice(idle)
            line = talk.persona.openers[talk.opener % len(talk.persona.openers)]
            talk.opener += 1
            self.sim.spawn(self._say(talk, line))

    def _on_send(self, instance: Instance, record: SentRecord, customer: Customer | None) -> None:
        talk = self.talks.get(customer.phone) if customer else None
        if instance is not self.instance or talk is None or record.endpoint == "sendReaction":
            return
        talk.last_received = record.key_id
        text = str(record.request.get("text") or "")
        if talk.graded:
            talk.graded = False
            return
        options = _MENU_OPTION.findall(text)
        if options:
            line: Line = ("text", {"text": self.rng.choice(options)})
        elif _GRADE_REQUEST.match(text):
            talk.graded = True
            line = ("text", {"text": self.rng.choice(GRADES)})
        else:
            line = talk.persona.answers[talk.answer % len(talk.persona.answers)]
            talk.answer += 1
        self.sim.spawn(self._say(talk, line, after=self.rng.uniform(3.0, 7.0)))

    async def _say(self, talk: _Talk, line: Line, after: float = 0.0) -> None:
        talk.busy = True
        try:
            await self.sim.sleep(after)
            kind, options = line
            if kind == "react":
                kind, options = "reaction", {**options, "target_id": talk.last_received}
            elif kind == "edit_last":
                kind, options = "edit", {**options, "target_id": talk.last_id}
            else:
                presence = "recording" if kind == "audio" else "composing"
                await self.sim.customer_sends(
                    self.instance, talk.customer, "presence", presence=presence
                )
                await self.sim.sleep(self.rng.uniform(1.0, 3.0))
            result = await self.sim.customer_sends(self.instance, talk.customer, kind, **options)
            data = result["data"]
            if result["event"] == "messages.upsert":
                talk.last_id = data["key"]["id"]
        except SimulatorError as error:
            log.info("simulator.demo.skipped", reason=str(error))
        finally:
            talk.busy = False
