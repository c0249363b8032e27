"""The Evolution API simulator in a process of its own, for benchmarks.

    .venv/bin/python -m bench._gateway --port 8080 --global-key KEY

Benchmarks used to serve it from their own event loop, where it shared one core with the load
generator; here it runs as production runs a gateway, on its own, on uvloop and httptools.
Test mode: no demo traffic; instances are created over its REST API.
"""

from __future__ import annotations

import argparse
import asyncio

import uvloop

from zapcrm.evolution.simulator import SimulatorServer


def main() -> None:
    """Serve the simulator until terminated."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--global-key", required=True)
    args = parser.parse_args()
    server = SimulatorServer(
        "127.0.0.1", args.port, global_key=args.global_key, instance=None, mode="test",
        time_scale=0.001, log_level="warning",
    )  # fmt: skip
    # uvicorn.run would pick uvloop itself; serve() in our own runner has to ask for it.
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(server.serve())


if __name__ == "__main__":
    main()
