"""What the API and the caches show of conversations and messages."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

# The payload keys that mark a message nobody typed (messaging/service/outbound.py
# `queue_automatic_text`): a campaign's, the out-of-office reply, the idle close's, the
# departments' menu, the satisfaction survey's question and thanks. Such a message is nobody's
# work in the reports and not the team attending a chat.
AUTOMATIC_MARKS = (
    "campaign_id",
    "away_reply",
    "closing_reply",
    "menu_reply",
    "survey_request",
    "survey_reply",
)
# Those kept out of the inbox (queued with inbox=False): the chat's latest line, its preview
# and its waiting customer stay as the customer left them, even when WhatsApp's echo of one is
# stored before the send's answer (messaging/sending.py `_restore_inbox`). A campaign's counts.
INBOX_ASIDE_MARKS = tuple(mark for mark in AUTOMATIC_MARKS if mark != "campaign_id")


class ContactBrief(BaseModel):
    """The person behind a 1:1 conversation."""

    id: uuid.UUID
    name: str
    phone_e164: str | None


class ConversationOut(BaseModel):
    """One inbox row."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    instance_id: uuid.UUID
    remote_jid: str
    is_group: bool
    subject: str | None
    status: Literal["open", "pending", "closed"]
    assignee_id: uuid.UUID | None
    contact: ContactBrief | None
    last_message_id: uuid.UUID | None
    last_message_preview: str | None
    last_message_at: datetime | None
    last_message_status: str | None
    last_message_from_me: bool | None
    unread_count: int
    updated_at: datetime
    # Bumped by every update of the row (migration 0014): of two copies, keep the higher.
    # 0 only in snapshots written before versions existed.
    version: int = 0
    # A snoozed chat: pending until then (snapshots from before snoozing existed lack it).
    snoozed_until: datetime | None = None
    # The team the chat is routed to (snapshots from before departments existed lack it).
    department_id: uuid.UUID | None = None
    department_name: str | None = None


class MediaOut(BaseModel):
    """A message's attachment."""

    mimetype: str | None
    file_name: str | None
    size: int | None
    status: str | None


class MessageOut(BaseModel):
    """One message as the chat shows it."""

    id: uuid.UUID
    conversation_id: uuid.UUID
    key_id: str | None
    from_me: bool
    sender_jid: str | None
    push_name: str | None
    type: str
    body: str | None
    status: str | None
    message_timestamp: datetime
    quoted_key_id: str | None
    media: MediaOut | None
    reactions: dict[str, Any]
    edited_at: datetime | None
    deleted_at: datetime | None
    error_detail: str | None
    details: dict[str, Any]
    # Bumped by every update of the row (migration 0014): of two copies, keep the higher.
    version: int = 0


class NoteOut(BaseModel):
    """A private note of a conversation: for the team, never sent to WhatsApp."""

    id: uuid.UUID
    conversation_id: uuid.UUID
    author_id: uuid.UUID | None
    author_name: str | None
    body: str
    created_at: datetime
    edited_at: datetime | None = None
    # Bumped by every edit (migration 0018): of two copies, keep the higher.
    version: int = 0


class SnippetPart(BaseModel):
    """A piece of a search hit's text; `match` marks the words the search found."""

    text: str
    match: bool


class MessageHit(BaseModel):
    """A message matching a search, with the conversation it belongs to."""

    message_id: uuid.UUID
    message_timestamp: datetime
    from_me: bool
    push_name: str | None
    type: str
    snippet: list[SnippetPart]
    conversation: ConversationOut


class NoteHit(BaseModel):
    """An internal note matching a search, with its author and its chat."""

    note_id: uuid.UUID
    noted_at: datetime
    author_id: uuid.UUID | None
    author: str | None
    snippet: list[SnippetPart]
    conversation: ConversationOut


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """A page of results and the cursor of the next one (None at the end)."""

    items: list[T]
    next_cursor: str | None
