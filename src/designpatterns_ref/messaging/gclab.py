"""The read-states GC lesson, measured in CPython: a naive cache layout against a GC-aware one.

Case study: Discord's Read States: Rewriting a Go Service in Rust
(docs/case-studies/discord-read-states.md)

Discord's Go service paused every two minutes because its collector scanned the whole LRU
of read states. CPython frees most garbage by reference counting, but its cyclic collector
still walks every *container* object (instances with a ``__dict__``, dicts, lists) in the
older generation on a full collection, so a cache of many small container objects makes
those collections long. :func:`measure` fills a cache of ``entries`` read states, then
times ``ops`` acks one by one (each ack also allocates a little garbage, as request handling
does) while ``gc.callbacks`` records every collection's generation and duration.

- ``naive``: key ``"user:channel"`` string -> an instance with a ``__dict__`` holding a dict
  of metadata (two containers per entry, all tracked by the collector);
- ``gc_aware``: key an int -> a tuple of two ints (no tracked containers: CPython untracks
  such tuples) and ``gc.freeze()`` after warm-up, so full collections have almost nothing
  to walk.

Trade-off: tuples are immutable (each ack builds a new one) and ``gc.freeze`` keeps frozen
objects out of every later collection. Results depend on the machine; the test checks only
that both layouts return the same read states.

>>> r = measure("gc_aware", entries=1000, ops=200, seed=1)
>>> len(r.latencies_ns), r.layout
(200, 'gc_aware')
"""

from __future__ import annotations

import gc
import random
import time
from dataclasses import dataclass, field
from typing import Any

from designpatterns_ref.errors import shown
from designpatterns_ref.messaging.base import MessagingError, check_seq

__all__ = ["LAYOUTS", "GCRun", "measure", "percentile"]

LAYOUTS = ("naive", "gc_aware")


class _State:
    def __init__(self, last_read: int, mentions: int) -> None:
        self.last_read = last_read
        self.mentions = mentions
        self.meta: dict[str, Any] = {"channel_type": "text", "flags": []}


@dataclass
class GCRun:
    """Per-ack latencies (ns, in order) and the collections seen while they ran."""

    layout: str
    latencies_ns: list[int]
    pauses: list[tuple[int, float]] = field(default_factory=list)  # (generation, ms)
    final: dict[int, tuple[int, int]] = field(default_factory=dict)

    def p(self, q: float) -> float:
        """Latency percentile ``q`` in microseconds."""
        return percentile(self.latencies_ns, q) / 1000

    @property
    def full_collections(self) -> int:
        """How many generation-2 collections ran during the acks."""
        return sum(1 for g, _ in self.pauses if g == 2)


def percentile(values: list[int], q: float) -> float:
    """The nearest-rank percentile ``q`` (0-100) of ``values``."""
    if not values or not 0 <= q <= 100:
        raise MessagingError(f"percentile needs values and q={shown(q)} in [0, 100]")
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))])


def measure(layout: str, *, entries: int = 200_000, ops: int = 50_000, seed: int = 0) -> GCRun:
    """Fill a cache of ``entries`` read states in ``layout``, then time ``ops`` acks."""
    if layout not in LAYOUTS:
        raise MessagingError(f"layout={shown(layout, 40)} must be one of {LAYOUTS}")
    check_seq("entries", entries, low=1, high=10**7)
    check_seq("ops", ops, low=1, high=10**7)
    rng = random.Random(seed)
    run = GCRun(layout, [])
    started: list[float] = []

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started.append(time.perf_counter())
        elif started:
            run.pauses.append((info["generation"], (time.perf_counter() - started.pop()) * 1e3))

    naive: dict[str, _State] = {}
    aware: dict[int, tuple[int, int]] = {}
    if layout == "naive":
        for i in range(entries):
            naive[f"{i}:c"] = _State(0, 0)
    else:
        for i in range(entries):
            aware[i] = (0, 0)
        gc.collect()
        gc.freeze()
    keys = [rng.randrange(entries) for _ in range(ops)]
    garbage: list[object] = []
    gc.callbacks.append(on_gc)
    try:
        for n, k in enumerate(keys, 1):
            t0 = time.perf_counter_ns()
            if layout == "naive":
                old = naive[f"{k}:c"]
                naive[f"{k}:c"] = _State(max(old.last_read, n), 0)
            else:
                aware[k] = (max(aware[k][0], n), 0)
            garbage.append([n])  # request-handling garbage that survives a little while
            if len(garbage) > 1000:
                garbage.clear()
            run.latencies_ns.append(time.perf_counter_ns() - t0)
    finally:
        gc.callbacks.remove(on_gc)
        if layout == "gc_aware":
            gc.unfreeze()
    if layout == "naive":
        run.final = {int(key.split(":")[0]): (s.last_read, s.mentions) for key, s in naive.items()}
    else:
        run.final = dict(aware)
    return run
