"""The Bayesian average (IMDb's weighted rating): shrink a small sample towards the global mean.

Case study: Design a Free Local Gig Marketplace (docs/case-studies/gig-marketplace.md)

``WR = v / (v + m) * R + m / (v + m) * C`` where ``R`` is the provider's mean, ``v`` its number of
reviews, ``C`` the mean over the whole marketplace and ``m`` the prior weight: how many reviews
a provider must have before its own mean counts as much as the prior. It is the average of the
provider's reviews with ``m`` imaginary reviews of ``C`` added, so a single 5-star review moves a
new provider only a little above the crowd, and a provider with hundreds of reviews is ranked by
its own mean. It is also the cold-start rule: a provider with no review scores exactly ``C``.

The trade-off: one number to tune (``m``), no notion of uncertainty beyond it (two providers
with the same mean and count tie whatever their spread); see :mod:`.stars` for a bound that
accounts for the spread.

Complexity: O(1).

>>> bayesian_average(StarCounts.of([5]), prior_mean=4.0, prior_weight=9)
4.1
>>> bayesian_average(StarCounts(), prior_mean=4.0, prior_weight=9)
4.0
"""

from __future__ import annotations

from designpatterns_ref.errors import shown
from designpatterns_ref.reputation.base import (
    MAX_WEIGHT,
    ReputationTypeError,
    StarCounts,
    check_count,
    check_number,
)

__all__ = ["bayesian_average", "weighted_rating"]


def weighted_rating(mean: float, votes: int, prior_mean: float, prior_weight: float) -> float:
    """IMDb's ``WR = v/(v+m) R + m/(v+m) C`` from a mean ``R`` over ``v`` votes.

    >>> round(weighted_rating(9.2, 100_000, 7.0, 25_000), 2)
    8.76
    """
    r = check_number("mean", mean, lo=-MAX_WEIGHT, hi=MAX_WEIGHT)
    v = check_count("votes", votes)
    c = check_number("prior_mean", prior_mean, lo=-MAX_WEIGHT, hi=MAX_WEIGHT)
    m = check_number("prior_weight", prior_weight, lo=0.0, hi=MAX_WEIGHT)
    if v == 0:  # the prior alone: m * c / m is c, which a subnormal m would round away
        return c
    return (v * r + m * c) / (v + m)


def bayesian_average(
    counts: StarCounts, *, prior_mean: float = 4.0, prior_weight: float = 5.0
) -> float:
    """The weighted rating of a provider's star counts."""
    if not isinstance(counts, StarCounts):
        raise ReputationTypeError(f"counts={shown(counts, 60)} must be StarCounts")
    c = check_number("prior_mean", prior_mean, lo=1.0, hi=5.0)
    m = check_number("prior_weight", prior_weight, lo=0.0, hi=MAX_WEIGHT)
    n = counts.n
    if n == 0:  # the prior alone: m * c / m is c, which a subnormal m would round away
        return c
    return (counts.total + m * c) / (n + m)
