"""Model-based: random interleaved transactions on each engine against the reference model.

Up to three transactions are open at once; every read, write, conflict, duplicate, commit and
abort must agree with :class:`SnapshotModel`, and so must the committed table after vacuum,
purge, checkpoints and crashes (a crash aborts every open transaction).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from designpatterns_ref.storage import (
    ClusteredEngine,
    HeapEngine,
    Schema,
    SnapshotModel,
    StorageError,
    WriteConflict,
)
from designpatterns_ref.storage.wal import SimulatedCrash

SCHEMA = Schema({"id": int, "a": int, "b": str, "c": int}, primary_key="id", indexes=["a", "b"])
keys = st.integers(0, 5)
ints = st.integers(0, 3)
# a 250-character value makes a 307-byte tuple: three fill a 1024-byte page, so inserts and
# updates cross page boundaries, prune full pages and move versions to new pages
strs = st.sampled_from(["", "x", "yy", "z" * 51, "w" * 250])
rows = st.builds(lambda k, a, b, c: {"id": k, "a": a, "b": b, "c": c}, keys, ints, strs, ints)
changes = st.one_of(
    st.builds(lambda v: {"c": v}, ints),  # an unindexed column: a HOT candidate
    st.builds(lambda v: {"b": v}, strs),  # an indexed column, the row growing or shrinking
    st.dictionaries(st.sampled_from(["a", "b", "c"]), ints, min_size=1).map(
        lambda d: {k: (str(v) if k == "b" else v) for k, v in d.items()}
    ),
)
slots = st.integers(0, 2)

ENGINES = {
    "heap": lambda: HeapEngine(SCHEMA, page_size=1024, full_page_writes=False),
    "heap-no-hot": lambda: HeapEngine(SCHEMA, page_size=1024, hot=False),
    "heap-fillfactor": lambda: HeapEngine(SCHEMA, page_size=1024, fillfactor=50),
    "clustered": lambda: ClusteredEngine(SCHEMA, page_size=1024),
}


def outcome(fn: Any) -> tuple[str, Any]:
    try:
        return ("ok", fn())
    except WriteConflict:
        return ("conflict", None)
    except StorageError as exc:
        return ("refused", type(exc).__name__)


class Interleavings(RuleBasedStateMachine):
    kind = "heap"

    @initialize()
    def start(self) -> None:
        self.engine: Any = ENGINES[self.kind]()
        self.model = SnapshotModel(SCHEMA)
        self.open: dict[int, tuple[Any, Any]] = {}

    def _both(self, slot: int, call: Any) -> None:
        if slot not in self.open:
            self.open[slot] = (self.engine.begin(), self.model.begin())
        tx, mtx = self.open[slot]
        got, want = outcome(lambda: call(tx)), outcome(lambda: call(mtx))
        assert got == want, (got, want)
        if got[0] == "conflict":
            del self.open[slot]

    @rule(slot=slots, key=keys)
    def get(self, slot: int, key: int) -> None:
        self._both(slot, lambda t: t.get(key))

    @rule(slot=slots, row=rows)
    def insert(self, slot: int, row: dict[str, Any]) -> None:
        self._both(slot, lambda t: t.insert(row))

    @rule(slot=slots, key=keys, change=changes)
    def update(self, slot: int, key: int, change: dict[str, Any]) -> None:
        self._both(slot, lambda t: t.update(key, change))

    @rule(slot=slots, key=keys)
    def delete(self, slot: int, key: int) -> None:
        self._both(slot, lambda t: t.delete(key))

    @rule(slot=slots, index=st.sampled_from(["id", "a", "b"]), low=ints, span=st.integers(0, 4))
    def scan(self, slot: int, index: str, low: int, span: int) -> None:
        if slot in self.open:
            lo: Any = str(low) if index == "b" else low
            hi: Any = None if span == 4 else (str(low + span) if index == "b" else low + span)
            self._both(slot, lambda t: t.scan(index, lo, hi))

    @rule(slot=slots, commit=st.booleans())
    def finish(self, slot: int, commit: bool) -> None:
        if slot in self.open:
            self._both(slot, lambda t: t.commit() if commit else t.abort())
            self.open.pop(slot, None)

    @rule(close_all=st.booleans())
    def clean(self, close_all: bool) -> None:
        for slot in list(self.open) if close_all else []:
            self._both(slot, lambda t: t.commit())
            self.open.pop(slot, None)
        if isinstance(self.engine, HeapEngine):
            self.engine.vacuum()
        else:
            self.engine.purge()

    @rule(after=st.integers(1, 6))
    def crash_inside_clean(self, after: int) -> None:
        """Kill the engine ``after`` log records into a purge or vacuum, then recover."""
        self.engine.wal.crash_at = self.engine.wal.lsn + after
        try:
            _clean(self.engine)
        except SimulatedCrash:
            self.crash_and_recover()
        else:
            self.engine.wal.crash_at = None

    @rule()
    def drain(self) -> None:
        """Commit every open transaction and clean up twice: nothing dead is left behind (no
        delete-marked row, undo record, dead version or index entry that no row holds)."""
        for slot in list(self.open):
            self._both(slot, lambda t: t.commit())
            self.open.pop(slot, None)
        _clean(self.engine)
        _clean(self.engine)
        stats = self.engine.stats()
        live = self.model.rows()
        if isinstance(self.engine, HeapEngine):
            assert stats["dead_versions"] == 0, stats
            return
        assert stats["delete_marked"] == stats["history_length"] == 0, stats
        for column, index in self.engine.state.secondary.items():
            assert sorted(index.entries) == sorted((r[column], r["id"]) for r in live), column

    @rule()
    def checkpoint(self) -> None:
        self.engine.checkpoint()

    @rule()
    def crash_and_recover(self) -> None:
        disk = self.engine.crash()
        config = _config(self.engine)
        self.engine = type(self.engine).recover(disk)
        assert _config(self.engine) == config  # the variant under test survives recovery
        for _, mtx in self.open.values():
            mtx.abort()
        self.open.clear()

    @invariant()
    def committed_state_agrees(self) -> None:
        if not hasattr(self, "engine"):
            return
        tx = self.engine.begin()
        assert tx.scan("id") == self.model.rows()
        tx.commit()


def _clean(engine: Any) -> None:
    if isinstance(engine, HeapEngine):
        engine.vacuum()
    else:
        engine.purge()


def _config(engine: Any) -> dict[str, Any]:
    """What makes a variant: HOT and fillfactor (heap), page size and full-page writes."""
    heap = isinstance(engine, HeapEngine)
    return {
        "hot": engine.hot if heap else None,
        "fillfactor": engine.fillfactor if heap else None,
        "page_size": engine.state.page_size,
        "full_page_writes": engine.wal.full_page_writes,
    }


def _machine(kind: str) -> type[Interleavings]:
    return type(f"Interleavings_{kind}", (Interleavings,), {"kind": kind})


@pytest.mark.parametrize("kind", list(ENGINES))
def test_engine_matches_snapshot_isolation_model(kind: str) -> None:
    machine = _machine(kind)
    machine.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
    machine.TestCase().runTest()


@pytest.mark.parametrize("kind", list(ENGINES))
def test_write_skew_is_allowed_on_purpose(kind: str) -> None:
    """Two doctors on call; each checks the other is on call and goes off: both commit.

    Snapshot isolation allows it (neither wrote what the other wrote), and so does the
    model: the anomaly serializable isolation would prevent.
    """
    schema = Schema({"id": int, "on_call": int}, primary_key="id")
    results = []
    for db in (_two(kind, schema), SnapshotModel(schema)):
        setup = db.begin()
        setup.insert({"id": 1, "on_call": 1})
        setup.insert({"id": 2, "on_call": 1})
        setup.commit()
        alice, bob = db.begin(), db.begin()
        if alice.get(2)["on_call"]:
            alice.update(1, {"on_call": 0})
        if bob.get(1)["on_call"]:
            bob.update(2, {"on_call": 0})
        alice.commit()
        bob.commit()
        results.append(db.begin().scan("id"))
    assert results[0] == results[1] == [{"id": 1, "on_call": 0}, {"id": 2, "on_call": 0}]


def _two(kind: str, schema: Schema) -> Any:
    return HeapEngine(schema) if kind.startswith("heap") else ClusteredEngine(schema)


@pytest.mark.parametrize("kind", list(ENGINES))
def test_lost_update_is_prevented(kind: str) -> None:
    schema = Schema({"id": int, "n": int}, primary_key="id")
    db = _two(kind, schema)
    tx = db.begin()
    tx.insert({"id": 1, "n": 0})
    tx.commit()
    a, b = db.begin(), db.begin()
    a.update(1, {"n": a.get(1)["n"] + 1})
    with pytest.raises(WriteConflict):
        b.update(1, {"n": b.get(1)["n"] + 1})
    assert b.status == "aborted"
    a.commit()
    assert db.begin().get(1) == {"id": 1, "n": 1}
