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
# A chat whose JID is WhatsApp's private id: its number is only on the contact.
LID_JID = "280707280707@lid"
LID_PERSON = ("+5541991234567", "Rita Lopes")

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
    "(21) 98765": ["Maria Damasceno"],  # 3+ digits: the start of the number
    "0001": [GROUP_SUBJECT, "João Silva"],  # or anywhere in the chat's JID
    # The contact's number as the Contatos search reads one: without the DDD, with it, its
    # last digits; not from its middle (only a JID, which holds the number, is read so).
    "99123-4": [LID_PERSON[1]],
    "41 99123": [LID_PERSON[1]],
    "4567": [LID_PERSON[1]],
    "91234": [],
    "ninguém": [],
}


async def searchable_chats(client: httpx.AsyncClient, db: Database, factory: Factory) -> Instance:
    """A company whose instance has a chat with each of PEOPLE, one with LID_PERSON under
    LID_JID and one group, all open."""
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
        await session.execute(
            text(
                "with person as (insert into contacts (company_id, phone_e164, name)"
                "  values (:company, :phone, :name) returning id)"
                " insert into evolution_conversations"
                " (company_id, instance_id, remote_jid, contact_id, last_message_at)"
                " select :company, :instance, :jid, person.id, now() from person"
            ),
            {
                "company": instance.company_id,
                "instance": instance.instance_id,
                "jid": LID_JID,
                "phone": LID_PERSON[0],
                "name": LID_PERSON[1],
            },
        )
    return instance
