"""``dpref bench notifications``: notifications per second end to end in memory, on SQLite and on
Redis Streams with 1 and 4 worker processes; the dedup and cap checks per message; the time to
drain a 1M-notification campaign."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from typing import Any

from designpatterns_ref.benchkit import Table, time_per_call
from designpatterns_ref.clock import ManualClock
from designpatterns_ref.notifications.base import Notification
from designpatterns_ref.notifications.pipeline import Pipeline
from designpatterns_ref.notifications.providers import DedupWindow
from designpatterns_ref.notifications.queues import SQLiteQueue
from designpatterns_ref.notifications.simulate import campaign_pipeline
from designpatterns_ref.ratelimit import FixedWindow

__all__ = ["bench_steps", "end_to_end", "redis_workers"]


def _campaign(p: Pipeline, key: str = "c") -> Notification:
    return Notification(key, "promo", tuple(p.users), {"name": "a", "pct": "5"}, ("apns",))


def end_to_end(users: int, engine: str = "memory") -> float:
    """Notifications per second, accept to receipt: one campaign to ``users`` one-device users,
    through caps (not reached), dedup and the provider simulation; no failures."""
    queues: dict[str, Any] = {}
    if engine == "sqlite":
        folder = tempfile.mkdtemp(prefix="dpref-bench-")
        queues = {
            "accepted": SQLiteQueue(os.path.join(folder, "q.db"), name="accepted"),
            "outgoing": SQLiteQueue(os.path.join(folder, "q.db"), name="outgoing"),
        }
    p = campaign_pipeline(
        users=users, transient=0.0, quiet=False, cap=10, devices=1, keep_receipts=False, **queues
    )
    start = time.perf_counter()
    p.accept(_campaign(p))
    p.run()
    seconds = time.perf_counter() - start
    assert p.counts["delivered"] == users, p.counts
    return users / seconds


def redis_workers(url: str, users: int, workers: int) -> float:
    """Notifications per second on Redis Streams: the expand stage in this process feeds the
    outgoing streams; ``workers`` worker processes (already started) drain them."""
    import redis

    from designpatterns_ref.notifications.redis_streams import RedisStreamQueue

    name = f"bench-{uuid.uuid4().hex[:8]}"
    r = redis.Redis.from_url(url)
    out = RedisStreamQueue(url, f"{name}:out", consumer="producer")
    p = campaign_pipeline(users=users, transient=0.0, quiet=False, cap=10, devices=1,
                          keep_receipts=False, outgoing=out, clock=time.time)  # fmt: skip
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "designpatterns_ref.notifications.worker",
                "--url",
                url,
                "--name",
                name,
                "--consumer",
                f"w{i}",
                "--idle",
                "30",
                "--claim-idle",
                "5",
            ]
        )
        for i in range(workers)
    ]
    try:
        time.sleep(1.0)  # the workers are up and polling
        start = time.perf_counter()
        p.accept(_campaign(p))
        while p.expand_batch(64):
            pass
        deadline = time.monotonic() + 300
        while int(r.llen(f"{name}:deliveries")) < users:
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis bench: {workers} workers did not drain in 300 s")
            time.sleep(0.005)
        return users / (time.perf_counter() - start)
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
        r.close()


def check_costs(n: int) -> Table:
    """Microseconds per message of the dedup window and of the frequency-cap check."""
    clock = ManualClock(0.0)
    dedup = DedupWindow(3600.0, clock=clock)
    caps = FixedWindow(1_000_000, per=86400.0, clock=clock)
    ids = iter([f"n{i}|tok" for i in range(n * 6)])
    users = [f"user{i % 1000}" for i in range(n * 6)]
    it = iter(users)
    table = Table("cost per message of the dedup and cap checks", ["check", "µs/msg"])
    table.add("dedup window (new id)", round(1e6 * time_per_call(lambda: dedup.deliver(next(ids)),
                                                                    number=n), 3))  # fmt: skip
    table.add("dedup window (repeat)", round(1e6 * time_per_call(lambda: dedup.deliver("n0|tok"),
                                                                    number=n), 3))  # fmt: skip
    table.add("cap: ratelimit.FixedWindow.allow",
              round(1e6 * time_per_call(lambda: caps.allow(next(it)), number=n), 3))  # fmt: skip
    return table


def bench_steps(quick: bool) -> list[tuple[str, Callable[[], list[Table]]]]:
    """The steps ``dpref bench notifications`` runs, each returning its tables."""
    users = 2_000 if quick else 200_000
    sqlite_users = 1_000 if quick else 20_000
    redis_users = 1_000 if quick else 20_000
    drain = 20_000 if quick else 1_000_000
    repeat = 3

    def throughput() -> list[Table]:
        table = Table("notifications per second, end to end (median of 3)",
                      ["engine", "workers", "notifications", "notifications/s"])  # fmt: skip
        for engine, n in (("memory", users), ("sqlite", sqlite_users)):
            rate = statistics.median(end_to_end(n, engine) for _ in range(repeat))
            table.add(engine, 1, n, round(rate))
        from designpatterns_ref.testing import ServerUnavailable, redis_server

        try:
            with redis_server() as server:
                for workers in (1, 4):
                    rates = [redis_workers(server.url, redis_users, workers) for _ in range(repeat)]
                    table.add(
                        "redis streams", workers, redis_users, round(statistics.median(rates))
                    )
        except ServerUnavailable as exc:
            table.add("redis streams", 0, 0, f"skipped: {exc}")
        return [table]

    def costs() -> list[Table]:
        return [check_costs(20_000 if quick else 200_000)]

    def campaign() -> list[Table]:
        table = Table(
            "draining one campaign in memory", ["notifications", "seconds", "notifications/s"]
        )
        start = time.perf_counter()
        rate = end_to_end(drain)
        table.add(drain, round(time.perf_counter() - start, 2), round(rate))
        return [table]

    return [("end to end", throughput), ("check costs", costs), (f"{drain:,} campaign", campaign)]
