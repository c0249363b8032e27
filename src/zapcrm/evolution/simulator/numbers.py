"""WhatsApp ids as Evolution builds them: `createJid`, the BR/MX/AR rewrites and their variants."""

from __future__ import annotations

import re

__all__ = [
    "GROUP_SUFFIX",
    "LID_SUFFIX",
    "PN_SUFFIX",
    "clean_number",
    "create_jid",
    "is_group",
    "is_lid",
    "is_one_to_one",
    "is_pn",
    "jid_user",
    "long_and_short",
    "pn_jid",
    "rewritten_by_create_jid",
]

PN_SUFFIX = "@s.whatsapp.net"
LID_SUFFIX = "@lid"
GROUP_SUFFIX = "@g.us"

_BR_NUMBER = re.compile(r"^(55)(\d{2})\d(\d{8})$")
_NOT_DIGITS = re.compile(r"\D")


def clean_number(number: str) -> str:
    """Strip `+`, spaces, dashes and parentheses the way the send path does (§3.2)."""
    return _NOT_DIGITS.sub("", number)


def pn_jid(digits: str) -> str:
    """The phone-number JID of a digits-only WhatsApp user."""
    return f"{digits}{PN_SUFFIX}"


def jid_user(jid: str) -> str:
    """The user part of a JID without its server or `:device` suffix (#1937)."""
    return jid.split("@", 1)[0].split(":", 1)[0]


def is_pn(jid: str) -> bool:
    """Whether the JID is a phone-number user."""
    return jid.endswith(PN_SUFFIX)


def is_lid(jid: str) -> bool:
    """Whether the JID is a Linked ID alias."""
    return jid.endswith(LID_SUFFIX)


def is_group(jid: str) -> bool:
    """Whether the JID is a group."""
    return jid.endswith(GROUP_SUFFIX)


def is_one_to_one(jid: str) -> bool:
    """Whether the JID is a single user (phone or lid), not a group or broadcast."""
    return is_pn(jid) or is_lid(jid)


def _short_br(digits: str) -> str:
    # formatBRNumber (§6.4): a 13-digit 55 number loses the digit after the DDD when the DDD
    # is 31 or more and the subscriber part starts with 7, 8 or 9; DDD < 31 keeps it.
    match = _BR_NUMBER.match(digits)
    if match is None:
        return digits
    ddd, subscriber = int(match.group(2)), match.group(3)
    if int(subscriber[0]) < 7 or ddd < 31:
        return digits
    return match.group(1) + match.group(2) + subscriber


def _short_mx_ar(digits: str) -> str:
    # MX (521…) and AR (549…) 13-digit numbers drop their third digit (§3.7, §6.4).
    if len(digits) == 13 and digits[:3] in ("521", "549"):
        return digits[:2] + digits[3:]
    return digits


def create_jid(number: str) -> str:
    """Evolution's `createJid`: full JIDs pass through; numbers get the country rewrites."""
    if "@" in number:
        return number
    digits = clean_number(number)
    if digits.startswith("55"):
        return pn_jid(_short_br(digits))
    return pn_jid(_short_mx_ar(digits))


def long_and_short(digits: str) -> tuple[str, str] | None:
    """The with-extra-digit and without-extra-digit forms of a BR/MX/AR mobile, else None."""
    if digits.startswith("55"):
        if len(digits) == 13 and digits[4] == "9":
            return digits, digits[:4] + digits[5:]
        if len(digits) == 12 and digits[4] in "6789":
            # A 12-digit BR id whose subscriber part starts with 6-9 is a mobile without its 9.
            return digits[:4] + "9" + digits[4:], digits
        return None
    for prefix, marker in (("52", "1"), ("54", "9")):
        if digits.startswith(prefix):
            if len(digits) == 13 and digits[2] == marker:
                return digits, digits[:2] + digits[3:]
            if len(digits) == 12:
                return digits[:2] + marker + digits[2:], digits
    return None


def rewritten_by_create_jid(digits: str) -> bool:
    """Whether `createJid` would send this number without its extra digit."""
    return create_jid(digits) != pn_jid(digits)
