"""Entry points: serve the simulator with uvicorn, in demo or test mode, from code or the CLI."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Literal

import uvicorn
from fastapi import FastAPI

from zapcrm.evolution.simulator.demo import DemoDriver
from zapcrm.evolution.simulator.server import create_simulator_app
from zapcrm.evolution.simulator.simulator import Simulator, SimulatorConfig

__all__ = ["ReadyServer", "SimulatorServer", "run_simulator_cli", "serve_simulator"]


class ReadyServer(uvicorn.Server):
    """A uvicorn server that signals when its sockets are listening."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start as uvicorn does, then set `ready`."""
        await super().startup(sockets)
        self.ready.set()


class SimulatorServer:
    """A simulator plus the uvicorn server that exposes it; `serve()` runs until stopped."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        global_key: str,
        webhook_url: str | None = None,
        instance: str | None = "zapcrm",
        token: str | None = None,
        mode: Literal["demo", "test"] = "demo",
        seed: int | None = None,
        time_scale: float = 1.0,
        tz_offset_minutes: int = 0,
        server_url: str | None = None,
        log_level: str = "info",
    ) -> None:
        config = SimulatorConfig(
            global_key=global_key,
            server_url=server_url or f"http://{host}:{port}",
            mode=mode,
            seed=seed if seed is not None else (0 if mode == "test" else random_seed()),
            time_scale=time_scale,
            tz_offset_minutes=tz_offset_minutes,
            # The demo pairs at once; tests pair explicitly through the control API.
            auto_pair=mode == "demo",
            pair_delay=2.0,
        )
        self.simulator = Simulator(config)
        self.instance_name = instance
        self.token = token
        self.webhook_url = webhook_url
        self.app = create_simulator_app(self.simulator)
        self.app.router.lifespan_context = self._lifespan
        self.server = ReadyServer(
            uvicorn.Config(self.app, host=host, port=port, log_level=log_level, lifespan="on")
        )

    @contextlib.asynccontextmanager
    async def _lifespan(self, _: FastAPI) -> AsyncIterator[None]:
        sim = self.simulator
        demo: asyncio.Task[None] | None = None
        if self.instance_name:
            webhook = None
            if self.webhook_url:
                # zapcrm authenticates deliveries by a custom `apikey` header = the token (§6.8).
                webhook = {
                    "url": self.webhook_url,
                    "byEvents": False,
                    "base64": False,
                    "events": [],
                    "headers": {"apikey": self.token} if self.token else {},
                }
            instance = await sim.create_instance(
                self.instance_name, token=self.token, webhook=webhook
            )
            sim.start_connecting(instance)
            if sim.config.mode == "demo":
                demo = asyncio.get_running_loop().create_task(DemoDriver(sim, instance).run())
            else:
                sim.pair(instance)  # test mode: connected at once, deterministically
        try:
            yield
        finally:
            if demo is not None:
                demo.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await demo
            await sim.aclose()

    async def serve(self) -> None:
        """Serve until `stop()` (or a signal, when run as a program)."""
        await self.server.serve()

    async def wait_ready(self) -> None:
        """Wait until the server accepts connections."""
        await self.server.ready.wait()

    def stop(self) -> None:
        """Ask uvicorn to shut down."""
        self.server.should_exit = True

    @property
    def port(self) -> int:
        """The bound port (useful with port 0), once started."""
        sockets = self.server.servers[0].sockets if self.server.servers else []
        return int(sockets[0].getsockname()[1]) if sockets else self.server.config.port


def random_seed() -> int:
    """A seed for demo runs, which need variety rather than reproducibility."""
    import secrets

    return secrets.randbelow(2**31)


async def serve_simulator(
    host: str,
    port: int,
    *,
    global_key: str,
    webhook_url: str | None = None,
    instance: str | None = "zapcrm",
    token: str | None = None,
    mode: Literal["demo", "test"] = "demo",
    seed: int | None = None,
    time_scale: float = 1.0,
    tz_offset_minutes: int = 0,
) -> None:
    """Serve a simulated Evolution API until interrupted; demo mode keeps customers chatting."""
    server = SimulatorServer(
        host,
        port,
        global_key=global_key,
        webhook_url=webhook_url,
        instance=instance,
        token=token,
        mode=mode,
        seed=seed,
        time_scale=time_scale,
        tz_offset_minutes=tz_offset_minutes,
    )
    await server.serve()


def run_simulator_cli(
    host: str,
    port: int,
    global_key: str,
    webhook_url: str | None,
    instance_name: str,
    instance_token: str,
    mode: str,
) -> None:
    """Blocking entry point for `zapcrm simulate`."""
    if mode not in ("demo", "test"):
        raise ValueError('mode must be "demo" or "test"')
    asyncio.run(
        serve_simulator(
            host,
            port,
            global_key=global_key,
            webhook_url=webhook_url,
            instance=instance_name,
            token=instance_token,
            mode="demo" if mode == "demo" else "test",
        )
    )
