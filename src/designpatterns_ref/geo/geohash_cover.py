"""Geohash circle covers: the cells a circle reaches, at a precision fit for its radius.

Case study: Design a Ride-Sharing App (Uber / Lyft) (docs/case-studies/ride-sharing.md)

Geohash cells are rectangles in latitude/longitude, so their width in metres shrinks with
``cos(latitude)``. :func:`cover_circle` therefore chooses its precision from the cell's real
height and width at the circle's most poleward latitude (:func:`precision_for_radius`) and
keeps only the cells the circle actually reaches, found by a flood fill from the centre's cell
with an exact circle-versus-cell test (the spherical distance from the centre to the cell's box),
never a fixed 3x3 block. When the circle holds a pole, every cell of that polar row joins.

The trade-off: a precision chosen so cells are at least as large as the radius keeps the cover
to a handful of cells (few keys to read), at the price of cells larger than the circle.

Complexity: O(cells returned), each tested in O(1).

>>> cover_circle(48.8584, 2.2945, 500.0)
['u09tuj', 'u09tum', 'u09tun', 'u09tup', 'u09tuq', 'u09tur']
"""

from __future__ import annotations

import math
from collections import deque

from designpatterns_ref.errors import shown
from designpatterns_ref.geo.base import GeoError, GeoTypeError, check_lat, check_lon, check_radius
from designpatterns_ref.geo.geohash_codec import (
    _AXIS_BITS,
    _BITS,
    DIRECTIONS,
    _bad_precision,
    _code30,
    _quantize,
)
from designpatterns_ref.geo.sphere import EARTH_RADIUS_M, RAD, _box_distance_m, _lower_bound_m

__all__ = ["cell_size_m", "cover_circle", "precision_for_radius"]


def cell_size_m(precision: int, lat: float = 0.0) -> tuple[float, float]:
    """Height and width in metres of a cell of ``precision`` whose narrowest edge is at ``lat``.

    >>> tuple(round(v) for v in cell_size_m(6, 0.0))
    (611, 1222)
    >>> tuple(round(v) for v in cell_size_m(6, 60.0))
    (611, 611)
    """
    if type(precision) is not int or not 1 <= precision <= 12:
        raise _bad_precision(precision)
    lat = check_lat("lat", lat)
    lat_bits, lon_bits = _AXIS_BITS[precision]
    height = EARTH_RADIUS_M * RAD * 180.0 / (1 << lat_bits)
    width = EARTH_RADIUS_M * RAD * 360.0 / (1 << lon_bits) * math.cos(lat * RAD)
    return height, width


def precision_for_radius(lat: float, radius_m: float) -> int:
    """The finest precision whose cells, at the circle's most poleward latitude, are at least
    ``radius_m`` tall and wide, so a circle of that radius spans at most 3 cells each way.

    >>> precision_for_radius(0.0, 1000.0), precision_for_radius(80.0, 1000.0)
    (5, 4)
    >>> precision_for_radius(90.0, 10.0)  # a circle round the pole: a short polar row
    2
    """
    lat = check_lat("lat", lat)
    radius = check_radius("radius_m", radius_m)
    reach = abs(lat) + radius / EARTH_RADIUS_M / RAD
    if reach >= 90.0:  # the circle holds a pole: every cell of the polar row joins the cover,
        reach = 90.0  # so keep that row short (at most 32 columns)
        finest = 2
    else:
        finest = 12
    need = radius + 0.01  # the cover keeps cells within a rounding margin (1 mm) too
    for precision in range(finest, 0, -1):
        height, width = cell_size_m(precision, reach)
        if height >= need and (width >= need or finest == 2):
            return precision
    return 1


def cover_circle(
    lat: float,
    lon: float,
    radius_m: float,
    precision: int | None = None,
    *,
    max_cells: int = 100_000,
) -> list[str]:
    """The cells (sorted) whose union contains every point within ``radius_m`` of the centre.

    A cell is kept only when the circle reaches it (the exact spherical distance from the
    centre to the cell's box is at most the radius), found by a flood fill from the centre's
    cell through neighbours; when the circle holds a pole, every cell around that pole joins.
    ``precision=None`` chooses it with :func:`precision_for_radius`. More than ``max_cells``
    cells raise :class:`~designpatterns_ref.geo.base.GeoError` instead of filling memory.

    >>> cover_circle(48.8584, 2.2945, 500.0)
    ['u09tuj', 'u09tum', 'u09tun', 'u09tup', 'u09tuq', 'u09tur']
    >>> len(cover_circle(90.0, 0.0, 1000.0, 3))  # the pole: the whole top row of cells
    256
    """
    lat = check_lat("lat", lat)
    lon = check_lon("lon", lon)
    radius = check_radius("radius_m", radius_m)
    if isinstance(max_cells, bool) or not isinstance(max_cells, int) or max_cells < 1:
        raise GeoTypeError(f"max_cells={shown(max_cells)} must be an int of at least 1")
    if precision is None:
        precision = precision_for_radius(lat, radius)
    elif type(precision) is not int or not 1 <= precision <= 12:
        raise _bad_precision(precision)
    lat_bits, lon_bits = _AXIS_BITS[precision]
    rows, cols = 1 << lat_bits, 1 << lon_bits
    height, width = 180.0 / rows, 360.0 / cols
    y30, x30 = _quantize(lat, lon)
    start = (y30 >> (_BITS - lat_bits), x30 >> (_BITS - lon_bits))

    def reaches(row: int, col: int) -> bool:
        south, west = row * height - 90.0, col * width - 180.0
        d = _box_distance_m(lat, lon, south, west, south + height, west + width)
        return _lower_bound_m(d) <= radius

    seen = {start}
    queue = deque([start])
    pole_rows = [
        r
        for r, pole in ((rows - 1, 90.0), (0, -90.0))
        if _lower_bound_m(_distance_to_pole(lat, pole)) <= radius
    ]
    while queue:
        row, col = queue.popleft()
        if row in pole_rows:  # cells around a pole the circle holds all meet at that pole
            pole_rows.remove(row)
            if len(seen) + cols > max_cells:
                raise GeoError(
                    f"cover_circle: the circle holds a pole, so precision={precision} needs all "
                    f"{cols} cells of the polar row, more than max_cells={max_cells}"
                )
            for c in range(cols):
                if (row, c) not in seen:
                    seen.add((row, c))
                    queue.append((row, c))
        for d_row, d_col in DIRECTIONS.values():
            r, c = row + d_row, (col + d_col) % cols
            if 0 <= r < rows and (r, c) not in seen and reaches(r, c):
                seen.add((r, c))
                queue.append((r, c))
        if len(seen) > max_cells:
            raise GeoError(
                f"cover_circle: radius_m={shown(radius_m)} at precision={precision} needs more "
                f"than max_cells={max_cells} cells; choose a coarser precision"
            )
    shift_lat, shift_lon = _BITS - lat_bits, _BITS - lon_bits
    return sorted(_code30(r << shift_lat, c << shift_lon)[:precision] for r, c in seen)


def _distance_to_pole(lat: float, pole: float) -> float:
    return EARTH_RADIUS_M * abs(pole - lat) * RAD
