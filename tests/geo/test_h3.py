"""H3Index: its distance bounds never exceed a real distance, and it answers like brute force."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.geo import BruteForceIndex, GeoError, GeoTypeError, H3Index, haversine_m
from designpatterns_ref.geo.h3_index import _Cell, _metres, edge_angle, h3_module, unit

from .strategies import CENTRES, clamp_lat, wrap

h3 = h3_module()
PENTAGONS = [h3.cell_to_latlng(c) for c in h3.get_pentagons(0)]


@st.composite
def pairs(draw: st.DrawFn) -> tuple[int, float, float, float, float]:
    """A resolution, a point q anywhere (often by a pentagon, a pole or ±180°) and a point p
    within a few cells of it."""
    res = draw(st.sampled_from([0, 1, 4, 7, 9, 12]))
    if draw(st.booleans()):
        q_lat, q_lon = draw(st.floats(-90, 90)), draw(st.floats(-180, 180, exclude_max=True))
    else:
        c_lat, c_lon = draw(st.sampled_from(PENTAGONS + CENTRES))
        spread = 3 * h3.average_hexagon_edge_length(res, "m") / 111_195.0
        q_lat = clamp_lat(c_lat + draw(st.floats(-1, 1)) * spread)
        q_lon = wrap(c_lon + draw(st.floats(-1, 1)) * spread)
    reach = draw(st.sampled_from([0.2, 1.0, 3.0])) * h3.average_hexagon_edge_length(res, "m")
    p_lat = clamp_lat(q_lat + draw(st.floats(-1, 1)) * reach / 111_195.0)
    scale = max(0.01, math.cos(math.radians(p_lat)))
    p_lon = wrap(q_lon + draw(st.floats(-1, 1)) * reach / 111_195.0 / scale)
    return res, p_lat, p_lon, q_lat, q_lon


@settings(max_examples=300)
@given(pairs())
def test_cell_bounds_never_exceed_the_distance_to_a_point_of_the_cell(
    pair: tuple[int, float, float, float, float],
) -> None:
    res, p_lat, p_lon, q_lat, q_lon = pair
    cell = h3.latlng_to_cell(q_lat, q_lon, res)
    if cell == h3.latlng_to_cell(p_lat, p_lon, res):
        return  # the bound is for cells the rider is not in
    geo = _Cell(h3, cell)
    p = unit(p_lat, p_lon)
    d = haversine_m(p_lat, p_lon, q_lat, q_lon)
    assert _metres(geo.bound(*p)) <= d
    assert geo.bound(*p) == min(edge_angle(p, e) for e in geo.arcs())  # inlined = readable
    assert geo.cheap_bound(*p) <= geo.bound(*p) + 1e-12  # the triangle inequality


def test_the_exact_bound_is_tight_for_a_neighbour() -> None:
    # next to a hexagon's edge the boundary distance is small; the centre bound is not
    cell = h3.latlng_to_cell(40.0, -74.0, 9)
    lat, lon = h3.cell_to_latlng(cell)
    near = h3.grid_disk(cell, 1)[1]
    geo = _Cell(h3, near)
    exact, cheap = geo.bound(*unit(lat, lon)), geo.cheap_bound(*unit(lat, lon))
    edge = h3.average_hexagon_edge_length(9, "m")
    assert 0.5 * edge < exact * 6_371_008.8 < 1.2 * edge  # about an apothem (0.87 edge)
    assert cheap < exact


@pytest.mark.parametrize("res", [0, 2, 9, 15])
@pytest.mark.parametrize("centre", [(90.0, 0.0), (-90.0, 0.0), (0.0, -180.0), PENTAGONS[0]])
def test_h3_index_equals_brute_force_at_poles_seams_and_pentagons(
    res: int, centre: tuple[float, float]
) -> None:
    rng = random.Random(res)
    clock = ManualClock()
    index, oracle = H3Index(res, clock=clock), BruteForceIndex(clock=clock)
    spread = max(1e-4, 4 * h3.average_hexagon_edge_length(res, "m") / 111_195.0)
    for i in range(120):
        lat = clamp_lat(centre[0] + rng.uniform(-spread, spread))
        lon = wrap(centre[1] + rng.uniform(-spread, spread))
        for ix in (index, oracle):
            ix.upsert(f"d{i:03d}", lat, lon, available=i % 6 != 0)
            if i % 9 == 0:
                ix.upsert(f"t{i:03d}", lat, lon)  # a twin: a tie broken by id
    for i in range(0, 120, 5):
        assert index.remove(f"d{i:03d}") and oracle.remove(f"d{i:03d}")
    for _ in range(25):
        lat = clamp_lat(centre[0] + rng.uniform(-spread, spread))
        lon = wrap(centre[1] + rng.uniform(-spread, spread))
        for k in (1, 7, 40):
            assert index.nearest(lat, lon, k) == oracle.nearest(lat, lon, k)
        radius = spread * 50_000.0
        assert index.within(lat, lon, radius, available_only=False) == oracle.within(
            lat, lon, radius, available_only=False
        )
    far = index.nearest(-centre[0], wrap(centre[1] + 180.0), 3)  # from the other side of Earth
    assert far == oracle.nearest(-centre[0], wrap(centre[1] + 180.0), 3)


def test_a_sparse_search_stays_short() -> None:
    # one driver in Paris, a rider in Sydney: the search gives up walking and measures the rest
    index = H3Index(12, clock=ManualClock())
    index.upsert("paris", 48.8584, 2.2945)
    (match,) = index.nearest(-33.8568, 151.2153, 5)
    assert match.driver_id == "paris" and len(index._geo) < 500


def test_cell_names_the_hexagon() -> None:
    index = H3Index(7, clock=ManualClock())
    index.upsert("a", 51.5007, -0.1246)
    assert index.cell("a") == h3.int_to_str(h3.latlng_to_cell(51.5007, -0.1246, 7))
    assert index.cell("nobody") is None
    assert "H3Index(resolution=7, drivers=1" in repr(index)


@pytest.mark.parametrize(
    ("resolution", "error"),
    [(16, GeoError), (-1, GeoError), (10**400, GeoError), (9.0, GeoTypeError), (True, GeoTypeError),
     (None, GeoTypeError), ("9", GeoTypeError)],
)  # fmt: skip
def test_resolution_is_checked(resolution: object, error: type) -> None:
    with pytest.raises(error, match="resolution="):
        H3Index(resolution)  # type: ignore[arg-type]


def test_h3_is_imported_only_when_an_h3_object_is_made() -> None:
    import subprocess
    import sys

    code = (
        "import sys, designpatterns_ref as dp; dp.geo.GeohashIndex(); "
        "print('h3' in sys.modules); dp.geo.H3Index(); print('h3' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]
