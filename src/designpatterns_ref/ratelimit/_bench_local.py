"""``dpref bench ratelimit``, continued: written limits, blocking acquisition, SQLite.

Steps, each beside the peer that does the same thing when it is installed: microseconds to
read ``"10/second; 1000/hour"`` (``limits.parse_many``); blocking acquisition on the real
clock, how late each admission comes against the ideal schedule (pyrate-limiter's
``try_acquire(blocking=True)``); SQLite decisions per second on one key from 1 and 4 processes
(pyrate-limiter's ``SQLiteBucket``, with its file lock across processes), beside the
in-memory limiter. Every time is a median over repeated runs; quick mode shrinks the work.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from designpatterns_ref.benchkit import Table, installed, time_per_item
from designpatterns_ref.clock import ManualClock
from designpatterns_ref.ratelimit import TokenBucket, parse_limits

__all__ = ["bench_blocking", "bench_notation", "bench_sqlite", "sqlite_workloads"]

TEXTS = ["10/second", "10/second; 1000/hour", "5 per minute, 100/5 minutes | 1000 per day"]


def bench_notation(quick: bool) -> list[Table]:
    """Microseconds to read written limits: ours against ``limits.parse_many``."""
    calls, rounds = (200, 3) if quick else (5_000, 7)
    table = Table("Reading written limits: µs per text (median)", ["text", "ours", "limits"])
    for text in TEXTS:
        ours = [time_per_item(parse_limits, [text] * calls, 1) for _ in range(rounds)]
        theirs = "-"
        if installed("limits"):
            from limits import parse_many

            samples = [time_per_item(parse_many, [text] * calls, 1) for _ in range(rounds)]
            theirs = f"{statistics.median(samples) * 1e6:.2f}"
        table.add(repr(text), f"{statistics.median(ours) * 1e6:.2f}", theirs)
    table.note = "Both read the same grammar; ours also names the position of an error."
    return [table]


# --------------------------------------------------------------------------- blocking


def _lateness(acquire: Callable[[], object], count: int, interval: float) -> float:
    """Mean seconds each admission came after the ideal schedule (one every ``interval``)."""
    began = time.perf_counter()
    late = []
    for k in range(count):
        acquire()
        late.append(time.perf_counter() - began - k * interval)
    return statistics.mean(late)


def _pyrate(interval_ms: int, buffer_ms: int) -> Callable[[], object]:
    import pyrate_limiter as pl

    limiter = pl.Limiter(pl.Rate(1, interval_ms), buffer_ms=buffer_ms)
    return lambda: limiter.try_acquire("k", blocking=True)


def bench_blocking(quick: bool) -> list[Table]:
    """How late a blocking acquisition is admitted, against the ideal schedule."""
    count, rounds, interval = (10, 1, 0.01) if quick else (40, 5, 0.01)
    contenders: dict[str, Callable[[], Callable[[], object]]] = {
        "ours acquire (TokenBucket 1 per 10 ms)": lambda: partial(
            TokenBucket(1, interval, 1).acquire, "k", timeout=1.0
        ),
        "ours acquire_async": lambda: _async_acquire(interval),
    }
    if installed("pyrate_limiter"):
        contenders["pyrate-limiter blocking, buffer_ms=0"] = lambda: _pyrate(10, 0)
        contenders["pyrate-limiter blocking, default buffer_ms=50"] = lambda: _pyrate(10, 50)
    table = Table(
        f"Blocking acquisition: {count} back-to-back waits for 1 per 10 ms, real clock",
        ["limiter", "mean lateness ms", "admitted per second"],
    )
    for name, build in contenders.items():
        samples = [_lateness(build(), count, interval) for _ in range(rounds)]
        late = statistics.median(samples)
        rate = (count - 1) / ((count - 1) * interval + late) if late > -interval else float("nan")
        table.add(name, f"{late * 1e3:.2f}", f"{rate:.1f}")
    clock = ManualClock()
    simulated = TokenBucket(1, 0.01, 1, clock=clock)
    per_call = time_per_item(lambda _: simulated.acquire("k"), range(2_000 if quick else 20_000), 1)
    table.note = (
        f"Ideal: 100 per second, lateness 0. On a ManualClock an acquire that waits costs "
        f"{per_call * 1e6:.2f} µs (the wait advances the clock). pyrate-limiter adds buffer_ms "
        "to every wait it sleeps."
    )
    return [table]


def _async_acquire(interval: float) -> Callable[[], object]:
    bucket = TokenBucket(1, interval, 1)
    loop = asyncio.new_event_loop()
    return lambda: loop.run_until_complete(bucket.acquire_async("k", timeout=1.0))


# --------------------------------------------------------------------------- SQLite


def sqlite_workloads(path: str) -> dict[str, Callable[[], Callable[[str], object]]]:
    """name -> build() -> call(key), each limiter admitting all (10^9 per hour) on ``path``."""
    from designpatterns_ref.ratelimit import sqlite as sq

    big, hour = 10**9, 3600.0
    out: dict[str, Callable[[], Callable[[str], object]]] = {
        "in-memory TokenBucket (one process's own)": lambda: TokenBucket(big, hour, big).allow,
        "TokenBucket": lambda: sq.TokenBucket(path, big, hour, big, busy_timeout=60.0).allow,
        "GCRA": lambda: sq.GCRA(path, big, hour, big, busy_timeout=60.0).allow,
        "FixedWindow": lambda: sq.FixedWindow(path, big, hour, busy_timeout=60.0).allow,
        "SlidingWindowCounter": lambda: (
            sq.SlidingWindowCounter(path, big, hour, busy_timeout=60.0).allow
        ),
        "all_of('10000/second; 1000000000/hour')": lambda: (
            sq.limiter_from_text(
                path, "10000/second; 1000000000/hour", "gcra", busy_timeout=60.0
            ).allow
        ),
    }
    if installed("pyrate_limiter") and installed("filelock"):
        import pyrate_limiter as pl

        def pyrate() -> Callable[[str], object]:
            bucket = pl.SQLiteBucket.init_from_file(
                [pl.Rate(big, pl.Duration.HOUR)],
                table="pyrate",
                db_path=path + ".pyrate",
                use_file_lock=True,
            )
            limiter = pl.Limiter(bucket, buffer_ms=0)
            # blocking=True (it never waits at this rate): the file lock refuses a
            # non-blocking acquire with current filelock releases
            return lambda key: limiter.try_acquire(key, blocking=True)

        out["pyrate-limiter SQLiteBucket (file lock)"] = pyrate
    return out


def _sqlite_loop(path: str, name: str, calls: int, start: Any, out: Any) -> None:
    try:
        call = sqlite_workloads(path)[name]()
        call("warm")
    except Exception as exc:  # tell the parent rather than leave it waiting
        start.abort()
        out.put(repr(exc))
        return
    start.wait()
    began = time.perf_counter()
    for _ in range(calls):
        call("bench")
    out.put((began, time.perf_counter()))


def _throughput(path: str, name: str, processes: int, calls: int) -> float:
    """Decisions per second from ``processes`` processes on one key of one file."""
    context = multiprocessing.get_context("fork")
    start, out = context.Barrier(processes), context.Queue()
    workers = [
        context.Process(target=_sqlite_loop, args=(path, name, calls, start, out))
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    spans: list[Any] = [out.get(timeout=300) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    failed = [span for span in spans if isinstance(span, str)]
    if failed:
        raise RuntimeError(f"{name}: {failed[0]}")
    wall = float(max(end for _, end in spans)) - float(min(begin for begin, _ in spans))
    return processes * calls / wall


def bench_sqlite(quick: bool) -> list[Table]:
    """SQLite: decisions per second on one key, from 1 and 4 processes, beside the peer."""
    calls, rounds = (200, 1) if quick else (2_000, 3)
    table = Table(
        "SQLite, one key of one WAL file: decisions per second from 1 and 4 processes",
        ["limiter", "1 process", "4 processes"],
    )
    with tempfile.TemporaryDirectory(prefix="dpref-bench-") as folder:
        path = os.path.join(folder, "limits.db")
        for name in sqlite_workloads(path):
            one = statistics.median(_throughput(path, name, 1, calls) for _ in range(rounds))
            four = statistics.median(_throughput(path, name, 4, calls) for _ in range(rounds))
            table.add(name, f"{one:,.0f}", f"{four:,.0f}")
    table.note = (
        "Each decision is one BEGIN IMMEDIATE transaction (WAL, synchronous=NORMAL); the "
        "processes take turns at the file's write lock, so 4 processes share one writer. The "
        "in-memory row is each process counting on its own (no shared limit), for scale. "
        "pyrate-limiter's SQLiteBucket keeps one row per admitted item and counts the window "
        "with COUNT(*), so its cost grows with the items in the window."
    )
    return [table]
