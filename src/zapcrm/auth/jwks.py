"""Supabase's published signing keys (JWKS), fetched with httpx and cached with a refresh budget."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import jwt
import structlog

from zapcrm.exceptions import InvalidToken, ServiceUnavailable

log = structlog.get_logger(__name__)

# The asymmetric algorithms a JWKS may sign with, each with the only key type that fits it.
# Symmetric ("oct") keys are never taken from a published set: a shared secret that anyone can
# download is no secret, and accepting one would reopen the HS256/public-key confusion attack.
ASYMMETRIC_ALGORITHMS: dict[str, str] = {"ES256": "EC", "RS256": "RSA", "EdDSA": "OKP"}

# PyJWKClient would block the event loop on urllib; a bounded async fetch keeps a slow auth
# server from holding every request that needs a key.
_FETCH_TIMEOUT = httpx.Timeout(5.0)


class JwksCache:
    """Signing keys from a JWKS URL, cached for `ttl_seconds` and refetched on an unknown kid."""

    def __init__(
        self,
        url: str,
        http: httpx.AsyncClient,
        *,
        ttl_seconds: float = 600,
        min_refresh_interval: float = 30,
    ) -> None:
        self.url = url
        self._http = http
        self._ttl_seconds = ttl_seconds
        self._min_refresh_interval = min_refresh_interval
        self._keys: list[jwt.PyJWK] | None = None
        self._fetched_at = 0.0  # monotonic time of the last successful fetch
        self._attempted_at: float | None = None  # monotonic time of the last fetch, even failed
        # Bumped after every fetch so callers queued on the lock can tell one just happened.
        self._generation = 0
        self._lock = asyncio.Lock()

    async def signing_key(self, kid: str | None, alg: str) -> jwt.PyJWK:
        """Return the published key `kid` for verifying an `alg` signature, fetching if needed."""
        expected_key_type = ASYMMETRIC_ALGORITHMS.get(alg)
        if expected_key_type is None:
            raise InvalidToken("unsupported token algorithm")

        if self._keys is None:
            await self._refresh(min_age=0)
        elif time.monotonic() - self._fetched_at >= self._ttl_seconds:
            # A failed refresh keeps the stale keys: an auth-server blip should not log everyone
            # out, and the refresh budget stops every request from waiting on a dead server.
            await self._refresh(min_age=self._min_refresh_interval)
        if self._keys is None:
            raise ServiceUnavailable("the auth server's signing keys could not be fetched")

        key = _select(self._keys, kid, alg, expected_key_type)
        if key is None:
            # The kid comes from an unverified token, so an attacker could send a fresh one per
            # request; the refresh budget bounds how often that reaches the auth server.
            await self._refresh(min_age=self._min_refresh_interval)
            key = _select(self._keys, kid, alg, expected_key_type)
        if key is None:
            raise InvalidToken("unknown signing key")
        return key

    async def _refresh(self, *, min_age: float) -> None:
        """Fetch the key set unless a fetch finished while waiting or one ran within `min_age`."""
        seen_generation = self._generation
        async with self._lock:
            if self._generation != seen_generation:
                return
            if self._attempted_at is not None and time.monotonic() - self._attempted_at < min_age:
                return
            try:
                self._keys = await self._fetch()
                self._fetched_at = time.monotonic()
                log.info("jwks.fetched", url=self.url, key_ids=[key.key_id for key in self._keys])
            except (httpx.HTTPError, ValueError) as error:
                log.warning(
                    "jwks.fetch_failed",
                    url=self.url,
                    error=type(error).__name__,
                    cached=self._keys is not None,
                )
            # Not in `finally`: if this caller is cancelled mid-fetch, the next one in line
            # should fetch instead of taking "nothing fetched" as the shared answer.
            self._attempted_at = time.monotonic()
            self._generation += 1

    async def _fetch(self) -> list[jwt.PyJWK]:
        response = await self._http.get(
            self.url, timeout=_FETCH_TIMEOUT, headers={"Accept": "application/json"}
        )
        response.raise_for_status()
        return _parse_key_set(response.json())


def _parse_key_set(document: Any) -> list[jwt.PyJWK]:
    """Turn a JWKS document into its usable public signing keys, skipping the rest."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("a JWKS document is an object with a `keys` list")
    # An empty list is valid, not an error: a Supabase project still on the legacy HS256 secret
    # publishes `{"keys": []}` at the URL our settings derive by default.
    keys: list[jwt.PyJWK] = []
    for entry in document["keys"]:
        if not isinstance(entry, dict):
            continue
        if entry.get("kty") not in ASYMMETRIC_ALGORITHMS.values():
            continue
        if entry.get("use", "sig") != "sig" or "d" in entry:
            # Encryption keys and private keys have no business verifying our tokens.
            continue
        try:
            keys.append(jwt.PyJWK(entry))
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            log.warning("jwks.key_skipped", kid=entry.get("kid"), kty=entry.get("kty"))
    return keys


def _select(
    keys: list[jwt.PyJWK] | None, kid: str | None, alg: str, key_type: str
) -> jwt.PyJWK | None:
    """The key for `kid` if its own algorithm and type match `alg`; None if it is not published."""
    if keys is None:
        return None
    if kid is None:
        # Without a kid only an unambiguous key will do; the signature check still decides.
        candidates = [key for key in keys if key.algorithm_name == alg and key.key_type == key_type]
        return candidates[0] if len(candidates) == 1 else None
    for key in keys:
        if key.key_id == kid:
            if key.algorithm_name != alg or key.key_type != key_type:
                raise InvalidToken("token algorithm does not match its signing key")
            return key
    return None
