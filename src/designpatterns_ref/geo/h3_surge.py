"""Surge per hexagon: riders and free drivers counted per H3 cell, priced by :class:`SurgePricer`.

Case study: Design a Ride-Sharing App (Uber / Lyft) (docs/case-studies/ride-sharing.md)

Uber prices surge per H3 hexagon. Every pricing period the market hands over where riders asked
and where free drivers were; :meth:`HexSurgePricer.observe` counts both per cell of one resolution
(8 by default: about 0.74 km² a cell, a few city blocks) and feeds each cell's counts to a
:class:`~designpatterns_ref.geo.surge.SurgePricer` (the smoothing, cap and steps live there, once).
A cell priced before but quiet this period is fed zero demand, so its pressure decays instead of
freezing at its last surge.

Hexagons make the next step fair: a rider at a cell's edge should not pay double what a rider
across the street pays. :meth:`HexSurgePricer.blended_multiplier` prices the mean pressure of a
cell and its ring of neighbours; all six neighbours of a hexagon are at the same distance and
share an edge, so equal weights are the natural choice, where the eight neighbours of a geohash
rectangle are at two distances (four share an edge, four only a corner) and shrink towards the
poles. The trade-off: cells named by 15-character hex ids from the C library, not prefixes a
database can range-scan.

Complexity: O(riders + drivers + cells priced) per period; O(1) per read, O(7) blended.

>>> from designpatterns_ref.clock import ManualClock
>>> clock = ManualClock()
>>> surge = HexSurgePricer(half_life=60.0, clock=clock)
>>> riders, drivers = [(40.7580, -73.9855)] * 30, [(40.7581, -73.9856)] * 10
>>> surge.observe(riders, drivers)
{'882a100d67fffff': 1.0}
>>> clock.advance(60.0)
>>> surge.observe(riders, drivers)
{'882a100d67fffff': 2.0}
>>> surge.multiplier_at(40.7580, -73.9855)
2.0
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from designpatterns_ref.errors import shown
from designpatterns_ref.geo.base import GeoError, GeoTypeError, check_lat, check_lon
from designpatterns_ref.geo.h3_index import h3_module
from designpatterns_ref.geo.surge import SurgePricer

__all__ = ["HexSurgePricer"]


class HexSurgePricer:
    """Surge multipliers per H3 hexagon of one ``resolution`` (0 to 15, default 8); the other
    settings are :class:`~designpatterns_ref.geo.surge.SurgePricer`'s. Safe to share between
    threads as far as the underlying pricer is (each cell's update is atomic)."""

    def __init__(
        self,
        resolution: int = 8,
        *,
        half_life: float = 120.0,
        sensitivity: float = 1.0,
        cap: float = 3.0,
        step: float = 0.1,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if type(resolution) is not int:
            raise GeoTypeError(f"resolution={shown(resolution)} must be an int from 0 to 15")
        if not 0 <= resolution <= 15:
            raise GeoError(f"resolution={shown(resolution)} is out of range: must be from 0 to 15")
        self.pricer = SurgePricer(
            half_life=half_life, sensitivity=sensitivity, cap=cap, step=step, clock=clock
        )
        self.resolution = resolution
        self._h3: Any = h3_module()
        # Every cell ever priced. Threads share it without a lock: observe adds to it with one
        # set.update and reads it with one sorted(), each a single call into C that no other
        # thread interleaves with; it never iterates the live set in Python.
        self._seen: set[str] = set()

    def cell(self, lat: float, lon: float) -> str:
        """The hexagon (hex id) of this resolution holding the point."""
        lat, lon = check_lat("lat", lat), check_lon("lon", lon)
        return str(self._h3.int_to_str(self._h3.latlng_to_cell(lat, lon, self.resolution)))

    def _count(self, name: str, points: object) -> Counter[str]:
        if isinstance(points, str | bytes | dict) or not isinstance(points, Iterable):
            raise GeoTypeError(
                f"{name}={shown(points, 80)} must be an iterable of (lat, lon) pairs"
            )
        to_cell, to_str, res = self._h3.latlng_to_cell, self._h3.int_to_str, self.resolution
        cells: Counter[int] = Counter()
        for i, point in enumerate(points):
            if type(point) not in (tuple, list) or len(point) != 2:
                raise GeoTypeError(f"{name}[{i}]={shown(point, 80)} must be a (lat, lon) pair")
            try:
                lat, lon = check_lat("lat", point[0]), check_lon("lon", point[1])
            except GeoError as exc:
                raise type(exc)(f"{name}[{i}]: {exc}") from None
            cells[to_cell(lat, lon, res)] += 1
        return Counter({to_str(c): n for c, n in cells.items()})

    def observe(
        self, riders: Iterable[tuple[float, float]], drivers: Iterable[tuple[float, float]]
    ) -> dict[str, float]:
        """Price one period: ``riders`` who asked and free ``drivers``, as (lat, lon) points.

        Every cell with a rider or a driver this period, and every cell priced before, is
        updated at one reading of the clock; returns their new multipliers by cell, sorted by
        cell id. All points and the clock's reading are checked before any cell changes.
        """
        demand = self._count("riders", riders)
        supply = self._count("drivers", drivers)
        now = self.pricer._now("observe")
        self._seen.update(demand, supply)
        return {
            cell: self.pricer._record(cell, demand[cell] / max(supply[cell], 1), now)
            for cell in sorted(self._seen)
        }

    def _check_cell(self, cell: object) -> str:
        if not isinstance(cell, str):
            raise GeoTypeError(f"cell={shown(cell, 80)} must be a str (an H3 cell id)")
        try:  # an id is lower-case hex, exactly as H3 writes it (no sign, space or 0x)
            value = int(cell, 16) if 0 < len(cell) <= 16 and cell.isalnum() else -1
        except ValueError:
            value = -1
        if value < 0 or format(value, "x") != cell or not self._h3.is_valid_cell(value):
            raise GeoError(f"cell={shown(cell, 80)} is not a valid H3 cell id")
        if self._h3.get_resolution(value) != self.resolution:
            raise GeoError(
                f"cell={shown(cell)} has resolution {self._h3.get_resolution(value)}, "
                f"not this pricer's {self.resolution}"
            )
        return cell

    def multiplier(self, cell: str) -> float:
        """The multiplier of one hexagon (1.0 for a cell never priced)."""
        return self.pricer.multiplier(self._check_cell(cell))

    def pressure(self, cell: str) -> float:
        """The smoothed demand/supply ratio of one hexagon (1.0 for a cell never priced)."""
        return self.pricer.pressure(self._check_cell(cell))

    def multiplier_at(self, lat: float, lon: float) -> float:
        """The multiplier of the hexagon holding the point."""
        return self.pricer.multiplier(self.cell(lat, lon))

    def blended_multiplier(self, cell: str) -> float:
        """The price of the mean pressure of ``cell`` and its neighbours (one ring, equal weights),
        so prices change gently from one hexagon to the next."""
        cell = self._check_cell(cell)
        ring = self._h3.grid_disk(self._h3.str_to_int(cell), 1)
        pressures = [self.pricer.pressure(self._h3.int_to_str(c)) for c in ring]
        return self.pricer.price(sum(pressures) / len(pressures))
