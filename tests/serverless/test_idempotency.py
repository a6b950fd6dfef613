"""The idempotency layer: once per payload under real threads, expiry, crashes mid-way."""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.serverless import (
    COMPLETED,
    Idempotency,
    IdempotencyInProgress,
    KeyValueTable,
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


def test_an_expired_record_allows_a_new_execution() -> None:
    clock = ManualClock()
    idem = layer(clock, expires_after=100)
    runs: list[float] = []
    handler = idem.wrap(lambda e: runs.append(clock()) or len(runs))
    assert handler({"a": 1}) == 1
    clock.advance(99.9)
    assert handler({"a": 1}) == 1
    clock.advance(0.1)  # the record's expiration is now: it protects no more
    assert handler({"a": 1}) == 2
    assert runs == [0.0, 100.0]


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
    assert idem.begin({"call": 7}) is None  # the process dies here: no complete, no abandon
    with pytest.raises(IdempotencyInProgress):
        idem.run(lambda e: "again", {"call": 7})
    clock.advance(30)
    assert idem.run(lambda e: "again", {"call": 7}) == "again"
    rec = idem.record({"call": 7})
    assert rec is not None and rec.status == COMPLETED and rec.response == "again"


def test_a_non_json_response_is_refused_and_the_record_released() -> None:
    from designpatterns_ref.serverless import ServerlessError

    idem = layer(ManualClock())
    with pytest.raises(ServerlessError):
        idem.run(lambda e: object(), {"call": 1})
    assert idem.record({"call": 1}) is None


def test_key_fields_ignore_the_rest_of_the_payload() -> None:
    idem = layer(ManualClock(), key_fields=["call"])
    runs: list[int] = []
    handler = idem.wrap(lambda e: runs.append(1) or e["attempt"])
    assert handler({"call": 1, "attempt": 1}) == 1
    assert handler({"call": 1, "attempt": 2}) == 1
    assert len(runs) == 1


ops = st.lists(
    st.one_of(
        st.tuples(st.just("call"), st.integers(0, 3)),
        st.tuples(st.just("crash"), st.integers(0, 3)),
        st.tuples(st.just("kill"), st.integers(0, 3)),
        st.tuples(st.just("wait"), st.sampled_from([0.0, 5.0, 29.9, 30.0, 60.0, 100.0])),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(ops)
def test_matches_a_plain_model(steps: list[tuple[str, Any]]) -> None:
    """A model of records (status, expiry, in-progress expiry) replayed beside the layer."""
    expires, timeout = 100.0, 30.0
    clock = ManualClock()
    idem = layer(clock, expires_after=expires, in_progress_timeout=timeout)
    model: dict[int, tuple[str, float, float, Any]] = {}
    effects: list[int] = []
    for op, arg in steps:
        now = clock()
        if op == "wait":
            clock.advance(arg)
            continue
        rec = model.get(arg)
        free = rec is None or rec[1] <= now or (rec[0] == "P" and rec[2] <= now)
        if op == "kill":
            got = "blocked"
            with contextlib.suppress(IdempotencyInProgress):
                got = "ran" if idem.begin({"k": arg}) is None else "stored"
            if free:
                assert got == "ran"
                model[arg] = ("P", now + expires, now + timeout, None)
            else:
                assert got == ("stored" if rec and rec[0] == "C" else "blocked")
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
            assert effects and effects[-1] == arg
            if op == "crash":
                assert outcome == "crash"
                model.pop(arg, None)
            else:
                assert outcome == "ok"
                model[arg] = ("C", now + expires, now, result)
        elif rec is not None and rec[0] == "C":
            assert outcome == "ok" and result == rec[3]
        else:
            assert outcome == "blocked"
    assert idem.executions == len(effects) + _kills_that_ran(steps, expires, timeout)


def _kills_that_ran(steps: list[tuple[str, Any]], expires: float, timeout: float) -> int:
    """Replay the model alone and count the kill steps that claimed a record."""
    now = 0.0
    model: dict[int, tuple[str, float, float]] = {}
    ran = 0
    for op, arg in steps:
        if op == "wait":
            now += arg
            continue
        rec = model.get(arg)
        free = rec is None or rec[1] <= now or (rec[0] == "P" and rec[2] <= now)
        if not free:
            continue
        if op == "kill":
            ran += 1
            model[arg] = ("P", now + expires, now + timeout)
        elif op == "crash":
            model.pop(arg, None)
        else:
            model[arg] = ("C", now + expires, now)
    return ran
