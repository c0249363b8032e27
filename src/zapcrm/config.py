"""Settings: the only place that reads the environment (and `.env`)."""

from __future__ import annotations

import enum
import sys
from functools import lru_cache
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class AuthProvider(enum.StrEnum):
    """Who checks passwords and issues tokens."""

    LOCAL = "local"
    SUPABASE = "supabase"


class LogFormat(enum.StrEnum):
    """How log lines are rendered; `auto` means JSON unless stderr is a terminal."""

    AUTO = "auto"
    JSON = "json"
    CONSOLE = "console"


# A local default so `make run` works on a machine with the usual services; production sets it.
_DEV_SECRET = "dev-only-secret-change-me-0123456789abcdef"  # noqa: S105 - refused in production


# Where Supabase's transaction pooler listens; its session mode and direct connections use 5432.
TRANSACTION_POOLER_PORT = 6543


class Settings(BaseSettings):
    """Every setting zapcrm reads, with its environment variable name."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    environment: Annotated[str, Field(pattern=r"^(development|test|production)$")] = "development"
    database_url: str = "postgresql+psycopg://postgres@127.0.0.1:5432/zapcrm"
    database_pool_size: Annotated[int, Field(ge=1, le=200)] = 10
    # Server-side prepared statements (psycopg's prepare_threshold): a statement run this many
    # times on a connection is prepared, so Postgres stops planning it again (the webhook path
    # then spends ~40% less Postgres CPU). Transaction poolers break them (DESIGN.md §10):
    # "auto" turns them off on port 6543, where Supabase's transaction pooler (Supavisor or
    # its PgBouncer) listens, and uses 5 elsewhere (a direct connection, session mode on 5432).
    # "off" for any other transaction pooler; a number to choose the threshold.
    database_prepare_threshold: Annotated[int, Field(ge=0)] | Literal["auto", "off"] = "auto"
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_pool_size: Annotated[int, Field(ge=1, le=1000)] = 64
    secret_key: SecretStr = SecretStr(_DEV_SECRET)

    auth_provider: AuthProvider = AuthProvider.LOCAL
    access_token_ttl_seconds: Annotated[int, Field(ge=60, le=86400)] = 3600
    refresh_token_ttl_seconds: Annotated[int, Field(ge=300)] = 30 * 86400
    jwt_issuer: str = "zapcrm"
    login_max_failures_per_account: Annotated[int, Field(ge=1)] = 5
    login_max_attempts_per_ip: Annotated[int, Field(ge=1)] = 30
    login_window_seconds: Annotated[int, Field(ge=10)] = 900

    # Fernet key(s) for instance tokens at rest, newest first; derived from SECRET_KEY if unset.
    credentials_key: SecretStr | None = None

    supabase_url: str | None = None
    supabase_anon_key: SecretStr | None = None
    supabase_service_role_key: SecretStr | None = None
    supabase_jwt_secret: SecretStr | None = None
    supabase_jwks_url: str | None = None

    # Large enough for media sent as base64 in the webhook (Evolution's `webhookBase64`).
    webhook_max_body_bytes: Annotated[int, Field(ge=10_000)] = 64 * 1024 * 1024
    evolution_server_url: str = "http://127.0.0.1:8080"
    # The Evolution server's global key, for creating instances and rotating credentials.
    evolution_global_key: SecretStr | None = None
    # How often the worker asks Evolution (global key) for changed instance tokens; 0 = never.
    evolution_credentials_sync_seconds: Annotated[int, Field(ge=0)] = 900
    # A webhook with a key that no longer matches triggers at most one sync per server this often.
    evolution_webhook_sync_interval_seconds: Annotated[int, Field(ge=1)] = 60
    # How Evolution reaches this app: webhooks are configured to PUBLIC_BASE_URL/webhooks/...
    public_base_url: str = "http://127.0.0.1:8000"
    media_dir: str = "var/media"
    # Largest file an operator may send, per kind. WhatsApp's own limits are 5 MB for photos and
    # 16 MB for video and audio; documents stay well under WEBHOOK_MAX_BODY_BYTES because the
    # gateway echoes a sent file back to us as base64 (a third larger) in `send.message`.
    media_max_image_bytes: Annotated[int, Field(ge=1024)] = 5 * 1024 * 1024
    media_max_video_bytes: Annotated[int, Field(ge=1024)] = 16 * 1024 * 1024
    media_max_audio_bytes: Annotated[int, Field(ge=1024)] = 16 * 1024 * 1024
    media_max_document_bytes: Annotated[int, Field(ge=1024)] = 32 * 1024 * 1024
    # How often the worker removes media files no message points at (a crash between saving a
    # file and committing its row, deleted messages); 0 = never. Files younger than the grace
    # are never touched: their row may still be on its way.
    media_sweep_seconds: Annotated[int, Field(ge=0)] = 6 * 3600
    media_orphan_grace_seconds: Annotated[int, Field(ge=60)] = 3600
    # Shortest time between the starts of two sends through one instance, across every worker
    # (bursts get WhatsApp numbers flagged); 0 turns pacing off. Sends never overlap either way.
    send_min_interval_ms: Annotated[int, Field(ge=0, le=600_000)] = 500
    # A queue entry read by a worker that then went silent this long is taken over by another.
    worker_claim_idle_ms: Annotated[int, Field(ge=500)] = 60_000
    # The worker's own Prometheus endpoint (its counters live in its process); 0 turns it off.
    worker_metrics_port: Annotated[int, Field(ge=0, le=65535)] = 9464

    # Invitations by e-mail. Without SMTP_HOST nothing is sent: the admin copies the link.
    smtp_host: str | None = None
    smtp_port: Annotated[int, Field(ge=1, le=65535)] = 587
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    # `starttls` upgrades a plain connection (port 587), `tls` starts encrypted (465).
    smtp_security: Annotated[str, Field(pattern=r"^(starttls|tls|none)$")] = "starttls"
    smtp_from: str = "zapcrm <nao-responda@localhost>"
    smtp_timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 10.0
    invite_ttl_hours: Annotated[int, Field(ge=1, le=720)] = 72
    # How people reach the panel, for links in e-mails; PUBLIC_BASE_URL when unset.
    panel_base_url: str | None = None

    log_level: Annotated[str, Field(pattern=r"^(?i:debug|info|warning|error)$")] = "info"
    log_format: LogFormat = LogFormat.AUTO

    @model_validator(mode="after")
    def _check_consistency(self) -> Settings:
        if not self.database_url.startswith(("postgresql://", "postgresql+psycopg://")):
            raise ValueError("DATABASE_URL must be a postgresql:// URL")
        if not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("REDIS_URL must be a redis:// or rediss:// URL")
        if len(self.secret_key.get_secret_value()) < 32:
            raise ValueError("SECRET_KEY must be at least 32 characters")
        if self.environment == "production" and self.secret_key.get_secret_value() == _DEV_SECRET:
            raise ValueError("SECRET_KEY must be set in production")
        if self.auth_provider is AuthProvider.SUPABASE:
            if not self.supabase_url:
                raise ValueError("SUPABASE_URL is required when AUTH_PROVIDER=supabase")
            if not self.supabase_anon_key:
                raise ValueError("SUPABASE_ANON_KEY is required when AUTH_PROVIDER=supabase")
            if not self.supabase_service_role_key:
                raise ValueError(
                    "SUPABASE_SERVICE_ROLE_KEY is required when AUTH_PROVIDER=supabase "
                    "(user administration goes through Supabase Auth's admin API)"
                )
            if not (self.supabase_jwt_secret or self.supabase_jwks_url):
                raise ValueError(
                    "SUPABASE_JWT_SECRET or SUPABASE_JWKS_URL is required when "
                    "AUTH_PROVIDER=supabase"
                )
        return self

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL with the psycopg 3 driver SQLAlchemy needs."""
        if self.database_url.startswith("postgresql://"):
            return "postgresql+psycopg://" + self.database_url.removeprefix("postgresql://")
        return self.database_url

    @property
    def prepare_threshold(self) -> int | None:
        """psycopg's prepare_threshold for DATABASE_PREPARE_THRESHOLD (None: never prepare)."""
        if self.database_prepare_threshold == "off":
            return None
        if self.database_prepare_threshold == "auto":
            return None if urlsplit(self.database_url).port == TRANSACTION_POOLER_PORT else 5
        return self.database_prepare_threshold

    @property
    def libpq_url(self) -> str:
        """The database URL as libpq (psql, psycopg) understands it."""
        return self.database_url.replace("postgresql+psycopg://", "postgresql://", 1)

    @property
    def panel_url(self) -> str:
        """The panel's absolute base URL (no trailing slash), for links sent by e-mail."""
        return (self.panel_base_url or self.public_base_url).rstrip("/") + "/panel"

    @property
    def jwks_url(self) -> str | None:
        """Where Supabase publishes its signing keys, derived from SUPABASE_URL when not set."""
        if self.supabase_jwks_url:
            return self.supabase_jwks_url
        if self.supabase_url and self.auth_provider is AuthProvider.SUPABASE:
            return self.supabase_url.rstrip("/") + "/auth/v1/.well-known/jwks.json"
        return None


class ConfigError(SystemExit):
    """Raised at start when a setting is missing or invalid; its message names the variable."""


def describe_validation_error(error: ValidationError) -> str:
    """Turn pydantic's report into one line per variable, naming the environment variable."""
    by_name: dict[str, list[str]] = {}
    for item in error.errors():
        # A union setting (a number or a word) fails once per member, under loc (name, member).
        name = str(item["loc"][0]).upper() if item["loc"] else ""
        by_name.setdefault(name, []).append(item["msg"].removeprefix("Value error, "))
    return "; ".join(
        f"{name}: {' or '.join(messages)}" if name else " or ".join(messages)
        for name, messages in by_name.items()
    )


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, failing with one clear message."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise ConfigError(
            f"zapcrm: invalid configuration: {describe_validation_error(error)}"
        ) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()


if __name__ == "__main__":  # pragma: no cover - manual check
    print(get_settings().model_dump_json(indent=2), file=sys.stderr)
