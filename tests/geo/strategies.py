"""Hypothesis strategies for the geo tests: points near the poles, at ±180° and on cell edges."""

from __future__ import annotations

import math

from hypothesis import strategies as st

CENTRES = [
    (0.0, 0.0),
    (51.5, -0.12),
    (89.9995, 10.0),
    (90.0, 0.0),
    (-90.0, 0.0),
    (-89.99, -120.0),
    (0.0, -180.0),
    (45.0, 179.9999),
    (-33.9, -179.995),
    (84.9, 179.99),
    (64.70000012793487, 10.536199075467685),  # an H3 pentagon (at every resolution)
]


def wrap(lon: float) -> float:
    return (lon + 180.0) % 360.0 - 180.0


def clamp_lat(lat: float) -> float:
    return max(-90.0, min(90.0, lat))


@st.composite
def points(draw: st.DrawFn, centre: tuple[float, float] | None = None) -> tuple[float, float]:
    """A point near one of the awkward centres, sometimes snapped onto a cell edge."""
    c_lat, c_lon = centre if centre is not None else draw(st.sampled_from(CENTRES))
    scale = draw(st.sampled_from([1e-6, 1e-4, 1e-2, 0.3]))
    lat = clamp_lat(c_lat + draw(st.floats(-1.0, 1.0)) * scale)
    lon = wrap(c_lon + draw(st.floats(-1.0, 1.0)) * scale / max(0.05, math.cos(math.radians(lat))))
    snap = draw(st.sampled_from([None, None, 10, 17, 18, 20, 25]))
    if snap is not None:  # onto the grid of 2**snap rows / columns: exactly on a cell edge
        h, w = 180.0 / 2**snap, 360.0 / 2**snap
        lat = math.floor((lat + 90.0) / h) * h - 90.0
        lon = wrap(math.floor((lon + 180.0) / w) * w - 180.0)
    if draw(st.booleans()) and abs(lon) > 179.99:
        lon = draw(st.sampled_from([-180.0, 180.0, math.nextafter(180.0, 0.0)]))
    return lat, lon


@st.composite
def fleets(
    draw: st.DrawFn, max_drivers: int = 25, redis_safe: bool = False
) -> tuple[tuple[float, float], list[tuple[str, float, float, bool]], list[tuple[float, float]]]:
    """A centre, drivers around it (some busy, some sharing a position) and queries around it."""
    centres = [c for c in CENTRES if abs(c[0]) < 85.0] if redis_safe else CENTRES
    centre = draw(st.sampled_from(centres))
    n = draw(st.integers(0, max_drivers))
    pts = [draw(points(centre)) for _ in range(n)]
    if pts and draw(st.booleans()):
        pts.append(pts[0])  # two drivers at one spot: ties broken by id
    drivers = [
        (f"d{i:02d}", lat, lon, draw(st.booleans()) or i % 3 != 0)
        for i, (lat, lon) in enumerate(pts)
    ]
    queries = [draw(points(centre)) for _ in range(draw(st.integers(1, 4)))]
    if redis_safe:
        drivers = [(i, max(-85.0, min(85.0, a)), o, av) for i, a, o, av in drivers]
        queries = [(max(-85.0, min(85.0, a)), o) for a, o in queries]
    return centre, drivers, queries


#: Far-apart places: other continents, both poles and both sides of the antimeridian.
WORLD = [
    (-33.87, 151.21),  # Sydney
    (-23.55, -46.63),  # São Paulo
    (35.68, 139.69),  # Tokyo
    (61.22, -149.90),  # Anchorage
    (-33.92, 18.42),  # Cape Town
    (64.15, -21.94),  # Reykjavik
    (10.0, 60.0),  # the Arabian Sea
    (-77.85, 166.67),  # McMurdo
    (89.95, 45.0),
    (-89.95, -100.0),
    (65.0, 179.99999),
    (-17.7, -179.99),  # Fiji
]


@st.composite
def world_fleets(
    draw: st.DrawFn, max_near: int = 3, max_far: int = 12, redis_safe: bool = False
) -> tuple[tuple[float, float], list[tuple[str, float, float, bool]], list[tuple[float, float]]]:
    """A few drivers near a centre and the rest spread over the globe, thousands of km away.

    A ``nearest`` with k above the handful nearby has to reach across continents, past the
    radius where an index may switch strategy (Redis's scan of every driver beyond 2,000 km).
    """
    lat_max = 85.05 if redis_safe else 90.0  # Redis stores latitudes within ±85.05112878 only

    def far_point() -> tuple[float, float]:
        if draw(st.booleans()):
            return (draw(st.floats(-lat_max, lat_max)), draw(st.floats(-180.0, 180.0)))
        lat, lon = draw(points(draw(st.sampled_from(WORLD))))
        return max(-lat_max, min(lat_max, lat)), lon

    centres = [c for c in CENTRES if abs(c[0]) < 85.0] if redis_safe else CENTRES
    centre = draw(st.sampled_from(centres))
    near = [draw(points(centre)) for _ in range(draw(st.integers(0, max_near)))]
    far = [far_point() for _ in range(draw(st.integers(1, max_far)))]
    pts = [(max(-lat_max, min(lat_max, a)), o) for a, o in near] + far
    if draw(st.booleans()):
        pts.append(pts[-1])  # two drivers at one spot: ties broken by id
    drivers = [
        (f"d{i:02d}", lat, lon, draw(st.booleans()) or i % 3 != 0)
        for i, (lat, lon) in enumerate(pts)
    ]
    queries = [
        draw(points(centre)) if draw(st.booleans()) else far_point()
        for _ in range(draw(st.integers(1, 3)))
    ]
    return centre, drivers, [(max(-lat_max, min(lat_max, a)), o) for a, o in queries]
