"""Reputation from reviews alone: honest ratings with small numbers, rings, cold start, matching.

Case study: Design a Free Local Gig Marketplace (docs/case-studies/gig-marketplace.md)

With no fees and no payments, a review is the only trust signal. The family shows how to make it
honest: reviews only after a completed job, one per side per job (:class:`ReviewBook`); scores
that do not lie with small numbers (:func:`bayesian_average`, :func:`wilson_lower_bound`,
:func:`star_lower_bound`, time decay in :class:`DecayingRating`); a detector for review rings
(:class:`RingDetector`) measured on a generated marketplace (:func:`generate_marketplace`); and
matching by distance, skill and availability with a cold-start prior and a bounded exploration
slot (:class:`Matcher`).

>>> ranked = rank({"new": StarCounts.of([5]), "proven": StarCounts.of([5] * 30 + [4] * 10)})
>>> " > ".join(pid for _, pid in ranked)
'proven > new'
"""

from __future__ import annotations

from designpatterns_ref.reputation.base import (
    ReputationError,
    ReputationTypeError,
    StarCounts,
)
from designpatterns_ref.reputation.bayes import bayesian_average, weighted_rating
from designpatterns_ref.reputation.decay import DecayingRating, decayed_mean
from designpatterns_ref.reputation.market import Marketplace, generate_marketplace
from designpatterns_ref.reputation.matching import (
    GridIndex,
    Match,
    Matcher,
    Provider,
    Request,
    haversine_m,
)
from designpatterns_ref.reputation.ranking import RULES, rank, ranks_by_rule, scorer
from designpatterns_ref.reputation.reviews import Review, ReviewBook
from designpatterns_ref.reputation.rings import (
    Ring,
    RingDetector,
    maximal_cliques,
    precision_recall,
)
from designpatterns_ref.reputation.stars import star_lower_bound, star_posterior_mean
from designpatterns_ref.reputation.wilson import wilson_lower_bound, z_for

__all__ = [
    "RULES",
    "DecayingRating",
    "GridIndex",
    "Marketplace",
    "Match",
    "Matcher",
    "Provider",
    "ReputationError",
    "ReputationTypeError",
    "Request",
    "Review",
    "ReviewBook",
    "Ring",
    "RingDetector",
    "StarCounts",
    "bayesian_average",
    "decayed_mean",
    "generate_marketplace",
    "haversine_m",
    "maximal_cliques",
    "precision_recall",
    "rank",
    "ranks_by_rule",
    "scorer",
    "star_lower_bound",
    "star_posterior_mean",
    "weighted_rating",
    "wilson_lower_bound",
    "z_for",
]
