"""Sending a file spans the media storage and a tenant transaction: the one flow the API and
the panel both use, so neither edge can forget to remove a file that was never queued."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.auth.identity import Identity
from zapcrm.messaging import uploads
from zapcrm.messaging.media import build_media_storage
from zapcrm.messaging.schemas import MessageOut
from zapcrm.messaging.service import outbound
from zapcrm.outbox import OutboxItem
from zapcrm.runtime import Runtime
from zapcrm.transactions import in_tenant_transaction


async def send_media(
    runtime: Runtime,
    identity: Identity,
    conversation_id: uuid.UUID,
    upload: uploads.MediaUpload,
    idempotency_key: str | None,
) -> MessageOut:
    """Store the file, queue the message with it, and leave no file behind on any failure."""
    storage = build_media_storage(runtime.settings)
    # Chosen once, so a transaction retried after a deadlock rewrites the same file.
    message_id = uuid.uuid4()

    async def work(session: AsyncSession) -> tuple[MessageOut, list[OutboxItem]]:
        return await outbound.queue_media(
            session,
            identity,
            conversation_id,
            upload,
            storage=storage,
            message_id=message_id,
            idempotency_key=idempotency_key,
        )

    try:
        message = await in_tenant_transaction(runtime, identity, work)
    except BaseException:
        await outbound.discard_media(storage, identity, message_id, upload)
        raise
    if message.id != message_id:
        # An idempotent replay answered with the first request's message (found at once, after
        # a lost race, or when a retried transaction ran again): our file was never queued.
        await outbound.discard_media(storage, identity, message_id, upload)
    return message
