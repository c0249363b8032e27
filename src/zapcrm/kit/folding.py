"""Text compared the way people type it: without case and accents ("João" is "joao")."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Case-folded, with the accents taken off (NFKD, combining marks dropped)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
