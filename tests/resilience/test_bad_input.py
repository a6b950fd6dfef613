"""Hostile values at every public entry point: only the family's error, and nothing changed.

The entry points are the ones registered for the fuzz suite (tests/fuzz/families/resilience.py);
here each meets the fixed hostile set, and the messages are checked for naming the argument.
"""

from __future__ import annotations

import math

import pytest

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.resilience import (
    Bulkhead,
    CircuitBreaker,
    Constant,
    ResilienceError,
    Retry,
    RetryBudget,
    Timeout,
    compose,
)
from tests.fuzz.families.resilience import ENTRIES, ERRORS
from tests.fuzz.test_fuzz import HOSTILE, state_of

IDS = [entry.name for entry in ENTRIES]


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_every_entry_refuses_hostile_values_cleanly(entry: object) -> None:
    for value in HOSTILE:
        obj = entry.make() if entry.make is not None else None  # type: ignore[attr-defined]
        before = state_of(obj)
        try:
            entry.call(obj, value)  # type: ignore[attr-defined]
        except ERRORS:
            assert state_of(obj) == before, f"{entry.name}({value!r:.40}) changed the object"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("build", "named"),
    [
        (lambda: Retry(attempts=0), "attempts=0"),
        (lambda: Retry(attempts=True), "attempts=True"),
        (lambda: Retry(deadline=-1), "deadline=-1"),
        (lambda: Retry(attempt_timeout=math.nan), "attempt_timeout=nan"),
        (lambda: Retry(seed="\ud800"), "seed="),
        (lambda: CircuitBreaker(wait_in_open=-0.5), "wait_in_open=-0.5"),
        (lambda: CircuitBreaker(max_wait_in_half_open=0), "max_wait_in_half_open=0"),
        (lambda: CircuitBreaker(max_wait_in_half_open=math.nan), "max_wait_in_half_open=nan"),
        (lambda: CircuitBreaker(failure_rate_threshold=0), "failure_rate_threshold=0"),
        (lambda: CircuitBreaker(failure_rate_threshold=10**400), "failure_rate_threshold="),
        (lambda: CircuitBreaker(window_size=5, minimum_calls=6), "minimum_calls=6"),
        (lambda: CircuitBreaker(window_type="sliding"), "window_type='sliding'"),
        (lambda: CircuitBreaker(record=ValueError()), "record="),
        (lambda: Bulkhead(0), "max_concurrent=0"),
        (lambda: Bulkhead(2, max_wait=math.inf), "max_wait=inf"),
        (lambda: Timeout(0), "seconds=0"),
        (lambda: Timeout(1, mode="kill"), "mode='kill'"),
        (lambda: RetryBudget(-0.1), "ratio=-0.1"),
        (lambda: Constant(-1), "wait=-1"),
    ],
)
def test_messages_name_the_argument_and_value(build: object, named: str) -> None:
    with pytest.raises(ResilienceError, match="must") as info:
        build()  # type: ignore[operator]
    assert named in str(info.value)


def test_refused_calls_change_nothing() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker(window_size=2, minimum_calls=2, clock=clock)
    retry = Retry(attempts=3, backoff=Constant(0), budget=RetryBudget(0.5), clock=clock)
    stack = compose(retry, breaker, Bulkhead(1))
    before = (breaker.metrics(), retry.stats(), retry.budget.requests)  # type: ignore[union-attr]
    for hostile in (None, 5, "fn", b"x", [1], math.nan):
        for call in (breaker.call, retry.call, stack.call):
            with pytest.raises(ResilienceError, match="must be callable"):
                call(hostile)  # type: ignore[arg-type]
    assert (breaker.metrics(), retry.stats(), retry.budget.requests) == before  # type: ignore[union-attr]


def test_non_callable_is_refused_even_when_type_errors_are_not_retried() -> None:
    retry = Retry(attempts=3, on=ConnectionError, clock=ManualClock())
    with pytest.raises(ResilienceError, match="must be callable"):
        retry.call(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unsupported"):
        retry.call(lambda: 1 + "x")  # type: ignore[operator]


@pytest.mark.parametrize("previous", [None, "0.1", True, -1.0, math.nan, math.inf, 10**400])
@pytest.mark.parametrize("name", ["Constant", "Exponential", "FullJitter", "EqualJitter"])
def test_every_policy_refuses_a_previous_wait_that_is_no_wait(name: str, previous: object) -> None:
    """``previous`` is part of every policy's call, read by the formula or not: a bad one is
    refused by name, as DecorrelatedJitter (which reads it) refuses it."""
    import random

    from designpatterns_ref import resilience

    policy = getattr(resilience, name)()
    with pytest.raises(ResilienceError, match="previous="):
        policy.delay(0, previous, random.Random(1))
    with pytest.raises(ResilienceError, match="previous="):
        policy.bounds(0, previous)
    assert policy.bounds(0, 0.25) == policy.bounds(0, policy.first)  # a good one is not read
