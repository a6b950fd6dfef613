"""Surge per hexagon equals a plain replay: count per cell by hand, feed a SurgePricer."""

from __future__ import annotations

import math
import random
import sys
import threading
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.geo import GeoError, GeoTypeError, HexSurgePricer, SurgePricer
from designpatterns_ref.geo.h3_index import h3_module

from .strategies import points

h3 = h3_module()
CITY = (40.7580, -73.9855)
period = st.tuples(
    st.lists(points(CITY), max_size=25),
    st.lists(points(CITY), max_size=25),
    st.sampled_from([0.0, 5.0, 60.0, 600.0]),
)


@settings(max_examples=40)
@given(st.lists(period, min_size=1, max_size=5), st.sampled_from([5, 8, 11]))
def test_observe_equals_counting_by_hand(
    periods: list[tuple[list[tuple[float, float]], list[tuple[float, float]], float]], res: int
) -> None:
    clock_a, clock_b = ManualClock(), ManualClock()
    surge = HexSurgePricer(res, half_life=60.0, clock=clock_a)
    plain = SurgePricer(half_life=60.0, clock=clock_b)
    seen: set[str] = set()
    for riders, drivers, wait in periods:
        clock_a.advance(wait)
        clock_b.advance(wait)
        got = surge.observe(riders, drivers)
        demand = Counter(h3.int_to_str(h3.latlng_to_cell(a, o, res)) for a, o in riders)
        supply = Counter(h3.int_to_str(h3.latlng_to_cell(a, o, res)) for a, o in drivers)
        seen |= set(demand) | set(supply)
        want = {c: plain.update(c, demand=demand[c], supply=supply[c]) for c in sorted(seen)}
        assert got == want
    for cell in seen:
        assert surge.multiplier(cell) == plain.multiplier(cell)
        assert surge.pressure(cell) == plain.pressure(cell)
        ring = [h3.int_to_str(c) for c in h3.grid_disk(h3.str_to_int(cell), 1)]
        mean = sum(plain.pressure(c) for c in ring) / len(ring)
        assert surge.blended_multiplier(cell) == plain.price(mean)


def test_a_quiet_cell_decays_back_to_one() -> None:
    clock = ManualClock()
    surge = HexSurgePricer(half_life=60.0, clock=clock)
    busy = [CITY] * 40
    surge.observe(busy, [CITY] * 4)
    for _ in range(3):
        clock.advance(60.0)
        surge.observe(busy, [CITY] * 4)
    high = surge.multiplier_at(*CITY)
    assert high > 2.0
    for _ in range(6):
        clock.advance(60.0)
        surge.observe([], [])
    assert surge.multiplier_at(*CITY) == 1.0
    neighbour = h3.int_to_str(h3.grid_disk(h3.latlng_to_cell(*CITY, 8), 1)[1])
    assert surge.multiplier(neighbour) == 1.0  # never priced


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda s: s.observe([(1.0, 2.0), (math.nan, 2.0)], []), GeoError, "riders[1]: lat=nan"),
        (lambda s: s.observe([], [(1.0, 200.0)]), GeoError, "drivers[0]: lon=200.0"),
        (lambda s: s.observe([(1.0,)], []), GeoTypeError, "riders[0]="),
        (lambda s: s.observe("ab", []), GeoTypeError, "riders='ab'"),
        (lambda s: s.observe([], None), GeoTypeError, "drivers=None"),
        (lambda s: s.multiplier("8928308280fffff"), GeoError, "resolution 9"),
        (lambda s: s.multiplier("zzzz"), GeoError, "not a valid H3 cell"),
        (lambda s: s.multiplier("\ud800"), GeoError, "not a valid H3 cell"),
        (lambda s: s.pressure(None), GeoTypeError, "cell=None"),
        (lambda s: s.blended_multiplier(5), GeoTypeError, "cell=5"),
        (lambda s: s.multiplier_at(91.0, 0.0), GeoError, "lat=91.0"),
        (lambda s: s.pricer.price(-1.0), GeoError, "pressure=-1.0"),
        (lambda s: s.pricer.price(True), GeoTypeError, "pressure=True"),
    ],
)
def test_bad_input_changes_nothing(call: object, error: type, words: str) -> None:
    surge = HexSurgePricer(clock=ManualClock())
    surge.observe([CITY] * 3, [CITY])
    before = dict(surge.pricer._cells), set(surge._seen)
    with pytest.raises(error) as info:
        call(surge)  # type: ignore[operator]
    assert words in str(info.value)
    assert (dict(surge.pricer._cells), set(surge._seen)) == before


@settings(max_examples=40)
@given(
    st.lists(points(CITY), max_size=12),
    st.lists(points(CITY), max_size=12),
    st.integers(0, 30),
    st.sampled_from([math.nan, math.inf, "soon", None]),
)
def test_a_bad_clock_reading_changes_nothing(
    riders: list[tuple[float, float]],
    drivers: list[tuple[float, float]],
    good: int,
    bad: object,
) -> None:
    """The clock may fail on any reading of a period: either the period is priced whole or
    it is refused and the pricer is exactly as it was (no cell, seen or priced, half-updated)."""
    clock = ManualClock()
    readings = 0

    def flaky() -> object:
        nonlocal readings
        readings += 1
        return bad if readings > good else clock()

    surge = HexSurgePricer(half_life=60.0, clock=flaky)  # type: ignore[arg-type]
    readings = -(10**9)  # the first period always reads well
    surge.observe([CITY] * 3, [CITY])
    clock.advance(60.0)
    readings = 0
    before = dict(surge.pricer._cells), set(surge._seen)
    try:
        surge.observe(riders, drivers)
    except GeoError as exc:
        assert "clock() returned" in str(exc)
        assert (dict(surge.pricer._cells), set(surge._seen)) == before
    else:
        assert set(surge._seen) == before[1] | {surge.cell(*p) for p in riders + drivers}


@pytest.mark.parametrize("resolution", [16, -1, 8.0, True, None, 10**400])
def test_resolution_is_checked(resolution: object) -> None:
    with pytest.raises(GeoError, match="resolution="):
        HexSurgePricer(resolution)  # type: ignore[arg-type]


def test_periods_observed_from_many_threads_price_every_cell_once_seen() -> None:
    """``observe`` from eight threads at once: none fails, and every cell any of them saw is
    both remembered and priced. (The set of cells seen is read with ``sorted``, one C call;
    iterating it in Python while another thread adds to it raised 'Set changed size'.)"""
    surge = HexSurgePricer(resolution=9, clock=ManualClock())
    barrier = threading.Barrier(8)
    errors: list[Exception] = []
    expected: set[str] = set()

    def work(seed: int) -> None:
        rng = random.Random(seed)
        barrier.wait()
        for _ in range(100):
            riders = [(40.0 + rng.random() / 2, -74.0 + rng.random() / 2) for _ in range(3)]
            try:
                surge.observe(riders, [])
            except Exception as exc:  # any failure is the finding
                errors.append(exc)
                return
            expected.update(surge.cell(*p) for p in riders)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter can
    try:
        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
    assert surge._seen == expected == set(surge.pricer._cells)
