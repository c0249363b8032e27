"""The search box: one free-text `q`, read as a phone, an e-mail or a name, compiled to SQL.

- Phone (only digits and `+ ( ) - . /` spaces): a prefix of the canonical E.164 number, tried
  as typed with its country code ("5511 9876"), as a national number with the area code
  ("11 98765" -> +5511 98765...), and, for Brazil, as a local number without the area code
  ("98765" -> +55 <any DDD> 98765...: the start of the number after `+55` and the DDD); a whole
  number in any format also matches exactly.
  Four digits or more typed without `+` also match the end of the number ("4321": "the number
  ending in 4321", as customers say it on the phone).
- E-mail (contains `@`): prefix of the address, case-insensitive (the exact address included);
  starting with `@`, the end of the address ("@empresa.com.br": everyone at that domain) or,
  without a dot, the domain's name ("@gmail": everyone at gmail.*).
- Name (anything else): every word must appear in the name, accent- and case-insensitively,
  as a substring or, for words of 4+ letters, with a typo (pg_trgm strict word similarity,
  default threshold 0.5): "joao silvq" finds "João Silva". A single word also matches an
  e-mail prefix ("maria.s" finds maria.souza@...) and a domain: with a dot, the whole domain
  ("empresa.com.br" finds ana@empresa.com.br and ana@vendas.empresa.com.br); without, the
  domain's name ("gmail" finds ana@gmail.com and ana@gmail.com.br, not ana@mail.gmail.com).

Every branch is answerable by an index: the trigram GIN index on `search_name`, the
`(company_id, phone_e164 text_pattern_ops)` btree, the `(company_id, lower(email))` btree,
for the ends of numbers and addresses btrees on the reversed values (migration 0041), for a
domain's name a btree on the part after the `@` (migration 0044) and for a local number one on
the part after `+55` and the DDD (migration 0046), each read as a range.
Reads go through the tenant view (source.py explains why).

A typo costs: `<<%` makes the name's trigrams and tries each extent of its words, ~5 us a
name, where a LIKE takes a tenth of that; asked of the trigram index, it decodes the long
posting lists of the typed word's edge trigrams ("  d" is in 288,737 of 1,000,000 names). So
a typo is looked up among the company's name words instead (migration 0057, `typo_lookups`
and repository.py `words_within_typo`): the spellings `<<%` puts within a typo of the typed
word, then the names holding one of them as a whole word (a LIKE on its rarest trigrams, then
a word-bounded regular expression). That finds the names `<<%` finds through one of their
words. `<<%` also matches an extent of several words of a name ("dasilva": 0.55 with "da
Silva", 0.4 with "Silva"): a typed word with no name word within a typo keeps `<<%` (so
"dasilva" still finds every "da Silva"), one with some no longer finds names it is within a
typo of only across several of their words (none of the bench's typos, `test_name_words.py`).
A word that cannot be looked up this way (not ASCII letters and digits) or that has too many
spellings keeps `<<%` too, which then only runs on names holding enough of the word's
trigrams, looked for by LIKE (`_may_be_similar`: the same names, a sixth of the time).
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import phonenumbers
from sqlalchemy import (
    Boolean,
    Float,
    Integer,
    Text,
    and_,
    bindparam,
    cast,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.sql.elements import ColumnElement

from zapcrm.contacts.query import source
from zapcrm.contacts.query.fields import like_escape, prefix_range, search_text, suffix_range
from zapcrm.kit.name_search import (
    MAX_WORDS,
    STRICT_THRESHOLD,
    STRICT_THRESHOLD_SQL,
    allows_typo,
    like_patterns,
    name_words,
    other_spellings,
    typo_screen,
    whole_word_pattern,
)
from zapcrm.kit.name_search import typo_lookups as name_typo_lookups
from zapcrm.kit.phones import InvalidPhone, canonical_phone

__all__ = [
    "MAX_WORDS",
    "SearchTerm",
    "looks_like_phone",
    "parse_search",
    "phone_found",
    "relevance",
    "search_clause",
    "typo_lookups",
]

MIN_SUFFIX_DIGITS = 4  # fewer digits end too many numbers to mean one person
_THRESHOLD = literal_column(STRICT_THRESHOLD_SQL, Float)
_BELOW_DEFAULT = select(_THRESHOLD < STRICT_THRESHOLD).scalar_subquery()
_PHONE_LIKE = re.compile(r"^\+?[0-9 ().\-/]+$")
_EMAIL_LIKE = re.compile(r"^[\w.+\-]+$")


@dataclass(frozen=True, slots=True)
class SearchTerm:
    """A parsed search box: what kind of thing was typed and the pieces the SQL needs."""

    kind: Literal["name", "phone", "email"]
    text: str
    words: tuple[str, ...] = ()
    phone_prefixes: tuple[str, ...] = ()
    phone_suffixes: tuple[str, ...] = ()
    local_numbers: tuple[str, ...] = ()  # Brazilian numbers typed without their DDD


def parse_search(q: str | None, default_region: str = "BR") -> SearchTerm | None:
    """Read the search box; None when there is nothing to search for."""
    text = " ".join((q or "").split())
    if not text:
        return None
    if looks_like_phone(text):
        return SearchTerm(
            "phone",
            text,
            phone_prefixes=_phone_prefixes(text, default_region),
            phone_suffixes=_phone_suffixes(text),
            local_numbers=_local_numbers(text, default_region),
        )
    if "@" in text:
        return SearchTerm("email", text.lower())
    words = name_words(text)
    if not words:
        return None
    return SearchTerm("name", " ".join(words), words=words)


def looks_like_phone(q: str) -> bool:
    """Whether the search box holds a phone number (digits and phone punctuation only)."""
    text = q.strip()
    return bool(_PHONE_LIKE.match(text)) and any(ch.isdigit() for ch in text)


def phone_found(term: SearchTerm, phone: str | None) -> bool:
    """Whether a contact with this number (E.164) meets a phone term, as `search_clause`
    decides in SQL: the live inbox judges rows arriving live with it."""
    if phone is None:
        return False
    # The SQL compares byte-wise ranges (`prefix_range`), which for these ASCII digits is
    # startswith; `substr(phone_e164, 6)` is the number after `+55` and the DDD.
    return (
        phone.startswith(term.phone_prefixes)
        or phone.endswith(term.phone_suffixes)
        or (phone.startswith("+55") and phone[5:].startswith(term.local_numbers))
    )


def typo_lookups(term: SearchTerm) -> tuple[str, ...]:
    """The words of a name search whose typos are looked up among the company's name words
    (repository.py `words_within_typo`), folded; pass what it finds to `search_clause`."""
    return name_typo_lookups(term.words) if term.kind == "name" else ()


def search_clause(
    term: SearchTerm, spellings: Mapping[str, Sequence[str]] | None = None
) -> ColumnElement[bool]:
    """The WHERE condition of a search term. `spellings`: for each word of `typo_lookups`,
    the company's name words within a typo of it (without it, typos are tested by `<<%`)."""
    if term.kind == "phone":
        phone = source.contacts().c.phone_e164
        # One range per prefix: each becomes a range scan on the phone index (a BitmapOr).
        ranges = [prefix_range(phone, prefix) for prefix in term.phone_prefixes]
        ranges += [suffix_range(phone, suffix) for suffix in term.phone_suffixes]
        ranges += [
            and_(prefix_range(phone, "+55"), prefix_range(_after_area_code(phone), local))
            for local in term.local_numbers
        ]
        return or_(*ranges)
    if term.kind == "email":
        if term.text.startswith("@") and len(term.text) > 1:
            domain = term.text[1:].strip(".")
            if domain and "." not in domain:
                return or_(_email_suffix(term.text), _email_domain(domain))
            return _email_suffix(term.text)
        return _email_prefix(term.text)
    clause = and_(*(_word(word, spellings or {}) for word in term.words))
    if len(term.words) == 1 and _EMAIL_LIKE.match(term.words[0]):
        word = term.words[0].lower()
        if "." in word.strip("."):
            ends = [_email_suffix(f"@{word}"), _email_suffix(f".{word}")]
        else:
            ends = [_email_domain(word)]
        # Each way holds the word somewhere in the address. A walk of the newest contacts
        # (the plan for a word many names have) tests that first, with one lower() an
        # address, instead of up to three in the ways themselves: they took half of the
        # walk's time for "damaceno" (the planner still reads each way from its index).
        somewhere = func.strpos(func.lower(source.contacts().c.email), _param(word)) > 0
        clause = or_(clause, and_(somewhere, or_(_email_prefix(word), *ends)))
    return clause


def relevance(term: SearchTerm) -> ColumnElement[float] | None:
    """How well a contact's name matches a name search (higher is better); None for others."""
    if term.kind != "name":
        return None
    name = source.search_name()
    typed = search_text(_param(term.text))
    # Double precision so the score survives a round trip through a page cursor exactly.
    return cast(func.similarity(name, typed) + func.word_similarity(typed, name), Float)


def _word(word: str, spellings: Mapping[str, Sequence[str]]) -> ColumnElement[bool]:
    name = source.search_name()
    # Too short for a trigram, a word matches the start of one of the name's words instead.
    clause = or_(
        *(name.like(search_text(_param(pattern)), escape="\\") for pattern in like_patterns(word))
    )
    others = other_spellings(word, spellings)
    if others is not None:
        return or_(clause, _holds_word(name, others)) if others else clause
    if allows_typo(word):
        similar = search_text(_param(word)).op("<<%", is_comparison=True)(name)
        screen = _may_be_similar(word, name)
        clause = or_(clause, similar if screen is None else and_(screen, similar))
    return clause


def _holds_word(name: ColumnElement[str], words: Sequence[str]) -> ColumnElement[bool]:
    """The name has one of `words` (name words of the vocabulary) as a whole word."""
    # The LIKEs find candidates by each word's trigrams in the index (its rarest decide); the
    # expression, through a function the index cannot answer, keeps only whole words, split
    # as pg_trgm and the vocabulary split them.
    held = or_(*(name.like(_param(f"%{like_escape(word)}%"), escape="\\") for word in words))
    pattern = _param(whole_word_pattern(words))
    return and_(held, func.regexp_like(name, pattern, type_=Boolean))


@functools.lru_cache(maxsize=1024)
def _may_be_similar(word: str, name: ColumnElement[str]) -> ColumnElement[bool] | None:
    """kit/name_search.py `typo_screen` as a condition on `name`: every name `word <<% name`
    holds for passes it. Kept per word and name expression: its ~30 SQL elements took 1-2 ms
    to build, for every search."""
    screen = typo_screen(word)
    if screen is None:
        return None
    held = [cast(name.like(_param(f"%{piece}%")), Integer) for piece in screen.pieces]
    present = sum(held[1:], start=held[0])
    needed = select(screen.needed(_THRESHOLD)).scalar_subquery()
    quick = or_(_BELOW_DEFAULT, *(name.like(_param(f"%{piece}%")) for piece in screen.quick))
    multibyte = func.octet_length(name) != func.char_length(name)
    return or_(and_(quick, present >= needed), multibyte)


def _email_prefix(prefix: str) -> ColumnElement[bool]:
    lowered = func.lower(source.contacts().c.email)
    clause: ColumnElement[bool] = lowered.like(_param(f"{like_escape(prefix)}%"), escape="\\")
    # LIKE 'x%' only uses a btree under the C collation; a range on the alphanumeric stem lets
    # the (company_id, lower(email)) index answer under any collation, and LIKE still decides.
    stem = prefix
    while stem and not stem[-1].isalnum():
        stem = stem[:-1]
    if stem:
        upper = stem[:-1] + chr(ord(stem[-1]) + 1)
        # LIKE first: a walk of the newest contacts tests it on each, and most addresses
        # fail it at their first letter, where `>=` and `<` compare by the collation.
        clause = and_(clause, lowered >= _param(stem), lowered < _param(upper))
    return clause


def _email_suffix(suffix: str) -> ColumnElement[bool]:
    return suffix_range(func.lower(source.contacts().c.email), suffix)


def _email_domain(name: str) -> ColumnElement[bool]:
    """The address is at `name`.<anything>: a prefix range on the part after the `@`."""
    # Constants written into the SQL, not bound: a prepared statement's generic plan must
    # still see migration 0044's index expression, `split_part(lower(email), '@', 2)`.
    domain = func.split_part(
        func.lower(source.contacts().c.email), literal_column("'@'"), literal_column("2")
    )
    return prefix_range(domain, f"{name}.")


def _after_area_code(phone: ColumnElement[str]) -> ColumnElement[str]:
    """A Brazilian number without `+55` and its two-digit DDD: the subscriber's number."""
    # Written into the SQL, not bound: migration 0046's index is on `substr(phone_e164, 6)`.
    return func.substr(phone, literal_column("6"), type_=Text)


def _phone_suffixes(text: str) -> tuple[str, ...]:
    digits = re.sub(r"\D", "", text)
    if text.startswith("+") or len(digits) < MIN_SUFFIX_DIGITS:
        return ()  # an international number is typed from its start
    return (digits,)


def _phone_prefixes(text: str, region: str) -> tuple[str, ...]:
    digits = re.sub(r"\D", "", text)
    prefixes: set[str] = {f"+{digits}"}  # as typed, with its country code
    with contextlib.suppress(InvalidPhone):
        prefixes.add(canonical_phone(text, region))  # a whole number in any format
    if not text.startswith("+"):
        national = digits.lstrip("0")  # "011 98765..." carries the trunk prefix 0
        country = phonenumbers.country_code_for_region(region)
        if national and country:
            prefixes.add(f"+{country}{national}")
    # A prefix already covered by a shorter one adds nothing but an index probe.
    kept = {p for p in prefixes if not any(o != p and p.startswith(o) for o in prefixes)}
    return tuple(sorted(kept))


def _local_numbers(text: str, region: str) -> tuple[str, ...]:
    if region != "BR" or text.startswith("+"):
        return ()
    national = re.sub(r"\D", "", text).lstrip("0")
    # Subscriber numbers start with 2-9 (area codes with 1-9) and have at most 9 digits.
    if 4 <= len(national) <= 9 and national[0] in "23456789":
        return (national,)
    return ()


def _param(value: Any) -> ColumnElement[Any]:
    return bindparam(None, value, type_=Text)
