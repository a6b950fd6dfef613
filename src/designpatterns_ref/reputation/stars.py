"""Evan Miller's Bayesian lower bound for star ratings: the mean we are fairly sure of.

Case study: Design a Free Local Gig Marketplace (docs/case-studies/gig-marketplace.md)

"Ranking Items With Star Ratings" (Evan Miller): put a uniform Dirichlet prior on the share of
each star value (one imaginary review of each), so with ``n_k`` reviews of ``s_k`` stars out of
``N``, over ``K`` star values, the posterior mean of the score is

``mean = sum s_k (n_k + 1) / (N + K)``

and its posterior spread gives the sort key

``mean - z sqrt( (sum s_k² (n_k + 1) / (N + K) - mean²) / (N + K + 1) )``

with ``z = 1.65`` (about 95% one-sided). Unlike the Bayesian average (:mod:`.bayes`) it
penalises spread as well as smallness: 4.0 from all 4-star reviews outranks 4.0 from a mix of 5s
and 1s. The published example: 60, 80, 75, 20 and 25 reviews of 5, 4, 3, 2 and 1 stars give
"about 3.4" (by hand: mean 925/265 = 3.4906, bound 3.3684), and ten 5-star reviews outrank that
item while five 5-star reviews fall below it. A new provider with no review gets
3 - 1.65 sqrt(2/6) = 2.05, below nearly everyone.

Complexity: O(K).

>>> round(star_lower_bound(StarCounts((25, 20, 75, 80, 60))), 4)
3.3684
"""

from __future__ import annotations

import math

from designpatterns_ref.errors import shown
from designpatterns_ref.reputation.base import (
    STARS,
    ReputationTypeError,
    StarCounts,
    check_number,
)

__all__ = ["star_lower_bound", "star_posterior_mean"]


def _check(counts: object) -> StarCounts:
    if not isinstance(counts, StarCounts):
        raise ReputationTypeError(f"counts={shown(counts, 60)} must be StarCounts")
    return counts


def star_posterior_mean(counts: StarCounts) -> float:
    """The posterior mean ``sum s_k (n_k + 1) / (N + K)`` under a uniform Dirichlet prior."""
    c = _check(counts)
    return sum(s * (n + 1) for s, n in zip(STARS, c.counts, strict=True)) / (c.n + len(STARS))


def star_lower_bound(counts: StarCounts, *, z: float = 1.65) -> float:
    """Evan Miller's sort key: the posterior mean less ``z`` posterior standard deviations."""
    c = _check(counts)
    zz = check_number("z", z, lo=0.0)
    k = len(STARS)
    total = c.n + k
    mean = sum(s * (n + 1) for s, n in zip(STARS, c.counts, strict=True)) / total
    second = sum(s * s * (n + 1) for s, n in zip(STARS, c.counts, strict=True)) / total
    return mean - zz * math.sqrt(max(0.0, second - mean * mean) / (total + 1))
