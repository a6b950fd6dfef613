"""Snapshot isolation stated plainly: the reference model both engines are tested against.

Case study: Uber's Decision to Move from Postgres to MySQL
(docs/case-studies/uber-postgres-mysql.md)

No pages, no versions in place: the database is a list of committed states, one per commit.
A transaction reads the state that was current when it began, overlaid with its own writes;
a write to a key that another transaction wrote after that state (committed since, or still
running) aborts the writer (first writer wins); a commit makes a new state. Every rule is one
line, so the engines' cleverness (xmin/xmax, HOT chains, undo chains, purge, vacuum) can be
checked against it on random interleavings. Write skew is allowed, as snapshot isolation
allows it: two transactions each read what the other writes and both commit.

Complexity: O(rows) per commit (a copy of the state): a model, not an engine.

>>> from designpatterns_ref.storage.base import Schema
>>> model = SnapshotModel(Schema({"id": int, "v": int}, primary_key="id"))
>>> a, b = model.begin(), model.begin()
>>> a.insert({"id": 1, "v": 1})
>>> b.insert({"id": 1, "v": 2})
Traceback (most recent call last):
...
designpatterns_ref.storage.base.WriteConflict: key=1 was written by a concurrent transaction
>>> a.commit(); model.begin().get(1)
{'id': 1, 'v': 1}
"""

from __future__ import annotations

from collections.abc import Mapping

from designpatterns_ref.errors import shown
from designpatterns_ref.storage.base import (
    Row,
    Schema,
    StorageError,
    TransactionClosed,
    Value,
    WriteConflict,
)

__all__ = ["ModelTransaction", "SnapshotModel"]

_DELETED = None


class SnapshotModel:
    """Committed states in order; transactions over a snapshot of one of them."""

    def __init__(self, schema: Schema) -> None:
        if not isinstance(schema, Schema):
            raise StorageError(f"schema={shown(schema, 80)} must be a Schema")
        self.schema = schema
        self.states: list[dict[Value, Row]] = [{}]
        self.written_at: dict[Value, int] = {}  # key -> index of the state its last commit made
        self.running: dict[int, ModelTransaction] = {}
        self._ids = 0

    def begin(self) -> ModelTransaction:
        """A transaction reading the latest committed state."""
        self._ids += 1
        tx = ModelTransaction(self, self._ids, len(self.states) - 1)
        self.running[tx.id] = tx
        return tx

    def rows(self) -> list[Row]:
        """The latest committed rows, by key."""
        return [dict(r) for _, r in sorted(self.states[-1].items())]


class ModelTransaction:
    """One transaction of a :class:`SnapshotModel`."""

    def __init__(self, model: SnapshotModel, tx_id: int, snapshot: int) -> None:
        self.model, self.id, self.snapshot = model, tx_id, snapshot
        self.writes: dict[Value, Row | None] = {}
        self.status = "active"

    def _open(self) -> None:
        if self.status != "active":
            raise TransactionClosed(f"transaction {self.id} is {self.status}")

    def _view(self) -> dict[Value, Row]:
        view = dict(self.model.states[self.snapshot])
        for key, row in self.writes.items():
            if row is _DELETED:
                view.pop(key, None)
            else:
                view[key] = row
        return view

    def _check_conflict(self, key: Value) -> None:
        committed_since = self.model.written_at.get(key, -1) > self.snapshot
        running = any(
            key in other.writes for other in self.model.running.values() if other is not self
        )
        if committed_since or running:
            self.abort()
            raise WriteConflict(f"key={shown(key)} was written by a concurrent transaction")

    def get(self, key: Value) -> Row | None:
        """The row as this snapshot (and this transaction's writes) has it."""
        self._open()
        row = self._view().get(self.model.schema.check_key(key))
        return dict(row) if row is not None else None

    def insert(self, row: Mapping[str, Value]) -> None:
        """Add a row; a conflict aborts, a visible duplicate is refused."""
        self._open()
        checked = self.model.schema.check_row(row)
        key = checked[self.model.schema.primary_key]
        self._check_conflict(key)
        if key in self._view():
            raise StorageError(f"key={shown(key)} already exists")
        self.writes[key] = checked

    def update(self, key: Value, changes: Mapping[str, Value]) -> bool:
        """Change a visible row; ``False`` if there is none."""
        self._open()
        key = self.model.schema.check_key(key)
        checked = self.model.schema.check_changes(changes)
        old = self._view().get(key)
        if old is None:
            return False
        self._check_conflict(key)
        self.writes[key] = {**old, **checked}
        return True

    def delete(self, key: Value) -> bool:
        """Delete a visible row; ``False`` if there is none."""
        self._open()
        key = self.model.schema.check_key(key)
        if key not in self._view():
            return False
        self._check_conflict(key)
        self.writes[key] = _DELETED
        return True

    def scan(self, index: str, low: Value | None = None, high: Value | None = None) -> list[Row]:
        """Visible rows with ``low <= row[index] < high``, by (that column, primary key)."""
        self._open()
        schema = self.model.schema
        index = schema.check_index(index)
        lo, hi = schema.check_bound("low", low, index), schema.check_bound("high", high, index)
        rows = [
            dict(r)
            for r in self._view().values()
            if (lo is None or lo <= r[index]) and (hi is None or r[index] < hi)  # type: ignore[operator]
        ]
        return sorted(rows, key=lambda r: (r[index], r[schema.primary_key]))

    def commit(self) -> None:
        """Publish the writes as a new committed state."""
        self._open()
        self.model.running.pop(self.id)
        self.status = "committed"
        if self.writes:
            state = dict(self.model.states[-1])
            for key, row in self.writes.items():
                if row is _DELETED:
                    state.pop(key, None)
                else:
                    state[key] = row
            self.model.states.append(state)
            for key in self.writes:
                self.model.written_at[key] = len(self.model.states) - 1

    def abort(self) -> None:
        """Drop the writes."""
        self._open()
        self.model.running.pop(self.id)
        self.status = "aborted"
