"""Other spellings ("Você quis dizer…?") for a name search that found nobody.

The search box already forgives a letter or two (search.py: pg_trgm strict word similarity
0.5), but trigrams barely see two swapped letters ("silvia" keeps 2 of the 7 trigrams of
"slivia"), and short words have too few of them. When a name search finds nobody, the
repository lists the words of the company's contact names that look like each typed word (a
loose trigram match, or the word with two neighbouring letters swapped, both through the
trigram index); here they are ranked by edit distance counting a swap as one edit (optimal
string alignment, from RapidFuzz), and the closest become searches of their own. The service
keeps those that find someone, with how many.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rapidfuzz.distance import OSA

from zapcrm.kit.folding import fold

__all__ = ["MIN_WORD_LENGTH", "NameWord", "allowance", "corrections", "spellings", "swaps"]

MIN_WORD_LENGTH = 4  # "ana" is one edit away from too many names to suggest any


@dataclass(frozen=True, slots=True)
class NameWord:
    """A word of contact names: folded (no case, no accents), as most often written, and in
    how many of the contacts the loose match found."""

    folded: str
    written: str
    uses: int


def allowance(word: str) -> int:
    """Edits a word may be away from a suggestion: one for short words, two from six letters."""
    return 1 if len(word) < 6 else 2


def swaps(word: str) -> list[str]:
    """The word (folded) with two neighbouring letters swapped, each way it differs: "slivia"
    -> "lsivia", "silvia", "slviia", "sliiva", "slivai". Trigrams miss these ("silvia" keeps 2 of
    the 7 of "slivia"), so the repository looks for them as they are."""
    typed = fold(word)
    found = []
    for i in range(len(typed) - 1):
        if typed[i] != typed[i + 1]:
            found.append(typed[:i] + typed[i + 1] + typed[i] + typed[i + 2 :])
    return list(dict.fromkeys(found))


def corrections(word: str, seen: Sequence[NameWord], limit: int) -> list[NameWord]:
    """Words of names within `allowance` edits of `word` (itself excluded): the closest first,
    then those starting with the same letter (people seldom mistype the first one: "slivia" is
    one edit from "silvia", "livia" and "olivia" alike), then the most used."""
    typed = fold(word)
    ranked = []
    for candidate in seen:
        if candidate.folded == typed:
            continue
        edits = OSA.distance(typed, candidate.folded, score_cutoff=allowance(typed))
        if edits <= allowance(typed):
            other_start = candidate.folded[:1] != typed[:1]
            ranked.append((edits, other_start, -candidate.uses, candidate.folded, candidate))
    ranked.sort(key=lambda item: item[:4])
    return [item[4] for item in ranked[:limit]]


def spellings(
    words: Sequence[str], seen: Mapping[str, Sequence[NameWord]], limit: int
) -> list[str]:
    """Up to `limit` searches like `words` with the unknown ones respelt.

    A word is kept as typed when it is short or some name has it (as a part, as the search
    box matches). The first unknown word with corrections offers its `limit` closest (less
    those holding an earlier one, which finds them already); every other unknown word is
    replaced by its closest. No suggestion when nothing could be respelt.
    """
    best: list[list[str]] = []
    alternatives: int | None = None
    for position, word in enumerate(words):
        known = seen.get(word, ())
        typed = fold(word)
        if len(typed) < MIN_WORD_LENGTH or any(typed in other.folded for other in known):
            best.append([word])
            continue
        found = corrections(word, known, limit)
        if not found:
            best.append([word])
            continue
        if alternatives is None:
            alternatives = position
        best.append([choice.written for choice in found])
    if alternatives is None:
        return []
    offered: list[str] = []
    for choice in best[alternatives]:
        # "Gabriel" already finds every Gabriela: the search box matches parts of names.
        if not any(fold(earlier) in fold(choice) for earlier in offered):
            offered.append(choice)
    return [
        " ".join(
            options[0] if position != alternatives else choice
            for position, options in enumerate(best)
        )
        for choice in offered
    ]
