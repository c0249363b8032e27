"""Network peers for tests: a server that accepts connections and never answers, a local
address nobody listens on, and a free port for a server of a test's own."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

# This host on Linux, in a URL (nothing binds to it here); it sorts before "127.0.0.1".
ANY_HOST = "0.0.0.0"  # noqa: S104


@contextlib.asynccontextmanager
async def silent_server(url_host: str = "127.0.0.1") -> AsyncIterator[str]:
    """The URL of a server that accepts connections and never answers (a client waits out its
    timeout). `url_host` names it in the URL (ANY_HOST names it too)."""
    silent = asyncio.Event()

    async def never_answers(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await silent.wait()
        writer.close()

    server = await asyncio.start_server(never_answers, "127.0.0.1", 0)
    try:
        yield f"http://{url_host}:{server.sockets[0].getsockname()[1]}"
    finally:
        silent.set()
        server.close()


def free_port() -> int:
    """A local TCP port nobody listens on (free when asked)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def refusing_url() -> str:
    """A local URL nobody listens on: every call fails at once with a connection error."""
    return f"http://127.0.0.1:{free_port()}"
