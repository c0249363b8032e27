"""Pure parsing of Evolution API webhooks: envelope, event names, normalized event models.

Everything here is I/O-free and total: a normalizer either returns a frozen model or raises
`MalformedPayload`, whatever JSON it is given. Message content it cannot read becomes
`message_type="unknown"` with the raw payload kept, so no event is lost.
"""

from zapcrm.evolution.payloads._contacts import (
    AdminRole,
    GroupMember,
    NormalizedContact,
    NormalizedGroup,
    NormalizedParticipantsUpdate,
    NormalizedPresence,
    PresenceEntry,
    normalize_contacts_update,
    normalize_contacts_upsert,
    normalize_group_participants_update,
    normalize_groups_upsert,
    normalize_presence_update,
)
from zapcrm.evolution.payloads._content import (
    ContactCard,
    LocationInfo,
    MediaInfo,
    MessageContent,
    MessageKind,
    PollInfo,
    ProtocolInfo,
    ProtocolKind,
    ReactionInfo,
    parse_message_content,
)
from zapcrm.evolution.payloads._envelope import (
    EVENT_NAMES,
    Envelope,
    event_to_suffix,
    parse_envelope,
    suffix_to_event,
)
from zapcrm.evolution.payloads._errors import MalformedPayload
from zapcrm.evolution.payloads._instance import (
    PERMANENT_CLOSE_REASONS,
    ConnectionState,
    NormalizedConnection,
    NormalizedInstanceGone,
    NormalizedQrCode,
    normalize_connection_update,
    normalize_logout_instance,
    normalize_qrcode_updated,
    normalize_remove_instance,
    normalize_status_instance,
)
from zapcrm.evolution.payloads._messages import (
    NormalizedDelete,
    NormalizedEdit,
    NormalizedMessage,
    NormalizedStatusUpdate,
    QuotedInfo,
    normalize_messages_delete,
    normalize_messages_edited,
    normalize_messages_update,
    normalize_messages_upsert,
    normalize_send_message,
    normalize_send_message_update,
)
from zapcrm.evolution.payloads._status import (
    QUEUED,
    STATUS_RANK,
    MessageStatus,
    parse_status,
    status_advances,
)
from zapcrm.evolution.payloads._values import parse_bytes, parse_int, parse_timestamp

NormalizedEvent = (
    NormalizedMessage
    | list[NormalizedStatusUpdate]
    | NormalizedDelete
    | NormalizedEdit
    | NormalizedConnection
    | NormalizedQrCode
    | NormalizedInstanceGone
    | list[NormalizedContact]
    | list[NormalizedGroup]
    | NormalizedParticipantsUpdate
    | NormalizedPresence
)
"""What any normalizer returns."""

__all__ = [
    "EVENT_NAMES",
    "PERMANENT_CLOSE_REASONS",
    "QUEUED",
    "STATUS_RANK",
    "AdminRole",
    "ConnectionState",
    "ContactCard",
    "Envelope",
    "GroupMember",
    "LocationInfo",
    "MalformedPayload",
    "MediaInfo",
    "MessageContent",
    "MessageKind",
    "MessageStatus",
    "NormalizedConnection",
    "NormalizedContact",
    "NormalizedDelete",
    "NormalizedEdit",
    "NormalizedEvent",
    "NormalizedGroup",
    "NormalizedInstanceGone",
    "NormalizedMessage",
    "NormalizedParticipantsUpdate",
    "NormalizedPresence",
    "NormalizedQrCode",
    "NormalizedStatusUpdate",
    "PollInfo",
    "PresenceEntry",
    "ProtocolInfo",
    "ProtocolKind",
    "QuotedInfo",
    "ReactionInfo",
    "event_to_suffix",
    "normalize_connection_update",
    "normalize_contacts_update",
    "normalize_contacts_upsert",
    "normalize_group_participants_update",
    "normalize_groups_upsert",
    "normalize_logout_instance",
    "normalize_messages_delete",
    "normalize_messages_edited",
    "normalize_messages_update",
    "normalize_messages_upsert",
    "normalize_presence_update",
    "normalize_qrcode_updated",
    "normalize_remove_instance",
    "normalize_send_message",
    "normalize_send_message_update",
    "normalize_status_instance",
    "parse_bytes",
    "parse_envelope",
    "parse_int",
    "parse_message_content",
    "parse_status",
    "parse_timestamp",
    "status_advances",
    "suffix_to_event",
]
