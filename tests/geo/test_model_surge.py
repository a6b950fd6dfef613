"""Random sequences of pricing periods, reads and clock moves, against the published formula.

The model keeps, per cell, the smoothed pressure and the latest time seen, and follows the
module's text: a new cell starts at 1.0; each reading ``demand / max(supply, 1)`` is blended with
weight ``1 - 0.5 ** (elapsed / half_life)``, where a clock that stepped back counts as no time;
the multiplier is ``clamp(1 + sensitivity * (smoothed - 1), 1, cap)`` rounded down to ``step``.
The hexagon pricer's counts come from counting points per cell with h3 directly, and every cell
priced before is priced again (with no riders and no drivers) each period.
"""

from __future__ import annotations

import math
from collections import Counter

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.geo import GeoError, HexSurgePricer, SurgePricer
from designpatterns_ref.geo.h3_index import h3_module

from .strategies import points

HALF_LIFE, CAP, STEP = 60.0, 3.0, 0.25
CELLS = ["dr5ru", "9q8yy", "u09tv"]
spots = st.sampled_from([(40.758, -73.9855), (0.0, 179.999), (89.99, 0.0)]).flatmap(
    lambda c: points(c)
)


def published_price(pressure: float, sensitivity: float) -> float:
    """The multiplier as the module's text gives it (steps of 0.25 are exact in binary)."""
    multiplier = min(CAP, max(1.0, 1.0 + sensitivity * (pressure - 1.0)))
    return math.floor(multiplier / STEP) * STEP


class CellModel:
    def __init__(self, sensitivity: float) -> None:
        self.sensitivity = sensitivity
        self.cells: dict[str, tuple[float, float]] = {}

    def record(self, cell: str, raw: float, now: float) -> float:
        if cell not in self.cells:
            self.cells[cell] = (1.0, now)
        else:
            smoothed, seen = self.cells[cell]
            latest = max(seen, now)
            weight = 1.0 - 0.5 ** ((latest - seen) / HALF_LIFE)
            self.cells[cell] = (smoothed + weight * (raw - smoothed), latest)
        return self.price(cell)

    def price(self, cell: str) -> float:
        return published_price(self.cells.get(cell, (1.0, 0.0))[0], self.sensitivity)


class ClockRules(RuleBasedStateMachine):
    clock: ManualClock

    @rule(seconds=st.sampled_from([0.0, 1.0, 30.0, HALF_LIFE, 600.0]))
    def wait(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @rule(seconds=st.sampled_from([1.0, 45.0, 200.0]))
    def step_back(self, seconds: float) -> None:
        self.clock.set(self.clock() - seconds, allow_backwards=True)


class SurgeMachine(ClockRules):
    @initialize(sensitivity=st.sampled_from([1.0, 0.5, 2.0]))
    def start(self, sensitivity: float) -> None:
        self.clock = ManualClock(start=1000.0)
        self.pricer = SurgePricer(
            half_life=HALF_LIFE, sensitivity=sensitivity, cap=CAP, step=STEP, clock=self.clock
        )
        self.model = CellModel(sensitivity)

    @rule(cell=st.sampled_from(CELLS), demand=st.integers(0, 40), supply=st.integers(0, 15))
    def update(self, cell: str, demand: int, supply: int) -> None:
        got = self.pricer.update(cell, demand=demand, supply=supply)
        assert got == pytest.approx(self.model.record(cell, demand / max(supply, 1), self.clock()))

    @rule(
        cell=st.sampled_from([*CELLS, "", 7]),
        demand=st.sampled_from([-1, True, 2.5, 2**53 + 1, 3]),
        supply=st.sampled_from([-2, None, 1]),
    )
    def refused(self, cell: object, demand: object, supply: object) -> None:
        before = dict(self.pricer._cells)
        if cell in CELLS and demand == 3 and supply == 1:
            return  # a valid call: the update rule covers it
        with pytest.raises(GeoError):
            self.pricer.update(cell, demand=demand, supply=supply)  # type: ignore[arg-type]
        assert self.pricer._cells == before

    @invariant()
    def same_prices(self) -> None:
        if not hasattr(self, "pricer"):
            return
        for cell in CELLS:
            assert self.pricer.multiplier(cell) == pytest.approx(self.model.price(cell))
            smoothed = self.model.cells.get(cell, (1.0, 0.0))[0]
            assert self.pricer.pressure(cell) == pytest.approx(smoothed)


class HexSurgeMachine(ClockRules):
    @initialize()
    def start(self) -> None:
        self.clock = ManualClock(start=1000.0)
        self.pricer = HexSurgePricer(6, half_life=HALF_LIFE, cap=CAP, step=STEP, clock=self.clock)
        self.h3 = h3_module()
        self.model = CellModel(1.0)
        self.seen: set[str] = set()

    def count(self, pts: list[tuple[float, float]]) -> Counter[str]:
        return Counter(self.h3.int_to_str(self.h3.latlng_to_cell(a, o, 6)) for a, o in pts)

    @rule(riders=st.lists(spots, max_size=8), drivers=st.lists(spots, max_size=8))
    def observe(
        self, riders: list[tuple[float, float]], drivers: list[tuple[float, float]]
    ) -> None:
        demand, supply = self.count(riders), self.count(drivers)
        self.seen |= set(demand) | set(supply)
        now = self.clock()
        expected = {
            c: self.model.record(c, demand[c] / max(supply[c], 1), now) for c in sorted(self.seen)
        }
        got = self.pricer.observe(riders, drivers)
        assert list(got) == sorted(self.seen)
        assert got == pytest.approx(expected)

    @rule(riders=st.lists(spots, max_size=3))
    def refused(self, riders: list[tuple[float, float]]) -> None:
        before = dict(self.pricer.pricer._cells)
        with pytest.raises(GeoError):
            self.pricer.observe([*riders, (91.0, 0.0)], riders)
        assert self.pricer.pricer._cells == before

    @invariant()
    def same_prices(self) -> None:
        if not hasattr(self, "pricer"):
            return
        for cell in self.seen:
            assert self.pricer.multiplier(cell) == pytest.approx(self.model.price(cell))


SurgeMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
HexSurgeMachine.TestCase.settings = settings(max_examples=30, stateful_step_count=20, deadline=None)
test_surge_follows_the_published_formula = SurgeMachine.TestCase
test_hex_surge_counts_and_prices_every_cell = HexSurgeMachine.TestCase
