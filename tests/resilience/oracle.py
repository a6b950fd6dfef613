"""Short, obviously correct reference models the tests hold the fast guards to."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction


@dataclass
class BreakerConfig:
    window_type: str
    window_size: int
    minimum_calls: int
    failure_rate_threshold: float
    slow_call_rate_threshold: float
    slow_call_duration: float
    wait_in_open: float
    half_open_calls: int
    max_wait_in_half_open: float = 60.0

    def kwargs(self) -> dict[str, object]:
        return dict(self.__dict__)


@dataclass
class ReferenceBreaker:
    """resilience4j's state machine, its rates recomputed from the full list of outcomes."""

    cfg: BreakerConfig
    state: str = "closed"
    log: list[tuple[float, bool, bool]] = field(default_factory=list)  # (end time, failed, slow)
    opened_at: float = 0.0
    half_opened_at: float = 0.0
    permits: int = 0
    trials: list[tuple[bool, bool]] = field(default_factory=list)
    transitions: list[tuple[str, str]] = field(default_factory=list)

    def _move(self, new: str, now: float) -> None:
        self.transitions.append((self.state, new))
        self.state = new
        self.log = []
        self.trials = []
        if new == "open":
            self.opened_at = now
        if new == "half_open":
            self.permits = self.cfg.half_open_calls
            self.half_opened_at = now

    def _expired(self, now: float) -> bool:
        """Half-open too long: open, from the moment the wait ran out (a timer firing then)."""
        limit = self.cfg.max_wait_in_half_open
        if self.state == "half_open" and now - self.half_opened_at >= limit:
            self._move("open", self.half_opened_at + limit)
            return True
        return False

    def permit(self, now: float) -> bool:
        self._expired(now)
        if self.state == "open" and now - self.opened_at >= self.cfg.wait_in_open:
            self._move("half_open", now)
        if self.state == "closed":
            return True
        if self.state == "half_open" and self.permits > 0:
            self.permits -= 1
            return True
        return False

    def window(self, now: float) -> list[tuple[float, bool, bool]]:
        if self.cfg.window_type == "count":
            return self.log[-self.cfg.window_size :]
        newest = math.floor(now)
        return [o for o in self.log if math.floor(o[0]) > newest - self.cfg.window_size]

    def _bad(self, outcomes: list[tuple[bool, bool]]) -> bool:
        n = len(outcomes)
        fr = sum(f for f, _ in outcomes) * 100.0 / n
        sr = sum(s for _, s in outcomes) * 100.0 / n
        return fr >= self.cfg.failure_rate_threshold or sr >= self.cfg.slow_call_rate_threshold

    def finish(self, now: float, kind: str, duration: float) -> None:
        """kind: ok, fail (a recorded exception), other (unrecorded: a success), ignored."""
        if kind == "ignored":
            if self.state == "half_open":
                self.permits += 1
            return
        if self._expired(now):
            return  # a trial call that outlived its half-open state: its outcome is dropped
        failed, slow = kind == "fail", duration > self.cfg.slow_call_duration
        if self.state == "closed":
            self.log.append((now, failed, slow))
            window = self.window(now)
            if len(window) >= self.cfg.minimum_calls and self._bad([(f, s) for _, f, s in window]):
                self._move("open", now)
        elif self.state == "half_open":
            self.trials.append((failed, slow))
            if len(self.trials) >= self.cfg.half_open_calls:
                self._move("open" if self._bad(self.trials) else "closed", now)


@dataclass
class ReferenceBudget:
    """A retry budget settled eagerly, one deposit at a time, in exact fractions."""

    ratio: Fraction
    reserve: Fraction
    balance: Fraction = Fraction(-1)

    def __post_init__(self) -> None:
        self.balance = self.reserve

    def deposit(self) -> None:
        self.balance = min(max(self.reserve, Fraction(1)), self.balance + self.ratio)

    def withdraw(self) -> bool:
        if self.balance >= 1:
            self.balance -= 1
            return True
        return False
