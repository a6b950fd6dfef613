"""The generators' arrival counts against a brute-force count in exact arithmetic.

``steady`` puts arrival ``i`` at ``start + i / rate`` for every ``i`` with ``i / rate`` below
``duration``; ``bursts`` starts burst ``k`` for every ``k`` with ``k * every`` below
``duration``. Both comparisons are made on the exact values of the given floats (Fraction), so
a product like ``4 * 1.1`` that rounds to a whole number does not lose an arrival.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from designpatterns_ref import ratelimit as rl
from designpatterns_ref.ratelimit import RateLimitError, traffic


def arrivals_in_window(rate: float, duration: float) -> int:
    """How many i = 0, 1, 2, ... have i / rate < duration, counted one by one."""
    r, d = Fraction(rate), Fraction(duration)
    n = 0
    while Fraction(n) / r < d:
        n += 1
    return n


def bursts_in_window(every: float, duration: float) -> int:
    """How many k = 0, 1, 2, ... have k * every < duration, counted one by one."""
    e, d = Fraction(every), Fraction(duration)
    k = 0
    while k * e < d:
        k += 1
    return k


rates = st.one_of(
    st.integers(1, 200).map(float),
    st.floats(0.01, 200.0, allow_nan=False, allow_infinity=False),
    st.integers(1, 200).map(lambda n: 1.0 / n),
)
durations = st.one_of(
    st.integers(1, 300).map(lambda n: n / 100),
    st.integers(1, 40).map(lambda n: n / 4),
    st.floats(0.001, 20.0, allow_nan=False, allow_infinity=False),
)


@given(rate=rates, duration=durations, start=st.sampled_from([0.0, 1.5, 1e6]))
@example(rate=4.0, duration=1.1, start=0.0)  # 4 * 1.1 rounds to 4.4 but int() drops the fifth
@example(rate=100.0, duration=0.29, start=0.0)  # 100 * 0.29 rounds down to 28.999999999999996
@example(rate=2.0, duration=0.75, start=0.0)  # 1.5 arrivals: the one at 0.5 is in the window
@example(rate=10.0, duration=2.05, start=0.0)
@example(rate=4.0, duration=1.0, start=0.0)  # the arrival at exactly 1.0 is outside
@example(rate=3.0, duration=1.0, start=0.0)
def test_steady_counts_every_arrival_before_the_end(
    rate: float, duration: float, start: float
) -> None:
    got = rl.steady(rate, duration, start=start)
    assert len(got) == arrivals_in_window(rate, duration)
    assert got == [start + i / rate for i in range(len(got))]


@given(every=rates.map(lambda r: 1.0 / r), duration=durations)
@example(every=0.1, duration=0.3)
@example(every=1.0, duration=3.0)
@example(every=0.25, duration=1.1)
def test_bursts_counts_every_burst_before_the_end(every: float, duration: float) -> None:
    got = rl.bursts(2, every, duration)
    assert len(got) == 2 * bursts_in_window(every, duration)
    assert got == sorted(k * every for k in range(len(got) // 2) for _ in range(2))


@given(
    rate=st.floats(0.1, 1e9),
    expected=st.floats(0.5, 500.0),
    seed=st.integers(0, 2**32),
    start=st.sampled_from([0.0, 1.5, 1e6, 1.7e9, -3e12]),
)
@example(rate=1e8, expected=1000.0, seed=0, start=1.7e9)  # gaps below the start's rounding step
def test_poisson_offsets_do_not_depend_on_the_start(
    rate: float, expected: float, seed: int, start: float
) -> None:
    duration = expected / rate
    offsets = rl.poisson(rate, duration, seed=seed)
    # the oracle: the arrivals from time 0, moved to start (each rounded once), that stay
    # before the end of the window once moved
    moved = [start + u for u in offsets if start + u < start + duration]
    assert rl.poisson(rate, duration, seed=seed, start=start) == moved
    assert len(offsets) < expected + 10 * expected**0.5 + 10  # ~ expected, not millions


def test_poisson_never_returns_more_than_max_arrivals(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn = [len(rl.poisson(100.0, 1.0, seed=seed)) for seed in range(40)]
    over = next(seed for seed, n in enumerate(drawn) if n > 100)  # about half the seeds
    monkeypatch.setattr(traffic, "MAX_ARRIVALS", 100)
    assert len(rl.poisson(100.0, 1.0, seed=drawn.index(min(drawn)))) <= 100
    try:
        rl.poisson(100.0, 1.0, seed=over)
    except RateLimitError as exc:
        assert "at most 100" in str(exc)
    else:
        raise AssertionError("a draw of more than MAX_ARRIVALS arrivals was returned")
