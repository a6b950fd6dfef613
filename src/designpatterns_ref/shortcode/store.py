"""Link stores: where codes live, with a uniqueness guarantee the service relies on.

Case study: Design a URL Shortener (bit.ly) (docs/case-studies/url-shortener.md)

A store keeps :class:`Link` rows keyed by code. Its one promise is that :meth:`insert` is
atomic and refuses a code that exists (and, for a row marked ``canonical``, a URL that already
has a canonical code), returning which of the two it hit. That is what makes duplicate codes
impossible whatever the allocator does: the allocator proposes, the store decides.

Each stored link also gets a **generation**, a number its store never gives twice, and a click
is counted on ``(code, generation)``, not on the code alone: a click on a link that was deleted
(or purged) after it was read, and whose code was then given to a new link, is dropped instead
of landing on the new link. The code names a link; the generation says which one.

:class:`MemoryStore` keeps two dicts behind a lock. :class:`SQLiteStore` keeps a table in a
file (the embedded default): the code is the primary key and a partial unique index on
``url WHERE canonical = 1`` enforces "one code per URL" in the database itself, so it holds
across threads and processes, and everything survives closing and reopening. It runs in WAL
mode with ``synchronous=NORMAL`` (a crash may lose the last commits, never corrupt the file)
and one connection guarded by a lock, which is faster for a shared in-process service than a
connection per thread contending for SQLite's single writer.

Complexity: O(1) expected per operation in memory; O(log n) B-tree lookups in SQLite.

>>> store = MemoryStore()
>>> link = Link("abc", "https://example.com", created_at=0.0)
>>> store.insert(link), store.insert(link)
(<Insert.OK: 'ok'>, <Insert.CODE_TAKEN: 'code_taken'>)
>>> store.get("abc").url
'https://example.com'
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import itertools
import sqlite3
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from designpatterns_ref.errors import shown
from designpatterns_ref.shortcode._sqlite_open import open_sqlite
from designpatterns_ref.shortcode.base import InvalidUrl, ShortCodeError, ShortCodeUnavailable
from designpatterns_ref.shortcode.base import _surrogate_at as _surrogate

__all__ = ["Insert", "Link", "LinkStore", "MemoryStore", "SQLiteStore", "check_code", "check_url"]


def check_code(where: str, code: object) -> str:
    """Return ``code`` if it is a str UTF-8 can encode, else raise :class:`ShortCodeError`."""
    if not isinstance(code, str):
        raise ShortCodeError(f"{where}: code={shown(code)} must be a str")
    pos = _surrogate(code)
    if pos is not None:
        raise ShortCodeError(
            f"{where}: code={shown(code[:80])} has a lone surrogate at position {pos}; no code has "
            "one"
        )
    return code


def check_url(where: str, url: object) -> str:
    """Return ``url`` if it is a str UTF-8 can encode, else raise :class:`InvalidUrl`.

    Every store applies this check, so memory and SQLite agree on what they accept; the
    service checks much more (scheme, host, length) before it stores anything.
    """
    if not isinstance(url, str):
        raise InvalidUrl(f"{where}: url={shown(url)} must be a str")
    pos = _surrogate(url)
    if pos is not None:
        raise InvalidUrl(
            f"{where}: url={shown(url[:80])} has a lone surrogate at position {pos}, which no URL "
            "can hold (percent-encode the bytes you mean)"
        )
    return url


def _check_time(where: str, name: str, value: object, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ShortCodeError(f"{where}: {name}={shown(value)} must be a number of seconds")
    if not -sys.float_info.max <= value <= sys.float_info.max:
        raise ShortCodeError(f"{where}: {name}={shown(value)} must be finite")


def check_link(where: str, link: object) -> Link:
    """Return ``link`` if it is a :class:`Link` every store can keep, else raise."""
    if not isinstance(link, Link):
        raise ShortCodeError(f"{where}: link={shown(link)} must be a Link")
    check_code(where, link.code)
    check_url(where, link.url)
    _check_time(where, "created_at", link.created_at)
    _check_time(where, "expires_at", link.expires_at, optional=True)
    if isinstance(link.clicks, bool) or not isinstance(link.clicks, int):
        raise ShortCodeError(f"{where}: clicks={shown(link.clicks)} must be an int")
    if not 0 <= link.clicks <= 2**63 - 1:
        raise ShortCodeError(f"{where}: clicks={shown(link.clicks)} must be from 0 to 2**63 - 1")
    for name in ("canonical", "alias"):
        if not isinstance(getattr(link, name), bool):
            raise ShortCodeError(f"{where}: {name}={shown(getattr(link, name))} must be a bool")
    check_generation(where, link.generation)
    return link


def check_generation(where: str, generation: object) -> int:
    """Return ``generation`` if it is an int from 0 to 2**63 - 1, else raise."""
    if isinstance(generation, bool) or not isinstance(generation, int):
        raise ShortCodeError(f"{where}: generation={shown(generation)} must be an int")
    if not 0 <= generation <= 2**63 - 1:
        raise ShortCodeError(f"{where}: generation={shown(generation)} must be from 0 to 2**63 - 1")
    return generation


@dataclass(frozen=True)
class Link:
    """One short link: its code, target, times (Unix seconds), clicks and kind.

    ``canonical`` marks the one shared code of a URL in "one code per URL" mode; ``alias``
    marks a code the user chose. ``generation`` is the store's identity of this link: the
    store sets it on :meth:`~LinkStore.insert` (the value given is replaced) to a number it
    never gives another link, so a link deleted and a later one with the same code differ.
    It is no part of the link's value: two links equal in every other field compare equal.
    """

    code: str
    url: str
    created_at: float
    expires_at: float | None = None
    clicks: int = 0
    canonical: bool = False
    alias: bool = False
    generation: int = field(default=0, compare=False)

    def expired(self, now: float) -> bool:
        """Whether the link's time to live has passed at ``now``."""
        _check_time("Link.expired", "now", now)
        return self.expires_at is not None and now >= self.expires_at


class Insert(enum.Enum):
    """The outcome of :meth:`LinkStore.insert`."""

    OK = "ok"
    CODE_TAKEN = "code_taken"
    URL_TAKEN = "url_taken"


@runtime_checkable
class LinkStore(Protocol):
    """Storage for links; ``insert`` is atomic and enforces unique codes."""

    def insert(self, link: Link) -> Insert:
        """Store ``link`` unless its code (or, if canonical, its URL) is taken, with a
        generation this store never gave another link."""
        ...

    def get(self, code: str) -> Link | None:
        """The link with this code, or None."""
        ...

    def canonical(self, url: str) -> Link | None:
        """The canonical link of ``url``, or None."""
        ...

    def hit(self, code: str, generation: int) -> bool:
        """Add one click to the link with this code if it is still the link of this
        generation; whether it was (False: deleted, or the code now names another link)."""
        ...

    def delete(self, code: str) -> bool:
        """Remove the link with this code; whether there was one."""
        ...

    def purge_expired(self, now: float) -> int:
        """Remove every link expired at ``now``; how many."""
        ...

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[Link]:
        """Every stored link (a snapshot), in no particular order."""
        ...

    def close(self) -> None:
        """Release the store's resources."""
        ...


class MemoryStore:
    """Links in two dicts behind one lock (thread-safe; gone when the process ends)."""

    def __init__(self) -> None:
        self._links: dict[str, Link] = {}
        self._canonical: dict[str, str] = {}
        self._generations = itertools.count(1)
        self._lock = threading.Lock()

    def insert(self, link: Link) -> Insert:
        check_link("MemoryStore.insert", link)
        with self._lock:
            if link.code in self._links:
                return Insert.CODE_TAKEN
            if link.canonical:
                if link.url in self._canonical:
                    return Insert.URL_TAKEN
                self._canonical[link.url] = link.code
            self._links[link.code] = dataclasses.replace(link, generation=next(self._generations))
            return Insert.OK

    def get(self, code: str) -> Link | None:
        return self._links.get(check_code("MemoryStore.get", code))

    def canonical(self, url: str) -> Link | None:
        check_url("MemoryStore.canonical", url)
        with self._lock:
            code = self._canonical.get(url)
            return None if code is None else self._links[code]

    def hit(self, code: str, generation: int) -> bool:
        check_code("MemoryStore.hit", code)
        check_generation("MemoryStore.hit", generation)
        with self._lock:
            link = self._links.get(code)
            if link is None or link.generation != generation:
                return False
            self._links[code] = dataclasses.replace(link, clicks=link.clicks + 1)
            return True

    def delete(self, code: str) -> bool:
        check_code("MemoryStore.delete", code)
        with self._lock:
            link = self._links.pop(code, None)
            if link is not None and link.canonical:
                del self._canonical[link.url]
            return link is not None

    def purge_expired(self, now: float) -> int:
        _check_time("MemoryStore.purge_expired", "now", now)
        with self._lock:
            gone = [c for c, link in self._links.items() if link.expired(now)]
            for code in gone:
                link = self._links.pop(code)
                if link.canonical:
                    del self._canonical[link.url]
            return len(gone)

    def __len__(self) -> int:
        return len(self._links)

    def __iter__(self) -> Iterator[Link]:
        with self._lock:
            return iter(list(self._links.values()))

    def close(self) -> None:
        """Nothing to release."""


_SCHEMA = """
CREATE TABLE IF NOT EXISTS links (
    code       TEXT PRIMARY KEY,
    url        TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL,
    clicks     INTEGER NOT NULL DEFAULT 0,
    canonical  INTEGER NOT NULL DEFAULT 0,
    alias      INTEGER NOT NULL DEFAULT 0,
    generation INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS links_one_code_per_url ON links (url) WHERE canonical = 1;
CREATE TABLE IF NOT EXISTS links_generation (
    one  INTEGER PRIMARY KEY CHECK (one = 1),
    last INTEGER NOT NULL
);
INSERT OR IGNORE INTO links_generation (one, last) VALUES (1, 0);
"""
_COLUMNS = "code, url, created_at, expires_at, clicks, canonical, alias, generation"


def _row(row: tuple[object, ...] | None) -> Link | None:
    if row is None:
        return None
    code, url, created, expires, clicks, canonical, alias, generation = row
    return Link(
        str(code),
        str(url),
        float(created),  # type: ignore[arg-type]
        None if expires is None else float(expires),  # type: ignore[arg-type]
        int(clicks),  # type: ignore[call-overload]
        bool(canonical),
        bool(alias),
        int(generation),  # type: ignore[call-overload]
    )


#: The one place a generation is given: after every insert into ``links``, by this store or
#: by any other writer of the file (an older version that knows nothing of generations, a
#: manual import), the counter moves one step forward and the new row takes its value, so no
#: generation is ever given twice, whatever the insert said.
#: A row another writer points at another URL in place (an ``UPDATE``, an import's ``INSERT
#: ... ON CONFLICT DO UPDATE``) is another link too, and gets a new generation the same way.
_TRIGGERS = {
    "links_generation_last": (
        "CREATE TRIGGER links_generation_last AFTER INSERT ON links BEGIN "
        "UPDATE links_generation SET last = last + 1; "
        "UPDATE links SET generation = (SELECT last FROM links_generation) WHERE code = NEW.code; "
        "END"
    ),
    "links_generation_moved": (
        "CREATE TRIGGER links_generation_moved AFTER UPDATE OF code, url ON links "
        "WHEN NEW.code IS NOT OLD.code OR NEW.url IS NOT OLD.url BEGIN "
        "UPDATE links_generation SET last = last + 1; "
        "UPDATE links SET generation = (SELECT last FROM links_generation) WHERE code = NEW.code; "
        "END"
    ),
}


def _add_generations(db: sqlite3.Connection) -> None:
    """Give a ``links`` table made before links had generations its ``generation`` column
    (its rows get generation 0, every link inserted from now on 1 or more, so a click read
    from an old row never lands on a new link with the same code), and the trigger that gives
    every inserted link its generation (and the one that gives a row pointed elsewhere in
    place a new one).

    A file whose trigger only copied the generation the insert gave (so that an insert giving
    none moved the counter back to 0) gets this trigger instead, and its counter is moved up
    to the highest generation stored if it had fallen below it."""
    db.execute("BEGIN IMMEDIATE")  # two processes opening the file at once add it once
    try:
        columns = {row[1] for row in db.execute("PRAGMA table_info(links)")}
        if "generation" not in columns:
            db.execute("ALTER TABLE links ADD COLUMN generation INTEGER NOT NULL DEFAULT 0")
        replaced = False
        for name, sql in _TRIGGERS.items():
            row = db.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", (name,)
            ).fetchone()
            if row is None or row[0] != sql:
                db.execute(f"DROP TRIGGER IF EXISTS {name}")
                db.execute(sql)
                replaced = True
        if replaced:
            db.execute(
                "UPDATE links_generation SET last = "
                "max(last, (SELECT coalesce(max(generation), 0) FROM links))"
            )
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
        raise


def _open_store(db: sqlite3.Connection) -> None:
    """The opening statements of a :class:`SQLiteStore`, each safe to run again."""
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(_SCHEMA)
    _add_generations(db)


class SQLiteStore:
    """Links in a SQLite file (or ``":memory:"``): durable, unique by constraint, thread-safe."""

    def __init__(self, path: str | Path) -> None:
        if not isinstance(path, str | Path):
            raise ShortCodeError(f"SQLiteStore: path={shown(path)} must be a str or Path")
        self.path = str(path)
        self._lock = threading.Lock()
        self._conn = open_sqlite("SQLiteStore", self.path, _open_store)
        self._closed = False

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"

    @contextmanager
    def _db(self, where: str) -> Iterator[sqlite3.Connection]:
        """The connection, under the lock: refused once closed, and a database failure (a
        locked or damaged file, a full disk) raised as ``ShortCodeUnavailable``."""
        with self._lock:
            if self._closed:
                raise ShortCodeError(
                    f"{where}: the store is closed; open a new SQLiteStore({shown(self.path)})"
                )
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise ShortCodeUnavailable(f"{where}: the database failed: {exc}") from exc

    def insert(self, link: Link) -> Insert:
        check_link("SQLiteStore.insert", link)
        with self._db("SQLiteStore.insert") as db:
            try:
                # One statement, so one atomic step for every process: the
                # links_generation_last trigger gives the row its generation inside it.
                db.execute(
                    f"INSERT INTO links ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
                    (
                        link.code,
                        link.url,
                        float(link.created_at),  # REAL: an int past 2**63 is no INTEGER
                        None if link.expires_at is None else float(link.expires_at),
                        link.clicks,
                        int(link.canonical),
                        int(link.alias),
                    ),
                )
            except sqlite3.IntegrityError:
                taken = db.execute("SELECT 1 FROM links WHERE code = ?", (link.code,)).fetchone()
                return Insert.CODE_TAKEN if taken or not link.canonical else Insert.URL_TAKEN
            return Insert.OK

    def get(self, code: str) -> Link | None:
        check_code("SQLiteStore.get", code)
        with self._db("SQLiteStore.get") as db:
            cur = db.execute(f"SELECT {_COLUMNS} FROM links WHERE code = ?", (code,))
            return _row(cur.fetchone())

    def canonical(self, url: str) -> Link | None:
        check_url("SQLiteStore.canonical", url)
        with self._db("SQLiteStore.canonical") as db:
            cur = db.execute(
                f"SELECT {_COLUMNS} FROM links WHERE url = ? AND canonical = 1", (url,)
            )
            return _row(cur.fetchone())

    def hit(self, code: str, generation: int) -> bool:
        check_code("SQLiteStore.hit", code)
        check_generation("SQLiteStore.hit", generation)
        with self._db("SQLiteStore.hit") as db:
            cur = db.execute(
                "UPDATE links SET clicks = clicks + 1 WHERE code = ? AND generation = ?",
                (code, generation),
            )
            return cur.rowcount > 0

    def delete(self, code: str) -> bool:
        check_code("SQLiteStore.delete", code)
        with self._db("SQLiteStore.delete") as db:
            return db.execute("DELETE FROM links WHERE code = ?", (code,)).rowcount > 0

    def purge_expired(self, now: float) -> int:
        _check_time("SQLiteStore.purge_expired", "now", now)
        with self._db("SQLiteStore.purge_expired") as db:
            cur = db.execute(
                "DELETE FROM links WHERE expires_at IS NOT NULL AND expires_at <= ?",
                (float(now),),
            )
            return cur.rowcount

    def __len__(self) -> int:
        with self._db("SQLiteStore.__len__") as db:
            return int(db.execute("SELECT COUNT(*) FROM links").fetchone()[0])

    def __iter__(self) -> Iterator[Link]:
        with self._db("SQLiteStore.__iter__") as db:
            rows = db.execute(f"SELECT {_COLUMNS} FROM links").fetchall()
        return (link for link in map(_row, rows) if link is not None)

    def close(self) -> None:
        """Close the connection; reopen the same path to see every link again. Closing twice
        does nothing; any other call after it raises ``ShortCodeError``."""
        with self._lock:
            self._closed = True
            self._conn.close()
