"""The family's tour, experiments and bench steps run, deterministically."""

from __future__ import annotations

from designpatterns_ref.storage import workload
from designpatterns_ref.storage._bench import bench_engines, bench_steps
from designpatterns_ref.storage._tour import tour


def test_tour_is_deterministic_and_tells_the_story() -> None:
    first: list[str] = []
    second: list[str] = []
    tour(first.append)
    tour(second.append)
    assert first == second
    text = "\n".join(first)
    assert "4 index entries" in text and "WriteConflict" in text and "reader ended" in text


def test_experiments_reproduce_the_claims() -> None:
    amp = workload.write_amplification(10, rows=40, updates=40)
    assert [r["heap"] for r in amp] == [n + 1.0 for n in range(11)]
    assert all(r["heap_hot"] == 0.0 and r["clustered"] == 1.0 for r in amp)
    assert amp[10]["heap_wal"] > amp[10]["clustered_wal"] > amp[10]["heap_hot_wal"] * 0.5
    repl = workload.replication_volume(3, rows=40, updates=40)
    assert all(r["physical"] > r["logical"] for r in repl)
    reader = workload.long_reader(rows=30, rounds=3, updates=20)
    assert [r["undo_records"] for r in reader] == [20, 40, 60, 0]
    assert [r["heap_dead_versions"] for r in reader] == [20, 40, 60, 0]
    reads = {r["engine"]: r for r in workload.secondary_reads(rows=3000, lookups=50)}
    assert (reads["clustered"]["pages_per_row_via_secondary"]
            > reads["heap_hot"]["pages_per_row_via_secondary"])  # fmt: skip


def test_bench_steps_are_named_and_the_engine_step_runs() -> None:
    assert [name for name, _ in bench_steps(True)] == [
        "both engines, four workloads",
        "real PostgreSQL WAL",
    ]
    (table,) = bench_engines(True)
    assert len(table.rows) == 12
