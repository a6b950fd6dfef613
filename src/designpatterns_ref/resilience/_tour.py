"""``dpref tour``: Netflix's chaos engineering case study in a few deterministic seconds."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.resilience import (
    CallNotPermitted,
    CircuitBreaker,
    Exponential,
    Fallback,
    Retry,
    RetryBudget,
    StateChange,
    Timeout,
    compose,
)
from designpatterns_ref.resilience.chaos import (
    FaultSchedule,
    Phase,
    availability_table,
    contention_study,
)

__all__ = ["tour"]


def tour(out: Callable[[str], None]) -> None:
    """Print the case study's story: guard a flaky dependency, break it, measure."""
    out("Netflix's Chaos Engineering: guard every dependency, then break it on purpose.")
    out("Every guard answers call(fn) / await acall(fn); time here is a ManualClock.")
    out("")

    clock = ManualClock()
    schedule = FaultSchedule([Phase(10, 40, killed=True)], seed=1, clock=clock)
    dependency = schedule.inject(lambda: "recommendations")
    breaker = CircuitBreaker(
        window_size=5, minimum_calls=5, wait_in_open=15, half_open_calls=2, clock=clock
    )
    changes: list[StateChange] = []
    breaker.add_listener(changes.append)
    outcomes = []
    for _ in range(60):
        try:
            outcomes.append(breaker.call(dependency))
        except CallNotPermitted:
            outcomes.append("refused")
        except ConnectionError:
            outcomes.append("failed")
        clock.advance(1.0)
    out("1. A circuit breaker (window of 5 calls, opens at 50% failures) in front of a")
    out("   dependency that is killed from t=10 s to t=40 s, one call a second:")
    for change in changes:
        out(f"   t={change.at:4.0f}s  {change.old.value} -> {change.new.value}")
    out(
        f"   {outcomes.count('failed')} calls reached the dead dependency and failed; "
        f"{outcomes.count('refused')} were refused at once by the open breaker."
    )
    out("")

    retry = Retry(attempts=4, backoff=Exponential(base=0.1, cap=5), clock=clock)
    answers: Iterator[object] = iter([ConnectionError(), ConnectionError(), "ok"])

    def flaky() -> str:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return str(answer)

    start = clock()
    result = retry.call(flaky)
    out(f"2. Retry with exponential backoff: {result!r} after waits of 0.1 s and 0.2 s "
        f"({clock() - start:.1f} s in all).")  # fmt: skip
    budget = RetryBudget(0.1, reserve=5)
    capped = Retry(attempts=4, backoff=Exponential(0.1, 5), budget=budget, clock=clock)
    for _ in range(100):
        with contextlib.suppress(ConnectionError):
            capped.call(lambda: (_ for _ in ()).throw(ConnectionError()))
    out(f"   In an outage a 10% retry budget allows {budget.retries} retries for 100 failing")
    out("   calls, not 300: retries cannot triple the load on a dependency that is down.")
    out("")

    stack = compose(
        Timeout(1.0, clock=clock),
        Fallback(lambda error: "popular titles"),
        CircuitBreaker(window_size=10, minimum_calls=5, clock=clock),
        Retry(attempts=3, clock=clock, seed=1),
    )
    out(f"3. One line composes them, in the order that makes sense: {stack.describe()}.")
    out("")

    out("4. Chaos Monkey: 10 instances behind a load balancer, one killed every minute on")
    out("   average; 2,000 requests at 2/s. What clients saw with each set of guards:")
    for row in availability_table("monkey", requests=2000, seed=0):
        e = row.experiment
        out(f"   {row.guards:32s} answered {100 * e.ok / e.requests:6.2f}%  "
            f"p99 {e.p99 * 1000:7.0f} ms")  # fmt: skip
    out("   The hypothesis 'killing instances does not move the success rate' holds only")
    out("   once the client retries (on another instance).")
    out("")

    study = contention_study((50,), seeds=1)
    out("5. AWS 'Exponential Backoff And Jitter': 50 clients updating one row with OCC.")
    for name, rows in study.items():
        out(f"   {name:20s} {rows[0].calls:5d} calls, all done after {rows[0].completion:5.2f} s")
    out("   Without jitter, clients that collided retry together and collide again.")
