"""A clock reading that is not a finite number of seconds is refused with WorkflowError: a
Deadline made on a NaN never passed (wait_for polled for ever), True passed for second 1, a
str or None failed with a bare TypeError, and the Orchestrator logged the bad times."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.workflows import Deadline, MemoryLog, Orchestrator, Step, WorkflowError
from designpatterns_ref.workflows.durable import MISSING
from designpatterns_ref.workflows.timers import wait_for

BAD: list[Any] = [math.nan, math.inf, -math.inf, True, "1", None, 10**400]
IDS = ["nan", "inf", "-inf", "True", "str", "None", "10**400"]
CLOCK = r"clock\(\) returned"


@pytest.mark.parametrize("bad", BAD, ids=IDS)
def test_deadline_and_wait_for_refuse_a_bad_reading(bad: Any) -> None:
    now: list[Any] = [100.0]
    deadline = Deadline(5.0, clock=lambda: now[0])
    now[0] = bad
    polls: list[float] = []

    def poll(waited: float) -> None:
        polls.append(waited)
        if len(polls) > 100:
            raise AssertionError("wait_for never saw the deadline pass")

    for call in (
        deadline.remaining,
        deadline.passed,
        lambda: wait_for(poll, deadline, interval=1.0, sleep=lambda _: None),
        lambda: Deadline(5.0, clock=lambda: now[0]),
    ):
        with pytest.raises(WorkflowError, match=CLOCK):
            call()
    assert deadline.at == 105.0 and not polls


@pytest.mark.parametrize("bad", BAD, ids=IDS)
def test_orchestrator_refuses_a_bad_reading_before_a_step_runs(bad: Any) -> None:
    log = MemoryLog()
    ran: list[str] = []
    steps = [Step("charge", lambda ctx: ran.append("charge"))]
    saga = Orchestrator(steps, log=log, clock=lambda: bad)
    with pytest.raises(WorkflowError, match=CLOCK):
        saga.run("o-1")
    assert not ran and log.get("o-1", "do:charge") is MISSING


@settings(max_examples=300, deadline=None)
@given(
    now=st.floats(allow_nan=False, allow_infinity=False),
    seconds=st.floats(min_value=0.0, allow_nan=False, allow_infinity=False),
)
def test_a_deadline_past_the_largest_float_is_refused(now: float, seconds: float) -> None:
    """The oracle: a deadline is made exactly when ``now + seconds`` is a finite float (an
    infinite one would never pass); otherwise WorkflowError, naming the seconds."""
    if math.isfinite(now + seconds):
        deadline = Deadline(seconds, clock=lambda: now)
        assert deadline.at == now + seconds
    else:
        with pytest.raises(WorkflowError, match=r"seconds=.*past the largest float"):
            Deadline(seconds, clock=lambda: now)


def test_a_deadline_near_the_largest_float() -> None:
    with pytest.raises(WorkflowError, match=r"seconds=1e\+308 after clock\(\) returned 1\.7e\+308"):
        Deadline(1e308, clock=lambda: 1.7e308)
    assert Deadline(1.0, clock=lambda: 1.7e308).passed()  # absorbed: due at once, not never
