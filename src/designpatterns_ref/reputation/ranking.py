"""Ranking many providers under each scoring rule, and the table that compares the rules.

Case study: Design a Free Local Gig Marketplace (docs/case-studies/gig-marketplace.md)

:func:`rank` scores every provider's :class:`~designpatterns_ref.reputation.base.StarCounts`
with one rule and returns the best ``k`` (a heap: O(n log k)), ties broken by id:

- ``"mean"``: the plain average, the rule that lies with small numbers (one 5-star review wins);
- ``"bayes"``: the Bayesian average (:mod:`.bayes`), shrunk towards ``prior_mean``;
- ``"wilson"``: the Wilson lower bound of the share of thumbs up (:mod:`.wilson`);
- ``"stars"``: Evan Miller's Bayesian lower bound for stars (:mod:`.stars`).

:func:`ranks_by_rule` puts the same providers through every rule, for the docs' table.

Complexity: O(n log k) for n providers.

>>> providers = {"one-five": StarCounts.of([5]), "steady": StarCounts.of([5, 4] * 20)}
>>> [pid for _, pid in rank(providers, "mean")], [pid for _, pid in rank(providers, "stars")]
(['one-five', 'steady'], ['steady', 'one-five'])
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Mapping

from designpatterns_ref.errors import shown
from designpatterns_ref.reputation.base import (
    MAX_WEIGHT,
    ReputationError,
    ReputationTypeError,
    StarCounts,
    check_count,
    check_number,
)

__all__ = ["RULES", "rank", "ranks_by_rule", "scorer"]

RULES = ("mean", "bayes", "wilson", "stars")


def scorer(
    rule: str, *, prior_mean: float = 4.0, prior_weight: float = 5.0
) -> Callable[[StarCounts], float]:
    """The scoring function of ``rule`` (one of :data:`RULES`), for ranking many providers.

    The same numbers as :func:`~designpatterns_ref.reputation.bayes.bayesian_average`,
    :func:`~designpatterns_ref.reputation.wilson.wilson_lower_bound` and
    :func:`~designpatterns_ref.reputation.stars.star_lower_bound` (the tests compare them), with
    the arguments checked once here rather than once per provider, and the sums over the five
    counts written out: about three times faster, which is what ranking 100,000 providers needs.

    >>> round(scorer("stars")(StarCounts((25, 20, 75, 80, 60))), 4)
    3.3684
    """
    if not isinstance(rule, str):
        raise ReputationTypeError(f"rule={shown(rule, 60)} must be a str")
    c = check_number("prior_mean", prior_mean, lo=1.0, hi=5.0)
    m = check_number("prior_weight", prior_weight, lo=0.0, hi=MAX_WEIGHT)
    if rule == "mean":

        def plain_mean(counts: StarCounts) -> float:
            a, b, d, e, f = counts.counts
            n = a + b + d + e + f
            return (a + 2 * b + 3 * d + 4 * e + 5 * f) / n if n else 0.0

        return plain_mean
    if rule == "bayes":

        def bayes(counts: StarCounts) -> float:
            a, b, d, e, f = counts.counts
            n = a + b + d + e + f
            if n == 0:  # the prior alone (m * c / m rounds off c for a subnormal m)
                return c
            return (a + 2 * b + 3 * d + 4 * e + 5 * f + m * c) / (n + m)

        return bayes
    if rule == "wilson":
        z = 1.959963984540054
        z2 = z * z

        def wilson(counts: StarCounts) -> float:
            a, b, _, e, f = counts.counts
            up, total = e + f, a + b + e + f
            if total == 0:
                return 0.0
            p = up / total
            margin = z * math.sqrt(p * (1 - p) / total + z2 / (4 * total * total))
            return min(p, max(0.0, (p + z2 / (2 * total) - margin) / (1 + z2 / total)))

        return wilson
    if rule == "stars":
        z = 1.65

        def stars(counts: StarCounts) -> float:
            a, b, d, e, f = counts.counts
            total = a + b + d + e + f + 5
            mean = (a + 1 + 2 * (b + 1) + 3 * (d + 1) + 4 * (e + 1) + 5 * (f + 1)) / total
            second = (a + 1 + 4 * (b + 1) + 9 * (d + 1) + 16 * (e + 1) + 25 * (f + 1)) / total
            return mean - z * math.sqrt(max(0.0, second - mean * mean) / (total + 1))

        return stars
    raise ReputationError(f"rule={shown(rule, 60)} must be one of {RULES}")


def _thumbs(c: StarCounts) -> tuple[int, int]:
    up, down = c.thumbs
    return up, up + down


def rank(
    providers: Mapping[str, StarCounts],
    rule: str = "bayes",
    k: int | None = None,
    *,
    prior_mean: float = 4.0,
    prior_weight: float = 5.0,
) -> list[tuple[float, str]]:
    """The best ``k`` (all when None) providers under ``rule``: ``(score, id)``, best first."""
    if not isinstance(rule, str):
        raise ReputationTypeError(f"rule={shown(rule, 60)} must be a str")
    if not isinstance(providers, Mapping):
        raise ReputationTypeError(f"providers={shown(providers, 60)} must map ids to StarCounts")
    score = scorer(rule, prior_mean=prior_mean, prior_weight=prior_weight)
    if not isinstance(providers, Mapping):
        raise ReputationTypeError(f"providers={shown(providers, 60)} must map ids to StarCounts")
    size = len(providers) if k is None else check_count("k", k, limit=10**9)
    for pid, counts in providers.items():
        if not isinstance(pid, str) or not isinstance(counts, StarCounts):
            raise ReputationTypeError(
                f"providers[{shown(pid, 40)}] must be StarCounts keyed by str"
            )
    scored = [(-score(c), pid) for pid, c in providers.items()]
    best = heapq.nsmallest(size, scored) if size < len(scored) else sorted(scored)
    return [(-negative, pid) for negative, pid in best]


def ranks_by_rule(providers: Mapping[str, StarCounts]) -> dict[str, dict[str, int]]:
    """``{provider: {rule: position}}``, positions from 1, for every rule of :data:`RULES`."""
    if not isinstance(providers, Mapping):
        raise ReputationTypeError(f"providers={shown(providers, 60)} must map ids to StarCounts")
    table: dict[str, dict[str, int]] = {pid: {} for pid in providers}
    for rule in RULES:
        for position, (_, pid) in enumerate(rank(providers, rule), start=1):
            table[pid][rule] = position
    return table
