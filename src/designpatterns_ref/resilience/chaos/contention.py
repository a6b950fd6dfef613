"""Backoff under contention: the AWS "Exponential Backoff And Jitter" simulation, reproduced.

Case study: Netflix's Chaos Engineering (docs/case-studies/netflix-chaos.md)

Marc Brooker's 2015 AWS Architecture Blog post asks what backoff does when many clients
fight over one resource. ``clients`` clients start at once and each must update the same row
with optimistic concurrency control: read the version, then write conditionally on it. A write
whose version has moved on fails, the client backs off by its policy and tries again. Every
message crosses a network whose delay is normal with mean 10 ms and standard deviation 2 ms
(the post's variance of 4 ms^2). We count the **calls** (read-then-write attempts: the work the
database does) and the **completion time** (when the last client succeeds).

The post's result, which :func:`contention_study` reproduces in shape: without jitter,
clients that collided back off by the same amount and collide again, so the work grows much
faster than the clients; full jitter does the least work; decorrelated jitter is close (a
little more work, and here a little less time); equal jitter sits between them and no jitter.

The simulation is a discrete-event loop on simulated time (a heap of message arrivals), seeded,
so it is exact and repeatable; it needs no clock and no sleep.

Complexity: O(calls * log clients) per run.

>>> from designpatterns_ref.resilience.backoff import Exponential, FullJitter
>>> plain = simulate_contention(20, Exponential(base=0.005, cap=2.0), seed=1)
>>> jitter = simulate_contention(20, FullJitter(base=0.005, cap=2.0), seed=1)
>>> jitter.calls < plain.calls
True
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Sequence
from dataclasses import dataclass

from designpatterns_ref.errors import shown
from designpatterns_ref.resilience.backoff import (
    Backoff,
    DecorrelatedJitter,
    EqualJitter,
    Exponential,
    FullJitter,
)
from designpatterns_ref.resilience.base import (
    ResilienceTypeError,
    check_int,
    check_int_seed,
    check_seconds,
)

__all__ = ["ContentionResult", "contention_study", "policies", "simulate_contention"]


def policies(base: float = 0.005, cap: float = 2.0) -> dict[str, Backoff]:
    """The four policies of the post, with the same ``base`` and ``cap``."""
    return {
        "no jitter": Exponential(base=base, cap=cap),
        "full jitter": FullJitter(base=base, cap=cap),
        "equal jitter": EqualJitter(base=base, cap=cap),
        "decorrelated jitter": DecorrelatedJitter(base=base, cap=cap),
    }


@dataclass(frozen=True, slots=True)
class ContentionResult:
    """One run: how much work, and how long until every client succeeded."""

    clients: int
    policy: str
    calls: int
    completion: float  # seconds


def simulate_contention(
    clients: int,
    policy: Backoff,
    *,
    seed: int = 0,
    delay_mean: float = 0.010,
    delay_sd: float = 0.002,
) -> ContentionResult:
    """Run ``clients`` OCC writers against one row with ``policy``; count calls and time."""
    n = check_int("simulate_contention", "clients", clients, minimum=1, maximum=2_000)
    if not isinstance(policy, Backoff):
        raise ResilienceTypeError(
            f"simulate_contention: policy={shown(policy, 60)} must be a backoff policy"
        )
    check_int_seed("simulate_contention", seed)
    mean = check_seconds("simulate_contention", "delay_mean", delay_mean)
    sd = check_seconds("simulate_contention", "delay_sd", delay_sd)
    rng = random.Random(seed)

    def hop() -> float:
        return max(0.0, rng.gauss(mean, sd))

    version = 0
    calls = n
    attempts = [0] * n
    previous = [policy.first] * n
    done_at = 0.0
    # events: (time at the server or client, tie-break, kind, client, version read)
    events: list[tuple[float, int, str, int, int]] = []
    seq = 0
    for c in range(n):
        seq += 1
        heapq.heappush(events, (hop(), seq, "read", c, 0))
    while events:
        t, _, kind, c, read = heapq.heappop(events)
        seq += 1
        if kind == "read":  # the read reaches the row; the write arrives a round trip later
            heapq.heappush(events, (t + hop() + hop(), seq, "write", c, version))
        elif kind == "write":
            if read == version:
                version += 1
                done_at = max(done_at, t + hop())
            else:  # conflict: the client hears of it, backs off, and tries again
                wait = policy.delay(attempts[c], previous[c], rng)
                attempts[c] += 1
                previous[c] = wait
                calls += 1
                heapq.heappush(events, (t + hop() + wait + hop(), seq, "read", c, 0))
    name = type(policy).__name__
    return ContentionResult(n, name, calls, done_at)


def contention_study(
    client_counts: Sequence[int] = (5, 10, 20, 40, 60, 80, 100),
    *,
    base: float = 0.005,
    cap: float = 2.0,
    seeds: int = 3,
) -> dict[str, list[ContentionResult]]:
    """Every policy at every client count, averaged over ``seeds`` seeded runs."""
    check_int("contention_study", "seeds", seeds, minimum=1, maximum=1000)
    if isinstance(client_counts, str | bytes) or not isinstance(client_counts, Sequence):
        raise ResilienceTypeError(
            f"contention_study: client_counts={shown(client_counts, 60)} must be a list of ints"
        )
    for count in client_counts:
        check_int("contention_study", "client_counts[i]", count, minimum=1, maximum=2_000)
    policies(base, cap)  # checks base and cap before any work
    out: dict[str, list[ContentionResult]] = {}
    for label, policy in policies(base, cap).items():
        rows = []
        for count in client_counts:
            runs = [simulate_contention(count, policy, seed=s) for s in range(seeds)]
            rows.append(
                ContentionResult(
                    count,
                    label,
                    round(sum(r.calls for r in runs) / seeds),
                    sum(r.completion for r in runs) / seeds,
                )
            )
        out[label] = rows
    return out
