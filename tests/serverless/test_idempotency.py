"""The idempotency layer: once per payload under real threads, expiry, crashes mid-way."""

from __future__ import annotations

import contextlib
import dis
import sqlite3
import sys
import threading
import time
from pathlib import Path
from types import CodeType, FrameType
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.serverless import (
    COMPLETED,
    INPROGRESS,
    Idempotency,
    IdempotencyFenced,
    IdempotencyInProgress,
    KeyValueTable,
    ServerlessError,
    ServerlessUnavailable,
)


def layer(clock: ManualClock, **kw: Any) -> Idempotency:
    return Idempotency(KeyValueTable(clock=clock), clock=clock, **kw)


def test_concurrent_and_repeated_invocations_book_exactly_once() -> None:
    clock = ManualClock()
    idem = layer(clock, expires_after=3600, in_progress_timeout=60)
    bookings: list[int] = []
    lock = threading.Lock()

    def book(event: dict[str, Any]) -> dict[str, Any]:
        time.sleep(0.02)  # the EHR call: long enough for the other threads to arrive
        with lock:
            bookings.append(event["call"])
            n = len(bookings)
        return {"booking": n}

    handler = idem.wrap(book)
    answers: list[Any] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        for _ in range(5):  # the queue redelivers; each redelivery retries until answered
            while True:
                try:
                    answers.append(handler({"call": 42, "patient": "p1"}))
                    break
                except IdempotencyInProgress:
                    time.sleep(0.001)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert bookings == [42]
    assert answers == [{"booking": 1}] * 40
    assert idem.executions == 1 and idem.hits == 39


def _preempting_in(filename: str) -> Any:
    """A trace function that lets other threads run (a short sleep releases the GIL) before
    every attribute store and every call made by code of ``filename``: the thread switches an
    unlucky schedule would make, made on every such step."""
    steps: dict[CodeType, dict[int, str]] = {}

    def local(frame: FrameType, event: str, _: object) -> Any:
        if event == "opcode" and steps[frame.f_code].get(frame.f_lasti) in ("STORE_ATTR", "CALL"):
            time.sleep(0.0002)
        return local

    def tracer(frame: FrameType, event: str, _: object) -> Any:
        if event != "call" or frame.f_code.co_filename != filename:
            return None
        if frame.f_code not in steps:
            steps[frame.f_code] = {i.offset: i.opname for i in dis.get_instructions(frame.f_code)}
        frame.f_trace_opcodes = True
        return local

    return tracer


def test_the_counters_are_exact_across_threads() -> None:
    """Each thread claims its own events, then repeats them: every claim is one execution and
    every repeat one hit, however the threads interleave (an unlocked ``+=`` loses some)."""
    idem = layer(ManualClock())
    threads, events = 6, 15

    def worker(n: int) -> None:
        for _ in range(2):  # claim, then repeat
            for e in range(events):
                assert idem.run(lambda ev: ev["e"], {"t": n, "e": e}) == e

    source = sys.modules[Idempotency.__module__].__file__
    assert source is not None
    threading.settrace(_preempting_in(source))
    try:
        workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
        for t in workers:
            t.start()
        for t in workers:
            t.join()
    finally:
        threading.settrace(None)  # type: ignore[arg-type]
    assert (idem.executions, idem.hits, idem.fenced) == (threads * events, threads * events, 0)


def test_an_expired_record_allows_a_new_execution() -> None:
    clock = ManualClock()
    idem = layer(clock, expires_after=100)
    runs: list[float] = []
    handler = idem.wrap(lambda e: runs.append(clock()) or len(runs))
    assert handler({"a": 1}) == 1
    clock.advance(99.9)
    assert handler({"a": 1}) == 1
    clock.advance(0.1)  # the record's expiration is now: it still protects (#expiry < :now)
    assert handler({"a": 1}) == 1
    clock.advance(0.001)  # past it: it protects no more
    assert handler({"a": 1}) == 2
    assert runs == [0.0, 100.001]


def test_an_exception_mid_way_leaves_the_record_retryable() -> None:
    clock = ManualClock()
    idem = layer(clock)
    attempts: list[int] = []

    def flaky(event: dict[str, Any]) -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("EHR dropped the connection")
        return "booked"

    handler = idem.wrap(flaky)
    with pytest.raises(ConnectionError):
        handler({"call": 1})
    assert idem.record({"call": 1}) is None
    assert handler({"call": 1}) == "booked"
    assert handler({"call": 1}) == "booked" and len(attempts) == 2


def test_a_killed_invocation_blocks_until_its_in_progress_timeout() -> None:
    clock = ManualClock()
    idem = layer(clock, in_progress_timeout=30)
    claim = idem.begin({"call": 7})  # the process dies here: no complete, no abandon
    assert claim.status == INPROGRESS
    with pytest.raises(IdempotencyInProgress):
        idem.run(lambda e: "again", {"call": 7})
    clock.advance(30)  # the in-progress expiry is now: still held (#in_progress_expiry < now)
    with pytest.raises(IdempotencyInProgress):
        idem.run(lambda e: "again", {"call": 7})
    clock.advance(0.001)
    assert idem.run(lambda e: "again", {"call": 7}) == "again"
    rec = idem.record({"call": 7})
    assert rec is not None and rec.status == COMPLETED and rec.response == "again"


@pytest.mark.parametrize("name", ["expires_after", "in_progress_timeout"])
def test_a_window_the_table_cannot_store_is_refused_at_construction(name: str) -> None:
    """now + either window must stay a TTL the table stores (<= 1e15 epoch seconds): the
    largest allowed works for a clock at today's epoch seconds; a larger one (a "never
    expire" 10**15) is refused at once, naming the parameter, not on every later call."""
    clock = ManualClock(1.8e9)
    idem = layer(clock, **{name: 1e12})
    assert idem.run(lambda e: "ok", {"call": 1}) == "ok"
    for bad in (1e12 + 1e6, 10**15):
        with pytest.raises(ServerlessError, match=f"^{name}=.*<= 1e\\+12"):
            layer(clock, **{name: bad})


@pytest.mark.parametrize("cause", ["locked", "clock"])
def test_a_response_that_cannot_be_stored_keeps_the_claim_and_says_so(
    tmp_path: Path, cause: str
) -> None:
    """Powertools' semantics: the handler ran, its response could not be stored; the caller
    gets the family's error saying so, and the record stays INPROGRESS, so a duplicate is
    refused until the in-progress timeout (not run again at once), then runs again."""
    clock = ManualClock(100.0)
    path = str(tmp_path / "t.db")
    idem = Idempotency(
        KeyValueTable(path, clock=clock, busy_timeout=0), clock=clock, in_progress_timeout=30
    )
    other = sqlite3.connect(path, isolation_level=None, timeout=0)
    calls: list[int] = []

    def handler(event: dict[str, Any]) -> str:
        calls.append(1)
        if len(calls) == 1:
            if cause == "locked":
                other.execute("BEGIN IMMEDIATE")  # another writer holds the file
            else:
                clock.advance(2e15)  # a clock reading no TTL can hold
        return "booked"

    kind = ServerlessUnavailable if cause == "locked" else ServerlessError
    with pytest.raises(kind, match="handler ran but its response could not be stored"):
        idem.run(handler, {"call": 1})
    if cause == "locked":
        other.execute("ROLLBACK")
    else:
        clock.set(110.0, allow_backwards=True)
    rec = idem.record({"call": 1})
    assert rec is not None and rec.status == INPROGRESS and calls == [1]
    with pytest.raises(IdempotencyInProgress):
        idem.run(handler, {"call": 1})
    clock.set(130.001)
    assert idem.run(handler, {"call": 1}) == "booked" and calls == [1, 1]
    other.close()


@pytest.mark.parametrize("a_ends", ["fails", "succeeds"])
def test_a_late_invocation_leaves_its_successors_record_alone(a_ends: str) -> None:
    """A outlives its in-progress timeout (slow, not dead), B takes the record over, then A
    ends: A must neither release B's record (so C would run beside B) nor complete it (so B's
    own completion would be refused)."""
    clock = ManualClock()
    idem = layer(clock, in_progress_timeout=30)
    event = {"call": 9, "patient": "p1"}
    effects: list[str] = []
    results: dict[str, Any] = {}
    a_running, a_may_end, b_running, b_may_end = (threading.Event() for _ in range(4))

    def slow_a(e: dict[str, Any]) -> str:
        effects.append("A")
        a_running.set()
        assert a_may_end.wait(10)
        if a_ends == "fails":
            raise ConnectionError("the EHR reset the connection")
        return "A booked"

    def b(e: dict[str, Any]) -> str:
        effects.append("B")
        b_running.set()
        assert b_may_end.wait(10)
        return "B booked"

    def invoke(name: str, handler: Any) -> None:
        try:
            results[name] = idem.run(handler, event)
        except Exception as exc:  # the caller's view: what run() raised
            results[name] = type(exc).__name__

    ta = threading.Thread(target=invoke, args=("A", slow_a))
    ta.start()
    assert a_running.wait(10)
    clock.advance(31)  # A is past its in-progress timeout: B may take the record over
    tb = threading.Thread(target=invoke, args=("B", b))
    tb.start()
    assert b_running.wait(10)
    a_may_end.set()
    ta.join()
    assert results["A"] == ("ConnectionError" if a_ends == "fails" else "A booked")
    rec = idem.record(event)
    assert rec is not None and rec.status == INPROGRESS  # still B's
    with pytest.raises(IdempotencyInProgress):  # C must not run while B runs
        idem.run(lambda e: effects.append("C"), event)
    b_may_end.set()
    tb.join()
    assert results["B"] == "B booked"
    assert idem.run(lambda e: effects.append("D"), event) == "B booked"
    assert effects == ["A", "B"]


def _table(store: str, tmp_path: Path, clock: ManualClock) -> KeyValueTable:
    """The table kinds the layer runs on: SQLite in memory, or in a file."""
    return KeyValueTable(":memory:" if store == "memory" else str(tmp_path / "t.db"), clock=clock)


UNSTORABLE = {
    "object": object(),
    "set": {"r1"},
    "nan": float("nan"),
    "lone surrogate": "\udc80",
    "over 256 KiB": {"note": "x" * 300_000},
}


@pytest.mark.parametrize("store", ["memory", "file"])
@pytest.mark.parametrize("response", list(UNSTORABLE), ids=list(UNSTORABLE))
def test_a_response_that_is_not_storable_keeps_the_claim_and_says_so(
    tmp_path: Path, store: str, response: str
) -> None:
    """The handler ran (the EHR booked) but its response is not JSON or is too big to store:
    as with a table failure, the record stays INPROGRESS, so a retry is refused until the
    in-progress timeout instead of booking again at once; then one retry runs."""
    clock = ManualClock(100.0)
    idem = Idempotency(_table(store, tmp_path, clock), clock=clock, in_progress_timeout=30)
    calls: list[int] = []

    def book(event: dict[str, Any]) -> Any:
        calls.append(1)
        return UNSTORABLE[response] if len(calls) == 1 else "booked"

    with pytest.raises(ServerlessError, match="handler ran but its response could not be stored"):
        idem.run(book, {"call": 1})
    for _ in range(2):  # the queue redelivers at once
        with pytest.raises(IdempotencyInProgress):
            idem.run(book, {"call": 1})
    assert calls == [1]
    rec = idem.record({"call": 1})
    assert rec is not None and rec.status == INPROGRESS and rec.in_progress_expiry == 130.0
    clock.set(130.0)
    with pytest.raises(IdempotencyInProgress):
        idem.run(book, {"call": 1})
    clock.set(130.001)
    assert idem.run(book, {"call": 1}) == "booked" and calls == [1, 1]
    assert idem.run(book, {"call": 1}) == "booked" and calls == [1, 1]


@pytest.mark.parametrize("store", ["memory", "file", "two instances on one file"])
def test_a_claim_outlives_a_shorter_replay_window(tmp_path: Path, store: str) -> None:
    """expires_after=5 with in_progress_timeout=30: while A runs, B is refused and the TTL
    sweep leaves A's record, until A's in-progress expiry; A's response, once stored, is then
    replayed for expires_after from its completion."""
    clock = ManualClock()
    table_a = _table(store, tmp_path, clock)
    table_b = table_a
    if store == "two instances on one file":
        table_b = KeyValueTable(str(tmp_path / "t.db"), clock=clock)
    a, b = (
        Idempotency(t, expires_after=5, in_progress_timeout=30, clock=clock)
        for t in (table_a, table_b)
    )
    event = {"call": 1, "patient": "p1"}
    claim = a.begin(event)
    for t in (5.001, 6.0, 29.999, 30.0):
        clock.set(t)
        assert table_b.sweep() == 0
        with pytest.raises(IdempotencyInProgress, match=r"until t=30\.0;"):
            b.run(lambda e: "B booked", event)
    assert a.complete(event, "A booked", token=claim.token).expiration == 35.0  # at t=30
    clock.set(35.0)
    assert b.run(lambda e: "B booked", event) == "A booked" and table_b.sweep() == 0
    clock.set(35.001)
    assert table_b.sweep() == 1 and b.run(lambda e: "B booked", event) == "B booked"
    assert (a.executions, b.executions, b.hits) == (1, 1, 1)


def test_key_fields_ignore_the_rest_of_the_payload() -> None:
    idem = layer(ManualClock(), key_fields=["call"])
    runs: list[int] = []
    handler = idem.wrap(lambda e: runs.append(1) or e["attempt"])
    assert handler({"call": 1, "attempt": 1}) == 1
    assert handler({"call": 1, "attempt": 2}) == 1
    assert len(runs) == 1


def test_key_fields_that_are_all_null_are_refused_not_shared() -> None:
    """Powertools treats an idempotency key whose values are all null as missing (skipped, or
    refused with ``raise_on_no_idempotency_key``): hashing it would give every such event one
    record, and the second patient the first patient's stored booking."""
    from designpatterns_ref.serverless import ServerlessError

    idem = layer(ManualClock(), key_fields=["order", "call"])
    runs: list[str] = []
    book = idem.wrap(lambda e: runs.append(e["patient"]) or {"booked_for": e["patient"]})
    for patient in ("p1", "p2"):
        with pytest.raises(ServerlessError, match="all null"):
            book({"order": None, "call": None, "patient": patient})
        with pytest.raises(ServerlessError, match="all null"):
            idem.begin({"order": None, "call": None, "patient": patient})
    assert runs == [] and len(idem.table) == 0 and idem.executions == 0
    # one key field null, the other set: a key like any other
    assert book({"order": None, "call": 7, "patient": "p3"}) == {"booked_for": "p3"}
    assert book({"order": None, "call": 8, "patient": "p4"}) == {"booked_for": "p4"}
    assert runs == ["p3", "p4"]


def test_records_expire_through_the_tables_own_ttl_attribute() -> None:
    """The record's expiration goes in the attribute the table sweeps, whatever its name."""
    from designpatterns_ref.serverless import ServerlessError

    clock = ManualClock()
    table = KeyValueTable(clock=clock, ttl_attribute="expiration")  # Powertools' default name
    idem = Idempotency(table, expires_after=60, clock=clock)
    runs: list[int] = []
    book = idem.wrap(lambda e: runs.append(1) or {"booking": len(runs)})
    assert book({"call": 1}) == book({"call": 1}) == {"booking": 1}
    rec = idem.record({"call": 1})
    assert rec is not None and rec.expiration == 60 and rec.status == COMPLETED
    clock.advance(60)
    assert table.sweep() == 0  # at the expiry instant the record still holds
    clock.advance(1)
    assert table.sweep() == 1 and len(table) == 0
    assert book({"call": 1}) == {"booking": 2}
    for clash in ("status", "token", "response", "in_progress_expiry"):
        with pytest.raises(ServerlessError, match="ttl_attribute"):
            Idempotency(KeyValueTable(ttl_attribute=clash))
    with pytest.raises(ServerlessError, match="key attribute"):
        KeyValueTable(ttl_attribute="gsi1pk")


ops = st.lists(
    st.one_of(
        st.tuples(st.just("call"), st.integers(0, 3)),
        st.tuples(st.just("crash"), st.integers(0, 3)),
        st.tuples(st.just("start"), st.integers(0, 3)),
        st.tuples(st.just("finish"), st.integers(0, 5), st.booleans()),
        st.tuples(st.just("wait"), st.sampled_from([0.0, 5.0, 29.9, 30.0, 60.0, 100.0])),
    ),
    max_size=40,
)

# A outlives its in-progress timeout, B takes over, A fails late, C arrives, B completes.
LATE_A_FAILS = [
    ("start", 0),
    ("wait", 30.0),
    ("start", 0),
    ("finish", 0, False),
    ("call", 0),
    ("finish", 0, True),
    ("call", 0),
]


#: (expires_after, in_progress_timeout): the replay window longer, shorter, equal.
WINDOWS = [(100.0, 30.0), (5.0, 30.0), (30.0, 30.0)]
LONG = WINDOWS[0]
# A claim outlives a shorter replay window: a second claim at t=10 must still be refused.
SHORT_WINDOW = [("start", 0), ("wait", 5.0), ("wait", 5.0), ("start", 0), ("call", 0)]


@settings(max_examples=90, deadline=None)
@given(steps=ops, windows=st.sampled_from(WINDOWS))
@example(steps=LATE_A_FAILS, windows=LONG)
@example(
    steps=[("finish", 0, True) if step[0] == "finish" else step for step in LATE_A_FAILS],
    windows=LONG,
)
@example(
    steps=[("start", 1), ("wait", 100.0), ("start", 1), ("finish", 0, True), ("finish", 0, True)],
    windows=LONG,
)
@example(  # at expiry
    steps=[("call", 0), ("wait", 100.0), ("call", 0), ("wait", 5.0), ("call", 0)], windows=LONG
)
@example(
    steps=[("start", 2), ("wait", 30.0), ("start", 2), ("call", 2), ("wait", 5.0), ("call", 2)],
    windows=LONG,
)
@example(steps=SHORT_WINDOW, windows=WINDOWS[1])
@example(
    steps=[*SHORT_WINDOW[:3], ("finish", 0, True), ("wait", 5.0), ("call", 0)], windows=WINDOWS[1]
)
def test_matches_a_plain_model(steps: list[tuple[Any, ...]], windows: tuple[float, float]) -> None:
    """A model of records (status, expiry, in-progress expiry, response, owner) replayed beside
    the layer, on a simulated clock. ``start`` claims a record for an invocation that keeps
    running across the following steps (or never ends: a killed one); ``finish`` ends one of
    the running invocations, which by then may have outlived its in-progress timeout and lost
    the record to a newer invocation; ``call`` and ``crash`` run a whole invocation at once.
    A claim holds for its whole in-progress timeout, whichever window is longer; a completed
    record for ``expires_after`` from its completion."""
    expires, timeout = windows
    clock = ManualClock()
    idem = layer(clock, expires_after=expires, in_progress_timeout=timeout)
    model: dict[int, tuple[str, float, float, Any, int]] = {}  # key -> record, owner id
    running: list[tuple[int, int, str]] = []  # (key, owner id, token) of started invocations
    effects: list[int] = []
    claims = 0
    for number, (op, arg, *more) in enumerate(steps):
        now = clock()
        if op == "wait":
            clock.advance(arg)
            continue
        if op == "finish":
            if not running:
                continue
            k, owner, token = running.pop(arg % len(running))
            rec = model.get(k)
            owns = rec is not None and rec[0] == "P" and rec[4] == owner
            if more[0]:
                if owns:
                    stored = idem.complete({"k": k}, owner, token=token)
                    assert stored.status == COMPLETED and stored.response == owner
                    model[k] = ("C", now + expires, now, owner, owner)
                else:
                    with pytest.raises(IdempotencyFenced):
                        idem.complete({"k": k}, owner, token=token)
            else:
                assert idem.abandon({"k": k}, token=token) is owns
                if owns:
                    del model[k]
            _same(idem, model)
            continue
        rec = model.get(arg)
        free = _powertools_claims(rec, now)
        if op == "start":
            got: Any = "blocked"
            with contextlib.suppress(IdempotencyInProgress):
                got = idem.begin({"k": arg})
            if free:
                assert got.status == INPROGRESS and got.token
                assert all(got.token != t for _, _, t in running)
                running.append((arg, number, got.token))
                model[arg] = ("P", now + max(expires, timeout), now + timeout, None, number)
                claims += 1
            elif rec is not None and rec[0] == "C":
                assert got.status == COMPLETED and got.response == rec[3]
            else:
                assert got == "blocked"
            _same(idem, model)
            continue

        def handler(e: dict[str, Any], op: str = op) -> int:
            effects.append(e["k"])
            if op == "crash":
                raise RuntimeError("crash")
            return len(effects)

        try:
            result: Any = idem.run(handler, {"k": arg})
            outcome = "ok"
        except RuntimeError:
            outcome = "crash"
        except IdempotencyInProgress:
            outcome = "blocked"
        if free:
            claims += 1
            assert effects and effects[-1] == arg
            if op == "crash":
                assert outcome == "crash"
                model.pop(arg, None)
            else:
                assert outcome == "ok"
                model[arg] = ("C", now + expires, now, result, number)
        elif rec is not None and rec[0] == "C":
            assert outcome == "ok" and result == rec[3]
        else:
            assert outcome == "blocked"
        _same(idem, model)
    assert idem.executions == claims and idem.fenced == 0


def _powertools_claims(rec: tuple[str, float, float, Any, int] | None, now: float) -> bool:
    """Whether a claim at ``now`` wins over the record ``rec`` (status "P" or "C", expiry,
    in-progress expiry, ...): Powertools' conditional put, read off its DynamoDB persistence
    layer, ``attribute_not_exists(#id) OR #expiry < :now OR (#status = :inprogress AND
    attribute_exists(#in_progress_expiry) AND #in_progress_expiry < :now_in_millis)``. Strict:
    at its expiry instant a record still holds."""
    if rec is None:  # attribute_not_exists(#id)
        return True
    status, expiry, in_progress_expiry = rec[0], rec[1], rec[2]
    if expiry < now:  # #expiry < :now
        return True
    return status == "P" and in_progress_expiry < now  # the in-progress clause


def _same(idem: Idempotency, model: dict[int, tuple[str, float, float, Any, int]]) -> None:
    """The table holds exactly the model's records."""
    for k in range(4):
        rec, want = idem.record({"k": k}), model.get(k)
        if want is None:
            assert rec is None
        else:
            assert rec is not None
            status = INPROGRESS if want[0] == "P" else COMPLETED
            assert (rec.status, rec.expiration, rec.in_progress_expiry, rec.response) == (
                status,
                *want[1:4],
            )
