"""Leaving campaigns by answering one: a person who was sent a campaign and replies with just
a stop word ("SAIR", "Parar", "stop"...) is marked opted out, so no campaign reaches them
again, and their timeline says when and with which word.

Only a whole message counts, and only from someone a campaign reached: "pode parar o pedido"
in a support chat, or "Parar" from a customer who never got a campaign, changes nothing.
"""

from __future__ import annotations

import re
import unicodedata
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.campaigns import repository
from zapcrm.contacts.repository import crud

STOP_WORDS = frozenset(
    {"sair", "parar", "pare", "stop", "cancelar", "descadastrar", "remover", "nao quero"}
)
_NOT_A_LETTER = re.compile(r"[^a-z ]+")


def is_stop_word(body: str | None) -> bool:
    """Whether a whole message is one of the stop words (any case, accents, punctuation)."""
    if not body or len(body) > 40:
        return False
    plain = unicodedata.normalize("NFKD", body).encode("ascii", "ignore").decode().lower()
    return " ".join(_NOT_A_LETTER.sub(" ", plain).split()) in STOP_WORDS


async def opt_out_on_reply(
    session: AsyncSession, company_id: uuid.UUID, contact_id: uuid.UUID, body: str | None
) -> bool:
    """Mark the contact opted out when `body` is a stop word and a campaign reached them;
    whether it changed anything."""
    if not is_stop_word(body):
        return False
    if not await repository.was_sent_a_campaign(session, contact_id):
        return False
    contact = await crud.lock_contact(session, company_id, contact_id)
    if contact is None or contact.opted_out:
        return False
    await crud.change_contact(session, contact, {"opted_out": True})
    await crud.add_event(
        session,
        company_id=company_id,
        contact_id=contact_id,
        kind="contact.opted_out",
        actor_id=None,
        details={"reply": (body or "").strip()},
    )
    return True
