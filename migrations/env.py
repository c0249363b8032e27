"""Alembic environment: applies revisions with the URL from zapcrm settings (or -x url=...)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from zapcrm.config import get_settings
from zapcrm.models import Base

config = context.config
target_metadata = Base.metadata


def _database_url() -> str:
    # Tests and `zapcrm migrate --url` pass the URL explicitly; otherwise settings decide.
    explicit = context.get_x_argument(as_dictionary=True).get("url") or config.attributes.get("url")
    url = explicit or get_settings().database_url
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def run_migrations_offline() -> None:
    """Emit SQL to stdout instead of running it (alembic upgrade --sql)."""
    context.configure(url=_database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Apply the pending revisions, each in its own transaction."""
    engine = create_engine(
        _database_url(), poolclass=pool.NullPool, connect_args={"prepare_threshold": None}
    )
    with engine.connect() as connection:
        # One transaction per revision: a revision's locks end with it (0028 validates the
        # keys 0024-0025 added without holding their write-blocking lock meanwhile).
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            transaction_per_migration=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
