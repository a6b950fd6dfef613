"""``dpref bench capacity``: events appended and projected per second, and rebuild time.

Case study: Design a Real-Time Bed Logistics System (docs/case-studies/bed-logistics.md)

A seeded stream of bed events over 50 homes (2 units of 20 beds each) is delivered home by
home in batches of ``batch`` events through :meth:`BedCapacity.ingest` (one transaction per
batch: the id check, the insert, then the projection), on SQLite (a file in WAL mode) and on a
real PostgreSQL when one can start. Then the whole log is replayed into a fresh projection (the
rebuild a new dashboard replica does at start), timing the read and the projection, and the
projection alone on events already in memory. Medians of ``repeat`` runs.

Full run: 200,000 appended, 1,000,000 rebuilt. Quick run: 2,000 and 10,000.
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

from designpatterns_ref.benchkit import Table
from designpatterns_ref.capacity.base import BedEvent, Topology
from designpatterns_ref.capacity.log import EventLog, PostgresEventLog, SQLiteEventLog
from designpatterns_ref.capacity.projection import CapacityProjection
from designpatterns_ref.capacity.service import BedCapacity

__all__ = ["append_rate", "bench_steps", "rebuild_seconds", "topology", "workload"]

_KINDS = ("admitted", "discharged", "released", "blocked", "reserved")


def topology(homes: int = 50, units: int = 2, beds: int = 20) -> Topology:
    """``homes`` homes in 5 municipalities, each with ``units`` units of ``beds`` beds."""
    return Topology({f"m{m}": {f"h{h}": {f"u{u}": beds for u in range(units)}
                               for h in range(m, homes, 5)} for m in range(5)})  # fmt: skip


def workload(topo: Topology, n: int, seed: int = 11) -> dict[str, list[BedEvent]]:
    """``n`` events per home stream (about), seeded; times increase, some transfers."""
    rng = random.Random(seed)
    beds = topo.beds()
    by_home: dict[str, list[BedEvent]] = {h: [] for h in topo.homes()}
    for i in range(n):
        bed = rng.choice(beds)
        home, unit, _ = bed.split("/")
        if rng.random() < 0.05:
            target = rng.choice([b for b in topo.unit_beds(home, unit) if b != bed] or [bed])
            if target != bed:
                by_home[home].append(BedEvent(f"e{i}", "transferred", bed, at=i, to_bed=target))
                continue
        by_home[home].append(BedEvent(f"e{i}", rng.choice(_KINDS), bed, at=float(i)))
    return by_home


def append_rate(log: EventLog, topo: Topology, events: dict[str, list[BedEvent]],
                batch: int) -> float:  # fmt: skip
    """Events per second through ``ingest`` (append, then project), in batches per home."""
    svc = BedCapacity(topo, log)
    total = sum(len(v) for v in events.values())
    start = time.perf_counter()
    for home, stream in events.items():
        for i in range(0, len(stream), batch):
            svc.ingest(home, stream[i : i + batch])
    return total / (time.perf_counter() - start)


def rebuild_seconds(log: EventLog, topo: Topology) -> float:
    """Seconds to replay the whole log into a fresh projection."""
    start = time.perf_counter()
    CapacityProjection.rebuild(topo, log.read())
    return time.perf_counter() - start


def _logs(pg_url: str | None) -> list[tuple[str, Callable[[], EventLog]]]:
    folder = tempfile.mkdtemp(prefix="dpref-capacity-")
    counter = iter(range(1_000_000))
    out: list[tuple[str, Callable[[], EventLog]]] = [
        ("SQLite (file, WAL)",
         lambda: SQLiteEventLog(os.path.join(folder, f"log{next(counter)}.db")))]  # fmt: skip
    if pg_url:

        def fresh_pg() -> EventLog:
            log = PostgresEventLog(pg_url)
            with log._lock:
                log._db.execute("TRUNCATE bed_events")
                log._db.commit()
            return log

        out.append(("PostgreSQL", fresh_pg))
    return out


def bench(quick: bool, pg_url: str | None, repeat: int = 3) -> list[Table]:
    """The append and rebuild tables (PostgreSQL rows only when ``pg_url`` is given)."""
    topo = topology()
    n_append, n_rebuild = (2_000, 10_000) if quick else (200_000, 1_000_000)
    events = workload(topo, n_append)
    appends = Table("Events appended and projected per second (ingest, batches per home)",
                    ["log", "batch", "events", "events/s (median)"])  # fmt: skip
    for name, make in _logs(pg_url):
        for batch in (1, 100):
            rates = []
            for _ in range(repeat if batch > 1 else 1):
                log = make()
                sub = events if batch > 1 else {h: v[: max(1, len(v) // 10)]
                                                for h, v in events.items()}  # fmt: skip
                rates.append(append_rate(log, topo, sub, batch))
                log.close()
            appends.add(name, batch, sum(len(v) for v in sub.values()),
                        round(statistics.median(rates)))  # fmt: skip
    rebuilds = Table(f"Rebuild of {n_rebuild:,} events", ["source", "seconds (median)",
                                                         "events/s"])  # fmt: skip
    big = workload(topo, n_rebuild, seed=12)
    flat = sorted((e for v in big.values() for e in v), key=lambda e: e.at)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        CapacityProjection.rebuild(topo, flat)
        times.append(time.perf_counter() - start)
    rebuilds.add("in memory (projection only)", statistics.median(times),
                 round(n_rebuild / statistics.median(times)))  # fmt: skip
    for name, make in _logs(pg_url):
        log = make()
        for home, stream in big.items():
            for i in range(0, len(stream), 5_000):
                log.append(home, stream[i : i + 5_000])
        times = [rebuild_seconds(log, topo) for _ in range(repeat)]
        rebuilds.add(f"{name} (read + project)", statistics.median(times),
                     round(n_rebuild / statistics.median(times)))  # fmt: skip
        log.close()
    return [appends, rebuilds]


def bench_steps(quick: bool) -> list[tuple[str, Callable[[], list[Table]]]]:
    """The steps ``dpref bench capacity`` runs, each returning its tables."""

    def run() -> list[Table]:
        from designpatterns_ref.testing import ServerUnavailable, postgres_server

        try:
            with postgres_server() as pg:
                url: Any = pg.url
                return bench(quick, url)
        except ServerUnavailable:
            return bench(quick, None)

    return [("append, project and rebuild on SQLite and PostgreSQL", run)]
