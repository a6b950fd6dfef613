"""Geohash: round trips, boundary rules, neighbours, integer forms, circle covers."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from designpatterns_ref.geo import geohash as gh
from designpatterns_ref.geo import geohash_neighbours as ghn
from designpatterns_ref.geo.base import GeoError, GeoTypeError
from designpatterns_ref.geo.sphere import haversine_m

from .strategies import points

codes = st.text(alphabet=gh.BASE32, min_size=1, max_size=12)


def bisect_encode(lat: float, lon: float, precision: int) -> str:
    """The textbook bit-by-bit bisection, to hold the table-driven encoder to."""
    lat_lo, lat_hi, lon_lo, lon_hi = -90.0, 90.0, -180.0, 180.0
    bits, even, out = 0, True, []
    lon = -180.0 if lon == 180.0 else lon
    for i in range(5 * precision):
        if even:
            mid = (lon_lo + lon_hi) / 2
            bit = lon >= mid
            lon_lo, lon_hi = (mid, lon_hi) if bit else (lon_lo, mid)
        else:
            mid = (lat_lo + lat_hi) / 2
            bit = lat >= mid
            lat_lo, lat_hi = (mid, lat_hi) if bit else (lat_lo, mid)
        bits = bits * 2 + bit
        even = not even
        if i % 5 == 4:
            out.append(gh.BASE32[bits])
            bits = 0
    return "".join(out)


@given(codes)
def test_round_trip_every_cell(code: str) -> None:
    assert gh.encode(*gh.decode(code), len(code)) == code


@given(points(), st.integers(1, 12))
def test_encode_equals_bisection_even_on_edges(point: tuple[float, float], precision: int) -> None:
    lat, lon = point
    assert gh.encode(lat, lon, precision) == bisect_encode(lat, lon, precision)


@given(points(), st.integers(1, 12))
def test_point_lies_in_its_cell_and_prefixes_nest(point: tuple[float, float], p: int) -> None:
    lat, lon = point
    code = gh.encode(lat, lon, p)
    south, west, north, east = gh.bbox(code)
    lon = -180.0 if lon == 180.0 else lon
    assert south <= lat <= north and west <= lon <= east
    assert lat < north or north == 90.0
    assert gh.encode(lat, lon, 12).startswith(code)


def test_matches_pygeohash_on_random_points() -> None:
    pygeohash = pytest.importorskip("pygeohash")
    rng = random.Random(7)
    for _ in range(2000):
        lat, lon = rng.uniform(-90, 90), rng.uniform(-180, 180)
        p = rng.randint(1, 12)
        assert gh.encode(lat, lon, p) == pygeohash.encode(lat, lon, p)


def test_boundary_rules() -> None:
    assert gh.encode(90, 0, 1) == "u"  # 90 accepted: top row
    assert gh.encode(90.0, 180.0, 4) == gh.encode(90.0, -180.0, 4)
    assert gh.encode(0.0, 180, 12) == gh.encode(0.0, -180.0, 12)
    assert gh.encode(-90.0, -180.0, 12) == "000000000000"
    assert gh.encode(0.0, 0.0, 1) == "s"  # on the edges: the cell above and to the east


@pytest.mark.parametrize(
    ("args", "error", "words"),
    [
        ((math.nan, 0.0, 5), GeoError, "finite"),
        ((0.0, math.inf, 5), GeoError, "finite"),
        (("1.0", 0.0, 5), GeoTypeError, "number"),
        ((True, 0.0, 5), GeoTypeError, "number"),
        ((90.0001, 0.0, 5), GeoError, "[-90, 90]"),
        ((0.0, -180.0001, 5), GeoError, "[-180, 180]"),
        ((0.0, 0.0, 0), GeoError, "1 to 12"),
        ((0.0, 0.0, 13), GeoError, "1 to 12"),
        ((0.0, 0.0, 5.0), GeoTypeError, "int"),
    ],
)
def test_encode_refuses_bad_input(args: tuple[object, ...], error: type, words: str) -> None:
    with pytest.raises(error, match=None) as info:
        gh.encode(*args)  # type: ignore[arg-type]
    assert words in str(info.value)


@pytest.mark.parametrize("code", ["", "a", "u4pA", "u4p ", "u4pé", "-1", "1_0", "0123456789bcd", 5])
def test_decode_refuses_bad_codes(code: object) -> None:
    with pytest.raises(GeoError):
        gh.decode(code)  # type: ignore[arg-type]
    with pytest.raises(GeoError):
        gh.neighbors(code)  # type: ignore[arg-type]


@given(codes)
def test_neighbours_are_symmetric_and_adjacent(code: str) -> None:
    around = gh.neighbors(code)
    assert len(set(around)) == len(around)
    assert code not in around
    south, _, north, _ = gh.bbox(code)
    assert len(around) == (5 if north == 90.0 or south == -90.0 else 8)
    for other in around:
        assert code in gh.neighbors(other)
        # adjacent: the boxes touch (distance 0 from the cell's centre to the other's box is
        # not required, but the centres are no more than one cell apart in each axis)
        o_s, _, o_n, _ = gh.bbox(other)
        assert o_s <= north and o_n >= south
    for direction, (d_row, _) in gh.DIRECTIONS.items():
        one = gh.neighbor(code, direction)
        if one is None:
            assert (d_row == 1 and north == 90.0) or (d_row == -1 and south == -90.0)
        else:
            assert one in around


def test_neighbours_wrap_the_antimeridian_and_stop_at_poles() -> None:
    assert gh.neighbor("zzzzz", "e") == "bpbpb"
    assert gh.neighbor("bpbpb", "w") == "zzzzz"
    assert gh.neighbor("zzzzz", "n") is None
    assert gh.neighbor("00000", "s") is None
    with pytest.raises(GeoError, match="direction"):
        gh.neighbor("u4pru", "up")


@given(points(), st.integers(1, 60))
def test_integer_forms_agree_with_strings(point: tuple[float, float], bits: int) -> None:
    lat, lon = point
    value = gh.encode_int(lat, lon, bits)
    assert 0 <= value < 2**bits
    if bits % 5 == 0:
        code = gh.encode(lat, lon, bits // 5)
        assert gh.to_int(code) == value
        assert gh.from_int(value, bits // 5) == code
    centre = gh.decode_int(value, bits)
    assert gh.encode_int(centre.lat, centre.lon, bits) == value
    assert (
        abs(centre.lat - lat) <= centre.lat_err
        and abs(centre.lon - (-180.0 if lon == 180 else lon)) <= centre.lon_err
    )


def test_redis_score_refuses_what_redis_refuses() -> None:
    with pytest.raises(GeoError, match=r"85\.05112878"):
        gh.redis_score(85.06, 0.0)
    lat, lon = gh.redis_decode(gh.redis_score(41.8919, 12.5113))
    assert haversine_m(lat, lon, 41.8919, 12.5113) < 1.0


@given(points(), st.floats(0.0, 300_000.0), st.integers(0, 40), st.data())
def test_cover_contains_every_point_of_the_circle(
    centre: tuple[float, float], radius: float, _: int, data: st.DataObject
) -> None:
    lat, lon = centre
    cells = set(gh.cover_circle(lat, lon, radius))
    precision = len(next(iter(cells)))
    rng = random.Random(data.draw(st.integers(0, 2**32)))
    for _ in range(200):
        # a random point at distance <= radius: a random bearing and distance
        bearing, frac = rng.uniform(0, 2 * math.pi), math.sqrt(rng.random())
        p_lat, p_lon = destination(lat, lon, bearing, radius * frac)
        if haversine_m(lat, lon, p_lat, p_lon) <= radius:
            assert gh.encode(p_lat, p_lon, precision) in cells


def test_cover_adapts_its_precision_and_is_exact() -> None:
    cells = gh.cover_circle(48.8584, 2.2945, 500.0)
    assert 1 <= len(cells) <= 9
    # every kept cell is reached by the circle; a fixed 3x3 block would keep more or miss some
    for code in cells:
        from designpatterns_ref.geo.sphere import box_distance_m

        assert box_distance_m(48.8584, 2.2945, *gh.bbox(code)) <= 500.0
    assert len(gh.cover_circle(90.0, 0.0, 1000.0, 3)) == 256  # the pole: all round it
    assert gh.cover_circle(0.1, 0.1, 0.0, 12) == [gh.encode(0.1, 0.1, 12)]
    assert len(gh.cover_circle(0.0, 0.0, 0.0, 12)) == 4  # a corner: the four cells meeting there
    with pytest.raises(GeoError, match="max_cells"):
        gh.cover_circle(0.0, 0.0, 100_000.0, 9, max_cells=1000)
    with pytest.raises(GeoError, match="polar row"):
        gh.cover_circle(90.0, 0.0, 1.0, 12)


def destination(lat: float, lon: float, bearing: float, distance_m: float) -> tuple[float, float]:
    """The point ``distance_m`` from (lat, lon) along ``bearing`` on the sphere."""
    from designpatterns_ref.geo.sphere import EARTH_RADIUS_M

    d = distance_m / EARTH_RADIUS_M
    p1, l1 = math.radians(lat), math.radians(lon)
    p2 = math.asin(
        max(
            -1.0,
            min(1.0, math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(bearing)),
        )
    )
    l2 = l1 + math.atan2(
        math.sin(bearing) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * math.sin(p2)
    )
    lon2 = (math.degrees(l2) + 180.0) % 360.0 - 180.0
    return max(-90.0, min(90.0, math.degrees(p2))), lon2


@pytest.mark.parametrize("precision", range(1, 13))
def test_neighbours_match_neighbor_in_order_at_every_precision(precision: int) -> None:
    # neighbors cuts one packed text into codes; every precision, 12 included, must cut right
    for lat, lon in [(57.64911, 10.40744), (89.99, -179.99), (-89.99, 179.99), (0.0, 0.0)]:
        code = gh.encode(lat, lon, precision)
        one_by_one = [c for d in gh.DIRECTIONS if (c := gh.neighbor(code, d)) is not None]
        assert gh.neighbors(code) == one_by_one
        assert all(len(c) == precision for c in one_by_one)


# ---------------------------------------------------------------------------------------------
# The table-driven paths against straightforward references


def bisect_decode(code: str) -> gh.Decoded:
    """The textbook decode: halve the ranges bit by bit, then take the middle."""
    lat_lo, lat_hi, lon_lo, lon_hi = -90.0, 90.0, -180.0, 180.0
    even = True
    for ch in code:
        value = gh.BASE32.index(ch)
        for shift in range(4, -1, -1):
            bit = value >> shift & 1
            if even:
                mid = (lon_lo + lon_hi) / 2
                lon_lo, lon_hi = (mid, lon_hi) if bit else (lon_lo, mid)
            else:
                mid = (lat_lo + lat_hi) / 2
                lat_lo, lat_hi = (mid, lat_hi) if bit else (lat_lo, mid)
            even = not even
    return gh.Decoded(
        (lat_lo + lat_hi) / 2, (lon_lo + lon_hi) / 2, (lat_hi - lat_lo) / 2, (lon_hi - lon_lo) / 2
    )


def offset_neighbours(code: str) -> list[str]:
    """The neighbours found by encoding the centres one cell height / width away."""
    centre = gh.decode(code)
    out = []
    for d_row, d_col in gh.DIRECTIONS.values():
        lat = centre.lat + d_row * 2 * centre.lat_err
        if not -90.0 < lat < 90.0:
            continue
        lon = (centre.lon + d_col * 2 * centre.lon_err + 180.0) % 360.0 - 180.0
        out.append(gh.encode(lat, lon, len(code)))
    return out


@st.composite
def awkward_codes(draw: st.DrawFn) -> str:
    """Codes near the poles, the antimeridian and cell edges, or anywhere."""
    if draw(st.booleans()):
        return draw(codes)
    lat, lon = draw(points())
    return gh.encode(lat, lon, draw(st.integers(1, 12)))


@given(codes)
def test_decode_equals_bisection(code: str) -> None:
    got, want = gh.decode(code), bisect_decode(code)
    assert got == want and repr(got) == repr(want) and tuple(got) == tuple(want)


def test_decode_equals_bisection_for_every_short_code() -> None:
    for a in gh.BASE32:
        assert gh.decode(a) == bisect_decode(a)
        for b in gh.BASE32:
            assert gh.decode(a + b) == bisect_decode(a + b)


@given(awkward_codes())
def test_both_neighbour_paths_equal_offset_centres(code: str) -> None:
    want = offset_neighbours(code)
    assert gh.neighbors(code) == want
    assert gh._around(code) == want  # the general path, also for codes the table serves


def test_neighbour_table_covers_the_inner_cells_of_every_block() -> None:
    # 30 x 30 of the 32 x 32 cells of the last two characters have all eight neighbours inside
    ghn.neighbors("s0s0")  # builds the tables
    assert len(ghn._TAILS) == 2
    for table in ghn._TAILS:
        assert len(table) == 900
    for code in ["s0s0", "s0s", "ezs42", "u4pruydqqvj", "0000pp", "zzzzbb"]:
        assert gh.neighbors(code) == gh._around(code) == offset_neighbours(code)


@pytest.mark.parametrize("code", ["A4pu", "é4pu", "u\x004pu", "u4p-s0", " u4pu"])
def test_a_bad_character_before_the_last_two_is_refused(code: str) -> None:
    for fn in (gh.decode, gh.neighbors, gh.bbox):
        with pytest.raises(GeoError, match="which is not a geohash character") as info:
            fn(code)
        assert repr(code) in str(info.value)


@pytest.mark.parametrize("lon", [-180.0, -0.5, 0.0, 179.999999, 180.0])
def test_latitude_90_encodes_as_bisection_does(lon: float) -> None:
    for precision in range(1, 13):
        code = gh.encode(90.0, lon, precision)
        assert code == bisect_encode(90.0, lon, precision) == gh.encode(90, lon, precision)
        assert gh.bbox(code).north == 90.0


def test_decode_keeps_the_result_type() -> None:
    d = gh.decode("ezs42")
    assert type(d) is gh.Decoded
    assert d == gh.Decoded(d.lat, d.lon, d.lat_err, d.lon_err)
    assert hash(d) == hash(gh.Decoded(d.lat, d.lon, d.lat_err, d.lon_err))
    assert d != (d.lat, d.lon)


@given(st.integers(0, 2**30), st.integers(0, 2**30 - 1), st.integers(-2, 2))
def test_encode_on_and_beside_the_finest_edges(row: int, col: int, ulps: int) -> None:
    # a point on an edge of the 30-bit grid, or a float or two beside it: the exact check's cases
    lat = row * 180.0 / 2**30 - 90.0
    lon = col * 360.0 / 2**30 - 180.0
    for _ in range(abs(ulps)):
        lat = math.nextafter(lat, math.copysign(math.inf, ulps))
        lon = math.nextafter(lon, math.copysign(math.inf, ulps))
    lat = max(-90.0, min(90.0, lat))
    lon = max(-180.0, min(180.0, lon))
    assert gh.encode(lat, lon, 12) == bisect_encode(lat, lon, 12)
