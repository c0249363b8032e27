"""Inbox API: conversations, their messages and private notes, the caller's live events (SSE)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Header, Query, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response, StreamingResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.dependencies import CurrentUser, RuntimeDep, TenantSession
from zapcrm.exceptions import ValidationFailed
from zapcrm.i18n import N_
from zapcrm.messaging import downloads, realtime, sends, uploads
from zapcrm.messaging.schemas import (
    ConversationOut,
    MessageHit,
    MessageOut,
    NoteHit,
    NoteOut,
    Page,
)
from zapcrm.messaging.service import actions, inbox, notes, outbound, search, transcript
from zapcrm.messaging.transcript import transcript_response
from zapcrm.outbox import OutboxItem
from zapcrm.transactions import in_tenant_transaction

router = APIRouter(tags=["inbox"])

KEEPALIVE_SECONDS = 15.0
RECHECK_SECONDS = 60.0  # how often a stream reads its reader's departments again


def _assignee(value: str) -> inbox.Assignee | uuid.UUID:
    if value == "me":
        return "me"
    if value == "unassigned":
        return "unassigned"
    if value == "any":
        return "any"
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ValidationFailed(
            N_("assignee deve ser me, unassigned, any ou o id de um usuário")
        ) from None


@router.get("/api/conversations")
async def list_conversations(
    identity: CurrentUser,
    session: TenantSession,
    status: Literal["open", "pending", "closed"] | None = None,
    assignee: Annotated[str, Query(description="`me`, `unassigned`, `any` or a user id")] = "any",
    instance_id: uuid.UUID | None = None,
    department_id: Annotated[uuid.UUID | None, Query(description="one department's chats")] = None,
    q: Annotated[
        str | None, Query(max_length=100, description="contact name, group subject or phone")
    ] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> Page[ConversationOut]:
    """Conversations the caller may see, newest activity first (keyset pagination). With
    `assignee=unassigned`, an operator who works in departments gets those of their
    departments and those in none."""
    return await inbox.list_conversations(
        session,
        identity,
        status=status,
        assignee=_assignee(assignee),
        instance_id=instance_id,
        cursor=cursor,
        limit=limit,
        search=q.strip() if q else None,
        department_id=department_id,
    )


@router.get("/api/messages/search")
async def search_messages(
    identity: CurrentUser,
    session: TenantSession,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=100,
            description="words of the text or caption; accents and case ignored, each word"
            " also matches as a prefix, all must be present",
        ),
    ],
    instance_id: uuid.UUID | None = None,
    conversation_id: uuid.UUID | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Page[MessageHit]:
    """Messages in the conversations the caller may see (or in `conversation_id`) whose text or
    caption has the words, newest first, each with its conversation and a snippet marking
    what matched."""
    return await search.search_messages(
        session,
        identity,
        q,
        instance_id=instance_id,
        cursor=cursor,
        limit=limit,
        conversation_id=conversation_id,
    )


@router.get("/api/notes/search")
async def search_notes(
    identity: CurrentUser,
    session: TenantSession,
    q: Annotated[str, Query(min_length=1, max_length=100, description="as in messages/search")],
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Page[NoteHit]:
    """Internal notes in the conversations the caller may see that have the words, newest
    first, each with its author, its conversation and a snippet marking what matched."""
    return await search.search_notes(session, identity, q, cursor=cursor, limit=limit)


@router.get("/api/conversations/{conversation_id}")
async def get_conversation(
    conversation_id: uuid.UUID, identity: CurrentUser, session: TenantSession
) -> ConversationOut:
    """One conversation (404 when it does not exist or the caller may not see it)."""
    return await inbox.get_conversation(session, conversation_id)


@router.get(
    "/api/conversations/{conversation_id}/transcript.txt",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/plain": {}}, "description": "texto UTF-8, uma linha por mensagem"}
    },
)
async def conversation_transcript(
    conversation_id: uuid.UUID,
    identity: CurrentUser,
    runtime: RuntimeDep,
    with_notes: Annotated[bool, Query(alias="notes")] = False,
) -> StreamingResponse:
    """The whole chat as a text file, oldest first on the company's clock (with the internal
    notes when `notes=true`); the export is recorded in the audit log."""
    async with runtime.db.tenant_session(identity.claims) as session:
        plan = await transcript.plan_transcript(
            session, identity, conversation_id, with_notes=with_notes
        )
    return transcript_response(runtime.db, identity.claims, plan)


@router.get("/api/conversations/{conversation_id}/messages")
async def list_messages(
    conversation_id: uuid.UUID,
    identity: CurrentUser,
    session: TenantSession,
    runtime: RuntimeDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> Page[MessageOut]:
    """Messages of a conversation, newest first; older pages with `cursor`."""
    return await inbox.list_messages(
        session, runtime.redis, conversation_id, cursor=cursor, limit=limit
    )


class NoteIn(BaseModel):
    """A private note for the team; never sent to WhatsApp."""

    model_config = ConfigDict(extra="forbid")

    body: str = Field(min_length=1, max_length=notes.MAX_NOTE_LENGTH)


@router.get("/api/conversations/{conversation_id}/notes")
async def list_notes(
    conversation_id: uuid.UUID,
    identity: CurrentUser,
    session: TenantSession,
    limit: Annotated[int, Query(ge=1, le=500)] = notes.DEFAULT_LIMIT,
) -> list[NoteOut]:
    """The conversation's latest private notes, newest first."""
    return await notes.list_notes(session, identity, conversation_id, limit=limit)


@router.post("/api/conversations/{conversation_id}/notes", status_code=status.HTTP_201_CREATED)
async def add_note(
    conversation_id: uuid.UUID, body: NoteIn, identity: CurrentUser, runtime: RuntimeDep
) -> NoteOut:
    """Write a private note; whoever sees the conversation gets `note.created` live."""

    async def work(session: AsyncSession) -> tuple[NoteOut, list[OutboxItem]]:
        return await notes.add_note(session, identity, conversation_id, body.body)

    return await in_tenant_transaction(runtime, identity, work)


@router.patch("/api/notes/{note_id}")
async def edit_note(
    note_id: uuid.UUID, body: NoteIn, identity: CurrentUser, runtime: RuntimeDep
) -> NoteOut:
    """Correct a note's text: its author, or a supervisor or admin (403 for anyone else who
    sees it); marked with `edited_at`, `note.updated` live."""

    async def work(session: AsyncSession) -> tuple[NoteOut, list[OutboxItem]]:
        return await notes.edit_note(session, identity, note_id, body.body)

    return await in_tenant_transaction(runtime, identity, work)


@router.delete("/api/notes/{note_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_note(note_id: uuid.UUID, identity: CurrentUser, runtime: RuntimeDep) -> None:
    """Delete a note: its author, or a supervisor or admin; `note.deleted` live."""

    async def work(session: AsyncSession) -> tuple[None, list[OutboxItem]]:
        return None, await notes.delete_note(session, identity, note_id)

    await in_tenant_transaction(runtime, identity, work)


@router.get("/api/events", response_class=EventSourceResponse)
async def events(
    identity: CurrentUser, runtime: RuntimeDep, request: Request
) -> AsyncIterator[ServerSentEvent]:
    """The caller's live events as Server-Sent Events, filtered by what they may see; a chat
    that leaves their sight comes as `conversation.hidden` (its id and version only)."""

    async def departments() -> set[str]:
        async with runtime.db.tenant_session(identity.claims) as session:
            return {str(d) for d in await inbox.waiting_scope(session, identity)}

    waiting_in = await departments()
    loop = asyncio.get_running_loop()
    checked_at = loop.time()
    queue = await runtime.realtime.subscribe(identity.company_id)
    try:
        yield ServerSentEvent(event="ready", data={"user_id": str(identity.user_id)})
        while not await request.is_disconnected():
            try:
                event = await asyncio.wait_for(queue.get(), timeout=KEEPALIVE_SECONDS)
            except TimeoutError:
                yield ServerSentEvent(comment="keepalive")
                continue
            # Encoded here with orjson: FastAPI's default (jsonable_encoder walking the whole
            # event, then json.dumps) was a visible share of the web process' CPU under load.
            if realtime.is_reset(event):
                # Events may have been lost: the client reconnects and reads again.
                yield ServerSentEvent(
                    event=event["type"],
                    raw_data=orjson.dumps(event).decode(),
                    retry=realtime.RECONNECT_MS,
                )
                break
            if loop.time() - checked_at > RECHECK_SECONDS:
                # Someone joined or left a department: the stream follows within a minute,
                # as the panel's does.
                waiting_in, checked_at = await departments(), loop.time()
            if realtime.visible_to(identity, event, waiting_in):
                yield ServerSentEvent(event=event["type"], raw_data=orjson.dumps(event).decode())
            elif gone := realtime.hidden(event):
                yield ServerSentEvent(event=gone["type"], raw_data=orjson.dumps(gone).decode())
    finally:
        await runtime.realtime.unsubscribe(identity.company_id, queue)


class SendText(BaseModel):
    """A text to send in the conversation, optionally replying to one of its messages."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=4096)
    quoted_message_id: uuid.UUID | None = None


# The route takes JSON (text) or a multipart form (media); FastAPI cannot declare both, so the
# body is read by hand and both shapes are documented here.
_SEND_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": SendText.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["type", "file"],
                    "properties": {
                        "type": {"enum": ["image", "video", "document", "audio"]},
                        "file": {"type": "string", "format": "binary"},
                        "caption": {"type": "string", "maxLength": uploads.MAX_CAPTION_LENGTH},
                        "file_name": {
                            "type": "string",
                            "maxLength": uploads.MAX_FILE_NAME_LENGTH,
                        },
                        "quoted_message_id": {"type": "string", "format": "uuid"},
                    },
                }
            },
        },
    }
}


async def _send_text_body(request: Request) -> SendText:
    try:
        return SendText.model_validate_json(await request.body())
    except ValidationError as error:
        raise RequestValidationError(error.errors(include_url=False)) from None


@router.post(
    "/api/conversations/{conversation_id}/messages",
    status_code=status.HTTP_202_ACCEPTED,
    openapi_extra=_SEND_BODY_DOC,
)
async def send_message(
    conversation_id: uuid.UUID,
    request: Request,
    identity: CurrentUser,
    runtime: RuntimeDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> MessageOut:
    """Queue a text (JSON) or a file (multipart: image, video, document or `audio` as a voice
    note) and answer at once (status `queued`); ticks follow live.

    Each kind has its own size limit (413); the file's type is read from its bytes (422 when
    the kind does not allow it). The same `Idempotency-Key` header on a retried request
    returns the first message.
    """
    if uploads.is_multipart(request):
        upload = await uploads.read_media_form(
            request, uploads.MediaLimits.from_settings(runtime.settings)
        )
        return await sends.send_media(runtime, identity, conversation_id, upload, idempotency_key)
    body = await _send_text_body(request)

    async def work(session: AsyncSession) -> tuple[MessageOut, list[OutboxItem]]:
        return await outbound.queue_text(
            session,
            identity,
            conversation_id,
            text=body.text,
            quoted_message_id=body.quoted_message_id,
            idempotency_key=idempotency_key,
        )

    return await in_tenant_transaction(runtime, identity, work)


class StartConversation(BaseModel):
    """A first text to a phone number or contact, through one of the company's instances."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=4096)
    instance_id: uuid.UUID
    phone: str | None = Field(default=None, max_length=40)
    contact_id: uuid.UUID | None = None


@router.post("/api/messages", status_code=status.HTTP_202_ACCEPTED)
async def start_conversation(
    body: StartConversation,
    identity: CurrentUser,
    runtime: RuntimeDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> MessageOut:
    """Write to someone new (or find the existing chat); the new chat is assigned to the caller."""

    async def work(session: AsyncSession) -> tuple[MessageOut, list[OutboxItem]]:
        conversation_id = await outbound.start_conversation(
            session,
            identity,
            instance_id=body.instance_id,
            phone=body.phone,
            contact_id=body.contact_id,
        )
        return await outbound.queue_text(
            session, identity, conversation_id, text=body.text, idempotency_key=idempotency_key
        )

    return await in_tenant_transaction(runtime, identity, work)


@router.post("/api/conversations/{conversation_id}/read", status_code=status.HTTP_204_NO_CONTENT)
async def mark_read(conversation_id: uuid.UUID, identity: CurrentUser, runtime: RuntimeDep) -> None:
    """Mark the conversation read here and in WhatsApp (Evolution skips @lid chats silently)."""

    async def work(session: AsyncSession) -> tuple[None, list[OutboxItem]]:
        return None, await outbound.mark_read(session, identity, conversation_id)

    await in_tenant_transaction(runtime, identity, work)


class AssignIn(BaseModel):
    """Who should handle the conversation; null leaves it unassigned."""

    model_config = ConfigDict(extra="forbid")

    assignee_id: uuid.UUID | None


class StatusIn(BaseModel):
    """The conversation's new status; a pending one may be snoozed until a moment."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["open", "pending", "closed"]
    snoozed_until: datetime | None = Field(
        default=None,
        description="with `pending`: reopen then (with its offset, 1 minute to 365 days"
        " ahead); the customer's next message reopens it sooner",
    )


@router.post("/api/conversations/{conversation_id}/assign")
async def assign_conversation(
    conversation_id: uuid.UUID, body: AssignIn, identity: CurrentUser, runtime: RuntimeDep
) -> ConversationOut:
    """Assign to me, transfer to a colleague, or unassign."""

    async def work(session: AsyncSession) -> tuple[ConversationOut, list[OutboxItem]]:
        return await actions.assign(session, identity, conversation_id, body.assignee_id)

    return await in_tenant_transaction(runtime, identity, work)


@router.post("/api/conversations/{conversation_id}/status")
async def set_conversation_status(
    conversation_id: uuid.UUID, body: StatusIn, identity: CurrentUser, runtime: RuntimeDep
) -> ConversationOut:
    """Close (ends the service cycle), reopen, set pending or snooze."""

    async def work(session: AsyncSession) -> tuple[ConversationOut, list[OutboxItem]]:
        return await actions.set_status(
            session, identity, conversation_id, body.status, snoozed_until=body.snoozed_until
        )

    return await in_tenant_transaction(runtime, identity, work)


class ReactionIn(BaseModel):
    """One emoji, or an empty string to remove our reaction."""

    model_config = ConfigDict(extra="forbid")

    emoji: str = Field(max_length=16)


@router.get(
    "/api/messages/{message_id}/media",
    response_class=Response,
    responses={200: {"description": "the attachment's bytes"}, 404: {}},
)
async def message_media(
    message_id: uuid.UUID, identity: CurrentUser, runtime: RuntimeDep
) -> Response:
    """The attachment of a message the caller may see (404 while not downloaded yet).

    Images, audio and video come inline with their type; anything else as a download of
    `application/octet-stream`.
    """
    return await downloads.media_response(runtime, identity.claims, message_id)


@router.post("/api/messages/{message_id}/reaction", status_code=status.HTTP_202_ACCEPTED)
async def react(
    message_id: uuid.UUID, body: ReactionIn, identity: CurrentUser, runtime: RuntimeDep
) -> MessageOut:
    """React to a message in a chat the caller can see; WhatsApp gets it through the queue."""

    async def work(session: AsyncSession) -> tuple[MessageOut, list[OutboxItem]]:
        return await outbound.react(session, identity, message_id, body.emoji)

    return await in_tenant_transaction(runtime, identity, work)


@router.post("/api/messages/{message_id}/retry", status_code=status.HTTP_202_ACCEPTED)
async def retry_message(
    message_id: uuid.UUID, identity: CurrentUser, runtime: RuntimeDep
) -> MessageOut:
    """Send a failed message again (back to `queued`; ticks follow live). 409 when it is not an
    outgoing message that failed before WhatsApp took it; 404 when the caller cannot see it."""

    async def work(session: AsyncSession) -> tuple[MessageOut, list[OutboxItem]]:
        return await outbound.retry(session, identity, message_id)

    return await in_tenant_transaction(runtime, identity, work)
