"""The storage family's shared types: the table schema, the counters, the errors, the Protocol.

Case study: Uber's Decision to Move from Postgres to MySQL
(docs/case-studies/uber-postgres-mysql.md)

Both engines store one table: named, typed columns (``int`` or ``str``), one primary-key
column and any number of single-column secondary indexes. ``engine.begin()`` returns a
:class:`Transaction` that reads the snapshot taken when it began (snapshot isolation) and
writes with ``insert`` / ``update`` / ``delete``. A write to a key that a concurrent
transaction has written (committed after this snapshot, or still running) raises
:class:`WriteConflict` and aborts the writer: the first writer wins. Engines never block, so
the later writer is aborted at once where PostgreSQL or InnoDB would make it wait for the
first and then abort it if the first commits.

Every engine keeps a :class:`Counters`: pages read and written, index entries written, bytes
of WAL (redo) and undo, and the bytes a replica must receive under physical (WAL shipping)
and logical (row-based) replication.

Complexity: validation is O(columns) per call.

>>> schema = Schema({"id": int, "city": str, "trips": int}, primary_key="id", indexes=["city"])
>>> schema.check_row({"id": 1, "city": "Oslo", "trips": 0})["city"]
'Oslo'
>>> schema.check_row({"id": 1, "city": 3, "trips": 0})
Traceback (most recent call last):
...
designpatterns_ref.storage.base.StorageError: row['city']=3 must be a str
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any, Protocol

from designpatterns_ref.errors import DesignPatternsError, shown

__all__ = [
    "MAX_INT",
    "MAX_STR",
    "Counters",
    "Engine",
    "Row",
    "Schema",
    "StorageError",
    "Transaction",
    "TransactionClosed",
    "Value",
    "WriteConflict",
    "value_size",
]

Value = int | str
Row = dict[str, Value]

#: Column values: integers fit a signed 64-bit column, strings are at most this many characters.
MAX_INT = 2**63 - 1
MAX_STR = 256


class StorageError(DesignPatternsError, ValueError):
    """Bad input to a storage engine (a wrong value, type, column or key); nothing was written."""


class WriteConflict(DesignPatternsError, RuntimeError):
    """A concurrent transaction wrote the same key first; this transaction has been aborted."""


class TransactionClosed(StorageError):
    """The transaction has already committed or aborted."""


def _name(what: str, value: object) -> str:
    if not isinstance(value, str):
        raise StorageError(f"{what}={shown(value)} must be a str")
    if not value.isidentifier() or len(value) > 63:
        raise StorageError(f"{what}={shown(value)} must be an identifier of at most 63 characters")
    return value


def check_value(what: str, value: object, kind: type) -> Value:
    """``value`` if it is a valid ``kind`` (``int`` or ``str``) column value, else an error."""
    if kind is not int and kind is not str:
        raise StorageError(f"kind={shown(kind, 80)} must be int or str")
    if kind is int:
        if type(value) is not int:
            raise StorageError(f"{what}={shown(value)} must be an int")
        if not -MAX_INT - 1 <= value <= MAX_INT:
            raise StorageError(f"{what}={shown(value)} must fit a signed 64-bit integer")
        return value
    if type(value) is not str:
        raise StorageError(f"{what}={shown(value, 80)} must be a str")
    if len(value) > MAX_STR:
        raise StorageError(f"{what} has {len(value)} characters; at most {MAX_STR} are allowed")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise StorageError(
            f"{what}={shown(value)} is not encodable text (a lone surrogate)"
        ) from None
    return value


def value_size(value: Value) -> int:
    """Bytes a value takes in a tuple: 8 for an int, 1 + its UTF-8 length for a str."""
    if type(value) is int:
        return 8
    if type(value) is str:
        try:
            return 1 + len(value.encode("utf-8"))
        except UnicodeEncodeError:
            pass
    raise StorageError(f"value={shown(value, 80)} must be an int or encodable str (a column value)")


class Schema:
    """A table's columns (name to ``int`` or ``str``), primary key and indexed columns."""

    def __init__(
        self,
        columns: Mapping[str, type],
        *,
        primary_key: str,
        indexes: Iterable[str] = (),
    ) -> None:
        if not isinstance(columns, Mapping) or not columns:
            raise StorageError(f"columns={shown(columns, 80)} must be a non-empty mapping")
        if len(columns) > 64:
            raise StorageError(f"columns has {len(columns)} entries; at most 64 are allowed")
        cols: dict[str, type] = {}
        for name, kind in columns.items():
            _name("column name", name)
            if kind is not int and kind is not str:
                raise StorageError(f"columns[{shown(name)}]={shown(kind)} must be int or str")
            cols[name] = kind
        _name("primary_key", primary_key)
        if primary_key not in cols:
            raise StorageError(
                f"primary_key={shown(primary_key)} is not one of the columns {[*cols]}"
            )
        if isinstance(indexes, str | bytes) or not isinstance(indexes, Iterable):
            raise StorageError(f"indexes={shown(indexes, 80)} must be a list of column names")
        idx: list[str] = []
        for column in list(indexes):
            _name("index column", column)
            if column not in cols or column == primary_key or column in idx:
                raise StorageError(
                    f"index column {shown(column)} must be a column other than the primary key, "
                    f"listed once (columns: {[*cols]})"
                )
            idx.append(column)
        self.columns: dict[str, type] = cols
        self.primary_key: str = primary_key
        self.indexes: tuple[str, ...] = tuple(idx)

    def __repr__(self) -> str:
        kinds = {k: v.__name__ for k, v in self.columns.items()}
        return f"Schema({kinds}, primary_key={self.primary_key!r}, indexes={list(self.indexes)})"

    def check_key(self, key: object) -> Value:
        """A valid primary-key value, or :class:`StorageError`."""
        return check_value("key", key, self.columns[self.primary_key])

    def check_row(self, row: object) -> Row:
        """A copy of a full row (every column, right types), or :class:`StorageError`."""
        if not isinstance(row, Mapping):
            raise StorageError(f"row={shown(row, 80)} must be a mapping of column to value")
        missing = [c for c in self.columns if c not in row]
        extra = [c for c in row if c not in self.columns]
        if missing or extra:
            raise StorageError(
                f"row must have exactly the columns {[*self.columns]}; "
                f"missing {missing}, unknown {[f'{shown(e, 40)}' for e in extra]}"
            )
        return {c: check_value(f"row[{c!r}]", row[c], k) for c, k in self.columns.items()}

    def check_changes(self, changes: object) -> Row:
        """A copy of a non-empty set of column changes (never the primary key), or an error."""
        if not isinstance(changes, Mapping) or not changes:
            raise StorageError(f"changes={shown(changes, 80)} must be a non-empty mapping")
        out: Row = {}
        for column, value in changes.items():
            if column not in self.columns:
                raise StorageError(f"changes has unknown column {shown(column, 40)}")
            if column == self.primary_key:
                raise StorageError(f"changes may not set the primary key {shown(column)}")
            out[column] = check_value(f"changes[{column!r}]", value, self.columns[column])
        return out

    def check_index(self, index: object) -> str:
        """The primary key's or a secondary index's column name, or :class:`StorageError`."""
        if not isinstance(index, str) or (index != self.primary_key and index not in self.indexes):
            allowed = [self.primary_key, *self.indexes]
            raise StorageError(f"index={shown(index, 80)} must be one of {allowed}")
        return index

    def check_bound(self, what: str, bound: object, index: str) -> Value | None:
        """A scan bound for ``index``'s column (``None`` = open), or :class:`StorageError`."""
        index = self.check_index(index)
        if bound is None:
            return None
        return check_value(what, bound, self.columns[index])

    def row_size(self, row: Mapping[str, Value]) -> int:
        """Bytes of a row's data (the sum of its values' sizes); the row is checked first."""
        return sum(value_size(v) for v in self.check_row(row).values())


@dataclass
class Counters:
    """What an engine has done: pages, index entries, log bytes, replication bytes."""

    pages_read: int = 0
    pages_written: int = 0
    index_entries_written: int = 0
    row_versions_written: int = 0
    hot_updates: int = 0
    wal_bytes: int = 0
    undo_bytes: int = 0
    full_page_images: int = 0
    physical_replica_bytes: int = 0
    logical_replica_bytes: int = 0
    commits: int = 0
    aborts: int = 0

    def copy(self) -> Counters:
        """An independent copy (to subtract later)."""
        return Counters(**self.as_dict())

    def as_dict(self) -> dict[str, int]:
        """The counters as a plain dictionary."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def __sub__(self, other: Counters) -> Counters:
        return Counters(**{k: v - getattr(other, k) for k, v in self.as_dict().items()})


class Transaction(Protocol):
    """A snapshot-isolated transaction on one table."""

    def get(self, key: Value) -> Row | None: ...
    def insert(self, row: Mapping[str, Value]) -> None: ...
    def update(self, key: Value, changes: Mapping[str, Value]) -> bool: ...
    def delete(self, key: Value) -> bool: ...
    def scan(
        self, index: str, low: Value | None = None, high: Value | None = None
    ) -> list[Row]: ...
    def commit(self) -> None: ...
    def abort(self) -> None: ...


class Engine(Protocol):
    """A storage engine holding one table."""

    schema: Schema
    counters: Counters

    def begin(self) -> Transaction: ...
    def checkpoint(self) -> None: ...


def check_page_size(page_size: object) -> int:
    """A page size in bytes (a power of two from 1 KiB to 64 KiB), or :class:`StorageError`."""
    if type(page_size) is not int or page_size not in {2**k for k in range(10, 17)}:
        raise StorageError(
            f"page_size={shown(page_size, 80)} must be a power of two, 1024 to 65536"
        )
    return page_size


def describe(value: Any) -> str:
    """A short repr for messages."""
    return f"{value!r:.60}"
