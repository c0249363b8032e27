"""A month of a small shop's WhatsApp service, planned in memory (no I/O): customers, the
chats they opened on the shop's clock, who answered, how fast, and when each was closed.

Deterministic (seeded generators), so every `make run` shows the same past. The times
follow the demo's business hours (Monday to Saturday, 08:00 to 18:00): customers write at
any hour, more at lunch and in the afternoon; replies come during opening hours. Each closed
chat was asked the satisfaction survey; most customers answered it, mostly with a 4 or a 5.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from zapcrm.kit import texts
from zapcrm.surveys.schemas import DEFAULT_QUESTION, DEFAULT_THANKS

DAYS = 30
FIRST_NAMES = (
    "Ana", "Bruno", "Camila", "Diego", "Eduarda", "Felipe", "Gabriela", "Henrique", "Isabela",
    "João", "Larissa", "Marcos", "Natália", "Otávio", "Patrícia", "Rafael", "Sabrina", "Tiago",
    "Vanessa", "Wagner", "Yasmin", "Luana", "Renato", "Juliana", "Caio", "Fernanda",
)  # fmt: skip
LAST_NAMES = (
    "Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves", "Pereira", "Lima",
    "Gomes", "Costa", "Ribeiro", "Martins", "Carvalho", "Almeida", "Lopes", "Araújo", "Barbosa",
)  # fmt: skip
# Area codes away from the live demo's customers (11, 21, 31, 81), so nobody is both.
AREA_CODES = ("41", "48", "51", "61", "62", "71", "85", "27")
TAGS = ("cliente", "atacado", "vip", "bolos", "delivery")
SOURCES = ("WhatsApp", "Instagram", "Indicação", "Site")
EMAIL_DOMAINS = ("gmail.com", "gmail.com", "hotmail.com", "outlook.com", "uol.com.br", "bol.com.br")
STAGES = ("novo", "negociacao", "cliente", "cliente", "perdido")
NEIGHBOURHOODS = ("Centro", "Boa Vista", "Jardim América", "Vila Nova", "Batel", "Aldeota")

# Conversations as (customer line | agent line) turns; {nome}, {pedido}, {bairro} filled in.
SCRIPTS: tuple[tuple[tuple[bool, str], ...], ...] = (
    (
        (False, "Oi! Meu pedido #{pedido} ainda não chegou"),
        (True, "Olá, {nome}! Vou verificar agora mesmo."),
        (True, "Já está com a transportadora: chega amanhã até as 18h."),
        (False, "Obrigada!"),
        (True, "Por nada! Qualquer coisa é só chamar."),
    ),
    (
        (False, "Bom dia, vocês fazem bolo para 30 pessoas?"),
        (True, "Bom dia, {nome}! Fazemos sim. Para quando seria?"),
        (False, "Sábado que vem"),
        (True, "O de 30 fatias sai por R$ 180,00. Posso reservar?"),
        (False, "Pode sim"),
        (True, "Reservado! Pedido #{pedido}. 🎉"),
    ),
    (
        (False, "Vocês abrem domingo?"),
        (True, "Olá, {nome}! Abrimos de segunda a sábado, das 8h às 18h."),
        (False, "Ah, obrigado"),
    ),
    (
        (False, "Quero trocar um produto que veio com defeito"),
        (True, "Sinto muito, {nome}! Pode mandar uma foto?"),
        (False, "A caixa veio amassada e o produto quebrado"),
        (True, "Vamos trocar sim: o motoboy passa amanhã de manhã."),
        (False, "Perfeito, obrigada"),
    ),
    (
        (False, "Vocês entregam no bairro {bairro}?"),
        (True, "Entregamos sim, {nome}! A taxa é R$ 10,00."),
        (False, "Ótimo, vou fazer o pedido"),
        (True, "Combinado! Seu pedido é o #{pedido}."),
    ),
    (
        (False, "Aceitam Pix?"),
        (True, "Aceitamos Pix, cartão e dinheiro, {nome}."),
        (False, "Beleza, obrigado"),
    ),
)
# The department each script's chat ends up in (the demo's own, cli.DEMO_DEPARTMENTS); None:
# a question anyone answers.
SCRIPT_DEPARTMENTS = ("Encomendas", "Encomendas", None, "Encomendas", "Encomendas", "Financeiro")
OPENS, CLOSES = time(8), time(18)
# How many chats start on a weekday (ISO 1-7), before a +-30% day-to-day swing.
DAILY = {1: 16, 2: 14, 3: 14, 4: 15, 5: 17, 6: 9, 7: 3}
# When customers write: weights for each hour of the day.
# How customers grade the service (1 to 5), and how many answer the survey at all.
GRADE_WEIGHTS = (4, 4, 10, 27, 55)
ANSWERED = 0.7
HOUR_WEIGHTS = (
    0, 0, 0, 0, 0, 0, 1, 2, 5, 8, 10, 11, 9, 7, 9, 10, 10, 9, 6, 4, 3, 2, 1, 1,
)  # fmt: skip


@dataclass(frozen=True)
class Customer:
    """A person of the shop's contact list."""

    name: str
    phone: str
    tags: list[str]
    source: str
    stage: str
    neighbourhood: str
    # What their order in talks (or last order) is worth, in reais: none for new and lost.
    order_value: float | None = None
    email: str | None = None


@dataclass(frozen=True)
class Line:
    """One message: the customer's (agent None) or an agent's (their index); `mark` is the
    survey's (`survey_request`, `survey_reply`: ours, sent by nobody; `survey_rating`: the
    customer's grade)."""

    at: datetime
    agent: int | None
    body: str
    mark: str | None = None

    @property
    def aside(self) -> bool:
        """Whether it is one of the survey's automatic sends, which leave the inbox as it was."""
        return self.mark in ("survey_request", "survey_reply")

    @property
    def ours(self) -> bool:
        """Whether the shop's number sent it."""
        return self.agent is not None or self.aside


@dataclass
class PastChat:
    """One service cycle: who wrote, who answered, when it was closed."""

    customer: int
    agent: int
    lines: list[Line] = field(default_factory=list)
    closed_at: datetime | None = None
    department: str | None = None
    rating: int | None = None
    rated_at: datetime | None = None

    @property
    def started_at(self) -> datetime:
        return self.lines[0].at

    @property
    def first_reply_at(self) -> datetime | None:
        return next((line.at for line in self.lines if line.agent is not None), None)

    def survey_lines(self, first_name: str | None) -> list[Line]:
        """The survey's question at the close and, when the customer answered, their grade
        and the thanks."""
        if self.closed_at is None:
            return []
        lines = [Line(self.closed_at, None, DEFAULT_QUESTION, "survey_request")]
        if self.rating is not None and self.rated_at is not None:
            thanks = texts.render(DEFAULT_THANKS, {"first_name": first_name})
            lines.append(Line(self.rated_at, None, str(self.rating), "survey_rating"))
            lines.append(Line(self.rated_at + timedelta(seconds=2), None, thanks, "survey_reply"))
        return lines


def customers(rng: random.Random, count: int) -> list[Customer]:
    """`count` people with distinct names and mobile numbers."""
    people: list[Customer] = []
    names: set[str] = set()
    phones: set[str] = set()
    while len(people) < count:
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        phone = f"+55{rng.choice(AREA_CODES)}9{rng.randrange(8000_0000, 9999_9999)}"
        if name in names or phone in phones:
            continue
        names.add(name)
        phones.add(phone)
        people.append(
            Customer(
                name=name,
                phone=phone,
                tags=sorted(set(rng.sample(TAGS, rng.randint(0, 2)))),
                source=rng.choice(SOURCES),
                stage=rng.choice(STAGES),
                neighbourhood=rng.choice(NEIGHBOURHOODS),
            )
        )
    # Drawn after everyone else's fields, from a generator of its own, so the people (and the
    # month planned from them) stay what they were before values existed.
    values = random.Random(count)  # noqa: S311 - a demo's prices, not a secret
    people = [
        replace(person, order_value=round(values.uniform(40, 600) / 5) * 5 + 0.9)
        if person.stage in ("negociacao", "cliente")
        else person
        for person in people
    ]
    # Addresses the same way (about two in three people give one), so that searching by
    # e-mail or by a domain ("@gmail.com") finds someone in the demo.
    addresses = random.Random(count + 1)  # noqa: S311 - a demo's addresses, not a secret
    return [
        replace(person, email=_email(person.name, addresses.choice(EMAIL_DOMAINS)))
        if addresses.random() < 0.65
        else person
        for person in people
    ]


def _email(name: str, domain: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return ".".join(plain.split()) + "@" + domain


def is_open(moment: datetime) -> bool:
    """Whether the demo shop attends at this moment (its wall clock)."""
    return moment.isoweekday() != 7 and OPENS <= moment.time() < CLOSES


def next_opening(moment: datetime) -> datetime:
    """The moment itself when open, else the next 08:00 of a working day."""
    if is_open(moment):
        return moment
    day = moment.date() if moment.time() < OPENS else moment.date() + timedelta(days=1)
    while day.isoweekday() == 7:
        day += timedelta(days=1)
    return datetime.combine(day, OPENS, tzinfo=moment.tzinfo)


def month(
    today: date, zone: ZoneInfo, agents: int, *, people: int = 90, seed: int = 2026
) -> tuple[list[Customer], list[PastChat]]:
    """The shop's customers and every chat of the `DAYS` days before `today`."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible demo, not a secret
    customer_list = customers(rng, people)
    chats = plan(rng, today, zone, customer_list, agents)
    # A generator of its own: the month's chats stay what they were before the survey existed.
    grade(random.Random(f"{seed}:survey"), chats, today, zone)  # noqa: S311
    return customer_list, chats


def grade(rng: random.Random, chats: list[PastChat], today: date, zone: ZoneInfo) -> None:
    """The survey's answers: most customers grade the chat within a few minutes of its
    close, always before `today` and before they open their next chat."""
    start_of_today = datetime.combine(today, time(), tzinfo=zone)
    next_start: dict[int, datetime] = {}
    for chat in reversed(chats):  # oldest first: walk back to know each one's next chat
        chat_next = next_start.get(chat.customer, start_of_today)
        next_start[chat.customer] = chat.started_at
        if chat.closed_at is None or rng.random() >= ANSWERED:
            continue
        rated_at = chat.closed_at + timedelta(minutes=rng.lognormvariate(1.5, 0.9))
        if rated_at + timedelta(seconds=2) < min(chat_next, start_of_today):
            chat.rating = rng.choices(range(1, 6), weights=GRADE_WEIGHTS)[0]
            chat.rated_at = rated_at


def plan(
    rng: random.Random, today: date, zone: ZoneInfo, people: list[Customer], agents: int
) -> list[PastChat]:
    """Every chat of the `DAYS` days before `today`, oldest first, all closed before today."""
    chats: list[PastChat] = []
    start_of_today = datetime.combine(today, time(), tzinfo=zone)
    for offset in range(DAYS, 0, -1):
        day = today - timedelta(days=offset)
        count = round(DAILY[day.isoweekday()] * rng.uniform(0.7, 1.3))
        for _ in range(count):
            hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
            opened = datetime.combine(day, time(hour, rng.randrange(60)), tzinfo=zone)
            chat = _chat(rng, opened, rng.randrange(len(people)), people, agents)
            if chat.closed_at is not None and chat.closed_at < start_of_today:
                chats.append(chat)
    chats.sort(key=lambda chat: chat.started_at)
    return chats


def _chat(
    rng: random.Random, opened: datetime, customer: int, people: list[Customer], agents: int
) -> PastChat:
    person = people[customer]
    # Olga answers most; the supervisor covers the rest.
    agent = 0 if agents == 1 or rng.random() < 0.65 else rng.randrange(1, agents)
    values = {
        "nome": person.name.split()[0],
        "pedido": str(rng.randrange(1000, 9999)),
        "bairro": person.neighbourhood,
    }
    script = rng.randrange(len(SCRIPTS))  # the same draw as rng.choice: the same month as before
    chat = PastChat(customer=customer, agent=agent, department=SCRIPT_DEPARTMENTS[script])
    moment = opened
    previous_was_customer = False
    for index, (ours, template) in enumerate(SCRIPTS[script]):
        if index:
            if ours and previous_was_customer:
                # A reply: minutes during opening hours; the next opening otherwise.
                wait = timedelta(minutes=rng.lognormvariate(1.6, 0.8))
                moment = next_opening(moment) + wait
            else:
                moment += timedelta(seconds=rng.randrange(20, 300))
        chat.lines.append(Line(moment, agent if ours else None, template.format(**values)))
        previous_was_customer = not ours
    chat.closed_at = moment + timedelta(minutes=rng.randrange(2, 60))
    return chat
