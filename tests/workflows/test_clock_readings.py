"""A clock reading that is not a finite number of seconds is refused with WorkflowError: a
Deadline made on a NaN never passed (wait_for polled for ever), True passed for second 1, a
str or None failed with a bare TypeError, and the Orchestrator logged the bad times."""

from __future__ import annotations

import math
from typing import Any

import pytest

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
