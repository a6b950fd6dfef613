"""A tiny TCP echo server, and a thread that runs asyncio servers for synchronous code.

Case study: Netflix's Chaos Engineering (docs/case-studies/netflix-chaos.md)

The chaos proxy needs a real server to stand in front of. :class:`EchoServer` listens on
loopback (port 0: the system picks a free one) and writes back every byte it reads, so a
client can tell a delayed, throttled, reset or swallowed answer from a good one.
:class:`LoopThread` runs an event loop in a daemon thread, so a synchronous test, script or
notebook can start the echo server and the proxy and then talk to them with plain sockets.

Complexity: O(bytes) per connection.

>>> import socket
>>> with LoopThread() as loop:
...     server = loop.run(EchoServer().start())
...     with socket.create_connection(server.address, timeout=5) as sock:
...         _ = sock.sendall(b"ping")
...         sock.recv(4)
...     loop.run(server.stop())
b'ping'
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

from designpatterns_ref.resilience.base import check_address

__all__ = ["EchoServer", "LoopThread"]

T = TypeVar("T")


class EchoServer:
    """Echo every byte back, on ``host``:``port`` (0: a free port)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = check_address("EchoServer", "listen", host, port)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.connections = 0
        self.bytes_echoed = 0

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` once started."""
        return (self.host, self.port)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        try:
            while data := await reader.read(65536):
                self.bytes_echoed += len(data)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def start(self) -> EchoServer:
        """Start listening; returns self (with the real port)."""
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        """Stop listening and close every connection."""
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            await self._server.wait_closed()
            self._server = None


class LoopThread:
    """An asyncio event loop in a daemon thread; ``run(coro)`` waits for its result."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> LoopThread:
        self._thread.start()
        return self

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run ``coro`` on the loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()
