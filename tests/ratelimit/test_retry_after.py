"""retry_after, computed in closed form, against a search: honest and tight at any clock value.

Every refusal's ``retry_after`` comes from a closed form, checked by replaying the decision
once and corrected by one step of a few ulps (:func:`~designpatterns_ref.ratelimit.base.correct`).
The reference here is what the old search looked for, the earliest time the limiter admits
the same request, found independently: by bisection on the floating-point line, asking the
limiter itself (``peek`` at each probed time). The property: a client retrying exactly at
``now + retry_after`` is admitted, that time is at most a few ulps after the earliest one, and
the search fallback behind the one correction is never needed.
"""

from __future__ import annotations

import math
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.ratelimit import base
from designpatterns_ref.ratelimit.base import honest_wait as old_search  # bound before patching

from .test_properties import ALL, build

#: Clock values the issue measured (a monotonic clock at 780 s and 2,480 s, epoch seconds)
#: and a few more, from zero to 2**50.
STARTS = [0.0, 0.3, 780.25, 2480.5, 1.7e9 + 0.123, 1e12 + 0.5, 2.0**50]

starts = st.one_of(st.sampled_from(STARTS), st.floats(0.0, 2.0**50, allow_nan=False))
gaps = st.one_of(st.just(0), st.integers(0, 50), st.integers(0, 3000))
steps = st.lists(st.tuples(gaps, st.integers(1, 4)), min_size=1, max_size=30)
params = st.tuples(st.integers(1, 8), st.sampled_from([0.001, 0.25, 1.0, 3.0, 3600.0]),
                   st.integers(4, 8))  # fmt: skip


def _order(x: float) -> int:
    """A non-negative double's position on the floating-point line."""
    return int(struct.unpack("<q", struct.pack("<d", x))[0])


def _at(position: int) -> float:
    return float(struct.unpack("<d", struct.pack("<q", position))[0])


def earliest_admission(limiter: Any, clock: ManualClock, cost: int, lo: float, hi: float) -> float:
    """The earliest time in ``(lo, hi]`` at which ``limiter`` admits ``cost``: refused at ``lo``,
    admitted at ``hi``, bisected over the doubles in between (the search's answer)."""
    a, b = _order(lo), _order(hi)
    while b - a > 1:
        mid = (a + b) // 2
        clock.set(_at(mid), allow_backwards=True)
        if limiter.peek("k", cost):
            b = mid
        else:
            a = mid
    return _at(b)


@pytest.fixture(autouse=True)
def _no_search(monkeypatch: pytest.MonkeyPatch) -> None:
    """The closed form plus its one correction must suffice: the search fallback fails."""

    def search(*_: object) -> float:
        raise AssertionError("a closed form and its one correction were refused")

    monkeypatch.setattr(base, "honest_wait", search)


@settings(max_examples=60, deadline=None)
@given(p=params, start=starts, seq=steps)
def test_retry_after_is_honest_and_within_a_few_ulps_of_the_earliest_time(
    p: tuple[int, float, int], start: float, seq: list[tuple[int, int]]
) -> None:
    for name in ALL:
        clock = ManualClock(start)
        limiter = build(name, *p, clock)
        span = p[1] * p[2]
        for gap, cost in seq:
            clock.advance(gap / 1000)
            now = clock.now
            decision = limiter.allow("k", cost)
            if decision or math.isinf(decision.retry_after):
                continue
            assert decision.retry_after > 0, (name, now, decision)
            retry = now + decision.retry_after
            clock.set(retry)
            assert limiter.peek("k", cost), (name, now, cost, decision)
            earliest = earliest_admission(limiter, clock, cost, now, retry)
            slack = 64 * (math.ulp(earliest) + math.ulp(span) + math.ulp(now))
            assert earliest <= retry <= earliest + slack, (name, now, earliest, retry)
            # the old search, started a little short, finds nothing earlier (it steps past the
            # earliest time by up to its own stride, so it may land later)
            state = limiter._states["k"]
            searched = old_search(
                lambda t, replay=limiter._admits, state=state, cost=cost: replay(state, cost, t),
                now,
                max(0.0, earliest - now - slack),
            )
            assert earliest <= now + searched, (name, now, searched, earliest)
            assert retry <= now + searched + slack, (name, now, searched, retry)
            clock.set(now, allow_backwards=True)
