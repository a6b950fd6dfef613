"""A circuit breaker and a concurrency cap per EHR, on the simulation's clock.

Case study: Design a Healthcare Patient Operations Platform (Serverless)
(docs/case-studies/healthcare-serverless.md)

:class:`Breaker` counts consecutive failures; at ``threshold`` it opens and refuses calls for
``cool_down`` seconds, then lets one trial call through (half-open): success closes it, failure
opens it again. While open, the answers of calls let through before it opened are ignored: a
late success does not close it and a late failure does not restart the cool-down (once
half-open, the next answer counts as the trial's: the breaker does not tell calls apart).
:class:`EhrGate` puts a cap on the calls in flight to one EHR and a breaker in front of it, so
one slow EHR cannot take every function instance. (A local breaker: this family does not use the
resilience family.) O(1) per call.

>>> from designpatterns_ref.clock import ManualClock
>>> clock = ManualClock(); b = Breaker(clock, threshold=2, cool_down=10)
>>> b.failure(); b.failure(); b.state, b.allow()
('open', False)
>>> b.success(); b.state  # a call let through before it opened answers late
'open'
>>> clock.advance(10); b.allow(), b.state
(True, 'half-open')
>>> b.success(); b.state
'closed'
"""

from __future__ import annotations

from designpatterns_ref.clock import Clock, read_seconds
from designpatterns_ref.errors import shown
from designpatterns_ref.serverless.base import (
    ServerlessError,
    ServerlessTypeError,
    check_count,
    check_seconds,
)

__all__ = ["Breaker", "EhrGate"]


class Breaker:
    """Closed, open for ``cool_down`` after ``threshold`` consecutive failures, half-open."""

    def __init__(self, clock: Clock, *, threshold: int = 5, cool_down: float = 30.0) -> None:
        if not callable(clock):
            raise ServerlessTypeError(f"clock={shown(clock)} must be callable")
        self.threshold = check_count("threshold", threshold, high=10_000)
        self.cool_down = check_seconds("cool_down", cool_down)
        self.clock = clock
        self.state = "closed"
        self.failures = 0
        self.opened_at = 0.0
        self.opens = 0
        self._trial = False

    def allow(self) -> bool:
        """May a call go through now? (Half-open lets exactly one trial call through.) An open
        breaker turns half-open here, on the first call asked for after the cool-down."""
        if (
            self.state == "open"
            and read_seconds(self.clock, ServerlessError, "Breaker.allow") - self.opened_at
            >= self.cool_down
        ):
            self.state, self._trial = "half-open", False
        if self.state == "closed":
            return True
        if self.state == "half-open" and not self._trial:
            self._trial = True
            return True
        return False

    def success(self) -> None:
        """A call succeeded: close (when open, ignored: the call began before it opened)."""
        if self.state == "open":
            return
        self.state, self.failures, self._trial = "closed", 0, False

    def failure(self) -> None:
        """A call failed: open at the threshold, or at once when half-open (when open,
        ignored: the call began before it opened, and the cool-down runs as it was)."""
        if self.state == "open":
            return
        failures = self.failures + 1
        if self.state == "half-open" or failures >= self.threshold:
            now = read_seconds(self.clock, ServerlessError, "Breaker.failure")  # before changes
            self.opens += 1
            self.state, self.opened_at, self._trial = "open", now, False
        self.failures = failures


class EhrGate:
    """At most ``cap`` calls in flight to one EHR, behind a :class:`Breaker`."""

    def __init__(self, breaker: Breaker, *, cap: int = 10) -> None:
        if not isinstance(breaker, Breaker):
            raise ServerlessTypeError(f"breaker={shown(breaker)} must be a Breaker")
        self.cap = check_count("cap", cap, high=100_000)
        self.breaker = breaker
        self.in_flight = 0
        self.capped = 0
        self.short_circuited = 0

    def enter(self) -> str:
        """``"ok"`` (a slot taken: call :meth:`leave` after), ``"capped"`` or ``"open"``."""
        if self.in_flight >= self.cap:
            self.capped += 1
            return "capped"
        if not self.breaker.allow():
            self.short_circuited += 1
            return "open"
        self.in_flight += 1
        return "ok"

    def leave(self, ok: bool) -> None:
        """Release the slot and tell the breaker how the call went."""
        if not isinstance(ok, bool):
            raise ServerlessTypeError(f"ok={shown(ok)} must be a bool")
        if self.in_flight == 0:
            raise ServerlessError("leave() without a matching enter()")
        self.in_flight -= 1
        if ok:
            self.breaker.success()
        else:
            self.breaker.failure()
