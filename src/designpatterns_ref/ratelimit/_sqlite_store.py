"""The SQLite limiters' store: one connection per file and process, one transaction a decision.

Case study: Design a Rate Limiter (docs/case-studies/rate-limiter.md)

What :mod:`designpatterns_ref.ratelimit.sqlite` does between its limiters and the file: the
schema (one row per limiter name and key, the state as JSON text), the connection a process
shares between the limiters of one file (WAL, ``synchronous=NORMAL``, a lock for its
threads, reopened after a fork), the checks of paths and keys, and the transaction that loads
the states of a decision's parts, lets their in-memory models decide and writes back what
changed, started again while SQLite answers "busy" at once. Complexity: one transaction
(four statements a part, at most) per decision.

>>> _check_key("demo", 7), _check_key("demo", "alice")
(7, 'alice')
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from designpatterns_ref.errors import shown
from designpatterns_ref.ratelimit.base import RateLimitError, plain_key

__all__ = ["Part"]


class Part(Protocol):
    """What the store needs of a limiter: its file, its rows' name (the algorithm's and the
    limiter's), its model."""

    path: str
    row_name: str
    busy_timeout: float
    model: Any


_SCHEMA = """CREATE TABLE IF NOT EXISTS ratelimit (
    name TEXT NOT NULL,
    key NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (name, key)
) WITHOUT ROWID"""
_SELECT = "SELECT state FROM ratelimit WHERE name = ? AND key = ?"
_UPSERT = (
    "INSERT INTO ratelimit (name, key, state) VALUES (?, ?, ?) "
    "ON CONFLICT (name, key) DO UPDATE SET state = excluded.state"
)
_DELETE = "DELETE FROM ratelimit WHERE name = ? AND key = ?"


class _Store:
    """One connection to one file, for every limiter of that file in this process."""

    def __init__(self, path: str, busy_timeout: float) -> None:
        self.lock = threading.RLock()
        self.conn = sqlite3.connect(
            path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
        try:
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute(_SCHEMA)
        except BaseException:
            self.conn.close()
            raise


#: (path, busy_timeout, pid) -> its store; a forked child opens its own (the parent's
#: connections are kept, unused, so that closing them cannot touch the parent's locks).
_STORES: dict[tuple[str, float, int], _Store] = {}
_STORES_LOCK = threading.Lock()


def _store(path: str, busy_timeout: float) -> _Store:
    index = (path, busy_timeout, os.getpid())
    store = _STORES.get(index)
    if store is None:
        with _STORES_LOCK:
            store = _STORES.get(index)
            if store is None:
                store = _STORES[index] = _Store(path, busy_timeout)
    return store


def _check_path(owner: str, path: object) -> str:
    if not isinstance(path, str | os.PathLike):
        raise RateLimitError(
            f"{owner}: path={shown(path, 80)} must be a file path (str or PathLike)"
        )
    text = os.fspath(path)
    if not isinstance(text, str) or not text or text == ":memory:" or text.startswith("file:"):
        raise RateLimitError(
            f"{owner}: path={shown(path, 80)} must name a database file (not ':memory:' or a URI): "
            "the processes that share the limit open it"
        )
    try:
        text.encode()
    except UnicodeEncodeError:
        raise RateLimitError(f"{owner}: path={shown(path, 80)} is not valid text") from None
    if "\x00" in text:
        raise RateLimitError(f"{owner}: path={shown(path, 80)} contains a NUL character")
    return os.path.abspath(text)


def _check_key(owner: str, key: object) -> str | int:
    """``key`` as stored: a str of valid text, or an int of 64 bits (not a bool); a key of a
    str or int subclass (an enum member) as its plain value (:func:`.plain_key`)."""
    key = plain_key(key)
    if key.__class__ is str:
        try:
            key.encode()
        except UnicodeEncodeError:
            raise RateLimitError(
                f"{owner}: key={shown(key, 80)} cannot be stored (a lone surrogate?)"
            ) from None
        return key
    if key.__class__ is int and -(2**63) <= key < 2**63:
        return key
    raise RateLimitError(
        f"{owner}: key={shown(key, 80)} must be a str or an int (64 bits) to be stored in SQLite"
    )


def _unreadable(part: Part, key: object, text: str) -> RateLimitError:
    owner = type(part).__name__
    return RateLimitError(
        f"{owner}: the row of key={shown(key, 80)} under {shown(part.row_name, 80)} holds "
        f"{shown(text, 80)}, which is not a state of {type(part.model).__name__}; reset(key) "
        "deletes it"
    )


def _read_row(part: Part, key: object, text: str) -> Any:
    """The model's state in a row's JSON text (None for an older form); RateLimitError when
    the text is not JSON."""
    try:
        value = json.loads(text)
    except ValueError:
        raise _unreadable(part, key, text) from None
    return part.model._from_row(value)


def _errors() -> tuple[type[BaseException], ...]:
    return (sqlite3.OperationalError, sqlite3.DatabaseError, OSError)


def _retrying(limiter: Part, attempt: Callable[[], Any]) -> Any:
    """``attempt()``, tried again while SQLite answers "locked" or "busy" at once, within the
    limiter's ``busy_timeout``. The busy handler covers most waits, but not all: SQLite
    returns SQLITE_BUSY without waiting where waiting could deadlock (while several processes
    open a new file and switch it to WAL), and a whole transaction can simply start again."""
    deadline, pause = time.monotonic() + limiter.busy_timeout, 0.001
    while True:
        try:
            return attempt()
        except sqlite3.OperationalError as exc:
            text = str(exc).lower()
            if ("locked" not in text and "busy" not in text) or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(2 * pause, 0.05)


def _run(parts: tuple[Part, ...], key: Any, op: Callable[[], Any], write: bool) -> Any:
    """Run ``op`` (which works on the parts' models) inside one transaction holding ``key``'s
    state of every part; write back the states that changed when ``write``."""
    return _retrying(parts[0], lambda: _attempt(parts, key, op, write))


def _attempt(parts: tuple[Part, ...], key: Any, op: Callable[[], Any], write: bool) -> Any:
    first = parts[0]
    store = _store(first.path, first.busy_timeout)
    with store.lock:
        conn = store.conn
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            before = []
            for part in parts:
                row = conn.execute(_SELECT, (part.row_name, key)).fetchone()
                states = part.model._states
                states.clear()
                if row is not None:
                    state = _read_row(part, key, row[0])
                    if state is not None:  # None: a row of an older form, met as never seen
                        states[key] = state
                before.append(None if row is None else row[0])
            try:
                result = op()
            except RateLimitError:
                raise
            except (ValueError, TypeError, LookupError) as exc:  # a state the model cannot use
                loaded = [(p, old) for p, old in zip(parts, before, strict=True) if old]
                if not loaded:
                    raise
                raise _unreadable(loaded[0][0], key, loaded[0][1]) from exc
            if write:
                for part, old in zip(parts, before, strict=True):
                    state = part.model._states.get(key)
                    if state is None:
                        if old is not None:
                            conn.execute(_DELETE, (part.row_name, key))
                    else:
                        new = json.dumps(part.model._to_row(state))
                        if new != old:
                            conn.execute(_UPSERT, (part.row_name, key, new))
            conn.execute("COMMIT")
            return result
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            for part in parts:
                part.model._states.clear()
