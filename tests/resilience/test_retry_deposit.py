"""Every call through a Retry deposits once in its budget, whatever happens, on every path.

The fast path (no deadline, no attempt timeout, no result check), the general path (a
deadline, or a result check) and ``acall`` must leave the same budget after the same
sequence of outcomes: one deposit per call that ran (a first-try success, a retried failure, a
failure that is not retried, an interrupt), one withdrawal per retry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.resilience import Retry, RetryBudget
from designpatterns_ref.resilience.backoff import Constant


class Interrupt(BaseException):
    """Not an Exception (as KeyboardInterrupt): never retried, always propagated."""


ERRORS: dict[str, type[BaseException]] = {
    "retried": ConnectionError,
    "fatal": ValueError,
    "type": TypeError,
    "interrupt": Interrupt,
}
PATHS: dict[str, dict[str, Any]] = {
    "fast": {},
    "deadline": {"deadline": 10.0**6},
    "result check": {"on_result": lambda result: False},
}
OUTCOME = st.sampled_from(["ok", *ERRORS])


def play(path: str, asynchronous: bool, calls: list[list[str]]) -> tuple[object, ...]:
    """Run each call's attempts (one outcome each, "ok" ending it); the budget and stats."""
    budget = RetryBudget(0.5, reserve=1)
    retry = Retry(
        attempts=3,
        backoff=Constant(0),
        on=ConnectionError,
        budget=budget,
        clock=ManualClock(),
        **PATHS[path],
    )
    ended: list[str] = []
    for outcomes in calls:
        answers = iter(outcomes)

        def attempt(answers: Iterator[str] = answers) -> str:
            answer = next(answers, "ok")
            if answer != "ok":
                raise ERRORS[answer](answer)
            return answer

        async def aattempt() -> str:
            return attempt()

        try:
            if asynchronous:
                ended.append(asyncio.run(retry.acall(aattempt)))
            else:
                ended.append(retry.call(attempt))
        except (Exception, Interrupt) as exc:
            ended.append(type(exc).__name__)
    return budget.requests, budget.retries, budget.refused, budget.balance, retry.stats(), ended


@settings(max_examples=60, deadline=None)
@given(calls=st.lists(st.lists(OUTCOME, max_size=4), max_size=8))
@example(calls=[["fatal"]] * 4)  # not retried at the first attempt: deposited all the same
@example(calls=[["type"], ["interrupt"], ["retried", "fatal"]])
def test_every_path_deposits_once_per_call(calls: list[list[str]]) -> None:
    reference = play("deadline", False, calls)
    assert reference[0] == len(calls)  # one deposit per call
    for path in PATHS:
        for asynchronous in (False, True):
            assert play(path, asynchronous, calls) == reference, (path, asynchronous)
