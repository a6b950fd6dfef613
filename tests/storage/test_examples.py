"""The Uber / Postgres / MySQL example runs end to end as a script."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "uber_postgres_mysql.py"


def test_example_runs(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                      monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("DPREF_PLOTS", str(tmp_path))
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    out = capsys.readouterr().out
    assert "heap, no HOT   index entries 4" in out
    assert "heap with HOT  index entries 0" in out
    assert (
        "SnapshotModel on call after both: [{'id': 1, 'on_call': 0}, {'id': 2, 'on_call': 0}]"
        in out
    )
    assert "after recovery: {'id': 1, 'rider': 7, 'driver': 42, 'city': 'SF', 'fare': 1100}" in out
    assert sorted(p.name for p in tmp_path.glob("*.png")) == [
        "storage-long-reader.png",
        "storage-replication.png",
        "storage-secondary-reads.png",
        "storage-write-amplification.png",
    ]
