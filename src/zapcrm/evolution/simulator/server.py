"""The Evolution API 2.3.x REST surface zapcrm calls, served by FastAPI over a `Simulator`."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zapcrm.evolution.simulator import instance_payloads
from zapcrm.evolution.simulator.emitter import ALLOWED_EVENTS
from zapcrm.evolution.simulator.errors import (
    EvolutionError,
    bad_request,
    forbidden_name,
    instance_not_found,
    route_not_found,
    unauthorized,
    validate,
)
from zapcrm.evolution.simulator.simulator import Simulator, SimulatorError
from zapcrm.evolution.simulator.state import Instance

__all__ = ["create_simulator_app", "json_response", "read_body"]

_INTEGRATIONS = ("WHATSAPP-BAILEYS", "WHATSAPP-BUSINESS", "EVOLUTION")
_CREATE_SCHEMA = {
    "type": "object",
    "properties": {
        "instanceName": {"type": "string", "notEmpty": True},
        "token": {"type": "string"},
        "number": {"type": "string"},
        "qrcode": {"type": "boolean"},
        "webhook": {"type": "object"},
    },
    "required": ["instanceName"],
}
_WEBHOOK_SCHEMA = {
    "type": "object",
    "properties": {
        "webhook": {
            "type": "object",
            "properties": {
                "enabled": {"type": "boolean"},
                "url": {"type": "string"},
                "headers": {"type": "object"},
                "byEvents": {"type": "boolean"},
                "base64": {"type": "boolean"},
                "events": {
                    "type": "array",
                    "items": {"type": "string", "enum": list(ALLOWED_EVENTS)},
                },
            },
            "required": ["enabled", "url"],
        }
    },
    "required": ["webhook"],
}
_SETTINGS_SCHEMA = {
    "type": "object",
    "properties": {
        name: {"type": "boolean"}
        for name in (
            "rejectCall",
            "groupsIgnore",
            "alwaysOnline",
            "readMessages",
            "readStatus",
            "syncFullHistory",
        )
    }
    | {"msgCall": {"type": "string"}},
    "required": [
        "rejectCall",
        "groupsIgnore",
        "alwaysOnline",
        "readMessages",
        "readStatus",
        "syncFullHistory",
    ],
}


def json_response(content: Any, status: int = 200) -> Response:
    """A compact UTF-8 JSON response, as Express' `res.json` writes it."""
    return Response(orjson.dumps(content), status_code=status, media_type="application/json")


async def read_body(request: Request) -> tuple[Any, bytes | None]:
    """The JSON body (or multipart fields) and an uploaded `file`, if any."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        fields: dict[str, Any] = {}
        upload: bytes | None = None
        for name, value in form.multi_items():
            if isinstance(value, str):
                fields[name] = value
            elif name == "file":
                upload = await value.read()
        for flag in ("encoding",):
            if flag in fields:
                fields[flag] = fields[flag].lower() == "true"
        if "delay" in fields and fields["delay"].isdigit():
            fields["delay"] = int(fields["delay"])
        return fields, upload
    raw = await request.body()
    if not raw.strip():
        return {}, None
    try:
        return orjson.loads(raw), None
    except orjson.JSONDecodeError as error:
        raise bad_request(f"Unexpected token in JSON at position {error.pos}") from None


def _simulator(request: Request) -> Simulator:
    simulator: Simulator = request.app.state.simulator
    return simulator


def authorized_instance(request: Request, instance: str) -> Instance:
    """The path's instance, checked in Evolution's guard order: exists (404), then key (401)."""
    sim = _simulator(request)
    found = sim.instances.get(instance)
    if found is None:
        raise instance_not_found(instance)
    key = request.headers.get("apikey")
    if key is None or (key != sim.config.global_key and key != found.token):
        raise unauthorized()
    return found


def global_key(request: Request) -> Simulator:
    """The simulator, for routes only the global key may call."""
    sim = _simulator(request)
    if request.headers.get("apikey") != sim.config.global_key:
        raise unauthorized()
    return sim


AuthorizedInstance = Annotated[Instance, Depends(authorized_instance)]
SimulatorDep = Annotated[Simulator, Depends(_simulator)]


def _register_errors(app: FastAPI) -> None:
    async def evolution_error(_: Request, error: Exception) -> Response:
        """Send an Evolution error body as is."""
        assert isinstance(error, EvolutionError)
        return json_response(error.body, error.status)

    async def not_found(request: Request, error: Exception) -> Response:
        # Express answers unknown routes and wrong methods alike with 404 "Cannot METHOD /path".
        """Answer unknown routes like Express."""
        assert isinstance(error, StarletteHTTPException)
        if error.status_code in (404, 405):
            failure = route_not_found(request.method, request.url.path)
            return json_response(failure.body, failure.status)
        return json_response(
            {"status": error.status_code, "error": str(error.detail)}, error.status_code
        )

    async def simulator_error(_: Request, error: Exception) -> Response:
        """A control request that cannot be carried out: 400."""
        failure = bad_request(str(error))
        return json_response(failure.body, failure.status)

    app.add_exception_handler(EvolutionError, evolution_error)
    app.add_exception_handler(StarletteHTTPException, not_found)
    app.add_exception_handler(SimulatorError, simulator_error)


def _instance_routes(app: FastAPI) -> None:
    @app.post("/instance/create")
    async def create_instance(request: Request, sim: SimulatorDep) -> Response:
        """POST /instance/create (global key)."""
        body, _ = await read_body(request)
        name = body.get("instanceName") if isinstance(body, dict) else None
        if isinstance(name, str) and name in sim.instances:
            raise forbidden_name(name)  # the name guard runs before the key check (§3.1)
        global_key(request)
        validate(body, _CREATE_SCHEMA)
        if body.get("integration") not in _INTEGRATIONS:
            raise bad_request("Invalid integration")
        # Only Baileys pairs by QR code; the Cloud API and EVOLUTION channels do not.
        qrcode = bool(body.get("qrcode", False)) and body["integration"] == "WHATSAPP-BAILEYS"
        webhook = body.get("webhook") if isinstance(body.get("webhook"), dict) else None
        if webhook is not None:
            webhook = {
                **webhook,
                "events": [e for e in webhook.get("events") or [] if e in ALLOWED_EVENTS],
            }
        instance = await sim.create_instance(
            name or "",
            token=body.get("token") or None,
            integration=body["integration"],
            qrcode=qrcode,
            number=body.get("number") or None,
            webhook=webhook,
            settings=body,
        )
        if qrcode:
            await sim.sleep(sim.config.qr_wait)  # the call waits ~5 s for the first QR (§3.8)
        return json_response(instance_payloads.create_response(instance, with_qrcode=qrcode), 201)

    @app.get("/instance/fetchInstances")
    async def fetch_instances(request: Request, sim: SimulatorDep) -> Response:
        """GET /instance/fetchInstances: all rows for the global key, own rows for a token."""
        key = request.headers.get("apikey")
        if key == sim.config.global_key:
            instances = list(sim.instances.values())
        else:
            # An instance token sees only the instances holding that token (§3.1).
            instances = [i for i in sim.instances.values() if key is not None and i.token == key]
            if not instances:
                raise unauthorized()
        query = request.query_params
        if "instanceName" in query:
            instances = [i for i in instances if i.name == query["instanceName"]]
        if "instanceId" in query:
            instances = [i for i in instances if i.id == query["instanceId"]]
        if "number" in query:
            instances = [i for i in instances if i.number == query["number"]]
        return json_response([instance_payloads.fetch_row(i) for i in instances])

    @app.get("/instance/connect/{instance}")
    async def connect(
        request: Request, instance: AuthorizedInstance, sim: SimulatorDep
    ) -> Response:
        """GET /instance/connect/{instance}: a QR object, or the state when open."""
        return json_response(sim.connect(instance, request.query_params.get("number")))

    @app.get("/instance/connectionState/{instance}")
    async def connection_state(instance: AuthorizedInstance) -> Response:
        """GET /instance/connectionState/{instance}: the live state."""
        return json_response(instance_payloads.connection_state(instance))

    @app.post("/instance/restart/{instance}")
    async def restart(instance: AuthorizedInstance, sim: SimulatorDep) -> Response:
        """POST /instance/restart/{instance}."""
        return json_response(sim.restart(instance))

    @app.delete("/instance/logout/{instance}")
    async def logout(instance: AuthorizedInstance, sim: SimulatorDep) -> Response:
        """DELETE /instance/logout/{instance}: 400 when already closed."""
        if instance.state == "close":
            raise bad_request(f'The "{instance.name}" instance is not connected')
        sim.logout(instance)
        body = {"status": "SUCCESS", "error": False, "response": {"message": "Instance logged out"}}
        return json_response(body)

    @app.delete("/instance/delete/{instance}")
    async def delete(instance: AuthorizedInstance, sim: SimulatorDep) -> Response:
        """DELETE /instance/delete/{instance}: logs out first."""
        sim.delete_instance(instance)
        body = {"status": "SUCCESS", "error": False, "response": {"message": "Instance deleted"}}
        return json_response(body)

    @app.post("/webhook/set/{instance}")
    async def set_webhook(
        request: Request, instance: AuthorizedInstance, sim: SimulatorDep
    ) -> Response:
        """POST /webhook/set/{instance} with the nested 2.1+ body."""
        body, _ = await read_body(request)
        validate(body, _WEBHOOK_SCHEMA)
        webhook = sim.set_webhook(instance, body["webhook"])
        return json_response(webhook.row(instance.id), 201)

    @app.get("/webhook/find/{instance}")
    async def find_webhook(instance: AuthorizedInstance) -> Response:
        """GET /webhook/find/{instance}: the row or null."""
        webhook = instance.webhook
        return json_response(webhook.row(instance.id) if webhook else None)

    @app.post("/settings/set/{instance}")
    async def set_settings(request: Request, instance: AuthorizedInstance) -> Response:
        """POST /settings/set/{instance}."""
        body, _ = await read_body(request)
        validate(body, _SETTINGS_SCHEMA)
        instance.settings |= {k: v for k, v in body.items() if k in instance.settings}
        return json_response(instance_payloads.settings_row(instance), 201)


def _message_routes(app: FastAPI) -> None:
    def add_send_route(endpoint: str) -> None:
        """Register one `/message/send*` route."""

        async def handler(
            request: Request, instance: AuthorizedInstance, sim: SimulatorDep
        ) -> Response:
            """POST /message/<endpoint>/{instance}: JSON, or multipart with a `file` part."""
            body, upload = await read_body(request)
            return json_response(await sim.send(instance, endpoint, body, upload), 201)

        app.add_api_route(
            f"/message/{endpoint}/{{instance}}", handler, methods=["POST"], name=endpoint
        )

    for endpoint in ("sendText", "sendMedia", "sendWhatsAppAudio", "sendReaction"):
        add_send_route(endpoint)

    @app.post("/chat/markMessageAsRead/{instance}")
    async def mark_read(
        request: Request, instance: AuthorizedInstance, sim: SimulatorDep
    ) -> Response:
        """POST /chat/markMessageAsRead/{instance}."""
        body, _ = await read_body(request)
        return json_response(sim.mark_read(instance, body), 201)

    @app.post("/chat/whatsappNumbers/{instance}")
    async def whatsapp_numbers(
        request: Request, instance: AuthorizedInstance, sim: SimulatorDep
    ) -> Response:
        """POST /chat/whatsappNumbers/{instance}."""
        body, _ = await read_body(request)
        return json_response(sim.whatsapp_numbers(instance, body))

    @app.post("/chat/getBase64FromMediaMessage/{instance}")
    async def media_base64(
        request: Request, instance: AuthorizedInstance, sim: SimulatorDep
    ) -> Response:
        """POST /chat/getBase64FromMediaMessage/{instance}."""
        body, _ = await read_body(request)
        return json_response(sim.media_base64(instance, body), 201)


class _RequestLog:
    """ASGI middleware logging every REST call (not `/_sim`) with its status in the simulator,
    so tests can count gateway calls (a rate limit, a retry) without a proxy of their own."""

    def __init__(self, app: ASGIApp, sim: Simulator) -> None:
        self.app = app
        self.sim = sim

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith("/_sim"):
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_logged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_logged)
        finally:
            self.sim.record_request(scope["method"], path, status)


def create_simulator_app(sim: Simulator) -> FastAPI:
    """A FastAPI app speaking Evolution API 2.3.x REST plus the `/_sim` control API."""
    from zapcrm.evolution.simulator.control import control_router

    app = FastAPI(
        title="Evolution API simulator",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # the real server has no such routes: they must 404 like any other
    )
    app.state.simulator = sim
    _register_errors(app)

    @app.get("/")
    async def welcome() -> Response:
        """GET /: Evolution's welcome document."""
        return json_response(
            {
                "status": 200,
                "message": "Welcome to the Evolution API, it is working!",
                "version": "2.3.6",
                "clientName": "evolution_exchange",
                "manager": f"{sim.config.server_url}/manager",
                "documentation": "https://doc.evolution-api.com",
            }
        )

    _instance_routes(app)
    _message_routes(app)
    app.include_router(control_router)
    app.add_middleware(_RequestLog, sim=sim)
    return app
