"""Seeded fault schedules: break a Python callable on purpose, the same way every run.

Case study: Netflix's Chaos Engineering (docs/case-studies/netflix-chaos.md)

A :class:`FaultSchedule` is a list of :class:`Phase` s, each active on ``[start, end)`` of the
clock: added latency drawn from a :class:`Latency` distribution, an error rate, a blackhole
(the call never answers) or a kill (the instance is gone: every call is refused at once).
:meth:`FaultSchedule.inject` wraps a callable (``ainject`` a coroutine function) so that each
call first meets whatever the schedule says for the current time. Phases may overlap: their
latencies add (up to ``hang`` seconds in all), their error rates combine (``1 - prod(1 - p)``),
and a kill or a blackhole wins.

A blackhole waits as long as the caller lets it: up to
:func:`~designpatterns_ref.resilience.remaining` of the innermost cooperative
:class:`~designpatterns_ref.resilience.Timeout` (a client that sets its socket timeout from its
deadline), else ``hang`` seconds; then it raises
:class:`InjectedTimeout`. With a :class:`~designpatterns_ref.clock.ManualClock` the waits just
advance the clock, so an hour-long experiment runs in milliseconds, and a seed fixes every draw.

Complexity: O(number of phases) per call.

>>> from designpatterns_ref.clock import ManualClock
>>> clock = ManualClock()
>>> schedule = FaultSchedule([Phase(10, 20, killed=True)], seed=7, clock=clock)
>>> ping = schedule.inject(lambda: "pong")
>>> ping()
'pong'
>>> clock.advance(10)
>>> ping()
Traceback (most recent call last):
...
designpatterns_ref.resilience.chaos.faults.InstanceDown: killed by the fault schedule at t=10
"""

from __future__ import annotations

import asyncio
import functools
import math
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from designpatterns_ref.clock import Clock, ManualClock, read_seconds
from designpatterns_ref.errors import shown
from designpatterns_ref.resilience.base import (
    ResilienceError,
    ResilienceTypeError,
    awaitable_of,
    check_callable,
    check_seconds,
    discard,
)
from designpatterns_ref.resilience.timeout import remaining

__all__ = [
    "FaultSchedule",
    "FaultStats",
    "InjectedError",
    "InjectedTimeout",
    "InstanceDown",
    "Latency",
    "Phase",
]

T = TypeVar("T")

MAX_SIGMA = 10.0  # a lognormal wider than this is no latency: e**10 is 22,000 medians


class InjectedError(ConnectionError):
    """A failure the fault schedule injected (the dependency answered with an error)."""


class InstanceDown(ConnectionRefusedError):
    """The instance was killed: the call is refused at once."""


class InjectedTimeout(TimeoutError):
    """A blackholed call: no answer came before the caller stopped waiting."""


def _probability(owner: str, name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ResilienceTypeError(f"{owner}: {name}={shown(value, 60)} must be a number")
    if not 0 <= value <= 1:
        raise ResilienceError(f"{owner}: {name}={shown(value, 60)} must be a probability in [0, 1]")
    return float(value)


@dataclass(frozen=True)
class Latency:
    """A latency distribution: ``fixed``, ``uniform``, ``exponential`` or ``lognormal`` (s)."""

    kind: Literal["fixed", "uniform", "exponential", "lognormal"] = "fixed"
    a: float = 0.0  # fixed: the value; uniform: low; exponential: mean; lognormal: median
    b: float = 0.0  # uniform: high; lognormal: sigma

    def __post_init__(self) -> None:
        if self.kind not in ("fixed", "uniform", "exponential", "lognormal"):
            raise ResilienceError(
                f"Latency: kind={shown(self.kind, 60)} must be fixed, uniform, exponential or "
                "lognormal"
            )
        a = check_seconds("Latency", "a", self.a)
        b = check_seconds("Latency", "b", self.b)
        if self.kind == "lognormal" and b > MAX_SIGMA:
            raise ResilienceError(
                f"Latency: lognormal sigma b={shown(self.b)} must be <= {MAX_SIGMA:g} (at 10, one "
                "draw in six is 22,000 times the median already; wider ones overflow a float)"
            )
        if self.kind == "uniform" and b < a:
            raise ResilienceError(
                f"Latency: uniform high b={shown(self.b)} is below low a={shown(self.a)}"
            )
        object.__setattr__(self, "a", a)
        object.__setattr__(self, "b", b)

    @classmethod
    def fixed(cls, seconds: float) -> Latency:
        return cls("fixed", seconds)

    @classmethod
    def uniform(cls, low: float, high: float) -> Latency:
        return cls("uniform", low, high)

    @classmethod
    def exponential(cls, mean: float) -> Latency:
        return cls("exponential", mean)

    @classmethod
    def lognormal(cls, median: float, sigma: float) -> Latency:
        """A long-tailed latency: half the calls beat ``median``; ``sigma`` (0 to 10): the tail."""
        return cls("lognormal", median, sigma)

    def sample(self, rng: random.Random) -> float:
        """One draw, in seconds."""
        if self.kind == "fixed":
            return self.a
        if self.kind == "uniform":
            return rng.uniform(self.a, self.b)
        if self.kind == "exponential":
            return rng.expovariate(1 / self.a) if self.a > 0 else 0.0
        return self.a * math.exp(rng.gauss(0.0, self.b)) if self.a > 0 else 0.0


@dataclass(frozen=True)
class Phase:
    """A fault active on ``[start, end)`` seconds of the clock."""

    start: float
    end: float
    latency: Latency | None = None
    error_rate: float = 0.0
    blackhole: bool = False
    killed: bool = False

    def __post_init__(self) -> None:
        start = check_seconds("Phase", "start", self.start)
        end = check_seconds("Phase", "end", self.end, allow_inf=True)
        if end <= start:
            raise ResilienceError(
                f"Phase: end={shown(self.end)} must be after start={shown(self.start)}"
            )
        if self.latency is not None and not isinstance(self.latency, Latency):
            raise ResilienceTypeError(f"Phase: latency={shown(self.latency, 60)} must be a Latency")
        for name in ("blackhole", "killed"):
            if not isinstance(getattr(self, name), bool):
                raise ResilienceTypeError(
                    f"Phase: {name}={shown(getattr(self, name), 60)} must be a bool"
                )
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)
        object.__setattr__(self, "error_rate", _probability("Phase", "error_rate", self.error_rate))


@dataclass
class FaultStats:
    """What the schedule did so far."""

    calls: int = 0
    errors: int = 0
    refused: int = 0
    blackholed: int = 0
    added_latency: float = 0.0
    log: list[tuple[float, str]] = field(default_factory=list)


class FaultSchedule:
    """Phases of faults on a clock, drawn from one seeded random generator."""

    def __init__(
        self,
        phases: Sequence[Phase] = (),
        *,
        seed: int = 0,
        hang: float = 3600.0,
        clock: Clock = time.monotonic,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        if isinstance(phases, str | bytes) or not isinstance(phases, Sequence):
            raise ResilienceTypeError(f"FaultSchedule: phases={shown(phases, 60)} must be a list")
        for phase in phases:
            if not isinstance(phase, Phase):
                raise ResilienceTypeError(f"FaultSchedule: {shown(phase, 60)} is not a Phase")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ResilienceTypeError(f"FaultSchedule: seed={shown(seed, 60)} must be an int")
        self.phases = tuple(phases)
        self.hang: float = check_seconds("FaultSchedule", "hang", hang, positive=True)
        self._clock: Clock = check_callable("FaultSchedule", "clock", clock)
        default: Callable[[float], object] = (
            clock.advance if isinstance(clock, ManualClock) else time.sleep
        )
        self._sleep = check_callable("FaultSchedule", "sleep", sleep, allow_none=True) or default
        self._rng = random.Random(seed)
        self.stats = FaultStats()

    def active(self, t: float) -> list[Phase]:
        """The phases active at time ``t``."""
        return [p for p in self.phases if p.start <= t < p.end]

    def _decide(self) -> tuple[float, str | None]:
        """(seconds to wait, fault) for one call now: fault is killed, blackhole, error or None."""
        now = read_seconds(self._clock, ResilienceError, "FaultSchedule")  # NaN: no fault ever
        phases = self.active(now)
        self.stats.calls += 1
        if any(p.killed for p in phases):
            self.stats.refused += 1
            self.stats.log.append((now, "killed"))
            return 0.0, "killed"
        if any(p.blackhole for p in phases):
            self.stats.blackholed += 1
            self.stats.log.append((now, "blackhole"))
            return min(self.hang, remaining()), "blackhole"
        wait = sum(p.latency.sample(self._rng) for p in phases if p.latency is not None)
        wait = min(wait, self.hang)  # no call waits longer than a blackholed one
        self.stats.added_latency += wait
        survive = 1.0
        for p in phases:
            survive *= 1 - p.error_rate
        if survive < 1 and self._rng.random() >= survive:
            self.stats.errors += 1
            self.stats.log.append((now, "error"))
            return wait, "error"
        return wait, None

    def _raise(self, fault: str | None) -> None:
        if fault == "killed":
            raise InstanceDown(f"killed by the fault schedule at t={self._clock():g}")
        if fault == "blackhole":
            raise InjectedTimeout("blackholed by the fault schedule: no answer")
        if fault == "error":
            raise InjectedError("error injected by the fault schedule")

    def inject(self, fn: Callable[..., T]) -> Callable[..., T]:
        """``fn`` behind the schedule: each call meets the faults active when it starts."""
        check_callable("FaultSchedule.inject", "fn", fn)

        @functools.wraps(fn)
        def faulty(*args: Any, **kwargs: Any) -> T:
            wait, fault = self._decide()
            if wait > 0:
                self._sleep(wait)
            self._raise(fault)
            return fn(*args, **kwargs)

        return faulty

    def ainject(self, fn: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
        """A coroutine function behind the schedule (waits with ``asyncio.sleep``).

        Each call first checks that ``fn`` gives something to await (a plain function is
        refused with ResilienceTypeError, and the schedule neither counts nor delays it).
        """
        check_callable("FaultSchedule.ainject", "fn", fn)

        @functools.wraps(fn)
        async def faulty(*args: Any, **kwargs: Any) -> T:
            awaitable = awaitable_of("FaultSchedule.ainject", fn, args, kwargs)
            try:
                wait, fault = self._decide()
                if wait > 0:
                    if isinstance(self._clock, ManualClock):
                        self._clock.advance(wait)
                    else:
                        await asyncio.sleep(wait)
                self._raise(fault)
            except BaseException:  # the fault is the call's answer: the real call never runs
                discard(awaitable)
                raise
            return await awaitable

        return faulty
