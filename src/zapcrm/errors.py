"""Exception handlers: every error leaves as `{"error": {"code", "message"}}`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from zapcrm.db import sqlstate
from zapcrm.exceptions import ZapcrmError
from zapcrm.logging import get_logger

log = get_logger("zapcrm.errors")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    """The one error shape of the API."""
    return {"error": {"code": code, "message": message, **extra}}


async def _zapcrm_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ZapcrmError)
    if error.status_code >= 500:
        log.warning("request.failed", code=error.code, reason=error.message)
    return JSONResponse(
        error_body(error.code, error.message, **error.details),
        status_code=error.status_code,
        headers=error.headers,
    )


def _without_body_marker(loc: Sequence[Any]) -> Sequence[Any]:
    return loc[1:] if loc and loc[0] == "body" else loc


async def _validation_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    fields = [
        {
            # Only the leading "body" is FastAPI's marker: a field may itself be named `body`.
            "field": ".".join(str(part) for part in _without_body_marker(item["loc"])),
            "message": item["msg"],
        }
        for item in error.errors()
    ]
    return JSONResponse(
        error_body("validation_failed", "dados inválidos", fields=fields), status_code=422
    )


async def _http_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    code = _HTTP_CODES.get(error.status_code, "http_error")
    return JSONResponse(
        error_body(code, str(error.detail)),
        status_code=error.status_code,
        headers=getattr(error, "headers", None),
    )


async def _unavailable(_: Request, error: Exception) -> JSONResponse:
    log.error("dependency.unavailable", error_type=type(error).__name__, sqlstate=sqlstate(error))
    return JSONResponse(
        error_body("service_unavailable", "serviço temporariamente indisponível"),
        status_code=503,
        headers={"Retry-After": "5"},
    )


async def _database_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DBAPIError)
    if error.connection_invalidated or isinstance(error, OperationalError):
        return await _unavailable(request, error)
    return await _unexpected(request, error)


async def _unexpected(_: Request, error: Exception) -> JSONResponse:
    log.exception("request.crashed", error_type=type(error).__name__)
    return JSONResponse(error_body("internal_error", "erro interno"), status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on the app."""
    app.add_exception_handler(ZapcrmError, _zapcrm_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(PoolTimeoutError, _unavailable)
    app.add_exception_handler(RedisConnectionError, _unavailable)
    app.add_exception_handler(RedisTimeoutError, _unavailable)
    app.add_exception_handler(OSError, _unavailable)
    app.add_exception_handler(Exception, _unexpected)
