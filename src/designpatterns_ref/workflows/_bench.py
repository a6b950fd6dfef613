"""``dpref bench workflows``: saga steps per second with and without a durable log; the state
machine's transition cost and bytes per instance beside ``transitions`` and
``python-statemachine``."""

from __future__ import annotations

import gc
import itertools
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from designpatterns_ref.benchkit import Table, installed, interpreter
from designpatterns_ref.errors import shown
from designpatterns_ref.workflows.durable import MemoryLog, SQLiteLog, StepLog, Synchronous
from designpatterns_ref.workflows.machine import Machine, MachineSpec, Transition
from designpatterns_ref.workflows.order import ORDER_SPEC
from designpatterns_ref.workflows.saga import Orchestrator, Step

__all__ = [
    "CYCLE",
    "CYCLE_SPEC",
    "bench_steps",
    "guarded_cost",
    "make_peers",
    "memory_per_instance",
]

#: The happy path, and a benchmark-only "reopen" edge so every library can loop forever.
CYCLE = ("accept", "start_preparing", "mark_ready", "pick_up", "deliver", "reopen")
_STATES = ["placed", "accepted", "preparing", "ready", "picked_up", "delivered"]
CYCLE_SPEC = MachineSpec(
    "cycle",
    _STATES,
    "placed",
    [
        Transition(e, (a,), b)
        for e, a, b in zip(CYCLE, _STATES, [*_STATES[1:], "placed"], strict=True)
    ],
)


class _Model:
    """A bare object for ``transitions`` to add as a model: it gains ``state`` and triggers."""


def make_peers() -> dict[str, tuple[Callable[[], Any], Callable[[Any, str], object]]]:
    """For each library installed: (make an instance, fire an event on it)."""
    peers: dict[str, tuple[Callable[[], Any], Callable[[Any, str], object]]] = {
        "designpatterns_ref Machine": (lambda: Machine(CYCLE_SPEC), lambda m, e: m.fire(e)),
    }
    targets = [*_STATES[1:], "placed"]
    if installed("transitions"):
        from transitions import Machine as TMachine

        table = [
            {"trigger": e, "source": a, "dest": b}
            for e, a, b in zip(CYCLE, _STATES, targets, strict=True)
        ]

        def make_t() -> Any:
            return TMachine(states=_STATES, transitions=table, initial="placed")

        # transitions' own pattern for many objects: one Machine, each object added as a model.
        shared = TMachine(model=None, states=_STATES, transitions=table, initial="placed")

        def make_model() -> Any:
            model = _Model()
            shared.add_model(model)
            return model

        peers["transitions, one shared Machine + add_model"] = (
            make_model,
            lambda m, e: m.trigger(e),
        )
        peers["transitions, a whole Machine per instance"] = (make_t, lambda m, e: m.trigger(e))
    if installed("statemachine"):
        from statemachine import State, StateMachine

        attrs: dict[str, Any] = {s: State(initial=(s == "placed")) for s in _STATES}
        for e, a, b in zip(CYCLE, _STATES, targets, strict=True):
            attrs[e] = attrs[a].to(attrs[b])
        cls: Any = type("CycleMachine", (StateMachine,), attrs)
        peers["python-statemachine"] = (cls, lambda m, e: m.send(e))
    return peers


def transition_cost(
    make: Callable[[], Any], fire: Callable[[Any, str], object], laps: int
) -> float:
    """Median µs per transition over five passes of at most ``laps`` trips round the cycle.

    A slow library gets fewer laps: as many as fit in about 0.3 s a pass.
    """
    machine = make()
    start = time.perf_counter()
    for event in CYCLE:
        fire(machine, event)
    one_lap = max(time.perf_counter() - start, 1e-7)
    laps = max(3, min(laps, int(0.3 / one_lap)))
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(laps):
            for event in CYCLE:
                fire(machine, event)
        runs.append((time.perf_counter() - start) / (laps * len(CYCLE)) * 1e6)
    return sorted(runs)[2]


def memory_per_instance(make: Callable[[], Any], n: int) -> float:
    """Bytes tracemalloc sees allocated per instance while ``n`` are made and kept.

    Counted: every allocation made while constructing one instance (the object, its dict or
    slots, bound methods and per-instance objects it keeps). Not counted: what exists before the
    first instance (the class, a shared spec or transition table) and the list holding them.
    """
    make()  # warm caches so one-time set-up is not charged to the instances
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    keep = [make() for _ in range(n)]
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    import sys

    return (after - before - sys.getsizeof(keep)) / n


def bench_machines(quick: bool) -> list[Table]:
    """µs per transition and bytes per instance, each library on the same cycle."""
    laps, n = (300, 200) if quick else (20_000, 2_000)
    table = Table(
        f"state machine: µs per transition (median of 5 passes of up to {laps * 6:,}) and bytes "
        f"per instance (tracemalloc over {n:,} kept instances)",
        ["library", "µs / transition", "bytes / instance"],
        note=interpreter(),
    )
    for name, (make, fire) in make_peers().items():
        table.add(name, transition_cost(make, fire, laps), memory_per_instance(make, n))
    table.add(
        "designpatterns_ref ORDER_SPEC (guards)",
        guarded_cost(laps),
        memory_per_instance(lambda: Machine(ORDER_SPEC), n),
    )
    table.note += (
        "; ORDER_SPEC: the five guarded fires of the happy path only (the state is put back by "
        "a plain assignment, timed apart and taken off)"
    )
    return [table]


def guarded_cost(laps: int) -> float:
    """Median µs per guarded transition: ORDER_SPEC's happy path of five fires a lap.

    ORDER_SPEC has no edge back to ``placed``, so each lap ends with ``m.state = "placed"``;
    that assignment is timed on its own in the same pass and taken off, and the lap's time is
    divided by the five real transitions.
    """
    order = Machine(ORDER_SPEC)
    ctx = {"waited": 60.0, "driver": "d1"}
    events = CYCLE[:-1]
    for event in events:
        order.fire(event, ctx)
    if order.state != "delivered":
        raise AssertionError(f"ORDER_SPEC's happy path ended in {shown(order.state)}")
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(laps):
            order.state = "placed"
            for event in events:
                order.fire(event, ctx)
        lap = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(laps):
            order.state = "placed"
        reset = time.perf_counter() - start
        runs.append((lap - reset) / (laps * len(events)) * 1e6)
    return sorted(runs)[2]


_RUNS = itertools.count()


def _saga(log: StepLog) -> Orchestrator:
    steps = [Step(name, lambda ctx: 1, lambda ctx, r: None) for name in ("a", "b", "c", "d")]
    return Orchestrator(steps, log=log)


def saga_rate(log: StepLog, runs: int) -> float:
    """Saga steps per second: ``runs`` sagas of four trivial steps (plus the outcome record)."""
    saga = _saga(log)
    first = next(_RUNS)
    start = time.perf_counter()
    for i in range(runs):
        saga.run(f"wf-{first}-{i}")  # fresh ids: a repeated id would only replay
    return runs * 4 / (time.perf_counter() - start)


def bench_sagas(quick: bool) -> list[Table]:
    """Steps per second: in memory, and through SQLite at synchronous NORMAL and FULL."""
    runs = 50 if quick else 1_000
    table = Table(
        f"saga: steps per second over {runs:,} runs of four no-op steps (the engine's cost)",
        ["step log", "steps / s"],
    )
    table.add("MemoryLog (no durability)", saga_rate(MemoryLog(), runs * 10))
    with tempfile.TemporaryDirectory() as d:
        syncs: tuple[Synchronous, ...] = ("NORMAL", "FULL")
        for sync in syncs:
            log = SQLiteLog(Path(d) / f"{sync}.db", synchronous=sync)
            table.add(f"SQLiteLog, WAL, synchronous={sync}", saga_rate(log, runs))
            log.close()
    return [table]


def bench_steps(quick: bool) -> list[tuple[str, Callable[[], list[Table]]]]:
    """The steps ``dpref bench workflows`` runs, each returning its tables."""
    return [
        ("state machines", lambda: bench_machines(quick)),
        ("saga steps", lambda: bench_sagas(quick)),
    ]
