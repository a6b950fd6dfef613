"""Timeout threads and nesting: one pool per guard (Retry's attempts included), and a nested
cooperative guard answers only for its own deadline."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.resilience import CallTimeout, Constant, ResilienceError, Retry, Timeout


@pytest.mark.parametrize(("workers", "calls"), [(3, 6), (None, 12)])
def test_retry_thread_mode_attempts_share_one_pool_of_timeout_workers(
    workers: int | None, calls: int
) -> None:
    stop = threading.Event()
    sized = {} if workers is None else {"timeout_workers": workers}
    retry = Retry(
        attempts=3,
        backoff=Constant(0.0),
        attempt_timeout=0.02,
        timeout_mode="thread",
        on=CallTimeout,
        **sized,  # type: ignore[arg-type]
    )
    cap = retry.timeout_workers if workers is not None else 32
    threads: set[int] = set()  # the threads that ran an attempt

    def hung() -> None:
        threads.add(threading.get_ident())
        stop.wait(30)

    try:
        for _ in range(calls):  # more attempts than workers, every one hung
            with pytest.raises(CallTimeout):
                retry.call(hung)
        assert calls * 3 > cap
        assert len(threads) == cap
        assert retry.stats().retries == calls * 2
    finally:
        stop.set()


def test_retry_refuses_a_bad_timeout_workers() -> None:
    with pytest.raises(ResilienceError, match="timeout_workers=0"):
        Retry(timeout_workers=0)


@given(
    outer=st.integers(1, 6),
    inner=st.integers(1, 6),
    took=st.integers(0, 8),
)
def test_nested_cooperative_timeouts_blame_the_guard_whose_deadline_passed(
    outer: int, inner: int, took: int
) -> None:
    clock = ManualClock(100.0)
    outer_guard, inner_guard = Timeout(outer, clock=clock), Timeout(inner, clock=clock)
    # the oracle: the earlier deadline binds; on a tie the inner guard's own deadline does
    binding = outer_guard if outer < inner else inner_guard
    seconds = min(outer, inner)
    try:
        outer_guard.call(lambda: inner_guard.call(clock.advance, took))
    except CallTimeout as exc:
        assert took > seconds
        assert f"over the {seconds}s timeout" in str(exc)
    else:
        assert took <= seconds
    expected = 1 if took > seconds else 0
    assert binding.timeouts == expected
    other = inner_guard if binding is outer_guard else outer_guard
    assert other.timeouts == 0
