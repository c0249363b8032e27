"""The simulated WhatsApp directory: who exists, which JID WhatsApp knows them by (§3.7, §6.4)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from zapcrm.evolution.simulator.clock import IdFactory
from zapcrm.evolution.simulator.errors import SimulatorError
from zapcrm.evolution.simulator.faults import Addressing, Faults
from zapcrm.evolution.simulator.numbers import (
    LID_SUFFIX,
    clean_number,
    create_jid,
    is_lid,
    is_pn,
    jid_user,
    long_and_short,
    pn_jid,
    rewritten_by_create_jid,
)
from zapcrm.evolution.simulator.state import Customer

__all__ = ["Directory", "NumberCheck"]

_CUSTOMER_FIELDS = frozenset(
    {"legacy_without_ninth", "lid", "on_whatsapp", "addressing", "device", "read_receipts"}
)


@dataclass(frozen=True)
class NumberCheck:
    """The answer of the `onWhatsApp` probe for one number (§3.7)."""

    number: str
    jid: str
    exists: bool
    name: str | None = None
    lid: bool = False
    customer: Customer | None = None

    def as_dict(self) -> dict[str, Any]:
        """The `/chat/whatsappNumbers` entry."""
        entry: dict[str, Any] = {"jid": self.jid, "exists": self.exists, "number": self.number}
        if self.name is not None:
            entry["name"] = self.name
        if self.lid:
            entry["lid"] = "lid"
        return entry


class Directory:
    """Customers by phone, with Evolution's number probing rules."""

    def __init__(self, ids: IdFactory) -> None:
        self.ids = ids
        self.customers: dict[str, Customer] = {}

    def add(self, phone: str, name: str, **fields: Any) -> Customer:
        """Add (or replace) a simulated WhatsApp user."""
        digits = clean_number(phone)
        if not digits:
            raise SimulatorError("phone must contain digits")
        known = {
            "legacy_without_ninth",
            "lid",
            "on_whatsapp",
            "addressing",
            "device",
            "read_receipts",
        }
        unknown = set(fields) - known
        if unknown:
            raise SimulatorError(f'unknown customer field "{sorted(unknown)[0]}"')
        customer = Customer(phone=digits, name=name, **fields)
        if not customer.lid:
            customer.lid = self.ids.lid(digits)
        self.customers[digits] = customer
        return customer

    def find(self, number_or_jid: str) -> Customer | None:
        """The customer a number, phone JID or lid JID belongs to."""
        if is_lid(number_or_jid):
            lid = jid_user(number_or_jid)
            return next((c for c in self.customers.values() if c.lid == lid), None)
        digits = jid_user(number_or_jid) if "@" in number_or_jid else clean_number(number_or_jid)
        pair = long_and_short(digits)
        candidates = set(pair) if pair else {digits}
        for customer in self.customers.values():
            own = long_and_short(customer.phone)
            if candidates & (set(own) if own else {customer.phone}):
                return customer
        return None

    def addressing_for(self, customer: Customer, faults: Faults) -> Addressing:
        """The addressing mode of a customer's traffic, after the `addressing` fault."""
        return faults.addressing or customer.addressing

    def phone_jid(self, customer: Customer, faults: Faults) -> str:
        """The phone JID WhatsApp knows for the customer (with or without the ninth digit)."""
        pair = long_and_short(customer.phone)
        if pair is None:
            return pn_jid(customer.phone)
        with_digit, without_digit = pair
        if customer.legacy_without_ninth:
            return pn_jid(without_digit)
        if faults.ninth_digit_rewrite and rewritten_by_create_jid(with_digit):
            return pn_jid(without_digit)
        return pn_jid(with_digit)

    def lid_jid(self, customer: Customer) -> str:
        """The customer's `@lid` JID."""
        return customer.lid + LID_SUFFIX

    def chat_jid(self, customer: Customer, faults: Faults) -> str:
        """The JID the customer's chat is addressed by in events."""
        if self.addressing_for(customer, faults) in ("lid", "lid_no_alt"):
            return self.lid_jid(customer)
        return self.phone_jid(customer, faults)

    def check_number(self, number: str, faults: Faults) -> NumberCheck:
        """Probe a number like `onWhatsApp`: both BR variants, `jid` = the known one (§3.7)."""
        if is_lid(number):
            # @lid JIDs are assumed to exist (§3.2).
            customer = self.find(number)
            name = customer.name if customer else None
            return NumberCheck(number, number, True, name, lid=True, customer=customer)
        if "@" in number and not is_pn(number):
            # Groups are not simulated: a group JID is never found.
            return NumberCheck(number, number, False)
        customer = self.find(number)
        if customer is not None and customer.on_whatsapp:
            jid = self.phone_jid(customer, faults)
            return NumberCheck(number, jid, True, customer.name, customer=customer)
        jid = number if "@" in number else create_jid(number)
        return NumberCheck(number, jid, False)
