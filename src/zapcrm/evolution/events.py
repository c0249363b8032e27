"""The registry of webhook events: which we handle (and how to normalize them), which we ignore.

The receiver looks the envelope's `event` up here: handled -> normalize and store; ignored ->
answer 200 and count; neither -> unknown event, answer 200 and log. Database handlers will be
added as a separate mapping keyed by the same names (`HANDLED_EVENTS` is the single source).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Final

from zapcrm.evolution.payloads import (
    NormalizedEvent,
    normalize_connection_update,
    normalize_contacts_update,
    normalize_contacts_upsert,
    normalize_group_participants_update,
    normalize_groups_upsert,
    normalize_logout_instance,
    normalize_messages_delete,
    normalize_messages_edited,
    normalize_messages_update,
    normalize_messages_upsert,
    normalize_presence_update,
    normalize_qrcode_updated,
    normalize_remove_instance,
    normalize_send_message,
    normalize_send_message_update,
    normalize_status_instance,
)

Normalizer = Callable[[object], NormalizedEvent]

NORMALIZERS: Final[Mapping[str, Normalizer]] = MappingProxyType(
    {
        "messages.upsert": normalize_messages_upsert,
        "send.message": normalize_send_message,
        "messages.update": normalize_messages_update,
        "messages.delete": normalize_messages_delete,
        "messages.edited": normalize_messages_edited,
        "send.message.update": normalize_send_message_update,
        "connection.update": normalize_connection_update,
        "status.instance": normalize_status_instance,
        "logout.instance": normalize_logout_instance,
        "remove.instance": normalize_remove_instance,
        "qrcode.updated": normalize_qrcode_updated,
        "contacts.upsert": normalize_contacts_upsert,
        "contacts.update": normalize_contacts_update,
        "groups.upsert": normalize_groups_upsert,
        "group-participants.update": normalize_group_participants_update,
        "presence.update": normalize_presence_update,
    }
)
"""Each handled event name -> the pure function turning its `data` into a normalized model."""

HANDLED_EVENTS: Final[frozenset[str]] = frozenset(NORMALIZERS)

IGNORED_EVENTS: Final[frozenset[str]] = frozenset(
    {
        "application.startup",  # declared, never emitted in 2.x
        "instance.create",  # we create instances ourselves through REST
        "instance.delete",
        # History sync batches: importing history is a separate, deliberate job, not ingestion.
        "messages.set",
        "messaging-history.set",  # 2.4.0-rc
        "contacts.set",
        # chats.* carry no information beyond what messages give us (§2.9).
        "chats.set",
        "chats.upsert",
        "chats.update",
        "chats.delete",
        "groups.update",  # never delivered by webhook in 2.x (GROUP_UPDATE key mismatch, §1.2)
        "labels.edit",
        "labels.association",
        "call",
        "typebot.start",
        "typebot.change-status",
        "chama-ai.action",  # 1.x only
        "new.jwt",  # 1.x JWT mode only
    }
)
"""Events the gateway may send that we deliberately do not process."""


def is_known(event: str) -> bool:
    """Return True when the event is either handled or deliberately ignored."""
    return event in HANDLED_EVENTS or event in IGNORED_EVENTS


def is_handled(event: str) -> bool:
    """Return True when the event has a normalizer (and, later, a database handler)."""
    return event in HANDLED_EVENTS
