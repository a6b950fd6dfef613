"""Surge pricing: a price multiplier per cell from demand over supply, smoothed and capped.

Case study: Design a Ride-Sharing App (Uber / Lyft) (docs/case-studies/ride-sharing.md)

Every pricing period the market reports, per geohash cell, how many riders asked (demand) and how
many drivers were free (supply). The raw pressure is ``demand / max(supply, 1)``. Raw ratios jump
from one period to the next (three riders and no driver, then one driver arrives), and prices
that flicker teach riders to wait and retry, so the pressure is smoothed with an exponentially
weighted moving average whose weight depends on the time since the cell's last update on the
injected clock: after ``half_life`` seconds an old reading counts half. A clock that steps back
counts as no time (the new reading gets no weight) and the cell keeps the latest time it has
seen, so the clock's return to that time adds no weight either; a clock reading that is not a
finite number is refused with GeoError, recording nothing. The multiplier is then

    multiplier = clamp(1 + sensitivity * (smoothed - 1), 1, cap)

rounded down to ``step`` and shown to six decimals (1.0x when supply meets demand, never below
1.0, never above ``cap``). ``cap`` is from 1.0 to :data:`MAX_CAP` (a million) and ``step`` from
:data:`MIN_STEP` (a millionth, the precision prices are shown to) up to ``cap``; anything else is
refused when the pricer is built. A cell never updated, or whose pressure has fallen back to 1
or below, prices at 1.0x.

The trade-off is responsiveness against stability: a short half-life follows demand spikes
(and their noise), a long one lags behind them; the cap bounds what a rider can be asked to pay.

Complexity: O(1) per update and per read; memory O(cells updated).

>>> from designpatterns_ref.clock import ManualClock
>>> clock = ManualClock()
>>> pricer = SurgePricer(half_life=60.0, cap=3.0, clock=clock)
>>> pricer.update("dr5ru", demand=30, supply=10)
1.0
>>> clock.advance(60.0)
>>> pricer.update("dr5ru", demand=30, supply=10)
2.0
>>> pricer.multiplier("dr5ru"), pricer.multiplier("9q8yy")
(2.0, 1.0)
"""

from __future__ import annotations

import math
import sys
import threading
from collections.abc import Callable

from designpatterns_ref.clock import read_seconds
from designpatterns_ref.errors import shown
from designpatterns_ref.geo._live import check_clock
from designpatterns_ref.geo.base import GeoError, GeoTypeError

__all__ = ["MAX_CAP", "MIN_STEP", "SurgePricer"]

#: The highest ``cap`` a pricer takes (so ``cap / step`` stays an exact, finite count of steps).
MAX_CAP = 1e6
#: The finest ``step`` a pricer takes: prices are shown to six decimals.
MIN_STEP = 1e-6

#: The largest demand or supply count one update takes (a float holds every int up to it).
_MAX_COUNT = 2**53


def _positive(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise GeoTypeError(f"{name}={shown(value)} must be a number")
    if not 0 < value <= sys.float_info.max:  # refuses NaN, inf and ints like 10**400
        raise GeoError(f"{name}={shown(value)} must be a positive, finite number")
    return float(value)


def _check_cell(cell: object) -> None:
    if not isinstance(cell, str) or not cell:
        raise GeoTypeError(f"cell={shown(cell)} must be a non-empty str (a geohash)")


class SurgePricer:
    """Per-cell multipliers from smoothed demand/supply; safe to share between threads.

    The smoothed pressure starts at 1.0 (balanced) for a cell seen for the first time.
    """

    def __init__(
        self,
        *,
        half_life: float = 120.0,
        sensitivity: float = 1.0,
        cap: float = 3.0,
        step: float = 0.1,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.half_life = _positive("half_life", half_life)
        self.sensitivity = _positive("sensitivity", sensitivity)
        self.cap = _positive("cap", cap)
        if not 1.0 <= self.cap <= MAX_CAP:
            raise GeoError(f"cap={shown(cap)} must be from 1.0 to MAX_CAP={MAX_CAP:g}")
        self.step = _positive("step", step)
        if not MIN_STEP <= self.step <= self.cap:
            raise GeoError(
                f"step={shown(step)} must be from MIN_STEP={MIN_STEP:g} up to cap={shown(cap)}"
            )
        self._clock: Callable[[], float] = check_clock(clock)
        self._cells: dict[str, tuple[float, float]] = {}  # cell -> (smoothed pressure, time)
        self._lock = threading.Lock()

    def update(self, cell: str, *, demand: int, supply: int) -> float:
        """Record one period's counts for ``cell``; return its new multiplier."""
        _check_cell(cell)
        for name, value in (("demand", demand), ("supply", supply)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise GeoTypeError(f"{name}={shown(value)} must be an int")
            if not 0 <= value <= _MAX_COUNT:
                raise GeoError(f"{name}={shown(value)} must be an int from 0 to {_MAX_COUNT}")
        return self._record(cell, demand / max(supply, 1), self._now("update"))

    def _now(self, caller: str) -> float:
        """One reading of the clock, refused with GeoError unless it is a finite number."""
        return read_seconds(self._clock, GeoError, f"{type(self).__name__}.{caller}")

    def _record(self, cell: str, raw: float, now: float) -> float:
        """Blend a checked reading into ``cell`` at time ``now``; return its new multiplier."""
        with self._lock:
            previous = self._cells.get(cell)
            if previous is None:  # no history: start from balance, gain weight with time
                smoothed, latest = 1.0, now
            else:
                # A clock that steps back counts as no time: the cell keeps its latest time,
                # so the return to it counts as none either (elapsed time is never counted twice).
                latest = max(previous[1], now)
                smoothed = self._blend(previous[0], raw, latest - previous[1])
            price = self._price(smoothed)  # before storing: a call that raises changes nothing
            self._cells[cell] = (smoothed, latest)
        return price

    def _blend(self, old: float, raw: float, elapsed: float) -> float:
        weight = 1.0 - math.pow(0.5, elapsed / self.half_life)  # how much the new reading counts
        return old + weight * (raw - old)

    def price(self, pressure: float) -> float:
        """The multiplier this pricer gives a smoothed ``pressure`` (a ratio of zero or more).

        >>> SurgePricer(cap=3.0).price(1.74), SurgePricer(cap=3.0).price(9.0)
        (1.7, 3.0)
        """
        if isinstance(pressure, bool) or not isinstance(pressure, int | float):
            raise GeoTypeError(f"pressure={shown(pressure)} must be a number")
        if not 0 <= pressure <= sys.float_info.max:  # refuses NaN, inf, negatives, 10**400
            raise GeoError(f"pressure={shown(pressure)} must be a finite number of zero or more")
        return self._price(float(pressure))

    def _price(self, pressure: float) -> float:
        multiplier = 1.0 + self.sensitivity * (pressure - 1.0)
        multiplier = min(self.cap, max(1.0, multiplier))
        steps = math.floor(round(multiplier / self.step, 9))
        # shown to six decimals, which may round up past a cap that has more: the cap bounds it
        return min(self.cap, float(round(max(1.0, steps * self.step), 6)))

    def multiplier(self, cell: str) -> float:
        """The current multiplier of ``cell`` (1.0 for a cell never updated)."""
        _check_cell(cell)
        with self._lock:
            state = self._cells.get(cell)
        return 1.0 if state is None else self._price(state[0])

    def pressure(self, cell: str) -> float:
        """The smoothed demand/supply ratio of ``cell`` (1.0 for a cell never updated)."""
        _check_cell(cell)
        with self._lock:
            state = self._cells.get(cell)
        return 1.0 if state is None else state[0]
