"""Bad input at every public entry point: WorkflowError naming the value, nothing written."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.workflows import (
    ORDER_SPEC,
    Backoff,
    Event,
    IllegalTransition,
    Inbox,
    Machine,
    MemoryLog,
    OrderScenario,
    SQLiteLog,
    WorkflowError,
    World,
    new_order,
    order_saga,
)
from designpatterns_ref.workflows.durable import MISSING
from tests.fuzz.spec import Opaque

HOSTILE: list[Any] = [
    None,
    True,
    False,
    math.nan,
    math.inf,
    -math.inf,
    10**400,
    -1,
    "",
    "x" * 10_000,
    "\ud800",
    b"placed",
    [],
    {},
    Opaque(),
]


@pytest.mark.parametrize("value", HOSTILE, ids=repr)
def test_an_unknown_state_or_event_is_refused_and_nothing_changes(value: Any) -> None:
    if value is not None:  # None means "the initial state"
        with pytest.raises(WorkflowError):
            Machine(ORDER_SPEC, value)
    order = new_order()
    with pytest.raises(IllegalTransition) as info:
        order.fire(value)
    assert order.state == "placed"
    assert "placed" in str(info.value)
    with pytest.raises(WorkflowError):
        order.fire("accept", {"waited": value})
    assert order.state == "placed"


@pytest.mark.parametrize("state", ["delivered", "refunded"])
@pytest.mark.parametrize("event", ["accept", "cancel", "refund", "deliver", "reject"])
def test_final_states_refuse_every_event(state: str, event: str) -> None:
    order = new_order(state)
    with pytest.raises(IllegalTransition, match="allowed: none"):
        order.fire(event, {"waited": 1.0, "amount": 1, "driver": "d"})
    assert order.state == state


def _log_rows(path: Path) -> tuple[list[Any], list[Any]]:
    with sqlite3.connect(path) as conn:
        return (
            conn.execute("SELECT * FROM steps").fetchall(),
            conn.execute("SELECT * FROM outbox").fetchall(),
        )


@pytest.mark.parametrize("value", HOSTILE, ids=repr)
def test_the_sqlite_log_writes_nothing_for_bad_input(tmp_path: Path, value: Any) -> None:
    log = SQLiteLog(tmp_path / "wf.db")
    log.put("w", "do:a", 1, [Event("e1", "t", "w")])
    before = _log_rows(tmp_path / "wf.db")
    calls = [
        lambda: log.put(value, "k", 1),
        lambda: log.put("w", "k", 1, value if value != [] else None),
        lambda: log.put("w", value, 1),
        lambda: log.put("w", "k", [1, math.nan]),  # not JSON
        lambda: log.put("w", "k", 1, [Event("e2", "t", "w"), value]),
        lambda: log.put("w", "do:a", 2),  # already recorded: the first record stands
    ]
    for call in calls:
        with pytest.raises(WorkflowError):
            call()
    assert _log_rows(tmp_path / "wf.db") == before
    assert log.get("w", "do:a") == 1


@pytest.mark.parametrize("value", [None, 5, "", "\ud800", "/no/such/dir/x.db", b"x"], ids=repr)
def test_bad_paths_are_refused(tmp_path: Path, value: Any) -> None:
    for make in (
        lambda: SQLiteLog(value),
        lambda: Inbox(value),
        lambda: World(value, [], clock=ManualClock()),
    ):
        with pytest.raises(WorkflowError):
            make()


def test_a_saga_refusing_bad_input_records_nothing() -> None:
    clock = ManualClock()
    s = OrderScenario("order-1", 100, True, 1.0, True, 1, False)
    world = World(":memory:", [s], clock=clock)
    log = MemoryLog()
    saga = order_saga(world, clock=clock, log=log)
    for value in HOSTILE:
        with pytest.raises(WorkflowError):
            saga.run(value)
    with pytest.raises(WorkflowError):
        saga.run("order-1", ctx=[("a", 1)])  # type: ignore[arg-type]
    with pytest.raises(WorkflowError):
        saga.run("no-such-order")  # the world knows no such order: refused before any effect
    assert len(log) == 0
    assert world.effects() == [] and clock() == 0.0


def test_bad_scenarios_and_timers() -> None:
    for kw in ({"amount": 0}, {"amount": -5}, {"restaurant_delay": math.nan},
               {"driver_after": 0}, {"card_ok": 1}, {"order_id": ""}):  # fmt: skip
        fields: dict[str, Any] = {
            "order_id": "o",
            "amount": 1,
            "card_ok": True,
            "restaurant_delay": 1.0,
            "restaurant_accepts": True,
            "driver_after": 1,
            "kitchen_fails": False,
        }
        with pytest.raises(WorkflowError):
            OrderScenario(**{**fields, **kw})
    for kw2 in ({"base": 0}, {"factor": 0.5}, {"attempts": 0}, {"cap": math.inf}):
        with pytest.raises(WorkflowError):
            Backoff(**kw2)


@pytest.mark.parametrize("durable", [False, True], ids=["MemoryLog", "SQLiteLog"])
def test_one_put_with_two_events_of_one_id_is_refused_whole(tmp_path: Path, durable: bool) -> None:
    """Two events with the same id in one ``put``: MemoryLog kept the second and dropped the
    first in silence while SQLiteLog refused; both refuse now, and record nothing of the call."""
    log = SQLiteLog(tmp_path / "wf.db") if durable else MemoryLog()
    log.put("w", "do:a", 1, [Event("e0", "t", "w")])
    twice = [Event("e1", "t", "w"), Event("e2", "t", "w"), Event("e1", "t2", "w")]
    with pytest.raises(WorkflowError, match=r"put: event_id='e1' appears twice"):
        log.put("w", "do:b", 2, twice)
    assert log.get("w", "do:b") is MISSING
    assert [e.event_id for e in log.pending()] == ["e0"]
    log.put("w", "do:b", 2, twice[:2])  # the same call without the repeat goes through
    assert [e.event_id for e in log.pending()] == ["e0", "e1", "e2"]


def _pending_write() -> sqlite3.Connection:
    """Python's default connection (implicit transactions) with a write not yet committed."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE sent(x)")
    conn.commit()
    conn.execute("INSERT INTO sent VALUES ('setup')")
    assert conn.in_transaction
    return conn


def _send(conn: sqlite3.Connection, event: Event) -> None:
    conn.execute("INSERT INTO sent VALUES (?)", (event.event_id,))


def test_an_inbox_refuses_a_connection_with_an_open_transaction() -> None:
    """A connection with a pending write failed with a bare sqlite3.OperationalError ("cannot
    start a transaction within a transaction") in handle; the inbox could not keep its promise
    (the id and the handler's writes in one transaction of its own), so it says so, and the
    caller's pending write is left as it was."""
    conn = _pending_write()
    with pytest.raises(WorkflowError, match="Inbox: the connection has a transaction open"):
        Inbox(conn)
    assert conn.in_transaction
    assert conn.execute("SELECT x FROM sent").fetchall() == [("setup",)]
    conn.commit()
    inbox = Inbox(conn)  # no transaction open: accepted, and handle commits its own
    assert inbox.handle(Event("e1", "t", "o"), _send) is True
    assert not conn.in_transaction
    conn.execute("INSERT INTO sent VALUES ('later')")  # a write left open between two calls
    with pytest.raises(WorkflowError, match=r"Inbox\.handle: the connection has a transaction"):
        inbox.handle(Event("e2", "t", "o"), _send)
    assert conn.in_transaction and not inbox.seen("e2")
    conn.rollback()
    assert inbox.handle(Event("e2", "t", "o"), _send) is True
    assert conn.execute("SELECT x FROM sent").fetchall() == [("setup",), ("e1",), ("e2",)]
