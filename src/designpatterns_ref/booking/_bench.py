"""``dpref bench booking``: bookings per second and conflicts per strategy, under low and high
contention, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from designpatterns_ref.benchkit import Table
from designpatterns_ref.booking.base import SoldOut, Stay
from designpatterns_ref.booking.constraint import ConstraintBooking
from designpatterns_ref.booking.optimistic import OptimisticBooking
from designpatterns_ref.booking.pessimistic import PessimisticBooking
from designpatterns_ref.booking.store import BookingStore, PostgresStore, SQLiteStore

FIRST = date(2026, 6, 1)
STRATEGIES: dict[str, Callable[[BookingStore], Any]] = {
    "pessimistic": PessimisticBooking,
    "optimistic": lambda s: OptimisticBooking(s, retries=1000),
    "constraint": lambda s: ConstraintBooking(s, retries=1000),
}


def run(strategy: Any, threads: int, per_thread: int, hotels: int) -> tuple[float, float, int]:
    """(bookings per second, attempts per booking, refused): ``threads`` bookers, each booking
    ``per_thread`` one-night stays at hotel ``t % hotels`` (hotels == threads: disjoint)."""
    done = [0] * threads
    attempts = [0] * threads
    refused = [0] * threads
    barrier = threading.Barrier(threads)

    def work(t: int) -> None:
        barrier.wait()
        for i in range(per_thread):
            night = FIRST + timedelta(days=i % 30)
            try:
                booking = strategy.book(
                    Stay(f"h{t % hotels}", "double", night, night + timedelta(days=1))
                )
                done[t] += 1
                attempts[t] += booking.attempts
            except SoldOut:
                refused[t] += 1
        strategy.store.close()

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    seconds = time.perf_counter() - start
    return sum(done) / seconds, sum(attempts) / max(1, sum(done)), sum(refused)


def _store(engine: str, url: str | None, tag: str) -> BookingStore:
    if engine == "sqlite":
        return SQLiteStore(os.path.join(tempfile.mkdtemp(prefix="dpref-bench-"), f"{tag}.db"))
    import psycopg

    assert url is not None
    name = f"bench_{tag}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)".encode())
        conn.execute(f"CREATE DATABASE {name}".encode())
    return PostgresStore(url.rsplit("/", 1)[0] + "/" + name)


def bench_contention(quick: bool, pg_url: str | None = None) -> list[Table]:
    threads = 8
    per_thread = 40 if quick else 250
    table = Table(
        f"bookings per second, {threads} threads x {per_thread} one-night bookings",
        ["engine", "strategy", "contention", "bookings/s", "attempts/booking"],
    )
    engines = [("sqlite", None)] + ([("postgres", pg_url)] if pg_url else [])
    for engine, url in engines:
        for name, make in STRATEGIES.items():
            for label, hotels in (("low: disjoint hotels", threads), ("high: one hotel", 1)):
                store = _store(engine, url, f"{name}_{hotels}")
                rooms = threads * per_thread // hotels  # never sold out: only contention
                for h in range(hotels):
                    store.add_inventory(f"h{h}", "double", FIRST, 30, total=rooms)
                rate, attempts, _ = run(make(store), threads, per_thread, hotels)
                table.add(engine, name, label, round(rate), round(attempts, 2))
                store.close()
    return [table]


def bench_steps(quick: bool) -> list[tuple[str, Callable[[], list[Table]]]]:
    """The steps ``dpref bench booking`` runs, each returning its tables."""

    def contention() -> list[Table]:
        from designpatterns_ref.testing import ServerUnavailable, postgres_server

        try:
            with postgres_server() as pg:
                return bench_contention(quick, pg.url)
        except ServerUnavailable:
            return bench_contention(quick, None)

    return [("bookings under contention", contention)]
