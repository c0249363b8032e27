"""Test mode is reproducible: the same seed yields the same webhook payloads, byte for byte."""

from __future__ import annotations

from typing import Any

from tests.evolution.simulator.conftest import Receiver, asgi_client, make_config, open_instance
from zapcrm.evolution.simulator import SCENARIOS, Simulator, run_scenario


async def run_script(seed: int, hook: str) -> tuple[list[Any], list[Any]]:
    sim = Simulator(make_config(seed=seed))
    try:
        async with asgi_client(sim) as api:
            token = await open_instance(api, hook)
            instance = sim.instances["acme-sales"]
            await run_scenario(sim, instance, SCENARIOS["quirks"]["steps"])
            await run_scenario(sim, instance, SCENARIOS["padaria"]["steps"])
            responses = []
            for number in ("5511987651234", "5531991234567", "5581998765432"):
                sent = await api.post(
                    "/message/sendText/acme-sales",
                    json={"number": number, "text": "Olá!"},
                    headers={"apikey": token},
                )
                responses.append(sent.json())
                # Acks of one send run concurrently with the next call: wait, so interleaving
                # depends on the script alone, not on the machine's speed.
                await sim.drain()
        return [e.body for e in sim.emitter.emitted], responses
    finally:
        await sim.aclose()


async def test_same_seed_same_payloads(receiver: Receiver) -> None:
    first_events, first_responses = await run_script(11, receiver.new_hook())
    hook = receiver.new_hook()
    second_events, second_responses = await run_script(11, hook)
    assert first_responses == second_responses
    # Only `destination` differs: each run used its own hook URL.
    strip = [{k: v for k, v in body.items() if k != "destination"} for body in first_events]
    assert strip == [
        {k: v for k, v in body.items() if k != "destination"} for body in second_events
    ]
    assert len(first_events) > 30


async def test_another_seed_changes_ids(receiver: Receiver) -> None:
    _, first = await run_script(11, receiver.new_hook())
    _, other = await run_script(12, receiver.new_hook())
    assert [r["key"]["id"] for r in first] != [r["key"]["id"] for r in other]
