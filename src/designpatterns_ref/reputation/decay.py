"""Time decay: recent reviews weigh more, with a half-life, kept in O(1) per review.

Case study: Design a Free Local Gig Marketplace (docs/case-studies/gig-marketplace.md)

A provider who was excellent three years ago and careless last month should not rank on the old
reviews. Each review's weight halves every ``half_life`` seconds: ``w = 2 ** (-(now - at) /
half_life)``. The decayed mean is ``sum w_i s_i / sum w_i``, shrunk towards a prior like the
Bayesian average (:mod:`.bayes`) so that decayed-away history falls back to the crowd's mean
rather than to whatever the last review said.

The weights themselves leave the float range (a review 1,100 half-lives old weighs less than the
smallest float, one dated after ``now`` can weigh more than the largest), but only their ratios
matter, so both functions here compute the formula without ever holding one:

* the reviews' mean is taken with weights relative to the newest review, ``2 ** -((newest -
  at) / half_life)``, each at most 1, the newest exactly 1: a weight that rounds to 0 there is
  below 2 ** -1074 of the sum, so dropping it changes no digit;
* the prior then mixes in through the ratio ``r = sum w_i / prior_weight`` at ``now``, taken
  as a power of two, ``log2 r = log2(sum) - (now - newest) / half_life - log2(prior_weight)``,
  and ``(mean r + prior_mean) / (r + 1)`` is evaluated on the side where ``2 ** -|log2 r|`` is
  at most 1: no overflow, and an infinite span (``now - newest`` past the largest float, or a
  subnormal ``half_life``) gives the limit, the mean or the prior mean.

A span of times (``now - at``) past the largest float is measured in halves, so a huge
``half_life`` still gives its finite number of half-lives. Nothing is clamped: the result is the
formula's to the floats' rounding, for any finite times and any positive ``half_life``, with a
query before, at or after the reviews.

:class:`DecayingRating` keeps the two sums relative to its newest review (``origin``), scaling
them down once when a newer review arrives, so adding a review is O(1) and no stored review is
ever revisited. :func:`decayed_mean` is the same number computed the plain way, over every
review (the reference the tests compare with).

Complexity: O(1) per review and per query.

>>> r = DecayingRating(half_life=30 * 86_400, prior_mean=4.0, prior_weight=2)
>>> r.add(5, at=0.0)
>>> round(r.score(now=0.0), 4), round(r.score(now=30 * 86_400.0), 4)
(4.3333, 4.2)
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from designpatterns_ref.errors import shown
from designpatterns_ref.reputation.base import (
    MAX_WEIGHT,
    ReputationTypeError,
    check_number,
    check_stars,
)

__all__ = ["DecayingRating", "decayed_mean"]


def _half_lives(later: float, earlier: float, half_life: float) -> float:
    """``(later - earlier) / half_life``, ``later >= earlier``: finite times whose difference
    passes the largest float are measured in halves (then +inf only if the ratio is)."""
    span = later - earlier
    if math.isinf(span):
        return (later * 0.5 - earlier * 0.5) / half_life * 2.0
    return span / half_life


def _shrunk(mean: float, weight: float, ago: float, prior_mean: float, m: float) -> float:
    """``(mean W + prior_mean m) / (W + m)`` with ``W = weight * 2 ** -ago`` (``weight`` >= 1,
    ``ago`` the half-lives from the newest review to now, any sign, possibly infinite), kept in
    the stars' range 1..5, which it is in exactly and which rounding could step past by an ulp."""
    if m == 0:
        mixed = mean
    else:
        log2_ratio = math.log2(weight) - ago - math.log2(m)  # log2(W / m), never nan
        if log2_ratio > 0:  # the reviews outweigh the prior: scale the prior's side down
            q = 2.0**-log2_ratio
            mixed = (mean + prior_mean * q) / (1.0 + q)
        else:
            q = 2.0**log2_ratio
            mixed = (mean * q + prior_mean) / (q + 1.0)
    return min(max(mixed, 1.0), 5.0)


def decayed_mean(
    reviews: Iterable[tuple[int, float]],
    *,
    now: float,
    half_life: float,
    prior_mean: float = 4.0,
    prior_weight: float = 0.0,
) -> float:
    """The decayed, prior-shrunk mean of ``(stars, at)`` reviews, computed over every review."""
    t = check_number("now", now)
    h = check_number("half_life", half_life, lo=0.0, lo_open=True)
    c = check_number("prior_mean", prior_mean, lo=1.0, hi=5.0)
    m = check_number("prior_weight", prior_weight, lo=0.0, hi=MAX_WEIGHT)
    try:
        pairs = list(reviews)
    except TypeError:
        raise ReputationTypeError(
            f"reviews={shown(reviews, 60)} must be (stars, at) pairs"
        ) from None
    items = []
    for pair in pairs:
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise ReputationTypeError(f"review={shown(pair, 60)} must be a (stars, at) pair")
        items.append((check_stars("stars", pair[0]), check_number("at", pair[1])))
    if not items:
        return c
    newest = max(at for _, at in items)
    weight = total = 0.0
    for stars, at in items:
        w = 2.0 ** -_half_lives(newest, at, h)  # at most 1; the newest's is 1
        weight += w
        total += w * stars
    ago = _half_lives(t, newest, h) if t >= newest else -_half_lives(newest, t, h)
    return _shrunk(total / weight, weight, ago, c, m)


class DecayingRating:
    """A running time-decayed rating: ``add(stars, at)`` and ``score(now)`` in O(1)."""

    __slots__ = ("count", "half_life", "origin", "prior_mean", "prior_weight", "total", "weight")

    def __init__(
        self, *, half_life: float, prior_mean: float = 4.0, prior_weight: float = 0.0
    ) -> None:
        self.half_life = check_number("half_life", half_life, lo=0.0, lo_open=True)
        self.prior_mean = check_number("prior_mean", prior_mean, lo=1.0, hi=5.0)
        self.prior_weight = check_number("prior_weight", prior_weight, lo=0.0, hi=MAX_WEIGHT)
        self.origin: float | None = None
        self.weight = 0.0  # sum of 2 ** ((at - origin) / half_life), origin the newest review
        self.total = 0.0  # the same, times the stars
        self.count = 0

    def add(self, stars: int, *, at: float) -> None:
        """Add one review of ``stars`` given at time ``at``."""
        s = check_stars("stars", stars)
        t = check_number("at", at)
        if self.origin is None or t > self.origin:  # the newest review: it weighs 1 now
            if self.origin is not None:
                scale = 2.0 ** -_half_lives(t, self.origin, self.half_life)
                self.weight *= scale
                self.total *= scale
            self.origin = t
            w = 1.0
        else:
            w = 2.0 ** -_half_lives(self.origin, t, self.half_life)
        self.weight += w
        self.total += w * s
        self.count += 1

    def score(self, *, now: float) -> float:
        """The decayed, prior-shrunk mean at time ``now``."""
        t = check_number("now", now)
        if self.origin is None:
            return self.prior_mean
        h, origin = self.half_life, self.origin
        ago = _half_lives(t, origin, h) if t >= origin else -_half_lives(origin, t, h)
        return _shrunk(
            self.total / self.weight, self.weight, ago, self.prior_mean, self.prior_weight
        )
