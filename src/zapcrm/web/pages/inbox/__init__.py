"""Inbox pages: the conversation list, one conversation with its chat, and the chat actions.

Handlers authenticate, call the messaging services (reads in one RLS transaction, writes through
`in_tenant_transaction` so outbox entries leave after commit) and render templates. By topic:
the list pane (listing.py), a conversation's page and its pages of messages (chat.py), sending
(sending.py), private notes (chat_notes.py), and the chat's other actions (chat_actions.py).
"""

from fastapi import APIRouter

from zapcrm.web.pages.inbox import chat, chat_actions, chat_notes, listing, sending

router = APIRouter()
# The routes in the order they had as one module (none of their paths overlap today, but a
# fixed path must stay before a `{conversation_id}` one it could be read as).
router.include_router(listing.router)
router.include_router(chat.router)
router.include_router(sending.router)
router.include_router(chat_notes.router)
router.include_router(chat_actions.router)

__all__ = ["router"]
