"""What WhatsApp's own contact events announce to open boards: one new person by id, many
(an address book, a group's members) as one bulk change, none nothing."""

from __future__ import annotations

import uuid

from zapcrm.contacts.live import found_on_whatsapp
from zapcrm.outbox import INCOMING_STREAM


def test_whatsapp_contacts_are_announced_by_no_one_one_by_id_many_at_once() -> None:
    company, first, second = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    assert found_on_whatsapp(company, []) == []
    [one] = found_on_whatsapp(company, [first])
    assert one.stream == INCOMING_STREAM
    assert one.payload == {
        "kind": "contact",
        "change": "created",
        "company_id": str(company),
        "contact_id": str(first),
        "actor_id": None,
    }
    [many] = found_on_whatsapp(company, [first, second])
    assert (many.payload["change"], many.payload["contact_id"]) == ("bulk", None)
