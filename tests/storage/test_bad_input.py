"""Bad input at every public entry point: StorageError, and nothing written."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.storage import StorageError, TransactionClosed
from designpatterns_ref.storage.heap import HeapTuple
from tests.fuzz.families import storage as registry
from tests.fuzz.test_fuzz import HOSTILE

ENTRIES = {entry.name: entry for entry in registry.ENTRIES}


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_hostile_values_are_refused_and_change_nothing(name: str) -> None:
    entry = ENTRIES[name]
    for value in HOSTILE:
        obj = entry.make() if entry.make else None
        snap = entry.snapshot or (lambda o: None)
        before = snap(obj)
        try:
            entry.call(obj, value)
        except StorageError:
            assert snap(obj) == before, f"{name}({value!r:.40}) refused but changed state"


@pytest.mark.parametrize("kind", ["heap", "clustered", "model"])
@pytest.mark.parametrize(
    "call",
    [
        lambda t: t.insert({"id": 2, "city": "\ud800", "trips": 0}),
        lambda t: t.insert({"id": 2, "city": "x" * 257, "trips": 0}),
        lambda t: t.insert({"id": 2**63, "city": "x", "trips": 0}),
        lambda t: t.insert({"id": True, "city": "x", "trips": 0}),
        lambda t: t.insert({"id": 2, "city": "x"}),
        lambda t: t.insert({"id": 2, "city": "x", "trips": 0, "extra": 1}),
        lambda t: t.insert({"id": 1, "city": "Bergen", "trips": 9}),  # duplicate key
        lambda t: t.update(1, {"id": 5}),
        lambda t: t.update(1, {}),
        lambda t: t.update(1, {"trips": 1.5}),
        lambda t: t.scan("trips"),
        lambda t: t.scan("city", 3),
        lambda t: t.get(None),
    ],
)
def test_each_refusal_names_the_problem_and_writes_nothing(kind: str, call: Any) -> None:
    tx = registry._tx(kind)()
    before = registry._tx_state(tx)
    with pytest.raises(StorageError) as info:
        call(tx)
    assert str(info.value)
    assert registry._tx_state(tx) == before
    assert tx.status == "active"  # a refusal does not end the transaction
    assert tx.get(1) == {"id": 1, "city": "Oslo", "trips": 0}


@pytest.mark.parametrize("kind", ["heap", "clustered", "model"])
def test_a_finished_transaction_refuses_everything(kind: str) -> None:
    tx = registry._tx(kind)()
    tx.commit()
    for call in (lambda: tx.get(1), lambda: tx.commit(), lambda: tx.abort(),
                 lambda: tx.insert(registry.ROW), lambda: tx.delete(1)):  # fmt: skip
        with pytest.raises(TransactionClosed):
            call()


# ctids, row sizes and the engines' public surface -------------------------------------------


def _heap_with_versions() -> Any:
    """A heap with a HOT chain, a non-HOT version and a pruned page: every kind of slot."""
    from designpatterns_ref.storage import HeapEngine

    db = HeapEngine(registry._schema(), page_size=1024)
    for i in range(12):
        tx = db.begin()
        tx.insert({"id": i, "city": "Oslo", "trips": 0})
        tx.commit()
    for trips in (1, 2):
        tx = db.begin()
        tx.update(0, {"trips": trips})  # HOT
        tx.commit()
    tx = db.begin()
    tx.update(1, {"city": "Bergen"})  # indexed: a new version with new entries
    tx.commit()
    db.vacuum()
    return db


def _ctid_state(db: Any) -> object:
    return (db.counters.as_dict(), len(db.wal.records), repr(db.state.pages))


_ctids = st.one_of(
    st.tuples(st.integers(-3, 4), st.integers(-3, 40)),
    st.sampled_from(HOSTILE),
    st.tuples(st.sampled_from(HOSTILE), st.integers(0, 2)),
    st.tuples(st.integers(0, 2), st.sampled_from(HOSTILE)),
    st.lists(st.integers(0, 2), max_size=3),
)


@pytest.mark.parametrize("method", ["tuple_at", "chain"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ctid=_ctids)
@example(ctid=(-1, -1))
@example(ctid=(0, -1))
@example(ctid=(-1, 0))
@example(ctid=(99, 0))
@example(ctid=(0, 999))
@example(ctid=None)
@example(ctid="x")
@example(ctid=(True, 0))
@example(ctid=(0, 0, 0))
@example(ctid=(2**64, 0))
def test_a_ctid_is_a_pair_of_non_negative_ints_inside_the_heap(method: str, ctid: Any) -> None:
    """A wrong ctid is refused with StorageError (never a neighbour through negative indexing).

    Oracle: the slot the pages hold at that place, read directly.
    """
    db = _heap_with_versions()
    pages = db.state.pages
    valid = (
        isinstance(ctid, tuple)
        and len(ctid) == 2
        and all(type(x) is int for x in ctid)
        and 0 <= ctid[0] < len(pages)
        and 0 <= ctid[1] < len(pages[ctid[0]].slots)
    )
    before = _ctid_state(db)
    try:
        got = getattr(db, method)(ctid)
    except StorageError as exc:
        assert "ctid" in str(exc)
        assert _ctid_state(db) == before
        if valid:  # refused only when the place holds no tuple (free or dead)
            slot = pages[ctid[0]].slots[ctid[1]]
            assert method == "tuple_at"
            assert not isinstance(slot, HeapTuple)
            if isinstance(slot, int):
                assert not isinstance(pages[ctid[0]].slots[slot], HeapTuple)
        return
    assert valid, f"{method}({ctid!r}) accepted a ctid outside the heap: {got!r:.80}"
    slot = pages[ctid[0]].slots[ctid[1]]
    at = (ctid[0], slot) if isinstance(slot, int) else ctid
    if isinstance(slot, int):
        slot = pages[ctid[0]].slots[slot]
    if method == "tuple_at":
        assert got is slot
    elif isinstance(slot, HeapTuple):
        assert got[0] == (at, slot)
        for (_, t1), (c2, _) in itertools.pairwise(got):  # each link is the HOT next
            assert t1.hot_updated and t1.next == c2
    else:
        assert got == []


def test_tuple_at_and_chain_find_what_an_index_points_at() -> None:
    db = _heap_with_versions()
    for _, ctid in db.state.indexes["id"].entries:
        versions = db.chain(ctid)
        assert versions and db.tuple_at(ctid) is versions[0][1]
    key0 = [
        t.row["trips"]
        for _, t in db.chain(next(c for k, c in db.state.indexes["id"].entries if k == 0))
    ]
    assert key0[-1] == 2


@settings(max_examples=60, deadline=None)
@given(
    row=st.one_of(
        st.sampled_from(HOSTILE),
        st.dictionaries(
            st.sampled_from(["id", "city", "trips", "x"]),
            st.sampled_from(HOSTILE) | st.integers() | st.text(max_size=5),
        ),
    )
)
@example(row=None)
@example(row={"id": 1, "city": "Oslo"})
@example(row={"id": 1, "city": "Oslo", "trips": 0})
def test_row_size_takes_a_row_of_the_schema(row: Any) -> None:
    """Oracle: 8 bytes an int, 1 + UTF-8 length a str, for a row check_row accepts."""
    schema = registry._schema()
    try:
        checked = schema.check_row(row)
    except StorageError:
        with pytest.raises(StorageError, match="row"):
            schema.row_size(row)
        return
    expected = sum(8 if type(v) is int else 1 + len(str(v).encode()) for v in checked.values())
    assert schema.row_size(row) == expected


def test_value_size_and_check_value_refuse_what_is_not_a_column_value() -> None:
    from designpatterns_ref.storage.base import check_value, value_size

    assert value_size(5) == 8 and value_size("é") == 3
    for bad in (None, True, 1.5, b"x", "\ud800", [1]):
        with pytest.raises(StorageError, match="value"):
            value_size(bad)  # type: ignore[arg-type]
    for kind in (None, float, "int", bool):
        with pytest.raises(StorageError, match="kind"):
            check_value("v", 1, kind)  # type: ignore[arg-type]


def test_the_engines_steps_are_private() -> None:
    """Logging, applying and writing versions are steps of a transaction, not user calls."""
    from designpatterns_ref.storage import ClusteredEngine, HeapEngine

    def public(cls: type) -> set[str]:
        return {n for n in dir(cls) if not n.startswith("_")}

    assert public(HeapEngine) == {
        "begin", "chain", "checkpoint", "crash", "horizon", "recover", "stats", "tuple_at", "vacuum"
    }  # fmt: skip
    assert public(ClusteredEngine) == {
        "begin", "checkpoint", "crash", "horizon", "purge", "recover", "stats"
    }  # fmt: skip


def test_an_update_too_big_for_a_page_prunes_and_logs_nothing() -> None:
    """The page holds a dead HOT version a prune would remove; an update no page can hold is
    refused before the prune: same slots, same log, the transaction not made a writer."""
    from designpatterns_ref.storage import HeapEngine, Schema

    schema = Schema({"id": int, "a": str, "b": str, "c": str, "d": str}, primary_key="id")
    db = HeapEngine(schema, page_size=1024, full_page_writes=False)
    tx = db.begin()
    tx.insert({"id": 1, "a": "", "b": "", "c": "", "d": ""})
    tx.commit()
    tx = db.begin()
    tx.update(1, {"a": "x"})  # one dead HOT version on page 0
    tx.commit()
    before = (db.wal.lsn, repr(db.state.pages), db.counters.as_dict())
    tx = db.begin()
    for call in (
        lambda: tx.update(1, {"a": "x" * 256, "b": "y" * 256, "c": "z" * 256, "d": "w" * 256}),
        lambda: tx.insert(
            {"id": 2, "a": "x" * 256, "b": "y" * 256, "c": "z" * 256, "d": "w" * 256}
        ),
    ):
        with pytest.raises(StorageError, match="does not fit"):
            call()
    counters = db.counters.as_dict()
    counters["pages_read"] = before[2]["pages_read"]
    assert (db.wal.lsn, repr(db.state.pages), counters) == before
    assert tx.status == "active" and tx.xid not in db.writers


@pytest.mark.parametrize("name", ["heap", "heap_hot", "clustered"])
def test_run_workload_refuses_a_used_engine_and_leaves_no_transaction_open(name: str) -> None:
    """A second run would insert keys the first loaded: refused before the engine is touched,
    and no transaction is left open to hold VACUUM or purge back."""
    from designpatterns_ref.storage import workload as w

    engine = w.make_engine(name, w.trips_schema(1))
    w.run_workload(engine, "update-unindexed", rows=10, ops=5)
    before = (engine.wal.lsn, engine.state.next_xid, engine.stats())
    with pytest.raises(StorageError, match="engine must be fresh"):
        w.run_workload(engine, "update-unindexed", rows=10, ops=5)
    assert (engine.wal.lsn, engine.state.next_xid, engine.stats()) == before
    assert not engine.active
    for i in range(3):
        tx = engine.begin()
        tx.update(1, {"counter": 100 + i})
        tx.commit()
    if name == "clustered":
        engine.purge()
        assert engine.stats()["history_length"] == 0
    else:
        engine.vacuum()
        assert engine.stats()["dead_versions"] == 0


@pytest.mark.parametrize("workload", ["update-indexed", "read-secondary"])
def test_run_workload_refuses_what_the_schema_cannot_run(workload: str) -> None:
    """Without an index on k0 these workloads used to measure key lookups instead, silently."""
    from designpatterns_ref.storage import workload as w

    engine = w.make_engine("heap", w.trips_schema(0))
    with pytest.raises(StorageError, match="needs an index on k0"):
        w.run_workload(engine, workload, rows=10, ops=5)
    assert engine.stats()["versions"] == 0 and engine.wal.lsn == 0


def test_a_failing_workload_step_is_aborted() -> None:
    from designpatterns_ref.storage import workload as w

    engine = w.make_engine("clustered", w.trips_schema(0))

    def fails(tx: Any) -> None:
        tx.insert({"id": 1, "counter": 0, "note": "x"})
        tx.insert({"id": 1, "counter": 0, "note": "x"})  # a duplicate key

    with pytest.raises(StorageError, match="already exists"):
        w._one(engine, fails)
    assert not engine.active and engine.stats()["rows"] == 0
