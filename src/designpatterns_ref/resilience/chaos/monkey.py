"""Chaos Monkey in miniature: kill instances of a fleet, and measure what clients see.

Case study: Netflix's Chaos Engineering (docs/case-studies/netflix-chaos.md)

Netflix's Chaos Monkey kills production instances during business hours, so that surviving an
instance failure is something every service is built for, not hoped for. The method
(principlesofchaos.org) is the scientific one:

1. **Steady state**: a measurable output that says the system works: here the share of
   requests answered, and the p99 latency, on a fleet nobody disturbs (the *control*).
2. **Hypothesis**: "with these guards, killing instances does not move the steady state".
3. **Blast radius**: expose only part of the traffic (``blast_radius``) to the fleet the
   monkey attacks; the rest goes to an undisturbed twin fleet and is the control group.
4. **Run, compare, stop if it hurts**: the result puts experiment and control side by side.

:class:`Fleet` is ``size`` simulated instances behind a round-robin load balancer whose health
check takes ``detect_after`` seconds to notice a dead instance; a dead instance accepts the
connection and never answers (the caller waits until its own deadline: a cooperative
:class:`~designpatterns_ref.resilience.Timeout`, else ``hang`` seconds), and comes back
``restart_after`` seconds after it died. :class:`ChaosMonkey` kills a random live instance at
seeded exponential intervals. :func:`run_experiment` sends ``requests`` requests at ``rate`` per
second through one of the guard sets of :data:`GUARD_SETS`, all on one
:class:`~designpatterns_ref.clock.ManualClock`, so an hour of traffic runs in well under a
second and the same seed gives the same table. Requests are concurrent: each runs on its own
timeline from its arrival (the clock is set back to each arrival), so one hung request does not
delay the next; they share the fleet and the guards' state. ``scenario="outage"`` makes every
request hang for a fifth of the run while health checks still pass (a database behind the
fleet is down): that is where the breaker and the fallback earn their keep.

Complexity: O(requests * attempts) per experiment.

>>> result = run_experiment("timeout+retry", requests=400, seed=3)
>>> result.experiment.requests, result.experiment.success_rate > 0.99
(400, True)
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.errors import shown
from designpatterns_ref.resilience.backoff import FullJitter
from designpatterns_ref.resilience.base import (
    ResilienceError,
    ResilienceTypeError,
    check_int,
    check_int_seed,
    check_seconds,
)
from designpatterns_ref.resilience.breaker import CircuitBreaker
from designpatterns_ref.resilience.budget import RetryBudget
from designpatterns_ref.resilience.chaos.faults import (
    InjectedError,
    InjectedTimeout,
    InstanceDown,
    Latency,
)
from designpatterns_ref.resilience.compose import compose
from designpatterns_ref.resilience.fallback import Fallback
from designpatterns_ref.resilience.retry import Retry
from designpatterns_ref.resilience.timeout import Timeout, remaining

__all__ = [
    "GUARD_SETS",
    "ChaosMonkey",
    "ExperimentResult",
    "Fleet",
    "GroupResult",
    "availability_table",
    "run_experiment",
]

FALLBACK = "fallback"


class Fleet:
    """``size`` instances behind a round-robin load balancer with a slow health check."""

    def __init__(
        self,
        size: int = 10,
        *,
        clock: ManualClock,
        seed: int = 0,
        latency: Latency | None = None,
        error_rate: float = 0.001,
        detect_after: float = 30.0,
        restart_after: float = 120.0,
        hang: float = 30.0,
    ) -> None:
        self.size = check_int("Fleet", "size", size, minimum=1, maximum=10_000)
        if not isinstance(clock, ManualClock):
            raise ResilienceTypeError(f"Fleet: clock={shown(clock, 60)} must be a ManualClock")
        self.clock = clock
        if latency is not None and not isinstance(latency, Latency):
            raise ResilienceTypeError(f"Fleet: latency={shown(latency, 60)} must be a Latency")
        self.latency = latency if latency is not None else Latency.lognormal(0.040, 0.5)
        if isinstance(error_rate, bool) or not isinstance(error_rate, float | int):
            raise ResilienceTypeError(f"Fleet: error_rate={shown(error_rate, 60)} must be a number")
        if not 0 <= error_rate <= 1:
            raise ResilienceError(f"Fleet: error_rate={shown(error_rate, 60)} must be in [0, 1]")
        check_int_seed("Fleet", seed)
        self.error_rate = float(error_rate)
        self.detect_after: float = check_seconds("Fleet", "detect_after", detect_after)
        self.restart_after: float = check_seconds("Fleet", "restart_after", restart_after)
        self.hang: float = check_seconds("Fleet", "hang", hang, positive=True)
        self._rng = random.Random(seed)
        self._died_at: list[float | None] = [None] * self.size
        self._outages: list[tuple[float, float]] = []
        self._next = 0
        self.calls = 0  # requests that reached an instance (the load the fleet saw)

    def kill(self, index: int) -> None:
        """Kill instance ``index`` now."""
        self._died_at[index] = self.clock()

    def outage(self, start: float, end: float) -> None:
        """On ``[start, end)`` every request hangs, though every health check still passes
        (the instances are up; something behind them, a database, is not)."""
        self._outages.append((start, end))

    def _in_outage(self, now: float) -> bool:
        return any(start <= now < end for start, end in self._outages)

    def _down_since(self, index: int, now: float) -> float | None:
        """When the instance died, if it is dead now."""
        died = self._died_at[index]
        if died is not None and now - died >= self.restart_after:
            self._died_at[index] = died = None  # restarted
        return died

    def alive(self) -> list[bool]:
        """Which instances are up right now."""
        now = self.clock()
        return [self._down_since(i, now) is None for i in range(self.size)]

    def call(self) -> str:
        """One request to the dependency, through the load balancer."""
        now = self.clock()
        for _ in range(self.size):
            index = self._next
            self._next = (index + 1) % self.size
            down = self._down_since(index, now)
            if down is None or now - down < self.detect_after:
                break  # healthy, or dead but the health check has not noticed yet
        else:
            raise InstanceDown("no healthy instance behind the load balancer")
        self.calls += 1
        if down is not None or self._in_outage(now):  # nothing ever comes back
            self.clock.advance(min(self.hang, remaining()))
            raise InjectedTimeout(f"instance {index} did not answer")
        self.clock.advance(min(self.latency.sample(self._rng), self.hang))
        if self._rng.random() < self.error_rate:
            raise InjectedError(f"instance {index} answered 500")
        return f"ok from instance {index}"


class ChaosMonkey:
    """Kill a random live instance of ``fleet`` at seeded exponential intervals."""

    def __init__(self, fleet: Fleet, *, mean_interval: float = 60.0, seed: int = 0) -> None:
        if not isinstance(fleet, Fleet):
            raise ResilienceTypeError(f"ChaosMonkey: fleet={shown(fleet, 60)} must be a Fleet")
        self.fleet = fleet
        self.mean_interval: float = check_seconds(
            "ChaosMonkey", "mean_interval", mean_interval, positive=True
        )
        check_int_seed("ChaosMonkey", seed)
        self._rng = random.Random(seed)
        self._due = fleet.clock() + self._rng.expovariate(1 / self.mean_interval)
        self.kills: list[tuple[float, int]] = []

    def tick(self) -> None:
        """Carry out every kill due by now."""
        now = self.fleet.clock()
        while self._due <= now:
            live = [i for i, up in enumerate(self.fleet.alive()) if up]
            if live:
                victim = self._rng.choice(live)
                self.fleet.kill(victim)
                self.kills.append((self._due, victim))
            self._due += self._rng.expovariate(1 / self.mean_interval)


def _guards(name: str, clock: ManualClock, seed: int) -> Any:
    timeout = Timeout(1.0, clock=clock)
    retry = Retry(
        attempts=3,
        backoff=FullJitter(base=0.05, cap=1.0),
        budget=RetryBudget(0.2, reserve=20),
        seed=seed,
        clock=clock,
    )
    breaker = CircuitBreaker(
        window_size=20, minimum_calls=10, wait_in_open=10.0, half_open_calls=3, clock=clock
    )
    fallback = Fallback(lambda error: FALLBACK)
    sets: dict[str, tuple[Any, ...]] = {
        "none": (),
        "timeout": (timeout,),
        "timeout+retry": (retry, timeout),
        "timeout+retry+breaker": (retry, breaker, timeout),
        "timeout+retry+breaker+fallback": (fallback, retry, breaker, timeout),
    }
    return compose(*sets[name]) if sets[name] else None


#: The guard combinations an experiment can use, from nothing to the full stack.
GUARD_SETS: tuple[str, ...] = (
    "none",
    "timeout",
    "timeout+retry",
    "timeout+retry+breaker",
    "timeout+retry+breaker+fallback",
)


@dataclass(frozen=True)
class GroupResult:
    """What one group of requests saw."""

    requests: int
    ok: int
    degraded: int  # answered by the fallback
    failed: int
    p50: float  # seconds
    p99: float
    fleet_calls: int  # requests the fleet received (retries included)

    @property
    def success_rate(self) -> float:
        """Share of requests with a real answer."""
        return self.ok / self.requests if self.requests else math.nan

    @property
    def availability(self) -> float:
        """Share of requests with any answer (a fallback counts)."""
        return (self.ok + self.degraded) / self.requests if self.requests else math.nan


@dataclass(frozen=True)
class ExperimentResult:
    """Experiment and control side by side, and the monkey's kills."""

    guards: str
    scenario: str
    experiment: GroupResult
    control: GroupResult | None
    kills: int

    def hypothesis_holds(self, tolerance: float = 0.005) -> bool:
        """Did the experiment group's availability stay within ``tolerance`` of the control's?"""
        if self.control is None:
            raise ResilienceError("hypothesis_holds: this run had no control group")
        return self.experiment.availability >= self.control.availability - tolerance


def _pct(samples: list[float], q: float) -> float:
    if not samples:
        return math.nan
    ordered = sorted(samples)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


def run_experiment(
    guards: str = "timeout+retry",
    *,
    scenario: Literal["steady", "monkey", "outage"] = "monkey",
    requests: int = 3000,
    rate: float = 2.0,
    blast_radius: float = 1.0,
    fleet_size: int = 10,
    mean_interval: float = 60.0,
    seed: int = 0,
) -> ExperimentResult:
    """Send ``requests`` at ``rate`` per second through ``guards`` while chaos happens.

    ``scenario``: ``"steady"`` (no chaos), ``"monkey"`` (instances killed every
    ``mean_interval`` seconds on average) or ``"outage"`` (the whole dependency unreachable
    for the middle fifth of the run). ``blast_radius`` is the share of requests sent to the
    attacked fleet; the rest go to an undisturbed twin (the control group).
    """
    if guards not in GUARD_SETS:
        raise ResilienceError(
            f"run_experiment: guards={shown(guards, 60)} must be one of {GUARD_SETS}"
        )
    if scenario not in ("steady", "monkey", "outage"):
        raise ResilienceError(
            f"run_experiment: scenario={shown(scenario, 60)} must be steady, monkey or outage"
        )
    check_int("run_experiment", "requests", requests, minimum=1, maximum=100_000)
    check_int("run_experiment", "fleet_size", fleet_size, minimum=1, maximum=10_000)
    check_seconds("run_experiment", "mean_interval", mean_interval, positive=True)
    check_int_seed("run_experiment", seed)
    if seed > 2**62 or seed < -(2**62):
        raise ResilienceError(f"run_experiment: seed={shown(seed, 60)} must be within +-2**62")
    check_seconds("run_experiment", "rate", rate, positive=True)
    if not 1e-3 <= rate <= 1e6:
        raise ResilienceError(
            f"run_experiment: rate={shown(rate)} must be within [0.001, 1e6] per second"
        )
    if isinstance(blast_radius, bool) or not isinstance(blast_radius, int | float):
        raise ResilienceTypeError(f"run_experiment: blast_radius={shown(blast_radius, 60)}")
    if not 0 < blast_radius <= 1:
        raise ResilienceError(
            f"run_experiment: blast_radius={shown(blast_radius)} must be in (0, 1]"
        )
    clock = ManualClock()
    rng = random.Random(seed)
    fleets = {
        "experiment": Fleet(fleet_size, clock=clock, seed=seed + 1),
        "control": Fleet(fleet_size, clock=clock, seed=seed + 2),
    }
    stacks = {g: _guards(guards, clock, seed + i) for i, g in enumerate(fleets)}
    monkey = ChaosMonkey(fleets["experiment"], mean_interval=mean_interval, seed=seed + 3)
    span = requests / rate
    if scenario == "outage":
        fleets["experiment"].outage(0.4 * span, 0.6 * span)
    outcomes: dict[str, list[tuple[str, float]]] = {"experiment": [], "control": []}
    for i in range(requests):
        clock.set(i / rate, allow_backwards=True)  # each request on its own timeline
        if scenario == "monkey":
            monkey.tick()
        group = "experiment" if blast_radius >= 1 or rng.random() < blast_radius else "control"
        fleet, stack = fleets[group], stacks[group]
        start = clock()
        try:
            answer = stack.call(fleet.call) if stack is not None else fleet.call()
            kind = "degraded" if answer == FALLBACK else "ok"
        except Exception:
            kind = "failed"
        outcomes[group].append((kind, clock() - start))

    def summary(group: str) -> GroupResult:
        rows = outcomes[group]
        times = [t for _, t in rows]
        return GroupResult(
            len(rows),
            sum(k == "ok" for k, _ in rows),
            sum(k == "degraded" for k, _ in rows),
            sum(k == "failed" for k, _ in rows),
            _pct(times, 50),
            _pct(times, 99),
            fleets[group].calls,
        )

    control = summary("control") if blast_radius < 1 else None
    return ExperimentResult(guards, scenario, summary("experiment"), control, len(monkey.kills))


def availability_table(
    scenario: Literal["steady", "monkey", "outage"] = "monkey",
    *,
    requests: int = 3000,
    seed: int = 0,
    runner: Callable[..., ExperimentResult] = run_experiment,
) -> list[ExperimentResult]:
    """Every guard set through the same scenario and seed (one row each)."""
    return [runner(g, scenario=scenario, requests=requests, seed=seed) for g in GUARD_SETS]
