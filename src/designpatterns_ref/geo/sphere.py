"""Great-circle distances on a sphere, and the lower bound from a point to a latitude/longitude box.

Case study: Design a Ride-Sharing App (Uber / Lyft) (docs/case-studies/ride-sharing.md)

Every distance in the geo family is the haversine distance on one sphere, of radius
:data:`EARTH_RADIUS_M` = 6,371,008.8 m (the IUGG mean Earth radius). The Earth is not a
sphere: against the WGS84 ellipsoid the spherical distance errs by up to about 0.5%, which does not
change who is nearest in a city; what matters for exact matching is that every index measures
with the same function, so their answers can be compared bit for bit.

:func:`equirectangular_m` is the fast approximation (one square root, one cosine): it treats a
small patch of the sphere as flat. Its relative error stays below 0.1% for points up to about
100 km apart below 70° of latitude, and grows near the poles and with distance, so the indexes
never rank by it.

:func:`box_distance_m` is the subtle part: the shortest great-circle distance from a point to a
latitude/longitude box. If the point's meridian crosses the box, the nearest point of the box is on
that meridian (distance = the latitude gap). Otherwise it lies on one of the box's two bounding
meridians: along a meridian the distance is ``acos(A cos(t - t0))``, unimodal in the latitude
``t``, so the nearest point is the foot of the perpendicular ``t0`` when it falls inside the edge,
else an end of the edge. This holds near the poles (where both edges meet at the pole) and across
±180° (longitudes only enter through sines and cosines). :func:`lower_bound_m` shrinks a distance
by a margin that covers floating-point rounding, so "no point in this box can be nearer than the
bound" holds for the haversine values actually computed.

Complexity: O(1) per call, a handful of trigonometric functions.

>>> round(haversine_m(0.0, 0.0, 0.0, 1.0))
111195
>>> round(haversine_m(0.0, 179.5, 0.0, -179.5))  # across the antimeridian
111195
>>> box_distance_m(10.0, 5.0, 0.0, 0.0, 20.0, 10.0)  # inside the box
0.0
>>> round(box_distance_m(30.0, 5.0, 0.0, 0.0, 20.0, 10.0))  # straight south to the box
1111951
"""

from __future__ import annotations

import math
from math import asin, atan2, cos, sin, sqrt

from designpatterns_ref.errors import shown
from designpatterns_ref.geo.base import GeoError, GeoTypeError, check_lat, check_lon, check_radius

__all__ = [
    "EARTH_RADIUS_M",
    "box_distance_m",
    "equirectangular_m",
    "haversine_m",
    "lower_bound_m",
]

#: The radius of the sphere every distance is measured on: the IUGG mean Earth radius, in metres.
EARTH_RADIUS_M = 6_371_008.8

RAD = math.pi / 180.0  # the same factor math.radians uses, so results are bit-identical
_D = 2.0 * EARTH_RADIUS_M
_TWO_PI = 2.0 * math.pi


def _checked(
    where: str, lat1: object, lon1: object, lat2: object, lon2: object
) -> tuple[float, float, float, float]:
    try:
        return (
            check_lat("lat1", lat1),
            check_lon("lon1", lon1),
            check_lat("lat2", lat2),
            check_lon("lon2", lon2),
        )
    except GeoTypeError as exc:
        raise GeoTypeError(f"{where}: {exc}") from None
    except GeoError as exc:
        raise GeoError(f"{where}: {exc}") from None


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two points given in degrees.

    Checks its arguments (finite numbers, latitudes in [-90, 90], longitudes in [-180, 180]) and
    raises :class:`~designpatterns_ref.geo.base.GeoError` otherwise; the indexes, which have
    checked their input already, call the unchecked ``_haversine_m``.

    >>> haversine_m(90.0, 0.0, 90.0, 123.0) < 1e-6  # two names for the north pole
    True
    >>> haversine_m(91.0, 0.0, 0.0, 0.0)
    Traceback (most recent call last):
    ...
    designpatterns_ref.geo.base.GeoError: haversine_m: lat1=91.0 is out of range: ...
    """
    return _haversine_m(*_checked("haversine_m", lat1, lon1, lat2, lon2))


def _haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """:func:`haversine_m` without the checks, for callers that validated their input.

    Numerically stable for short distances; the indexes inline this exact expression, so keep
    them in step if it ever changes.
    """
    p1 = lat1 * RAD
    p2 = lat2 * RAD
    h = sin((p2 - p1) * 0.5) ** 2 + cos(p1) * cos(p2) * sin((lon2 * RAD - lon1 * RAD) * 0.5) ** 2
    return _D * asin(sqrt(h if h < 1.0 else 1.0))  # rounding can push h just past 1


def equirectangular_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Fast flat-patch approximation of :func:`haversine_m` (see the module notes on its error).

    >>> round(equirectangular_m(0.0, 0.0, 0.0, 1.0))
    111195
    """
    lat1, lon1, lat2, lon2 = _checked("equirectangular_m", lat1, lon1, lat2, lon2)
    dlon = (lon2 - lon1 + 180.0) % 360.0 - 180.0
    x = dlon * RAD * cos((lat1 + lat2) * 0.5 * RAD)
    y = (lat2 - lat1) * RAD
    return EARTH_RADIUS_M * sqrt(x * x + y * y)


def _edge_angle(phi: float, lam: float, lam0: float, south: float, north: float) -> float:
    """Angle (radians) from point (phi, lam) to the meridian arc lam0, latitudes [south, north]."""
    delta = lam - lam0
    cphi = cos(phi)
    foot = atan2(sin(phi), cphi * cos(delta))  # latitude where the perpendicular meets lam0
    if south <= foot <= north:
        return asin(min(1.0, cphi * abs(sin(delta))))
    best = math.inf
    for t in (south, north):
        h = sin((t - phi) * 0.5) ** 2 + cphi * cos(t) * sin(delta * 0.5) ** 2
        best = min(best, 2.0 * asin(min(1.0, sqrt(h))))
    return best


def box_distance_m(
    lat: float, lon: float, south: float, west: float, north: float, east: float
) -> float:
    """Shortest great-circle distance in metres from a point to a box (all in degrees).

    The box spans latitudes [south, north] and longitudes from ``west`` eastwards to ``east``;
    ``east < west`` means it crosses the antimeridian, and a span of 360° or more covers every
    longitude. Returns 0 for a point inside or on the box.

    Checks its arguments and raises :class:`~designpatterns_ref.geo.base.GeoError` otherwise:
    finite numbers, ``lat``, ``south`` and ``north`` in [-90, 90] with ``south <= north``, ``lon``
    in [-180, 180], and ``west`` and ``east`` within ±540° (a box across ±180° may be written
    with ``east`` past 180, as ``west`` plus its width). The indexes, which have checked their
    input already, call the unchecked ``_box_distance_m``.

    >>> round(box_distance_m(0.0, 179.0, -1.0, -180.0, 1.0, -179.0))  # across ±180°
    111195
    >>> round(box_distance_m(89.0, 0.0, 80.0, 170.0, 85.0, 175.0))  # over the pole
    665761
    >>> box_distance_m(0.0, 0.0, 10.0, 0.0, 5.0, 1.0)
    Traceback (most recent call last):
    ...
    designpatterns_ref.geo.base.GeoError: box_distance_m: south=10.0 is north of north=5.0: ...
    """
    where = "box_distance_m"
    try:
        lat = check_lat("lat", lat)
        lon = check_lon("lon", lon)
        south = check_lat("south", south)
        north = check_lat("north", north)
        west, east = _edge("west", west), _edge("east", east)
    except GeoTypeError as exc:
        raise GeoTypeError(f"{where}: {exc}") from None
    except GeoError as exc:
        raise GeoError(f"{where}: {exc}") from None
    if south > north:
        raise GeoError(
            f"{where}: south={shown(south)} is north of north={shown(north)}: "
            "a box needs south <= north"
        )
    return _box_distance_m(lat, lon, south, west, north, east)


def _edge(field: str, value: object) -> float:
    """A box's west or east edge: a finite longitude within ±540 degrees, kept as given."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise GeoTypeError(
            f"{field}={shown(value)} must be a number (int or float), not {type(value).__name__}"
        )
    if not -540.0 <= value <= 540.0:  # NaN, infinities and 10**400 fail too
        raise GeoError(
            f"{field}={shown(value)} is out of range: a box edge must lie in [-540, 540]"
        )
    return float(value)


def _box_distance_m(
    lat: float, lon: float, south: float, west: float, north: float, east: float
) -> float:
    """:func:`box_distance_m` without the checks, for callers that validated their input."""
    span = east - west
    full = span >= 360.0
    if not full:
        span %= 360.0
    if full or (lon - west) % 360.0 <= span:
        if lat > north:
            return EARTH_RADIUS_M * (lat - north) * RAD
        if lat < south:
            return EARTH_RADIUS_M * (south - lat) * RAD
        return 0.0
    phi = lat * RAD
    lam = lon * RAD
    s, n = south * RAD, north * RAD
    return EARTH_RADIUS_M * min(
        _edge_angle(phi, lam, west * RAD, s, n), _edge_angle(phi, lam, east * RAD, s, n)
    )


def lower_bound_m(distance_m: float) -> float:
    """``distance_m`` less a margin covering rounding: safe to compare with computed haversines.

    Haversine and the cross-track formula lose precision near 10,000 km and 20,000 km (where
    ``asin`` is steep), up to about 0.2 m; elsewhere they agree to a micrometre. The margin is
    1 mm, or 1 m beyond 5,000 km, so a bound never exceeds a distance actually computed.
    ``distance_m`` must be zero or more metres, or infinity (returned as it is); anything else
    raises :class:`~designpatterns_ref.geo.base.GeoError`. The indexes call the unchecked
    ``_lower_bound_m``.

    >>> lower_bound_m(100.0)
    99.999
    >>> lower_bound_m(math.inf)
    inf
    """
    if not (isinstance(distance_m, float) and distance_m == math.inf):
        try:
            distance_m = check_radius("distance_m", distance_m)
        except GeoTypeError as exc:
            raise GeoTypeError(f"lower_bound_m: {exc}") from None
        except GeoError as exc:
            raise GeoError(f"lower_bound_m: {exc}") from None
    return _lower_bound_m(distance_m)


def _lower_bound_m(distance_m: float) -> float:
    """:func:`lower_bound_m` without the checks, for callers that validated their input."""
    if distance_m == math.inf:
        return distance_m
    return distance_m - (1e-3 if distance_m < 5e6 else 1.0)
