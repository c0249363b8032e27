"""`zapcrm contacts import FILE --company ID`: the CSV import pipeline in-process, with a Rich
progress bar (no worker needed). Register with `app.add_typer(contacts_app, name="contacts")`.

The file is copied into the imports directory and recorded as an import job (visible in the
API to supervisors), then run by the same runner the worker uses. No live events are sent.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from sqlalchemy import text

from zapcrm.config import Settings, get_settings
from zapcrm.contacts.importing import limits, service
from zapcrm.contacts.importing.failed import failed_rows_path
from zapcrm.contacts.importing.progress import Progress as ImportProgress
from zapcrm.contacts.importing.runner import ImportFailed, ImportRunner
from zapcrm.contacts.importing.schemas import ImportStart
from zapcrm.db import Database
from zapcrm.exceptions import NotFound, PayloadTooLarge, ZapcrmError
from zapcrm.i18n import N_

__all__ = ["contacts_app", "parse_mapping"]

contacts_app = typer.Typer(help="Contatos: importação de planilhas CSV.", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)
_POLICIES = ("skip", "fill_empty", "overwrite")


@contacts_app.callback()
def contacts() -> None:
    """Contatos: importação de planilhas CSV."""
    # A callback keeps `import` a subcommand even while it is the group's only command.


def parse_mapping(value: str) -> dict[str, str]:
    """A mapping given as JSON (`{"Nome": "name"}`) or as `Nome=name,Celular=phone`."""
    value = value.strip()
    if value.startswith("{"):
        try:
            parsed = orjson.loads(value)
        except orjson.JSONDecodeError as error:
            raise typer.BadParameter(f"JSON inválido: {error}") from None
        if not isinstance(parsed, dict) or not all(
            isinstance(key, str) and isinstance(target, str) for key, target in parsed.items()
        ):
            raise typer.BadParameter('use {"coluna": "campo", ...}')
        return parsed
    mapping: dict[str, str] = {}
    for pair in filter(None, (part.strip() for part in value.split(","))):
        column, sep, target = pair.rpartition("=")
        if not sep or not column.strip():
            raise typer.BadParameter(f"par sem '=': {pair!r} (use coluna=campo,...)")
        mapping[column.strip()] = target.strip()
    return mapping


async def _import(
    settings: Settings,
    file: Path,
    company_id: uuid.UUID,
    mapping: dict[str, str] | None,
    policy: str,
    region: str,
    size: int,
) -> ImportProgress | None:
    if size > limits.MAX_FILE_BYTES:
        raise PayloadTooLarge(
            N_("o arquivo passa do limite de {limit} bytes", limit=limits.MAX_FILE_BYTES)
        )
    # One connection per lane: the lanes of a chunk hold theirs at the same time.
    db = Database.from_settings(settings, pool_size=limits.IMPORT_LANES + 1)
    try:
        async with db.service_session() as session:
            found = await session.execute(
                text("select 1 from companies where id = :id"), {"id": company_id}
            )
            if found.first() is None:
                raise NotFound(N_("empresa não encontrada"))
        job_id = uuid.uuid4()
        path = service.upload_path(settings, company_id, job_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(shutil.copyfile, file, path)
        profile = await service.inspect_upload(path)
        async with db.service_session() as session:
            job = await service.register_upload(
                session,
                company_id=company_id,
                created_by=None,
                job_id=job_id,
                file_name=file.name,
                path=path,
                size=size,
                profile=profile,
            )
            chosen = mapping if mapping is not None else dict(job.detected["suggested_mapping"])
            await service.start_import(
                session,
                company_id,
                job_id,
                ImportStart.model_validate(
                    {"mapping": chosen, "existing_policy": policy, "default_region": region}
                ),
            )
        console.print(
            f"importação [bold]{job_id}[/bold]: {profile.total_rows} linhas"
            f" ({profile.encoding}, separador {profile.delimiter!r})"
        )
        with Progress(
            SpinnerColumn(),
            TextColumn("[bold]importando"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[speed]}"),
            TimeRemainingColumn(),
            console=console,
        ) as bar:
            task = bar.add_task("import", total=profile.total_rows, speed="")

            def show(progress: ImportProgress) -> None:
                speed = (
                    f"{progress.rows_per_second:,.0f} linhas/s" if progress.rows_per_second else ""
                )
                bar.update(task, completed=progress.processed_rows, speed=speed)

            return await ImportRunner(db, company_id, job_id, on_progress=show).run()
    finally:
        await db.dispose()


@contacts_app.command("import")
def import_file(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="Arquivo CSV")
    ],
    company: Annotated[uuid.UUID, typer.Option(help="Id da empresa")],
    mapping: Annotated[
        str | None,
        typer.Option(
            help='Colunas: JSON {"Nome": "name"} ou Nome=name,Celular=phone'
            " (padrão: o mapeamento sugerido pelos nomes das colunas)"
        ),
    ] = None,
    policy: Annotated[
        str, typer.Option(help="Contatos existentes: skip | fill_empty | overwrite")
    ] = "skip",
    region: Annotated[str, typer.Option(help="Região dos telefones sem código do país")] = "BR",
) -> None:
    """Import contacts from a CSV file, with a progress bar, and print the result."""
    if policy not in _POLICIES:
        raise typer.BadParameter(f"use {', '.join(_POLICIES)}", param_hint="--policy")
    parsed = parse_mapping(mapping) if mapping is not None else None
    try:
        result = asyncio.run(
            _import(get_settings(), file, company, parsed, policy, region, file.stat().st_size)
        )
    except ZapcrmError as error:
        details = "".join(
            f"\n  {item['field']}: {item['message']}" for item in error.details.get("fields", [])
        )
        err_console.print(f"[red]erro:[/red] {error.message}{details}")
        raise typer.Exit(1) from None
    except ImportFailed as error:
        err_console.print(f"[red]a importação falhou:[/red] {error}")
        raise typer.Exit(1) from None
    if result is None:
        err_console.print("[red]erro:[/red] a importação não pôde ser executada")
        raise typer.Exit(1)
    table = Table(title=f"importação {result.job_id} ({result.status})")
    for column in ("criados", "atualizados", "ignorados", "com falha", "sem algum valor"):
        table.add_column(column, justify="right")
    counts = (result.created, result.updated, result.skipped, result.failed, result.warned)
    table.add_row(*(str(count) for count in counts))
    console.print(table)
    if result.failed or result.warned:
        failed_path = failed_rows_path(
            service.upload_path(get_settings(), company, result.job_id), result.job_id
        )
        console.print(f"linhas com problemas (e o motivo de cada uma): {failed_path}")
