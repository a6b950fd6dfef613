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
(and, under ``CI`` or ``DPREF_REQUIRE_SERVERS=1``, into a failure). A server's output goes to
``server.log`` in its folder, and the last lines of it name the cause when it does not start.
Only a server that says it could not bind its port is retried on a new one; any other failure is
raised at once.

Signals reach the whole server, not just the process we started: PostgreSQL's backends (one per
connection) make their own sessions, so pausing or killing the postmaster alone would leave open
connections answering. :meth:`Server.paused` and :meth:`Server.kill` signal the process, its
process group and every process below it. An interrupt (Ctrl-C, a test timeout) while a server
starts kills the half-started process before it propagates. A server never outlives the process
that started it: when that process is killed, :mod:`.reaper` kills its servers.

>>> free_port() > 0
True
>>> import os; os.environ["DPREF_EXAMPLE_FLAG"] = "False"
>>> env_flag("DPREF_EXAMPLE_FLAG")
False
>>> del os.environ["DPREF_EXAMPLE_FLAG"]
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from designpatterns_ref.errors import DesignPatternsError
from designpatterns_ref.testing import reaper

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


def env_flag(name: str) -> bool:
    """True when environment variable ``name`` is ``1``, ``true`` or ``yes`` (any case); unset,
    empty, ``0``, ``false``, ``no`` or anything else is false."""
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes"}


class _Exited(ServerUnavailable):
    """The server's process ended while starting because its port was taken (its log says so):
    :func:`_start` retries such a server on a new port."""


#: What Redis/Valkey and PostgreSQL print when the port they were given is no longer free.
_PORT_TAKEN = re.compile(
    r"address already in use|could not bind|could not create any TCP/IP sockets|"
    r"failed listening on port",
    re.IGNORECASE,
)


def _wait(
    ready: Any,
    process: subprocess.Popen[bytes],
    what: str,
    timeout: float,
    log: Callable[[], str] = lambda: "",
) -> None:
    """Poll ``ready()`` until it is true; raise if the process dies or time runs out (the
    caller kills it), with the end of its ``log()``. A process that died saying its port was
    taken raises :class:`_Exited` (worth a retry on another port); any other death raises
    :class:`ServerUnavailable`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log()
            kind = _Exited if _PORT_TAKEN.search(tail) else ServerUnavailable
            raise kind(f"{what} exited with status {process.returncode}{_said(tail)}")
        with contextlib.suppress(OSError):
            if ready():
                return
        time.sleep(0.01)
    raise ServerUnavailable(f"{what} did not become ready within {timeout} s{_said(log())}")


def _said(tail: str) -> str:
    return f"; its log ends:\n{tail}" if tail else " (its log is empty)"


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid``: its children, theirs, and so on (read from Linux's
    ``/proc``, else asked of ``pgrep -P``)."""
    parents: dict[int, list[int]] = {}
    if os.path.isdir("/proc/self"):
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                try:
                    with open(f"/proc/{entry.name}/stat", "rb") as stat:
                        ppid = int(stat.read().rsplit(b")", 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    continue
                parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        if parents:
            children = parents.get(parent, [])
        else:
            try:
                out = subprocess.run(["pgrep", "-P", str(parent)], capture_output=True, timeout=5)
            except (OSError, subprocess.SubprocessError):
                break
            children = [int(word) for word in out.stdout.split()]
        found += children
        todo += children
    return found


def _gone(pid: int) -> bool:
    """The process has exited (a zombie counts: it holds no memory and serves nothing)."""
    if os.path.isdir("/proc/self"):
        try:
            with open(f"/proc/{pid}/stat", "rb") as stat:
                return stat.read().rsplit(b")", 1)[1].split()[0] in (b"Z", b"X")
        except (OSError, IndexError):
            return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _popen(args: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
    """``subprocess.Popen(args, **kwargs)`` run in a thread of its own, so that an interrupt
    (Ctrl-C, a test timeout: both land in the main thread) cannot strike between the fork and
    the return and lose the child; the child of an interrupted call is killed."""
    made: list[subprocess.Popen[bytes] | BaseException] = []

    def run() -> None:
        try:
            made.append(subprocess.Popen(args, **kwargs))
        except BaseException as exc:  # handed to the caller
            made.append(exc)

    thread = threading.Thread(target=run, name="dpref-popen", daemon=True)
    thread.start()
    try:
        thread.join()
    except BaseException:
        thread.join()
        if made and isinstance(made[0], subprocess.Popen):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(made[0].pid, signal.SIGKILL)
            made[0].wait()
        raise
    if isinstance(made[0], BaseException):
        raise made[0]
    return made[0]


class Server:
    """A server process we started: how to crash it, restart it and freeze it.

    Made by :func:`redis_server`, :func:`redis_cluster` and :func:`postgres_server`, which start
    it; ``args`` is the command line, rerun by :meth:`restart`. Its output (stdout and stderr)
    is appended to :attr:`log_path`; ``stop_signal`` asks it to shut down (PostgreSQL's
    subclass uses SIGINT, a fast shutdown that does not wait for clients to disconnect).
    """

    stop_signal: signal.Signals = signal.SIGTERM

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
        self._log_from = 0

    def __repr__(self) -> str:
        state = "running" if self.alive else "stopped"
        return f"{type(self).__name__}({self.host}:{self.port}, {state})"

    @property
    def alive(self) -> bool:
        """True while the process runs (a paused process is alive)."""
        return self.process is not None and self.process.poll() is None

    @property
    def log_path(self) -> Path:
        """The file the server's output goes to (kept across restarts, in its folder)."""
        return Path(self.workdir, "server.log")

    def _ready(self) -> bool:  # pragma: no cover - overridden
        raise NotImplementedError

    def _log_tail(self, limit: int = 2000) -> str:
        """The end of what the server wrote since it was last started."""
        try:
            with open(self.log_path, "rb") as log:
                log.seek(self._log_from)
                text = log.read().decode(errors="replace").strip()
        except OSError:
            return ""
        return text[-limit:]

    def _credentials(self) -> dict[str, Any]:
        """``user``/``group``/``extra_groups`` for Popen: the server user's own uid and gid and
        none of our supplementary groups (as root, the server must hold none of root's)."""
        if self.user is None:
            return {}
        import pwd

        entry = pwd.getpwnam(self.user)
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}

    def _spawn(self) -> None:
        """Start the process and wait until the server answers; an exception or interrupt
        while waiting kills the process before it propagates."""
        try:
            with open(self.log_path, "ab") as log:
                self._log_from = log.seek(0, os.SEEK_END)
                self.process = _popen(
                    self.args,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    **self._credentials(),
                )
        except (OSError, KeyError) as exc:
            raise ServerUnavailable(f"cannot run {self.args[0]}: {exc}") from exc
        reaper.watch(self.process.pid)  # killed with us if this process dies first
        try:
            _wait(self._ready, self.process, Path(self.args[0]).name, self.timeout, self._log_tail)
        except BaseException:
            self.kill()
            raise

    @property
    def pid(self) -> int:
        """The server's process id."""
        if self.process is None:
            raise ServerUnavailable("the server was never started")
        return self.process.pid

    def _signal_all(self, sig: signal.Signals, pids: list[int] | None = None) -> None:
        """Send ``sig`` to the process, its process group and ``pids`` (by default every
        process below it: PostgreSQL's backends leave the group, so it alone misses them)."""
        if not self.alive:
            return
        for send, target in [(os.kill, self.pid), (os.killpg, self.pid)] + [
            (os.kill, pid) for pid in (_descendants(self.pid) if pids is None else pids)
        ]:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                send(target, sig)

    def stop(self) -> None:
        """Stop the server (``stop_signal``, then SIGKILL after five seconds)."""
        if self.process is not None and self.alive:
            self._signal_all(signal.SIGCONT)  # a paused server cannot shut down
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, self.stop_signal)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.process is not None:
            reaper.forget(self.process.pid)

    def kill(self) -> None:
        """Kill the server at once (SIGKILL to it and every process below it), as a crash
        would; return once they are all gone (a restart finds no process of the old one)."""
        if self.process is not None and self.alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGSTOP)  # no new children while we look for them
            below = _descendants(self.pid)
            self._signal_all(signal.SIGKILL, below)
            self.process.wait()
            deadline = time.monotonic() + 5
            while not all(_gone(pid) for pid in below) and time.monotonic() < deadline:
                time.sleep(0.005)
        if self.process is not None:
            reaper.forget(self.process.pid)

    def restart(self) -> None:
        """Start the server again on the same port (after :meth:`kill`, or stopping it first)."""
        self.stop()
        self._spawn()

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Freeze the server (SIGSTOP to it and every process below it, so that connections
        already open hang too) for the block: connections open, nothing answers."""
        if not self.alive:
            raise ServerUnavailable("cannot pause a server that is not running")
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGSTOP)  # first, so it starts no child we would miss
        frozen = _descendants(self.pid)
        self._signal_all(signal.SIGSTOP, frozen)
        try:
            yield
        finally:
            self._signal_all(signal.SIGCONT, [*frozen, *_descendants(self.pid)])


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
