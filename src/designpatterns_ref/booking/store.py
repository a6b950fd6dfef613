"""The booking family's databases: SQLite (the embedded default) or a real PostgreSQL.

Case study: Design a Hotel Booking System (docs/case-studies/hotel-booking.md)

One schema on both engines: ``inventory`` (rooms per hotel, room type and night: ``total``,
``booked``, ``version``), ``bookings`` (each with the name of the strategy that made it),
``rooms`` (the constraint strategy's rooms, numbered 1, 2,
... per hotel and room type, as many as the largest ``total`` offered), the per-room nights that
strategy claims (``room_nights`` with a unique (room, night) on SQLite; on PostgreSQL ``room_stays``
with a ``daterange`` and an exclusion constraint), ``holds`` and ``payments`` (keyed by idempotency
key). Each thread gets its own connection.

:class:`SQLiteStore` uses WAL mode and ``BEGIN IMMEDIATE`` for write transactions, so writers
queue for the one write lock instead of failing; :class:`PostgresStore` uses psycopg 3 at READ
COMMITTED, the strategies adding ``FOR UPDATE``, version checks or constraints as they choose.

Complexity: O(nights) rows per stay.

>>> import tempfile, os
>>> store = SQLiteStore(os.path.join(tempfile.mkdtemp(), "hotel.db"))
>>> store.add_inventory("h1", "double", date(2026, 3, 1), 3, total=5)
>>> store.query("SELECT count(*), sum(total) FROM inventory")
[(3, 15)]
"""

from __future__ import annotations

import math
import os
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from designpatterns_ref.booking._sqltext import translate
from designpatterns_ref.booking.base import (
    BookingError,
    StoreUnavailable,
    check_count,
    check_day,
    check_name,
    check_nights_fit,
)
from designpatterns_ref.errors import shown
from designpatterns_ref.sqliteconn import AutocommitConnection

__all__ = ["BookingStore", "PostgresStore", "SQLiteStore", "Tx"]

_COMMON = (
    "CREATE TABLE IF NOT EXISTS inventory (hotel TEXT NOT NULL, room_type TEXT NOT NULL, "
    "night {date} NOT NULL, total INTEGER NOT NULL CHECK (total >= 0), "
    "booked INTEGER NOT NULL DEFAULT 0, version INTEGER NOT NULL DEFAULT 0, "
    "PRIMARY KEY (hotel, room_type, night))",
    # strategy: the name of the strategy that made the booking (the one that may cancel it)
    "CREATE TABLE IF NOT EXISTS bookings (id {serial} PRIMARY KEY, hotel TEXT NOT NULL, "
    "room_type TEXT NOT NULL, check_in {date} NOT NULL, check_out {date} NOT NULL, "
    "rooms INTEGER NOT NULL, guest TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'booked', "
    "strategy TEXT NOT NULL)",
    # a type's rooms are numbered 1, 2, ... in the order they were made
    "CREATE TABLE IF NOT EXISTS rooms (id {serial} PRIMARY KEY, hotel TEXT NOT NULL, "
    "room_type TEXT NOT NULL, number INTEGER NOT NULL, UNIQUE (hotel, room_type, number))",
    "CREATE TABLE IF NOT EXISTS holds (id {serial} PRIMARY KEY, hotel TEXT NOT NULL, "
    "room_type TEXT NOT NULL, check_in {date} NOT NULL, check_out {date} NOT NULL, "
    "rooms INTEGER NOT NULL, guest TEXT NOT NULL, expires_at DOUBLE PRECISION NOT NULL, "
    "status TEXT NOT NULL DEFAULT 'held', booking_id BIGINT)",
    "CREATE TABLE IF NOT EXISTS payments (idempotency_key TEXT PRIMARY KEY, "
    "hold_id BIGINT NOT NULL, booking_id BIGINT NOT NULL, amount BIGINT NOT NULL)",
)


#: Columns added to a table after it was first released: (table, column, what it is for).
_ADDED = (
    ("rooms", "number", "the constraint strategy's per-night limit"),
    ("bookings", "strategy", "the strategy that made each booking"),
)


def _redacted(url: str) -> str:
    """``url`` for a message, its password (if any) replaced by ``***``."""
    return shown(re.sub(r"^([a-z]+://[^:/@]*):[^@/]*@", r"\1:***@", url), 120)


def _first(exc: BaseException) -> str:
    """The first line of an error's message (psycopg's run over several lines)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:  # a lone surrogate: no driver can send it
        return False
    return True


class Tx:
    """A transaction's statement runner: ``tx(sql, params)`` returns rows, ``tx.rowcount``."""

    def __init__(self, store: BookingStore, cursor: Any) -> None:
        self._store = store
        self._cur = cursor
        self.rowcount = 0

    def __call__(self, text: str, params: Sequence[Any] = ()) -> list[Any]:
        self._cur.execute(self._store._sql(text), tuple(self._store._param(p) for p in params))
        self.rowcount = self._cur.rowcount
        return [tuple(r) for r in self._cur.fetchall()] if self._cur.description else []


def _check_sql(text: object, params: object) -> None:
    if not isinstance(text, str) or not text.strip():
        raise BookingError(f"text={shown(text, 80)} must be a non-empty SQL str")
    try:
        text.encode()
    except UnicodeEncodeError:  # a lone surrogate: no driver can send it
        raise BookingError(f"text={shown(text, 80)} is not encodable as UTF-8") from None
    if not isinstance(params, list | tuple):
        raise BookingError(f"params={shown(params, 80)} must be a list or tuple of values")


class BookingStore:
    """Inventory, bookings, rooms, holds and payments in one database."""

    engine = "base"
    placeholder = "?"
    integrity_errors: tuple[type[BaseException], ...] = ()

    def __init__(self) -> None:
        self._local = threading.local()

    # --- engine specifics --------------------------------------------------------------------

    def _connect(self) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    def _ddl(self) -> list[str]:  # pragma: no cover - interface
        raise NotImplementedError

    def _begin(self, conn: Any, write: bool) -> None:
        pass

    def _param(self, value: Any) -> Any:
        return value

    def _check_params(self, params: Sequence[Any]) -> None:
        """Refuse a value the driver cannot bind, naming it (the engine's own rule)."""

    def _lost(self, conn: Any) -> bool:
        """Whether ``conn`` can no longer be used (closed by the server or the network)."""
        return False

    def night(self, value: Any) -> date:
        """A night as the database returns it (a date, or an ISO text on SQLite) as a date."""
        if isinstance(value, date) and not hasattr(value, "hour"):
            return value
        if isinstance(value, str) and len(value) == 10:
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        raise BookingError(f"night={shown(value, 80)} must be a datetime.date or YYYY-MM-DD text")

    # --- shared ----------------------------------------------------------------------------------

    def _sql(self, text: str) -> str:
        """``text`` with ``?`` placeholders as the driver wants it (quoted text kept as written)."""
        if self.placeholder == "?":
            return text
        return translate(text, "?", self.placeholder, True)

    def _conn(self) -> Any:
        """This thread's connection: made on first use, and made again once it was lost."""
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._lost(conn):
            self.close()
            conn = None
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    def _unavailable(self, conn: Any, exc: BaseException) -> None:
        """After ``exc``: if it lost the connection, drop it and raise :class:`StoreUnavailable`
        (the next call connects again); otherwise return and let ``exc`` go on."""
        if not isinstance(exc, Exception) or not self._lost(conn):
            return
        self.close()
        raise StoreUnavailable(
            f"{type(self).__name__}: the connection to the database was lost ({_first(exc)}); "
            "whatever this call was writing may or may not have committed; the next call "
            "connects again"
        ) from exc

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Tx]:
        """A transaction; ``write`` takes the write lock up front on SQLite."""
        if type(write) is not bool:
            raise BookingError(f"write={shown(write, 80)} must be True or False")
        conn = self._conn()
        try:
            tx = Tx(self, conn.cursor())
            self._begin(conn, write)
            yield tx
            conn.commit()
        except BaseException as exc:
            self._unavailable(conn, exc)
            conn.rollback()
            raise

    def statement(self, text: str, params: Sequence[Any] = ()) -> list[Any]:
        """One statement as its own transaction (autocommit on PostgreSQL); its rows.

        ``text`` uses the engine's own placeholders. On PostgreSQL it goes to psycopg as written:
        ``%s`` placeholders, and ``%%`` for a literal ``%`` anywhere, quotes included (psycopg's
        rule). On SQLite it takes ``?``, and also ``%s`` (so a PostgreSQL statement runs there):
        a ``%s`` outside quoted text and comments becomes ``?``, and a ``%s`` or ``?`` inside a
        string literal stays as written. SQL the database rejects fails with the driver's own
        error (sqlite3 or psycopg); a value in ``params`` the driver cannot bind raises
        :class:`BookingError` naming it, before anything runs.
        """
        _check_sql(text, params)
        self._check_params(params)
        conn = self._conn()
        if self.engine != "postgres":
            with self.transaction() as tx:
                return tx(translate(text, "%s", "?", False), params)
        try:
            conn.autocommit = True
            cur = conn.execute(text, tuple(self._param(p) for p in params))
            rows = [tuple(r) for r in cur.fetchall()] if cur.description else []
            conn.autocommit = False
        except BaseException as exc:
            self._unavailable(conn, exc)
            conn.autocommit = False
            raise
        return rows

    def query(self, text: str, params: Sequence[Any] = ()) -> list[Any]:
        """The rows of one read (``?`` placeholders on both engines).

        A ``?`` or ``%`` inside quoted text or a comment is left as written (``LIKE '?%'``
        means the same on both engines).

        SQL the database rejects (a syntax error, a wrong number of params) fails with the
        driver's own error (sqlite3 or psycopg); a value in ``params`` the driver cannot bind,
        as :meth:`statement`.
        """
        _check_sql(text, params)
        self._check_params(params)
        with self.transaction(write=False) as tx:
            return tx(text, params)

    def create(self) -> None:
        """Make the tables that are missing; refuse a database made by an earlier version.

        Columns added since (:data:`_ADDED`): ``rooms.number`` (the per-night limit of the
        constraint strategy) and ``bookings.strategy`` (the strategy that made a booking, the
        only one that may cancel it). A table without one raises :class:`BookingError` (make
        the database again) rather than failing later inside a booking.
        """
        with self.transaction() as tx:
            for ddl in self._ddl():
                tx(ddl)
        for table, column, why in _ADDED:
            try:
                self.query(f"SELECT {column} FROM {table} WHERE 1 = 0")
            except StoreUnavailable:
                raise
            except Exception:  # the driver's "no such column" (sqlite3 or psycopg)
                raise BookingError(
                    f"the {table} table has no {column} column ({why}): the database was made by "
                    "an earlier version of designpatterns_ref; make it again"
                ) from None

    def add_inventory(
        self,
        hotel: str,
        room_type: str,
        first: date,
        nights: int,
        *,
        total: int,
        numbered: bool = True,
    ) -> None:
        """Offer ``total`` rooms of ``room_type`` for ``nights`` nights from ``first``.

        With ``numbered`` the type's physical rooms (the constraint strategy's) are made too,
        once per hotel and room type: there are as many as the largest ``total`` ever offered,
        so offering March and then April with ``total=2`` each makes two rooms, not four.

        ``first`` is a ``datetime.date`` (a datetime is refused), ``nights`` an int in [1, 3660]
        and the last night's check-out, ``first + nights``, at most ``date.max``; anything else
        raises :class:`BookingError` and writes nothing."""
        check_name(hotel, "hotel")
        check_name(room_type, "room_type")
        check_count(nights, "nights", 1, 3660)
        check_count(total, "total", 0, 100_000)
        check_nights_fit(check_day(first, "first"), nights)
        if type(numbered) is not bool:
            raise BookingError(f"numbered={shown(numbered, 80)} must be True or False")
        try:
            self._add(hotel, room_type, first, nights, total, numbered)
        except self.integrity_errors:
            raise BookingError(
                f"add_inventory: {shown(hotel)} already offers {shown(room_type)} on some of those "
                "nights"
            ) from None

    def _add(
        self, hotel: str, room_type: str, first: date, nights: int, total: int, numbered: bool
    ) -> None:
        with self.transaction() as tx:
            for i in range(nights):
                tx(
                    "INSERT INTO inventory (hotel, room_type, night, total) VALUES (?, ?, ?, ?)",
                    (hotel, room_type, first + timedelta(days=i), total),
                )
            if numbered:
                if self.engine == "postgres":
                    # two offers of one type at once must not both count the rooms and both
                    # add the missing ones; bookings read rooms and are not blocked
                    tx("LOCK TABLE rooms IN SHARE ROW EXCLUSIVE MODE")
                (have,) = tx(
                    "SELECT coalesce(max(number), 0) FROM rooms WHERE hotel = ? AND room_type = ?",
                    (hotel, room_type),
                )[0]
                for number in range(int(have) + 1, total + 1):
                    tx(
                        "INSERT INTO rooms (hotel, room_type, number) VALUES (?, ?, ?)",
                        (hotel, room_type, number),
                    )

    def close(self) -> None:
        """Close this thread's connection (the next call on this thread opens another)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            self._local.conn = None
            conn.close()


class SQLiteStore(BookingStore):
    """One SQLite file in WAL mode; writers serialise on ``BEGIN IMMEDIATE``."""

    engine = "sqlite"
    integrity_errors = (sqlite3.IntegrityError,)

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        if not isinstance(path, str | os.PathLike) or isinstance(path, bytes):
            raise BookingError(f"path={shown(path)} must be a file path")
        self.path = os.fspath(path)
        try:
            self.create()
        except sqlite3.DatabaseError as exc:  # SQLite opens lazily: a junk file fails here
            self.close()
            raise BookingError(
                f"SQLiteStore: path={shown(self.path)} is not a usable SQLite database: {exc}"
            ) from None
        except BaseException:  # an earlier version's database: its connection closed too
            self.close()
            raise

    def _connect(self) -> Any:
        raw = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
        try:
            raw.execute("PRAGMA journal_mode=WAL")
            raw.execute("PRAGMA synchronous=NORMAL")
            raw.execute("PRAGMA busy_timeout=60000")
        except sqlite3.DatabaseError:
            raw.close()
            raise
        return AutocommitConnection(raw)

    def _ddl(self) -> list[str]:
        common = [d.format(date="TEXT", serial="INTEGER") for d in _COMMON]
        return [
            *common,
            "CREATE TABLE IF NOT EXISTS room_nights (room_id INTEGER NOT NULL, "
            "night TEXT NOT NULL, "
            "booking_id INTEGER NOT NULL, UNIQUE (room_id, night))",
            "CREATE INDEX IF NOT EXISTS room_nights_booking ON room_nights (booking_id)",
        ]

    def _begin(self, conn: Any, write: bool) -> None:
        conn.raw.execute("BEGIN IMMEDIATE" if write else "BEGIN")

    def _param(self, value: Any) -> Any:
        return value.isoformat() if isinstance(value, date) else value

    def _check_params(self, params: Sequence[Any]) -> None:
        """What sqlite3 binds: None, an int that fits SQLite's 64 bits, a finite float, a str it
        can encode, bytes; and a date (sent as ISO text). Anything else raised the driver's bare
        ``OverflowError``, ``ProgrammingError`` or ``UnicodeEncodeError``; a NaN was bound as
        NULL (a comparison with it silently matched nothing, an insert failed on NOT NULL)."""
        for i, value in enumerate(params):
            if isinstance(value, int):
                ok = -(2**63) <= value < 2**63
            elif isinstance(value, float):
                ok = math.isfinite(value)
            elif isinstance(value, str):
                ok = _encodable(value)
            else:
                ok = value is None or isinstance(value, bytes | bytearray | memoryview | date)
            if not ok:
                raise BookingError(
                    f"params[{i}]={shown(value, 80)} cannot be sent to SQLite: it takes None, an "
                    "int in [-2**63, 2**63), a finite float, a str encodable as UTF-8, bytes or a "
                    "date"
                )


class PostgresStore(BookingStore):
    """A PostgreSQL database (psycopg 3), at READ COMMITTED."""

    engine = "postgres"
    placeholder = "%s"

    def __init__(self, url: str) -> None:
        super().__init__()
        if not isinstance(url, str) or not re.match(r"postgres(ql)?://", url):
            raise BookingError(f"url={shown(url)} must be a postgresql:// URL")
        import psycopg

        self.url = url
        self.integrity_errors = (psycopg.errors.IntegrityError,)
        try:
            self.create()
        except psycopg.Error as exc:  # a server error while making the tables
            self.close()
            raise BookingError(f"PostgresStore: url={_redacted(url)}: {exc}") from None
        except BaseException:  # an earlier version's database: its connection closed too
            self.close()
            raise

    def _connect(self) -> Any:
        """A new connection; a URL psycopg refuses raises :class:`BookingError`, a server that
        cannot be reached (or has no such database) :class:`StoreUnavailable`."""
        import psycopg

        try:
            return psycopg.connect(self.url)
        except psycopg.OperationalError as exc:
            raise StoreUnavailable(
                f"PostgresStore: cannot connect to url={_redacted(self.url)}: {_first(exc)}"
            ) from None
        except psycopg.Error as exc:  # a malformed URL (an unknown parameter, ...)
            raise BookingError(
                f"PostgresStore: url={_redacted(self.url)} is not a usable PostgreSQL URL: "
                f"{_first(exc)}"
            ) from None

    def _lost(self, conn: Any) -> bool:
        return bool(conn.closed)

    def _check_params(self, params: Sequence[Any]) -> None:
        """What the store sends to PostgreSQL: None, a bool, an int, a finite float or Decimal,
        a str encodable as UTF-8 without NUL (PostgreSQL's text has none), bytes, or a date or
        datetime. Anything else raised psycopg's bare ``ProgrammingError`` or ``DataError``, or
        a ``UnicodeEncodeError``; a NaN or infinity was stored as one (as SQLite cannot)."""
        for i, value in enumerate(params):
            if isinstance(value, str):
                ok = _encodable(value) and "\x00" not in value
            elif isinstance(value, float | Decimal):
                ok = value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)
            else:
                ok = value is None or isinstance(value, int | bytes | bytearray | memoryview | date)
            if not ok:
                raise BookingError(
                    f"params[{i}]={shown(value, 80)} cannot be sent to PostgreSQL: it takes None, "
                    "an int, a finite float or Decimal, a str encodable as UTF-8 without NUL, "
                    "bytes or a date"
                )

    def _ddl(self) -> list[str]:
        common = [d.format(date="DATE", serial="BIGSERIAL") for d in _COMMON]
        return [
            *common,
            # one row per room and stay; the exclusion constraint forbids two overlapping stays in
            # one room (int4range(room, room, '[]') stands in for btree_gist's equality)
            "CREATE TABLE IF NOT EXISTS room_stays (room_id INTEGER NOT NULL, "
            "stay daterange NOT NULL, "
            "booking_id BIGINT NOT NULL, EXCLUDE USING gist "
            "(int4range(room_id, room_id, '[]') WITH &&, stay WITH &&))",
            "CREATE INDEX IF NOT EXISTS room_stays_room ON room_stays (room_id)",
            "CREATE INDEX IF NOT EXISTS room_stays_booking ON room_stays (booking_id)",
        ]
