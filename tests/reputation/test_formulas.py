"""The rating formulas against hand-computed values, published examples and their invariants."""

from __future__ import annotations

import decimal
import math

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.reputation import (
    DecayingRating,
    ReputationError,
    StarCounts,
    bayesian_average,
    decayed_mean,
    rank,
    ranks_by_rule,
    scorer,
    star_lower_bound,
    star_posterior_mean,
    weighted_rating,
    wilson_lower_bound,
    z_for,
)

counts = st.tuples(*[st.integers(0, 60)] * 5).map(StarCounts)


def test_imdb_weighted_rating_by_hand() -> None:
    # (100,000 x 9.2 + 25,000 x 7.0) / 125,000 = 8.76
    assert weighted_rating(9.2, 100_000, 7.0, 25_000) == pytest.approx(8.76)
    # no votes: the prior; no prior: the mean
    assert weighted_rating(9.9, 0, 7.0, 25_000) == 7.0
    assert weighted_rating(9.9, 10, 7.0, 0) == pytest.approx(9.9)


def test_bayesian_average_by_hand() -> None:
    # one 5-star review, prior 4.0 weighted as 9 reviews: (5 + 36) / 10
    assert bayesian_average(StarCounts.of([5]), prior_mean=4.0, prior_weight=9) == 4.1
    # 3 x 5 and 1 x 1 with prior 3.5 x 4: (16 + 14) / 8 = 3.75
    got = bayesian_average(StarCounts.of([5, 5, 5, 1]), prior_mean=3.5, prior_weight=4)
    assert got == pytest.approx(3.75)


def test_wilson_by_hand_and_published() -> None:
    # Evan Miller's examples: 2 of 2 positive ranks below 100 of 101
    assert wilson_lower_bound(2, 2) == pytest.approx(0.3424, abs=1e-4)
    assert wilson_lower_bound(100, 101) == pytest.approx(0.9460, abs=1e-4)
    assert wilson_lower_bound(0, 0) == 0.0
    # by hand, 6 of 10 at z = 1.96: (0.6 + 0.19208 - 1.96 sqrt(0.024 + 0.009604)) / 1.38416
    hand = (0.6 + 0.19208 - 1.96 * math.sqrt(0.024 + 0.009604)) / 1.38416
    assert wilson_lower_bound(6, 10, z=1.96) == pytest.approx(hand, rel=1e-9)
    # his "600 up 400 down" beats "5,500 up 4,500 down"
    assert wilson_lower_bound(600, 1000) > wilson_lower_bound(5500, 10_000)
    assert z_for(0.95) == pytest.approx(1.959964, abs=1e-6)


def test_star_bound_by_hand_and_published() -> None:
    item = StarCounts((25, 20, 75, 80, 60))  # 60 fives, 80 fours, 75 threes, 20 twos, 25 ones
    mean = 925 / 265
    second = 3615 / 265
    hand = mean - 1.65 * math.sqrt((second - mean**2) / 266)
    assert star_posterior_mean(item) == pytest.approx(mean)
    assert star_lower_bound(item) == pytest.approx(hand) == pytest.approx(3.3684, abs=1e-4)
    # published: "about 3.4", and ten 5-star reviews above it, five 5-star reviews below
    assert round(star_lower_bound(item), 1) == 3.4
    providers = {
        "item": item,
        "ten": StarCounts((0,) * 4 + (10,)),
        "five": StarCounts((0,) * 4 + (5,)),
    }
    assert [pid for _, pid in rank(providers, "stars")] == ["ten", "item", "five"]
    # no reviews: 3 - 1.65 sqrt((11 - 9) / 6)
    assert star_lower_bound(StarCounts()) == pytest.approx(3 - 1.65 * math.sqrt(2 / 6))


@settings(max_examples=200)
@given(counts)
def test_lower_bounds_never_exceed_their_means(c: StarCounts) -> None:
    assert star_lower_bound(c) <= star_posterior_mean(c) + 1e-12
    up, down = c.thumbs
    if up + down:
        assert wilson_lower_bound(up, up + down) <= up / (up + down) + 1e-12
    assert 0.0 <= wilson_lower_bound(up, up + down) <= 1.0


@settings(max_examples=200)
@given(counts, st.floats(1, 5), st.floats(0, 50))
def test_adding_a_positive_review_never_lowers_a_score(c: StarCounts, prior, weight) -> None:  # type: ignore[no-untyped-def]
    better = c.add(5)
    assert (
        bayesian_average(better, prior_mean=prior, prior_weight=weight)
        >= bayesian_average(c, prior_mean=prior, prior_weight=weight) - 1e-12
    )
    assert star_lower_bound(better) >= star_lower_bound(c) - 1e-12
    for stars in (4, 5):
        up, down = c.add(stars).thumbs
        up0, down0 = c.thumbs
        assert wilson_lower_bound(up, up + down) >= wilson_lower_bound(up0, up0 + down0) - 1e-12


def test_the_rules_disagree_on_small_numbers() -> None:
    providers = {
        "one-five": StarCounts.of([5]),
        "steady": StarCounts.of([5] * 40 + [4] * 20),
        "polarised": StarCounts.of([5] * 30 + [1] * 10),
        "new": StarCounts(),
    }
    table = ranks_by_rule(providers)
    assert table["one-five"]["mean"] == 1
    assert table["steady"]["bayes"] == table["steady"]["wilson"] == table["steady"]["stars"] == 1
    assert table["polarised"]["stars"] > table["steady"]["stars"]


reviews = st.lists(
    st.tuples(st.integers(1, 5), st.floats(0, 1_000_000, allow_nan=False)), max_size=30
)


@settings(max_examples=150)
@given(
    reviews,
    st.floats(0, 2_000_000),
    st.floats(1, 500_000),
    st.one_of(st.just(0.0), st.floats(0.01, 10)),
)
def test_running_decay_equals_the_plain_sum(rs, extra, half_life, weight) -> None:  # type: ignore[no-untyped-def]
    r = DecayingRating(half_life=half_life, prior_mean=4.0, prior_weight=weight)
    for stars, at in rs:
        r.add(stars, at=at)
    now = max([at for _, at in rs], default=0.0) + extra
    plain = decayed_mean(rs, now=now, half_life=half_life, prior_mean=4.0, prior_weight=weight)
    assert r.score(now=now) == pytest.approx(plain, rel=1e-9, abs=1e-9)


def _decayed_mean_in_decimal(rs, now, half_life, prior_mean, prior_weight):  # type: ignore[no-untyped-def]
    """The published formula with each weight 2 ** ((at - now) / half_life) in 60-digit
    decimals, whose exponent range holds any weight a float review can give."""
    with decimal.localcontext() as ctx:
        ctx.prec = 60
        weights = [
            decimal.Decimal(2)
            ** ((decimal.Decimal(at) - decimal.Decimal(now)) / decimal.Decimal(half_life))
            for _, at in rs
        ]
        total = sum(w * s for w, (s, _) in zip(weights, rs, strict=True))
        m = decimal.Decimal(prior_weight)
        return float((total + m * decimal.Decimal(prior_mean)) / (sum(weights) + m))


@settings(max_examples=150)
@given(
    st.lists(st.tuples(st.integers(1, 5), st.floats(-5_000, 5_000)), min_size=1, max_size=8),
    st.floats(-5_000, 5_000),
    st.floats(0.5, 100),
    st.floats(0.01, 10),
)
def test_decay_with_a_prior_equals_the_formula_for_reviews_on_either_side_of_now(
    rs, now, half_life, weight
) -> None:  # type: ignore[no-untyped-def]
    """Reviews dated up to 10,000 half-lives after ``now`` (a weight past any float) or before
    it, with a prior: the result is the formula's, never an overflow."""
    got = decayed_mean(rs, now=now, half_life=half_life, prior_mean=4.0, prior_weight=weight)
    want = _decayed_mean_in_decimal(rs, now, half_life, 4.0, weight)
    assert got == pytest.approx(want, rel=1e-9, abs=1e-9)


def test_decay_favours_recent_reviews() -> None:
    day = 86_400.0
    r = DecayingRating(half_life=30 * day)
    for i in range(20):
        r.add(5, at=i * day)
    for i in range(5):
        r.add(1, at=(400 + i) * day)
    assert r.score(now=405 * day) < 2.0 < StarCounts.of([5] * 20 + [1] * 5).mean


@settings(max_examples=200)
@given(counts, st.floats(1, 5), st.floats(0, 50))
def test_the_ranking_scorers_equal_the_readable_formulas(c: StarCounts, prior, weight) -> None:  # type: ignore[no-untyped-def]
    bayes = scorer("bayes", prior_mean=prior, prior_weight=weight)
    assert bayes(c) == pytest.approx(
        bayesian_average(c, prior_mean=prior, prior_weight=weight), rel=1e-12
    )
    up, down = c.thumbs
    assert scorer("wilson")(c) == pytest.approx(wilson_lower_bound(up, up + down), abs=1e-12)
    assert scorer("stars")(c) == pytest.approx(star_lower_bound(c), abs=1e-12)
    assert scorer("mean")(c) == c.mean


@settings(max_examples=150)
@given(
    st.lists(st.integers(1, 5), max_size=20),
    st.floats(1, 5),
    st.floats(0, 1e12),
)
def test_a_bayesian_average_lies_between_the_prior_and_the_mean(stars, prior, weight) -> None:  # type: ignore[no-untyped-def]
    """Any accepted prior weight (up to 1e12) gives a finite score between the prior mean and
    the reviews' mean: a weight of 1e308 used to give inf for every provider."""
    counts = StarCounts.of(stars)
    got = bayesian_average(counts, prior_mean=prior, prior_weight=weight)
    ends = [prior] if not stars else [prior, sum(stars) / len(stars)]
    assert min(ends) - 1e-9 <= got <= max(ends) + 1e-9


@pytest.mark.parametrize(
    "call",
    [
        lambda: bayesian_average(StarCounts(), prior_weight=1e308),
        lambda: weighted_rating(1e308, 2, 4.0, 0),
        lambda: weighted_rating(4.0, 2, -1e308, 1),
        lambda: decayed_mean([(5, 0.0)], now=0.0, half_life=1.0, prior_weight=1e13),
    ],
)
def test_weights_and_means_past_the_bound_are_refused(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ReputationError, match=r"must be finite and in \["):
        call()


@settings(max_examples=300)
@given(st.integers(0, 10**9), st.integers(0, 10**9), st.floats(0, 10))
@example(0, 3, 1.959963984540054)  # was 4.9e-17: a share of 0 scored above 0
def test_the_wilson_bound_lies_in_zero_to_p_without_rounding_slack(
    a: int, b: int, z: float
) -> None:
    """Published examples give exactly 0.0 for no positive rating (0 of 1, 0 of 100); the
    formula's rounding gave a few 1e-17 for 0 of 3, which ranked three thumbs down above a
    provider with none."""
    pos, n = min(a, b), max(a, b)
    got = wilson_lower_bound(pos, n, z=z)
    assert 0.0 <= got <= (pos / n if n else 0.0)
    if pos == 0:
        assert got == 0.0
    if z == 1.959963984540054:
        assert scorer("wilson")(StarCounts((n - pos, 0, 0, 0, pos))) == got


def test_no_thumbs_up_ties_with_no_review_at_all() -> None:
    providers = {"a-new": StarCounts(), "b-one-down": StarCounts.of([1]),
                 "z-three-down": StarCounts.of([1, 1, 1])}  # fmt: skip
    assert rank(providers, "wilson") == [(0.0, "a-new"), (0.0, "b-one-down"), (0.0, "z-three-down")]


@settings(max_examples=150)
@given(
    st.floats(1, 5),
    st.one_of(st.sampled_from([5e-324, 1e-323, 2.5e-308, 1e-300]), st.floats(0, 1e12)),
)
@example(1.5, 5e-324)  # 5e-324 * 1.5 rounds to 1e-323: the score was 2.0
def test_no_reviews_score_the_prior_mean_whatever_its_weight(prior, weight) -> None:  # type: ignore[no-untyped-def]
    """With no votes the weighted rating is the prior mean exactly, for a subnormal prior
    weight too (whose product with the prior mean rounds), in every spelling of the formula."""
    assert bayesian_average(StarCounts(), prior_mean=prior, prior_weight=weight) == prior
    assert weighted_rating(3.0, 0, prior, weight) == prior
    assert scorer("bayes", prior_mean=prior, prior_weight=weight)(StarCounts()) == prior


@given(st.floats(0.0, 1.0, exclude_min=True, exclude_max=True))
@example(math.nextafter(1.0, 0.0))  # its upper tail 1 - (1 - level) / 2 rounds to 1.0
@example(5e-324)
def test_z_for_every_level_below_one_is_the_quantile(level: float) -> None:
    from statistics import NormalDist

    z = z_for(level)
    assert math.isfinite(z) and math.copysign(1.0, z) == 1.0
    # the two-sided coverage of [-z, z] is the level (the tails are computed, not 1 - level)
    assert NormalDist().cdf(-z) == pytest.approx((1 - level) / 2, rel=1e-9, abs=1e-300)
    assert z_for(max(level / 2, 5e-324)) <= z
