"""A fault-injecting TCP proxy: toxiproxy's idea in one asyncio module.

Case study: Netflix's Chaos Engineering (docs/case-studies/netflix-chaos.md)

:class:`ChaosProxy` listens on loopback and forwards every connection to a real upstream
server, byte for byte, until you add a :class:`Toxic`. Toxics act on one direction
(``"downstream"``: server to client, ``"upstream"``: client to server) and can be added and
removed while connections are open; each chunk of data meets the toxics present when it
arrives:

- ``latency``: hold each chunk ``latency`` seconds (plus or minus ``jitter``);
- ``bandwidth``: pass at most ``rate`` bytes per second (chunks are cut into tenths of a
  second's worth and paced);
- ``reset_peer``: abort the connection with a TCP RST (``SO_LINGER`` 0) after ``timeout``
  seconds, on the next data or at once for new connections ("connection reset by peer");
  removing the toxic first stops the countdown;
- ``timeout``: let nothing through; close the connection ``timeout`` seconds after the toxic
  was added (or the connection opened, if later), whether or not any data came, or never when
  ``timeout`` is 0 (data is dropped until the toxic goes, as a blackhole does). Not even an end
  of stream goes through: it is held, and passed on once the toxic is gone. Removing the toxic
  first stops the countdown.

An end of stream from one side reaches the other as a half-close, and the other direction
keeps flowing until it ends too (a client that shuts its sending side still reads the whole
answer), as through toxiproxy. Removing a toxic restores service for the data that follows.
``set_enabled(False)`` refuses new connections and resets open ones (the server is down).
Toxics may be added and removed, and the proxy disabled, from any thread: what touches a
connection runs on the proxy's event loop.
Everything is real sockets, so any client (redis-py, httpx, a plain socket) can be pointed at
:attr:`ChaosProxy.address`.

Trade-off: a proxy breaks the network the way production breaks it (slow, throttled, reset,
silent), which a fault schedule on a callable cannot (it never exercises the client's own
socket timeouts); it costs an extra hop and real time.

Complexity: O(bytes) per connection; O(toxics) per chunk.

>>> import socket
>>> from designpatterns_ref.resilience.chaos.echo import EchoServer, LoopThread
>>> with LoopThread() as loop:
...     echo = loop.run(EchoServer().start())
...     proxy = loop.run(ChaosProxy(echo.address).start())
...     proxy.add_toxic(Toxic("slow", "latency", latency=0.05))
...     with socket.create_connection(proxy.address, timeout=5) as sock:
...         _ = sock.sendall(b"hello")
...         answer = sock.recv(5)
...     loop.run(proxy.stop()); loop.run(echo.stop())
>>> answer
b'hello'
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, Literal

from designpatterns_ref.errors import shown
from designpatterns_ref.resilience.base import (
    ResilienceError,
    ResilienceTypeError,
    check_address,
    check_int_seed,
    check_seconds,
)

__all__ = ["ChaosProxy", "Toxic"]

Direction = Literal["downstream", "upstream"]
KINDS = ("latency", "bandwidth", "reset_peer", "timeout")


@dataclass(frozen=True)
class Toxic:
    """One named fault on one direction of the proxy."""

    name: str
    kind: Literal["latency", "bandwidth", "reset_peer", "timeout"]
    direction: Direction = "downstream"
    latency: float = 0.0
    jitter: float = 0.0
    rate: float = 0.0  # bytes per second, for bandwidth
    timeout: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ResilienceTypeError(f"Toxic: name={shown(self.name, 60)} must be a non-empty str")
        if self.kind not in KINDS:
            raise ResilienceError(f"Toxic: kind={shown(self.kind, 60)} must be one of {KINDS}")
        if self.direction not in ("downstream", "upstream"):
            raise ResilienceError(
                f"Toxic: direction={shown(self.direction, 60)} must be 'downstream' or 'upstream'"
            )
        for name in ("latency", "jitter", "timeout"):
            object.__setattr__(self, name, check_seconds("Toxic", name, getattr(self, name)))
        rate = check_seconds("Toxic", "rate", self.rate)
        if self.kind == "bandwidth" and rate <= 0:
            raise ResilienceError(f"Toxic: rate={shown(self.rate)} must be > 0 bytes per second")
        object.__setattr__(self, "rate", rate)


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Mark a finished future's error as seen (asyncio logs an error nobody retrieved)."""
    if not future.cancelled():
        future.exception()


class _Link:
    """One proxied connection: the client's and the upstream's streams."""

    def __init__(self, client: asyncio.StreamWriter, upstream: asyncio.StreamWriter) -> None:
        self.client = client
        self.upstream = upstream
        self.closed = asyncio.Event()
        self.timers: dict[str, tuple[Toxic, asyncio.TimerHandle]] = {}  # timeout toxics' closes
        self.resets: list[tuple[Toxic, asyncio.TimerHandle]] = []  # reset_peer countdowns

    def reset(self) -> None:
        """Abort both sides; the client sees a TCP RST."""
        for writer in (self.client, self.upstream):
            sock = writer.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
        self._done()

    def close(self) -> None:
        for writer in (self.client, self.upstream):
            writer.close()
        self._done()

    def _done(self) -> None:
        for _, timer in (*self.timers.values(), *self.resets):
            timer.cancel()
        self.timers.clear()
        self.resets.clear()
        self.closed.set()


class ChaosProxy:
    """Forward ``listen`` -> ``upstream`` over real TCP, through the toxics present."""

    def __init__(
        self,
        upstream: tuple[str, int],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 0,
    ) -> None:
        if not isinstance(upstream, tuple) or len(upstream) != 2:
            raise ResilienceTypeError(
                f"ChaosProxy: upstream={shown(upstream, 60)} must be a (host, port) tuple"
            )
        self.upstream = check_address("ChaosProxy", "upstream", *upstream)
        self.host, self.port = check_address("ChaosProxy", "listen", host, port)
        check_int_seed("ChaosProxy", seed)
        # replaced whole on every change, never changed in place: the loop's thread reads it
        # while other threads add and remove toxics
        self._toxics: dict[str, Toxic] = {}
        self._links: set[_Link] = set()
        self._server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed: asyncio.Event | None = None  # set, and replaced, when the toxics change
        self._rng = random.Random(seed)
        self.enabled = True
        self.connections = 0
        self.resets = 0

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` clients connect to."""
        return (self.host, self.port)

    # ----------------------------------------------------------------- toxics
    def add_toxic(self, toxic: Toxic) -> None:
        """Add (or replace, by name) a toxic; it acts on the data that follows."""
        if not isinstance(toxic, Toxic):
            raise ResilienceTypeError(f"ChaosProxy.add_toxic: {shown(toxic, 60)} is not a Toxic")
        self._toxics = {**self._toxics, toxic.name: toxic}
        self._on_loop(self._arm_timeouts)

    def remove_toxic(self, name: str) -> None:
        """Remove a toxic by name (an unknown name is refused, naming those present)."""
        if not isinstance(name, str) or name not in self._toxics:
            raise ResilienceError(
                f"ChaosProxy.remove_toxic: no toxic named {shown(name, 60)}; "
                f"present: {sorted(self._toxics)}"
            )
        self._toxics = {n: t for n, t in self._toxics.items() if n != name}
        self._on_loop(self._arm_timeouts)

    def toxics(self) -> list[Toxic]:
        """The toxics present, in the order they were added."""
        return list(self._toxics.values())

    def set_enabled(self, enabled: bool) -> None:
        """``False``: refuse new connections and reset the open ones (upstream down)."""
        if not isinstance(enabled, bool):
            raise ResilienceTypeError(
                f"ChaosProxy.set_enabled: {shown(enabled, 60)} must be a bool"
            )
        self.enabled = enabled
        if not enabled:  # on the loop: a transport is not to be touched from another thread
            self._on_loop(self._reset_all)

    def _reset_all(self) -> None:
        for link in list(self._links):
            link.reset()

    def _on_loop(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` on the proxy's event loop (toxics may change from any thread)."""
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: no link is left
                self._loop.call_soon_threadsafe(callback)

    def _arm_timeouts(self, links: Collection[_Link] | None = None) -> None:
        """On the loop: each open link has one close timer per timeout toxic present, no more.

        Timers of toxics removed (or replaced) are cancelled, reset_peer countdowns included; a
        toxic new to a link starts its countdown now. Running it twice changes nothing, so it
        can follow every change.
        """
        present = {t.name: t for t in self._toxics.values() if t.kind == "timeout" and t.timeout}
        for link in self._links if links is None else links:
            for name, (toxic, timer) in list(link.timers.items()):
                if present.get(name) is not toxic:
                    timer.cancel()
                    del link.timers[name]
            for toxic, timer in link.resets:
                if self._toxics.get(toxic.name) is not toxic:
                    timer.cancel()
            link.resets = [(t, h) for t, h in link.resets if not h.cancelled()]
            for name, toxic in present.items():
                if name not in link.timers and not link.closed.is_set():
                    timer = asyncio.get_running_loop().call_later(
                        toxic.timeout, self._timed_out, link, toxic
                    )
                    link.timers[name] = (toxic, timer)
        if links is None and self._changed is not None:  # after a change: wake the waiters
            self._changed.set()
            self._changed = asyncio.Event()

    def _timed_out(self, link: _Link, toxic: Toxic) -> None:
        if self._toxics.get(toxic.name) is toxic and not link.closed.is_set():
            link.close()

    def _of(self, direction: Direction, kind: str) -> list[Toxic]:
        return [t for t in self._toxics.values() if t.direction == direction and t.kind == kind]

    # ----------------------------------------------------------------- serving
    async def start(self) -> ChaosProxy:
        """Start listening; returns self (with the real port)."""
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        """Stop listening and close every connection."""
        if self._server is not None:
            self._server.close()
            for link in list(self._links):
                link.close()
            await self._server.wait_closed()
            self._server = None

    async def _accept(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        if not self.enabled:
            client_writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_writer.transport.abort()
            return
        link = _Link(client_writer, up_writer)
        self._links.add(link)
        self.connections += 1
        for toxic in self._of("downstream", "reset_peer") + self._of("upstream", "reset_peer"):
            self._schedule_reset(link, toxic)
        self._arm_timeouts([link])
        pumps = [
            asyncio.ensure_future(self._pump(client_reader, up_writer, "upstream", link)),
            asyncio.ensure_future(self._pump(up_reader, client_writer, "downstream", link)),
        ]
        both: asyncio.Future[Any] = asyncio.gather(*pumps)
        both.add_done_callback(_retrieve)  # cancelled pumps end it with an error nobody awaits
        closed: asyncio.Future[Any] = asyncio.ensure_future(link.closed.wait())
        try:
            # Each direction runs to its own end of stream, which it passes on as a half-close
            # (a client that shuts its sending side still reads the whole answer); the link
            # closes once both are done, or at once on a reset, an error or stop().
            await asyncio.wait([both, closed], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (*pumps, closed):
                task.cancel()
            if not link.closed.is_set():
                link.close()
            self._links.discard(link)

    def _schedule_reset(self, link: _Link, toxic: Toxic) -> None:
        """Start the toxic's countdown on this connection, unless one is running already: one
        timer per connection and toxic (as toxiproxy has), however much data goes through."""
        if any(t is toxic for t, _ in link.resets):
            return

        def fire() -> None:
            link.resets = [(t, h) for t, h in link.resets if t is not toxic]  # done: dropped
            if not link.closed.is_set() and self._toxics.get(toxic.name) is toxic:
                self.resets += 1
                link.reset()

        link.resets.append((toxic, asyncio.get_running_loop().call_later(toxic.timeout, fire)))

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        direction: Direction,
        link: _Link,
    ) -> None:
        try:
            while data := await reader.read(65536):
                await self._through_toxics(data, writer, direction, link)
                if link.closed.is_set():
                    return
        except (ConnectionError, OSError):
            link.close()  # an error on either side ends both directions
            return
        while self._of(direction, "timeout") and self._changed is not None:
            await self._changed.wait()  # a blackhole holds the end of stream too, till it goes
        if not link.closed.is_set():  # end of stream: the other side sees a half-close
            with contextlib.suppress(OSError, RuntimeError):
                writer.write_eof()

    async def _through_toxics(
        self, data: bytes, writer: asyncio.StreamWriter, direction: Direction, link: _Link
    ) -> None:
        for toxic in self._of(direction, "reset_peer"):
            self._schedule_reset(link, toxic)
        if self._of(direction, "timeout"):
            return  # the data is dropped (the link's close timers, if any, are running)
        for toxic in self._of(direction, "latency"):
            jitter = self._rng.uniform(-toxic.jitter, toxic.jitter) if toxic.jitter else 0.0
            await asyncio.sleep(max(0.0, toxic.latency + jitter))
        limits = self._of(direction, "bandwidth")
        if limits:
            rate = min(t.rate for t in limits)
            step = max(1, int(rate / 10))
            for i in range(0, len(data), step):
                piece = data[i : i + step]
                await asyncio.sleep(len(piece) / rate)
                writer.write(piece)
                await writer.drain()
            return
        writer.write(data)
        await writer.drain()
