"""The `/_sim` control API (global key): tests and the demo drive customers, faults, connections."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from zapcrm.evolution.simulator.clock import ManualClock
from zapcrm.evolution.simulator.errors import instance_not_found
from zapcrm.evolution.simulator.faults import FaultError
from zapcrm.evolution.simulator.inbound import KINDS
from zapcrm.evolution.simulator.scenarios import SCENARIOS, run_scenario
from zapcrm.evolution.simulator.server import global_key, json_response, read_body
from zapcrm.evolution.simulator.simulator import Simulator, SimulatorError
from zapcrm.evolution.simulator.state import Instance

__all__ = ["CONTROL_ROUTES", "control_router"]

GlobalKey = Annotated[Simulator, Depends(global_key)]
control_router = APIRouter(prefix="/_sim")

# (method, path, what it does): served at GET /_sim so the API documents itself.
CONTROL_ROUTES: tuple[tuple[str, str, str], ...] = (
    ("GET", "/_sim", "this index"),
    ("POST", "/_sim/reset", "forget everything; body {seed?}"),
    ("GET", "/_sim/faults", "effective fault switches; ?instance= for one instance"),
    ("PUT", "/_sim/faults", "change switches (partial body); ?instance= for one instance"),
    ("DELETE", "/_sim/faults", "drop an instance's own switches (?instance=)"),
    ("GET", "/_sim/customers", "the simulated WhatsApp directory"),
    (
        "POST",
        "/_sim/customers",
        "add a customer {phone, name, legacy_without_ninth?, lid?, "
        "on_whatsapp?, addressing?, device?, read_receipts?}",
    ),
    (
        "POST",
        "/_sim/instances/{instance}/inbound",
        "a customer acts: {from, type, ...}; type in " + ", ".join(KINDS),
    ),
    ("GET", "/_sim/instances/{instance}/sent", "what zapcrm sent: request, response, acks"),
    ("GET", "/_sim/instances/{instance}/reads", "markMessageAsRead keys, forwarded or dropped"),
    ("POST", "/_sim/instances/{instance}/connection", "{action: pair|drop|logout|qr|refuse}"),
    (
        "POST",
        "/_sim/instances/{instance}/token",
        "rotate the token {token?}: REST and envelope apikey use it, webhook headers keep theirs",
    ),
    ("GET", "/_sim/requests", "REST calls answered (method, path, status); ?path= prefix"),
    ("GET", "/_sim/events", "emitted webhook envelopes; ?instance=&event="),
    ("GET", "/_sim/deliveries", "webhook POST attempts with status and next delay"),
    ("POST", "/_sim/clock/advance", "move the test clock: {seconds}"),
    ("POST", "/_sim/drain", "wait for pending acks and deliveries"),
    ("GET", "/_sim/scenarios", "built-in scenario names"),
    ("POST", "/_sim/scenarios/run", "{instance, name} or {instance, steps: [...]}"),
)


def _instance(sim: Simulator, name: str) -> Instance:
    found = sim.instances.get(name)
    if found is None:
        raise instance_not_found(name)
    return found


async def _object(request: Request) -> dict[str, Any]:
    body, _ = await read_body(request)
    if not isinstance(body, dict):
        raise SimulatorError("the body must be a JSON object")
    return body


@control_router.get("")
async def index(_: GlobalKey) -> Response:
    """List the control routes."""
    routes = [{"method": m, "path": p, "description": d} for m, p, d in CONTROL_ROUTES]
    return json_response({"routes": routes})


@control_router.post("/reset")
async def reset(request: Request, sim: GlobalKey) -> Response:
    """Forget instances, customers, faults and logs."""
    body = await _object(request)
    seed = body.get("seed")
    if seed is not None and not isinstance(seed, int):
        raise SimulatorError("seed must be an integer")
    await sim.reset(seed)
    return json_response({"reset": True, "seed": sim.config.seed})


@control_router.get("/faults")
async def get_faults(request: Request, sim: GlobalKey) -> Response:
    """The switches in force, globally or for one instance."""
    name = request.query_params.get("instance")
    instance = _instance(sim, name) if name else None
    return json_response(sim.faults_for(instance).as_dict())


@control_router.put("/faults")
async def put_faults(request: Request, sim: GlobalKey) -> Response:
    """Change some switches, globally or for one instance (starting from the global ones)."""
    changes = await _object(request)
    name = request.query_params.get("instance")
    try:
        if name:
            instance = _instance(sim, name)
            instance.faults = sim.faults_for(instance).updated(changes)
            return json_response(instance.faults.as_dict())
        sim.faults = sim.faults.updated(changes)
    except FaultError as error:
        raise SimulatorError(str(error)) from None
    return json_response(sim.faults.as_dict())


@control_router.delete("/faults")
async def delete_faults(request: Request, sim: GlobalKey) -> Response:
    """Make an instance follow the global switches again."""
    instance = _instance(sim, request.query_params.get("instance", ""))
    instance.faults = None
    return json_response(sim.faults.as_dict())


@control_router.get("/customers")
async def list_customers(sim: GlobalKey) -> Response:
    """The directory."""
    return json_response([c.as_dict() for c in sim.customers.values()])


@control_router.post("/customers")
async def add_customer(request: Request, sim: GlobalKey) -> Response:
    """Add or replace a customer."""
    body = await _object(request)
    phone, name = body.pop("phone", None), body.pop("name", None)
    if not isinstance(phone, str) or not isinstance(name, str):
        raise SimulatorError("phone and name are required strings")
    try:
        customer = sim.add_customer(phone, name, **body)
    except TypeError as error:
        raise SimulatorError(str(error)) from None
    return json_response(customer.as_dict(), 201)


@control_router.post("/instances/{instance}/inbound")
async def inbound(instance: str, request: Request, sim: GlobalKey) -> Response:
    """Make a customer send, react, edit, revoke or show presence."""
    body = await _object(request)
    phone, kind = body.pop("from", None), body.pop("type", "text")
    if not isinstance(phone, str) or not isinstance(kind, str):
        raise SimulatorError("from (a customer phone) and type are required")
    result = await sim.customer_sends(_instance(sim, instance), phone, kind, **body)
    return json_response(result, 201)


@control_router.get("/instances/{instance}/sent")
async def sent(instance: str, sim: GlobalKey) -> Response:
    """Every send zapcrm made through this instance."""
    return json_response([r.as_dict() for r in _instance(sim, instance).sent])


@control_router.get("/instances/{instance}/reads")
async def reads(instance: str, sim: GlobalKey) -> Response:
    """Every key zapcrm marked as read."""
    return json_response([r.as_dict() for r in _instance(sim, instance).reads])


@control_router.post("/instances/{instance}/connection")
async def connection(instance: str, request: Request, sim: GlobalKey) -> Response:
    """Trigger a connection change as WhatsApp would."""
    target = _instance(sim, instance)
    action = (await _object(request)).get("action")
    if action == "pair":
        if target.state == "close":
            sim.start_connecting(target)
        sim.pair(target)
    elif action == "drop":
        sim.drop_connection(target)
    elif action == "logout":
        sim.logout(target, 401)
    elif action == "qr":
        sim.start_connecting(target)
    elif action == "refuse":
        sim.refuse_qr(target)
    else:
        raise SimulatorError("action must be one of pair, drop, logout, qr, refuse")
    return json_response({"instance": {"instanceName": target.name, "state": target.state}})


@control_router.post("/instances/{instance}/token")
async def change_token(instance: str, request: Request, sim: GlobalKey) -> Response:
    """Rotate the instance token as an operator would (Evolution 2.x has no route for it, §4)."""
    target = _instance(sim, instance)
    token = (await _object(request)).get("token")
    if token is not None and (not isinstance(token, str) or not token):
        raise SimulatorError("token must be a non-empty string")
    return json_response({"instanceName": target.name, "token": sim.change_token(target, token)})


@control_router.get("/requests")
async def requests(request: Request, sim: GlobalKey) -> Response:
    """The REST calls the simulator answered, oldest first."""
    prefix = request.query_params.get("path", "")
    return json_response([r.as_dict() for r in sim.requests if r.path.startswith(prefix)])


@control_router.get("/events")
async def events(request: Request, sim: GlobalKey) -> Response:
    """Emitted envelopes in order, optionally filtered."""
    name = request.query_params.get("instance")
    event = request.query_params.get("event")
    items = [
        e.as_dict()
        for e in sim.emitter.emitted
        if (name is None or e.instance == name) and (event is None or e.event == event)
    ]
    return json_response(items)


@control_router.get("/deliveries")
async def deliveries(sim: GlobalKey) -> Response:
    """Every webhook POST attempt."""
    return json_response([a.as_dict() for a in sim.emitter.attempts])


@control_router.post("/clock/advance")
async def advance(request: Request, sim: GlobalKey) -> Response:
    """Move the manual clock (test mode)."""
    seconds = (await _object(request)).get("seconds")
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
        raise SimulatorError("seconds must be a non-negative number")
    if not isinstance(sim.clock, ManualClock):
        raise SimulatorError("the clock is the system clock (demo mode)")
    sim.clock.advance(float(seconds))
    return json_response({"now": sim.clock.now()})


@control_router.post("/drain")
async def drain(sim: GlobalKey) -> Response:
    """Wait for pending acks and webhook deliveries."""
    await sim.drain()
    return json_response({"drained": True})


@control_router.get("/scenarios")
async def scenarios(_: GlobalKey) -> Response:
    """The built-in scenarios."""
    return json_response({name: s["description"] for name, s in SCENARIOS.items()})


@control_router.post("/scenarios/run")
async def run(request: Request, sim: GlobalKey) -> Response:
    """Run a built-in scenario by name, or inline steps."""
    body = await _object(request)
    instance = _instance(sim, str(body.get("instance", "")))
    if "steps" in body:
        steps = body["steps"]
    elif body.get("name") in SCENARIOS:
        steps = SCENARIOS[str(body["name"])]["steps"]
    else:
        raise SimulatorError(f"name must be one of {', '.join(SCENARIOS)} (or give steps)")
    if not isinstance(steps, list):
        raise SimulatorError("steps must be a list")
    results = await run_scenario(sim, instance, steps)
    return json_response({"results": results})
