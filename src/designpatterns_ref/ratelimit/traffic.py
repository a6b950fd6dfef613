"""Traffic generators: request times to replay against limiters with :func:`.simulate`.

Case study: Design a Rate Limiter (docs/case-studies/rate-limiter.md)

Each generator returns a sorted list of arrival times in seconds, deterministic for a given
``seed``: steady traffic, Poisson traffic (independent arrivals at an average rate), periodic
bursts, and the boundary burst that lets a fixed window admit twice its limit.

Windows are half-open, ``[start, start + duration)``. Steady arrivals and burst starts are
counted in exact arithmetic on the given floats: ``steady(4, 1.1)`` has five arrivals (the
fifth at 1.0 < 1.1) although ``int(4 * 1.1)`` is 4, and an arrival exactly at the end is out.

Complexity: O(n) for n arrivals. A call may ask for at most :data:`MAX_ARRIVALS` arrivals
(expected, for Poisson traffic); a larger one is refused with RateLimitError before any work,
as are times that are not finite numbers and seeds that are not ints.

Examples:
    >>> steady(rate=4, duration=1.0)
    [0.0, 0.25, 0.5, 0.75]
    >>> boundary_burst(limit=2, per=1.0)
    [0.999, 0.999, 1.0, 1.0]
"""

from __future__ import annotations

import math
import random
from fractions import Fraction

from designpatterns_ref.errors import shown
from designpatterns_ref.ratelimit.base import RateLimitError, check_count, check_positive

__all__ = ["MAX_ARRIVALS", "boundary_burst", "bursts", "poisson", "steady"]

#: The most arrivals one call generates (Poisson: expects): ten million, about 80 MB of floats.
MAX_ARRIVALS = 10_000_000


def _check_time(owner: str, name: str, value: object) -> float:
    """``value`` as a float, or RateLimitError unless it is a finite number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RateLimitError(
            f"{owner}: {name}={shown(value, 80)} must be a finite number of seconds"
        )
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise RateLimitError(
            f"{owner}: {name}={shown(value, 80)} must be a finite number of seconds"
        )
    return number


def _check_seed(owner: str, seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise RateLimitError(f"{owner}: seed={shown(seed, 80)} must be an int")
    return seed


def _check_size(owner: str, expected: float, what: str) -> None:
    if not expected <= MAX_ARRIVALS:
        raise RateLimitError(
            f"{owner}: {what} asks for about {expected:.3g} arrivals; at most {MAX_ARRIVALS:,} "
            "per call"
        )


def steady(rate: float, duration: float, *, start: float = 0.0) -> list[float]:
    """``rate`` requests per second, evenly spaced, over ``[start, start + duration)``.

    Arrival ``i`` is at ``start + i / rate`` for every ``i`` with ``i / rate < duration``,
    compared exactly on the values of the two floats (so ``ceil(rate * duration)`` arrivals,
    the product taken without rounding); the times themselves are rounded to floats.
    """
    rate = check_positive("steady", "rate", rate)
    duration = check_positive("steady", "duration", duration)
    start = _check_time("steady", "start", start)
    _check_size("steady", rate * duration, f"rate={rate!r} over duration={duration!r}")
    count = _count_below(Fraction(rate) * Fraction(duration))
    _check_size("steady", count, f"rate={rate!r} over duration={duration!r}")  # the exact count
    return [start + i / rate for i in range(count)]


def _count_below(bound: Fraction) -> int:
    """How many of i = 0, 1, 2, ... are below ``bound`` (> 0): ``ceil(bound)``."""
    return -(-bound.numerator // bound.denominator)


def poisson(rate: float, duration: float, *, seed: int = 0, start: float = 0.0) -> list[float]:
    """Independent arrivals averaging ``rate`` per second (exponential gaps), seeded.

    The gaps are summed from 0 and each arrival is ``start`` plus that offset, so a large
    ``start`` (an epoch time) rounds each arrival once instead of losing the small gaps to the
    rounding of a running sum; the offsets are the same for every ``start``. A call that draws
    more than :data:`MAX_ARRIVALS` arrivals (possible only when about that many are expected)
    raises RateLimitError.
    """
    rate = check_positive("poisson", "rate", rate)
    duration = check_positive("poisson", "duration", duration)
    seed = _check_seed("poisson", seed)
    start = _check_time("poisson", "start", start)
    _check_size("poisson", rate * duration, f"rate={rate!r} over duration={duration!r}")
    end = start + duration
    if end == start:  # a duration below the start's rounding step: nothing fits
        return []
    rng = random.Random(seed)
    out: list[float] = []
    offset = rng.expovariate(rate)
    while offset < duration and start + offset < end:  # (start + offset may round to the end)
        if len(out) == MAX_ARRIVALS:
            raise RateLimitError(
                f"poisson: rate={rate!r} over duration={duration!r} drew more than "
                f"{MAX_ARRIVALS:,} arrivals; at most {MAX_ARRIVALS:,} per call"
            )
        out.append(start + offset)
        offset += rng.expovariate(rate)
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
    """A burst of ``size`` requests every ``every`` seconds, each spread over ``spread`` seconds.

    Burst ``k`` starts at ``start + k * every`` for every ``k`` with ``k * every < duration``,
    compared exactly on the values of the floats.
    """
    size = check_count("bursts", "size", size, MAX_ARRIVALS)
    every = check_positive("bursts", "every", every)
    duration = check_positive("bursts", "duration", duration)
    if not (spread.__class__ in (int, float) and spread == 0):
        spread = check_positive("bursts", "spread", spread)
    seed = _check_seed("bursts", seed)
    start = _check_time("bursts", "start", start)
    _check_size("bursts", size * (duration / every + 1), f"size={size} every {every!r}s")
    rng = random.Random(seed)
    out: list[float] = []
    for k in range(_count_below(Fraction(duration) / Fraction(every))):
        base = start + k * every
        out.extend(base + (rng.uniform(0.0, spread) if spread else 0.0) for _ in range(size))
    return sorted(out)


def boundary_burst(limit: int, per: float, *, window: int = 1, gap: float = 0.001) -> list[float]:
    """``limit`` requests ``gap`` seconds before a window boundary, then ``limit`` right on it.

    A fixed window of ``limit`` per ``per`` admits all ``2 * limit`` of them within ``gap``
    seconds; a sliding window admits ``limit``.
    """
    limit = check_count("boundary_burst", "limit", limit, MAX_ARRIVALS // 2)
    per = check_positive("boundary_burst", "per", per)
    gap = check_positive("boundary_burst", "gap", gap)
    if isinstance(window, bool) or not isinstance(window, int):
        raise RateLimitError(f"boundary_burst: window={shown(window, 80)} must be an int")
    try:
        edge = float(window) * per
    except OverflowError:
        edge = math.inf
    edge = _check_time("boundary_burst", "window * per", edge)
    return [edge - gap] * limit + [edge] * limit
