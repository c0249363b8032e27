"""The departments' WhatsApp menu: a customer who starts a conversation is asked which team
they want ("1 - Vendas, 2 - Suporte ..."), and their answer routes the chat there, in the
webhook's own transaction (the reply exists exactly when the message that caused it does).

Once per service cycle, only in 1:1 chats nobody has taken or answered yet, never for backlog
(a message that reaches us long after it was written). An answer is the option's number or
its name, accents and case ignored ("2", "2.", "opção 2", "suporte"; not a number inside a
sentence). After `MENU_MAX_TRIES`
answers that name no option the chat goes to the general queue: a customer who only wants to
talk is not asked forever. Every reply is an automatic send (`menu_reply`): never an agent's
reply, never the chat's latest line in the inbox. A company's menu is read at most every few
seconds per process (`MenuRules`): the webhook asks for it on every inbound message.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.accounts import repository as accounts_repository
from zapcrm.departments import repository
from zapcrm.departments.schemas import MENU_MAX_TRIES
from zapcrm.kit import texts
from zapcrm.kit.folding import fold
from zapcrm.kit.memory import CompanyRules
from zapcrm.logging import get_logger
from zapcrm.messaging.service.outbound import queue_automatic_text
from zapcrm.outbox import OutboxItem

log = get_logger(__name__)

STALE_AFTER = timedelta(minutes=10)
# A longer text is a customer explaining themselves, not choosing from a list.
_ANSWER_MAX = 40
# A choice by number: the number first ("2", "2.", "2 - suporte"), or after the word a person
# puts before it ("opção 2", "número 2", "setor 2", "nº 2"); text folded. Not any number in a
# sentence: "quero 2 bolos" is an order, not option 2.
_NUMBER = re.compile(r"^\W*(?:(?:opcao|numero|setor|n[o.º°]?)\W*)?(\d{1,2})(?!\d)")

CHOSEN = "Certo! Sua conversa foi encaminhada para *{name}*. Em instantes alguém vai te atender."
NOT_UNDERSTOOD = "Não entendi sua escolha. Responda só com o número do setor:"
GIVE_UP = "Tudo bem! Em instantes alguém da nossa equipe vai te atender."


@dataclass(frozen=True, slots=True)
class Option:
    """A department as the menu lists it."""

    department_id: uuid.UUID
    name: str


@dataclass(frozen=True, slots=True)
class MenuRule:
    """What a company with the menu switched on asks, and its options in order."""

    greeting: str
    options: tuple[Option, ...]
    company_name: str | None = None

    def text(self, person: Mapping[str, str | None] | None = None, lead: str | None = None) -> str:
        """The menu as the customer reads it (WhatsApp shows *x* in bold): the greeting with
        its variables filled for `person` (kit/texts.py), or `lead` instead of it."""
        greeting = texts.render(self.greeting, person or {})
        lines = [lead or greeting, ""]
        lines += [f"*{number}* - {option.name}" for number, option in enumerate(self.options, 1)]
        return "\n".join(lines)

    def choice(self, answer: str | None) -> Option | None:
        """The option an answer names, by number or by name; None when it names none (or
        several)."""
        folded = fold(answer or "").strip()
        if not folded or len(folded) > _ANSWER_MAX:
            return None
        if numbered := _NUMBER.match(folded):
            if any(ch.isdigit() for ch in folded[numbered.end() :]):
                return None  # "1 ou 2": undecided
            number = int(numbered.group(1))
            return self.options[number - 1] if 1 <= number <= len(self.options) else None
        named = [option for option in self.options if fold(option.name) in folded]
        return named[0] if len(named) == 1 else None


class MenuRules(CompanyRules[MenuRule]):
    """Each company's menu (None when off or without departments), in process memory."""

    async def load(self, session: AsyncSession, company_id: uuid.UUID) -> MenuRule | None:
        """The menu as saved, with its departments in menu order, when it is on."""
        menu = await repository.get_menu(session, company_id)
        if menu is None or not menu.enabled:
            return None
        options = tuple(
            Option(*option) for option in await repository.menu_options(session, company_id)
        )
        if not options:
            return None
        company = await accounts_repository.get_company(session, company_id)
        return MenuRule(menu.greeting, options, company.name if company else None)


def _routed_by_staff(state: repository.MenuState) -> bool:
    """Whether the chat's department was chosen by a person since its last cycle ended: a
    chat's department only changes outside a cycle by "Enviar ao setor" (or a new chat started
    in a department), so one differing from where the last cycle ended, or set before any
    cycle, was. One sent back to the very department it ended in cannot be told apart: the
    customer is asked, as after any close."""
    if state.department_id is None:
        return False
    return not state.had_cycle or state.department_id != state.last_department_id


async def answer_menu(
    session: AsyncSession,
    rule: MenuRule,
    *,
    company_id: uuid.UUID,
    instance_id: uuid.UUID,
    conversation_id: uuid.UUID,
    body: str | None,
    written_at: datetime,
    received_at: datetime,
) -> list[OutboxItem]:
    """Ask, route or ask again for a customer's new message; the reply's outbox items."""
    if received_at - written_at > STALE_AFTER:
        return []
    state = await repository.menu_state(session, conversation_id)
    if state is None or state.assignee_id is not None or state.answered:
        return []  # someone has the chat or has written in it: no robot in between
    department_id, tries = state.department_id, state.menu_tries
    fresh = state.menu_cycle_id != state.cycle_id
    if fresh and _routed_by_staff(state):
        # Someone of the team sent the chat to a department since its last cycle ended (or
        # before its first): their choice stands, the customer is not asked to make another.
        await repository.save_menu_state(
            session,
            conversation_id,
            cycle_id=state.cycle_id,
            asked_at=None,
            tries=0,
            department_id=department_id,
        )
        return []
    if fresh:
        # The cycle's first message: ask (a chat routed in an earlier cycle is asked anew).
        person = texts.person_context(state.contact_name, state.contact_phone, rule.company_name)
        department_id, tries, reply = None, 0, rule.text(person)
    elif department_id is not None or tries >= MENU_MAX_TRIES:
        return []  # routed already, or gone to the general queue
    elif (option := rule.choice(body)) is not None:
        department_id, reply = option.department_id, CHOSEN.format(name=option.name)
    else:
        tries += 1
        reply = rule.text(lead=NOT_UNDERSTOOD) if tries < MENU_MAX_TRIES else GIVE_UP
    await repository.save_menu_state(
        session,
        conversation_id,
        cycle_id=state.cycle_id,
        asked_at=received_at if fresh else None,
        tries=tries,
        department_id=department_id,
    )
    message_id, items = await queue_automatic_text(
        session,
        company_id=company_id,
        instance_id=instance_id,
        conversation_id=conversation_id,
        remote_jid=state.remote_jid,
        body=reply,
        payload={"menu_reply": True},
        at=received_at,
        # The customer still waits for a person: the chat keeps its place in the queue.
        inbox=False,
    )
    log.info("menu.replied", conversation_id=str(conversation_id), message_id=str(message_id))
    return items
