"""The Wilson score lower bound: rank thumbs up/down by what we are 95% sure of.

Case study: Design a Free Local Gig Marketplace (docs/case-studies/gig-marketplace.md)

Evan Miller's "How Not To Sort By Average Rating": with ``n`` ratings of which a fraction ``p`` are
positive, the lower end of Wilson's (1927) score interval for the true fraction is

``(p + z²/2n - z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)``

with ``z`` the normal quantile of the confidence (1.96 for a two-sided 95% interval). Two of two
positive scores 0.34; 100 of 101 scores 0.95: few votes are doubted, many are believed. It is
never above ``p`` and never below 0, and it is 0 with no votes (a new provider gets no credit:
that is why search needs an exploration slot, :mod:`.matching`).

Complexity: O(1).

>>> round(wilson_lower_bound(2, 2), 4), round(wilson_lower_bound(100, 101), 4)
(0.3424, 0.946)
"""

from __future__ import annotations

import math
from statistics import NormalDist

from designpatterns_ref.errors import shown
from designpatterns_ref.reputation.base import ReputationError, check_count, check_number

__all__ = ["wilson_lower_bound", "z_for"]

#: The most votes taken: every review a :class:`~designpatterns_ref.reputation.base.StarCounts`
#: holds (up to 10**12 of each star value), so any provider's thumbs can be scored.
MAX_VOTES = 5 * 10**12


def z_for(confidence: float) -> float:
    """The two-sided normal quantile for ``confidence`` (0.95 gives 1.95996...)."""
    level = check_number("confidence", confidence, lo=0.0, hi=1.0, lo_open=True)
    if level >= 1.0:
        raise ReputationError(f"confidence={shown(confidence)} must be below 1")
    # the lower tail (1 - level) / 2 is positive for every level below 1; the upper tail
    # 1 - (1 - level) / 2 rounds to 1.0 for the largest floats below 1
    return abs(NormalDist().inv_cdf((1 - level) / 2))  # abs: 0.0, not -0.0, for a tiny level


def wilson_lower_bound(positive: int, n: int, *, z: float = 1.959963984540054) -> float:
    """The lower bound of the Wilson score interval for ``positive`` of ``n`` (counts up to
    :data:`MAX_VOTES`)."""
    pos = check_count("positive", positive, limit=MAX_VOTES)
    total = check_count("n", n, limit=MAX_VOTES)
    zz = check_number("z", z, lo=0.0)
    if pos > total:
        raise ReputationError(f"positive={shown(positive)} must not exceed n={shown(n)}")
    if total == 0:
        return 0.0
    p = pos / total
    z2 = zz * zz
    centre = p + z2 / (2 * total)
    margin = zz * math.sqrt(p * (1 - p) / total + z2 / (4 * total * total))
    # In exact arithmetic the bound lies in [0, p] (0 when p is 0); rounding can leave it a
    # few 1e-17 outside, which would rank "0 of 3" above "0 of 1". Clamp to the exact range.
    return min(p, max(0.0, (centre - margin) / (1 + z2 / total)))
