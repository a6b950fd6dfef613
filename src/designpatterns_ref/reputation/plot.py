"""Figures for the reputation family: scores as reviews accumulate, and the ring detector's trade-off.

Case study: Design a Free Local Gig Marketplace (docs/case-studies/gig-marketplace.md)

:func:`plot_scores_vs_reviews` follows one provider whose reviews arrive in a fixed, seeded order
and draws its score under each rule after every review: the plain mean jumps about, the
Bayesian average starts at the prior, the lower bounds start low and climb as evidence builds.
:func:`plot_ring_tradeoff` runs the ring detector on a generated marketplace at several
insularity thresholds and draws precision and recall. matplotlib is imported inside the
functions (the ``plot`` extra); each takes an optional ``ax`` and returns the Figure.

Complexity: O(reviews); O(thresholds x reviews) for the trade-off.

>>> callable(plot_scores_vs_reviews) and callable(plot_ring_tradeoff)
True
"""  # noqa: E501

from __future__ import annotations

import random
from typing import Any

from designpatterns_ref.errors import shown
from designpatterns_ref.figures import new_figure
from designpatterns_ref.reputation.base import (
    ReputationTypeError,
    StarCounts,
    check_count,
    check_number,
)
from designpatterns_ref.reputation.market import Marketplace, generate_marketplace
from designpatterns_ref.reputation.ranking import RULES, scorer
from designpatterns_ref.reputation.rings import RingDetector, precision_recall

__all__ = ["plot_ring_tradeoff", "plot_scores_vs_reviews"]


def plot_scores_vs_reviews(*, reviews: int = 60, seed: int = 3, ax: Any = None) -> Any:
    """A good provider's score under every rule after each of its first ``reviews`` reviews."""
    n = check_count("reviews", reviews, limit=100_000)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ReputationTypeError(f"seed={shown(seed, 40)} must be an int")
    rng = random.Random(seed)
    stars = rng.choices([5, 4, 3, 1], weights=[60, 25, 10, 5], k=n)
    fig, ax = new_figure(ax)
    for rule in RULES:
        score = scorer(rule)
        counts = StarCounts()
        ys = [score(counts)]
        for s in stars:
            counts = counts.add(s)
            ys.append(score(counts))
        if rule == "wilson":  # a share of thumbs: draw it on the star scale
            ys = [1 + 4 * y for y in ys]
        ax.plot(range(n + 1), ys, label=rule)
    ax.set_xlabel("reviews so far")
    ax.set_ylabel("score (stars; Wilson mapped to 1-5)")
    ax.set_title("One provider's score under each rule as reviews arrive")
    ax.legend()
    return fig


def plot_ring_tradeoff(
    market: Marketplace | None = None,
    *,
    thresholds: tuple[float, ...] = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9),
    ax: Any = None,
) -> Any:
    """Precision and recall of the ring detector as its insularity threshold rises."""
    if market is not None and not isinstance(market, Marketplace):
        raise ReputationTypeError(f"market={shown(market, 60)} must be a Marketplace or None")
    if not isinstance(thresholds, tuple) or not thresholds:
        raise ReputationTypeError(f"thresholds={shown(thresholds, 60)} must be a non-empty tuple")
    for t in thresholds:
        check_number("threshold", t, lo=0.0, hi=1.0)
    m = market if market is not None else generate_marketplace(seed=7)
    points = [
        precision_recall(RingDetector(insularity=t).flagged_accounts(m.reviews), m.ring_members)
        for t in thresholds
    ]
    fig, ax = new_figure(ax)
    ax.plot(thresholds, [p for p, _ in points], marker="o", label="precision")
    ax.plot(thresholds, [r for _, r in points], marker="s", label="recall")
    ax.set_xlabel("insularity threshold")
    ax.set_ylabel("share")
    ax.set_ylim(0, 1.05)
    ax.set_title(f"Ring detector on a generated marketplace ({len(m.planted)} planted rings)")
    ax.legend()
    return fig
