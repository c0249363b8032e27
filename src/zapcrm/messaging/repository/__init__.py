"""SQL for conversations and messages: ingestion writes and inbox reads."""

from zapcrm.messaging.repository import outbound
from zapcrm.messaging.repository.inbox import (
    get_conversations,
    get_media,
    get_messages,
    list_conversations,
    list_messages,
    list_waiting,
)
from zapcrm.messaging.repository.ingest import (
    ConversationRow,
    StoredMessage,
    apply_delete,
    apply_edit,
    apply_reaction,
    apply_status,
    find_conversation_id,
    fold_conversation,
    lock_key_id,
    message_ref,
    park_update,
    rekey_conversation,
    store_message,
    sync_last_status,
    upsert_conversation,
)

__all__ = [
    "ConversationRow",
    "StoredMessage",
    "apply_delete",
    "apply_edit",
    "apply_reaction",
    "apply_status",
    "find_conversation_id",
    "fold_conversation",
    "get_conversations",
    "get_media",
    "get_messages",
    "list_conversations",
    "list_messages",
    "list_waiting",
    "lock_key_id",
    "message_ref",
    "outbound",
    "park_update",
    "rekey_conversation",
    "store_message",
    "sync_last_status",
    "upsert_conversation",
]
