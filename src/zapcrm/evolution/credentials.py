"""Instance tokens at rest: encrypted with Fernet (AES-128-CBC + HMAC, from `cryptography`).

The key comes from CREDENTIALS_KEY, or is derived from SECRET_KEY with HKDF when that is not
set, so a database dump alone never reveals a token. Old keys can be listed for rotation.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from zapcrm.config import Settings

# Tokens opened, kept by ciphertext: every send opens its instance's token, a Fernet decrypt
# (HMAC and AES) each time, for the few ciphertexts a process ever sees. A token stored again
# (rotated on its server, or sealed anew) is a new ciphertext, so it is never answered from here.
_OPENED_LIMIT = 1024


class CredentialError(Exception):
    """A stored credential cannot be decrypted with the configured keys."""


def _derived_key(secret: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"zapcrm instance tokens")
    return base64.urlsafe_b64encode(hkdf.derive(secret.encode()))


class CredentialBox:
    """Encrypts and decrypts instance tokens."""

    def __init__(self, keys: list[bytes]) -> None:
        self._fernet = MultiFernet([Fernet(key) for key in keys])
        self._opened: dict[str, str] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> CredentialBox:
        """Keys from CREDENTIALS_KEY (comma-separated, newest first) or derived from SECRET_KEY."""
        if settings.credentials_key is not None:
            keys = [
                key.strip().encode()
                for key in settings.credentials_key.get_secret_value().split(",")
                if key.strip()
            ]
        else:
            keys = [_derived_key(settings.secret_key.get_secret_value())]
        return cls(keys)

    def seal(self, token: str) -> str:
        """The encrypted token, as text for the database."""
        return self._fernet.encrypt(token.encode()).decode()

    def open(self, sealed: str) -> str:
        """The token back; CredentialError when no configured key opens it."""
        token = self._opened.get(sealed)
        if token is not None:
            return token
        try:
            token = self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise CredentialError("cannot decrypt the instance credential") from None
        if len(self._opened) >= _OPENED_LIMIT:
            self._opened.clear()  # only ever reached by a process holding that many tokens
        self._opened[sealed] = token
        return token
