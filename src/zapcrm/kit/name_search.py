"""The words of a name search and how each may match a name: the Contatos page's rules, which
the inbox's search shares (contacts/query/search.py, messaging/repository/inbox.py).

Every word typed must be in the name, accent- and case-insensitively: one of 3+ letters
anywhere, a shorter one (too short for a trigram) at the start of one of the name's words;
one of 4+ letters may also be there with a typo, by pg_trgm's strict word similarity (`<<%`,
threshold 0.5 unless set otherwise): "joao silvq" finds "João Silva".

`<<%` is costly (it makes the name's trigrams and tries each extent of its words, ~5 us a
name, where a LIKE takes a tenth of that), so both searches test a name with `typo_screen`'s
LIKEs first: the same names reach `<<%`, several times fewer of them. Better still, a word's
typos are looked up among the company's name words (migration 0057): `typo_lookups` says which
words, and `other_spellings` what a name must then hold as a whole word (`whole_word_pattern`)
instead of being given to `<<%` at all.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from zapcrm.kit.folding import fold

__all__ = [
    "MAX_SPELLINGS",
    "MAX_WORDS",
    "MAX_WORD_LENGTH",
    "STRICT_THRESHOLD",
    "STRICT_THRESHOLD_SQL",
    "TYPO_MIN_LENGTH",
    "TYPO_SLACK",
    "TypoScreen",
    "allows_typo",
    "like_escape",
    "like_patterns",
    "matches_anywhere",
    "matches_literally",
    "name_words",
    "other_spellings",
    "typo_lookups",
    "typo_screen",
    "whole_word_pattern",
]

MAX_WORDS = 6
MAX_WORD_LENGTH = 50
TYPO_MIN_LENGTH = 4  # trigram similarity says little about shorter words
_ANYWHERE_MIN_LENGTH = 3  # a trigram's length: shorter words match the start of a word
_WORD_EDGES = ".,;:!?\"'()[]{}<>*"
STRICT_THRESHOLD = 0.5  # pg_trgm.strict_word_similarity_threshold unless set otherwise
# That threshold as `<<%` reads it in the session (pg_trgm's default until its library is
# loaded): SQL both searches put in a scalar subquery, so it is read once per statement.
STRICT_THRESHOLD_SQL = (
    "coalesce(cast(current_setting('pg_trgm.strict_word_similarity_threshold', true)"
    f" as float8), {STRICT_THRESHOLD})"
)
TYPO_SLACK = 1e-4  # absorbs the float4 rounding of pg_trgm's similarity
# More spellings within a typo than this and the word keeps `<<%`: a LIKE per spelling, tested
# on each name a walk of the newest ones reads, would cost more than the typo test.
MAX_SPELLINGS = 24


def name_words(text: str) -> tuple[str, ...]:
    """The words typed, without the punctuation around them: at most MAX_WORDS, each cut to
    MAX_WORD_LENGTH characters."""
    words = (raw.strip(_WORD_EDGES) for raw in text.split())
    return tuple(word[:MAX_WORD_LENGTH] for word in words if word)[:MAX_WORDS]


def allows_typo(word: str) -> bool:
    """Whether a word may also match with a typo (pg_trgm `<<%`)."""
    return len(word) >= TYPO_MIN_LENGTH


def matches_anywhere(word: str) -> bool:
    """Whether a word may be anywhere in a name (a trigram index can look it up) rather than
    only at the start of one of its words."""
    return len(word) >= _ANYWHERE_MIN_LENGTH


def typo_lookups(words: Iterable[str]) -> tuple[str, ...]:
    """The words whose typos are looked up among the company's name words (contacts'
    repository `words_within_typo`), folded, each once."""
    return tuple(dict.fromkeys(word.lower() for word in words if _looked_up(word)))


def _looked_up(word: str) -> bool:
    # ASCII letters and digits: app.search_text folds them as lower() does, and pg_trgm reads
    # them as one word, as it reads each word of the vocabulary.
    return allows_typo(word) and word.isascii() and word.isalnum()


def other_spellings(word: str, spellings: Mapping[str, Sequence[str]]) -> tuple[str, ...] | None:
    """What a name holds, as a whole word, to match `word` with a typo, besides the word's own
    LIKE: the name words within a typo of it that do not contain it (a spelling holding the
    typed word is in every name the LIKE finds already). None when the word's typos are to be
    tested by `<<%` instead: it was not looked up, no name word is within a typo of it (it may
    still be within one of an extent of several words, "dasilva" of "da Silva", which only
    `<<%` sees), or it has more than MAX_SPELLINGS."""
    folded = word.lower()
    known = spellings.get(folded) if _looked_up(word) else None
    if not known:
        return None
    others = sorted({spelling for spelling in known if folded not in spelling})
    return tuple(others) if len(others) <= MAX_SPELLINGS else None


def whole_word_pattern(words: Sequence[str]) -> str:
    """A POSIX regular expression (Postgres `regexp_like`) holding when a folded name has one
    of `words` as a whole word, split as pg_trgm and the vocabulary split names."""
    alternatives = "|".join(re.escape(word) for word in words)
    return f"(^|[^[:alnum:]])({alternatives})([^[:alnum:]]|$)"


def like_escape(value: str) -> str:
    """Escape LIKE wildcards so a value matches literally (backslash is the escape character)."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def like_patterns(word: str) -> tuple[str, ...]:
    """The LIKE patterns (backslash escapes) any of which finds the word in a name, before
    they are folded as the name is (`app.search_text`)."""
    escaped = like_escape(word)
    if matches_anywhere(word):
        return (f"%{escaped}%",)
    return (f"{escaped}%", f"% {escaped}%")


def matches_literally(word: str, name: str) -> bool:
    """`like_patterns` in Python: whether a word (as typed) is in a name folded by kit/folding.py
    (the twin of `app.search_text`) without a typo."""
    folded = fold(word)
    if matches_anywhere(word):
        return folded in name
    return name.startswith(folded) or f" {folded}" in name


@dataclass(frozen=True, slots=True)
class TypoScreen:
    """What a name must hold for `word <<% name` to be possible (see `typo_screen`)."""

    pieces: tuple[str, ...]  # the word's trigrams of 2+ letters, as substrings of a name
    quick: tuple[str, ...]  # at the default threshold a match holds one of these at least
    trigrams: int  # all of the word's trigrams
    counted: int  # its trigrams taken as present without a look (a word's first letter)

    def needed(self, threshold: Any) -> Any:
        """How many `pieces` a name must hold at this threshold (compare with >=): a number,
        or an SQLAlchemy expression when the threshold is one (the session's setting)."""
        return threshold * self.trigrams - self.counted - TYPO_SLACK


def typo_screen(word: str) -> TypoScreen | None:
    """The LIKE test every name within `<<%` of a typed word passes; None for a word it cannot
    be written for (anything but ASCII letters and digits: `app.search_text` may fold it
    otherwise, and pg_trgm splits it into words).

    Strict word similarity is |common| / |union| of the trigrams of the word and of the best
    extent of whole words in the name, so a match holds at least threshold x (the word's
    trigrams); a trigram in the name is the same three characters in it (or two, for those
    padded at a word's edge, or one, counted as present). pg_trgm hashes a trigram with a
    multibyte character, which could collide with one of ours: callers let such names through
    (`octet_length <> char_length`). On the 1,000,000 names of bench/search.py, "damaceno":
    0.6-0.9 us a name, `<<%` 4-5 us; it let 4,155 names through to `<<%`, which matched 4,093.
    """
    folded = word.lower()
    if len(folded) < 2 or not (folded.isascii() and folded.isalnum()):
        return None
    padded = f"  {folded} "
    trigrams = {padded[start : start + 3] for start in range(len(folded) + 1)}
    # "  j" (a word starting with j) is counted as present: one letter is in most names.
    pieces = sorted(trigram.strip() for trigram in trigrams if len(trigram.strip()) > 1)
    counted = len(trigrams) - len(pieces)
    # Most names hold none of the word's longer (rarer) pieces. At the default threshold a
    # match holds `least` of them, so one of any len - least + 1: a name holding none of the
    # longest is out after those few LIKEs. (A word of two letters or more gives least >= 1.)
    least = math.ceil(STRICT_THRESHOLD * len(trigrams) - counted - TYPO_SLACK)
    longest = sorted(pieces, key=lambda piece: (-len(piece), piece))
    return TypoScreen(
        pieces=tuple(pieces),
        quick=tuple(longest[: len(pieces) - least + 1]),
        trigrams=len(trigrams),
        counted=counted,
    )
