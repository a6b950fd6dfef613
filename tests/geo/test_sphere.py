"""The distance from a point to a latitude/longitude box, proven against dense sampling."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from designpatterns_ref.geo import GeoError, GeoTypeError
from designpatterns_ref.geo.sphere import (
    EARTH_RADIUS_M,
    _haversine_m,
    box_distance_m,
    equirectangular_m,
    haversine_m,
    lower_bound_m,
)

from .strategies import points


@st.composite
def boxes(draw: st.DrawFn) -> tuple[float, float, float, float]:
    """Boxes near the poles, across ±180° and of every size, as (south, west, north, east)."""
    south = draw(st.sampled_from([-90.0, -89.9, -45.0, 0.0, 60.0, 85.0, 89.99]))
    height = draw(st.sampled_from([1e-4, 0.01, 1.0, 10.0, 90.0]))
    north = min(90.0, south + height)
    west = draw(st.sampled_from([-180.0, -179.99, -10.0, 0.0, 170.0, 179.9]))
    width = draw(st.sampled_from([1e-4, 0.01, 1.0, 20.0, 200.0]))
    return south, west, north, west + width  # east may pass 180: the box crosses ±180°


def sample(box: tuple[float, float, float, float], n: int = 40) -> list[tuple[float, float]]:
    south, west, north, east = box
    out = []
    for i in range(n + 1):
        lat = south + (north - south) * i / n
        for j in range(n + 1):
            lon = west + (east - west) * j / n
            out.append((lat, (lon + 180.0) % 360.0 - 180.0))
    return out


@given(points(), boxes())
def test_box_distance_is_a_tight_lower_bound(
    point: tuple[float, float], box: tuple[float, float, float, float]
) -> None:
    lat, lon = point
    bound = box_distance_m(lat, lon, *box)
    # Samples of a box across ±180° run past 180: the unchecked formula takes them as they are.
    nearest = min(_haversine_m(lat, lon, a, b) for a, b in sample(box))
    assert lower_bound_m(bound) <= nearest  # no point of the box is nearer than the bound
    # and the bound is tight: the nearest sample is within one sample spacing of it
    south, west, north, east = box
    spacing = _haversine_m(south, west, south + (north - south) / 40, west + (east - west) / 40)
    spacing = max(spacing, _haversine_m(north, west, north, west + (east - west) / 40))
    assert nearest <= bound + spacing + 1e-6


@given(points(), boxes())
def test_box_distance_on_its_own_edges(
    point: tuple[float, float], box: tuple[float, float, float, float]
) -> None:
    south, west, north, east = box
    for lat, lon in [(south, west), (north, east), ((south + north) / 2, west)]:
        assert box_distance_m(lat, (lon + 180.0) % 360.0 - 180.0, *box) <= 1e-6


def test_box_distance_examples() -> None:
    # over the pole: from 89N 0E the nearest point of the box 80-85N, 170-175E is its corner
    # farthest from the antipodal meridian (85N 170E), not the one "straight over the pole"
    d = box_distance_m(89.0, 0.0, 80.0, 170.0, 85.0, 175.0)
    assert abs(d - haversine_m(89.0, 0.0, 85.0, 170.0)) < 1e-6
    assert d < haversine_m(89.0, 0.0, 85.0, 175.0)
    # across the antimeridian
    assert abs(box_distance_m(0.0, 179.0, -1.0, -180.0, 1.0, -179.0) - 111_195) < 1.0
    assert box_distance_m(10.0, 5.0, -90.0, -180.0, 90.0, 180.0) == 0.0


@given(points(), points())
def test_haversine_is_a_symmetric_metric(a: tuple[float, float], b: tuple[float, float]) -> None:
    d = haversine_m(*a, *b)
    assert 0.0 <= d <= math.pi * EARTH_RADIUS_M + 1e-6
    assert math.isclose(d, haversine_m(*b, *a), rel_tol=1e-12, abs_tol=1e-9)


def test_equirectangular_error_is_as_documented() -> None:
    worst = 0.0
    for lat in range(-70, 71, 5):
        for bearing in range(0, 360, 15):
            for km in (0.1, 1.0, 10.0, 100.0):
                d = km * 1000.0
                b = math.radians(bearing)
                lat2 = lat + math.degrees(d * math.cos(b) / EARTH_RADIUS_M)
                lon2 = math.degrees(d * math.sin(b) / EARTH_RADIUS_M / math.cos(math.radians(lat)))
                exact = haversine_m(lat, 0.0, lat2, lon2)
                worst = max(worst, abs(equirectangular_m(lat, 0.0, lat2, lon2) - exact) / exact)
    assert worst < 1e-3  # "below 0.1% up to 100 km, below 70 degrees of latitude"


BOX = {"lat": 10.0, "lon": 5.0, "south": 0.0, "west": 0.0, "north": 20.0, "east": 10.0}


@pytest.mark.parametrize("field", list(BOX))
@pytest.mark.parametrize(
    ("bad", "error"),
    [
        (math.nan, GeoError),
        (math.inf, GeoError),
        (-math.inf, GeoError),
        (10**400, GeoError),
        (1000.0, GeoError),
        ("1", GeoTypeError),
        (None, GeoTypeError),
        (True, GeoTypeError),
        (1j, GeoTypeError),
    ],
    ids=["nan", "inf", "-inf", "10**400", "1000", "str", "None", "bool", "complex"],
)
def test_box_distance_refuses_bad_arguments_by_name(field: str, bad: Any, error: type) -> None:
    with pytest.raises(error, match=rf"box_distance_m: {field}="):
        box_distance_m(**{**BOX, field: bad})


def test_box_distance_refuses_a_box_upside_down() -> None:
    with pytest.raises(GeoError, match=r"south=20\.0 is north of north=10\.0"):
        box_distance_m(0.0, 0.0, 20.0, 0.0, 10.0, 1.0)
    assert box_distance_m(0.0, 0.0, 10.0, 0.0, 10.0, 1.0) > 0.0  # a box of one parallel is fine
    assert box_distance_m(10.0, 5.0, -90.0, -180.0, 90.0, 180.0) == 0.0  # 180 is kept: all of it


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        (math.nan, GeoError),
        (-math.inf, GeoError),
        (-1.0, GeoError),
        (10**400, GeoError),
        ("1", GeoTypeError),
        (None, GeoTypeError),
        (False, GeoTypeError),
    ],
    ids=["nan", "-inf", "negative", "10**400", "str", "None", "bool"],
)
def test_lower_bound_refuses_what_is_not_a_distance(bad: Any, error: type) -> None:
    with pytest.raises(error, match=r"lower_bound_m: distance_m="):
        lower_bound_m(bad)


def test_lower_bound_keeps_infinity_and_takes_ints() -> None:
    assert lower_bound_m(math.inf) == math.inf
    assert lower_bound_m(0) == -1e-3
    assert lower_bound_m(6_000_000) == 5_999_999.0
