"""The outbox entries that tell the incoming worker a message or a chat changed.

Every writer of a message (webhook ingestion, the send request, reactions, media downloads)
announces it the same way: the worker then refreshes the cached copies and publishes the live
`message.<change>` event. The send worker's "sent" is the exception: it does that itself after
its commit, its queue job standing in for the outbox (messaging/sending.py rule 3). A chat's
own changes (assignment, status, unread count...) are announced as `conversation.updated`.
"""

from __future__ import annotations

import uuid

from zapcrm.outbox import INCOMING_STREAM, OutboxItem

__all__ = ["FOLDED_MESSAGE_FIELD", "conversation_changed", "message_changed"]

# The field naming the echo a sent message absorbed, in its live event (the send worker's
# `jobs.announce_message`) and in the "sent" entries releases before it wrote to the outbox.
FOLDED_MESSAGE_FIELD = "folded_message_id"


def message_changed(
    *,
    company_id: uuid.UUID,
    conversation_id: uuid.UUID,
    message_id: uuid.UUID,
    change: str,
    media: bool = False,
    instance_id: uuid.UUID | None = None,
    new_contact_id: uuid.UUID | None = None,
) -> OutboxItem:
    """The entry announcing `change` of a message; `media` asks for its file to be downloaded
    (a new message from WhatsApp), `new_contact_id` the contact this message made known (a
    first message from a number), announced with it as `contact.created` (one entry for both:
    a first message is common)."""
    payload: dict[str, object] = {
        "kind": "message",
        "change": change,
        "company_id": str(company_id),
        "conversation_id": str(conversation_id),
        "message_id": str(message_id),
        "media": media,
    }
    if instance_id is not None:
        payload["instance_id"] = str(instance_id)
    if new_contact_id is not None:
        payload["new_contact_id"] = str(new_contact_id)
    return OutboxItem(INCOMING_STREAM, payload)


def conversation_changed(
    company_id: uuid.UUID, conversation_id: uuid.UUID, **extra: object
) -> OutboxItem:
    """The announcement of a changed chat (the worker refreshes caches and pushes it live);
    `extra` says how it changed where the panel words it (`assigned_by`, `distributed`,
    `routed_by`)."""
    return OutboxItem(
        INCOMING_STREAM,
        {
            "kind": "conversation",
            "change": "updated",
            "company_id": str(company_id),
            "conversation_id": str(conversation_id),
            **extra,
        },
    )
