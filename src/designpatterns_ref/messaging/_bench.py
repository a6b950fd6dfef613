"""``dpref bench messaging``: seq assignment and dedup per store, fan-out on loopback, memory
per idle connection, and the read-states GC lab.

Case study: Slack's WebSocket Gateway: 1M Concurrent Connections
(docs/case-studies/slack-gateway.md)

Step one appends messages (every fifth one a retry of an earlier ``client_msg_id``) to each
store: microseconds per append, median of 3 runs. Step two runs a :class:`Gateway` and N raw
WebSocket clients in this process on loopback, all members of one channel; one client sends a
100-byte message, and each delivery's latency is its arrival time minus the send time
(p50 / p99 over all deliveries of all rounds; every message must reach every member). It
also reports the process's resident memory growth per open connection, which counts *both*
ends (client and gateway sockets live in the same process), so it is an upper bound of the
gateway's share. Step three runs :func:`~designpatterns_ref.messaging.gclab.measure`.
Full run: 1,000 members, 2,000 connections, 200,000 read states; quick run: 100, 200, 20,000.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable

from designpatterns_ref.benchkit import Table, percentile
from designpatterns_ref.messaging.base import Store
from designpatterns_ref.messaging.gclab import measure
from designpatterns_ref.messaging.memory import MemoryStore
from designpatterns_ref.messaging.sqlite import SQLiteStore

__all__ = ["bench_fanout", "bench_gc", "bench_steps", "bench_stores", "fanout", "rss_bytes"]


def rss_bytes() -> int:
    """This process's resident set size (Linux ``/proc/self/statm``)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


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


async def _fanout(members: int, rounds: int, idle: int) -> dict[str, float]:
    from websockets.asyncio.client import connect

    from designpatterns_ref.messaging.gateway import Gateway
    from designpatterns_ref.messaging.token import make_token

    secret = b"bench-secret"
    gw = Gateway(secret=secret)
    for i in range(max(members, idle)):
        gw.join("big", f"u{i}")
    async with gw:
        before = rss_bytes()
        socks = []
        for i in range(max(members, idle)):
            ws = await connect(gw.url, ping_interval=None, max_queue=None)
            tok = make_token(secret, f"u{i}", expires=time.time() + 3600)
            await ws.send(json.dumps({"op": "hello", "token": tok, "device": "d"}))
            await ws.recv()
            socks.append(ws)
        per_conn = (rss_bytes() - before) / len(socks)
        lat: list[float] = []
        delivered = 0
        for r in range(rounds):
            t0 = time.perf_counter()
            await socks[0].send(json.dumps({"op": "send", "conv": "big", "client_msg_id": f"r{r}",
                                            "body": "x" * 100}))  # fmt: skip

            async def recv_one(ws: object, t0: float = t0) -> float:
                while True:
                    frame = json.loads(await ws.recv())  # type: ignore[attr-defined]
                    if frame["op"] == "message":
                        return time.perf_counter() - t0

            got = await asyncio.gather(*(recv_one(ws) for ws in socks[:members]))
            lat += got
            delivered += len(got)
        for ws in socks:
            await ws.close()
    return {"members": members, "connections": len(socks), "bytes_per_conn": per_conn,
            "p50_ms": percentile(lat, 50) * 1e3, "p99_ms": percentile(lat, 99) * 1e3,
            "delivered": delivered, "expected": members * rounds}  # fmt: skip


def fanout(members: int, rounds: int = 5, idle: int = 0) -> dict[str, float]:
    """Fan-out latency of ``rounds`` messages to ``members`` sockets, and memory per socket."""
    return asyncio.run(_fanout(members, rounds, idle))


def bench_fanout(quick: bool) -> list[Table]:
    """Fan-out latency to one channel's members, and memory per idle connection."""
    members, idle = (100, 200) if quick else (1000, 2000)
    r = fanout(members, 5, idle)
    table = Table(
        "loopback gateway: one 100-byte message to every member (5 rounds)",
        ["members", "connections", "p50 ms", "p99 ms", "delivered", "RSS B/conn (both ends)"],
    )
    table.add(members, r["connections"], round(r["p50_ms"], 1), round(r["p99_ms"], 1),
              f"{r['delivered']}/{r['expected']}", round(r["bytes_per_conn"]))  # fmt: skip
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


def bench_steps(quick: bool) -> list[tuple[str, Callable[[], list[Table]]]]:
    """The steps ``dpref bench messaging`` runs, each returning its tables."""
    return [
        ("stores: seq assignment and dedup", lambda: bench_stores(quick)),
        ("gateway fan-out on loopback", lambda: bench_fanout(quick)),
        ("read states: the GC lesson", lambda: bench_gc(quick)),
    ]
