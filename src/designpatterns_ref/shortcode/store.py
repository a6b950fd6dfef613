"""Link stores: where codes live, with a uniqueness guarantee the service relies on.

Case study: Design a URL Shortener (bit.ly) (docs/case-studies/url-shortener.md)

A store keeps :class:`Link` rows keyed by code. Its one promise is that :meth:`insert` is
atomic and refuses a code that exists (and, for a row marked ``canonical``, a URL that already
has a canonical code), returning which of the two it hit. That is what makes duplicate codes
impossible whatever the allocator does: the allocator proposes, the store decides.

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

import dataclasses
import enum
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from designpatterns_ref.shortcode.base import ShortCodeError

__all__ = ["Insert", "Link", "LinkStore", "MemoryStore", "SQLiteStore"]


@dataclass(frozen=True)
class Link:
    """One short link: its code, target, times (Unix seconds), clicks and kind.

    ``canonical`` marks the one shared code of a URL in "one code per URL" mode; ``alias``
    marks a code the user chose.
    """

    code: str
    url: str
    created_at: float
    expires_at: float | None = None
    clicks: int = 0
    canonical: bool = False
    alias: bool = False

    def expired(self, now: float) -> bool:
        """Whether the link's time to live has passed at ``now``."""
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
        """Store ``link`` unless its code (or, if canonical, its URL) is taken."""
        ...

    def get(self, code: str) -> Link | None:
        """The link with this code, or None."""
        ...

    def canonical(self, url: str) -> Link | None:
        """The canonical link of ``url``, or None."""
        ...

    def hit(self, code: str) -> None:
        """Add one click to the link with this code."""
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
        self._lock = threading.Lock()

    def insert(self, link: Link) -> Insert:
        with self._lock:
            if link.code in self._links:
                return Insert.CODE_TAKEN
            if link.canonical:
                if link.url in self._canonical:
                    return Insert.URL_TAKEN
                self._canonical[link.url] = link.code
            self._links[link.code] = link
            return Insert.OK

    def get(self, code: str) -> Link | None:
        return self._links.get(code)

    def canonical(self, url: str) -> Link | None:
        with self._lock:
            code = self._canonical.get(url)
            return None if code is None else self._links[code]

    def hit(self, code: str) -> None:
        with self._lock:
            link = self._links.get(code)
            if link is not None:
                self._links[code] = dataclasses.replace(link, clicks=link.clicks + 1)

    def delete(self, code: str) -> bool:
        with self._lock:
            link = self._links.pop(code, None)
            if link is not None and link.canonical:
                del self._canonical[link.url]
            return link is not None

    def purge_expired(self, now: float) -> int:
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
    alias      INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS links_one_code_per_url ON links (url) WHERE canonical = 1;
"""
_COLUMNS = "code, url, created_at, expires_at, clicks, canonical, alias"


def _row(row: tuple[object, ...] | None) -> Link | None:
    if row is None:
        return None
    code, url, created, expires, clicks, canonical, alias = row
    return Link(
        str(code),
        str(url),
        float(created),  # type: ignore[arg-type]
        None if expires is None else float(expires),  # type: ignore[arg-type]
        int(clicks),  # type: ignore[call-overload]
        bool(canonical),
        bool(alias),
    )


class SQLiteStore:
    """Links in a SQLite file (or ``":memory:"``): durable, unique by constraint, thread-safe."""

    def __init__(self, path: str | Path) -> None:
        if not isinstance(path, str | Path):
            raise ShortCodeError(f"SQLiteStore: path={path!r} must be a str or Path")
        self.path = str(path)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=30.0
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"

    def insert(self, link: Link) -> Insert:
        with self._lock:
            try:
                self._conn.execute(
                    f"INSERT INTO links ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        link.code,
                        link.url,
                        link.created_at,
                        link.expires_at,
                        link.clicks,
                        int(link.canonical),
                        int(link.alias),
                    ),
                )
            except sqlite3.IntegrityError:
                taken = self._conn.execute(
                    "SELECT 1 FROM links WHERE code = ?", (link.code,)
                ).fetchone()
                return Insert.CODE_TAKEN if taken or not link.canonical else Insert.URL_TAKEN
            return Insert.OK

    def get(self, code: str) -> Link | None:
        with self._lock:
            cur = self._conn.execute(f"SELECT {_COLUMNS} FROM links WHERE code = ?", (code,))
            return _row(cur.fetchone())

    def canonical(self, url: str) -> Link | None:
        with self._lock:
            cur = self._conn.execute(
                f"SELECT {_COLUMNS} FROM links WHERE url = ? AND canonical = 1", (url,)
            )
            return _row(cur.fetchone())

    def hit(self, code: str) -> None:
        with self._lock:
            self._conn.execute("UPDATE links SET clicks = clicks + 1 WHERE code = ?", (code,))

    def delete(self, code: str) -> bool:
        with self._lock:
            return self._conn.execute("DELETE FROM links WHERE code = ?", (code,)).rowcount > 0

    def purge_expired(self, now: float) -> int:
        with self._lock:
            cur = self._conn.execute(
                "DELETE FROM links WHERE expires_at IS NOT NULL AND expires_at <= ?", (now,)
            )
            return cur.rowcount

    def __len__(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM links").fetchone()[0])

    def __iter__(self) -> Iterator[Link]:
        with self._lock:
            rows = self._conn.execute(f"SELECT {_COLUMNS} FROM links").fetchall()
        return (link for link in map(_row, rows) if link is not None)

    def close(self) -> None:
        """Close the connection; reopen the same path to see every link again."""
        with self._lock:
            self._conn.close()
