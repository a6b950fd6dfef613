"""workflows benchmarks: state-machine transitions and instance size beside ``transitions`` and
``python-statemachine``; saga steps per second with and without a durable log.

Run ``pytest benchmarks/bench_workflows.py --benchmark-only`` for figures, or
``--benchmark-disable`` for the quick pass CI makes. The summary tables of
``dpref bench workflows`` (with bytes per instance) come from
``designpatterns_ref.workflows._bench``.
"""

from __future__ import annotations

import importlib.util
import tempfile
from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from designpatterns_ref.workflows import ORDER_SPEC, Machine, MemoryLog, SQLiteLog
from designpatterns_ref.workflows._bench import (
    CYCLE,
    bench_machines,
    guarded_cost,
    make_peers,
    memory_per_instance,
    saga_rate,
)

PEERS = make_peers()


@pytest.mark.parametrize("library", list(PEERS))
def test_transition(benchmark: BenchmarkFixture, library: str, quick: bool) -> None:
    """One lap of the six-transition cycle per round (divide by six for one transition)."""
    make, fire = PEERS[library]
    machine = make()

    def lap() -> None:
        for event in CYCLE:
            fire(machine, event)

    benchmark(lap)


def test_transition_with_guards(benchmark: BenchmarkFixture) -> None:
    """ORDER_SPEC's guarded accept then the state put back: one guarded transition a round."""
    machine = Machine(ORDER_SPEC)
    ctx = {"waited": 60.0}

    def accept() -> None:
        machine.fire("accept", ctx)
        machine.state = "placed"

    benchmark(accept)
    machine.fire("accept", ctx)
    assert machine.state == "accepted"


@pytest.mark.parametrize("library", list(PEERS))
def test_bytes_per_instance(benchmark: BenchmarkFixture, library: str, quick: bool) -> None:
    make, _ = PEERS[library]
    size = benchmark.pedantic(
        memory_per_instance, args=(make, 100 if quick else 1000), rounds=1, iterations=1
    )
    benchmark.extra_info["bytes_per_instance"] = round(size)
    if library.startswith("designpatterns_ref"):
        assert size <= 500


@pytest.mark.parametrize("durability", ["memory", "sqlite-normal", "sqlite-full"])
def test_saga_steps(benchmark: BenchmarkFixture, durability: str, quick: bool) -> None:
    runs = 10 if quick else 200
    with tempfile.TemporaryDirectory() as d:
        if durability == "memory":
            log: MemoryLog | SQLiteLog = MemoryLog()
        else:
            sync = "NORMAL" if durability == "sqlite-normal" else "FULL"
            log = SQLiteLog(Path(d) / "wf.db", synchronous=sync)
        rate = benchmark.pedantic(saga_rate, args=(log, runs), rounds=3, iterations=1)
        benchmark.extra_info["steps_per_second"] = round(rate)


def test_summary_table(quick: bool) -> None:
    """The dpref bench table builds, with every library in it."""
    (table,) = bench_machines(True)
    assert len(table.rows) == len(PEERS) + 1
    if importlib.util.find_spec("transitions") is not None:  # its advised pattern is measured
        assert "transitions, one shared Machine + add_model" in PEERS


def test_guarded_cost_counts_guarded_transitions_only() -> None:
    assert guarded_cost(3) > 0  # the happy path is checked to end in "delivered" first
