"""The import's phone fast path agrees with kit.phones on every DDD, format and key."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zapcrm.contacts.importing.phones import canonical, fast_brazilian, phone_keys
from zapcrm.kit.phones import InvalidPhone, canonical_phone, identity_variants


def _reference(raw: str) -> str | None:
    try:
        return canonical_phone(raw, "BR")
    except InvalidPhone:
        return None


def _formats(ddd: str, subscriber: str) -> list[str]:
    number = ddd + subscriber
    head, tail = subscriber[:-4], subscriber[-4:]
    return [
        number,
        "0" + number,
        "55" + number,
        "+55" + number,
        f"({ddd}) {head}-{tail}",
        f"+55 ({ddd}) {head}-{tail}",
        f"0{ddd} {head} {tail}",
        f"0 ({ddd}) {head}.{tail}",
        f"55 {ddd} {subscriber}",
        f" +55-{ddd}-{subscriber} ",
        "+550" + number,
        "00" + number,
        "055" + number,
        "+5" + number,
        "5" + number,
        number + "1",
        number[:-1],
    ]


def test_fast_path_matches_kit_phones_on_every_ddd_and_format() -> None:
    generator = random.Random(20260615)
    fast_hits = 0
    for area in range(100):
        ddd = f"{area:02d}"
        for first in "0123456789":
            for length in (7, 8, 9, 10):
                tail = "".join(generator.choice("0123456789") for _ in range(length - 1))
                for raw in _formats(ddd, first + tail):
                    fast = fast_brazilian(raw)
                    if fast is not None:
                        fast_hits += 1
                        assert fast == _reference(raw), raw
    assert fast_hits > 5_000  # the fast path really carries the common formats


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet="0123456789 ()-.+", min_size=8, max_size=22))
def test_fast_path_never_disagrees_on_arbitrary_punctuation(raw: str) -> None:
    fast = fast_brazilian(raw)
    if fast is not None:
        assert fast == _reference(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "+55 (11) 98765-4321",
        "011 98765 4321",
        "11987654321",
        "551187654321",
        "(11) 8765-4321",
        "+55 11 8765 4321",
        "0xx11 98765-4321",
        "55 11 9 8765 4321",
    ],
)
def test_human_formats_of_one_mobile_are_one_number(raw: str) -> None:
    assert canonical(raw, "BR") == "+5511987654321"


def test_landline_never_gains_a_ninth_digit() -> None:
    assert canonical("(11) 3456-7890", "BR") == "+551134567890"
    assert canonical("551134567890", "BR") == "+551134567890"
    assert phone_keys("+551134567890") == ["551134567890"]


@pytest.mark.parametrize(
    "e164",
    ["+5511987654321", "+551134567890", "+5521987654321", "+16502530000", "+525512345678",
     "+5491123456789", "+351912345678"],
)  # fmt: skip
def test_keys_are_kit_phones_variants_canonical_first(e164: str) -> None:
    keys = phone_keys(e164)
    assert keys[0] == e164[1:]
    assert set(keys) == identity_variants(e164)
    assert len(keys) == len(set(keys))


def test_other_regions_use_kit_phones() -> None:
    assert canonical("(650) 253-0000", "US") == "+16502530000"
    with pytest.raises(InvalidPhone):
        canonical("123", "BR")
    with pytest.raises(InvalidPhone):
        canonical("11 98765-43ab", "BR")
