"""Private notes from the chat: write, correct and delete one; the answer is its bubble (or
nothing, which removes it)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.dependencies import RuntimeDep
from zapcrm.exceptions import ValidationFailed
from zapcrm.messaging.schemas import NoteOut
from zapcrm.messaging.service import notes
from zapcrm.outbox import OutboxItem
from zapcrm.runtime import Runtime
from zapcrm.transactions import in_tenant_transaction
from zapcrm.web.dependencies import ActingPanelUser, PanelUser
from zapcrm.web.i18n import N_
from zapcrm.web.templating import company_zone, render_macro

router = APIRouter()


@router.post("/conversations/{conversation_id}/notes")
async def add_note(
    conversation_id: uuid.UUID,
    runtime: RuntimeDep,
    user: ActingPanelUser,
    text: Annotated[str, Form(max_length=4096)] = "",
) -> Response:
    """A private note in the chat: for the team only, never sent to WhatsApp."""
    return await _saved_note(
        runtime,
        user,
        text,
        lambda session, body: notes.add_note(session, user.identity, conversation_id, body),
        appended=True,
    )


@router.post("/notes/{note_id}")
async def edit_note(
    note_id: uuid.UUID,
    runtime: RuntimeDep,
    user: ActingPanelUser,
    text: Annotated[str, Form(max_length=4096)] = "",
) -> Response:
    """Save a corrected note (its author or a supervisor); the bubble is redrawn."""
    return await _saved_note(
        runtime,
        user,
        text,
        lambda session, body: notes.edit_note(session, user.identity, note_id, body),
    )


NoteWrite = Callable[[AsyncSession, str], Awaitable[tuple[NoteOut, list[OutboxItem]]]]


async def _saved_note(
    runtime: Runtime, user: PanelUser, text: str, write: NoteWrite, *, appended: bool = False
) -> Response:
    """A new or corrected note's text checked, saved in one transaction, drawn as its bubble
    (a new one, `appended` at the chat's end, after its day's separator)."""
    body = text.strip()
    if not body:
        raise ValidationFailed(N_("escreva a nota antes de salvar"))
    note = await in_tenant_transaction(runtime, user.identity, lambda session: write(session, body))
    macro = "appended_note" if appended else "note_bubble"
    return HTMLResponse(
        render_macro("inbox/_chat.html", macro, note, company_zone(), user.identity)
    )


@router.post("/notes/{note_id}/delete")
async def delete_note(note_id: uuid.UUID, runtime: RuntimeDep, user: ActingPanelUser) -> Response:
    """Delete a note (its author or a supervisor): the empty answer removes its bubble."""

    async def work(session: AsyncSession) -> tuple[None, list[OutboxItem]]:
        return None, await notes.delete_note(session, user.identity, note_id)

    await in_tenant_transaction(runtime, user.identity, work)
    return HTMLResponse("")
