"""Quick reply rules: everyone of the company reads and uses them, supervisors+ curate them.

Callers own the transaction (a tenant session under RLS for the API and the panel); RLS
enforces the same role rule in Postgres (migration 0011), these checks give clear errors.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from psycopg.errors import UniqueViolation
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.accounts import repository as accounts_repo
from zapcrm.auth.identity import Identity
from zapcrm.exceptions import Conflict, Forbidden, NotFound
from zapcrm.i18n import N_
from zapcrm.kit.placeholders import first_name
from zapcrm.messaging import repository as messaging_repo
from zapcrm.models import QuickReply, Role
from zapcrm.quickreplies import repository
from zapcrm.quickreplies.rendering import render_quick_reply
from zapcrm.quickreplies.schemas import QuickReplyIn, QuickReplyOut, QuickReplyPatch


def _require_curator(actor: Identity) -> None:
    if not actor.has_role(Role.SUPERVISOR):
        raise Forbidden(N_("apenas supervisores e administradores editam respostas rápidas"))


@asynccontextmanager
async def _shortcut_is_free(session: AsyncSession, shortcut: str | None) -> AsyncIterator[None]:
    # The unique index on (company, lower(shortcut)) decides, so two concurrent creations of
    # `/frete` cannot both win; a savepoint keeps the caller's transaction usable.
    try:
        async with session.begin_nested():
            yield
    except IntegrityError as error:
        if not isinstance(error.orig, UniqueViolation):
            raise
        raise Conflict(
            N_("o atalho {shortcut} já existe", shortcut=shortcut),
            fields=[{"field": "shortcut", "message": N_("já existe")}],
        ) from None


async def _existing(
    session: AsyncSession, actor: Identity, quick_reply_id: uuid.UUID
) -> QuickReply:
    row = await repository.get_quick_reply(session, actor.company_id, quick_reply_id)
    if row is None:
        raise NotFound(N_("resposta rápida não encontrada"))
    return row


async def list_quick_replies(
    session: AsyncSession, identity: Identity, q: str | None = None
) -> list[QuickReplyOut]:
    """The company's quick replies by shortcut, optionally only those matching `q`."""
    search = q.strip() if q else None
    rows = await repository.list_quick_replies(session, identity.company_id, search=search or None)
    return [QuickReplyOut.model_validate(row) for row in rows]


async def get_quick_reply(
    session: AsyncSession, identity: Identity, quick_reply_id: uuid.UUID
) -> QuickReplyOut:
    """One quick reply of the company."""
    return QuickReplyOut.model_validate(await _existing(session, identity, quick_reply_id))


async def create_quick_reply(
    session: AsyncSession, identity: Identity, data: QuickReplyIn
) -> QuickReplyOut:
    """Add a quick reply (supervisors and admins); Conflict when the shortcut is taken."""
    _require_curator(identity)
    async with _shortcut_is_free(session, data.shortcut):
        row = await repository.insert_quick_reply(
            session,
            {
                **data.model_dump(),
                "company_id": identity.company_id,
                "created_by": identity.user_id,
            },
        )
    return QuickReplyOut.model_validate(row)


async def update_quick_reply(
    session: AsyncSession, identity: Identity, quick_reply_id: uuid.UUID, patch: QuickReplyPatch
) -> QuickReplyOut:
    """Change the given fields (supervisors and admins)."""
    _require_curator(identity)
    row = await _existing(session, identity, quick_reply_id)
    values: dict[str, Any] = patch.model_dump(include=patch.model_fields_set)
    if values:
        async with _shortcut_is_free(session, values.get("shortcut")):
            row = await repository.change_quick_reply(session, row, values)
    return QuickReplyOut.model_validate(row)


async def delete_quick_reply(
    session: AsyncSession, identity: Identity, quick_reply_id: uuid.UUID
) -> None:
    """Remove a quick reply (supervisors and admins)."""
    _require_curator(identity)
    await repository.remove_quick_reply(session, await _existing(session, identity, quick_reply_id))


async def render_for_conversation(
    session: AsyncSession,
    identity: Identity,
    conversation_id: uuid.UUID,
    quick_reply_id: uuid.UUID,
) -> str:
    """The quick reply's text filled for the conversation's contact and the caller.

    NotFound when the caller may not see the conversation (RLS decides) or the quick reply is
    not of their company.
    """
    conversations = await messaging_repo.get_conversations(session, [conversation_id])
    if not conversations:
        raise NotFound(N_("conversa não encontrada"))
    conversation = conversations[0]
    row = await _existing(session, identity, quick_reply_id)
    company = await accounts_repo.get_company(session, identity.company_id)
    name = (conversation["contact_name"] or "").strip() or None
    return render_quick_reply(
        row.body,
        {
            "name": name,
            "first_name": first_name(name),
            "phone": conversation["contact_phone"],
            "agent": identity.display_name,
            "company": company.name if company else None,
        },
    )
