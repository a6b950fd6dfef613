"""reputation: ratings, review tokens, the ring detector, the marketplace, matching."""

from __future__ import annotations

import random
from typing import Any

from designpatterns_ref.reputation import (
    DecayingRating,
    GridIndex,
    Marketplace,
    Matcher,
    Provider,
    ReputationError,
    Request,
    ReviewBook,
    RingDetector,
    StarCounts,
    bayesian_average,
    decayed_mean,
    generate_marketplace,
    haversine_m,
    maximal_cliques,
    precision_recall,
    rank,
    ranks_by_rule,
    scorer,
    star_lower_bound,
    star_posterior_mean,
    weighted_rating,
    wilson_lower_bound,
    z_for,
)
from designpatterns_ref.reputation.plot import plot_ring_tradeoff, plot_scores_vs_reviews
from tests.fuzz.helpers import per_argument
from tests.fuzz.spec import Entry

_SMALL = generate_marketplace(users=30, jobs=30, rings=1, neighbour_groups=1, seed=1)


def _close(fig: Any) -> None:
    """Drop a figure at once (the fuzz suite makes many)."""
    fig.clear()


ERRORS = (ReputationError,)
NOT_FUZZED: dict[str, str] = {
    "Review": "made by ReviewBook.review from a checked token and stars (fuzzed there); users "
    "read it, never pass one in",
    "Match": "a ranked result of Matcher.match and Matcher.candidates; users read it",
    "Ring": "a flagged group returned by RingDetector.rings; users read it",
}

_C = StarCounts.of([5, 4])
_PROVIDER: dict[str, Any] = {
    "provider_id": "p",
    "lat": 52.0,
    "lon": 4.0,
    "skills": frozenset({"x"}),
    "windows": ((0.0, 10.0),),
}
_REQUEST: dict[str, Any] = {
    "lat": 52.0,
    "lon": 4.0,
    "skill": "x",
    "start": 1.0,
    "end": 2.0,
    "max_distance_m": 1_000.0,
}
_MATCHER: dict[str, Any] = {
    "prior_mean": 4.0,
    "prior_weight": 5.0,
    "distance_weight": 0.3,
    "new_below": 3,
    "explore_slots": 1,
    "max_explorations": 20,
}
_RING: dict[str, Any] = {"min_mutual": 1, "min_size": 3, "insularity": 0.6, "min_stars": 4.5}
_MARKET: dict[str, Any] = {"users": 20, "jobs": 10, "rings": 1, "neighbour_groups": 1, "seed": 0}


def _skills(v: Any) -> Any:
    """A frozenset holding ``v``, or ``v`` itself when it cannot be held (unhashable)."""
    try:
        return frozenset([v])
    except TypeError:
        return v


def _book() -> tuple[ReviewBook, str]:
    book = ReviewBook(rng=random.Random(1))
    token, _ = book.complete_job("j", client="a", provider="b")
    return book, token


def _matcher() -> Matcher:
    m = Matcher()
    m.add_provider(Provider(**_PROVIDER))
    return m


def _grid() -> GridIndex:
    g = GridIndex()
    g.add("k", 52.0, 4.0)
    return g


def _rating() -> DecayingRating:
    r = DecayingRating(half_life=10.0)
    r.add(5, at=0.0)
    return r


ENTRIES = [
    Entry("StarCounts(counts)", call=lambda _, v: StarCounts(v)),
    Entry("StarCounts(count)", call=lambda _, v: StarCounts((v, 0, 0, 0, 0))),
    Entry("StarCounts.of", call=lambda _, v: StarCounts.of(v)),
    Entry("StarCounts.of(item)", call=lambda _, v: StarCounts.of([v])),
    Entry("StarCounts.add", call=lambda c, v: c.add(v), make=lambda: _C),
    Entry("weighted_rating(mean)", call=lambda _, v: weighted_rating(v, 1, 4.0, 5.0)),
    Entry("weighted_rating(votes)", call=lambda _, v: weighted_rating(4.0, v, 4.0, 5.0)),
    Entry("weighted_rating(prior_mean)", call=lambda _, v: weighted_rating(4.0, 1, v, 5.0)),
    Entry("weighted_rating(prior_weight)", call=lambda _, v: weighted_rating(4.0, 1, 4.0, v)),
    Entry("bayesian_average(counts)", call=lambda _, v: bayesian_average(v)),
    Entry("bayesian_average(prior_mean)", call=lambda _, v: bayesian_average(_C, prior_mean=v)),
    Entry("bayesian_average(prior_weight)", call=lambda _, v: bayesian_average(_C, prior_weight=v)),
    Entry("wilson_lower_bound(positive)", call=lambda _, v: wilson_lower_bound(v, 10)),
    Entry("wilson_lower_bound(n)", call=lambda _, v: wilson_lower_bound(1, v)),
    Entry("wilson_lower_bound(z)", call=lambda _, v: wilson_lower_bound(1, 2, z=v)),
    Entry("z_for", call=lambda _, v: z_for(v)),
    Entry("star_lower_bound(counts)", call=lambda _, v: star_lower_bound(v)),
    Entry("star_lower_bound(z)", call=lambda _, v: star_lower_bound(_C, z=v)),
    Entry("star_posterior_mean", call=lambda _, v: star_posterior_mean(v)),
    Entry("decayed_mean(reviews)", call=lambda _, v: decayed_mean(v, now=0, half_life=1)),
    Entry("decayed_mean(review)", call=lambda _, v: decayed_mean([v], now=0, half_life=1)),
    Entry("decayed_mean(now)", call=lambda _, v: decayed_mean([(5, 0)], now=v, half_life=1)),
    Entry(
        "decayed_mean(now, with a prior)",
        call=lambda _, v: decayed_mean([(5, 0)], now=v, half_life=1, prior_weight=1),
    ),
    Entry("decayed_mean(half_life)", call=lambda _, v: decayed_mean([], now=0, half_life=v)),
    Entry(
        "decayed_mean(prior_weight)",
        call=lambda _, v: decayed_mean([], now=0, half_life=1, prior_weight=v),
    ),
    Entry("DecayingRating(half_life)", call=lambda _, v: DecayingRating(half_life=v)),
    Entry(
        "DecayingRating(prior_mean)", call=lambda _, v: DecayingRating(half_life=1, prior_mean=v)
    ),
    Entry(
        "DecayingRating(prior_weight)",
        call=lambda _, v: DecayingRating(half_life=1, prior_weight=v),
    ),
    Entry("DecayingRating.add(stars)", call=lambda r, v: r.add(v, at=0.0), make=_rating),
    Entry("DecayingRating.add(at)", call=lambda r, v: r.add(5, at=v), make=_rating),
    Entry("DecayingRating.score", call=lambda r, v: r.score(now=v), make=_rating),
    Entry("ReviewBook(rng)", call=lambda _, v: ReviewBook(rng=v)),
    *(
        Entry(
            f"ReviewBook.complete_job({arg})",
            call=lambda bt, v, a=arg: bt[0].complete_job(
                **{"job_id": "j2", "client": "c", "provider": "d", a: v}
            ),
            make=_book,
        )
        for arg in ("job_id", "client", "provider")
    ),
    Entry("ReviewBook.review(token)", call=lambda bt, v: bt[0].review(v, stars=5), make=_book),
    Entry("ReviewBook.review(stars)", call=lambda bt, v: bt[0].review(bt[1], stars=v), make=_book),
    Entry(
        "ReviewBook.review(at)", call=lambda bt, v: bt[0].review(bt[1], stars=5, at=v), make=_book
    ),
    Entry("ReviewBook.stats", call=lambda bt, v: bt[0].stats(v), make=_book),
    *(
        Entry(f"RingDetector({arg})", call=lambda _, v, a=arg: RingDetector(**{**_RING, a: v}))
        for arg in _RING
    ),
    Entry("RingDetector.rings", call=lambda d, v: d.rings(v), make=RingDetector),
    Entry("RingDetector.rings(review)", call=lambda d, v: d.rings([v]), make=RingDetector),
    Entry(
        "RingDetector.rings(stars)", call=lambda d, v: d.rings([("a", "b", v)]), make=RingDetector
    ),
    Entry(
        "RingDetector.flagged_accounts", call=lambda d, v: d.flagged_accounts(v), make=RingDetector
    ),
    Entry("maximal_cliques", call=lambda _, v: maximal_cliques(v)),
    Entry("maximal_cliques(neighbours)", call=lambda _, v: maximal_cliques({"a": v})),
    Entry("precision_recall(flagged)", call=lambda _, v: precision_recall(v, {"a"})),
    Entry("precision_recall(planted)", call=lambda _, v: precision_recall({"a"}, v)),
    *(
        Entry(
            f"generate_marketplace({arg})",
            call=lambda _, v, a=arg: generate_marketplace(**{**_MARKET, a: v}),
        )
        for arg in _MARKET
    ),
    Entry("haversine_m", call=lambda _, v: haversine_m(v, 0.0, 0.0, 0.0)),
    Entry("haversine_m(lon2)", call=lambda _, v: haversine_m(0.0, 0.0, 0.0, v)),
    Entry("GridIndex.add(key)", call=lambda g, v: g.add(v, 52.0, 4.0), make=_grid),
    Entry("GridIndex.add(lat)", call=lambda g, v: g.add("k2", v, 4.0), make=_grid),
    Entry("GridIndex.add(lon)", call=lambda g, v: g.add("k", 52.0, v), make=_grid),
    Entry("GridIndex.remove", call=lambda g, v: g.remove(v), make=_grid),
    Entry("GridIndex.within(lat)", call=lambda g, v: g.within(v, 4.0, 10.0), make=_grid),
    Entry("GridIndex.within(radius_m)", call=lambda g, v: g.within(52.0, 4.0, v), make=_grid),
    *(
        Entry(f"Provider({arg})", call=lambda _, v, a=arg: Provider(**{**_PROVIDER, a: v}))
        for arg in _PROVIDER
    ),
    Entry("Provider(window)", call=lambda _, v: Provider(**{**_PROVIDER, "windows": (v,)})),
    Entry("Provider(skill)", call=lambda _, v: Provider(**{**_PROVIDER, "skills": _skills(v)})),
    Entry(
        "Provider.free(start)", call=lambda p, v: p.free(v, 2.0), make=lambda: Provider(**_PROVIDER)
    ),
    Entry(
        "Provider.free(end)", call=lambda p, v: p.free(1.0, v), make=lambda: Provider(**_PROVIDER)
    ),
    *(
        Entry(f"Request({arg})", call=lambda _, v, a=arg: Request(**{**_REQUEST, a: v}))
        for arg in _REQUEST
    ),
    *(
        Entry(f"Matcher({arg})", call=lambda _, v, a=arg: Matcher(**{**_MATCHER, a: v}))
        for arg in _MATCHER
    ),
    Entry("Matcher.add_provider", call=lambda m, v: m.add_provider(v), make=_matcher),
    Entry(
        "Matcher.set_reputation(provider_id)",
        call=lambda m, v: m.set_reputation(v, _C),
        make=_matcher,
    ),
    Entry(
        "Matcher.set_reputation(counts)", call=lambda m, v: m.set_reputation("p", v), make=_matcher
    ),
    Entry("Matcher.candidates", call=lambda m, v: m.candidates(v), make=_matcher),
    Entry("Matcher.match(request)", call=lambda m, v: m.match(v), make=_matcher),
    Entry("Matcher.match(k)", call=lambda m, v: m.match(Request(**_REQUEST), k=v), make=_matcher),
    Entry("rank(providers)", call=lambda _, v: rank(v)),
    Entry("rank(counts)", call=lambda _, v: rank({"a": v})),
    Entry("rank(rule)", call=lambda _, v: rank({"a": _C}, v)),
    Entry("rank(k)", call=lambda _, v: rank({"a": _C}, "bayes", v)),
    Entry("rank(prior_mean)", call=lambda _, v: rank({"a": _C}, prior_mean=v)),
    Entry("ranks_by_rule", call=lambda _, v: ranks_by_rule(v)),
    Entry("scorer", call=lambda _, v: scorer(v)),
]

ENTRIES += [
    Entry(
        "plot.plot_scores_vs_reviews(reviews)",
        call=lambda _, v: _close(plot_scores_vs_reviews(reviews=v)),
    ),
    Entry(
        "plot.plot_scores_vs_reviews(seed)",
        call=lambda _, v: _close(plot_scores_vs_reviews(reviews=2, seed=v)),
    ),
    Entry(
        "plot.plot_ring_tradeoff(market)",
        call=lambda _, v: plot_ring_tradeoff(v if v is not None else 0),
    ),
    Entry(
        "plot.plot_ring_tradeoff(thresholds)",
        call=lambda _, v: plot_ring_tradeoff(_SMALL, thresholds=(v,)),
    ),
    *per_argument(
        "Marketplace",
        lambda _, **kw: Marketplace(**kw),
        {
            "reviews": list(_SMALL.reviews),
            "planted": list(_SMALL.planted),
            "neighbours": list(_SMALL.neighbours),
            "quality": dict(_SMALL.quality),
        },
    ),
    Entry("Marketplace(reviews=[item])", call=lambda _, v: Marketplace(reviews=[v])),
    Entry(
        "Marketplace(reviews=[(a, b, v)])", call=lambda _, v: Marketplace(reviews=[("a", "b", v)])
    ),
    Entry("Marketplace(planted=[group])", call=lambda _, v: Marketplace(planted=[v])),
    Entry("Marketplace(quality={a: v})", call=lambda _, v: Marketplace(quality={"a": v})),
    Entry(
        "Marketplace(planted=) through plot_ring_tradeoff",
        call=lambda _, v: _close(plot_ring_tradeoff(Marketplace(planted=v), thresholds=(0.5,))),
    ),
]
