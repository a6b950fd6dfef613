"""The birthday bound: exact for small cases, monotone, and inverted correctly."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from designpatterns_ref.shortcode import (
    ShortCodeError,
    codes_until_collision,
    collision_probability,
    expected_collisions,
)


def exact(n: int, space: int) -> float:
    p_distinct = 1.0
    for i in range(n):
        p_distinct *= max(0.0, 1 - i / space)
    return 1 - p_distinct


@given(st.integers(min_value=0, max_value=3000), st.integers(min_value=1, max_value=10**7))
def test_matches_the_exact_product(n: int, space: int) -> None:
    assert collision_probability(n, space) == pytest.approx(exact(n, space), abs=1e-9)


@given(st.integers(min_value=2049, max_value=10**6), st.integers(min_value=10**9, max_value=62**8))
def test_series_regime_matches_the_exponential_approximation(n: int, space: int) -> None:
    approx = -math.expm1(-n * (n - 1) / (2 * space))
    assert collision_probability(n, space) == pytest.approx(approx, rel=1e-3, abs=1e-12)


@pytest.mark.parametrize("space", [10_000, 3_000_000])
def test_every_regime_is_continuous_and_monotone(space: int) -> None:
    # Walk n across the exact / series / log-gamma boundaries.
    ns = sorted({*range(2040, 2060), *range(space // 1000 - 5, space // 1000 + 5), 5000})
    ps = [collision_probability(n, space) for n in ns if n <= space + 1]
    assert ps == sorted(ps)
    assert ps[-1] <= 1.0


@given(st.floats(min_value=1e-6, max_value=0.999999), st.integers(min_value=1, max_value=62**7))
def test_inverse_is_the_smallest_n(p: float, space: int) -> None:
    # The float chance agrees up to its rounding; exactly where the answer is small (below).
    n = codes_until_collision(p, space)
    assert collision_probability(n, space) >= p * (1 - 1e-9)
    assert n == 1 or collision_probability(n - 1, space) < p * (1 + 1e-9)


def exact_answer(p: float, space: int) -> int:
    """The first ``n`` whose exact chance of a collision, ``1 - prod(1 - i/N)``, reaches
    the exact value of ``p``: the oracle, by a walk in fractions."""
    target, all_distinct, n = Fraction(p), Fraction(1), 1
    while 1 - all_distinct < target:
        all_distinct *= Fraction(space - n, space)  # the (n+1)-th draw misses the n drawn
        n += 1
    return n


def exact_chance(n: int, space: int) -> Fraction:
    return 1 - math.prod((Fraction(space - i, space) for i in range(n)), start=Fraction(1))


# Spaces of every size up to 300, and powers of two, whose chances are often floats exactly.
SPACES = st.one_of(st.integers(1, 300), st.sampled_from([2**k for k in range(1, 12)]))


@st.composite
def chances_at_the_boundary(draw: st.DrawFn) -> tuple[float, int]:
    """A space and a ``p`` that is an exact chance of it rounded to a float, or one float
    step either side of it: the cases where rounding decides the answer."""
    space = draw(SPACES)
    n = draw(st.integers(2, min(space, 60))) if space > 1 else 1
    p = float(exact_chance(n, space))
    p = draw(st.sampled_from([p, math.nextafter(p, 0), math.nextafter(p, 2)]))
    return min(max(p, 5e-324), 1.0), space


@given(st.one_of(chances_at_the_boundary(), st.tuples(st.floats(0, 1, exclude_min=True), SPACES)))
def test_the_answer_is_the_first_n_whose_exact_chance_reaches_p(case: tuple[float, int]) -> None:
    p, space = case
    assert codes_until_collision(p, space) == exact_answer(p, space)


@pytest.mark.parametrize(
    ("p", "space", "n"),
    [
        (0.25, 4, 2),  # 1 - 3/4: exactly p at two draws
        (0.625, 4, 3),  # 1 - 3/4 * 2/4
        (0.5, 2, 2),
        (2.0**-40, 2**40, 2),  # one pair in 2**40 codes: 1/N exactly
        (1 - 0.75 * 0.5 * 0.25, 4, 4),
    ],
)
def test_a_chance_equal_to_p_is_reached_at_that_n(p: float, space: int, n: int) -> None:
    assert exact_chance(n, space) == Fraction(p)
    assert codes_until_collision(p, space) == n


def test_known_figures() -> None:
    assert codes_until_collision(0.5, 365) == 23
    assert codes_until_collision(1, 365) == 366
    assert collision_probability(366, 365) == 1.0
    assert collision_probability(0, 5) == collision_probability(1, 5) == 0.0
    # Seven base62 characters: an even chance of a collision after ~2.2 million codes.
    assert 2_200_000 < codes_until_collision(0.5, 62**7) < 2_220_000


def test_expected_collisions() -> None:
    assert expected_collisions(0, 100) == 0
    assert expected_collisions(1, 100) == pytest.approx(0)
    assert expected_collisions(2, 100) == pytest.approx(0.01)
    assert expected_collisions(5, 1) == 4
    assert expected_collisions(1000, 62**3) == pytest.approx(1000 * 999 / 2 / 62**3, rel=0.01)


@pytest.mark.parametrize(
    "call",
    [
        lambda: collision_probability(-1, 10),
        lambda: collision_probability(1, 0),
        lambda: collision_probability(1.5, 10),
        lambda: codes_until_collision(0, 10),
        lambda: codes_until_collision(1.5, 10),
        lambda: codes_until_collision(True, 10),
        lambda: expected_collisions(1, 0),
    ],
)
def test_bad_input(call: object) -> None:
    with pytest.raises(ShortCodeError):
        call()  # type: ignore[operator]
