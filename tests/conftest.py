"""Test fixtures: a throwaway database built by the migrations, a Redis DB, the app and factories.

Everything runs against the real Postgres and Redis given by TEST_POSTGRES_URL (a database the
suite may use to CREATE/DROP its own databases) and TEST_REDIS_URL; defaults are the local ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import psycopg
import pytest
from redis import Redis as SyncRedis

from tests.net import free_port
from tests.queues import discard_jobs
from tests.servers import RedisProcess, ServerThread
from zapcrm.accounts import service as accounts_service
from zapcrm.accounts.directory import LocalDirectory
from zapcrm.app import create_app
from zapcrm.auth.identity import Identity
from zapcrm.cli import alembic_config
from zapcrm.config import Settings, load_settings
from zapcrm.db import Database
from zapcrm.evolution.simulator import SimulatorServer
from zapcrm.models import Profile, Role
from zapcrm.runtime import Runtime
from zapcrm.worker.main import build_worker

ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_BASE = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
PASSWORD = "senha-segura-123"
SIMULATOR_KEY = "sim-global-key-tests"


def _worker_index() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker.removeprefix("gw") or 0)


def database_url_for(name: str) -> str:
    """The URL of a database on the test server."""
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def create_database(name: str) -> str:
    """Create an empty database and return its URL."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'create database "{name}"')
    return database_url_for(name)


def drop_database(name: str) -> None:
    """Drop a database, closing any connection still open on it."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'drop database if exists "{name}" with (force)')


def migrate(url: str, revision: str = "head") -> None:
    """Apply the Alembic revisions to a database."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A fresh database for this test process, built by the migrations."""
    name = f"zapcrm_test_{_worker_index()}_{uuid.uuid4().hex[:8]}"
    url = create_database(name)
    try:
        migrate(url)
        yield url
    finally:
        drop_database(name)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A redis-server of this test process's own, so nothing else on the machine (another
    test run, `make run`) can flush or fill what the tests read. Falls back to a logical DB
    of TEST_REDIS_URL when the redis-server binary is not installed."""
    if shutil.which("redis-server") is None:
        url = f"{REDIS_BASE}/{1 + _worker_index() % 15}"
        SyncRedis.from_url(url).flushdb()
        yield url
        return
    server = RedisProcess(free_port())
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def settings(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    """Settings pointing at the throwaway database, Redis DB and media directory."""
    return load_settings(
        environment="test",
        database_url=database_url,
        redis_url=redis_url,
        media_dir=str(tmp_path_factory.mktemp("media")),
        log_format="console",
        log_level="warning",
        login_max_failures_per_account=5,
        login_max_attempts_per_ip=1000,
        # Unpaced, so tests sending several messages do not wait; pacing tests set their own.
        send_min_interval_ms=0,
    )


@pytest.fixture(scope="session")
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    """The same runtime the app builds (Database, Redis, authenticator)."""
    rt = Runtime.build(settings)
    try:
        yield rt
    finally:
        await rt.close()


@pytest.fixture(scope="session")
def db(runtime: Runtime) -> Database:
    """The app's session factory."""
    return runtime.db


@pytest.fixture(scope="session")
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the real app (lifespan included) in process."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://zapcrm.test") as http:
            yield http


@pytest.fixture(scope="session")
def live_server(settings: Settings) -> Iterator[str]:
    """The app on a real socket (for SSE and for peers in other processes)."""
    thread = ServerThread(create_app(settings), lifespan="on")
    base_url = thread.start()
    try:
        yield base_url
    finally:
        thread.stop()


@pytest.fixture(autouse=True)
def queues_start_empty(request: pytest.FixtureRequest) -> None:
    """For a test that runs the live worker (`live_worker`, or its own: marked `runs_worker`):
    empty the streams it consumes before anything else of the test is set up.

    Redis lives as long as the test process, so the streams still hold what earlier tests left
    there (sends never taken, retries due later, jobs of a worker stopped mid-run) and the
    worker would run those jobs during this test, against gateways that are gone. Autouse, so
    it comes before every other function fixture: the jobs those add before the worker starts
    (a customer's first message) are this test's own and stay. Other tests are left alone and
    start no Redis of their own for it.
    """
    if "live_worker" not in request.fixturenames and not request.node.get_closest_marker(
        "runs_worker"
    ):
        return
    runtime: Runtime = request.getfixturevalue("runtime")
    with SyncRedis.from_url(request.getfixturevalue("redis_url")) as redis:
        discard_jobs(redis, build_worker(runtime).streams)


@pytest.fixture
async def live_worker(runtime: Runtime) -> AsyncIterator[None]:
    """The real worker runtime consuming every stream while the test lasts, from empty streams
    (`queues_start_empty`) but for the jobs this test's fixtures queued before it.

    Per test, not per session: a worker left running would take the jobs of later tests that
    drive a handler themselves (an import crashed on purpose, a stream read back whole).
    """
    stop = asyncio.Event()
    task = asyncio.create_task(build_worker(runtime).run(stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)


@pytest.fixture
def private_redis() -> Iterator[RedisProcess]:
    """A redis-server of this test's own, free to be stopped and restarted."""
    server = RedisProcess(free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def simulator(live_server: str) -> AsyncIterator[tuple[str, str, str]]:
    """A simulated Evolution API (test mode, fast clock) posting webhooks to the live app.

    Yields its base URL, the instance name and the instance token.
    """
    name = f"sim-{uuid.uuid4().hex[:8]}"
    token = f"tok-{uuid.uuid4().hex}"
    server = SimulatorServer(
        "127.0.0.1",
        0,
        global_key=SIMULATOR_KEY,
        webhook_url=live_server + "/webhooks/evolution",
        instance=name,
        token=token,
        mode="test",
        time_scale=0.02,
        log_level="warning",
    )
    task = asyncio.create_task(server.serve())
    await asyncio.wait_for(server.wait_ready(), 10)
    try:
        yield f"http://127.0.0.1:{server.port}", name, token
    finally:
        server.stop()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)


@dataclass(frozen=True)
class UserFixture:
    """A created user with the password they log in with."""

    id: uuid.UUID
    company_id: uuid.UUID
    email: str
    role: Role
    password: str = PASSWORD


@dataclass
class Factory:
    """Creates companies and users through the real services."""

    db: Database

    async def company(self, name: str | None = None) -> uuid.UUID:
        """A new company's id."""
        async with self.db.service_session() as session:
            company = await accounts_service.create_company(
                session, name=name or f"Empresa {uuid.uuid4().hex[:6]}"
            )
        return company.id

    async def user(self, company_id: uuid.UUID, role: Role = Role.OPERATOR) -> UserFixture:
        """A new active user of the company."""
        email = f"{role.value}-{uuid.uuid4().hex[:10]}@exemplo.com.br"
        async with self.db.service_session() as session:
            profile: Profile = await accounts_service.create_user(
                session,
                LocalDirectory(),
                company_id=company_id,
                email=email,
                password=PASSWORD,
                role=role,
                display_name=f"{role.value} teste",
                actor_id=None,
            )
        return UserFixture(id=profile.id, company_id=company_id, email=email, role=role)


@pytest.fixture(scope="session")
def factory(db: Database) -> Factory:
    """Factory bound to the test database."""
    return Factory(db)


async def login(client: httpx.AsyncClient, user: UserFixture) -> dict[str, str]:
    """Log in through the API and return the Authorization header."""
    response = await client.post(
        "/api/auth/login", json={"email": user.email, "password": user.password}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def claims_for(user: UserFixture) -> dict[str, str]:
    """The JWT claims a request of this user carries into Postgres."""
    return {"sub": str(user.id), "role": "authenticated", "aud": "authenticated"}


def identity_of(user: UserFixture, display_name: str = "teste") -> Identity:
    """The Identity a request (API or panel) of this user carries into the services."""
    return Identity(
        user_id=user.id,
        company_id=user.company_id,
        role=user.role,
        email=user.email,
        display_name=display_name,
        session_id=None,
        claims=claims_for(user),
    )
