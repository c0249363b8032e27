"""Phone identity rules: canonical E.164, the Brazilian ninth digit and WhatsApp id variants."""

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zapcrm.kit.phones import (
    InvalidPhone,
    canonical_phone,
    identity_variants,
    is_brazilian_mobile,
    mask_phone,
    whatsapp_digits_to_phone,
    whatsapp_jid_candidates,
)

# Brazilian area codes (DDD) in use, from Anatel's plan; written out by hand so the tests do not
# borrow phonenumbers' metadata as their own oracle.
BR_DDDS = (
    *range(11, 20),
    21, 22, 24, 27, 28,
    31, 32, 33, 34, 35, 37, 38,
    *range(41, 50),
    51, 53, 54, 55,
    *range(61, 70),
    71, 73, 74, 75, 77, 79,
    *range(81, 90),
    *range(91, 100),
)  # fmt: skip

ddds = st.sampled_from([str(ddd) for ddd in BR_DDDS])
seven_digits = st.text(alphabet="0123456789", min_size=7, max_size=7)
landline_subscribers = st.builds(str.__add__, st.sampled_from("2345"), seven_digits)
legacy_mobile_subscribers = st.builds(str.__add__, st.sampled_from("6789"), seven_digits)

# Ways people write "DDD + subscriber" in Brazil: each takes the DDD and the subscriber number.
BR_WRITINGS: list[Callable[[str, str], str]] = [
    lambda ddd, sub: f"+55{ddd}{sub}",
    lambda ddd, sub: f"+55 ({ddd}) {sub[:-4]}-{sub[-4:]}",
    lambda ddd, sub: f"55{ddd}{sub}",
    lambda ddd, sub: f"55 {ddd} {sub[:-4]} {sub[-4:]}",
    lambda ddd, sub: f"{ddd}{sub}",
    lambda ddd, sub: f"({ddd}) {sub[:-4]}-{sub[-4:]}",
    lambda ddd, sub: f"0{ddd} {sub}",
    lambda ddd, sub: f"0 15 {ddd} {sub}",
]
writings = st.sampled_from(BR_WRITINGS)


@pytest.mark.parametrize(
    "raw",
    [
        "+5511987654321",
        "+55 (11) 98765-4321",
        "+55 11 98765-4321",
        "55 11 98765 4321",
        "5511987654321",
        "11987654321",
        "(11) 98765-4321",
        "011 98765 4321",
        "0 15 11 98765 4321",
        "0xx11 98765-4321",
        "  +55.11.98765.4321  ",
        "55 11 8765-4321",
        "551187654321",
        "+55 11 8765-4321",
        "(11) 8765-4321",
        "015 11 8765 4321",
    ],
)
def test_every_writing_of_one_mobile_gives_one_canonical(raw: str) -> None:
    assert canonical_phone(raw) == "+5511987654321"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("553187654321", "+5531987654321"),
        ("+55 21 7654-3210", "+5521976543210"),
        ("(85) 6543-2109", "+5585965432109"),
        ("5561 9876 5432", "+5561998765432"),
    ],
)
def test_legacy_mobile_without_ninth_digit_gains_it(raw: str, expected: str) -> None:
    assert canonical_phone(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+55 11 3265-4321", "+551132654321"),
        ("(21) 2345-6789", "+552123456789"),
        ("553140041234", "+553140041234"),
        ("0 15 51 5123 4567", "+555151234567"),
    ],
)
def test_landline_keeps_its_eight_digits(raw: str, expected: str) -> None:
    assert canonical_phone(raw) == expected


@given(ddd=ddds, subscriber=landline_subscribers, write=writings)
def test_landline_never_gains_a_ninth_digit(
    ddd: str, subscriber: str, write: Callable[[str, str], str]
) -> None:
    assert canonical_phone(write(ddd, subscriber)) == f"+55{ddd}{subscriber}"


@given(ddd=ddds, subscriber=legacy_mobile_subscribers, write=writings)
def test_legacy_mobile_always_gains_the_ninth_digit(
    ddd: str, subscriber: str, write: Callable[[str, str], str]
) -> None:
    assert canonical_phone(write(ddd, subscriber)) == f"+55{ddd}9{subscriber}"


@given(
    ddd=ddds,
    subscriber=st.one_of(
        landline_subscribers,
        legacy_mobile_subscribers,
        st.builds("9{}".format, legacy_mobile_subscribers),
    ),
    write=writings,
)
def test_normalising_twice_changes_nothing(
    ddd: str, subscriber: str, write: Callable[[str, str], str]
) -> None:
    once = canonical_phone(write(ddd, subscriber))
    assert canonical_phone(once) == once
    assert canonical_phone(once, default_region="US") == once
    assert whatsapp_digits_to_phone(once[1:]) == once


@given(raw=st.from_regex(r"[+0]?[1-9][0-9 ().-]{9,14}", fullmatch=True))
def test_normalising_twice_changes_nothing_for_any_accepted_input(raw: str) -> None:
    try:
        once = canonical_phone(raw)
    except InvalidPhone:
        return
    assert canonical_phone(once) == once


@given(ddd=ddds, subscriber=legacy_mobile_subscribers)
def test_every_variant_of_a_brazilian_mobile_maps_back_to_it(ddd: str, subscriber: str) -> None:
    canonical = f"+55{ddd}9{subscriber}"
    variants = identity_variants(canonical)
    assert variants == {f"55{ddd}9{subscriber}", f"55{ddd}{subscriber}"}
    assert {whatsapp_digits_to_phone(variant) for variant in variants} == {canonical}
    jids = whatsapp_jid_candidates(canonical)
    assert {jid.removesuffix("@s.whatsapp.net") for jid in jids} == variants
    assert all(jid.endswith("@s.whatsapp.net") for jid in jids)


@given(ddd=ddds, subscriber=legacy_mobile_subscribers)
def test_jid_candidates_put_evolutions_guess_first(ddd: str, subscriber: str) -> None:
    # evolution-api.md §6.4: createJid drops the 9 when DDD >= 31 and the subscriber starts 7-9.
    dropped = int(ddd) >= 31 and subscriber[0] in "789"
    expected_first = f"55{ddd}{subscriber}" if dropped else f"55{ddd}9{subscriber}"
    first = whatsapp_jid_candidates(f"+55{ddd}9{subscriber}")[0]
    assert first == f"{expected_first}@s.whatsapp.net"


@pytest.mark.parametrize(
    ("e164", "expected"),
    [
        ("+5531987654321", ["553187654321", "5531987654321"]),
        ("+5531967654321", ["5531967654321", "553167654321"]),
        ("+5521987654321", ["5521987654321", "552187654321"]),
        ("+551132654321", ["551132654321"]),
        ("+525512345678", ["525512345678", "5215512345678"]),
        ("+14155550123", ["14155550123"]),
    ],
)
def test_jid_candidates_in_order(e164: str, expected: list[str]) -> None:
    assert whatsapp_jid_candidates(e164) == [f"{user}@s.whatsapp.net" for user in expected]


@given(ddd=ddds, subscriber=landline_subscribers)
def test_landline_has_a_single_identity(ddd: str, subscriber: str) -> None:
    canonical = f"+55{ddd}{subscriber}"
    assert identity_variants(canonical) == {canonical[1:]}
    assert whatsapp_digits_to_phone(canonical[1:]) == canonical
    assert not is_brazilian_mobile(canonical)


@pytest.mark.parametrize(
    "e164",
    [
        "+14155550123",  # United States
        "+16502530000",
        "+351912345678",  # Portugal: 12 digits, like a legacy Brazilian id
        "+447400123456",  # United Kingdom
        "+4915123456789",  # Germany
        "+33612345678",  # France
        "+918123456789",  # India
        "+819012345678",  # Japan
    ],
)
def test_non_brazilian_numbers_are_untouched(e164: str) -> None:
    assert canonical_phone(e164) == e164
    assert canonical_phone(f"{e164[:4]} {e164[4:8]}-{e164[8:]}") == e164
    assert whatsapp_digits_to_phone(e164[1:]) == e164
    assert identity_variants(e164) == {e164[1:]}
    assert whatsapp_jid_candidates(e164) == [f"{e164[1:]}@s.whatsapp.net"]
    assert not is_brazilian_mobile(e164)


def test_national_format_of_another_region() -> None:
    assert canonical_phone("(650) 253-0000", default_region="US") == "+16502530000"


def test_mexican_mobile_one_is_a_variant() -> None:
    assert canonical_phone("+52 1 55 1234 5678") == "+525512345678"
    assert whatsapp_digits_to_phone("5215512345678") == "+525512345678"
    assert identity_variants("+525512345678") == {"525512345678", "5215512345678"}


def test_argentine_mobile_keeps_its_nine_and_lists_the_form_without_it() -> None:
    assert canonical_phone("+54 11 15 1234 5678") == "+5491112345678"
    assert whatsapp_digits_to_phone("5491112345678") == "+5491112345678"
    assert identity_variants("+5491112345678") == {"5491112345678", "541112345678"}
    assert whatsapp_jid_candidates("+5491112345678")[0] == "541112345678@s.whatsapp.net"


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("", "not a phone number"),
        ("   ", "not a phone number"),
        ("---", "not a phone number"),
        ("n/a", "contains letters"),
        ("sem telefone", "contains letters"),
        ("11 9876-ABCD", "contains letters"),
        ("11 98765-432l", "contains letters"),
        ("11 3265-4321 ramal 12", "contains letters"),
        ("11 98765-4321 x12", "extension"),
        ("12", "too short"),
        ("+55 1", "too short"),
        ("+55 11 98765-43210", "too long"),
        ("1" * 30, "too long"),
        ("+999 1234567", "country code"),
        ("+55 20 98765-4321", "not a valid number"),
        ("+55 11 1234-5678", "not a valid number"),
        ("5511887654321", "not a valid number"),
        ("+1 650 253 00001", "too long"),
    ],
)
def test_invalid_input_raises_with_the_problem(raw: str, problem: str) -> None:
    with pytest.raises(InvalidPhone, match=problem) as caught:
        canonical_phone(raw)
    assert isinstance(caught.value, ValueError)


def test_error_message_does_not_echo_the_number() -> None:
    with pytest.raises(InvalidPhone) as caught:
        canonical_phone("+55 20 98765-4321")
    assert "98765" not in str(caught.value)


@pytest.mark.parametrize(
    ("digits", "problem"),
    [
        ("", "only the digits"),
        ("+5511987654321", "only the digits"),
        ("5511987654321@s.whatsapp.net", "only the digits"),
        ("5511987654321:12", "only the digits"),
        ("55 11 987654321", "only the digits"),
        ("٥٥١١٩٨٧٦٥٤٣٢١", "only the digits"),
        ("11987654321", "not a valid number"),
        ("999123456789", "country code"),
        ("5511", "too short"),
    ],
)
def test_whatsapp_digits_must_be_a_full_international_number(digits: str, problem: str) -> None:
    with pytest.raises(InvalidPhone, match=problem):
        whatsapp_digits_to_phone(digits)


@pytest.mark.parametrize(
    "function", [identity_variants, whatsapp_jid_candidates, is_brazilian_mobile]
)
@pytest.mark.parametrize(
    "not_canonical", ["5511987654321", "+55 11 98765-4321", "+551187654321", "+5215512345678"]
)
def test_functions_taking_e164_refuse_other_forms(
    function: Callable[[str], object], not_canonical: str
) -> None:
    with pytest.raises(InvalidPhone):
        function(not_canonical)


@pytest.mark.parametrize(
    ("e164", "expected"),
    [
        ("+5511987654321", True),
        ("+5531967654321", True),
        ("+551132654321", False),
        ("+555151234567", False),
        ("+558001234567", False),
        ("+351912345678", False),
    ],
)
def test_is_brazilian_mobile(e164: str, expected: bool) -> None:
    assert is_brazilian_mobile(e164) is expected


@pytest.mark.parametrize(
    ("e164", "masked"),
    [
        ("+5511987654321", "+55******4321"),
        ("+14155550123", "+1******0123"),
        ("+6834002", "+683******02"),
        ("not a phone", "***"),
    ],
)
def test_mask_phone_hides_all_but_the_country_and_last_digits(e164: str, masked: str) -> None:
    assert mask_phone(e164) == masked
