"""Traffic generators, the simulator and the plot helper."""

from __future__ import annotations

import pytest

from designpatterns_ref import ratelimit as rl
from designpatterns_ref.clock import ManualClock
from designpatterns_ref.ratelimit import RateLimitError


def test_generators_are_sorted_deterministic_and_checked() -> None:
    assert rl.steady(2, 2.0) == [0.0, 0.5, 1.0, 1.5]
    first, again = rl.poisson(50, 2.0, seed=7), rl.poisson(50, 2.0, seed=7)
    assert first == again == sorted(first) and 50 < len(first) < 150
    burst = rl.bursts(5, every=1.0, duration=3.0, spread=0.1, seed=1)
    assert len(burst) == 15 and burst == sorted(burst)
    assert rl.boundary_burst(3, 2.0, window=2) == [3.999] * 3 + [4.0] * 3
    with pytest.raises(RateLimitError, match="rate"):
        rl.poisson(0, 1.0)
    with pytest.raises(RateLimitError, match="size"):
        rl.bursts(0, 1.0, 1.0)
    with pytest.raises(RateLimitError, match="spread"):
        rl.bursts(1, 1.0, 1.0, spread=-1)


def test_the_boundary_burst_doubles_a_fixed_window_only() -> None:
    arrivals = rl.boundary_burst(10, 1.0)
    limiters = {
        "fixed": rl.FixedWindow(10, 1.0, clock=ManualClock()),
        "log": rl.SlidingWindowLog(10, 1.0, clock=ManualClock()),
        "counter": rl.SlidingWindowCounter(10, 1.0, clock=ManualClock()),
        "bucket": rl.TokenBucket(10, 1.0, 10, clock=ManualClock()),
    }
    seen = {n: rl.simulate(lim, arrivals).max_in_window(1.0) for n, lim in limiters.items()}
    assert seen == {"fixed": 20, "log": 10, "counter": 10, "bucket": 10}


def test_simulate_reports_and_refuses_bad_input() -> None:
    result = rl.simulate(rl.GCRA(2, 1.0, 2, clock=ManualClock()), [0.0, 0.0, 0.0, 0.5])
    assert result.admitted == [0.0, 0.0, 0.5] and result.denied == [0.0]
    assert result.total == 4 and result.admitted_fraction == 0.75
    with pytest.raises(RateLimitError, match="ManualClock"):
        rl.simulate(rl.GCRA(2), [0.0])
    with pytest.raises(RateLimitError, match="sorted"):
        rl.simulate(rl.GCRA(2, clock=ManualClock()), [1.0, 0.5])
    clock = ManualClock()
    both = rl.all_of(rl.GCRA(2, clock=clock), rl.FixedWindow(1, clock=clock))
    assert rl.simulate(both, [0.0, 0.1]).admitted == [0.0]
    with pytest.raises(RateLimitError, match="different clocks"):
        _ = rl.all_of(rl.GCRA(2, clock=ManualClock()), rl.GCRA(2, clock=ManualClock())).clock
