"""Traffic generators: request times to replay against limiters with :func:`.simulate`.

Case study: Design a Rate Limiter (docs/case-studies/rate-limiter.md)

Each generator returns a sorted list of arrival times in seconds, deterministic for a given
``seed``: steady traffic, Poisson traffic (independent arrivals at an average rate), periodic
bursts, and the boundary burst that lets a fixed window admit twice its limit.

Complexity: O(n) for n arrivals.

Examples:
    >>> steady(rate=4, duration=1.0)
    [0.0, 0.25, 0.5, 0.75]
    >>> boundary_burst(limit=2, per=1.0)
    [0.999, 0.999, 1.0, 1.0]
"""

from __future__ import annotations

import random

from designpatterns_ref.ratelimit.base import check_count, check_positive

__all__ = ["boundary_burst", "bursts", "poisson", "steady"]


def steady(rate: float, duration: float, *, start: float = 0.0) -> list[float]:
    """``rate`` requests per second, evenly spaced, over ``[start, start + duration)``."""
    check_positive("steady", "rate", rate)
    check_positive("steady", "duration", duration)
    count = int(rate * duration)
    return [start + i / rate for i in range(count)]


def poisson(rate: float, duration: float, *, seed: int = 0, start: float = 0.0) -> list[float]:
    """Independent arrivals averaging ``rate`` per second (exponential gaps), seeded."""
    check_positive("poisson", "rate", rate)
    check_positive("poisson", "duration", duration)
    rng = random.Random(seed)
    out: list[float] = []
    t = start + rng.expovariate(rate)
    while t < start + duration:
        out.append(t)
        t += rng.expovariate(rate)
    return out


def bursts(
    size: int,
    every: float,
    duration: float,
    *,
    spread: float = 0.0,
    seed: int = 0,
    start: float = 0.0,
) -> list[float]:
    """A burst of ``size`` requests every ``every`` seconds, each spread over ``spread`` seconds."""
    check_count("bursts", "size", size)
    check_positive("bursts", "every", every)
    check_positive("bursts", "duration", duration)
    if spread < 0:
        check_positive("bursts", "spread", spread)
    rng = random.Random(seed)
    out: list[float] = []
    k = 0
    while start + k * every < start + duration:
        base = start + k * every
        out.extend(base + (rng.uniform(0.0, spread) if spread else 0.0) for _ in range(size))
        k += 1
    return sorted(out)


def boundary_burst(limit: int, per: float, *, window: int = 1, gap: float = 0.001) -> list[float]:
    """``limit`` requests ``gap`` seconds before a window boundary, then ``limit`` right on it.

    A fixed window of ``limit`` per ``per`` admits all ``2 * limit`` of them within ``gap``
    seconds; a sliding window admits ``limit``.
    """
    check_count("boundary_burst", "limit", limit)
    check_positive("boundary_burst", "per", per)
    check_positive("boundary_burst", "gap", gap)
    edge = window * per
    return [edge - gap] * limit + [edge] * limit
