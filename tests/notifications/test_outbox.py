"""The outbox: a notification goes out if and only if the producer's transaction committed."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.notifications import (
    Notification,
    NotificationError,
    Outbox,
    Pipeline,
    QueueUnavailable,
)


@settings(max_examples=30, deadline=None)
@given(
    orders=st.lists(st.tuples(st.booleans(), st.integers(0, 5)), min_size=1, max_size=12),
    crash=st.integers(0, 12),
)
def test_committed_orders_notify_once_rolled_back_never(
    tmp_path_factory: pytest.TempPathFactory, orders: list[tuple[bool, int]], crash: int
) -> None:
    box = Outbox(str(tmp_path_factory.mktemp("o") / "shop.db"))
    with box.transaction() as tx:
        tx.execute("CREATE TABLE orders (id TEXT)")
    p = Pipeline()
    p.templates.add("ship", "order {id} shipped")
    p.register_user("ada")
    p.add_device("ada", "fcm", "tok")
    committed = []
    for i, (commits, _) in enumerate(orders):
        try:
            with box.transaction() as tx:
                tx.execute("INSERT INTO orders VALUES (?)", (str(i),))
                box.add(tx, key=f"ship-{i}", template="ship", users=("ada",), vars={"id": str(i)},
                        channels=("fcm",))  # fmt: skip
                if not commits:
                    raise RuntimeError("rolled back")
            committed.append(f"ship-{i}")
        except RuntimeError:
            pass
    if crash:
        with contextlib.suppress(RuntimeError):
            box.relay(p, crash_after_accept=crash)
    box.relay(p)
    p.run()
    delivered = [r.key for r in p.receipts if r.status == "delivered"]
    assert delivered == committed  # in order, each once, none of the rolled back
    rows = box.db.execute("SELECT count(*) FROM orders").fetchone()[0]
    assert rows == len(committed) and box.pending() == 0


def test_add_outside_a_transaction_is_refused(tmp_path: Path) -> None:
    box = Outbox(str(tmp_path / "x.db"))
    with pytest.raises(NotificationError):
        box.add(box.db, key="k", template="t", users=("a",))
    assert box.pending() == 0
    assert isinstance(Notification("k", "t", ("a",)), Notification)


def shop(tmp: Path, *, knows: bool = False) -> tuple[Outbox, Pipeline]:
    p = Pipeline()
    p.templates.add("shipped", "order {id} shipped")
    p.register_user("ada")
    p.add_device("ada", "fcm", "tok")
    return Outbox(str(tmp / "shop.db"), pipeline=p if knows else None), p


@settings(max_examples=25, deadline=None)
@given(
    rows=st.lists(st.sampled_from(["good", "template", "user", "vars"]), min_size=1, max_size=10),
    crash=st.integers(0, 10),
)
@example(rows=["template", "good", "good"], crash=0)  # a typo first
@example(rows=["good", "template", "good"], crash=2)  # a crash after a refused row
def test_a_row_the_pipeline_refuses_is_marked_failed_and_the_rest_relay_once(
    tmp_path_factory: pytest.TempPathFactory, rows: list[str], crash: int
) -> None:
    box, p = shop(tmp_path_factory.mktemp("o"))
    bad = {"template": {"template": "shiped"}, "user": {"users": ("nobody",)}, "vars": {"vars": {}}}
    with box.transaction() as tx:
        for i, kind in enumerate(rows):
            ok = {"key": f"o{i}", "template": "shipped", "users": ("ada",), "vars": {"id": str(i)},
                  "channels": ("fcm",)}  # fmt: skip
            box.add(tx, **{**ok, **bad.get(kind, {})})
    good = [f"o{i}" for i, kind in enumerate(rows) if kind == "good"]
    refused = [f"o{i}" for i, kind in enumerate(rows) if kind != "good"]
    if crash:
        with contextlib.suppress(RuntimeError):
            box.relay(p, crash_after_accept=crash)
    box.relay(p)
    assert box.relay(p) == 0  # nothing left: a refused row is not tried again
    p.run()
    delivered = [r.key for r in p.receipts if r.status == "delivered"]
    assert delivered == good  # in order, each once, none held back by a refused row
    assert [key for key, _ in box.failed()] == refused
    for (key, why), kind in zip(box.failed(), [k for k in rows if k != "good"], strict=True):
        assert "Pipeline.accept" in why and kind.replace("user", "nobody") in why, (key, why)
    assert box.pending() == 0


def test_relay_counts_published_rows_and_reports_the_refused_one(tmp_path: Path) -> None:
    box, p = shop(tmp_path)
    with box.transaction() as tx:
        box.add(tx, key="o1", template="shiped", users=("ada",), vars={"id": "o1"})  # a typo
        box.add(tx, key="o2", template="shipped", users=("ada",), vars={"id": "o2"},
                channels=("fcm",))  # fmt: skip
    assert box.relay(p) == 1 and box.pending() == 0 and sorted(p.keys) == ["o2"]
    ((key, why),) = box.failed()
    assert key == "o1" and "template='shiped' is not registered" in why


def test_an_outbox_that_knows_the_pipeline_refuses_the_bad_row_at_add(tmp_path: Path) -> None:
    box, p = shop(tmp_path, knows=True)
    with box.transaction() as tx:
        tx.execute("CREATE TABLE orders (id TEXT)")
    refused = pytest.raises(NotificationError, match="template='shiped' is not registered")
    with refused, box.transaction() as tx:
        tx.execute("INSERT INTO orders VALUES ('o1')")
        box.add(tx, key="o1", template="shiped", users=("ada",), vars={"id": "o1"})
    assert box.db.execute("SELECT count(*) FROM orders").fetchone()[0] == 0  # rolled back
    assert box.pending() == 0 and box.failed() == []
    with box.transaction() as tx:
        box.add(tx, key="o2", template="shipped", users=("ada",), vars={"id": "o2"})
    assert box.relay(p) == 1


def test_an_outbox_from_before_the_failed_column_opens_and_relays(tmp_path: Path) -> None:
    import sqlite3

    path = str(tmp_path / "old.db")
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE outbox (id INTEGER PRIMARY KEY, key TEXT UNIQUE, body TEXT, "
               "published INTEGER NOT NULL DEFAULT 0)")  # fmt: skip
    body = '{"template": "x", "users": ["ada"], "vars": {}, "channels": ["fcm"], "lane": "normal"}'
    db.execute("INSERT INTO outbox (key, body) VALUES ('old', ?)", (body,))
    db.commit()
    db.close()
    box, p = shop(tmp_path)
    box.close()
    box = Outbox(path)
    assert box.pending() == 1
    assert box.relay(p) == 0 and [k for k, _ in box.failed()] == ["old"]


@settings(max_examples=15, deadline=None)
@given(extra=st.sampled_from(["city", "name", "x1"]), locale=st.sampled_from(["de", "fr"]))
@example(extra="city", locale="de")
def test_replaying_an_accepted_row_after_a_template_change_is_a_no_op(
    tmp_path_factory: pytest.TempPathFactory, extra: str, locale: str
) -> None:
    p = Pipeline()
    p.templates.add("shipped", "Order {id} shipped")
    p.register_user("ada")
    p.add_device("ada", "fcm", "tok")
    box = Outbox(str(tmp_path_factory.mktemp("o") / "shop.db"))
    with box.transaction() as tx:
        box.add(tx, key="order-o1", template="shipped", users=("ada",), vars={"id": "o1"},
                channels=("fcm",))  # fmt: skip
    with contextlib.suppress(RuntimeError):
        box.relay(p, crash_after_accept=1)  # accepted, not marked
    # a translation gains a field (ada reads English, so the queued item still renders)
    p.templates.add("shipped", f"Order {{id}} to {{{extra}}}", locale=locale)
    assert box.relay(p) == 1
    assert box.failed() == [] and box.pending() == 0
    p.run()
    assert [r.key for r in p.receipts if r.status == "delivered"] == ["order-o1"]
    # a new key still meets the new template's checks
    with pytest.raises(NotificationError):
        p.accept(Notification("order-o2", "shipped", ("ada",), {"id": "o2"}, ("fcm",)))


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@settings(max_examples=60, deadline=None)
@given(
    user=st.text(max_size=4),
    var=st.text(max_size=4),
    channel=st.text(max_size=4),
)
@example(user="ada", var="\ud800", channel="fcm")  # a lone surrogate: JSON escapes it
def test_add_refuses_exactly_the_text_utf8_cannot_hold(
    tmp_path_factory: pytest.TempPathFactory, user: str, var: str, channel: str
) -> None:
    """The check encoded ``json.dumps`` output, whose escapes are always ASCII: a lone
    surrogate was written into the outbox, and the relay failed on it."""
    box = Outbox(str(tmp_path_factory.mktemp("utf8") / "o.db"))
    ok = all(map(_utf8, (user, var, channel)))  # the oracle
    with box.transaction() as tx:
        if ok:
            box.add(tx, key="k", template="t", users=(user,), vars={"v": var}, channels=(channel,))
        else:
            with pytest.raises(NotificationError, match="not valid UTF-8"):
                box.add(tx, key="k", template="t", users=(user,), vars={"v": var},
                        channels=(channel,))  # fmt: skip
    assert box.pending() == (1 if ok else 0)
    box.close()


def test_a_closed_outbox_raises_queue_unavailable(tmp_path: Path) -> None:
    from designpatterns_ref.notifications import QueueUnavailable

    box, p = shop(tmp_path)
    box.close()
    for call in (box.pending, box.failed, lambda: box.relay(p), box.transaction().__enter__):
        with pytest.raises(QueueUnavailable, match=r"Outbox\.\w+: .*shop\.db"):
            call()


def test_an_outbox_whose_upgrade_fails_is_refused_and_closed(tmp_path: Path) -> None:
    """The ``error`` column was added outside the setup's error mapping: a file whose
    ``outbox`` cannot take it (here a view) raised a bare sqlite3 error, connection open."""
    import sqlite3

    path = tmp_path / "view.db"
    db = sqlite3.connect(path)
    db.execute("CREATE VIEW outbox AS SELECT 1 AS id, 'k' AS key, '{}' AS body, 0 AS published")
    db.commit()
    db.close()
    with pytest.raises(NotificationError, match=r"Outbox: path=.*not a usable database"):
        Outbox(str(path))
    handles = 0
    for fd in os.listdir("/proc/self/fd") if os.path.isdir("/proc/self/fd") else []:
        with contextlib.suppress(OSError):
            handles += os.readlink(f"/proc/self/fd/{fd}") == str(path)
    assert handles == 0


def _shop(tmp_path: Path) -> tuple[Outbox, Pipeline]:
    box = Outbox(str(tmp_path / "shop.db"))
    box.db.execute("PRAGMA busy_timeout = 50")
    p = Pipeline()
    p.templates.add("ship", "order {id} shipped")
    p.register_user("ada")
    p.add_device("ada", "fcm", "tok")
    return box, p


def _add(box: Outbox, tx: sqlite3.Connection, i: int) -> None:
    box.add(tx, key=f"ship-{i}", template="ship", users=("ada",), vars={"id": str(i)},
            channels=("fcm",))  # fmt: skip


def test_a_commit_the_database_refuses_writes_nothing_and_ends_the_transaction(
    tmp_path: Path,
) -> None:
    box, _ = _shop(tmp_path)
    reader = sqlite3.connect(box.path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM outbox").fetchone()  # holds the file mid-read
    with (
        pytest.raises(QueueUnavailable, match="nothing of the transaction"),
        box.transaction() as tx,
    ):
        _add(box, tx, 1)
    assert not box.db.in_transaction  # the write lock is not kept
    reader.execute("COMMIT")
    assert box.pending() == 0
    with box.transaction() as tx:  # the next transaction works
        _add(box, tx, 2)
    assert box.pending() == 1
    reader.close()


def test_a_relay_that_cannot_mark_a_row_stops_unavailable_and_repeats_it_once(
    tmp_path: Path,
) -> None:
    box, p = _shop(tmp_path)
    with box.transaction() as tx:
        _add(box, tx, 1)
    other = sqlite3.connect(box.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the file
    with pytest.raises(QueueUnavailable, match=r"Outbox\.relay"):
        box.relay(p)
    other.execute("ROLLBACK")
    other.close()
    assert box.pending() == 1  # accepted, not marked
    assert box.relay(p) == 1 and box.pending() == 0
    p.run()
    assert [r.key for r in p.receipts if r.status == "delivered"] == ["ship-1"]
