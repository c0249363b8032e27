"""Presence: an open panel stream marks its user present (what the distributor requires),
and signing out ends it at once."""

from __future__ import annotations

import httpx

from tests.conftest import Factory
from tests.web.conftest import panel_login
from zapcrm.distribution.presence import PRESENCE_TTL, presence_key
from zapcrm.models import Role
from zapcrm.runtime import Runtime


async def test_an_open_panel_marks_its_user_present_and_signing_out_ends_it(
    live_server: str, factory: Factory, runtime: Runtime
) -> None:
    company = await factory.company()
    operator = await factory.user(company, Role.OPERATOR)
    key = presence_key(company, operator.id)
    async with httpx.AsyncClient(base_url=live_server, timeout=10) as http:
        csrf = await panel_login(http, operator)
        assert not await runtime.redis.exists(key)
        async with http.stream("GET", "/panel/events") as stream:
            async for line in stream.aiter_lines():
                if line.startswith("event: ready"):
                    break
            assert await runtime.redis.exists(key)
            assert 0 < await runtime.redis.ttl(key) <= PRESENCE_TTL
        signed_out = await http.post("/panel/logout", data={"csrf_token": csrf})
        assert signed_out.status_code == 303
    assert not await runtime.redis.exists(key)
