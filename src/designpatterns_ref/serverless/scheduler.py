"""A small deterministic discrete-event scheduler: simulated time that jumps to the next event.

Case study: Design a Healthcare Patient Operations Platform (Serverless)
(docs/case-studies/healthcare-serverless.md)

Events are ``(time, sequence, callback)`` in a binary heap; :meth:`Scheduler.run` pops the
earliest, sets the clock to its time and calls it. Ties run in the order they were scheduled,
so a run is a pure function of its inputs. The scheduler is itself a clock (call it for the
time), so the queue, functions and table of the model read the same simulated time.
Trade-off: no processes or coroutines as in SimPy, only callbacks; the model's parts are small
state machines that schedule their own next step. Scheduling and popping cost O(log n).

>>> s = Scheduler()
>>> s.after(2.0, lambda: print("second", s()))
>>> s.after(1.0, lambda: print("first", s()))
>>> s.run()
first 1.0
second 2.0
2
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

from designpatterns_ref.errors import shown
from designpatterns_ref.serverless.base import ServerlessError, ServerlessTypeError, check_seconds

__all__ = ["Scheduler"]


class Scheduler:
    """Simulated time and a heap of pending callbacks."""

    __slots__ = ("_heap", "_now", "_seq")

    def __init__(self, start: float = 0.0) -> None:
        self._now = check_seconds("start", start)
        self._heap: list[tuple[float, int, Callable[[], object]]] = []
        self._seq = 0

    def __call__(self) -> float:
        return self._now

    @property
    def now(self) -> float:
        """The simulated time in seconds."""
        return self._now

    @property
    def pending(self) -> int:
        """How many events wait to run."""
        return len(self._heap)

    def at(self, when: float, callback: Callable[[], object]) -> None:
        """Run ``callback`` at simulated time ``when`` (not before now)."""
        t = check_seconds("when", when)
        if t < self._now:
            raise ServerlessError(f"when={shown(when)} is before the current time {self._now}")
        if not callable(callback):
            raise ServerlessTypeError(f"callback={shown(callback)} must be callable")
        heapq.heappush(self._heap, (t, self._seq, callback))
        self._seq += 1

    def after(self, delay: float, callback: Callable[[], object]) -> None:
        """Run ``callback`` ``delay`` seconds from now."""
        self.at(self._now + check_seconds("delay", delay), callback)

    def run(self, until: float | None = None) -> int:
        """Run events in time order (up to and including ``until``); return how many ran."""
        limit = None if until is None else check_seconds("until", until)
        ran = 0
        while self._heap and (limit is None or self._heap[0][0] <= limit):
            t, _, callback = heapq.heappop(self._heap)
            self._now = t
            callback()
            ran += 1
        if limit is not None and limit > self._now:
            self._now = limit
        return ran
