"""Writing the demo's month of service into the demo company: its customers through the
contacts service (identity keys, lists, history events as for anyone typed in), then their
chats, cycles and messages. Runs once per instance; callers own the transaction."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.auth.identity import Identity
from zapcrm.contacts import service as contacts
from zapcrm.contacts.schemas import ContactIn
from zapcrm.demo import history, repository
from zapcrm.demo.history import Customer, PastChat
from zapcrm.departments import service as departments_service
from zapcrm.exceptions import Conflict
from zapcrm.kit.phones import whatsapp_jid_candidates
from zapcrm.messaging.labels import preview_of


async def seed_history(
    session: AsyncSession,
    admin: Identity,
    instance_id: uuid.UUID,
    agents: list[uuid.UUID],
    today: date,
    zone: ZoneInfo,
) -> int:
    """The month before `today`, unless written already; how many chats (cycles) it holds."""
    if await repository.has_history(session, instance_id):
        return 0
    people, chats = history.month(today, zone, len(agents))
    # The demo's departments by name (seeded with the catalogue; an admin may have renamed or
    # removed them: such chats are in none).
    departments = {d.name: d.id for d in await departments_service.list_departments(session, admin)}
    by_customer: dict[int, list[PastChat]] = defaultdict(list)
    for chat in chats:
        by_customer[chat.customer].append(chat)
    written = 0
    for index, person in enumerate(people):
        contact_id = await _contact(session, admin, person)
        if contact_id is None or index not in by_customer:
            continue
        written += await _conversation(
            session,
            admin,
            instance_id,
            agents,
            contact_id,
            person,
            by_customer[index],
            written,
            departments,
        )
    return written


async def _contact(session: AsyncSession, admin: Identity, person: Customer) -> uuid.UUID | None:
    data = ContactIn(
        name=person.name,
        phone=person.phone,
        email=person.email,
        tags=person.tags,
        source=person.source,
        funnel_stage=person.stage,
        custom_fields={"bairro": person.neighbourhood, "valor_pedido": person.order_value},
    )
    try:
        return (await contacts.create_contact(session, admin, data)).id
    except Conflict:
        return None  # someone of the live demo already has this number: leave them be


async def _conversation(
    session: AsyncSession,
    admin: Identity,
    instance_id: uuid.UUID,
    agents: list[uuid.UUID],
    contact_id: uuid.UUID,
    person: Customer,
    chats: list[PastChat],
    numbered: int,
    departments: dict[str, uuid.UUID],
) -> int:
    remote_jid = whatsapp_jid_candidates(person.phone)[0]
    first_name = person.name.split()[0]
    lines = [
        (chat, line) for chat in chats for line in (*chat.lines, *chat.survey_lines(first_name))
    ]
    ids = [uuid.uuid4() for _ in lines]
    grades = {
        chat.started_at: ids[n]
        for n, (chat, line) in enumerate(lines)
        if line.mark == "survey_rating"
    }
    # The survey's question and thanks are sent aside: never the chat's latest line (the
    # customer's grade is, as in service/ingest.py).
    latest = max(n for n, (_, line) in enumerate(lines) if not line.aside)
    last_chat, last_line = lines[latest]
    inbound = [line.at for _, line in lines if not line.ours]
    outbound = [line.at for _, line in lines if line.ours and not line.aside]
    company = {"company_id": admin.company_id}
    conversation_id = await repository.insert_conversation(
        session,
        {
            **company,
            "instance_id": instance_id,
            "remote_jid": remote_jid,
            "contact_id": contact_id,
            "assignee_id": agents[last_chat.agent],
            "last_message_id": ids[latest],
            "last_message_preview": preview_of("text", last_line.body, None),
            "last_message_at": last_line.at,
            "last_message_status": "READ" if last_line.ours else None,
            "last_message_from_me": last_line.ours,
            "first_inbound_at": min(inbound),
            "last_inbound_at": max(inbound),
            "first_outbound_at": min(outbound, default=None),
            "last_outbound_at": max(outbound, default=None),
            "closed_at": last_chat.closed_at,
        },
    )
    chat_rows = {**company, "conversation_id": conversation_id}
    await repository.insert_cycles(
        session,
        [
            {
                **chat_rows,
                "started_at": chat.started_at,
                "first_human_reply_at": chat.first_reply_at,
                "closed_at": chat.closed_at,
                "closed_by": agents[chat.agent],
                "assignee_id": agents[chat.agent],
                "survey_sent_at": chat.closed_at,
                "rating": chat.rating,
                "rated_at": chat.rated_at,
                "rating_message_id": grades.get(chat.started_at),
                "department_id": departments.get(chat.department or ""),
            }
            for chat in chats
        ],
    )
    # After its cycles: a cycle inserted without a department takes the chat's (migration 0037).
    await repository.set_department(
        session, conversation_id, departments.get(last_chat.department or "")
    )
    messages: list[dict[str, Any]] = []
    for number, ((_, line), message_id) in enumerate(zip(lines, ids, strict=True)):
        ours = line.ours
        messages.append(
            {
                **chat_rows,
                "id": message_id,
                "instance_id": instance_id,
                "key_id": f"{repository.HISTORY_KEY_PREFIX}{numbered:05d}-{number:03d}",
                "from_me": ours,
                "remote_jid": remote_jid,
                "push_name": None if ours else person.name,
                "body": line.body,
                "status": "READ" if ours else None,
                "at": line.at,
                "sent_by": agents[line.agent] if line.agent is not None else None,
                "message_payload": orjson.dumps(_survey_payload(line)).decode(),
            }
        )
    await repository.insert_messages(session, messages)
    await repository.touch_contact(session, contact_id, last_line.at, chats[0].started_at)
    return len(chats)


def _survey_payload(line: history.Line) -> dict[str, Any]:
    """The payload marks the panel shows on the survey's messages (messaging/cache.py)."""
    if line.mark == "survey_rating":
        return {"survey_rating": int(line.body)}
    return {line.mark: True} if line.mark else {}
