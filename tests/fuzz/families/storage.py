"""storage: schemas, both engines, transactions, the reference model, experiments, plots.

A ``Disk`` is what ``crash()`` returns and ``recover()`` takes back: its fields are fuzzed
through ``recover``. Not registered: the counters record (``NOT_FUZZED``).
"""

from __future__ import annotations

from typing import Any

from designpatterns_ref.storage import (
    ClusteredEngine,
    HeapEngine,
    Schema,
    SnapshotModel,
    StorageError,
    workload,
)
from designpatterns_ref.storage import plot as storage_plot
from designpatterns_ref.storage.base import check_page_size, check_value, value_size
from designpatterns_ref.storage.wal import Disk
from tests.fuzz.spec import Entry

ERRORS = (StorageError,)
NOT_FUZZED: dict[str, str] = {
    "HeapTransaction": "made by HeapEngine.begin (fuzzed); its methods are fuzzed on one",
    "ClusteredTransaction": "made by ClusteredEngine.begin (fuzzed); its methods are fuzzed on one",
    "Counters": "what an engine has done (engine.counters, and the differences of two); users "
    "read it",
}

COLUMNS = {"id": int, "city": str, "trips": int}
ROW = {"id": 1, "city": "Oslo", "trips": 0}


def _schema() -> Schema:
    return Schema(COLUMNS, primary_key="id", indexes=["city"])


def _heap() -> HeapEngine:
    db = HeapEngine(_schema())
    tx = db.begin()
    tx.insert(ROW)
    tx.update(1, {"trips": 1})  # a HOT successor in slot 1
    tx.commit()
    return db


def _clustered() -> ClusteredEngine:
    db = ClusteredEngine(_schema())
    tx = db.begin()
    tx.insert(ROW)
    tx.commit()
    return db


def _tx(kind: str) -> Any:
    def make() -> Any:
        if kind == "model":
            db: Any = SnapshotModel(_schema())
        else:
            db = HeapEngine(_schema()) if kind == "heap" else ClusteredEngine(_schema())
        tx = db.begin()
        tx.insert(ROW)
        tx.commit()
        return db.begin()

    return make


def _tx_state(tx: Any) -> object:
    """What a refused call must not change: the writes, the status, the log (reads may count)."""
    if hasattr(tx, "writes"):
        return (tx.status, repr(tx.writes), repr(tx.model.states))
    counters = tx.engine.counters.as_dict()
    counters.pop("pages_read")
    return (tx.status, repr(tx.changes), counters, len(tx.engine.wal.records))


def _engine_state(db: Any) -> object:
    counters = db.counters.as_dict()
    counters.pop("pages_read")
    return (
        counters,
        len(db.wal.records),
        repr(db.state.rows if hasattr(db.state, "rows") else db.state.pages),
    )


_TRANSACTION = {"heap": "HeapTransaction", "clustered": "ClusteredTransaction",
                "model": "ModelTransaction"}  # fmt: skip


def _tx_entries(kind: str) -> list[Entry]:
    """The calls of the transaction ``kind``'s engine begins, named by its class."""
    make, snap, name = _tx(kind), _tx_state, _TRANSACTION[kind]
    out = [
        Entry(f"{name}.get(key)", call=lambda t, v: t.get(v), make=make, snapshot=snap),
        Entry(f"{name}.insert(row)", call=lambda t, v: t.insert(v), make=make, snapshot=snap),
        Entry(f"{name}.update(key)", call=lambda t, v: t.update(v, {"trips": 1}), make=make,
              snapshot=snap),
        Entry(f"{name}.update(changes)", call=lambda t, v: t.update(1, v), make=make,
              snapshot=snap),
        Entry(f"{name}.delete(key)", call=lambda t, v: t.delete(v), make=make, snapshot=snap),
        Entry(f"{name}.scan(index)", call=lambda t, v: t.scan(v), make=make, snapshot=snap),
        Entry(f"{name}.scan(low)", call=lambda t, v: t.scan("city", v), make=make, snapshot=snap),
        Entry(f"{name}.scan(high)", call=lambda t, v: t.scan("id", None, v), make=make,
              snapshot=snap),
    ]  # fmt: skip
    for column in COLUMNS:
        out.append(Entry(f"{name}.insert(row[{column}])",
                         call=lambda t, v, c=column: t.insert({**ROW, "id": 2, c: v}),
                         make=make, snapshot=snap))  # fmt: skip
        if column != "id":
            out.append(Entry(f"{name}.update(changes[{column}])",
                             call=lambda t, v, c=column: t.update(1, {c: v}),
                             make=make, snapshot=snap))  # fmt: skip
    return out


ENTRIES = [
    Entry("Schema(columns)", call=lambda _, v: Schema(v, primary_key="id")),
    Entry("Schema(columns[type])", call=lambda _, v: Schema({"id": int, "x": v}, primary_key="id")),
    Entry("Schema(primary_key)", call=lambda _, v: Schema(COLUMNS, primary_key=v)),
    Entry("Schema(indexes)", call=lambda _, v: Schema(COLUMNS, primary_key="id", indexes=v)),
    Entry("Schema(indexes[i])", call=lambda _, v: Schema(COLUMNS, primary_key="id", indexes=[v])),
    Entry("HeapEngine(schema)", call=lambda _, v: HeapEngine(v)),
    Entry("HeapEngine(page_size)", call=lambda _, v: HeapEngine(_schema(), page_size=v)),
    Entry("HeapEngine(hot)", call=lambda _, v: HeapEngine(_schema(), hot=v)),
    Entry("HeapEngine(fillfactor)", call=lambda _, v: HeapEngine(_schema(), fillfactor=v)),
    Entry("HeapEngine(full_page_writes)",
          call=lambda _, v: HeapEngine(_schema(), full_page_writes=v)),
    Entry("HeapEngine.recover(disk)", call=lambda _, v: HeapEngine.recover(v)),
    Entry("ClusteredEngine(schema)", call=lambda _, v: ClusteredEngine(v)),
    Entry("ClusteredEngine(page_size)", call=lambda _, v: ClusteredEngine(_schema(), page_size=v)),
    Entry("ClusteredEngine.recover(disk)", call=lambda _, v: ClusteredEngine.recover(v)),
    Entry("Disk(log=) through HeapEngine.recover",
          call=lambda _, v: HeapEngine.recover(Disk(_heap().crash().image, v))),
    Entry("Disk(log=) through ClusteredEngine.recover",
          call=lambda _, v: ClusteredEngine.recover(Disk(_clustered().crash().image, v))),
    Entry("Disk(log=[record]) through HeapEngine.recover",
          call=lambda _, v: HeapEngine.recover(Disk(_heap().crash().image, (v,)))),
    Entry("Disk(image=) through HeapEngine.recover",
          call=lambda _, v: HeapEngine.recover(Disk(v, ()))),
    Entry("Disk(image=) through ClusteredEngine.recover",
          call=lambda _, v: ClusteredEngine.recover(Disk(v, ()))),
    Entry("SnapshotModel(schema)", call=lambda _, v: SnapshotModel(v)),
    *_tx_entries("heap"),
    *_tx_entries("clustered"),
    *_tx_entries("model"),
    Entry("heap.vacuum()", call=lambda db, _: db.vacuum(), make=lambda: HeapEngine(_schema()),
          snapshot=_engine_state),
    Entry("clustered.purge()", call=lambda db, _: db.purge(),
          make=lambda: ClusteredEngine(_schema()), snapshot=_engine_state),
    Entry("HeapEngine.tuple_at(ctid)", call=lambda db, v: db.tuple_at(v), make=_heap,
          snapshot=_engine_state),
    Entry("HeapEngine.tuple_at(ctid[page])", call=lambda db, v: db.tuple_at((v, 0)), make=_heap,
          snapshot=_engine_state),
    Entry("HeapEngine.tuple_at(ctid[slot])", call=lambda db, v: db.tuple_at((0, v)), make=_heap,
          snapshot=_engine_state),
    Entry("HeapEngine.chain(ctid)", call=lambda db, v: db.chain(v), make=_heap,
          snapshot=_engine_state),
    Entry("HeapEngine.chain(ctid[page])", call=lambda db, v: db.chain((v, 0)), make=_heap,
          snapshot=_engine_state),
    Entry("HeapEngine.chain(ctid[slot])", call=lambda db, v: db.chain((0, v)), make=_heap,
          snapshot=_engine_state),
    Entry("Schema.row_size(row)", call=lambda sch, v: sch.row_size(v), make=_schema),
    Entry("Schema.check_key(key)", call=lambda sch, v: sch.check_key(v), make=_schema),
    Entry("Schema.check_row(row)", call=lambda sch, v: sch.check_row(v), make=_schema),
    Entry("Schema.check_changes(changes)", call=lambda sch, v: sch.check_changes(v),
          make=_schema),
    Entry("Schema.check_index(index)", call=lambda sch, v: sch.check_index(v), make=_schema),
    Entry("Schema.check_bound(bound)", call=lambda sch, v: sch.check_bound("low", v, "city"),
          make=_schema),
    Entry("Schema.check_bound(index)", call=lambda sch, v: sch.check_bound("low", "Oslo", v),
          make=_schema),
    Entry("base.value_size(value)", call=lambda _, v: value_size(v)),
    Entry("base.check_value(value)", call=lambda _, v: check_value("v", v, int)),
    Entry("base.check_value(kind)", call=lambda _, v: check_value("v", 1, v)),
    Entry("base.check_page_size(page_size)", call=lambda _, v: check_page_size(v)),
    Entry("workload.trips_schema(indexes)", call=lambda _, v: workload.trips_schema(v)),
    Entry("workload.make_engine(name)",
          call=lambda _, v: workload.make_engine(v, workload.trips_schema(1))),
    Entry("workload.make_engine(schema)", call=lambda _, v: workload.make_engine("heap", v)),
    Entry("workload.run_workload(engine)",
          call=lambda _, v: workload.run_workload(v, "insert-heavy", rows=3, ops=3)),
    Entry("workload.run_workload(workload)",
          call=lambda _, v: workload.run_workload(
              workload.make_engine("heap", workload.trips_schema(1)), v, rows=3, ops=3)),
    Entry("workload.run_workload(rows)",
          call=lambda _, v: workload.run_workload(
              workload.make_engine("clustered", workload.trips_schema(1)), "read-secondary",
              rows=v, ops=3) if not (type(v) is int and v > 50) else None),
    Entry("workload.run_workload(ops)",
          call=lambda _, v: workload.run_workload(
              workload.make_engine("heap", workload.trips_schema(1)), "update-indexed",
              rows=3, ops=v) if not (type(v) is int and v > 50) else None),
    Entry("workload.write_amplification(max_indexes)",
          call=lambda _, v: workload.write_amplification(v, rows=3, updates=3)),
    Entry("workload.write_amplification(rows)",
          call=lambda _, v: workload.write_amplification(0, rows=v, updates=3)
          if not (type(v) is int and v > 50) else None),
    Entry("workload.replication_volume(indexes)",
          call=lambda _, v: workload.replication_volume(v, rows=3, updates=3)),
    Entry("workload.long_reader(rounds)",
          call=lambda _, v: workload.long_reader(rows=3, rounds=v, updates=3)
          if not (type(v) is int and v > 5) else None),
    Entry("workload.secondary_reads(lookups)",
          call=lambda _, v: workload.secondary_reads(rows=5, lookups=v)
          if not (type(v) is int and v > 50) else None),
    Entry("plot.plot_write_amplification(rows)",
          call=lambda _, v: storage_plot.plot_write_amplification(v)),
    Entry("plot.plot_replication(rows)", call=lambda _, v: storage_plot.plot_replication(v)),
    Entry("plot.plot_long_reader(rows)", call=lambda _, v: storage_plot.plot_long_reader(v)),
    Entry("plot.plot_secondary_reads(rows)",
          call=lambda _, v: storage_plot.plot_secondary_reads(v)),
]  # fmt: skip
