"""Access tokens: local ones round-trip, Supabase ones verify by secret or JWKS, forgeries fail."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import SecretStr

from tests.auth.conftest import JwksServer, JwtKeys, SigningKey
from zapcrm.auth.jwks import JwksCache
from zapcrm.auth.tokens import TokenClaims, TokenIssuer, TokenVerifier, build_verifier
from zapcrm.config import AuthProvider, Settings
from zapcrm.exceptions import InvalidToken

LOCAL_ISSUER = "zapcrm"
LOCAL_SECRET = "local-secret-key-0123456789abcdef-0123456789"
SUPABASE_ISSUER = "https://abcdefghijklmnop.supabase.co/auth/v1"
SUPABASE_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long"
USER_ID = uuid.UUID("6f1c2a4e-8d3b-4f7a-9c5e-1b2d3e4f5a6b")
SESSION_ID = uuid.UUID("0e9d8c7b-6a5f-4e3d-8c1b-0a9f8e7d6c5b")
DROP = object()  # passed as a claim value to leave that claim out


def supabase_claims(*, issuer: str = SUPABASE_ISSUER, **changes: Any) -> dict[str, Any]:
    """A GoTrue access-token payload for USER_ID, issued now, with `changes` applied."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": str(USER_ID),
        "aud": "authenticated",
        "exp": now + 3600,
        "iat": now,
        "email": "ana@example.com",
        "phone": "",
        "app_metadata": {"provider": "email", "providers": ["email"]},
        "user_metadata": {"full_name": "Ana"},
        "role": "authenticated",
        "aal": "aal1",
        "amr": [{"method": "password", "timestamp": now}],
        "session_id": str(SESSION_ID),
        "is_anonymous": False,
    }
    for name, value in changes.items():
        if value is DROP:
            del claims[name]
        else:
            claims[name] = value
    return claims


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge_hs256(claims: dict[str, Any], secret: bytes) -> str:
    """An HS256 token MACed with any bytes; PyJWT itself refuses a PEM as an HMAC secret."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    signing_input = f"{header}.{_b64(json.dumps(claims).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def hs256(claims: dict[str, Any], secret: str = SUPABASE_SECRET) -> str:
    """A token signed with the legacy shared secret, as Supabase did before signing keys."""
    return jwt.encode(claims, secret, algorithm="HS256")


def tampered(token: str) -> str:
    """The same signature over a payload that now names another user."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = str(uuid.uuid4())
    return f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"


def _now() -> int:
    return int(time.time())


@pytest.fixture
def verifier(jwt_jwks_server: JwksServer, jwt_http: httpx.AsyncClient) -> TokenVerifier:
    """A Supabase verifier with both the legacy secret and the project's JWKS configured."""
    return TokenVerifier(
        issuer=SUPABASE_ISSUER,
        hs256_secret=SUPABASE_SECRET,
        jwks=JwksCache(jwt_jwks_server.url, jwt_http),
    )


@pytest.fixture
def jwks_only_verifier(jwt_jwks_server: JwksServer, jwt_http: httpx.AsyncClient) -> TokenVerifier:
    """A Supabase verifier that trusts only the project's published signing keys."""
    return TokenVerifier(issuer=SUPABASE_ISSUER, jwks=JwksCache(jwt_jwks_server.url, jwt_http))


# --- accepted ---------------------------------------------------------------------------------


async def test_locally_issued_token_verifies_to_the_same_user_email_and_session() -> None:
    issuer = TokenIssuer(secret=LOCAL_SECRET, issuer=LOCAL_ISSUER, ttl_seconds=900)
    token, expires_in = issuer.issue(
        user_id=USER_ID, email="ana@example.com", session_id=SESSION_ID
    )

    claims = await TokenVerifier(issuer=LOCAL_ISSUER, hs256_secret=LOCAL_SECRET).verify(token)

    assert expires_in == 900
    assert (claims.user_id, claims.email, claims.session_id) == (
        USER_ID,
        "ana@example.com",
        SESSION_ID,
    )
    assert claims.expires_at.tzinfo is UTC
    assert claims.expires_at == datetime.fromtimestamp(claims.raw["exp"], tz=UTC)
    assert claims.raw["exp"] - claims.raw["iat"] == 900


def test_local_token_carries_the_claims_supabase_auth_issues() -> None:
    issued_at = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    issuer = TokenIssuer(secret=LOCAL_SECRET, issuer=LOCAL_ISSUER, ttl_seconds=3600)
    token, _ = issuer.issue(
        user_id=USER_ID,
        email="ana@example.com",
        session_id=SESSION_ID,
        app_metadata={"company_id": "c1"},
        user_metadata={"full_name": "Ana"},
        now=issued_at,
    )

    payload = jwt.decode(token, options={"verify_signature": False})
    iat = int(issued_at.timestamp())
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    assert payload == {
        "iss": LOCAL_ISSUER,
        "sub": str(USER_ID),
        "aud": "authenticated",
        "exp": iat + 3600,
        "iat": iat,
        "email": "ana@example.com",
        "phone": "",
        "app_metadata": {"provider": "email", "providers": ["email"], "company_id": "c1"},
        "user_metadata": {"full_name": "Ana"},
        "role": "authenticated",
        "aal": "aal1",
        "amr": [{"method": "password", "timestamp": iat}],
        "session_id": str(SESSION_ID),
        "is_anonymous": False,
    }


def test_issuer_refuses_a_naive_now() -> None:
    issuer = TokenIssuer(secret=LOCAL_SECRET, issuer=LOCAL_ISSUER, ttl_seconds=60)
    with pytest.raises(ValueError, match="timezone-aware"):
        issuer.issue(
            user_id=USER_ID, email="a@example.com", session_id=SESSION_ID, now=datetime(2025, 1, 1)
        )


async def test_supabase_hs256_token_is_accepted(verifier: TokenVerifier) -> None:
    payload = supabase_claims()

    claims = await verifier.verify(hs256(payload))

    assert claims == TokenClaims(
        user_id=USER_ID,
        email="ana@example.com",
        session_id=SESSION_ID,
        expires_at=datetime.fromtimestamp(payload["exp"], tz=UTC),
        raw=payload,
    )


@pytest.mark.parametrize("key_name", ["ec", "rsa", "ed"])
async def test_token_signed_with_a_published_key_is_accepted(
    key_name: str, jwt_keys: JwtKeys, jwks_only_verifier: TokenVerifier
) -> None:
    key: SigningKey = getattr(jwt_keys, key_name)

    claims = await jwks_only_verifier.verify(key.sign(supabase_claims()))

    assert (claims.user_id, claims.session_id) == (USER_ID, SESSION_ID)
    assert claims.raw["role"] == "authenticated"


async def test_expiry_within_the_leeway_is_tolerated(verifier: TokenVerifier) -> None:
    now = _now()
    claims = await verifier.verify(hs256(supabase_claims(exp=now - 2, iat=now - 3602)))
    assert claims.user_id == USER_ID


async def test_phone_user_without_email_gets_none(verifier: TokenVerifier) -> None:
    claims = await verifier.verify(hs256(supabase_claims(email="", session_id=DROP)))
    assert (claims.email, claims.session_id) == (None, None)


async def test_local_settings_build_a_verifier_for_the_local_issuer() -> None:
    settings = Settings(jwt_issuer="zapcrm-test", secret_key=SecretStr(LOCAL_SECRET))
    issuer = TokenIssuer(secret=LOCAL_SECRET, issuer="zapcrm-test", ttl_seconds=60)
    token, _ = issuer.issue(user_id=USER_ID, email="ana@example.com", session_id=SESSION_ID)

    async with httpx.AsyncClient(trust_env=False) as http:
        claims = await build_verifier(settings, http).verify(token)
        with pytest.raises(InvalidToken):
            # A Supabase-issued token is not a local one, even with the same secret.
            await build_verifier(settings, http).verify(hs256(supabase_claims(), LOCAL_SECRET))

    assert claims.user_id == USER_ID


async def test_supabase_settings_accept_both_the_legacy_secret_and_the_project_keys(
    jwt_jwks_server: JwksServer, jwt_keys: JwtKeys, jwt_http: httpx.AsyncClient
) -> None:
    # No SUPABASE_JWKS_URL: the verifier must find the keys at the project's well-known path.
    settings = Settings(
        auth_provider=AuthProvider.SUPABASE,
        supabase_url=jwt_jwks_server.base_url + "/",
        supabase_anon_key=SecretStr("anon-key"),
        supabase_service_role_key=SecretStr("service-role-key"),
        supabase_jwt_secret=SecretStr(SUPABASE_SECRET),
    )
    project_issuer = f"{jwt_jwks_server.base_url}/auth/v1"
    verifier = build_verifier(settings, jwt_http)

    legacy = await verifier.verify(hs256(supabase_claims(issuer=project_issuer)))
    signed = await verifier.verify(jwt_keys.ec.sign(supabase_claims(issuer=project_issuer)))

    assert legacy.user_id == signed.user_id == USER_ID
    assert jwt_jwks_server.requests == 1


# --- rejected ---------------------------------------------------------------------------------

ForgedToken = Callable[[JwtKeys], str]

REJECTED: dict[str, tuple[ForgedToken, str]] = {
    "expired": (
        lambda keys: keys.ec.sign(supabase_claims(exp=_now() - 60, iat=_now() - 3660)),
        "token expired",
    ),
    "not yet valid": (
        lambda keys: keys.rsa.sign(supabase_claims(nbf=_now() + 60)),
        "token not yet valid",
    ),
    "issued in the future": (
        lambda keys: hs256(supabase_claims(iat=_now() + 60)),
        "token not yet valid",
    ),
    "wrong audience": (
        lambda keys: keys.ec.sign(supabase_claims(aud="another-app")),
        "wrong token audience",
    ),
    "wrong issuer": (
        lambda keys: keys.ec.sign(
            supabase_claims(issuer="https://someone-else.supabase.co/auth/v1")
        ),
        "wrong token issuer",
    ),
    "hs256 with another secret": (
        lambda keys: hs256(supabase_claims(), "another-secret-that-is-32-characters-long"),
        "bad token signature",
    ),
    "es256 by an unpublished key under a published kid": (
        lambda keys: SigningKey(ec.generate_private_key(ec.SECP256R1()), keys.ec.kid, "ES256").sign(
            supabase_claims()
        ),
        "bad token signature",
    ),
    "tampered hs256 payload": (
        lambda keys: tampered(hs256(supabase_claims())),
        "bad token signature",
    ),
    "tampered rs256 payload": (
        lambda keys: tampered(keys.rsa.sign(supabase_claims())),
        "bad token signature",
    ),
    "alg none": (
        lambda keys: jwt.encode(supabase_claims(), "", algorithm="none"),
        "token algorithm not allowed",
    ),
    "hs384 with the right secret": (
        lambda keys: jwt.encode(supabase_claims(), SUPABASE_SECRET * 2, algorithm="HS384"),
        "token algorithm not allowed",
    ),
    "hs512 with the right secret": (
        lambda keys: jwt.encode(supabase_claims(), SUPABASE_SECRET * 2, algorithm="HS512"),
        "token algorithm not allowed",
    ),
    "ps256 with a published rsa key": (
        lambda keys: jwt.encode(
            supabase_claims(), keys.rsa.private_key, algorithm="PS256", headers={"kid": "rsa-key-1"}
        ),
        "token algorithm not allowed",
    ),
    "es256 header naming the rsa key": (
        lambda keys: keys.ec.sign(supabase_claims(), kid=keys.rsa.kid),
        "token algorithm does not match its signing key",
    ),
    "unknown kid": (
        lambda keys: keys.ec.sign(supabase_claims(), kid="never-published"),
        "unknown signing key",
    ),
    "project anon key": (
        # Supabase's anon key is an HS256 JWT from the same secret, with no user in it.
        lambda keys: hs256(
            {
                "iss": "supabase",
                "ref": "abcdefghijklmnop",
                "role": "anon",
                "iat": _now(),
                "exp": _now() + 10 * 365 * 86400,
            }
        ),
        "lacks the sub claim",
    ),
    "role anon with a subject": (
        lambda keys: keys.ec.sign(supabase_claims(role="anon")),
        "not a user token",
    ),
    "service role": (
        lambda keys: hs256(supabase_claims(role="service_role")),
        "not a user token",
    ),
    "sub not a uuid": (
        lambda keys: keys.ec.sign(supabase_claims(sub="admin")),
        "subject is not a user id",
    ),
    "sub a uuid in braces": (
        lambda keys: hs256(supabase_claims(sub="{" + str(USER_ID) + "}")),
        "subject is not a user id",
    ),
    "session id not a uuid": (
        lambda keys: hs256(supabase_claims(session_id="abc")),
        "session id is malformed",
    ),
    "no exp": (lambda keys: hs256(supabase_claims(exp=DROP)), "lacks the exp claim"),
    "no iat": (lambda keys: hs256(supabase_claims(iat=DROP)), "lacks the iat claim"),
    "no aud": (lambda keys: hs256(supabase_claims(aud=DROP)), "lacks the aud claim"),
    "no iss": (lambda keys: hs256(supabase_claims(iss=DROP)), "lacks the iss claim"),
    "no role": (lambda keys: hs256(supabase_claims(role=DROP)), "lacks the role claim"),
    "garbage": (lambda keys: "not-a-jwt", "malformed token"),
    "empty": (lambda keys: "", "malformed token"),
    "three garbage segments": (lambda keys: "a.b.c", "malformed token"),
}


@pytest.mark.parametrize(("forge", "reason"), REJECTED.values(), ids=REJECTED.keys())
async def test_unacceptable_token_is_rejected(
    forge: ForgedToken, reason: str, jwt_keys: JwtKeys, verifier: TokenVerifier
) -> None:
    token = forge(jwt_keys)

    with pytest.raises(InvalidToken, match=reason) as caught:
        await verifier.verify(token)

    if token:
        assert token not in str(caught.value)


async def test_hs256_token_macced_with_the_public_key_is_rejected_by_a_jwks_verifier(
    jwt_keys: JwtKeys, jwks_only_verifier: TokenVerifier, jwt_jwks_server: JwksServer
) -> None:
    # The classic key-confusion forgery: the public key is public, so if a verifier let the
    # header pick HMAC and used "its key" as the secret, anyone could mint tokens.
    public_pem = jwt_keys.rsa.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    token = forge_hs256(supabase_claims(), public_pem)

    with pytest.raises(InvalidToken, match="token algorithm not allowed"):
        await jwks_only_verifier.verify(token)
    assert jwt_jwks_server.requests == 0  # refused before any key was even looked up


async def test_legacy_hs256_token_is_rejected_when_only_signing_keys_are_configured(
    jwks_only_verifier: TokenVerifier,
) -> None:
    with pytest.raises(InvalidToken, match="token algorithm not allowed"):
        await jwks_only_verifier.verify(hs256(supabase_claims()))


async def test_local_verifier_rejects_asymmetric_tokens(jwt_keys: JwtKeys) -> None:
    verifier = TokenVerifier(issuer=SUPABASE_ISSUER, hs256_secret=SUPABASE_SECRET)
    with pytest.raises(InvalidToken, match="token algorithm not allowed"):
        await verifier.verify(jwt_keys.ec.sign(supabase_claims()))


def test_verifier_without_any_key_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="needs an HS256 secret"):
        TokenVerifier(issuer=SUPABASE_ISSUER)


def test_claims_repr_leaves_out_the_raw_claims() -> None:
    claims = TokenClaims(
        user_id=USER_ID,
        email=None,
        session_id=None,
        expires_at=datetime.now(UTC) + timedelta(hours=1),
        raw={"user_metadata": {"cpf": "123"}},
    )
    assert "cpf" not in repr(claims)
