"""bcrypt password hashes, in the same format Supabase Auth stores in `encrypted_password`."""

from __future__ import annotations

import bcrypt

from zapcrm.exceptions import ValidationFailed
from zapcrm.i18n import N_

MIN_PASSWORD_LENGTH = 8
# bcrypt only reads 72 bytes and bcrypt>=5 refuses longer input instead of truncating silently.
MAX_PASSWORD_BYTES = 72
_ROUNDS = 10  # Supabase Auth's cost (GoTrue uses bcrypt.DefaultCost = 10)

# Checked against when the account does not exist, so that "unknown user" takes as long as
# "wrong password" and response times do not reveal which e-mails have accounts.
_DUMMY_HASH = bcrypt.hashpw(b"zapcrm-timing-equaliser", bcrypt.gensalt(_ROUNDS))


def validate_password(password: str) -> None:
    """Raise ValidationFailed when a new password is too short or too long for bcrypt."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            N_("a senha precisa de pelo menos {minimum} caracteres", minimum=MIN_PASSWORD_LENGTH)
        )
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise ValidationFailed(
            N_("a senha pode ter no máximo {maximum} bytes", maximum=MAX_PASSWORD_BYTES)
        )


def hash_password(password: str) -> str:
    """A bcrypt hash (`$2b$10$...`) of a validated password."""
    validate_password(password)
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(_ROUNDS)).decode()


def verify_password(password: str, encrypted: str | None) -> bool:
    """Whether the password matches the stored hash; constant-time, and as slow for no hash."""
    candidate = password.encode()[:MAX_PASSWORD_BYTES]
    if not encrypted:
        bcrypt.checkpw(candidate, _DUMMY_HASH)
        return False
    try:
        return bcrypt.checkpw(candidate, encrypted.encode())
    except ValueError:  # a corrupt or foreign hash format: treat as a mismatch
        return False
