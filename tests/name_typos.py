"""Names as people write them and words as people type them, with typos: what the searches'
typo screens (kit/name_search.py `typo_screen`) are checked against."""

from __future__ import annotations

import random

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.kit.folding import fold

# Names as contacts write them: accents, particles, punctuation, repeated letters, digits,
# and characters unaccent leaves multibyte (pg_trgm hashes their trigrams).
NAME_WORDS = [
    "João", "Silva", "Silveira", "Damasceno", "Damaceno", "Jônatas", "Jonatas", "Conceição",
    "Antônio", "Maria", "Souza", "Ana", "Anna", "Banana", "Aparecida", "Gabriel", "Gabriela",
    "Lima", "O'Brien", "Ana-Maria", "(cliente)", "Xavier", "Vinícius", "Mariana", "Assunção",
    "Sebastião", "Joaquim", "2º", "Loja3", "ABC123", "Σωκράτης", "李小龍", "Zoë", "İgor",
    "Straße", "ÆON", "da", "de", "dos", "das",
]  # fmt: skip


def typed_words(rng: random.Random) -> list[str]:
    """Words as people type them: names without accents, with a letter or two wrong."""
    words = [fold(word) for word in NAME_WORDS if fold(word).isascii() and word.isalnum()]
    typed = []
    for word in words * 4:
        letters = list(word)
        for _ in range(rng.choice((0, 1, 1, 2))):
            at = rng.randrange(len(letters))
            edit = rng.choice(("swap", "drop", "add", "change"))
            if edit == "swap" and at + 1 < len(letters):
                letters[at], letters[at + 1] = letters[at + 1], letters[at]
            elif edit == "drop" and len(letters) > 2:
                del letters[at]
            else:
                letters.insert(at, rng.choice("aeiounmrsclq0"))
                if edit == "change":
                    del letters[at + 1]
        typed.append("".join(letters))
    return sorted(set(typed) | {"aaaa", "anana", "silvq", "damaceno", "jonatas", "j0ao"})


def generated_names(rng: random.Random, count: int) -> list[str]:
    """Names of one to four of NAME_WORDS."""
    return [
        " ".join(rng.choice(NAME_WORDS) for _ in range(rng.randrange(1, 5))) for _ in range(count)
    ]


async def use_strict_threshold(session: AsyncSession, threshold: str | None) -> None:
    """pg_trgm's strict word similarity threshold for the rest of the transaction (None: leave
    the default)."""
    if threshold is not None:
        await session.execute(
            text("select set_config('pg_trgm.strict_word_similarity_threshold', :t, true)"),
            {"t": threshold},
        )
