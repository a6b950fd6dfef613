"""The heap engine against a real PostgreSQL: the same workloads, WAL bytes and HOT updates."""

from __future__ import annotations

import pytest

from designpatterns_ref.storage.postgres import measure
from designpatterns_ref.storage.workload import make_engine, run_workload, trips_schema


@pytest.fixture(scope="module")
def runs(pg_url: str) -> dict[str, dict[str, object]]:
    return {w: measure(pg_url, w, indexes=3, rows=200, ops=200)
            for w in ("update-unindexed", "update-indexed", "read-secondary")}  # fmt: skip


def test_hot_happens_where_the_engine_says(runs: dict[str, dict[str, object]]) -> None:
    for workload, real in runs.items():
        engine = make_engine("heap_hot", trips_schema(3))
        delta, done, _ = run_workload(engine, workload, rows=200, ops=200)
        assert delta.hot_updates == real["hot_updates"]  # same seed: the very same updates
        if workload == "update-unindexed":
            assert real["hot_updates"] == real["updates"] == 200
            assert delta.index_entries_written == 0
        elif workload == "update-indexed":  # HOT only where k0 was set to the value it had
            assert real["updates"] == 200 and real["hot_updates"] < 5
            assert delta.index_entries_written == 4 * (done - delta.hot_updates)


def test_wal_volume_has_the_same_direction_and_rough_size(
    runs: dict[str, dict[str, object]],
) -> None:
    model = {}
    for workload, real in runs.items():
        engine = make_engine(
            "heap_hot", trips_schema(3), full_page_writes=bool(real["full_page_writes"])
        )
        delta, done, _ = run_workload(engine, workload, rows=200, ops=200)
        model[workload] = delta.wal_bytes / done
    real_wal = {w: int(r["wal_bytes"]) / 200 for w, r in runs.items()}  # type: ignore[call-overload]
    assert real_wal["read-secondary"] == model["read-secondary"] == 0
    assert real_wal["update-indexed"] > 1.5 * real_wal["update-unindexed"]
    assert model["update-indexed"] > 1.5 * model["update-unindexed"]
    for workload in ("update-unindexed", "update-indexed"):
        assert 0.4 < model[workload] / real_wal[workload] < 2.5


def test_measure_leaves_a_trips_table_of_the_users_alone(pg_url: str) -> None:
    """The measurement's table lives in a scratch schema, dropped afterwards: the user's own
    ``trips`` (same name, other columns) keeps its rows, and no scratch schema is left."""
    import psycopg

    from designpatterns_ref.storage import StorageError

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE trips (id int PRIMARY KEY, rider text)")
        conn.execute("INSERT INTO trips VALUES (1, 'alice'), (2, 'bob')")
    try:
        result = measure(pg_url, "update-unindexed", rows=10, ops=5)
        assert result["updates"] == result["hot_updates"] == 5
        with psycopg.connect(pg_url, autocommit=True) as conn:
            rows = conn.execute("SELECT id, rider FROM public.trips ORDER BY id").fetchall()
            assert rows == [(1, "alice"), (2, "bob")]
            left = conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'dpref_measure_%'"
            ).fetchall()
            assert left == []
        with pytest.raises(StorageError, match="needs an index on k0"):
            measure(pg_url, "update-indexed", indexes=0, rows=10, ops=5)
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS public.trips")
