"""Phone identity: one canonical E.164 number per person, plus the WhatsApp ids it may appear as."""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberType, ValidationResult

from zapcrm.i18n import N_

__all__ = [
    "PHONE_PROBLEMS",
    "InvalidPhone",
    "canonical_phone",
    "identity_variants",
    "is_brazilian_mobile",
    "mask_phone",
    "whatsapp_digits_to_phone",
    "whatsapp_jid_candidates",
]

_BR, _MX, _AR = 55, 52, 54
_PN_JID_SUFFIX = "@s.whatsapp.net"

_PARSE_ERRORS: dict[int, str] = {
    NumberParseException.INVALID_COUNTRY_CODE: "missing or unknown country code",
    NumberParseException.NOT_A_NUMBER: "not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
    NumberParseException.TOO_SHORT_NSN: "too short",
    NumberParseException.TOO_LONG: "too long",
}
_LENGTH_ERRORS: dict[int, str] = {
    ValidationResult.INVALID_COUNTRY_CODE: "unknown country code",
    ValidationResult.TOO_SHORT: "too short",
    ValidationResult.TOO_LONG: "too long",
    ValidationResult.INVALID_LENGTH: "wrong number of digits for its country",
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "missing the area code",
}
# Each problem as people read it (the panel, the API and the import's error file): the English
# one stays for logs and developers.
PHONE_PROBLEMS: dict[str, str] = {
    "contains letters": N_("contém letras"),
    "missing or unknown country code": N_("código do país ausente ou desconhecido"),
    "unknown country code": N_("código do país desconhecido"),
    "not a phone number": N_("não é um número de telefone"),
    "too short": N_("curto demais"),
    "too long": N_("longo demais"),
    "wrong number of digits for its country": N_("quantidade de dígitos errada para o país"),
    "wrong number of digits": N_("quantidade de dígitos errada"),
    "missing the area code": N_("falta o DDD"),
    "has an extension, which a WhatsApp id cannot carry": N_("tem ramal"),
    "not a valid number in its country's numbering plan": N_("número inexistente no plano do país"),
}


class InvalidPhone(ValueError):
    """The input cannot be read as a valid phone number; the message names the problem."""

    def __init__(self, problem: str) -> None:
        # The message names the problem but never echoes the input: phones are personal data
        # and exception messages end up in logs.
        super().__init__(f"invalid phone number: {problem}")
        self.problem = problem

    @property
    def reason(self) -> str:
        """The problem in Portuguese (a `Text` the panel translates)."""
        return PHONE_PROBLEMS.get(self.problem, N_("não é um número de telefone"))


def canonical_phone(raw: str, default_region: str = "BR") -> str:
    """Return the canonical E.164 form of a human-written phone number."""
    return _format(_canonical_number(raw, default_region))


def whatsapp_digits_to_phone(digits: str) -> str:
    """Return the canonical E.164 phone for the user part of a WhatsApp `@s.whatsapp.net` id."""
    # str.isdigit() alone would accept other scripts' digits, which no JID contains.
    if not (digits.isascii() and digits.isdigit()):
        raise InvalidPhone("expected only the digits of a WhatsApp id (no '+', '@…' or ':device')")
    return _format(_canonical_number(f"+{digits}", None))


def identity_variants(e164: str) -> frozenset[str]:
    """Return every digits-only lookup key under which this person's phone may appear."""
    number = _parse_canonical(e164)
    digits = e164[1:]
    national = str(number.national_number)
    variants = {digits}
    if is_brazilian_mobile(e164):
        # WhatsApp ids of older BR accounts lack the ninth digit (crm-features.md, "Contacts").
        variants.add(f"{_BR}{national[:2]}{national[3:]}")
    elif number.country_code == _MX and len(national) == 10:
        # Mexico dropped the mobile "1" in 2019 (phonenumbers follows the current plan), but
        # WhatsApp still ids many Mexican accounts as 52 1 + 10 digits.
        variants.add(f"{_MX}1{national}")
    elif number.country_code == _AR and _is_mobile(number) and national.startswith("9"):
        # Evolution's createJid sends Argentine mobiles without their "9" (evolution-api.md §6.4).
        # That key equals the landline-looking form, so it is a lookup key only:
        # whatsapp_digits_to_phone maps it to the landline, as phonenumbers does.
        variants.add(f"{_AR}{national[1:]}")
    return frozenset(variants)


def whatsapp_jid_candidates(e164: str) -> list[str]:
    """Return the `@s.whatsapp.net` JIDs Evolution may use for this phone, most likely first."""
    variants = identity_variants(e164)
    digits = e164[1:]
    others = sorted(variants - {digits})
    ordered = [digits, *others]
    # Evolution sends to (and then reports) whatever its createJid builds from our digits, so
    # that form leads; the rest are the forms its whatsappNumbers probe may answer with.
    guessed = _evolution_create_jid_user(digits)
    if guessed in ordered:
        ordered.remove(guessed)
        ordered.insert(0, guessed)
    return [f"{user}{_PN_JID_SUFFIX}" for user in ordered]


def is_brazilian_mobile(e164: str) -> bool:
    """Tell whether a canonical E.164 phone is a Brazilian mobile (55 + DDD + 9 + 8 digits)."""
    number = _parse_canonical(e164)
    return (
        number.country_code == _BR and len(str(number.national_number)) == 11 and _is_mobile(number)
    )


def display_phone(value: str | None) -> str:
    """A stored E.164 number the way people write it (+55 11 98765-4321); anything else as is."""
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, None)
    except NumberParseException:
        return value
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def mask_phone(e164: str) -> str:
    """Return a log-safe form that keeps only the country code and the last digits."""
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return "***"
    national = str(number.national_number)
    # Fixed-width stars hide the length; never reveal more than half of a short number.
    keep = min(4, len(national) // 2)
    return f"+{number.country_code}******{national[len(national) - keep :]}"


def _canonical_number(raw: str, default_region: str | None) -> PhoneNumber:
    # phonenumbers silently turns letters into keypad digits ("ABCD" -> 2223) and drops trailing
    # junk ("432l" -> 432); either can yield a valid number of someone else. "x" stays allowed:
    # it is the Brazilian "0xx11" trunk notation or an extension marker (extensions fail below).
    if any(ch.isalpha() and ch not in "xX" for ch in raw):
        raise InvalidPhone("contains letters")
    try:
        number = phonenumbers.parse(raw, default_region)
    except NumberParseException as exc:
        raise InvalidPhone(_PARSE_ERRORS.get(exc.error_type, "not a phone number")) from exc
    if number.extension:
        raise InvalidPhone("has an extension, which a WhatsApp id cannot carry")
    number = _restore_brazilian_ninth_digit(number)
    number = _drop_mexican_mobile_one(number)
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible != ValidationResult.IS_POSSIBLE:
        raise InvalidPhone(_LENGTH_ERRORS.get(possible, "wrong number of digits"))
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("not a valid number in its country's numbering plan")
    return number


def _restore_brazilian_ninth_digit(number: PhoneNumber) -> PhoneNumber:
    # phonenumbers only knows today's plan, where every mobile has the 9, so it rejects (or, for
    # 7xxx, calls a radio mobile) the 8-digit mobiles that old WhatsApp ids and address books
    # still carry. Per crm-features.md: a subscriber number starting with 6-9 is a mobile and gets
    # the 9; one starting with 2-5 is a landline and never does.
    national = str(number.national_number)
    if number.country_code != _BR or len(national) != 10 or national[2] not in "6789":
        return number
    return PhoneNumber(country_code=_BR, national_number=int(f"{national[:2]}9{national[2:]}"))


def _drop_mexican_mobile_one(number: PhoneNumber) -> PhoneNumber:
    # Mexico's 2019 plan removed the "1" after +52 for mobiles; phonenumbers rejects it, while
    # WhatsApp ids of Mexican accounts often still carry it (evolution-api.md §3.7).
    national = str(number.national_number)
    if number.country_code != _MX or len(national) != 11 or not national.startswith("1"):
        return number
    return PhoneNumber(country_code=_MX, national_number=int(national[1:]))


def _parse_canonical(e164: str) -> PhoneNumber:
    # Functions that take an E.164 phone refuse other forms: a legacy or formatted number here
    # would silently give the wrong variants.
    number = _canonical_number(e164, None)
    if _format(number) != e164:
        raise InvalidPhone("not in canonical E.164 form; pass it through canonical_phone first")
    return number


def _is_mobile(number: PhoneNumber) -> bool:
    return phonenumbers.number_type(number) == PhoneNumberType.MOBILE


def _format(number: PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _evolution_create_jid_user(digits: str) -> str:
    # Mirrors Evolution's src/utils/createJid.ts (formatMXOrARNumber, then formatBRNumber): a
    # 13-digit 52/54 number loses its third digit; a 13-digit 55 number loses the ninth digit when
    # DDD >= 31 and the subscriber starts with 7-9 (evolution-api.md §6.4).
    if len(digits) == 13 and digits[:2] in (str(_MX), str(_AR)):
        return digits[:2] + digits[3:]
    if len(digits) == 13 and digits[:2] == str(_BR) and int(digits[2:4]) >= 31 and digits[5] >= "7":
        return digits[:4] + digits[5:]
    return digits
