"""CircuitBreaker: the state machine against a reference model, on a ManualClock."""

from __future__ import annotations

import asyncio
import math
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.resilience import (
    BreakerState,
    CallNotPermitted,
    CircuitBreaker,
    StateChange,
)
from tests.resilience.oracle import BreakerConfig, ReferenceBreaker

ALLOWED = {
    ("closed", "open"),
    ("open", "half_open"),
    ("half_open", "closed"),
    ("half_open", "open"),
}


class Slow(Exception):
    pass


def configs() -> st.SearchStrategy[BreakerConfig]:
    @st.composite
    def build(draw: st.DrawFn) -> BreakerConfig:
        kind = draw(st.sampled_from(["count", "time"]))
        size = draw(st.integers(1, 6))
        minimum = draw(st.integers(1, size if kind == "count" else 8))
        return BreakerConfig(
            window_type=kind,
            window_size=size,
            minimum_calls=minimum,
            failure_rate_threshold=draw(st.sampled_from([20.0, 50.0, 100.0, 33.3])),
            slow_call_rate_threshold=draw(st.sampled_from([50.0, 100.0])),
            slow_call_duration=draw(st.sampled_from([0.5, 1.0, math.inf])),
            wait_in_open=draw(st.sampled_from([0.0, 1.0, 2.5])),
            half_open_calls=draw(st.integers(1, 3)),
            max_wait_in_half_open=draw(st.sampled_from([0.75, 2.0, 60.0, math.inf])),
        )

    return build()


STEP = st.one_of(
    st.tuples(
        st.just("call"),
        st.sampled_from(["ok", "fail", "other", "ignored"]),
        st.sampled_from([0.0, 0.25, 0.5, 1.0]),
    ),
    st.tuples(st.just("advance"), st.just(""), st.sampled_from([0.25, 0.5, 1.0, 3.0])),
    # a call that takes its permission and never finishes (it hangs; no timeout)
    st.tuples(st.just("hang"), st.just(""), st.just(0.0)),
)


def run_call(breaker: CircuitBreaker, clock: ManualClock, kind: str, duration: float) -> bool:
    """One call that takes ``duration`` and ends as ``kind``; True if it was permitted."""

    def body() -> str:
        clock.advance(duration)
        if kind == "fail":
            raise ConnectionError("down")
        if kind == "other":
            raise ValueError("caller's mistake: counts as a success")
        if kind == "ignored":
            raise PermissionError("ignored")
        return "ok"

    try:
        breaker.call(body)
    except CallNotPermitted:
        return False
    except (ConnectionError, ValueError, PermissionError):
        pass
    return True


@settings(max_examples=300)
@given(cfg=configs(), steps=st.lists(STEP, max_size=60))
def test_breaker_equals_reference_model(
    cfg: BreakerConfig, steps: list[tuple[str, str, float]]
) -> None:
    clock = ManualClock()
    breaker = CircuitBreaker(
        **cfg.kwargs(),
        record=ConnectionError,
        ignore=PermissionError,
        clock=clock,  # type: ignore[arg-type]
    )
    changes: list[StateChange] = []
    breaker.add_listener(changes.append)
    ref = ReferenceBreaker(cfg)
    for action, kind, amount in steps:
        if action == "advance":
            clock.advance(amount)
            continue
        expected = ref.permit(clock())
        if action == "hang":
            try:
                breaker.__enter__()  # entered, never left
                permitted = True
            except CallNotPermitted:
                permitted = False
            assert permitted == expected
            assert breaker.state.value == ref.state
            continue
        permitted = run_call(breaker, clock, kind, amount)
        assert permitted == expected
        if permitted:
            ref.finish(clock(), kind, amount)
        assert breaker.state.value == ref.state
    # the state machine never skips a state, and the listeners saw every transition
    pairs = [(c.old.value, c.new.value) for c in changes]
    assert pairs == ref.transitions
    assert set(pairs) <= ALLOWED
    counted = breaker.metrics().transitions
    assert sum(counted.values()) == len(pairs)


@given(
    calls=st.integers(1, 3),
    extra=st.integers(0, 5),
)
def test_half_open_lets_exactly_the_trial_calls_through(calls: int, extra: int) -> None:
    clock = ManualClock()
    breaker = CircuitBreaker(
        window_size=2, minimum_calls=2, wait_in_open=5, half_open_calls=calls, clock=clock
    )
    for _ in range(2):
        run_call(breaker, clock, "fail", 0)
    assert breaker.state is BreakerState.OPEN
    clock.advance(5)
    admitted = 0
    for _ in range(calls + extra):
        # enter without leaving: every admitted trial call stays in flight
        try:
            breaker.__enter__()
            admitted += 1
        except CallNotPermitted:
            pass
    assert admitted == calls
    assert breaker.state is BreakerState.HALF_OPEN
    for _ in range(admitted):
        breaker.__exit__(None, None, None)  # each trial call succeeds
    assert breaker.state is BreakerState.CLOSED


def test_a_hung_trial_call_cannot_keep_the_breaker_half_open() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker(
        window_size=2, minimum_calls=2, wait_in_open=10, half_open_calls=1, clock=clock
    )
    changes: list[StateChange] = []
    breaker.add_listener(changes.append)
    for _ in range(2):
        run_call(breaker, clock, "fail", 0)
    clock.advance(10)
    breaker.__enter__()  # the only trial call hangs (no timeout): it never finishes
    clock.advance(59.5)
    assert not run_call(breaker, clock, "ok", 0)
    assert breaker.state is BreakerState.HALF_OPEN
    clock.advance(0.5)  # 60 s in half-open, the default max_wait_in_half_open
    assert not run_call(breaker, clock, "ok", 0)
    assert breaker.state is BreakerState.OPEN
    assert (changes[-1].old, changes[-1].new, changes[-1].at) == (
        BreakerState.HALF_OPEN,
        BreakerState.OPEN,
        70.0,
    )
    clock.advance(10)  # a fresh wait in open, then fresh trial calls
    assert run_call(breaker, clock, "ok", 0)
    assert breaker.state is BreakerState.CLOSED
    breaker.__exit__(None, None, None)  # the hung call returns at last: an older state's outcome
    assert breaker.state is BreakerState.CLOSED
    assert breaker.metrics().window_calls == 0


def test_opens_exactly_when_rate_passes_threshold_after_minimum() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker(
        window_size=10, minimum_calls=5, failure_rate_threshold=50, clock=clock
    )
    for kind in ["fail", "fail", "fail", "fail"]:
        run_call(breaker, clock, kind, 0)
    assert breaker.state is BreakerState.CLOSED  # 4 calls < minimum 5
    run_call(breaker, clock, "ok", 0)  # 4 of 5 failed: 80% >= 50%
    assert breaker.state is BreakerState.OPEN
    with pytest.raises(CallNotPermitted):
        breaker.call(lambda: "never runs")
    assert breaker.metrics().not_permitted == 1


def test_slow_calls_open_the_breaker() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker(
        window_size=4, minimum_calls=4, slow_call_duration=1.0, slow_call_rate_threshold=75,
        clock=clock,
    )  # fmt: skip
    for duration in (2.0, 2.0, 0.1):
        run_call(breaker, clock, "ok", duration)
    assert breaker.state is BreakerState.CLOSED
    run_call(breaker, clock, "ok", 1.5)  # 3 of 4 slow
    assert breaker.state is BreakerState.OPEN
    assert breaker.metrics().slow == 3


@pytest.mark.parametrize("kind", ["ok", "fail"])
def test_a_call_of_exactly_the_slow_duration_is_not_slow(kind: str) -> None:
    """resilience4j: slow only if the duration is strictly above slowCallDurationThreshold."""
    clock = ManualClock()
    breaker = CircuitBreaker(
        window_size=10, minimum_calls=10, slow_call_duration=1.0, clock=clock,  # type: ignore[arg-type]
        record=ConnectionError,
    )  # fmt: skip
    run_call(breaker, clock, kind, 1.0)
    assert breaker.metrics().window_slow == 0
    run_call(breaker, clock, kind, 1.0 + 2**-40)
    assert breaker.metrics().window_slow == 1
    assert breaker.metrics().slow == 1


def test_time_window_forgets_old_seconds() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker(window_type="time", window_size=2, minimum_calls=3, clock=clock)
    run_call(breaker, clock, "fail", 0)
    run_call(breaker, clock, "fail", 0)
    clock.advance(2.0)  # both failures fall out of the 2-second window
    run_call(breaker, clock, "fail", 0)
    assert breaker.metrics().window_calls == 1
    assert breaker.state is BreakerState.CLOSED


def test_decorator_context_manager_and_async() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker(window_size=2, minimum_calls=2, record=ConnectionError, clock=clock)

    @breaker
    def double(x: int) -> int:
        return 2 * x

    assert double(21) == 42
    with breaker:
        pass
    with pytest.raises(KeyError), breaker:
        raise KeyError("not recorded: counts as a success")

    @breaker
    async def fail() -> None:
        raise ConnectionError("down")

    with pytest.raises(ConnectionError):
        asyncio.run(fail())  # the window now holds ok, failed: 50% >= 50%
    assert breaker.state is BreakerState.OPEN
    with pytest.raises(CallNotPermitted), breaker:
        pass
    assert breaker.metrics().successes == 3
    breaker.reset()
    assert breaker.state is BreakerState.CLOSED


def test_counters_are_exact_under_threads() -> None:
    breaker = CircuitBreaker(window_size=50, minimum_calls=50)

    def work() -> None:
        for _ in range(2000):
            breaker.call(lambda: None)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert breaker.metrics().successes == 16_000
    assert breaker.state is BreakerState.CLOSED


@given(
    size=st.integers(1, 5),
    steps=st.lists(
        st.tuples(st.sampled_from([0, 1, 2, 3]), st.sampled_from([0.0, 0.4, 1.0, 2.5, 7.0])),
        max_size=40,
    ),
)
def test_windows_equal_brute_force(size: int, steps: list[tuple[int, float]]) -> None:
    """Both windows' totals against the outcomes kept in a plain list."""
    from designpatterns_ref.resilience.window import CountWindow, TimeWindow

    count, timed = CountWindow(size), TimeWindow(size)
    now = 0.0
    log: list[tuple[float, int]] = []
    for outcome, dt in steps:
        now += dt
        count.record(outcome, now)
        timed.record(outcome, now)
        log.append((now, outcome))
        last = log[-size:]
        recent = [o for t, o in log if math.floor(t) > math.floor(now) - size]
        for window, kept in ((count, [o for _, o in last]), (timed, recent)):
            assert window.calls == len(kept)
            assert window.failures == sum(o & 1 for o in kept)
            assert window.slow == sum(o >> 1 for o in kept)
