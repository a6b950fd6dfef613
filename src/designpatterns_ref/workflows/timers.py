"""Timers on an injected clock: a deadline to answer by, and retries with exponential backoff.

Case study: Design a Food Delivery App (docs/case-studies/food-delivery.md)

The restaurant has five minutes to accept: :func:`wait_for` polls for an answer every
``interval`` seconds until the :class:`Deadline` passes. The driver search retries with
:class:`Backoff`: 10 s, 20 s, 40 s, ... capped, for a bounded number of attempts, so a quiet
evening does not hammer the dispatch service and a busy one gives up in bounded time. Both take
``clock=`` and ``sleep=``; with a :class:`~designpatterns_ref.clock.ManualClock` the sleep is
``clock.advance`` and a five-minute wait takes no real time. Jitter is left out on purpose here
(it would make runs differ); production backoff adds it so that retries do not synchronise.

Complexity: O(attempts) calls; O(1) memory.

>>> from designpatterns_ref.clock import ManualClock
>>> clock = ManualClock()
>>> list(Backoff(base=10, factor=2, cap=60, attempts=5).delays())
[10.0, 20.0, 40.0, 60.0]
>>> answers = iter([None, None, "d7"])
>>> retry(lambda: next(answers), Backoff(base=10, attempts=5), clock=clock, sleep=clock.advance)
('d7', 3)
>>> clock()
30.0
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from designpatterns_ref.clock import Clock, read_seconds, system_clock
from designpatterns_ref.errors import shown
from designpatterns_ref.workflows.base import (
    WorkflowError,
    WorkflowTypeError,
    check_count,
    check_seconds,
)

__all__ = ["Backoff", "Deadline", "retry", "wait_for"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Backoff:
    """``attempts`` tries; before try ``n + 1`` wait ``min(cap, base * factor**(n - 1))``."""

    base: float = 10.0
    factor: float = 2.0
    cap: float = 300.0
    attempts: int = 5

    def __post_init__(self) -> None:
        check_seconds("Backoff", "base", self.base, positive=True)
        check_seconds("Backoff", "cap", self.cap, positive=True)
        check_seconds("Backoff", "factor", self.factor)
        if self.factor < 1:
            raise WorkflowError(f"Backoff: factor={shown(self.factor)} must be at least 1")
        check_count("Backoff", "attempts", self.attempts, 1, 1000)

    def delays(self) -> Iterator[float]:
        """The waits between attempts (one fewer than ``attempts``)."""
        delay = float(self.base)
        for _ in range(self.attempts - 1):
            yield min(delay, float(self.cap))
            delay = min(delay * self.factor, float(self.cap))


class Deadline:
    """A point in time on ``clock``: ``seconds`` after it was made (``at``).

    It has :meth:`passed` once the clock reads ``at`` or later, and there is nothing more to
    wait for; an answer read by ``at`` (at ``at`` itself included) is in time, one read after
    it is late, and :func:`wait_for` returns only the former. A deadline past the largest
    float (a reading near it plus ``seconds``) would be infinite and never pass, so it is
    refused with :class:`~designpatterns_ref.workflows.base.WorkflowError`.
    """

    __slots__ = ("at", "clock", "seconds")

    def __init__(self, seconds: float, *, clock: Clock = system_clock) -> None:
        if not callable(clock):
            raise WorkflowTypeError(f"Deadline: clock={shown(clock, 80)} must be callable")
        self.clock = clock
        span = check_seconds("Deadline", "seconds", seconds)
        now = read_seconds(clock, WorkflowError, "Deadline")
        at = now + span
        if at == math.inf:  # both finite, so only the sum can overflow
            raise WorkflowError(
                f"Deadline: seconds={shown(seconds, 80)} after clock() returned {shown(now, 60)} "
                "is past the largest float; the deadline would never pass"
            )
        self.at = at
        self.seconds = span

    def elapsed(self) -> float:
        """Seconds since the deadline was made, counted from ``at``: ``seconds`` less what
        remains, or ``seconds`` plus the overrun once it has passed.

        So it is at most ``seconds`` until the deadline and at least ``seconds`` from then on,
        for every reading: a rule about the time taken (``waited <= 300``) agrees with
        :meth:`passed`. The reading less the one the deadline was made at need not: ``at`` is
        that reading plus ``seconds``, rounded, so at ``at`` itself the difference can come out
        a hair under ``seconds`` (made at 1000.1, ``at - 1000.1`` is 299.9999999999999).
        """
        now = read_seconds(self.clock, WorkflowError, "Deadline.elapsed")
        if now >= self.at:
            return self.seconds + (now - self.at)
        return self.seconds - (self.at - now)

    def remaining(self) -> float:
        """Seconds left (zero once passed)."""
        return max(0.0, self.at - read_seconds(self.clock, WorkflowError, "Deadline.remaining"))

    def passed(self) -> bool:
        """True once the clock has reached the deadline (a NaN would never reach it)."""
        return read_seconds(self.clock, WorkflowError, "Deadline.passed") >= self.at


def retry(
    attempt: Callable[[], T | None],
    backoff: Backoff,
    *,
    clock: Clock = system_clock,
    sleep: Callable[[float], object],
) -> tuple[T | None, int]:
    """Call ``attempt`` until it returns something other than ``None``, sleeping between tries.

    Returns ``(answer, attempts made)``; ``answer`` is ``None`` when every attempt came back empty.
    """
    if not callable(attempt) or not callable(sleep):
        raise WorkflowTypeError("retry: attempt and sleep must be callable")
    if not isinstance(backoff, Backoff):
        raise WorkflowTypeError(f"retry: backoff={shown(backoff, 80)} must be a Backoff")
    delays = backoff.delays()
    tries = 0
    while True:
        tries += 1
        answer = attempt()
        if answer is not None:
            return answer, tries
        delay = next(delays, None)
        if delay is None:
            return None, tries
        sleep(delay)


def wait_for(
    poll: Callable[[float], T | None],
    deadline: Deadline,
    *,
    interval: float,
    sleep: Callable[[float], object],
) -> T | None:
    """Poll ``poll(elapsed)`` every ``interval`` seconds until it answers or ``deadline`` passes.

    ``None`` means no answer was polled by the deadline. An answer counts only when the clock,
    read after the poll returned it, is not past ``deadline.at``: a sleep that overshot (as
    ``time.sleep`` may on a loaded host) or a slow poll can land the last poll after the
    deadline, and what it saw is then too late, not an answer.
    """
    step = check_seconds("wait_for", "interval", interval, positive=True)
    if not callable(poll) or not callable(sleep):
        raise WorkflowTypeError("wait_for: poll and sleep must be callable")
    if not isinstance(deadline, Deadline):
        raise WorkflowTypeError(f"wait_for: deadline={shown(deadline, 80)} must be a Deadline")
    start = read_seconds(deadline.clock, WorkflowError, "wait_for")
    while True:
        answer = poll(read_seconds(deadline.clock, WorkflowError, "wait_for") - start)
        now = read_seconds(deadline.clock, WorkflowError, "wait_for")
        if now > deadline.at:  # polled after the deadline: too late, whatever it said
            return None
        if answer is not None:
            return answer
        if now == deadline.at:  # polled at the deadline itself, with no answer
            return None
        sleep(min(step, deadline.at - now))
