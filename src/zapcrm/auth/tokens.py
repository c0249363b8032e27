"""Access tokens: issue Supabase-shaped HS256 JWTs locally and verify local or Supabase ones."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt

from zapcrm.auth.jwks import ASYMMETRIC_ALGORITHMS, JwksCache
from zapcrm.config import AuthProvider, Settings
from zapcrm.exceptions import InvalidToken

# Supabase Auth puts every signed-in user in this audience and Postgres role; anon and
# service_role keys are JWTs from the same issuer, so the role claim is what tells them apart.
AUTHENTICATED = "authenticated"

_REQUIRED_CLAIMS = ["exp", "iat", "sub", "aud", "iss", "role"]

# Messages are short and never contain the token, so an InvalidToken can be logged as is.
_REJECTIONS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.ExpiredSignatureError, "token expired"),
    (jwt.ImmatureSignatureError, "token not yet valid"),
    (jwt.InvalidAudienceError, "wrong token audience"),
    (jwt.InvalidIssuerError, "wrong token issuer"),
    (jwt.InvalidSignatureError, "bad token signature"),
    (jwt.InvalidAlgorithmError, "token algorithm not allowed"),
)


@dataclass(frozen=True)
class TokenClaims:
    """The verified identity in an access token."""

    user_id: uuid.UUID
    email: str | None
    session_id: uuid.UUID | None
    expires_at: datetime
    # Every verified claim, handed to Postgres as `request.jwt.claims` for RLS; kept out of repr
    # so user metadata does not spill into logs, and out of the hash because dicts have none.
    raw: Mapping[str, Any] = field(repr=False, hash=False)


class TokenIssuer:
    """Signs access tokens for the local provider with the claim set Supabase Auth uses."""

    def __init__(self, *, secret: str, issuer: str, ttl_seconds: int) -> None:
        if not secret:
            raise ValueError("the token secret must not be empty")
        if ttl_seconds <= 0:
            raise ValueError("the token lifetime must be positive")
        self._secret = secret
        self._issuer = issuer
        self._ttl_seconds = ttl_seconds

    def issue(
        self,
        *,
        user_id: uuid.UUID,
        email: str,
        session_id: uuid.UUID,
        app_metadata: Mapping[str, Any] | None = None,
        user_metadata: Mapping[str, Any] | None = None,
        now: datetime | None = None,
    ) -> tuple[str, int]:
        """Return a signed access token for the user and its lifetime in seconds."""
        if now is None:
            now = datetime.now(UTC)
        elif now.tzinfo is None:
            raise ValueError("`now` must be timezone-aware")
        issued_at = int(now.timestamp())
        # Same shape as a GoTrue access token, so RLS policies and `auth.jwt()` read a local
        # token exactly like a Supabase one and a database can move between the two.
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "sub": str(user_id),
            "aud": AUTHENTICATED,
            "exp": issued_at + self._ttl_seconds,
            "iat": issued_at,
            "email": email,
            "phone": "",
            "app_metadata": {"provider": "email", "providers": ["email"], **(app_metadata or {})},
            "user_metadata": dict(user_metadata or {}),
            "role": AUTHENTICATED,
            "aal": "aal1",
            "amr": [{"method": "password", "timestamp": issued_at}],
            "session_id": str(session_id),
            "is_anonymous": False,
        }
        token = jwt.encode(claims, self._secret, algorithm="HS256", headers={"typ": "JWT"})
        return token, self._ttl_seconds


class TokenVerifier:
    """Checks an access token's signature and claims; the algorithm comes from configuration."""

    def __init__(
        self,
        *,
        issuer: str,
        hs256_secret: str | None = None,
        jwks: JwksCache | None = None,
        audience: str = AUTHENTICATED,
        leeway_seconds: int = 5,
    ) -> None:
        if not hs256_secret and jwks is None:
            raise ValueError("a token verifier needs an HS256 secret, a JWKS, or both")
        self._issuer = issuer
        self._hs256_secret = hs256_secret or None
        self._jwks = jwks
        self._audience = audience
        self._leeway_seconds = leeway_seconds

    async def verify(self, token: str) -> TokenClaims:
        """Return the token's claims, or raise InvalidToken saying briefly why not."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("malformed token") from None

        alg = header.get("alg")
        key: str | jwt.PyJWK
        # The header only picks among the keys we configured; it never chooses a verification
        # method on its own. An HS256 token is refused when no secret is configured, which is
        # what stops a token MACed with a public key from being checked against that key.
        if alg == "HS256" and self._hs256_secret is not None:
            key = self._hs256_secret
        elif isinstance(alg, str) and alg in ASYMMETRIC_ALGORITHMS and self._jwks is not None:
            kid = header.get("kid")
            if kid is not None and not isinstance(kid, str):
                raise InvalidToken("malformed token")
            key = await self._jwks.signing_key(kid, alg)
        else:
            raise InvalidToken("token algorithm not allowed")

        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway_seconds,
                options={"require": _REQUIRED_CLAIMS},
            )
        except jwt.MissingRequiredClaimError as error:
            raise InvalidToken(f"token lacks the {error.claim} claim") from None
        except jwt.PyJWTError as error:
            raise InvalidToken(_rejection(error)) from None
        return _to_claims(claims)


def build_verifier(settings: Settings, http: httpx.AsyncClient) -> TokenVerifier:
    """Build the verifier for the configured auth provider."""
    if settings.auth_provider is AuthProvider.LOCAL:
        return TokenVerifier(
            issuer=settings.jwt_issuer, hs256_secret=settings.secret_key.get_secret_value()
        )
    if not settings.supabase_url:
        raise ValueError("SUPABASE_URL is required when AUTH_PROVIDER=supabase")
    jwks_url = settings.jwks_url
    return TokenVerifier(
        # GoTrue sets `iss` to its own external URL, which is the project URL plus /auth/v1.
        issuer=f"{settings.supabase_url.rstrip('/')}/auth/v1",
        hs256_secret=(
            settings.supabase_jwt_secret.get_secret_value()
            if settings.supabase_jwt_secret
            else None
        ),
        jwks=JwksCache(jwks_url, http) if jwks_url else None,
    )


def _rejection(error: jwt.PyJWTError) -> str:
    for kind, reason in _REJECTIONS:
        if isinstance(error, kind):
            return reason
    return "invalid token"


def _to_claims(claims: dict[str, Any]) -> TokenClaims:
    """Check the claims PyJWT does not know about and build the typed view of them."""
    # anon and service_role keys are signed by the same issuer; only a user may pass here.
    if claims["role"] != AUTHENTICATED:
        raise InvalidToken("token is not a user token")
    user_id = _parse_uuid(claims["sub"])
    if user_id is None:
        raise InvalidToken("token subject is not a user id")

    session_id = None
    if claims.get("session_id") is not None:
        session_id = _parse_uuid(claims["session_id"])
        if session_id is None:
            raise InvalidToken("token session id is malformed")

    email = claims.get("email")
    if email is not None and not isinstance(email, str):
        raise InvalidToken("token email is malformed")

    try:
        expires_at = datetime.fromtimestamp(int(claims["exp"]), tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise InvalidToken("token expiry is malformed") from None

    # GoTrue writes "" for a user who signed up by phone; callers should only see None.
    return TokenClaims(
        user_id=user_id,
        email=email or None,
        session_id=session_id,
        expires_at=expires_at,
        raw=claims,
    )


def _parse_uuid(value: object) -> uuid.UUID | None:
    """The UUID in its canonical lowercase text form, so `auth.uid()` reads the same id."""
    if not isinstance(value, str):
        return None
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return None
    return parsed if str(parsed) == value else None
