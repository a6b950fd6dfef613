"""``dpref bench streaming``: every ABR rule on every shared 3G and 4G log, and the CDN caches.

The sessions: Big Buck Bunny (199 segments of 3 s, ten rungs, a 10-minute title) over each of the
22 3G and 10 4G network logs of ``$DPREF_DATA/abr`` (quick mode: three of each), with Sabre's
25 s buffer and the "balanced" QoE weights of Yin et al. For each algorithm and network kind the
table gives the mean and 10th-percentile QoE per segment, the mean bitrate, the mean rebuffer
ratio, switches per session, and the speed: median milliseconds per whole session and sessions
per second. The CDN table (:func:`designpatterns_ref.streaming.cdn.bench_tables`) follows.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable

from designpatterns_ref.benchkit import Table, percentile
from designpatterns_ref.streaming import algorithms, simulate
from designpatterns_ref.streaming.cdn import bench_tables
from designpatterns_ref.streaming.data import bbb, find_abr_data, shared_traces
from designpatterns_ref.streaming.session import SessionResult

__all__ = ["bench_abr", "bench_steps", "run_all"]


def run_all(quick: bool) -> dict[str, list[tuple[str, SessionResult, float]]]:
    """Every algorithm on every shared trace: ``{algorithm: [(kind, result, seconds)]}``."""
    movie = bbb()
    traces = shared_traces()
    if quick:
        threeg = [t for t in traces if t.name.startswith("3g")][:3]
        fourg = [t for t in traces if t.name.startswith("4g")][:3]
        traces = threeg + fourg
    out: dict[str, list[tuple[str, SessionResult, float]]] = {}
    for algo in algorithms():
        rows = out.setdefault(algo.name, [])
        for trace in traces:
            gc.collect()
            start = time.process_time()  # CPU time: steadier than wall time on a shared machine
            result = simulate(movie, trace, algo)
            rows.append((trace.name[:2], result, time.process_time() - start))
    return out


def bench_abr(quick: bool) -> list[Table]:
    """The table of QoE, bitrate, stalls, switches and speed per algorithm and network."""
    if find_abr_data() is None:
        table = Table("ABR sessions", ["note"])
        table.add("abr data not found: set DPREF_DATA or place it at ../shared/data")
        return [table]
    runs = run_all(quick)
    count = len(next(iter(runs.values())))
    table = Table(
        f"Big Buck Bunny (10 min) over {count} shared network logs, 25 s buffer, balanced QoE",
        [
            "algorithm",
            "net",
            "QoE/seg mean",
            "QoE/seg p10",
            "kbps",
            "rebuffer %",
            "switches",
            "ms/session",
            "sessions/s",
        ],
    )
    for name, rows in runs.items():
        for kind in ("3g", "4g"):
            mine = [(r, s) for k, r, s in rows if k == kind]
            if not mine:
                continue
            qoe = [r.qoe_per_segment for r, _ in mine]
            secs = statistics.median(s for _, s in mine)
            table.add(
                name,
                kind,
                statistics.fmean(qoe),
                percentile(qoe, 10),
                statistics.fmean(r.avg_bitrate_kbps for r, _ in mine),
                100 * statistics.fmean(r.rebuffer_ratio for r, _ in mine),
                statistics.fmean(r.switches for r, _ in mine),
                secs * 1000,
                1 / secs,
            )
    table.note = (
        "targets: a 10-minute session in under 5 ms for each rule-based algorithm and under "
        "50 ms for MPC (median over the logs)"
    )
    return [table]


def bench_steps(quick: bool) -> list[tuple[str, Callable[[], list[Table]]]]:
    """The steps ``dpref bench streaming`` runs, each returning its tables."""
    return [
        ("ABR sessions", lambda: bench_abr(quick)),
        ("CDN caches", lambda: bench_tables(quick)),
    ]
