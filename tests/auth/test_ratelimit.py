"""Login limits in real Redis: a team signing in from one office address is never locked out,
guesses from one address are, and a failed account waits for its window."""

from __future__ import annotations

import uuid

import pytest

from zapcrm.auth.ratelimit import LoginRateLimiter
from zapcrm.exceptions import RateLimited
from zapcrm.runtime import Runtime


def _limiter(runtime: Runtime) -> LoginRateLimiter:
    return LoginRateLimiter(runtime.redis, max_failures=3, max_attempts_per_ip=4, window_seconds=60)


async def test_successful_logins_from_one_address_do_not_use_up_its_attempts(
    runtime: Runtime,
) -> None:
    limiter = _limiter(runtime)
    office = f"198.51.100.{uuid.uuid4().int % 250}-{uuid.uuid4().hex[:6]}"
    for person in range(10):  # more than the address may try: each one signs in
        email = f"atendente{person}@loja.example"
        await limiter.check_and_count_attempt(email, office)
        await limiter.reset(email, office)
    # Guesses from the same address still stop at its limit.
    for guess in range(4):
        await limiter.check_and_count_attempt(f"alvo{guess}@loja.example", office)
        await limiter.record_failure(f"alvo{guess}@loja.example")
    with pytest.raises(RateLimited):
        await limiter.check_and_count_attempt("mais@loja.example", office)


async def test_an_expired_counter_is_not_brought_back_below_zero(runtime: Runtime) -> None:
    limiter = _limiter(runtime)
    address = f"203.0.113.{uuid.uuid4().hex[:8]}"
    await limiter.reset("ninguem@loja.example", address)  # nothing counted: nothing to undo
    assert await runtime.redis.exists(f"auth:login-attempts:{address}") == 0


async def test_an_account_with_too_many_failures_waits(runtime: Runtime) -> None:
    limiter = _limiter(runtime)
    email = f"{uuid.uuid4().hex[:8]}@loja.example"
    for address in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):  # from anywhere
        await limiter.check_and_count_attempt(email, address)
        await limiter.record_failure(email)
    with pytest.raises(RateLimited) as blocked:
        await limiter.check_and_count_attempt(email, "192.0.2.4")
    assert blocked.value.retry_after > 0
