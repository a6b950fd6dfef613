"""``dpref bench messaging``: seq assignment and dedup per store, one gateway process at scale,
Slack's shape across processes, and the read-states GC lab.

Case study: Slack's WebSocket Gateway: 1M Concurrent Connections
(docs/case-studies/slack-gateway.md)

Step one appends messages (every fifth one a retry of an earlier ``client_msg_id``) to each
store: microseconds per append, median of 3 runs. Step two starts ``dpref messaging serve``
as its own process and opens N raw WebSockets to it from this one
(:func:`~designpatterns_ref.messaging.loadgen.measure_scale`): resident memory per idle
connection on each side (the server's read from ``/proc/<pid>``), the latency of one 100-byte
message to M members (arrival minus send; p50 / p99 over all deliveries of all rounds; every
delivery counted), the server's CPU time per fan-out, and pipelined messages per second.
Step three runs the same fan-out through two gateway and two channel-server processes
sharing a real Redis (:func:`~designpatterns_ref.messaging.loadgen.measure_cluster`). Step
four runs :func:`~designpatterns_ref.messaging.gclab.measure`; step five times read-state
acks written back to SQLite and to Redis.
Full run: 10,000 connections, 1,000 members, 10 rounds, 200,000 read states; quick run: 300,
100, 3, 20,000. Wall-clock latencies depend on what else the machine runs: the table notes
the load average.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable

from designpatterns_ref.benchkit import Table
from designpatterns_ref.messaging.base import Store
from designpatterns_ref.messaging.gclab import measure
from designpatterns_ref.messaging.loadgen import measure_cluster, measure_scale
from designpatterns_ref.messaging.memory import MemoryStore
from designpatterns_ref.messaging.readstates import ReadStates
from designpatterns_ref.messaging.readstore import ReadStateStore, RedisReadStore, SQLiteReadStore
from designpatterns_ref.messaging.sqlite import SQLiteStore

__all__ = ["bench_cluster", "bench_gc", "bench_readstores", "bench_scale", "bench_steps"]
__all__ += ["bench_stores"]


def _append_us(store: Store, n: int) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        cmid = f"m{i - 3 if i % 5 == 4 else i}"
        store.append("c", "ann", cmid, "x" * 100)
    return (time.perf_counter() - t0) / n * 1e6


def bench_stores(quick: bool) -> list[Table]:
    """Microseconds per append (seq assignment + dedup) on each store."""
    n = 500 if quick else 5000
    table = Table(f"append {n} messages, 1 in 5 a retry: µs per append", ["store", "µs"])
    makers: dict[str, Callable[[], Store]] = {
        "memory": MemoryStore,
        "sqlite (WAL, file)": lambda: SQLiteStore(tempfile.mkdtemp() + "/chat.db"),
    }
    for name, make in makers.items():
        table.add(name, round(statistics.median(_append_us(make(), n) for _ in range(3)), 2))
    from designpatterns_ref.testing import redis_server

    with redis_server() as srv:
        from designpatterns_ref.messaging.redis import RedisStore

        runs = [_append_us(RedisStore(srv.url, prefix=f"b{i}"), n) for i in range(3)]
        table.add("redis streams (loopback)", round(statistics.median(runs), 2))
    return [table]


def bench_scale(quick: bool) -> list[Table]:
    """Idle connections, memory per connection, fan-out latency and throughput, measured with
    the gateway in its own process (:func:`~designpatterns_ref.messaging.loadgen.measure_scale`),
    then the same with the naive baseline (:mod:`~designpatterns_ref.messaging.naive`)."""
    n, members, rounds, pairs = (300, 100, 3, 200) if quick else (10_000, 1000, 10, 2000)
    table = Table(
        f"one server process, {n} idle sockets; one 100-byte message to {members} of them "
        f"({rounds} rounds), the members held by 2 receiving processes",
        ["server", "server B/conn", "client B/conn", "fan-out p50 ms", "p99 ms",
         "server CPU ms/fan-out", "delivered", "msgs/s (1 sender, pipelined)"],
    )  # fmt: skip
    runs = {}
    for server in ("gateway", "naive"):
        r = runs[server] = measure_scale(n, members, rounds=rounds, pairs=pairs, server=server)
        table.add("messaging.Gateway" if server == "gateway" else "naive websockets (peer)",
                  round(r["server_bytes_per_conn"]), round(r["client_bytes_per_conn"]),
                  round(r["p50_ms"], 1), round(r["p99_ms"], 1),
                  round(r["server_cpu_ms_per_fanout"], 1),
                  f"{r['delivered']}/{r['expected']}", round(r["messages_per_s"]))  # fmt: skip
    ratio = runs["naive"]["p99_ms"] / runs["gateway"]["p99_ms"]
    table.note = (
        f"p99: the gateway {ratio:.1f}x faster than the naive server in this run; load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    return [table]


def bench_cluster(quick: bool) -> list[Table]:
    """Fan-out through Slack's shape: 2 gateways, 2 channel servers, one Redis."""
    from designpatterns_ref.testing import redis_server

    members, rounds = (50, 3) if quick else (1000, 10)
    with redis_server() as srv:
        r = measure_cluster(srv.url, members, rounds)
    table = Table(
        f"2 gateway + 2 channel-server processes, Redis Streams + Pub/Sub: one 100-byte message "
        f"to {members} members split over both gateways ({rounds} rounds)",
        ["members", "p50 ms", "p99 ms", "delivered"],
    )
    table.add(members, round(r["p50_ms"], 1), round(r["p99_ms"], 1),
              f"{r['delivered']}/{r['expected']}")  # fmt: skip
    return [table]


def bench_gc(quick: bool) -> list[Table]:
    """Ack latency percentiles and collector pauses, naive against GC-aware layout."""
    entries, ops = (20_000, 20_000) if quick else (200_000, 50_000)
    columns = ["layout", "p50 µs", "p99 µs", "p99.9 µs", "max ms", "full GCs", "GC pauses"]
    table = Table(f"read-state acks, {entries} cached, {ops} acks", columns)
    for layout in ("naive", "gc_aware"):
        run = measure(layout, entries=entries, ops=ops)
        worst = round(max(run.latencies_ns) / 1e6, 2)
        table.add(layout, round(run.p(50), 2), round(run.p(99), 2), round(run.p(99.9), 1),
                  worst, run.full_collections, len(run.pauses))  # fmt: skip
    return [table]


def _acks_us(store: ReadStateStore, n: int) -> float:
    rs = ReadStates(store=store, capacity=1000, flush_entries=256)
    t0 = time.perf_counter()
    for i in range(n):
        rs.ack(f"u{i % 500}", f"c{i % 7}", i)
    rs.close()
    return (time.perf_counter() - t0) / n * 1e6


def bench_readstores(quick: bool) -> list[Table]:
    """Read-state acks with write-back batches of 256, to SQLite and to Redis."""
    from designpatterns_ref.testing import redis_server

    n = 5_000 if quick else 50_000
    table = Table(f"{n} read-state acks, LRU of 1,000, write-back every 256: µs per ack "
                  "(median of 3)", ["durable store", "µs per ack"])  # fmt: skip
    runs = [_acks_us(SQLiteReadStore(tempfile.mkdtemp() + "/rs.db"), n) for _ in range(3)]
    table.add("sqlite (WAL, file)", round(statistics.median(runs), 2))
    with redis_server() as srv:
        runs = [_acks_us(RedisReadStore(srv.url, prefix=f"rs{i}"), n) for i in range(3)]
    table.add(
        "redis (hash per user, one merge script per batch)", round(statistics.median(runs), 2)
    )
    return [table]


def bench_steps(quick: bool) -> list[tuple[str, Callable[[], list[Table]]]]:
    """The steps ``dpref bench messaging`` runs, each returning its tables."""
    return [
        ("stores: seq assignment and dedup", lambda: bench_stores(quick)),
        ("gateway in its own process: connections, memory, fan-out", lambda: bench_scale(quick)),
        ("Slack's shape: 2 gateways, 2 channel servers, Redis", lambda: bench_cluster(quick)),
        ("read states: the GC lesson", lambda: bench_gc(quick)),
        ("read states: write-back to SQLite or Redis", lambda: bench_readstores(quick)),
    ]
