"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from zapcrm.dependencies import RuntimeDep
from zapcrm.logging import get_logger

router = APIRouter(tags=["ops"])
log = get_logger(__name__)

_PROBE_TIMEOUT_SECONDS = 2.0


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up and serving."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    """Postgres and Redis both answer; 503 names the one that does not."""
    checks: dict[str, str] = {}
    for name, probe in (("postgres", runtime.db.ping()), ("redis", runtime.redis.ping())):
        try:
            await asyncio.wait_for(probe, timeout=_PROBE_TIMEOUT_SECONDS)
            checks[name] = "ok"
        except Exception as error:  # noqa: BLE001 - any failure means "not ready"
            log.warning("readyz.failed", dependency=name, error_type=type(error).__name__)
            checks[name] = "unavailable"
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )
