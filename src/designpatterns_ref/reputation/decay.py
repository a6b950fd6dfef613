"""Time decay: recent reviews weigh more, with a half-life, kept in O(1) per review.

Case study: Design a Free Local Gig Marketplace (docs/case-studies/gig-marketplace.md)

A provider who was excellent three years ago and careless last month should not rank on the old
reviews. Each review's weight halves every ``half_life`` seconds: ``w = 2 ** (-(now - at) /
half_life)``. The decayed mean is ``sum w_i s_i / sum w_i``, shrunk towards a prior like the
Bayesian average (:mod:`.bayes`) so that decayed-away history falls back to the crowd's mean
rather than to whatever the last review said.

:class:`DecayingRating` keeps the two sums relative to a fixed origin time and scales them once
per query (``2 ** (-(now - origin) / half_life)``), so adding a review is O(1) and no stored
review is ever revisited; the origin moves forward when a review lands 64 half-lives after it, to
keep the floats in range. Queries are meant for times at or after the reviews (a query far in the
past of the origin is clamped). :func:`decayed_mean` is the same number computed the plain way, over every
review (the reference the tests compare with).

Complexity: O(1) per review and per query.

>>> r = DecayingRating(half_life=30 * 86_400, prior_mean=4.0, prior_weight=2)
>>> r.add(5, at=0.0)
>>> round(r.score(now=0.0), 4), round(r.score(now=30 * 86_400.0), 4)
(4.3333, 4.2)
"""  # noqa: E501

from __future__ import annotations

from collections.abc import Iterable

from designpatterns_ref.errors import shown
from designpatterns_ref.reputation.base import (
    MAX_WEIGHT,
    ReputationTypeError,
    check_number,
    check_stars,
)

__all__ = ["DecayingRating", "decayed_mean"]

_MOVE_AFTER = 64.0  # half-lives
_LIMIT = 1_000.0


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
        items.append((check_stars("stars", pair[0]), -(t - check_number("at", pair[1])) / h))
    if not items:
        return c
    # Only ratios matter: (total + m c) / (weight + m) is unchanged when the weights and the
    # prior's weight m are all scaled by 2 ** -shift. With no prior, measure the weights from
    # the newest review, so reviews thousands of half-lives old still give their
    # (equal-weighted) mean; with a prior, scale down only (a review dated after ``now`` has a
    # weight above 1, which past about 1,024 half-lives no float holds).
    newest = max(e for _, e in items)
    shift = newest if m == 0 else max(newest, 0.0)
    weight = total = 0.0
    for stars, exponent in items:
        w = 2.0 ** max(-1_100.0, exponent - shift)
        weight += w
        total += w * stars
    if m:  # (then shift >= 0: the prior only scales down)
        m *= 2.0 ** max(-1_100.0, -shift)
    if weight + m == 0:
        return c
    return (total + m * c) / (weight + m)


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
        self.weight = 0.0  # sum of 2 ** ((at - origin) / half_life)
        self.total = 0.0  # the same, times the stars
        self.count = 0

    def add(self, stars: int, *, at: float) -> None:
        """Add one review of ``stars`` given at time ``at``."""
        s = check_stars("stars", stars)
        t = check_number("at", at)
        if self.origin is None:
            self.origin = t
        exponent = (t - self.origin) / self.half_life
        if exponent > _MOVE_AFTER:  # keep 2 ** exponent far from overflow: move the origin
            scale = 2.0 ** max(-_LIMIT, -exponent)
            self.weight *= scale
            self.total *= scale
            self.origin, exponent = t, 0.0
        w = 2.0 ** max(-_LIMIT, exponent)  # older than 1,000 half-lives weighs (almost) nothing
        self.weight += w
        self.total += w * s
        self.count += 1

    def score(self, *, now: float) -> float:
        """The decayed, prior-shrunk mean at time ``now``."""
        t = check_number("now", now)
        if self.origin is None:
            return self.prior_mean
        exponent = -(t - self.origin) / self.half_life
        scale: float = 2.0 ** max(-_LIMIT, min(_MOVE_AFTER, exponent))
        weight, total = self.weight * scale, self.total * scale
        m = self.prior_weight
        if weight + m == 0:
            return self.prior_mean
        return (total + m * self.prior_mean) / (weight + m)
