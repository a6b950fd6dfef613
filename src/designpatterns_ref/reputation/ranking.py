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
from collections.abc import Callable, Mapping

from designpatterns_ref.reputation.base import (
    ReputationError,
    ReputationTypeError,
    StarCounts,
    check_count,
)
from designpatterns_ref.reputation.bayes import bayesian_average
from designpatterns_ref.reputation.stars import star_lower_bound
from designpatterns_ref.reputation.wilson import wilson_lower_bound

__all__ = ["RULES", "rank", "ranks_by_rule", "scorer"]

RULES = ("mean", "bayes", "wilson", "stars")


def scorer(
    rule: str, *, prior_mean: float = 4.0, prior_weight: float = 5.0
) -> Callable[[StarCounts], float]:
    """The scoring function of ``rule`` (one of :data:`RULES`)."""
    if not isinstance(rule, str):
        raise ReputationTypeError(f"rule={rule!r:.60} must be a str")
    if rule == "mean":
        return lambda c: c.mean
    if rule == "bayes":
        bayesian_average(StarCounts(), prior_mean=prior_mean, prior_weight=prior_weight)
        return lambda c: bayesian_average(c, prior_mean=prior_mean, prior_weight=prior_weight)
    if rule == "wilson":
        return lambda c: wilson_lower_bound(*_thumbs(c))
    if rule == "stars":
        return star_lower_bound
    raise ReputationError(f"rule={rule!r:.60} must be one of {RULES}")


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
        raise ReputationTypeError(f"rule={rule!r:.60} must be a str")
    if not isinstance(providers, Mapping):
        raise ReputationTypeError(f"providers={providers!r:.60} must map ids to StarCounts")
    score = scorer(rule, prior_mean=prior_mean, prior_weight=prior_weight)
    if not isinstance(providers, Mapping):
        raise ReputationTypeError(f"providers={providers!r:.60} must map ids to StarCounts")
    size = len(providers) if k is None else check_count("k", k, limit=10**9)
    for pid, counts in providers.items():
        if not isinstance(pid, str) or not isinstance(counts, StarCounts):
            raise ReputationTypeError(f"providers[{pid!r:.40}] must be StarCounts keyed by str")
    scored = [(score(c), pid) for pid, c in providers.items()]
    best = heapq.nsmallest(size, scored, key=lambda t: (-t[0], t[1]))
    return best


def ranks_by_rule(providers: Mapping[str, StarCounts]) -> dict[str, dict[str, int]]:
    """``{provider: {rule: position}}``, positions from 1, for every rule of :data:`RULES`."""
    if not isinstance(providers, Mapping):
        raise ReputationTypeError(f"providers={providers!r:.60} must map ids to StarCounts")
    table: dict[str, dict[str, int]] = {pid: {} for pid in providers}
    for rule in RULES:
        for position, (_, pid) in enumerate(rank(providers, rule), start=1):
            table[pid][rule] = position
    return table
