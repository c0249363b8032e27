"""A stand-in for Evolution API 2.3.x: its REST contract, its webhooks and their quirks.

Build a `Simulator`, serve it with `create_simulator_app` (or `serve_simulator`), point an
instance webhook at zapcrm, then drive customers, faults and connections through the
`Simulator` methods or the `/_sim` control API. Facts come from `docs/evolution-api.md`.
"""

from zapcrm.evolution.simulator.clock import Clock, ManualClock, SystemClock
from zapcrm.evolution.simulator.control import CONTROL_ROUTES
from zapcrm.evolution.simulator.demo import PERSONAS, DemoDriver
from zapcrm.evolution.simulator.emitter import (
    ALLOWED_EVENTS,
    DeliveryAttempt,
    EmittedEvent,
    GlobalWebhook,
    by_events_suffix,
    event_constant,
)
from zapcrm.evolution.simulator.faults import RETRY_PRESETS, Faults, RetryPolicy
from zapcrm.evolution.simulator.inbound import KINDS
from zapcrm.evolution.simulator.runner import SimulatorServer, run_simulator_cli, serve_simulator
from zapcrm.evolution.simulator.scenarios import SCENARIOS, run_scenario
from zapcrm.evolution.simulator.server import create_simulator_app
from zapcrm.evolution.simulator.simulator import (
    NumberCheck,
    Simulator,
    SimulatorConfig,
    SimulatorError,
)
from zapcrm.evolution.simulator.state import (
    Customer,
    Instance,
    ReadReceipt,
    RestRequest,
    SentRecord,
    WebhookConfig,
)

__all__ = [
    "ALLOWED_EVENTS",
    "CONTROL_ROUTES",
    "KINDS",
    "PERSONAS",
    "RETRY_PRESETS",
    "SCENARIOS",
    "Clock",
    "Customer",
    "DeliveryAttempt",
    "DemoDriver",
    "EmittedEvent",
    "Faults",
    "GlobalWebhook",
    "Instance",
    "ManualClock",
    "NumberCheck",
    "ReadReceipt",
    "RestRequest",
    "RetryPolicy",
    "SentRecord",
    "Simulator",
    "SimulatorConfig",
    "SimulatorError",
    "SimulatorServer",
    "SystemClock",
    "WebhookConfig",
    "by_events_suffix",
    "create_simulator_app",
    "event_constant",
    "run_scenario",
    "run_simulator_cli",
    "serve_simulator",
]
