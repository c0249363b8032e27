"""Sending from the chat: the composer's text, an attached file, and a failed send retried.

Writes go through `in_tenant_transaction` (the queue entry leaves after commit); the answer is
the new or redrawn bubble.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.dependencies import RuntimeDep
from zapcrm.exceptions import ValidationFailed
from zapcrm.messaging import sends, uploads
from zapcrm.messaging.schemas import MessageOut
from zapcrm.messaging.service import outbound
from zapcrm.outbox import OutboxItem
from zapcrm.transactions import in_tenant_transaction
from zapcrm.web.dependencies import ActingPanelUser
from zapcrm.web.i18n import N_
from zapcrm.web.templating import company_zone, quoted_from_details, render_macro
from zapcrm.web.views import optional_uuid

router = APIRouter()


@router.post("/conversations/{conversation_id}/messages")
async def send_text(
    conversation_id: uuid.UUID,
    runtime: RuntimeDep,
    user: ActingPanelUser,
    text: Annotated[str, Form(max_length=4096)] = "",
    quoted_message_id: Annotated[str, Form(max_length=40)] = "",
    idempotency_key: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Queue the composer's text; the new bubble is appended at once, ticks follow live."""
    body = text.strip()
    if not body:
        raise ValidationFailed(N_("escreva uma mensagem antes de enviar"))
    quoted = optional_uuid(quoted_message_id)

    async def work(session: AsyncSession) -> tuple[MessageOut, list[OutboxItem]]:
        return await outbound.queue_text(
            session,
            user.identity,
            conversation_id,
            text=body,
            quoted_message_id=quoted,
            idempotency_key=idempotency_key or None,
        )

    message = await in_tenant_transaction(runtime, user.identity, work)
    return HTMLResponse(
        render_macro("inbox/_chat.html", "appended_bubble", message, None, company_zone())
    )


@router.post("/conversations/{conversation_id}/media")
async def send_file(
    conversation_id: uuid.UUID, request: Request, runtime: RuntimeDep, user: ActingPanelUser
) -> Response:
    """Send the attached file (photo, video, document or voice note) with its caption.

    Posted by htmx with the CSRF token in a header: the form is streamed and checked by the
    same reader as the API's, which enforces each kind's size limit and sniffs the type.
    """
    upload = await uploads.read_media_form(
        request, uploads.MediaLimits.from_settings(runtime.settings)
    )
    message = await sends.send_media(runtime, user.identity, conversation_id, upload, None)
    return HTMLResponse(
        render_macro("inbox/_chat.html", "appended_bubble", message, None, company_zone())
    )


@router.post("/messages/{message_id}/retry")
async def retry_message(
    message_id: uuid.UUID, runtime: RuntimeDep, user: ActingPanelUser
) -> Response:
    """ "Tentar de novo" on a failed send: the same message queued again, its bubble redrawn."""

    async def work(session: AsyncSession) -> tuple[MessageOut, list[OutboxItem]]:
        return await outbound.retry(session, user.identity, message_id)

    message = await in_tenant_transaction(runtime, user.identity, work)
    return HTMLResponse(
        render_macro(
            "inbox/_chat.html",
            "bubble",
            message,
            quoted_from_details(message),
            None,
            company_zone(),
        )
    )
