"""The birthday bound: how soon random codes collide, and how many you may draw.

Case study: Design a URL Shortener (bit.ly) (docs/case-studies/url-shortener.md)

Draw ``n`` codes uniformly from a space of ``N``. The chance that all are different is
``prod(1 - i/N for i in range(n))``, so a collision is likely once ``n`` nears ``sqrt(N)``,
far sooner than intuition says: 7 base62 characters give N = 3.5 trillion codes, and an even
chance of a collision after about 2.2 million. That is why hashed codes need a collision check,
and why counters (which never collide) dominate real shorteners.

:func:`collision_probability` computes the chance accurately over the whole range: the exact
product for small ``n``, a four-term series of ``log(1 - i/N)`` when ``n`` is a tiny fraction
of ``N``, and log-gamma otherwise. :func:`codes_until_collision` inverts it by bisection. Its
answer is the first ``n`` whose chance *reaches* ``p`` (is at least ``p``, the float ``p``
taken at its exact value), and where the chance at an ``n`` up to 2,048 is within rounding of
``p`` it is compared exactly, in integers: a chance that equals ``p`` (1/4 for two draws from
four codes) gives that ``n``, not the next.
:func:`expected_collisions` gives the expected number of draws that land on a code already
drawn, the figure the benchmark compares with real hashing.

Complexity: O(1) per call (at most 2,048 terms in the exact range); the inverse, O(log N).

>>> round(collision_probability(23, 365), 3)  # the classic birthday problem
0.507
>>> codes_until_collision(0.5, 365)
23
>>> codes_until_collision(0.5, 62**7)
2209524
"""

from __future__ import annotations

import math

from designpatterns_ref.errors import shown
from designpatterns_ref.shortcode.base import ShortCodeError

__all__ = ["codes_until_collision", "collision_probability", "expected_collisions"]

_EXACT_TERMS = 2048


#: The largest ``n`` or ``space`` these functions take (2**200, far past any code space: seven
#: base62 characters are about 2**42); beyond it the floats they use would overflow.
MAX_SPACE = 2**200


def _check(name: str, value: object, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_SPACE:
        raise ShortCodeError(
            f"{name}={shown(value)} must be an int from {low} to MAX_SPACE (2**200)"
        )
    return value


def _log_all_distinct(n: int, space: int) -> float:
    # log P(n draws from `space` are all different), computed for accuracy in every regime.
    if n <= 1:
        return 0.0
    if n > space:
        return -math.inf
    if n <= _EXACT_TERMS:
        return math.fsum(math.log1p(-i / space) for i in range(1, n))
    if n <= space // 1000:
        # log(1 - x) = -(x + x²/2 + x³/3 + x⁴/4 + ...), summed over x = i/N for i < n.
        m = n - 1
        s1 = m * (m + 1) / 2
        s2 = m * (m + 1) * (2 * m + 1) / 6
        s3 = s1 * s1
        s4 = m * (m + 1) * (2 * m + 1) * (3 * m * m + 3 * m - 1) / 30
        big = float(space)
        return -(s1 / big + s2 / (2 * big**2) + s3 / (3 * big**3) + s4 / (4 * big**4))
    return math.lgamma(space + 1) - math.lgamma(space - n + 1) - n * math.log(space)


def collision_probability(n: int, space: int) -> float:
    """The chance that ``n`` uniform draws from ``space`` codes are not all different.

    >>> collision_probability(1, 10), collision_probability(11, 10)
    (0.0, 1.0)
    """
    _check("collision_probability: n", n, 0)
    _check("collision_probability: space", space, 1)
    return 0.0 - math.expm1(_log_all_distinct(n, space))


def _reaches(n: int, space: int, p: float) -> bool:
    """Whether ``n`` draws from ``space`` codes collide with probability at least ``p``.

    The float chance decides when it is clearly on one side of ``p``. When it is within
    rounding of ``p`` (a margin far wider than its float error for ``n <= 2048``) and
    ``n <= 2048``, the chance is compared exactly instead, in integers:
    ``1 - perm(N, n) / N**n >= a / b`` with ``p = a / b``.
    """
    if n <= 1:
        return False  # no pair, no collision: 0 < p
    if n > space:
        return True  # the pigeonhole
    estimate = collision_probability(n, space)
    near = abs(estimate - p) <= 1e-9 * min(p, 1 - p) + 1e-15 * p
    if not near or n > _EXACT_TERMS:
        return estimate >= p
    a, b = p.as_integer_ratio()
    all_distinct = math.perm(space, n)
    draws: int = space**n
    return b * (draws - all_distinct) >= a * draws


def codes_until_collision(p: float, space: int) -> int:
    """The fewest draws from ``space`` codes that collide with probability at least ``p``:
    the first ``n`` at which the chance reaches ``p``.

    ``p`` is in (0, 1]; ``p = 1`` needs ``space + 1`` draws (the pigeonhole). The rule is
    followed exactly for every answer up to 2,048 draws, a chance equal to ``p`` included
    (the float ``p`` taken at its exact value); above that the chance is a floating-point
    estimate, so where the chance at the answer lies within its rounding error of ``p`` the
    answer may be one off.

    >>> codes_until_collision(1.0, 10)
    11
    >>> codes_until_collision(0.25, 4)  # two draws from four codes collide with chance 1/4
    2
    """
    if isinstance(p, bool) or not isinstance(p, int | float) or not 0 < p <= 1:
        raise ShortCodeError(f"codes_until_collision: p={shown(p)} must be a number in (0, 1]")
    _check("codes_until_collision: space", space, 1)
    if p == 1:
        return space + 1  # certainty needs the pigeonhole (floats round to 1.0 far sooner)
    # Start near the answer, n ≈ sqrt(2N ln(1/(1-p))), and widen until [lo, hi] brackets it:
    # P(lo) < p <= P(hi), where P(1) = 0 and P(space + 1) = 1.
    guess = math.isqrt(int(2 * space * -math.log1p(-p))) + 1
    hi = min(space + 1, max(2, guess))
    while hi < space + 1 and not _reaches(hi, space, p):
        hi = min(space + 1, hi * 2)
    lo = hi // 2
    while lo > 1 and _reaches(lo, space, p):
        lo //= 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _reaches(mid, space, p):
            hi = mid
        else:
            lo = mid
    return hi


def expected_collisions(n: int, space: int) -> float:
    """The expected number of ``n`` uniform draws that land on a code drawn before.

    It is ``n`` minus the expected number of distinct codes, ``N * (1 - (1 - 1/N)**n)``.

    >>> round(expected_collisions(1000, 62**3), 2)
    2.09
    """
    _check("expected_collisions: n", n, 0)
    _check("expected_collisions: space", space, 1)
    distinct = -space * math.expm1(n * math.log1p(-1 / space)) if space > 1 else min(n, 1)
    return n - distinct
