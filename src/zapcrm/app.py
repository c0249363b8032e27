"""create_app(): the FastAPI application with its routers, middleware and lifespan."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from zapcrm import __version__
from zapcrm.api import router
from zapcrm.config import Settings, get_settings
from zapcrm.contacts.importing import limits as import_limits
from zapcrm.errors import install_error_handlers
from zapcrm.logging import configure_logging
from zapcrm.messaging.uploads import MediaLimits
from zapcrm.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from zapcrm.runtime import Runtime
from zapcrm.web.app import create_panel

API_BODY_LIMIT_BYTES = 1_000_000
# The send routes (API and panel) take media uploads; the form checks each kind's own limit.
SEND_ROUTE = re.compile(r"/(api/conversations/[^/]+/messages|panel/conversations/[^/]+/media)")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; resources are created in the lifespan so tests can pass their settings."""
    settings = settings or get_settings()
    configure_logging(settings)
    panel = create_panel()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime.build(settings)
        app.state.runtime = runtime
        panel.state.runtime = runtime
        try:
            yield
        finally:
            await runtime.close()

    app = FastAPI(
        title="zapcrm",
        version=__version__,
        description="Atendimento ao cliente no WhatsApp (Evolution API, Supabase, Redis).",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(router)
    app.mount("/panel", panel)

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        # People type the bare address: the panel is what they came for, not a JSON 404.
        return RedirectResponse("/panel/", status_code=307)

    app.add_middleware(
        BodySizeLimitMiddleware,
        default_limit=API_BODY_LIMIT_BYTES,
        limits=[
            ("/webhooks/", settings.webhook_max_body_bytes),
            ("/api/contacts/imports", import_limits.UPLOAD_BODY_LIMIT_BYTES),
            ("/panel/contacts/import", import_limits.UPLOAD_BODY_LIMIT_BYTES),
            (SEND_ROUTE, MediaLimits.from_settings(settings).body_limit),
        ],
    )
    app.add_middleware(RequestContextMiddleware)
    return app
