"""SQL for contacts, by topic: identity keys (identity.py), records, timeline and merges
(crud.py), attribute and stage definitions (attributes.py)."""

from zapcrm.contacts.repository.identity import (
    IdentityKey,
    IdentityMatch,
    add_identities,
    delete_contact,
    fill_contact_gaps,
    find_identities,
    get_contact,
    insert_contact,
    touch_interaction,
)

__all__ = [
    "IdentityKey",
    "IdentityMatch",
    "add_identities",
    "delete_contact",
    "fill_contact_gaps",
    "find_identities",
    "get_contact",
    "insert_contact",
    "touch_interaction",
]
