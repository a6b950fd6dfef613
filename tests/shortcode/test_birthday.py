"""The birthday bound: exact for small cases, monotone, and inverted correctly."""

from __future__ import annotations

import math

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
    n = codes_until_collision(p, space)
    assert collision_probability(n, space) >= p
    assert n == 1 or collision_probability(n - 1, space) < p


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
