"""Phone canonicalisation at import speed: a fast path for plainly written Brazilian numbers.

`kit.phones.canonical_phone` costs ~17 µs and `identity_variants` ~30 µs (each parses with
phonenumbers); a million-row import cannot afford both per row. The fast path accepts only
digits with the usual punctuation (`+55 (11) 98765-4321`, `011 98765 4321`, `11987654321`,
`551187654321`), where phonenumbers' Brazilian plan decides validity from the area code (DDD)
and the first subscriber digit alone; the DDD sets are probed from kit.phones at import time,
so they follow the installed phonenumbers metadata. Anything else goes to kit.phones.
tests/contacts/importing/test_phones.py checks both paths agree on every DDD and format.
"""

from __future__ import annotations

from zapcrm.kit.phones import InvalidPhone, canonical_phone, identity_variants

__all__ = ["canonical", "fast_brazilian", "phone_keys"]


def _probe_ddds(subscribers: tuple[str, ...]) -> frozenset[str]:
    """Area codes where every sample subscriber number is valid (and canonical as written)."""
    found = set()
    for ddd in range(11, 100):
        try:
            if all(
                canonical_phone(f"+55{ddd}{number}") == f"+55{ddd}{number}"
                for number in subscribers
            ):
                found.add(str(ddd))
        except InvalidPhone:
            continue
    return frozenset(found)


_MOBILE_DDDS = _probe_ddds(("987654321", "912345678", "999999999", "900000000"))
_LANDLINE_DDDS = _probe_ddds(("34567890", "23456789", "59999999", "20000000"))


def fast_brazilian(raw: str) -> str | None:
    """The canonical E.164 of a plainly written Brazilian number, or None to ask kit.phones."""
    text = raw.strip()
    plus = text.startswith("+")
    # Five replaces in C cost less than one translate (a dict lookup per character).
    digits = (
        (text[1:] if plus else text)
        .replace(" ", "")
        .replace("-", "")
        .replace("(", "")
        .replace(")", "")
        .replace(".", "")
    )
    if not (digits.isascii() and digits.isdigit()):
        return None
    if plus:
        if not digits.startswith("55"):
            return None
        national = digits[2:]
    elif len(digits) in (12, 13) and digits.startswith("55"):
        national = digits[2:]
    elif len(digits) in (11, 12) and digits[0] == "0":
        national = digits[1:]  # the trunk prefix of "0 11 98765-4321"
    else:
        national = digits
    if len(national) not in (10, 11) or national[0] == "0":
        return None
    ddd, first = national[:2], national[2]
    if len(national) == 11:
        return f"+55{national}" if first == "9" and ddd in _MOBILE_DDDS else None
    if first in "6789":
        # An 8-digit mobile from before the ninth digit (crm-features.md): it gains the 9.
        return f"+55{ddd}9{national[2:]}" if ddd in _MOBILE_DDDS else None
    if first in "2345":
        return f"+55{national}" if ddd in _LANDLINE_DDDS else None
    return None


def canonical(raw: str, default_region: str) -> str:
    """Canonical E.164 of a human-written phone; InvalidPhone when it is not one."""
    if default_region == "BR":
        fast = fast_brazilian(raw)
        if fast is not None:
            return fast
    return canonical_phone(raw, default_region)


def phone_keys(e164: str) -> list[str]:
    """The `phone` identity values of a canonical number, its own digits first.

    Equal to `kit.phones.identity_variants` (a valid 13-digit Brazilian number is always a
    mobile in the numbering plan, so it has the legacy form without the ninth digit).
    """
    digits = e164[1:]
    if digits.startswith("55"):
        if len(digits) == 13:
            return [digits, digits[:4] + digits[5:]]
        return [digits]
    others = sorted(identity_variants(e164) - {digits})
    return [digits, *others]
