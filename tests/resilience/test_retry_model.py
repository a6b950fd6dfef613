"""Retry schedules against the published formulas, replayed draw for draw.

Marc Brooker's "Exponential Backoff And Jitter" (AWS Architecture Blog, 2015), with ``k`` the
retry number from 0, ``c = min(cap, base * 2**k)`` and ``r`` one draw of ``random()``:
no jitter ``c``; full jitter ``c * r``; equal jitter ``c/2 + c/2 * r``; decorrelated jitter
``min(cap, base + (3 * sleep - base) * r)`` with ``sleep`` the last wait (``base`` at first).
A Retry seeded with ``s`` must wait exactly what the formula gives with ``random.Random(s)``,
through ``call`` and ``acall`` alike, never undercutting a ``retry_after`` hint (which then is
the last wait decorrelated jitter grows from), and the listener must see each wait.
"""

from __future__ import annotations

import asyncio
import random

from hypothesis import given
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.resilience import Retry, RetryEvent
from designpatterns_ref.resilience.backoff import (
    Constant,
    DecorrelatedJitter,
    EqualJitter,
    Exponential,
    FullJitter,
)

POLICIES = {
    "constant": Constant,
    "exponential": Exponential,
    "full": FullJitter,
    "equal": EqualJitter,
    "decorrelated": DecorrelatedJitter,
}


def published(
    kind: str, base: float, cap: float, seed: int, hints: list[float | None]
) -> list[float]:
    """The waits of ``len(hints)`` retries, written out from the formulas."""
    rng = random.Random(seed)
    sleep, waits = base, []
    for k, hint in enumerate(hints):
        c = min(cap, base * 2**k)
        if kind == "constant":
            wait = base
        elif kind == "exponential":
            wait = c
        elif kind == "full":
            wait = c * rng.random()
        elif kind == "equal":
            wait = c / 2 + c / 2 * rng.random()
        else:
            wait = min(cap, base + (3 * sleep - base) * rng.random())
        if hint is not None and hint > wait:
            wait = hint
        waits.append(wait)
        sleep = wait
    return waits


class Hinted(ConnectionError):
    def __init__(self, retry_after: float | None) -> None:
        super().__init__("busy")
        self.retry_after = retry_after


@given(
    kind=st.sampled_from(sorted(POLICIES)),
    base=st.sampled_from([0.01, 0.1, 0.5, 1.0]),
    cap=st.sampled_from([1.0, 2.0, 30.0]),
    seed=st.integers(0, 2**32),
    hints=st.lists(st.one_of(st.none(), st.sampled_from([0.05, 1.5, 7.0])), max_size=12),
    asynchronous=st.booleans(),
)
def test_waits_are_the_published_formulas_draw_for_draw(
    kind: str,
    base: float,
    cap: float,
    seed: int,
    hints: list[float | None],
    asynchronous: bool,
) -> None:
    policy = POLICIES[kind](base) if kind == "constant" else POLICIES[kind](base, cap)
    clock = ManualClock()
    slept: list[float] = []
    events: list[RetryEvent] = []

    async def asleep(seconds: float) -> None:
        slept.append(seconds)

    retry = Retry(
        attempts=len(hints) + 1,
        backoff=policy,
        seed=seed,
        clock=clock,
        sleep=slept.append,
        asleep=asleep,
    )
    retry.add_listener(events.append)
    failures = iter(hints)

    def fail() -> str:
        raise Hinted(next(failures, None))

    async def afail() -> str:
        return fail()

    try:
        if asynchronous:
            asyncio.run(retry.acall(afail))
        else:
            retry.call(fail)
    except Hinted:
        pass
    # the hint of attempt n is read when attempt n fails, before retry n (k = n - 1)
    expected = published(kind, base, cap, seed, hints)
    assert slept == expected
    assert [e.wait for e in events] == [*expected, None]
    assert [e.attempt for e in events] == list(range(1, len(hints) + 2))
    assert events[-1].reason == "attempts"
