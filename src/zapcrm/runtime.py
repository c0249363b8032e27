"""The process's shared resources, built once at startup and closed at shutdown."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from redis.asyncio import Redis

from zapcrm.accounts.directory import UserDirectory, build_directory
from zapcrm.auth.cache import AuthCache
from zapcrm.auth.ratelimit import LoginRateLimiter
from zapcrm.auth.service import Authenticator, build_authenticator
from zapcrm.auth.tokens import build_verifier
from zapcrm.config import Settings
from zapcrm.db import Database
from zapcrm.departments.menu import MenuRules
from zapcrm.evolution.instances import InstanceCache
from zapcrm.hours.away import AwayRules
from zapcrm.messaging.realtime import RealtimeHub
from zapcrm.outbox import OutboxPublisher
from zapcrm.redis import create_redis
from zapcrm.surveys.answer import SurveyRules


@dataclass
class Runtime:
    """Settings, Postgres, Redis, an outbound HTTP client and the authenticator."""

    settings: Settings
    db: Database
    redis: Redis
    http: httpx.AsyncClient
    auth: Authenticator
    auth_cache: AuthCache
    directory: UserDirectory
    outbox: OutboxPublisher
    realtime: RealtimeHub
    instances: InstanceCache
    away_rules: AwayRules
    menu_rules: MenuRules
    survey_rules: SurveyRules

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        """Create every resource (connections open lazily on first use)."""
        db = Database.from_settings(settings)
        redis = create_redis(settings)
        http = httpx.AsyncClient(
            timeout=httpx.Timeout(10.0, connect=3.0),
            # Let an idle connection go before the server does: Evolution API (Node) closes
            # them after 5 s, httpx kept them 5 s too, so a call made right then could meet a
            # closed socket (httpx.ReadError; seen in tests against the simulator).
            limits=httpx.Limits(keepalive_expiry=4.0),
        )
        cache = AuthCache(redis, revocation_ttl_seconds=settings.access_token_ttl_seconds)
        limiter = LoginRateLimiter(
            redis,
            max_failures=settings.login_max_failures_per_account,
            max_attempts_per_ip=settings.login_max_attempts_per_ip,
            window_seconds=settings.login_window_seconds,
        )
        verifier = build_verifier(settings, http)
        directory = build_directory(settings, http)
        auth = build_authenticator(settings, db, cache, limiter, http, verifier, directory)
        return cls(
            settings=settings,
            db=db,
            redis=redis,
            http=http,
            auth=auth,
            auth_cache=cache,
            directory=directory,
            outbox=OutboxPublisher(db, redis),
            realtime=RealtimeHub(redis),
            instances=InstanceCache(),
            away_rules=AwayRules(),
            menu_rules=MenuRules(),
            survey_rules=SurveyRules(),
        )

    async def close(self) -> None:
        """Flush pending work and release connections."""
        await self.outbox.close()
        await self.realtime.close()
        await self.http.aclose()
        await self.redis.aclose()
        await self.db.dispose()
