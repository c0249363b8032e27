"""Nova conversa: an agent writes first, to a phone number or to a contact (from its page).

The same services as `POST /api/messages`: the chat the person already has on that WhatsApp
number is opened (a colleague's is refused with a word), or a new one is created and given to
the writer, and the text is queued with the form's idempotency key, so a double submit sends
once. Then the chat opens, where the ticks follow live.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.contacts import service as contacts_service
from zapcrm.contacts.schemas import ContactDetail
from zapcrm.dependencies import RuntimeDep
from zapcrm.evolution.admin import company_instances
from zapcrm.evolution.schemas import InstanceOut
from zapcrm.exceptions import NotFound, ValidationFailed, ZapcrmError
from zapcrm.kit.ids import uuid_or_none
from zapcrm.messaging.service import outbound
from zapcrm.outbox import OutboxItem
from zapcrm.transactions import in_tenant_transaction
from zapcrm.web.dependencies import ActingPanelUser, CurrentPanelUser, PanelUser
from zapcrm.web.form_errors import form_errors
from zapcrm.web.i18n import N_
from zapcrm.web.templating import render

router = APIRouter()

MAX_TEXT = 4096


@router.get("/conversations/new")
async def new_conversation(
    request: Request,
    runtime: RuntimeDep,
    user: CurrentPanelUser,
    contact: uuid.UUID | None = None,
) -> Response:
    """The form: WhatsApp number, who (a phone, or the contact it was opened for), the text."""
    values = {"contact": str(contact) if contact else "", "idempotency_key": str(uuid.uuid4())}
    return await _form(request, runtime, user, values, [], None)


@router.post("/conversations/new")
async def start_conversation(
    request: Request,
    runtime: RuntimeDep,
    user: ActingPanelUser,
    text: Annotated[str, Form(max_length=MAX_TEXT)] = "",
    phone: Annotated[str, Form(max_length=40)] = "",
    contact: Annotated[str, Form(max_length=40)] = "",
    instance: Annotated[str, Form(max_length=40)] = "",
    idempotency_key: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Open (or create) the chat, queue the text, and go to the chat; problems come back on
    the form with what was typed."""
    values = {"text": text, "phone": phone, "contact": contact, "instance": instance,
              "idempotency_key": idempotency_key}  # fmt: skip
    try:
        conversation_id = await _start(runtime, user, values)
    except ZapcrmError as failure:
        message, errors = form_errors(failure)
        return await _form(
            request, runtime, user, values, errors, message, status_code=failure.status_code
        )
    return RedirectResponse(f"/panel/inbox/{conversation_id}", status_code=303)


async def _start(runtime: RuntimeDep, user: PanelUser, values: dict[str, str]) -> uuid.UUID:
    identity = user.identity
    if not values["text"].strip():
        raise ValidationFailed.on_field("text", N_("escreva uma mensagem antes de enviar"))
    contact_id = _uuid(values["contact"], "contact")
    if contact_id is None and not values["phone"].strip():
        raise ValidationFailed.on_field("phone", N_("informe o telefone"))

    async def work(session: AsyncSession) -> tuple[uuid.UUID, list[OutboxItem]]:
        instance_id = await _instance(session, user, values["instance"])
        conversation_id = await outbound.start_conversation(
            session,
            identity,
            instance_id=instance_id,
            phone=None if contact_id else values["phone"].strip(),
            contact_id=contact_id,
        )
        _message, items = await outbound.queue_text(
            session,
            identity,
            conversation_id,
            text=values["text"].strip(),
            idempotency_key=values["idempotency_key"] or None,
        )
        return conversation_id, items

    return await in_tenant_transaction(runtime, identity, work)


async def _instance(session: AsyncSession, user: PanelUser, chosen: str) -> uuid.UUID:
    """The WhatsApp number chosen, or the company's only one."""
    instances = await company_instances(session, user.identity.company_id)
    if not instances:
        raise ValidationFailed(N_("conecte um número de WhatsApp antes de escrever a alguém"))
    if not chosen and len(instances) == 1:
        return instances[0].id
    instance_id = _uuid(chosen, "instance")
    if instance_id is None:
        raise ValidationFailed.on_field("instance", N_("escolha o número de WhatsApp"))
    return instance_id


def _uuid(value: str, field: str) -> uuid.UUID | None:
    """A form field's id: empty means none, anything unreadable is that field's error."""
    found = uuid_or_none(value)
    if value and found is None:
        raise ValidationFailed.on_field(field, N_("identificador inválido"))
    return found


async def _form(
    request: Request,
    runtime: RuntimeDep,
    user: PanelUser,
    values: dict[str, str],
    errors: list[dict[str, str]],
    message: str | None,
    *,
    status_code: int = 200,
) -> Response:
    contact: ContactDetail | None = None
    async with runtime.db.tenant_session(user.identity.claims) as session:
        instances: list[InstanceOut] = await company_instances(session, user.identity.company_id)
        contact_id = uuid_or_none(values.get("contact", ""))
        if contact_id is not None:
            try:
                contact = await contacts_service.get_contact(session, user.identity, contact_id)
            except NotFound:
                contact = None
    context = user.page_context(request, "inbox") | {
        "values": values,
        "errors": errors,
        "error": message,
        "instances": instances,
        "contact": contact,
    }
    return render("inbox/new.html", context, status_code=status_code)
