"""Retry, backoff, budget: attempts, deadline and budget are never exceeded; waits in bounds."""

from __future__ import annotations

import asyncio
import random
from fractions import Fraction

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.resilience import (
    CallTimeout,
    Constant,
    DecorrelatedJitter,
    EqualJitter,
    Exponential,
    FullJitter,
    Retry,
    RetryBudget,
    RetryEvent,
)
from tests.resilience.oracle import ReferenceBudget

BASES = st.sampled_from([0.01, 0.1, 0.5, 1.0])
CAPS = st.sampled_from([1.0, 2.0, 30.0])


@given(base=BASES, cap=CAPS, seed=st.integers(0, 10**6), retries=st.integers(1, 40))
def test_jittered_waits_stay_within_their_formulas(
    base: float, cap: float, seed: int, retries: int
) -> None:
    rng = random.Random(seed)
    for policy in (
        Exponential(base, cap),
        FullJitter(base, cap),
        EqualJitter(base, cap),
        DecorrelatedJitter(base, cap),
    ):
        previous = policy.first
        for attempt in range(retries):
            wait = policy.delay(attempt, previous, rng)
            ceiling = min(cap, base * 2**attempt)
            low, high = policy.bounds(attempt, previous)
            assert low <= wait <= high
            # the published formulas, written out again
            if isinstance(policy, Exponential):
                assert wait == ceiling
            elif isinstance(policy, FullJitter):
                assert 0 <= wait <= ceiling
            elif isinstance(policy, EqualJitter):
                assert ceiling / 2 <= wait <= ceiling
            else:
                assert base <= wait <= min(cap, previous * 3)
            previous = wait


class Flaky:
    """Fails the first ``failures`` calls, each taking ``duration`` on the clock."""

    def __init__(self, clock: ManualClock, failures: int, duration: float = 0.0) -> None:
        self.clock, self.failures, self.duration = clock, failures, duration
        self.starts: list[float] = []

    def __call__(self) -> str:
        self.starts.append(self.clock())
        self.clock.advance(self.duration)
        if len(self.starts) <= self.failures:
            raise ConnectionError("transient")
        return "ok"


@given(
    attempts=st.integers(1, 6),
    failures=st.integers(0, 8),
    deadline=st.one_of(st.none(), st.sampled_from([0.5, 1.0, 3.0, 10.0])),
    duration=st.sampled_from([0.0, 0.2, 0.7]),
    wait=st.sampled_from([0.0, 0.3, 1.0]),
)
def test_never_exceeds_attempts_or_deadline(
    attempts: int, failures: int, deadline: float | None, duration: float, wait: float
) -> None:
    clock = ManualClock()
    flaky = Flaky(clock, failures, duration)
    events: list[RetryEvent] = []
    retry = Retry(attempts=attempts, backoff=Constant(wait), deadline=deadline, clock=clock)
    retry.add_listener(events.append)
    try:
        answer = retry.call(flaky)
    except (ConnectionError, CallTimeout):
        answer = None
    assert 1 <= len(flaky.starts) <= attempts
    if deadline is not None:
        assert all(start < deadline for start in flaky.starts)
    if answer == "ok":
        assert len(flaky.starts) == failures + 1
    else:
        assert events and events[-1].wait is None
        assert events[-1].reason in ("attempts", "deadline")
    if deadline is None:  # without a deadline the only limit is the attempts
        assert answer == "ok" or len(flaky.starts) == attempts
        assert (answer == "ok") == (failures < attempts)


def meant(x: float) -> Fraction:
    """The fraction a float ratio stands for: the one with denominator up to 1000 that
    converts to ``x`` (0.1 is 1/10, 0.3 is 3/10, 1/3 is 1/3), else the float's exact value."""
    near = Fraction(x).limit_denominator(1000)
    return near if float(near) == x else Fraction(x)


# 0.1, 0.3, 1/3 are not exact in binary: ten deposits of the float 0.1 add up to less than one
RATIOS = st.one_of(
    st.sampled_from([Fraction(0), Fraction(1, 10), Fraction(3, 10), Fraction(1, 3),
                     Fraction(2, 3), Fraction(1, 7), Fraction(1, 8), Fraction(1, 2), Fraction(1)]),
    st.integers(1, 1000).flatmap(lambda q: st.integers(1, q).map(lambda p: Fraction(p, q))),
    st.floats(0, 1, exclude_min=True).map(meant),
)  # fmt: skip
RESERVES = st.sampled_from(
    [Fraction(0), Fraction(1, 10), Fraction(1, 2), Fraction(999, 1000), Fraction(1),
     Fraction(5, 2), Fraction(4)]
)  # fmt: skip


@given(ratio=RATIOS, reserve=RESERVES, plan=st.lists(st.booleans(), max_size=80))
@example(ratio=Fraction(1, 10), reserve=Fraction(0), plan=[True, False] * 10)
@example(ratio=Fraction(3, 10), reserve=Fraction(4), plan=[False] * 4 + [True] * 10 + [False] * 3)
@example(ratio=Fraction(1, 3), reserve=Fraction(0), plan=[True] * 3 + [False])
def test_budget_equals_eager_reference_and_caps_retries(
    ratio: Fraction, reserve: Fraction, plan: list[bool]
) -> None:
    budget = RetryBudget(float(ratio), reserve=float(reserve))
    ref = ReferenceBudget(ratio, reserve)
    for is_request in plan:
        if is_request:
            budget.deposit()
            ref.deposit()
        else:
            assert budget.withdraw() == ref.withdraw()
    assert budget.retries <= reserve + ratio * budget.requests


@pytest.mark.parametrize("reserve", [0, 0.5, 0.999])
def test_a_budget_without_a_whole_reserve_still_retries_on_its_deposits(reserve: float) -> None:
    # Finagle documents minRetriesPerSec=0 (no reserve) with percentCanRetry still allowing
    # retries: a reserve under one retry must not refuse every retry whatever the ratio.
    budget = RetryBudget(1000, reserve=reserve)
    budget.deposit()
    assert budget.withdraw()
    assert not budget.withdraw()  # the cap: one retry saved up, no more
    slow = RetryBudget(0.1, reserve=reserve)
    for _ in range({0: 9, 0.5: 4, 0.999: 0}[reserve]):
        slow.deposit()
    assert not slow.withdraw()  # 0.9, 0.9 and 0.999 of a retry: not yet
    for _ in range(1000):
        slow.deposit()
    assert slow.withdraw() and not slow.withdraw()  # capped at one


@pytest.mark.parametrize(
    ("ratio", "requests", "retries"),
    [(0.1, 1000, 100), (0.05, 1000, 50), (1 / 3, 999, 333), (1 / 7, 700, 100)],
)
def test_a_budget_allows_exactly_its_ratio_of_retries(
    ratio: float, requests: int, retries: int
) -> None:
    # ten deposits of 0.1 summed in floats give 0.9999999999999999: a retry refused
    budget = RetryBudget(ratio, reserve=0)
    allowed = 0
    for _ in range(requests):
        budget.deposit()
        allowed += budget.withdraw()
    assert allowed == retries and budget.balance == 0


def test_the_balance_is_capped_at_the_reserve() -> None:
    budget = RetryBudget(0.5, reserve=3)
    for _ in range(100):
        budget.deposit()
    assert budget.balance == 3
    assert [budget.withdraw() for _ in range(4)] == [True, True, True, False]


@given(failing=st.integers(1, 60), attempts=st.integers(2, 5))
def test_retries_never_exceed_the_budget(failing: int, attempts: int) -> None:
    clock = ManualClock()
    budget = RetryBudget(0.25, reserve=2)
    retry = Retry(attempts=attempts, backoff=Constant(0.1), budget=budget, clock=clock)
    calls = 0

    def down() -> None:
        nonlocal calls
        calls += 1
        raise ConnectionError("outage")

    for _ in range(failing):
        with pytest.raises(ConnectionError):
            retry.call(down)
    extra = calls - failing
    assert extra == budget.retries == retry.stats().retries
    assert extra <= 2 + 0.25 * failing


def test_retry_after_hint_is_honoured_and_results_retried() -> None:
    clock = ManualClock()

    class Throttled(Exception):
        retry_after = 7.0

    answers: list[object] = [Throttled(), "busy", "done"]

    def call() -> object:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    retry = Retry(
        attempts=3,
        backoff=Constant(1.0),
        on=Throttled,
        on_result=lambda r: r == "busy",
        clock=clock,
    )
    assert retry.call(call) == "done"
    assert clock() == 8.0  # 7 s for the hint, then 1 s for the busy result
    # a hint past the deadline ends the retries at once
    late = Retry(attempts=5, backoff=Constant(1.0), on=Throttled, deadline=5.0, clock=clock)
    with pytest.raises(Throttled):
        late.call(lambda: (_ for _ in ()).throw(Throttled()))
    assert late.stats().gave_up["deadline"] == 1


def test_only_stated_exceptions_are_retried() -> None:
    retry = Retry(attempts=5, backoff=Constant(0), on=ConnectionError, clock=ManualClock())
    seen = []

    def bad_request() -> None:
        seen.append(1)
        raise ValueError("a bad request stays bad")

    with pytest.raises(ValueError):
        retry.call(bad_request)
    assert len(seen) == 1


def test_attempt_timeout_cuts_slow_attempts() -> None:
    clock = ManualClock()
    flaky = Flaky(clock, failures=0, duration=2.0)
    retry = Retry(attempts=2, backoff=Constant(0), attempt_timeout=1.0, clock=clock)
    with pytest.raises(CallTimeout):
        retry.call(flaky)
    assert len(flaky.starts) == 2


def test_async_retry_and_decorator() -> None:
    clock = ManualClock()
    retry = Retry(attempts=3, backoff=Exponential(1, 10), clock=clock)
    failures = [ConnectionError(), ConnectionError()]

    @retry
    async def fetch() -> str:
        if failures:
            raise failures.pop()
        return "ok"

    assert asyncio.run(fetch()) == "ok"
    assert clock() == 3.0
    assert retry.stats().successes_after_retry == 1
