"""The process side every test server shares: a free port, start-up, crash, restart and pause.

:class:`Server` wraps one server process started on a loopback port in a temporary directory:
:meth:`Server.kill` (a crash), :meth:`Server.restart` (the same command line on the same port)
and :meth:`Server.paused` (SIGSTOP/SIGCONT: a hang, where clients time out instead of being
refused). :func:`free_port` asks the kernel for a port that is free right now, and ``_start``
spawns a server on it and waits until the process answers.

Trade-off: a port is free when :func:`free_port` looks, not necessarily when the server binds
it, so processes that start servers at the same moment (pytest-xdist workers) can race for one.
Rather than reserve ports (a lock file every caller would have to honour), a server counts as
started only when the one answering on its port is that process (each server's ``_ready``
checks Redis's ``process_id`` or PostgreSQL's data directory); the loser of a race sees its
process exit and retries on a new port instead of using the winner's server.

This module runs no binary of its own: :mod:`.redis` and :mod:`.postgres` find theirs and
subclass :class:`Server`. When a binary is missing or a server does not start, they raise
:class:`ServerUnavailable`, which the test fixtures turn into a skip that names the reason
(and, under ``CI`` or ``DPREF_REQUIRE_SERVERS=1``, into a failure).

>>> free_port() > 0
True
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from designpatterns_ref.errors import DesignPatternsError

HOST = "127.0.0.1"


class ServerUnavailable(DesignPatternsError, RuntimeError):
    """The server binary is missing or did not start."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _port() -> int:
    """:func:`free_port` as ``designpatterns_ref.testing`` exports it, looked up at each call,
    so that replacing ``designpatterns_ref.testing.free_port`` (as a test that races two
    servers for one port does) reaches every server started here."""
    from designpatterns_ref import testing

    return testing.free_port()


class _Exited(ServerUnavailable):
    """The server's process ended while starting (most often: its port was taken)."""


def _wait(ready: Any, process: subprocess.Popen[bytes], what: str, timeout: float) -> None:
    """Poll ``ready()`` until it is true; raise if the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise _Exited(f"{what} exited with status {process.returncode}")
        with contextlib.suppress(OSError):
            if ready():
                return
        time.sleep(0.01)
    process.kill()
    process.wait()
    raise ServerUnavailable(f"{what} did not become ready within {timeout} s")


class Server:
    """A server process we started: how to crash it, restart it and freeze it.

    Made by :func:`redis_server`, :func:`redis_cluster` and :func:`postgres_server`, which start
    it; ``args`` is the command line, rerun by :meth:`restart`.
    """

    def __init__(
        self,
        args: list[str],
        port: int,
        workdir: str,
        *,
        user: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.host = HOST
        self.port = port
        self.args = args
        self.workdir = workdir
        self.user = user
        self.timeout = timeout
        self.process: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        state = "running" if self.alive else "stopped"
        return f"{type(self).__name__}({self.host}:{self.port}, {state})"

    @property
    def alive(self) -> bool:
        """True while the process runs (a paused process is alive)."""
        return self.process is not None and self.process.poll() is None

    def _ready(self) -> bool:  # pragma: no cover - overridden
        raise NotImplementedError

    def _spawn(self) -> None:
        """Start the process and wait until the server answers."""
        try:
            self.process = subprocess.Popen(
                self.args,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                user=self.user,
                start_new_session=True,
            )
        except OSError as exc:
            raise ServerUnavailable(f"cannot run {self.args[0]}: {exc}") from exc
        _wait(self._ready, self.process, Path(self.args[0]).name, self.timeout)

    @property
    def pid(self) -> int:
        """The server's process id."""
        if self.process is None:
            raise ServerUnavailable("the server was never started")
        return self.process.pid

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after five seconds)."""
        if self.process is not None and self.alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), as a crash would."""
        if self.process is not None and self.alive:
            self.process.kill()
            self.process.wait()

    def restart(self) -> None:
        """Start the server again on the same port (after :meth:`kill`, or stopping it first)."""
        self.stop()
        self._spawn()

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Freeze the server (SIGSTOP) for the block: connections open, nothing answers."""
        if not self.alive:
            raise ServerUnavailable("cannot pause a server that is not running")
        os.kill(self.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGCONT)


S = TypeVar("S", bound=Server)


def _start(make: Callable[[], S], tries: int = 3) -> S:
    """``make()`` (a server on ports from :func:`free_port`) started; retried on new ports
    when its process ends at once.

    A port is free when :func:`free_port` looks, not necessarily when the server binds it:
    another process (a second pytest-xdist worker starting its own servers at the same
    moment) can take it in between. Each server's ``_ready`` checks that the server that
    answers on the port is this process, so a lost race is seen, not served by the other
    process's server.
    """
    for attempt in range(tries):
        server = make()
        try:
            server._spawn()
            return server
        except _Exited:
            if attempt == tries - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover
