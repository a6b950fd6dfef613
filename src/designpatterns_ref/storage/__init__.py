"""Storage engines: PostgreSQL-style heap MVCC against InnoDB-style clustered index and undo.

Case study: Uber's Decision to Move from Postgres to MySQL
(docs/case-studies/uber-postgres-mysql.md)

Two small engines behind one interface (:class:`Schema`, ``engine.begin()``, a transaction
with ``get`` / ``insert`` / ``update`` / ``delete`` / ``scan`` / ``commit`` / ``abort``), both
snapshot-isolated, both counting pages, index entries, WAL and undo bytes and the bytes a
replica receives. :class:`HeapEngine` keeps every version in an append-only heap with index
entries pointing at tuple locations (HOT updates, VACUUM); :class:`ClusteredEngine` keeps
rows in the primary key's B+tree, old versions in an undo log (purge), and secondary indexes
holding the primary key. :class:`SnapshotModel` is the plain reference both are tested against;
:mod:`~designpatterns_ref.storage.workload` runs the case study's experiments.

>>> import designpatterns_ref as dp
>>> schema = dp.storage.Schema({"id": int, "v": int}, primary_key="id")
>>> for engine in (dp.storage.HeapEngine(schema), dp.storage.ClusteredEngine(schema)):
...     tx = engine.begin(); tx.insert({"id": 1, "v": 10}); tx.commit()
...     print(type(engine).__name__, engine.begin().get(1))
HeapEngine {'id': 1, 'v': 10}
ClusteredEngine {'id': 1, 'v': 10}
"""

from __future__ import annotations

from designpatterns_ref.storage.base import (
    Counters,
    Engine,
    Row,
    Schema,
    StorageError,
    Transaction,
    TransactionClosed,
    Value,
    WriteConflict,
)
from designpatterns_ref.storage.clustered import ClusteredEngine, ClusteredTransaction
from designpatterns_ref.storage.heap import HeapEngine, HeapTransaction
from designpatterns_ref.storage.reference import SnapshotModel
from designpatterns_ref.storage.wal import Disk, SimulatedCrash

__all__ = [
    "ClusteredEngine",
    "ClusteredTransaction",
    "Counters",
    "Disk",
    "Engine",
    "HeapEngine",
    "HeapTransaction",
    "Row",
    "Schema",
    "SimulatedCrash",
    "SnapshotModel",
    "StorageError",
    "Transaction",
    "TransactionClosed",
    "Value",
    "WriteConflict",
]
