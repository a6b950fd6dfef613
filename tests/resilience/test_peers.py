"""The same scenarios through pybreaker and tenacity: the same decisions where semantics match.

Where they match (and the docs page says where they do not):

- pybreaker's ``fail_max`` consecutive failures = our count window of ``fail_max`` calls with
  ``minimum_calls=fail_max`` and a 100% failure threshold; its one trial call after the reset
  timeout = ``half_open_calls=1``; its ``exclude`` (counted as successes) = exceptions outside
  our ``record``. pybreaker's clock is the wall clock, so a wait is ``half_open()`` there and a
  ManualClock step here.
- tenacity's ``stop_after_attempt`` + ``wait_exponential`` / ``wait_fixed`` +
  ``retry_if_exception_type`` / ``retry_if_result`` = our ``attempts``, ``Exponential`` /
  ``Constant``, ``on`` / ``on_result``: same attempts and the same sleeps.
"""

from __future__ import annotations

import contextlib

import pybreaker
import tenacity
from hypothesis import given
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.resilience import (
    CallNotPermitted,
    CircuitBreaker,
    Constant,
    Exponential,
    Retry,
)


def _body(kind: str, ran: list[int]) -> str:
    ran.append(1)
    if kind == "fail":
        raise ConnectionError("down")
    if kind == "other":
        raise ValueError("excluded / not recorded: a success")
    return "ok"


@given(
    fail_max=st.integers(1, 5),
    steps=st.lists(st.sampled_from(["ok", "fail", "other", "wait"]), max_size=50),
)
def test_breaker_decisions_match_pybreaker(fail_max: int, steps: list[str]) -> None:
    clock = ManualClock()
    ours = CircuitBreaker(
        window_size=fail_max,
        minimum_calls=fail_max,
        failure_rate_threshold=100,
        wait_in_open=60,
        half_open_calls=1,
        record=ConnectionError,
        clock=clock,
    )
    theirs = pybreaker.CircuitBreaker(fail_max=fail_max, reset_timeout=3600, exclude=[ValueError])
    for step in steps:
        if step == "wait":
            clock.advance(60)
            if theirs.current_state == "open":
                theirs.half_open()
            continue
        ran_ours: list[int] = []
        ran_theirs: list[int] = []
        with contextlib.suppress(CallNotPermitted, ConnectionError, ValueError):
            ours.call(_body, step, ran_ours)
        with contextlib.suppress(pybreaker.CircuitBreakerError, ConnectionError, ValueError):
            theirs.call(_body, step, ran_theirs)
        assert ran_ours == ran_theirs  # permitted by both, or refused by both
        state = ours.state.value.replace("_", "-")
        # ours stays open until a call arrives after the wait; pybreaker was moved by hand
        assert state == theirs.current_state or (state, theirs.current_state) == (
            "open",
            "half-open",
        )


@given(
    attempts=st.integers(1, 6),
    failures=st.integers(0, 7),
    policy=st.sampled_from(["fixed", "exponential"]),
)
def test_retry_matches_tenacity(attempts: int, failures: int, policy: str) -> None:
    def make() -> tuple[list[int], object]:
        ran: list[int] = []

        def flaky() -> str:
            ran.append(1)
            if len(ran) <= failures:
                raise ConnectionError("transient")
            return "ok"

        return ran, flaky

    slept_ours: list[float] = []
    backoff = Constant(0.5) if policy == "fixed" else Exponential(base=0.25, cap=2.0)
    ours = Retry(
        attempts=attempts, backoff=backoff, on=ConnectionError, clock=ManualClock(),
        sleep=slept_ours.append,
    )  # fmt: skip
    slept_theirs: list[float] = []
    wait = (
        tenacity.wait_fixed(0.5)
        if policy == "fixed"
        else tenacity.wait_exponential(multiplier=0.25, max=2.0)
    )
    theirs = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(attempts),
        wait=wait,
        retry=tenacity.retry_if_exception_type(ConnectionError),
        sleep=slept_theirs.append,
        reraise=True,
    )
    ran_ours, fn_ours = make()
    ran_theirs, fn_theirs = make()
    try:
        result_ours = ours.call(fn_ours)  # type: ignore[arg-type]
    except ConnectionError:
        result_ours = "gave up"
    try:
        result_theirs = theirs(fn_theirs)  # type: ignore[operator]
    except ConnectionError:
        result_theirs = "gave up"
    assert result_ours == result_theirs
    assert len(ran_ours) == len(ran_theirs)
    assert slept_ours == slept_theirs


@given(results=st.lists(st.sampled_from(["busy", "done"]), min_size=1, max_size=6))
def test_retry_on_result_matches_tenacity(results: list[str]) -> None:
    def make() -> tuple[list[int], object]:
        ran: list[int] = []

        def poll() -> str:
            ran.append(1)
            return results[min(len(ran), len(results)) - 1]

        return ran, poll

    ours = Retry(attempts=4, backoff=Constant(0), on_result=lambda r: r == "busy",
                 clock=ManualClock())  # fmt: skip
    theirs = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(4),
        retry=tenacity.retry_if_result(lambda r: r == "busy"),
        retry_error_callback=lambda state: state.outcome.result(),  # last result, like ours
        sleep=lambda s: None,
    )
    ran_ours, fn_ours = make()
    ran_theirs, fn_theirs = make()
    assert ours.call(fn_ours) == theirs(fn_theirs)  # type: ignore[arg-type,operator]
    assert len(ran_ours) == len(ran_theirs)
