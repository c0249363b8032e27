"""The inbox search's cases: chats to search and what each search must find, shared by the list's
tests (the SQL) and the live stream's (its twin, web/views.py InboxFilter._found)."""

from __future__ import annotations

import httpx
from sqlalchemy import text

from tests.conftest import Factory
from tests.evolution.harness import Instance, new_instance, post, text_message
from zapcrm.db import Database

PEOPLE = (
    ("5511987650001", "João Silva"),
    ("5521987650002", "Maria Damasceno"),
    ("5531987650003", "Joana Araújo"),
)
GROUP_JID = "120363000000000001@g.us"
GROUP_SUBJECT = "Fornecedores São Paulo"

# What each search finds, by contact name or group subject (sorted).
SEARCHES: dict[str, list[str]] = {
    "silva joão": ["João Silva"],  # any word order
    "JOAO síLVA": ["João Silva"],  # accents and case ignored, on both sides
    "joao silvq": ["João Silva"],  # a typo in a word of 4+ letters
    "damaceno": ["Maria Damasceno"],  # a letter missing
    "maria silva": [],  # every word must be in the same name
    "jao silva": [],  # no typo in a word shorter than 4 letters
    "lva": ["João Silva"],  # 3 letters: anywhere in the name
    "jo": ["Joana Araújo", "João Silva"],  # shorter: the start of one of the name's words
    "va": [],
    "paulo fornecedores": [GROUP_SUBJECT],  # the group's subject, any word order
    "fornecedoras sao": [GROUP_SUBJECT],  # and with a typo
    "(21) 98765": ["Maria Damasceno"],  # 3+ digits anywhere in the phone number
    "0001": [GROUP_SUBJECT, "João Silva"],  # or in the chat's JID
    "ninguém": [],
}


async def searchable_chats(client: httpx.AsyncClient, db: Database, factory: Factory) -> Instance:
    """A company whose instance has a chat with each of PEOPLE and one group, all open."""
    instance = await new_instance(db, factory)
    for index, (number, name) in enumerate(PEOPLE):
        body = text_message(f"WORDS{index}", remote_jid=f"{number}@s.whatsapp.net", push_name=name)
        assert (await post(client, instance.envelope(body))).status_code == 200
    async with db.service_session() as session:
        await session.execute(
            text(
                "insert into evolution_conversations"
                " (company_id, instance_id, remote_jid, is_group, subject, last_message_at)"
                " values (:company, :instance, :jid, true, :subject, now())"
            ),
            {
                "company": instance.company_id,
                "instance": instance.instance_id,
                "jid": GROUP_JID,
                "subject": GROUP_SUBJECT,
            },
        )
    return instance
