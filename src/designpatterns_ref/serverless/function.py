"""A function runtime with Lambda's semantics: a concurrency limit, cold starts and timeouts.

Case study: Design a Healthcare Patient Operations Platform (Serverless)
(docs/case-studies/healthcare-serverless.md)

:meth:`Function.invoke` starts the handler on a warm instance if one is idle, else on a new one
that first pays ``cold_start`` seconds; when ``concurrency`` instances are busy the call is
throttled (Lambda's 429) and never runs. The handler returns how many simulated seconds its work
takes (or raises); work beyond ``timeout`` is cut off as a failure, and the instance is freed
at the timeout. Idle instances stay warm for ``keep_warm`` seconds. Trade-off: scaling is
instant up to the limit, but every new instance costs a cold start and the limit is shared by
every caller. O(log n) per invocation (one scheduled event).

>>> from designpatterns_ref.serverless.scheduler import Scheduler
>>> s = Scheduler(); done = []
>>> f = Function(s, lambda e: 1.0, concurrency=1, cold_start=0.5, timeout=3)
>>> f.invoke({"n": 1}, done.append), f.invoke({"n": 2}, done.append)
(True, False)
>>> _ = s.run(); [(o.ok, o.cold, o.finished) for o in done], f.throttles
([(True, True, 1.5)], 1)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from designpatterns_ref.errors import shown
from designpatterns_ref.serverless.base import (
    ServerlessError,
    ServerlessTypeError,
    check_count,
    check_seconds,
)
from designpatterns_ref.serverless.scheduler import Scheduler

__all__ = ["Function", "Outcome"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one invocation ended: ok, or the error (``timeout`` or the exception's text)."""

    event: dict[str, Any]
    ok: bool
    cold: bool
    started: float
    finished: float
    error: str = ""


class Function:
    """A function with at most ``concurrency`` instances running at once."""

    def __init__(
        self,
        scheduler: Scheduler,
        handler: Callable[[dict[str, Any]], float],
        *,
        concurrency: int = 10,
        cold_start: float = 0.5,
        timeout: float = 30.0,
        keep_warm: float = 600.0,
    ) -> None:
        if not isinstance(scheduler, Scheduler):
            raise ServerlessTypeError(f"scheduler={shown(scheduler)} must be a Scheduler")
        if not callable(handler):
            raise ServerlessTypeError(f"handler={shown(handler)} must be callable")
        self.concurrency = check_count("concurrency", concurrency, high=100_000)
        self.cold_start = check_seconds("cold_start", cold_start)
        self.timeout = check_seconds("timeout", timeout, positive=True)
        self.keep_warm = check_seconds("keep_warm", keep_warm)
        self.scheduler = scheduler
        self.handler = handler
        self.busy = 0
        self._idle: list[float] = []  # when each idle warm instance was freed
        self.invocations = 0
        self.throttles = 0
        self.cold_starts = 0
        self.timeouts = 0
        self.errors = 0
        #: When the work of the invocation being started begins (after its cold start): a
        #: handler reads it to schedule events within its own run.
        self.started_at = 0.0

    def invoke(self, event: dict[str, Any], on_done: Callable[[Outcome], object]) -> bool:
        """Start ``handler(event)``; False (throttled, nothing ran) when all instances are busy."""
        if not isinstance(event, dict):
            raise ServerlessTypeError(f"event={shown(event, 60)} must be a dict")
        if not callable(on_done):
            raise ServerlessTypeError(f"on_done={shown(on_done)} must be callable")
        now = self.scheduler()
        idle = [t for t in self._idle if now - t <= self.keep_warm]
        if self.busy >= self.concurrency:
            self._idle = idle
            self.throttles += 1
            return False
        cold = not idle
        # The latest the call can end (work is cut off at the timeout) must be a time the
        # scheduler holds: checked before any counter moves or the handler runs, so a refused
        # call changes nothing and leaves no busy instance behind.
        latest = now + (self.cold_start if cold else 0.0) + self.timeout
        if not math.isfinite(latest):
            raise ServerlessError(
                f"the call would end past the largest time: now={now:g} + cold_start="
                f"{self.cold_start if cold else 0.0:g} + timeout={self.timeout:g} is not finite"
            )
        self._idle = idle
        warm = None if cold else self._idle.pop()
        self.cold_starts += cold
        self.busy += 1
        self.invocations += 1
        start = now + (self.cold_start if cold else 0.0)
        self.started_at = start
        error = ""
        try:
            seconds = float(self.handler(event))
            if not seconds >= 0:
                raise ServerlessError(f"handler returned {shown(seconds)}, not seconds >= 0")
        except Exception as exc:  # the handler's crash is the invocation's outcome
            seconds, error = 0.0, f"{type(exc).__name__}: {exc}"
            self.errors += 1
        except BaseException:  # interrupted (Ctrl-C, exit): no invocation, the instance back
            self.busy -= 1
            self.invocations -= 1
            self.cold_starts -= cold
            if warm is not None:
                self._idle.append(warm)
            raise
        if not error and seconds > self.timeout:
            seconds, error = self.timeout, "timeout"
            self.timeouts += 1
        end = start + seconds

        def finish() -> None:
            self.busy -= 1
            self._idle.append(end)
            on_done(Outcome(event, not error, cold, start, end, error))

        self.scheduler.at(end, finish)
        return True
