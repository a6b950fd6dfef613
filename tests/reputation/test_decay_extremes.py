"""The decayed mean at the ends of the float range: subnormal and huge half-lives, times spanning
more than the largest float, prior weights from 5e-324 to the bound. :func:`decayed_mean` and
:class:`DecayingRating` both give the formula's number (to the floats' rounding) there, checked
against exact arithmetic: every exponent an exact fraction, every power of two in 60 digits."""

from __future__ import annotations

import decimal
import sys
from fractions import Fraction

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.reputation import DecayingRating, decayed_mean

BIG = sys.float_info.max
_CUT = 5_000  # half-lives: past this a weight is below 2 ** -3800 of another, nothing in a float


def exact(
    reviews: list[tuple[int, float]], now: float, half_life: float, c: float, m: float
) -> float:
    """``(sum w s + m c) / (sum w + m)`` with ``w = 2 ** ((at - now) / half_life)``, computed
    relative to the newest review (the ratio is the same) so no weight leaves the decimals'
    range; weights below 2 ** -5000 of the newest's, or a prior that small next to the sum (or
    the sum next to the prior), are left out."""
    h = Fraction(half_life)
    newest = max(at for _, at in reviews)
    with decimal.localcontext() as ctx:
        ctx.prec = 60
        d = decimal.Decimal

        def power(x: Fraction) -> decimal.Decimal:  # 2 ** x, |x| <= _CUT
            return d(2) ** (d(x.numerator) / d(x.denominator))

        weights = []
        for _, at in reviews:
            behind = (Fraction(newest) - Fraction(at)) / h
            weights.append(d(0) if behind > _CUT else power(-behind))
        weight = sum(weights, d(0))
        mean = sum((w * s for w, (s, _) in zip(weights, reviews, strict=True)), d(0)) / weight
        if m == 0:
            return float(mean)
        ago = (Fraction(now) - Fraction(newest)) / h
        if ago > _CUT:
            return c
        if ago < -_CUT:
            return float(mean)
        ratio = weight * power(-ago) / d(m)
        return float((mean * ratio + d(c)) / (ratio + 1))


EXTREME_TIMES = [0.0, 1.0, -1.0, 5e-324, 1e-300, 1e15, -1e15, 2.0**53, 1e300, -1e300, 1e308]
times = st.one_of(
    st.sampled_from([*EXTREME_TIMES, -1e308, BIG, -BIG]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(-1e6, 1e6),
)
half_lives = st.one_of(
    st.sampled_from([5e-324, 1e-300, 1e-10, 1.0, 86_400.0, 1e300, 1e308, BIG]),
    st.floats(min_value=5e-324, allow_infinity=False),
)
prior_weights = st.one_of(
    st.sampled_from([0.0, 5e-324, 1e-300, 1e-10, 1.0, 1e12]), st.floats(0, 1e12)
)
reviews = st.lists(st.tuples(st.integers(1, 5), times), min_size=1, max_size=6)


@settings(max_examples=400, deadline=None)
@given(reviews, times, half_lives, st.floats(1, 5), prior_weights)
@example([(1, -1e308)], 1e308, 1.0, 4.0, 0.0)  # an infinite exponent: was the prior mean
@example([(5, -730837.5679146331)], 151208.0260082984, 1.0, 4.0, 1e-300)  # 2 ** -882045: 0
@example([(1, -1.5e308), (5, 1.5e308)], 1.5e308, 1e308, 4.0, 0.0)  # a span past the largest float
@example([(2, -1e308)], -1e300, 5e-324, 4.0, 1e-300)  # a query before the review
def test_both_decayed_means_follow_the_formula_at_the_float_range_ends(
    rs: list[tuple[int, float]], now: float, half_life: float, c: float, m: float
) -> None:
    want = exact(rs, now, half_life, c, m)
    plain = decayed_mean(rs, now=now, half_life=half_life, prior_mean=c, prior_weight=m)
    running = DecayingRating(half_life=half_life, prior_mean=c, prior_weight=m)
    for stars, at in rs:
        running.add(stars, at=at)
    assert plain == pytest.approx(want, rel=1e-9, abs=1e-9)
    assert running.score(now=now) == pytest.approx(want, rel=1e-9, abs=1e-9)
    assert 1.0 <= plain <= 5.0
    assert 1.0 <= running.score(now=now) <= 5.0
