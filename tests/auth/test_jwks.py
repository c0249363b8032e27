"""The JWKS cache: keys fetched once, rotation picked up, unknown kids cannot flood the server."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.auth.conftest import JwksServer, JwtKeys
from zapcrm.auth.jwks import JwksCache
from zapcrm.exceptions import InvalidToken, ServiceUnavailable

# Long enough that the bursts below finish well inside one window on a slow machine.
REFRESH_INTERVAL = 0.5


async def test_keys_are_fetched_once_and_then_served_from_the_cache(
    jwt_jwks_server: JwksServer, jwt_keys: JwtKeys, jwt_http: httpx.AsyncClient
) -> None:
    cache = JwksCache(jwt_jwks_server.url, jwt_http)

    for key in jwt_keys.all * 3:
        found = await cache.signing_key(key.kid, key.alg)
        assert (found.key_id, found.algorithm_name) == (key.kid, key.alg)

    assert jwt_jwks_server.requests == 1


async def test_concurrent_callers_on_a_cold_cache_share_one_fetch(
    jwt_jwks_server: JwksServer, jwt_keys: JwtKeys, jwt_http: httpx.AsyncClient
) -> None:
    jwt_jwks_server.delay_seconds = 0.1
    cache = JwksCache(jwt_jwks_server.url, jwt_http)

    found = await asyncio.gather(*(cache.signing_key("ec-key-1", "ES256") for _ in range(20)))

    assert {key.key_id for key in found} == {"ec-key-1"}
    assert jwt_jwks_server.requests == 1


async def test_a_caller_cancelled_mid_fetch_does_not_fail_the_ones_waiting(
    jwt_jwks_server: JwksServer, jwt_keys: JwtKeys, jwt_http: httpx.AsyncClient
) -> None:
    jwt_jwks_server.delay_seconds = 0.2
    cache = JwksCache(jwt_jwks_server.url, jwt_http)
    first = asyncio.create_task(cache.signing_key(jwt_keys.ec.kid, "ES256"))
    await asyncio.sleep(0.05)
    waiting = asyncio.create_task(cache.signing_key(jwt_keys.ec.kid, "ES256"))
    await asyncio.sleep(0.05)

    first.cancel()

    assert (await waiting).key_id == jwt_keys.ec.kid
    assert first.cancelled()


async def test_a_rotated_in_key_is_accepted_once_the_server_publishes_it(
    jwt_jwks_server: JwksServer, jwt_keys: JwtKeys, jwt_http: httpx.AsyncClient
) -> None:
    cache = JwksCache(jwt_jwks_server.url, jwt_http, min_refresh_interval=REFRESH_INTERVAL)
    await cache.signing_key(jwt_keys.ec.kid, "ES256")
    new_key = jwt_keys.ec.rotated()

    await asyncio.sleep(REFRESH_INTERVAL)
    jwt_jwks_server.publish(new_key, jwt_keys.ec)
    found = await cache.signing_key(new_key.kid, "ES256")

    assert found.key_id == new_key.kid
    assert jwt_jwks_server.requests == 2


async def test_an_unknown_kid_is_rejected_after_one_refetch(
    jwt_jwks_server: JwksServer, jwt_keys: JwtKeys, jwt_http: httpx.AsyncClient
) -> None:
    cache = JwksCache(jwt_jwks_server.url, jwt_http, min_refresh_interval=REFRESH_INTERVAL)
    await cache.signing_key(jwt_keys.ec.kid, "ES256")
    await asyncio.sleep(REFRESH_INTERVAL)

    with pytest.raises(InvalidToken, match="unknown signing key"):
        await cache.signing_key("never-published", "ES256")

    assert jwt_jwks_server.requests == 2


async def test_a_flood_of_unknown_kids_fetches_at_most_once_per_interval(
    jwt_jwks_server: JwksServer, jwt_keys: JwtKeys, jwt_http: httpx.AsyncClient
) -> None:
    # The kid is read from a token nobody has verified yet, so an attacker chooses it freely.
    cache = JwksCache(jwt_jwks_server.url, jwt_http, min_refresh_interval=REFRESH_INTERVAL)
    await cache.signing_key(jwt_keys.ec.kid, "ES256")
    await asyncio.sleep(REFRESH_INTERVAL)

    async def unknown(index: int) -> None:
        with pytest.raises(InvalidToken):
            await cache.signing_key(f"attacker-{index}", "ES256")

    await asyncio.gather(*(unknown(index) for index in range(50)))
    for index in range(50, 100):
        await unknown(index)
    assert jwt_jwks_server.requests == 2

    await asyncio.sleep(REFRESH_INTERVAL)
    await unknown(100)
    assert jwt_jwks_server.requests == 3


async def test_keys_are_refetched_after_the_ttl(
    jwt_jwks_server: JwksServer, jwt_keys: JwtKeys, jwt_http: httpx.AsyncClient
) -> None:
    cache = JwksCache(jwt_jwks_server.url, jwt_http, ttl_seconds=0.1, min_refresh_interval=0.1)
    await cache.signing_key(jwt_keys.ec.kid, "ES256")
    jwt_jwks_server.publish(jwt_keys.rsa)

    await asyncio.sleep(0.15)

    # The EC key was withdrawn: after the TTL the cache stops trusting it without being asked.
    with pytest.raises(InvalidToken, match="unknown signing key"):
        await cache.signing_key(jwt_keys.ec.kid, "ES256")
    assert jwt_jwks_server.requests == 2


async def test_the_key_must_be_of_the_algorithm_the_token_names(
    jwt_jwks_server: JwksServer, jwt_keys: JwtKeys, jwt_http: httpx.AsyncClient
) -> None:
    cache = JwksCache(jwt_jwks_server.url, jwt_http)

    with pytest.raises(InvalidToken, match="does not match its signing key"):
        await cache.signing_key(jwt_keys.ec.kid, "RS256")
    with pytest.raises(InvalidToken, match="does not match its signing key"):
        await cache.signing_key(jwt_keys.rsa.kid, "EdDSA")
    with pytest.raises(InvalidToken, match="unsupported token algorithm"):
        await cache.signing_key(jwt_keys.rsa.kid, "PS256")


async def test_a_published_key_whose_own_alg_differs_is_not_used(
    jwt_jwks_server: JwksServer, jwt_keys: JwtKeys, jwt_http: httpx.AsyncClient
) -> None:
    # An RSA key published for RSA-PSS must not verify a PKCS#1 v1.5 (RS256) signature.
    jwt_jwks_server.keys = [{**jwt_keys.rsa.jwk, "alg": "PS256"}]
    cache = JwksCache(jwt_jwks_server.url, jwt_http)

    with pytest.raises(InvalidToken, match="does not match its signing key"):
        await cache.signing_key(jwt_keys.rsa.kid, "RS256")


async def test_symmetric_private_and_encryption_keys_in_the_set_are_ignored(
    jwt_jwks_server: JwksServer, jwt_keys: JwtKeys, jwt_http: httpx.AsyncClient
) -> None:
    jwt_jwks_server.keys = [
        {"kty": "oct", "kid": "shared", "alg": "HS256", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQ"},
        {**jwt_keys.rsa.jwk, "kid": "encryption", "use": "enc"},
        {**jwt_keys.ec.jwk, "kid": "broken", "x": "not-base64!"},
        "not a key",
        jwt_keys.ec.jwk,
    ]
    cache = JwksCache(jwt_jwks_server.url, jwt_http)

    assert (await cache.signing_key(jwt_keys.ec.kid, "ES256")).key_id == jwt_keys.ec.kid
    for kid, alg in [("shared", "ES256"), ("encryption", "RS256"), ("broken", "ES256")]:
        with pytest.raises(InvalidToken, match="unknown signing key"):
            await cache.signing_key(kid, alg)


async def test_a_key_without_kid_is_found_only_when_unambiguous(
    jwt_jwks_server: JwksServer, jwt_keys: JwtKeys, jwt_http: httpx.AsyncClient
) -> None:
    cache = JwksCache(jwt_jwks_server.url, jwt_http)
    assert (await cache.signing_key(None, "RS256")).key_id == jwt_keys.rsa.kid

    # Mid-rotation two RSA keys are published; guessing between them is not our job.
    jwt_jwks_server.publish(jwt_keys.rsa, jwt_keys.rsa.rotated())
    with pytest.raises(InvalidToken, match="unknown signing key"):
        await JwksCache(jwt_jwks_server.url, jwt_http).signing_key(None, "RS256")


async def test_an_empty_key_set_is_valid_and_knows_no_keys(
    jwt_jwks_server: JwksServer, jwt_http: httpx.AsyncClient
) -> None:
    # A Supabase project still on the legacy secret serves {"keys": []}; that is an answer,
    # not an outage, so its asymmetric tokens are invalid rather than "try again later".
    jwt_jwks_server.keys = []
    cache = JwksCache(jwt_jwks_server.url, jwt_http)

    with pytest.raises(InvalidToken, match="unknown signing key"):
        await cache.signing_key("ec-key-1", "ES256")


async def test_an_unreachable_server_with_nothing_cached_is_service_unavailable(
    jwt_jwks_server: JwksServer, jwt_http: httpx.AsyncClient
) -> None:
    jwt_jwks_server.stop()
    cache = JwksCache(jwt_jwks_server.url, jwt_http)

    for _ in range(2):
        with pytest.raises(ServiceUnavailable):
            await cache.signing_key("ec-key-1", "ES256")


@pytest.mark.parametrize(
    ("status", "body"),
    [(500, None), (404, None), (200, b"<html>maintenance</html>"), (200, b'{"keys": "none"}')],
    ids=["server error", "not found", "not json", "not a key set"],
)
async def test_a_bad_answer_with_nothing_cached_is_service_unavailable(
    status: int,
    body: bytes | None,
    jwt_jwks_server: JwksServer,
    jwt_http: httpx.AsyncClient,
) -> None:
    jwt_jwks_server.status, jwt_jwks_server.raw_body = status, body
    cache = JwksCache(jwt_jwks_server.url, jwt_http)

    with pytest.raises(ServiceUnavailable):
        await cache.signing_key("ec-key-1", "ES256")


async def test_cached_keys_outlive_a_failed_refresh(
    jwt_jwks_server: JwksServer, jwt_keys: JwtKeys, jwt_http: httpx.AsyncClient
) -> None:
    cache = JwksCache(jwt_jwks_server.url, jwt_http, ttl_seconds=0, min_refresh_interval=0)
    await cache.signing_key(jwt_keys.ec.kid, "ES256")

    jwt_jwks_server.status = 503
    found = await cache.signing_key(jwt_keys.ec.kid, "ES256")

    assert found.key_id == jwt_keys.ec.kid
    assert jwt_jwks_server.requests == 2
