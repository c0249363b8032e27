"""The `zapcrm` command line: migrations, the web server, companies and users."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from zapcrm.config import Settings, get_settings
from zapcrm.contacts.importing.cli import contacts_app
from zapcrm.exceptions import ZapcrmError
from zapcrm.models import AuthUser, Profile, Role

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

app = typer.Typer(help="zapcrm: atendimento ao cliente no WhatsApp.", no_args_is_help=True)
company_app = typer.Typer(help="Empresas (tenants).", no_args_is_help=True)
user_app = typer.Typer(help="Usuários e perfis de acesso.", no_args_is_help=True)
app.add_typer(company_app, name="company")
app.add_typer(user_app, name="user")
instance_app = typer.Typer(help="Instâncias do WhatsApp (Evolution API).", no_args_is_help=True)
app.add_typer(instance_app, name="instance")
dead_app = typer.Typer(help="Fila de mortos (dead letters) de um stream.", no_args_is_help=True)
app.add_typer(dead_app, name="dead")
media_app = typer.Typer(help="Arquivos de mídia das mensagens.", no_args_is_help=True)
app.add_typer(media_app, name="media")
app.add_typer(contacts_app, name="contacts")

console = Console()
err_console = Console(stderr=True)
T = TypeVar("T")

REPO_ROOT = Path(__file__).resolve().parents[2]

DEMO_COMPANY = "Loja Demo"
DEMO_PASSWORD = "demo-zapcrm-2026"  # noqa: S105 - printed demo login, local only
DEMO_INSTANCE = "loja-demo"
DEMO_INSTANCE_TOKEN = "demo-instance-token-2026"  # noqa: S105 - the local simulator's instance key
DEMO_SIMULATOR_KEY = "demo-global-key-2026"
DEMO_USERS = (
    ("admin@lojademo.example.com", Role.ADMIN, "Ana Admin"),
    ("supervisor@lojademo.example.com", Role.SUPERVISOR, "Sérgio Supervisor"),
    ("operador@lojademo.example.com", Role.OPERATOR, "Olga Operadora"),
)

DEMO_DEPARTMENTS = (
    ("Encomendas", ("operador@lojademo.example.com", "supervisor@lojademo.example.com")),
    ("Financeiro", ("supervisor@lojademo.example.com",)),
)

DEMO_STAGES = (
    ("novo", "Novo contato"),
    ("negociacao", "Em negociação"),
    ("cliente", "Cliente"),
    ("perdido", "Perdido"),
)
DEMO_ATTRIBUTES: tuple[tuple[str, str, Literal["text", "date", "number"]], ...] = (
    ("bairro", "Bairro", "text"),
    ("aniversario", "Aniversário", "date"),
    ("valor_pedido", "Valor do pedido (R$)", "number"),
)
DEMO_QUICK_REPLIES = (
    ("/ola", "Saudação",
     "Olá, {{primeiro_nome}}! Aqui é {{atendente}}, da {{empresa}}. Como posso ajudar?"),
    ("/horario", "Horário", "Atendemos de segunda a sábado, das 8h às 18h."),
    ("/frete", "Frete",
     "{{primeiro_nome}}, a entrega no seu bairro custa R$ 10,00 e chega no mesmo dia"
     " para pedidos feitos até as 14h."),
)  # fmt: skip


DEMO_CAMPAIGN = (
    "Natal na Loja Demo",
    [
        "Olá, {{primeiro_nome|tudo bem}}! O Natal chegou na {{empresa}}: 15% de desconto até"
        " domingo. Quer ver as novidades?",
        "Oi {{primeiro_nome|cliente}}! Separamos ofertas de Natal para você, com 15% de"
        " desconto até domingo. Posso mandar o catálogo?",
    ],
)


def _run(
    factory: Callable[[Settings], Coroutine[Any, Any, T]],
    *,
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None,
) -> T:
    """Run one async CLI action with its own runtime, turning our errors into exit code 1."""
    settings = get_settings()
    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            return runner.run(factory(settings))
    except ZapcrmError as error:
        err_console.print(f"[red]erro:[/red] {error.message}")
        raise typer.Exit(1) from None


def alembic_config(database_url: str | None = None) -> object:
    """An Alembic Config for the repository's migrations."""
    from alembic.config import Config

    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(REPO_ROOT / "migrations"))
    if database_url:
        config.attributes["url"] = database_url
    return config


@app.command()
def migrate(
    revision: Annotated[str, typer.Argument(help="Target revision")] = "head",
    url: Annotated[str | None, typer.Option(help="Database URL (default: DATABASE_URL)")] = None,
) -> None:
    """Apply database migrations (local Postgres or Supabase)."""
    from alembic import command

    command.upgrade(alembic_config(url or get_settings().database_url), revision)  # type: ignore[arg-type]
    console.print(f"migrations applied up to [bold]{revision}[/bold]")


@app.command()
def web(
    host: Annotated[str, typer.Option(help="Address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes")] = 1,
) -> None:
    """Run the web app (API, webhooks, panel)."""
    import uvicorn

    get_settings()  # fail fast, with one clear line, before uvicorn starts
    uvicorn.run(
        "zapcrm.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        log_config=None,
    )


@app.command()
def worker() -> None:
    """Run the queue workers (incoming messages, media) and the outbox relay."""
    import uvloop

    from zapcrm.logging import configure_logging
    from zapcrm.worker.main import run_worker

    # Only create_app configured logging: the worker logged at info in structlog's console
    # format, whatever LOG_LEVEL and LOG_FORMAT said, and without the secret redaction.
    configure_logging(get_settings())

    # uvloop, as uvicorn gives the web processes: the worker is a loop of small Redis, Postgres
    # and gateway round trips, and the stock selector loop was ~15% of its CPU per send.
    _run(run_worker, loop_factory=uvloop.new_event_loop)


@app.command()
def simulate(
    host: Annotated[str, typer.Option(help="Address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8080,
    webhook_url: Annotated[
        str | None, typer.Option(help="Where to post webhooks (zapcrm's /webhooks/evolution)")
    ] = "http://127.0.0.1:8000/webhooks/evolution",
    instance: Annotated[str, typer.Option(help="Instance to create")] = DEMO_INSTANCE,
    token: Annotated[str, typer.Option(help="Its token")] = DEMO_INSTANCE_TOKEN,
    global_key: Annotated[str, typer.Option(help="The simulator's global API key")] = (
        DEMO_SIMULATOR_KEY
    ),
    mode: Annotated[str, typer.Option(help="demo (lifelike customers) or test")] = "demo",
) -> None:
    """Run the Evolution API simulator (REST API + webhooks with the real contract)."""
    from zapcrm.evolution.simulator import run_simulator_cli

    run_simulator_cli(host, port, global_key, webhook_url, instance, token, mode)


@app.command()
def up(
    host: Annotated[str, typer.Option(help="Address of the web app")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the web app")] = 8000,
    simulator_port: Annotated[int, typer.Option(help="Port of the simulator")] = 8080,
) -> None:
    """Run web app, worker and the demo simulator together (what `make run` starts)."""
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # so `finally` below stops the children

    # SIGTERM (kill, systemd, a container stop) would end this process alone and leave the
    # three children running, holding their ports: stop them as Ctrl+C does.
    signal.signal(signal.SIGTERM, stop)

    zapcrm = str(Path(sys.executable).with_name("zapcrm"))
    commands = [
        [zapcrm, "web", "--host", host, "--port", str(port)],
        [zapcrm, "worker"],
        [
            zapcrm, "simulate", "--port", str(simulator_port),
            "--webhook-url", f"http://{host}:{port}/webhooks/evolution",
        ],
    ]  # fmt: skip
    processes = [subprocess.Popen(command) for command in commands]  # noqa: S603 - our own binary
    console.print(
        f"[bold]zapcrm[/bold] em http://{host}:{port} (API em /docs); "
        f"simulador Evolution em http://127.0.0.1:{simulator_port}. Ctrl+C encerra."
    )
    try:
        while all(process.poll() is None for process in processes):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
    failed = [process.args for process in processes if process.returncode not in (0, -15, None)]
    if failed:
        raise typer.Exit(1)


@app.command()
def queues() -> None:
    """Print every queue's figures, the live workers and active alerts."""

    async def action(settings: Settings) -> None:
        from zapcrm.ops import queues as queue_ops
        from zapcrm.redis import create_redis

        redis = create_redis(settings, max_connections=2)
        try:
            stats, workers = await queue_ops.snapshot(redis)
        finally:
            await redis.aclose()
        table = Table(title="filas")
        for column in (
            "stream",
            "tamanho",
            "pendentes",
            "mais antigo (s)",
            "retentativas",
            "mortos",
        ):
            table.add_column(column)
        for item in stats:
            oldest = f"{item.oldest_pending_seconds:.0f}" if item.oldest_pending_seconds else "-"
            table.add_row(
                item.stream, str(item.length), str(item.pending), oldest,
                str(item.retry_scheduled), str(item.dead),
            )  # fmt: skip
        console.print(table)
        console.print(f"workers ativos: {len(workers)}")
        for worker in workers:
            console.print(
                f"  {worker.consumer} ({', '.join(worker.streams)}) {worker.processed} ok"
            )
        for alert in queue_ops.stream_alerts(stats, workers):
            console.print(f"[yellow]alerta[/yellow] {alert.alert} {alert.subject}: {alert.message}")

    _run(action)


@dead_app.command("list")
def dead_list(
    stream: Annotated[str, typer.Argument(help="e.g. evolution:outgoing-messages")],
    count: Annotated[int, typer.Option(help="How many")] = 50,
) -> None:
    """List a stream's dead letters with their error."""

    async def action(settings: Settings) -> None:
        from zapcrm.redis import create_redis
        from zapcrm.worker import dead_letters

        redis = create_redis(settings, max_connections=2)
        try:
            letters = await dead_letters(redis, stream, count)
        finally:
            await redis.aclose()
        for letter in letters:
            console.print(
                f"{letter.dead_id}  {letter.error_type}: {letter.error[:120]}"
                f"  (tentativas {letter.attempts})"
            )
        console.print(f"{len(letters)} item(ns)")

    _run(action)


def _dead_action(stream: str, ids: list[str], *, replay: bool) -> None:
    async def action(settings: Settings) -> int:
        from zapcrm.redis import create_redis
        from zapcrm.worker import drop_dead, replay_dead

        redis = create_redis(settings, max_connections=2)
        selected: list[str] | Literal["all"] = ids or "all"
        try:
            if replay:
                return await replay_dead(redis, stream, selected)
            return await drop_dead(redis, stream, selected)
        finally:
            await redis.aclose()

    done = _run(action)
    console.print(f"{done} item(ns) {'reenfileirados' if replay else 'descartados'}")


@dead_app.command("replay")
def dead_replay(
    stream: Annotated[str, typer.Argument(help="The stream")],
    ids: Annotated[list[str] | None, typer.Argument(help="Dead letter ids (default: all)")] = None,
) -> None:
    """Put dead letters back on their stream (attempts start again)."""
    _dead_action(stream, ids or [], replay=True)


@media_app.command("sweep")
def media_sweep(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count what would go")] = False,
) -> None:
    """Remove media files no message points at (older than MEDIA_ORPHAN_GRACE_SECONDS)."""

    async def action(settings: Settings) -> None:
        from zapcrm.messaging.media_sweep import sweep_orphan_media
        from zapcrm.runtime import Runtime

        runtime = Runtime.build(settings)
        try:
            with console.status("Procurando arquivos órfãos…"):
                result = await sweep_orphan_media(runtime, dry_run=dry_run)
        finally:
            await runtime.close()
        verb = "seriam removidos" if dry_run else "removidos"
        console.print(
            f"{result.scanned} arquivo(s) examinado(s), {result.removed} {verb},"
            f" {result.unknown} com nome desconhecido (mantidos)"
        )

    _run(action)


@dead_app.command("drop")
def dead_drop(
    stream: Annotated[str, typer.Argument(help="The stream")],
    ids: Annotated[list[str] | None, typer.Argument(help="Dead letter ids (default: all)")] = None,
) -> None:
    """Discard dead letters."""
    _dead_action(stream, ids or [], replay=False)


@company_app.command("create")
def company_create(name: Annotated[str, typer.Option(help="Company name")]) -> None:
    """Create a company and print its id."""

    async def action(settings: Settings) -> uuid.UUID:
        from zapcrm.accounts import service
        from zapcrm.db import Database

        db = Database.from_settings(settings, pool_size=1)
        try:
            async with db.service_session() as session:
                company = await service.create_company(session, name=name)
            return company.id
        finally:
            await db.dispose()

    typer.echo(_run(action))


@user_app.command("create")
def user_create(
    company: Annotated[uuid.UUID, typer.Option(help="Company id")],
    email: Annotated[str, typer.Option(help="Login e-mail")],
    password: Annotated[str, typer.Option(help="Initial password", prompt=True, hide_input=True)],
    role: Annotated[Role, typer.Option(help="Role")] = Role.OPERATOR,
    name: Annotated[str, typer.Option(help="Display name")] = "",
) -> None:
    """Create a user in a company and print their id."""

    async def action(settings: Settings) -> uuid.UUID:
        from zapcrm.accounts import service
        from zapcrm.runtime import Runtime

        runtime = Runtime.build(settings)
        try:
            async with runtime.db.service_session() as session:
                profile = await service.create_user(
                    session,
                    runtime.directory,
                    company_id=company,
                    email=email,
                    password=password,
                    role=role,
                    display_name=name,
                    actor_id=None,
                )
            return profile.id
        finally:
            await runtime.close()

    typer.echo(_run(action))


async def _change_user(
    settings: Settings, user: str, *, role: Role | None = None, active: bool | None = None
) -> str:
    from zapcrm.accounts import service
    from zapcrm.runtime import Runtime

    runtime = Runtime.build(settings)
    try:
        async with runtime.db.service_session() as session:
            found = await _find_user(session, user)
            if found is None or found[1] is None:
                raise ZapcrmError(f"usuário não encontrado: {user}")
            profile = found[1]
            await service.update_user(
                session,
                company_id=profile.company_id,
                user_id=profile.id,
                actor_id=None,
                role=role,
                active=active,
            )
        await runtime.auth.user_changed(profile.id, deactivated=active is False)
        return f"{profile.email}: role={profile.role} active={profile.active}"
    finally:
        await runtime.close()


async def _find_user(session: AsyncSession, user: str) -> tuple[AuthUser, Profile | None] | None:
    from zapcrm.accounts import repository

    try:
        return await repository.get_user_with_profile(session, uuid.UUID(user))
    except ValueError:
        return await repository.find_user_by_email(session, user)


@user_app.command("set-role")
def user_set_role(
    user: Annotated[str, typer.Option(help="User e-mail or id")],
    role: Annotated[Role, typer.Option(help="New role")],
) -> None:
    """Change a user's role."""
    typer.echo(_run(lambda settings: _change_user(settings, user, role=role)))


@user_app.command("deactivate")
def user_deactivate(user: Annotated[str, typer.Option(help="User e-mail or id")]) -> None:
    """Deactivate a user and end their sessions."""
    typer.echo(_run(lambda settings: _change_user(settings, user, active=False)))


@instance_app.command("add")
def instance_add(
    company: Annotated[uuid.UUID, typer.Option(help="Company id")],
    name: Annotated[str, typer.Option(help="Instance name in Evolution API")],
    token: Annotated[
        str, typer.Option(help="Instance token (apikey)", prompt=True, hide_input=True)
    ],
    server_url: Annotated[
        str | None, typer.Option(help="Evolution server URL (default: EVOLUTION_SERVER_URL)")
    ] = None,
) -> None:
    """Register an existing Evolution instance (only the token's SHA-256 is stored)."""

    async def action(settings: Settings) -> uuid.UUID:
        from zapcrm.db import Database
        from zapcrm.evolution.credentials import CredentialBox
        from zapcrm.evolution.instances import register_instance

        db = Database.from_settings(settings, pool_size=1)
        try:
            async with db.service_session() as session:
                return await register_instance(
                    session,
                    company_id=company,
                    name=name,
                    token=token,
                    credentials=CredentialBox.from_settings(settings),
                    server_url=server_url or settings.evolution_server_url,
                )
        finally:
            await db.dispose()

    typer.echo(_run(action))


@app.command()
def demo() -> None:
    """Create (once) the demo company with an admin, a supervisor and an operator."""

    async def action(settings: Settings) -> uuid.UUID:
        from sqlalchemy import select

        from zapcrm.accounts import repository, service
        from zapcrm.models import Company
        from zapcrm.runtime import Runtime

        runtime = Runtime.build(settings)
        try:
            async with runtime.db.service_session() as session:
                company = (
                    await session.scalars(select(Company).where(Company.name == DEMO_COMPANY))
                ).first() or await service.create_company(session, name=DEMO_COMPANY)
                await _ensure_demo_instance(session, company.id, settings)
                for email, role, display_name in DEMO_USERS:
                    if await repository.find_user_by_email(session, email) is None:
                        await service.create_user(
                            session,
                            runtime.directory,
                            company_id=company.id,
                            email=email,
                            password=DEMO_PASSWORD,
                            role=role,
                            display_name=display_name,
                            actor_id=None,
                        )
                found = await repository.find_user_by_email(session, DEMO_USERS[0][0])
                assert found is not None
                await _seed_demo_catalog(session, found[0].id, company.id)
                await _seed_demo_history(session, found[0].id, company.id)
            return company.id
        finally:
            await runtime.close()

    company_id = _run(action)
    table = Table(title=f"{DEMO_COMPANY} ({company_id})")
    table.add_column("perfil")
    table.add_column("e-mail")
    table.add_column("senha")
    for email, role, _ in DEMO_USERS:
        table.add_row(role.value, email, DEMO_PASSWORD)
    console.print(table)
    console.print(f"instância WhatsApp de demonstração: {DEMO_INSTANCE} (simulador Evolution API)")


async def _seed_demo_catalog(
    session: AsyncSession, admin_id: uuid.UUID, company_id: uuid.UUID
) -> None:
    """Funnel stages, custom fields, quick replies, business hours, distribution, departments
    with their WhatsApp menu, the satisfaction survey and a draft campaign a shop would have,
    each set only while the company has none (so a demo someone edited keeps their changes)."""
    from datetime import time

    from zapcrm.accounts import repository as accounts_repository
    from zapcrm.auth.identity import Identity
    from zapcrm.campaigns import service as campaigns
    from zapcrm.campaigns.schemas import CampaignIn
    from zapcrm.contacts import definitions
    from zapcrm.contacts.schemas import AttributeIn, StageIn
    from zapcrm.departments import service as departments
    from zapcrm.departments.schemas import DepartmentIn, MenuIn
    from zapcrm.distribution import service as distribution
    from zapcrm.distribution.schemas import DistributionSettingsIn
    from zapcrm.evolution import repository as evolution_repo
    from zapcrm.hours import service as hours
    from zapcrm.hours.schemas import BusinessHoursIn, DayHours
    from zapcrm.quickreplies import service as quick_replies
    from zapcrm.quickreplies.schemas import QuickReplyIn
    from zapcrm.surveys import service as surveys
    from zapcrm.surveys.schemas import DEFAULT_QUESTION, DEFAULT_THANKS, SurveyIn

    admin = Identity(
        user_id=admin_id, company_id=company_id, role=Role.ADMIN, email=DEMO_USERS[0][0],
        display_name=DEMO_USERS[0][2], session_id=None, claims={},
    )  # fmt: skip
    if not await definitions.list_stages(session, admin):
        for position, (key, label) in enumerate(DEMO_STAGES):
            await definitions.create_stage(
                session, admin, StageIn(key=key, label=label, position=position)
            )
    defined = {attribute.key for attribute in await definitions.list_attributes(session, admin)}
    for position, (key, label, kind) in enumerate(DEMO_ATTRIBUTES):
        if key not in defined:  # a demo from before an attribute was added gains it
            await definitions.create_attribute(
                session, admin, AttributeIn(key=key, label=label, type=kind, position=position)
            )
    if not await quick_replies.list_quick_replies(session, admin):
        for shortcut, title, body in DEMO_QUICK_REPLIES:
            await quick_replies.create_quick_reply(
                session, admin, QuickReplyIn(shortcut=shortcut, title=title, body=body)
            )
    if (await hours.get_hours(session, admin)).updated_at is None:
        # The hours the `/horario` quick reply states, with the out-of-office reply on.
        week = {day: DayHours(opens=time(8), closes=time(18)) for day in range(1, 7)}
        await hours.save_hours(session, admin, BusinessHoursIn(schedule=week, away_enabled=True))
    if (await distribution.get_settings(session, admin)).updated_at is None:
        # On, so the header shows the switch; chats go out only to who turns it on.
        await distribution.save_settings(
            session, admin, DistributionSettingsIn(enabled=True, max_open_per_agent=5)
        )
    if not await departments.list_departments(session, admin):
        # The simulator's demo customers answer the menu with one of its numbers.
        staff = {}
        for email, _role, _name in DEMO_USERS[1:]:
            found = await accounts_repository.find_user_by_email(session, email)
            assert found is not None
            staff[email] = found[0].id
        for name, emails in DEMO_DEPARTMENTS:
            members = [staff[email] for email in emails]
            await departments.create_department(
                session, admin, DepartmentIn(name=name, member_ids=members)
            )
        greeting = (
            "Olá, {{primeiro_nome|tudo bem}}! Bem-vindo à {{empresa}}."
            " Para agilizar, responda com o número do setor:"
        )
        await departments.save_menu(session, admin, MenuIn(enabled=True, greeting=greeting))
    if (await surveys.get_survey(session, admin)).updated_at is None:
        # The simulator's demo customers grade the chats closed in the panel.
        on = SurveyIn(enabled=True, question=DEFAULT_QUESTION, thanks=DEFAULT_THANKS)
        await surveys.save_survey(session, admin, on)
    if not await campaigns.list_campaigns(session, admin):
        [instance] = await evolution_repo.find_by_name(session, DEMO_INSTANCE)
        await campaigns.create_campaign(
            session,
            admin,
            CampaignIn(name=DEMO_CAMPAIGN[0], instance_id=instance.id, variants=DEMO_CAMPAIGN[1]),
        )


async def _seed_demo_history(
    session: AsyncSession, admin_id: uuid.UUID, company_id: uuid.UUID
) -> None:
    """A month of past service (once), answered by the operator and the supervisor."""
    from datetime import UTC, datetime

    from zapcrm.accounts import repository as accounts_repository
    from zapcrm.accounts import service as accounts_service
    from zapcrm.auth.identity import Identity
    from zapcrm.demo import service as demo_history
    from zapcrm.evolution import repository as evolution_repo

    admin = Identity(
        user_id=admin_id, company_id=company_id, role=Role.ADMIN, email=DEMO_USERS[0][0],
        display_name=DEMO_USERS[0][2], session_id=None, claims={},
    )  # fmt: skip
    agents = []
    for email in (DEMO_USERS[2][0], DEMO_USERS[1][0]):  # the operator answers most
        found = await accounts_repository.find_user_by_email(session, email)
        assert found is not None
        agents.append(found[0].id)
    [instance] = await evolution_repo.find_by_name(session, DEMO_INSTANCE)
    zone = await accounts_service.company_zone(session, company_id)
    today = datetime.now(UTC).astimezone(zone).date()
    chats = await demo_history.seed_history(session, admin, instance.id, agents, today, zone)
    if chats:
        console.print(f"histórico de demonstração: {chats} atendimentos nos últimos 30 dias")


async def _ensure_demo_instance(
    session: AsyncSession, company_id: uuid.UUID, settings: Settings
) -> None:
    from zapcrm.evolution import repository as evolution_repo
    from zapcrm.evolution.credentials import CredentialBox
    from zapcrm.evolution.instances import register_instance

    if not await evolution_repo.find_by_name(session, DEMO_INSTANCE):
        await register_instance(
            session,
            company_id=company_id,
            name=DEMO_INSTANCE,
            token=DEMO_INSTANCE_TOKEN,
            credentials=CredentialBox.from_settings(settings),
            server_url=settings.evolution_server_url,
        )


def main() -> None:
    """Entry point of the `zapcrm` script."""
    from zapcrm.config import ConfigError

    try:
        app()
    except ConfigError as error:
        err_console.print(str(error.code))
        raise SystemExit(2) from None
