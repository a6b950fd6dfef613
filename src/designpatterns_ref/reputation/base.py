"""Shared types of the reputation family: star counts, errors and argument checks.

Case study: Design a Free Local Gig Marketplace (docs/case-studies/gig-marketplace.md)

A provider's reputation is the tally of the stars its reviews gave: :class:`StarCounts` holds how
many 1-, 2-, 3-, 4- and 5-star reviews there are. Every scoring formula of the family reads it
(:mod:`.bayes`, :mod:`.wilson`, :mod:`.stars`), so one provider can be ranked under each and the
rankings compared. Thumbs (up or down) are stars too: 4 and 5 count as up, 1 and 2 as down, 3
as neither.

Bad arguments raise :class:`ReputationError` (a ``ValueError``) or :class:`ReputationTypeError`
(also a ``TypeError``), naming the argument, the value and what is allowed; a refused call
changes nothing.

Complexity: O(1) per update.

>>> c = StarCounts.of([5, 5, 4, 1])
>>> c.n, c.mean, c.thumbs
(4, 3.75, (3, 1))
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from designpatterns_ref.errors import DesignPatternsError, shown

__all__ = [
    "STARS",
    "ReputationError",
    "ReputationTypeError",
    "StarCounts",
    "check_count",
    "check_id",
    "check_number",
    "check_stars",
]

#: The star values, lowest first.
STARS = (1, 2, 3, 4, 5)


class ReputationError(DesignPatternsError, ValueError):
    """An argument of the reputation family is invalid (the message says what is allowed)."""


class ReputationTypeError(ReputationError, TypeError):
    """An argument of the reputation family has the wrong type."""


def check_stars(name: str, value: object) -> int:
    """``value`` as a star rating: an int from 1 to 5."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ReputationTypeError(
            f"{name}={shown(value, 60)} must be an int from 1 to 5, not {type(value).__name__}"
        )
    if not 1 <= value <= 5:
        raise ReputationError(f"{name}={shown(value, 60)} must be from 1 to 5")
    return value


def check_count(name: str, value: object, *, limit: int = 10**12) -> int:
    """``value`` as a count: an int in [0, limit]."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ReputationTypeError(
            f"{name}={shown(value, 60)} must be an int count, not {type(value).__name__}"
        )
    if not 0 <= value <= limit:
        raise ReputationError(f"{name}={shown(value, 60)} must lie in [0, {limit}]")
    return value


#: The largest prior weight (and, for ``weighted_rating``, the largest magnitude of a mean) taken:
#: far past any real count of votes, and small enough that weight times rating stays finite.
MAX_WEIGHT = 1e12


def check_number(
    name: str,
    value: object,
    *,
    lo: float = -math.inf,
    hi: float = math.inf,
    lo_open: bool = False,
) -> float:
    """``value`` as a finite float in [lo, hi] (or (lo, hi] when ``lo_open``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ReputationTypeError(
            f"{name}={shown(value, 60)} must be a number, not {type(value).__name__}"
        )
    try:
        x = float(value)
    except OverflowError:
        raise ReputationError(f"{name}={shown(value, 60)} is too large") from None
    if not math.isfinite(x) or x > hi or x < lo or (lo_open and x == lo):
        left = "(" if lo_open else "["
        raise ReputationError(f"{name}={shown(value, 60)} must be finite and in {left}{lo}, {hi}]")
    return x


def check_id(name: str, value: object) -> str:
    """``value`` as an identifier: a non-empty str of valid text, at most 200 characters."""
    if not isinstance(value, str):
        raise ReputationTypeError(
            f"{name}={shown(value, 60)} must be a str, not {type(value).__name__}"
        )
    if not 1 <= len(value) <= 200:
        raise ReputationError(f"{name}={shown(value, 60)} must be 1 to 200 characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ReputationError(f"{name}={shown(value, 60)} holds a lone surrogate") from None
    return value


@dataclass(frozen=True, slots=True)
class StarCounts:
    """How many reviews gave 1, 2, 3, 4 and 5 stars (``counts[0]`` is the 1-star count)."""

    counts: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)

    def __post_init__(self) -> None:
        if not isinstance(self.counts, tuple) or len(self.counts) != 5:
            raise ReputationTypeError(
                f"counts={shown(self.counts, 60)} must be a tuple of 5 counts"
            )
        for c in self.counts:
            check_count("count", c)

    @classmethod
    def of(cls, stars: Iterable[int]) -> StarCounts:
        """The counts of a sequence of star ratings."""
        try:
            items = iter(stars)
        except TypeError:
            raise ReputationTypeError(
                f"stars={shown(stars, 60)} must be an iterable of ints"
            ) from None
        counts = [0] * 5
        for s in items:
            counts[check_stars("stars", s) - 1] += 1
        return cls((counts[0], counts[1], counts[2], counts[3], counts[4]))

    def add(self, stars: int) -> StarCounts:
        """These counts plus one review of ``stars``."""
        i = check_stars("stars", stars) - 1
        c = list(self.counts)
        c[i] += 1
        return StarCounts((c[0], c[1], c[2], c[3], c[4]))

    @property
    def n(self) -> int:
        """How many reviews."""
        return sum(self.counts)

    @property
    def total(self) -> int:
        """The sum of all stars given."""
        return sum(s * c for s, c in zip(STARS, self.counts, strict=True))

    @property
    def mean(self) -> float:
        """The plain average (0.0 with no reviews): the number that lies with small counts."""
        return self.total / self.n if self.n else 0.0

    @property
    def thumbs(self) -> tuple[int, int]:
        """``(up, down)``: 4-5 stars are up, 1-2 are down, 3 is neither."""
        return self.counts[3] + self.counts[4], self.counts[0] + self.counts[1]
