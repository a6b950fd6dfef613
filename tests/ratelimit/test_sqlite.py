"""The SQLite limiters: the in-memory decisions replayed through a file, eight real processes on
one key, and a database that stays locked.

(The contract tests in test_contract.py run every SQLite limiter too.)
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from designpatterns_ref import ratelimit as rl
from designpatterns_ref.clock import ManualClock
from designpatterns_ref.ratelimit import BackendUnavailable, RateLimitError
from designpatterns_ref.ratelimit import sqlite as sq

#: name -> (in-memory class, SQLite class, positional arguments): each 5 per 2 seconds.
PAIRS: dict[str, tuple[Any, Any, tuple[Any, ...]]] = {
    "token_bucket": (rl.TokenBucket, sq.TokenBucket, (5, 2.0, 5)),
    "gcra": (rl.GCRA, sq.GCRA, (5, 2.0, 5)),
    "leaky_bucket": (rl.LeakyBucket, sq.LeakyBucket, (5, 2.0, 5)),
    "leaky_queue": (rl.LeakyBucketQueue, sq.LeakyBucketQueue, (5, 2.0, 5)),
    "fixed_window": (rl.FixedWindow, sq.FixedWindow, (5, 2.0)),
    "sliding_log": (rl.SlidingWindowLog, sq.SlidingWindowLog, (5, 2.0)),
    "sliding_counter": (rl.SlidingWindowCounter, sq.SlidingWindowCounter, (5, 2.0)),
}

steps = st.lists(
    st.tuples(
        st.sampled_from([0.0, 0.0, 0.1, 0.25, 0.4, 1.0, 2.5]),
        st.sampled_from(["a", "b", 7]),
        st.integers(1, 5),
        st.sampled_from(["allow", "allow", "peek", "reset", "reopen"]),
    ),
    max_size=40,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.sampled_from(list(PAIRS)), steps)
def test_sqlite_decides_exactly_as_memory(tmp_path: Path, name: str, plan: list[Any]) -> None:
    """Oracle: the in-memory limiter on a twin clock. "reopen" builds a new limiter object on
    the same file, as another process would: the state lives in the file, not the object."""
    memory_cls, sqlite_cls, args = PAIRS[name]
    path = tmp_path / f"{name}-{len(os.listdir(tmp_path))}.db"
    clock, twin = ManualClock(1000.0), ManualClock(1000.0)
    oracle = memory_cls(*args, clock=twin)
    limiter = sqlite_cls(path, *args, clock=clock)
    for step, key, cost, action in plan:
        clock.advance(step)
        twin.advance(step)
        if action == "reopen":
            limiter = sqlite_cls(path, *args, clock=clock)
        elif action == "reset":
            limiter.reset(key)
            oracle.reset(key)
        else:
            assert getattr(limiter, action)(key, cost) == getattr(oracle, action)(key, cost)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.sampled_from(["token_bucket", "gcra", "leaky_bucket", "leaky_queue"]),
    st.sampled_from([1e7, 3e7 / 0.7, 1e9]),
    st.lists(st.tuples(st.integers(-20, 100), st.integers(1, 20)), max_size=40),
)
def test_sqlite_decides_exactly_as_memory_at_a_high_rate_on_an_epoch_clock(
    tmp_path: Path, name: str, rate: float, plan: list[tuple[int, int]]
) -> None:
    """At ``time.time()`` and millions of units a second the clock's ulp is several units."""
    memory_cls, sqlite_cls, _ = PAIRS[name]
    path = tmp_path / f"fast-{len(os.listdir(tmp_path))}.db"
    clock = ManualClock(1.7e9)
    oracle = memory_cls(rate, 1.0, 20, clock=clock)
    limiter = sqlite_cls(path, rate, 1.0, 20, clock=clock)
    for gap, cost in plan:  # gaps in emission intervals, now and then backwards
        clock.set(clock.now + gap / rate, allow_backwards=True)
        assert limiter.allow("k", cost) == oracle.allow("k", cost), (clock.now, cost)


def test_rows_are_per_name_and_forget_idle_removes_only_idle_ones(tmp_path: Path) -> None:
    clock = ManualClock()
    a = sq.FixedWindow(tmp_path / "x.db", 2, 1.0, clock=clock, name="a")
    b = sq.FixedWindow(tmp_path / "x.db", 2, 1.0, clock=clock, name="b")
    a.allow("k", 2)
    assert b.allow("k", 2) and not a.allow("k")
    a.allow("other")
    assert a.tracked_keys() == 2 and b.tracked_keys() == 1
    assert a.forget_idle() == 0
    clock.advance(1.0)
    assert a.forget_idle() == 2 and a.tracked_keys() == 0 and b.tracked_keys() == 1


def test_concurrency_release_gives_units_back(tmp_path: Path) -> None:
    clock = ManualClock()
    cap = sq.ConcurrencyLimiter(tmp_path / "c.db", 3, lease=10.0, clock=clock)
    assert cap.allow("k", 3) and not cap.allow("k")
    cap.release("k")
    assert cap.allow("k")
    cap.release("k")
    with pytest.raises(RateLimitError, match="holds 2 live units"):
        cap.release("k", 3)
    cap.release("k", 2)
    assert cap.tracked_keys() == 0


def test_limiter_from_text_on_sqlite(tmp_path: Path) -> None:
    clock = ManualClock()
    both = sq.limiter_from_text(tmp_path / "t.db", "2/second; 3/minute", "gcra", clock=clock)
    assert [p.name for p in both.limiters] == ["gcra 2/second", "gcra 3/minute"]
    assert both.acquire("k") and both.acquire("k") and both.acquire("k")
    assert clock() == pytest.approx(0.5)
    assert not both.acquire("k", timeout=10.0)  # the minute is spent: 59.5 s to wait


# --------------------------------------------------------------------------- a locked file


def _locked(path: Path) -> sqlite3.Connection:
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    return holder


@pytest.mark.parametrize("on_error", ["deny", "allow", "raise"])
def test_a_file_locked_past_busy_timeout_follows_on_error(tmp_path: Path, on_error: str) -> None:
    path = tmp_path / "locked.db"
    clock = ManualClock()
    limiter = sq.TokenBucket(path, 1, 1.0, 1, clock=clock, busy_timeout=0.05, on_error=on_error)  # type: ignore[arg-type]
    limiter.allow("k")  # creates the file and its table: the bucket is now empty
    holder = _locked(path)
    try:
        if on_error == "raise":
            with pytest.raises(BackendUnavailable, match="SQLite"):
                limiter.allow("k")
        else:
            decision = limiter.allow("k")
            assert bool(decision) is (on_error == "allow")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert not limiter.peek("k")  # the failed decision wrote nothing


def test_a_file_that_cannot_be_opened_follows_on_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir" / "x.db"
    assert not sq.GCRA(missing, 1, on_error="deny").allow("k")
    assert sq.GCRA(missing, 1, on_error="allow").allow("k")
    with pytest.raises(BackendUnavailable):
        sq.GCRA(missing, 1, on_error="raise").allow("k")


# --------------------------------------------------------------------------- processes

PROCESSES = 8


def _hammer(
    path: str, algorithm: str, text: str, calls: int, costs: list[int], start: Any, out: Any
) -> None:
    """One process: build the limiter (time stands still at 1000 s), wait for the others, then
    ask ``calls`` times on one key; report (cost, admitted) per call, or the error that a
    backend failure raised (``on_error="raise"``: a failure must not pass for a refusal)."""
    clock = functools.partial(float, 1000.0)
    options: dict[str, Any] = {"clock": clock, "busy_timeout": 30.0, "on_error": "raise"}
    if text:
        limiter: Any = sq.limiter_from_text(path, text, algorithm, **options)
    else:
        limiter = sq.TokenBucket(path, 50, 3600.0, 50, **options)
    start.wait()
    try:
        out.put([(cost, bool(limiter.allow("shared", cost))) for cost in costs[:calls]])
    except Exception as exc:
        out.put(f"{exc!r} (caused by {exc.__cause__!r})")


def _run_processes(path: Path, algorithm: str, text: str, costs: list[list[int]]) -> list[Any]:
    context = multiprocessing.get_context("fork")
    start, out = context.Barrier(PROCESSES), context.Queue()
    workers = [
        context.Process(target=_hammer, args=(str(path), algorithm, text, len(c), c, start, out))
        for c in costs
    ]
    for w in workers:
        w.start()
    results = [out.get(timeout=120) for _ in workers]
    for w in workers:
        w.join(timeout=60)
        assert w.exitcode == 0
    failures = [r for r in results if isinstance(r, str)]
    assert not failures, failures
    return results


@pytest.mark.parametrize(
    ("algorithm", "text"),
    [("token_bucket", "37/hour"), ("sliding_log", "37/hour"), ("fixed_window", "40/hour; 37/day")],
)
def test_eight_processes_on_one_key_admit_exactly_the_limit(
    tmp_path: Path, algorithm: str, text: str
) -> None:
    """8 real processes, 12 unit requests each, at one instant: the oracle (the in-memory
    limiter given the same 96 requests) admits exactly 37, and so must the file; and each
    process, once refused, is never admitted again (nothing refills at a frozen time)."""
    results = _run_processes(tmp_path / "shared.db", algorithm, text, [[1] * 12] * PROCESSES)
    oracle = rl.limiter_from_text(text, algorithm, clock=functools.partial(float, 1000.0))
    expected = sum(bool(oracle.allow("shared")) for _ in range(12 * PROCESSES))
    assert expected == 37
    assert sum(allowed for answers in results for _, allowed in answers) == expected
    for answers in results:
        flags = [allowed for _, allowed in answers]
        assert flags == sorted(flags, reverse=True)


def test_eight_processes_with_mixed_costs_lose_no_update(tmp_path: Path) -> None:
    """Costs from 1 to 3: what was admitted plus what is left is the whole burst of 50, and no
    refusal was for a cost that still fitted in what is left at the end."""
    import random

    rng = random.Random(8)
    costs = [[rng.randint(1, 3) for _ in range(15)] for _ in range(PROCESSES)]
    path = tmp_path / "mixed.db"
    results = _run_processes(path, "", "", costs)
    spent = sum(cost for answers in results for cost, allowed in answers if allowed)
    left = sq.TokenBucket(path, 50, 3600.0, 50, clock=functools.partial(float, 1000.0))
    remaining = left.peek("shared").remaining
    assert spent + remaining == 50
    refused = [cost for answers in results for cost, allowed in answers if not allowed]
    assert all(cost > remaining for cost in refused)


def test_a_forked_child_opens_its_own_connection(tmp_path: Path) -> None:
    path = tmp_path / "fork.db"
    limiter = sq.FixedWindow(path, 3, 3600.0, clock=functools.partial(float, 5.0))
    assert limiter.allow("k")  # the parent's connection is open
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    child = context.Process(target=lambda: out.put(bool(limiter.allow("k", 2))))
    child.start()
    assert out.get(timeout=60) is True
    child.join(timeout=60)
    assert child.exitcode == 0
    assert not limiter.allow("k")  # the child's two units are in the file


def test_threads_sharing_limiters_of_one_file_admit_exactly_the_limit(tmp_path: Path) -> None:
    """Four threads, two limiter objects on one file (one connection, one lock per process)."""
    import threading

    frozen = functools.partial(float, 7.0)
    limiters = [sq.SlidingWindowLog(tmp_path / "t.db", 37, 60.0, clock=frozen) for _ in range(2)]
    admitted: list[int] = []
    start = threading.Barrier(4)

    def run(limiter: Any) -> None:
        start.wait()
        admitted.append(sum(bool(limiter.allow("k")) for _ in range(25)))

    threads = [threading.Thread(target=run, args=(limiters[i % 2],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(admitted) == 37


def test_a_transaction_refused_at_once_as_busy_starts_again_within_busy_timeout(
    tmp_path: Path,
) -> None:
    """SQLite answers SQLITE_BUSY without waiting where waiting could deadlock (several
    processes switching a new file to WAL); the limiter starts the transaction again."""
    from designpatterns_ref.ratelimit._sqlite_store import _retrying

    limiter = sq.GCRA(tmp_path / "r.db", 5, busy_timeout=5.0)
    answers = iter([sqlite3.OperationalError("database is locked")] * 3 + [None])

    def flaky() -> str:
        failure = next(answers)
        if failure is not None:
            raise failure
        return "done"

    assert _retrying(limiter, flaky) == "done"
    with pytest.raises(sqlite3.OperationalError, match="no such table"):  # not transient
        _retrying(limiter, lambda: (_ for _ in ()).throw(sqlite3.OperationalError("no such table")))
    quick = sq.GCRA(tmp_path / "r.db", 5, busy_timeout=0.01)
    with pytest.raises(sqlite3.OperationalError, match="locked"):  # past busy_timeout
        _retrying(
            quick, lambda: (_ for _ in ()).throw(sqlite3.OperationalError("database is locked"))
        )


@pytest.mark.parametrize("cls", [sq.GCRA, sq.LeakyBucketQueue])
def test_a_row_in_seconds_from_before_the_unit_count_is_met_as_a_fresh_key(
    tmp_path: Path, cls: Any
) -> None:
    """GCRA and the queue once stored a bare time in seconds: read as units, 1.7e9 seconds at
    1/3 unit a second would be a TAT years ahead. Such a row is dropped, not misread."""
    path = tmp_path / "old.db"
    clock = ManualClock(1.7e9)
    limiter = cls(path, 1, 3.0, 2, clock=clock)
    assert limiter.allow("k")  # creates the table and a row in the new form
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE ratelimit SET state = ? WHERE key = ?", ("1700000003.0", "k"))
    assert limiter.peek("k").remaining == 1  # as for a key never seen
    assert limiter.forget_idle() == 1  # and an old row counts as idle
    assert [bool(limiter.allow("k")) for _ in range(3)] == [True, True, False]
    with sqlite3.connect(path) as conn:  # the units since time zero, the form after that
        conn.execute("UPDATE ratelimit SET state = ? WHERE key = ?", ('{"units": 5.7e8}', "k"))
    assert limiter.peek("k").remaining == 1


@pytest.mark.parametrize(
    ("cls", "one", "other"),
    [
        (sq.FixedWindow, (10, 1_000_000), (10, 1_000_001)),
        (sq.TokenBucket, (100 / 3, 1.0, 10), (33.3333, 1.0, 10)),
        (sq.GCRA, (5, 0.1 + 0.2, 5), (5, 0.3, 5)),
    ],
)
def test_different_limits_never_share_a_default_name(
    tmp_path: Path, cls: Any, one: tuple[Any, ...], other: tuple[Any, ...]
) -> None:
    clock = ManualClock(1000.0)
    a = cls(tmp_path / "x.db", *one, clock=clock)
    b = cls(tmp_path / "x.db", *other, clock=clock)
    assert a.name != b.name
    while a.allow("k"):
        pass
    assert b.allow("k")  # a fresh key for b: not a's exhausted one


def test_two_algorithms_given_one_name_keep_rows_of_their_own(tmp_path: Path) -> None:
    """A row is the algorithm's and the name's: neither limiter reads the other's state."""
    clock = ManualClock(1000.0)
    bucket = sq.TokenBucket(tmp_path / "x.db", 5, 1.0, 5, clock=clock, name="api")
    log = sq.SlidingWindowLog(tmp_path / "x.db", 5, 1.0, clock=clock, name="api")
    twins = rl.TokenBucket(5, 1.0, 5, clock=clock), rl.SlidingWindowLog(5, 1.0, clock=clock)
    for limiter, twin, cost in [(bucket, twins[0], 2), (log, twins[1], 3)] * 3:
        assert limiter.allow("k", cost) == twin.allow("k", cost)
    assert bucket.tracked_keys() == log.tracked_keys() == 1


@pytest.mark.parametrize("text", ["not json", '{"tokens": 1}', "[1, 2, 3]", '"text"'])
def test_a_row_that_is_no_state_is_refused_with_rate_limit_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "x.db"
    clock = ManualClock(1000.0)
    limiter = sq.TokenBucket(path, 5, 1.0, 5, clock=clock, on_error="allow")
    assert limiter.allow("k")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE ratelimit SET state = ? WHERE key = ?", (text, "k"))
    calls = [lambda: limiter.allow("k"), lambda: limiter.peek("k")]
    if text == "not json":  # forget_idle reads every row, but only tests what idleness needs
        calls.append(limiter.forget_idle)
    for call in calls:
        with pytest.raises(RateLimitError, match="not a state of TokenBucket"):
            call()
    limiter.reset("k")
    assert limiter.allow("k").remaining == 4


@pytest.mark.parametrize("on_error", ["deny", "allow", "raise"])
def test_forget_idle_and_tracked_keys_follow_on_error(tmp_path: Path, on_error: str) -> None:
    """A file that cannot be opened, or stays locked: BackendUnavailable for "raise", else
    the bookkeeping is skipped (0), never a bare sqlite3 error."""
    missing = sq.TokenBucket(tmp_path / "no-such-dir" / "x.db", 5, on_error=on_error)  # type: ignore[arg-type]
    path = tmp_path / "locked.db"
    locked = sq.TokenBucket(path, 5, busy_timeout=0.05, on_error=on_error)  # type: ignore[arg-type]
    locked.allow("k")
    holder = _locked(path)
    try:
        # (a locked file is still read: in WAL mode a reader never waits for the writer)
        for call in (missing.forget_idle, missing.tracked_keys, locked.forget_idle):
            if on_error == "raise":
                with pytest.raises(BackendUnavailable, match="SQLite"):
                    call()
            else:
                assert call() == 0
        assert locked.tracked_keys() == 1
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert locked.tracked_keys() == 1
