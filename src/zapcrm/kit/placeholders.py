"""The `{{variable}}` names company-written texts may use (quick replies, campaigns), in English
and in the Portuguese a Brazilian team types, and the person facts behind them."""

from __future__ import annotations

# `reopens` (when the business opens again) exists only in the out-of-office reply.
VARIABLES = ("name", "first_name", "phone", "agent", "company", "reopens")
# The panel is in Portuguese: the same variables under the names a Brazilian team would type.
ALIASES = {
    "nome": "name",
    "primeiro_nome": "first_name",
    "telefone": "phone",
    "atendente": "agent",
    "empresa": "company",
    "reabertura": "reopens",
}


def variable(typed: str) -> str | None:
    """The variable a placeholder names (any letter case, English or Portuguese), or None."""
    name = typed.strip().lower()
    name = ALIASES.get(name, name)
    return name if name in VARIABLES else None


def first_name(name: str | None) -> str | None:
    """The first word of a person's name (None when there is none)."""
    parts = (name or "").split()
    return parts[0] if parts else None
