"""Scripted scenarios: deterministic sequences of customer actions, clock moves and faults.

A step is a one-key object:
  {"customer": {"phone", "name", ...}}           add a customer to the directory
  {"say": {"from", "type", ..., "label"?}}       a customer action (see inbound.KINDS); option
                                                 values "@label" become the id of that message
  {"advance": seconds}                           move the manual clock (sleeps on a real clock)
  {"sleep": seconds}                             wait simulated seconds
  {"connection": "pair"|"drop"|"logout"|"qr"|"refuse"}
  {"faults": {...}}                              change the instance's fault switches
  {"drain": true}                                wait for acks and webhook deliveries
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from zapcrm.evolution.simulator.clock import ManualClock
from zapcrm.evolution.simulator.errors import SimulatorError
from zapcrm.evolution.simulator.faults import FaultError

if TYPE_CHECKING:
    from zapcrm.evolution.simulator.simulator import Simulator
    from zapcrm.evolution.simulator.state import Instance

__all__ = ["SCENARIOS", "run_scenario"]

_MARIA = {"phone": "5511987651234", "name": "Maria Aparecida", "device": "android"}
_JOAO = {
    "phone": "5531991234567",
    "name": "João Pedro",
    "legacy_without_ninth": True,
    "device": "ios",
}
_ANA = {"phone": "5581998765432", "name": "Ana Beatriz", "addressing": "lid"}
_CARLOS = {"phone": "5521976543210", "name": "Carlos Eduardo", "addressing": "lid_no_alt"}

SCENARIOS: dict[str, dict[str, Any]] = {
    "padaria": {
        "description": "A bakery order: text, photo, location, a reply and a reaction.",
        "steps": [
            {"customer": _MARIA},
            {"say": {"from": _MARIA["phone"], "type": "presence", "presence": "composing"}},
            {
                "say": {
                    "from": _MARIA["phone"],
                    "text": "Bom dia! Vocês têm pão de queijo hoje?",
                    "label": "oi",
                }
            },
            {"advance": 20},
            {
                "say": {
                    "from": _MARIA["phone"],
                    "type": "image",
                    "caption": "Quero um bolo igual a esse 🎂",
                }
            },
            {"advance": 15},
            {
                "say": {
                    "from": _MARIA["phone"],
                    "type": "location",
                    "name": "Casa",
                    "address": "Rua Augusta, 1500 - Consolação, São Paulo",
                }
            },
            {"advance": 5},
            {
                "say": {
                    "from": _MARIA["phone"],
                    "type": "reply",
                    "quoted_id": "@oi",
                    "text": "Ah, e 10 pães de queijo também",
                }
            },
            {
                "say": {
                    "from": _MARIA["phone"],
                    "type": "reaction",
                    "target_id": "@oi",
                    "emoji": "❤️",
                }
            },
            {"drain": True},
        ],
    },
    "quirks": {
        "description": "The hard cases: BR number without the 9, @lid with and without alt, "
        "voice note, document, an edit and a revoke.",
        "steps": [
            {"customer": _JOAO},
            {"customer": _ANA},
            {"customer": _CARLOS},
            {
                "say": {
                    "from": _JOAO["phone"],
                    "text": "Olá, quero agendar uma consulta",
                    "label": "j1",
                }
            },
            {"advance": 3},
            {"say": {"from": _ANA["phone"], "type": "audio", "seconds": 6}},
            {"advance": 3},
            {
                "say": {
                    "from": _CARLOS["phone"],
                    "type": "extended_text",
                    "text": "Vi no site: https://lojademo.example.com/p/cafeteira",
                    "label": "c1",
                }
            },
            {"advance": 3},
            {
                "say": {
                    "from": _JOAO["phone"],
                    "type": "document",
                    "file_name": "guia-unimed.pdf",
                    "caption": "Segue a guia do convênio",
                }
            },
            {"advance": 60},
            {
                "say": {
                    "from": _JOAO["phone"],
                    "type": "edit",
                    "target_id": "@j1",
                    "text": "Olá, quero agendar uma consulta para quinta",
                }
            },
            {"say": {"from": _CARLOS["phone"], "type": "revoke", "target_id": "@c1"}},
            {"drain": True},
        ],
    },
}


def _resolve(value: Any, labels: dict[str, str]) -> Any:
    if isinstance(value, str) and value.startswith("@") and value[1:] in labels:
        return labels[value[1:]]
    return value


async def _step(
    sim: Simulator, instance: Instance, step: dict[str, Any], labels: dict[str, str]
) -> dict[str, Any]:
    if len(step) != 1:
        raise ValueError(f"a step has exactly one action, got {sorted(step)}")
    action, argument = next(iter(step.items()))
    if action == "customer":
        customer = sim.add_customer(**argument)
        return {"customer": customer.phone, "lid": customer.lid}
    if action == "say":
        options = {
            k: _resolve(v, labels)
            for k, v in argument.items()
            if k not in ("from", "type", "label")
        }
        result = await sim.customer_sends(
            instance, argument["from"], argument.get("type", "text"), **options
        )
        data = result["data"]
        key_id = data.get("key", {}).get("id") if isinstance(data, dict) else None
        if "label" in argument and key_id:
            labels[argument["label"]] = key_id
        return {"event": result["event"], "key_id": key_id}
    if action == "advance":
        if isinstance(sim.clock, ManualClock):
            sim.clock.advance(float(argument))
        else:
            await sim.sleep(float(argument))
        return {"advanced": argument}
    if action == "sleep":
        await sim.sleep(float(argument))
        return {"slept": argument}
    if action == "connection":
        actions: dict[str, Callable[[], object]] = {
            "pair": lambda: sim.pair(instance),
            "drop": lambda: sim.drop_connection(instance),
            "logout": lambda: sim.logout(instance),
            "qr": lambda: sim.start_connecting(instance),
            "refuse": lambda: sim.refuse_qr(instance),
        }
        actions[argument]()
        return {"connection": argument}
    if action == "faults":
        instance.faults = sim.faults_for(instance).updated(argument)
        return {"faults": sorted(argument)}
    if action == "drain":
        await sim.drain()
        return {"drained": True}
    raise ValueError(f"unknown step {action!r}")


async def run_scenario(
    sim: Simulator, instance: Instance, steps: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Run steps in order; returns one result per step (ids of messages, customers added…)."""
    labels: dict[str, str] = {}
    results = []
    for index, step in enumerate(steps):
        try:
            results.append(await _step(sim, instance, step, labels))
        except (ValueError, KeyError, TypeError, FaultError) as error:
            raise SimulatorError(f"step {index}: {error}") from None
    return results
