"""The words of a name search and how each may match a name: the Contatos page's rules, which
the inbox's search shares (contacts/query/search.py, messaging/repository/inbox.py).

Every word typed must be in the name, accent- and case-insensitively: one of 3+ letters
anywhere, a shorter one (too short for a trigram) at the start of one of the name's words;
one of 4+ letters may also be there with a typo, by pg_trgm's strict word similarity (`<<%`,
threshold 0.5 unless set otherwise): "joao silvq" finds "João Silva".
"""

from __future__ import annotations

from zapcrm.kit.folding import fold

__all__ = [
    "MAX_WORDS",
    "MAX_WORD_LENGTH",
    "TYPO_MIN_LENGTH",
    "allows_typo",
    "like_escape",
    "like_patterns",
    "matches_anywhere",
    "matches_literally",
    "name_words",
]

MAX_WORDS = 6
MAX_WORD_LENGTH = 50
TYPO_MIN_LENGTH = 4  # trigram similarity says little about shorter words
_ANYWHERE_MIN_LENGTH = 3  # a trigram's length: shorter words match the start of a word
_WORD_EDGES = ".,;:!?\"'()[]{}<>*"


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
