"""The Uber / Postgres / MySQL example runs end to end as a notebook."""

from __future__ import annotations

from pathlib import Path

from tests.notebooks import run_example


def test_example_runs(tmp_path: Path) -> None:
    run = run_example("uber_postgres_mysql", tmp_path)
    out = run.text
    assert "heap, no HOT   index entries 4" in out
    assert "heap with HOT  index entries 0" in out
    assert (
        "SnapshotModel on call after both: [{'id': 1, 'on_call': 0}, {'id': 2, 'on_call': 0}]"
        in out
    )
    assert "after recovery: {'id': 1, 'rider': 7, 'driver': 42, 'city': 'SF', 'fare': 1100}" in out
    assert run.files == [
        "storage-long-reader.png",
        "storage-replication.png",
        "storage-secondary-reads.png",
        "storage-write-amplification.png",
    ]
