"""Geohash: a latitude/longitude as a short string whose prefixes are ever larger enclosing cells.

Case study: Design a Ride-Sharing App (Uber / Lyft) (docs/case-studies/ride-sharing.md)

Halve the longitude range [-180, 180] and the latitude range [-90, 90] in turn, longitude first,
writing 1 when the point lies in the upper half (``value >= midpoint``) and 0 otherwise; every 5
bits become one base-32 character of ``0123456789bcdefghjkmnpqrstuvwxyz``. A code of ``p``
characters names a cell of ``ceil(5p/2)`` longitude bits by ``floor(5p/2)`` latitude bits, and
every prefix names the cell that contains it, so "which drivers are near" becomes "which drivers
share a prefix" and a key-value store can index them.

Boundary rules: latitude in [-90, 90] with 90 accepted (it falls in the top row), longitude in
[-180, 180] with 180 the same meridian as -180; a point on a cell edge belongs to the cell above or
to the east of it. NaN, strings, out-of-range values, a character outside the alphabet (upper
case included) and a precision outside 1..12 raise :class:`~designpatterns_ref.geo.base.GeoError`.

Speed, in pure Python, comes from doing each job with a few C-level primitives and precomputed
tables instead of a loop over bits or characters:

- **encode** quantises a coordinate to 30 bits with one multiplication and ``math.floor``. The
  product is within 2**-22 of the exact value, so only a product within 2**-20 of a whole number
  (a point on or next to a cell edge) is checked by exact comparison against the edge, which puts
  it where bisection would; 90 is taken as the largest float below it, which lies in the same top
  row at every precision. Tables indexed by 15 bits of each axis place those bits where they
  belong in a 12-byte layout, one character value per byte; ``int.to_bytes`` and one
  ``bytes.translate`` turn that into the text.
- **decode** reads the code's ASCII bytes as six 16-bit character pairs with one
  ``struct.unpack``. A pair holds 5 longitude and 5 latitude bits, so a 1,024-entry table per
  pair position gives the pair's share of the cell's corner as one ``complex`` number
  (longitude real, latitude imaginary); six additions sum both coordinates at once. Every share
  is a small multiple of a power of two, so the sums are exact: the result is the same float
  bisection gives.
- **neighbors** never splits the bits apart. In the byte layout the longitude bits and the
  latitude bits each sit under a fixed mask, and a masked ("dilated") integer can be stepped in
  place: ``((v | ~mask) + lowest) & mask`` adds one column or row, carrying across the gaps, and
  ``(v - lowest) & mask`` subtracts one; both wrap around, which is what columns do at the
  antimeridian. Four such steps give the north and south rows and the east and west columns;
  six multiplications by constants copy them into the eight slots of one integer, which one
  ``to_bytes``, ``translate``, ``decode`` and ``split`` cut into the eight codes. Most codes do
  not even need that: when all eight neighbours differ from the code only in its last two
  characters (900 of every 1,024 cells), a table gives those characters and one ``join`` and one
  ``split`` make the codes.

The tables take about 13 MB: 11 MB for the 15-bit tables of ``encode`` and the 16-bit ones of
the integer forms, built at import (about 0.1 s), and 1.6 MB for the pair tables of ``decode``
and the neighbour tails of :func:`neighbors`, the tails built on its first call.

The trade-off against H3's hexagons: geohash cells are rectangles in latitude/longitude, so their
width in metres shrinks with ``cos(latitude)`` and neighbours are not all equidistant; in exchange
the codes are plain prefix-ordered strings any database can index. :func:`cover_circle` therefore
chooses its precision from the cell's real height and width at the circle's latitude and keeps
only the cells the circle actually reaches (an exact circle-versus-cell test), never a fixed 3x3
block.

Complexity: encode, decode and each neighbour are O(1) (at most 12 characters);
``cover_circle`` is O(cells returned).

>>> encode(57.64911, 10.40744, 11)
'u4pruydqqvj'
>>> lat, lon = decode("u4pruydqqvj")
>>> round(lat, 5), round(lon, 5)
(57.64911, 10.40744)
>>> neighbors("u4pru")
['u4r2h', 'u4r2j', 'u4prv', 'u4prt', 'u4prs', 'u4pre', 'u4prg', 'u4r25']
>>> encode(0.0, 180.0, 3) == encode(0.0, -180.0, 3)
True
"""

from __future__ import annotations

import math
import struct
from collections import deque
from typing import NamedTuple

from designpatterns_ref.geo.base import GeoError, GeoTypeError, check_lat, check_lon, check_radius
from designpatterns_ref.geo.sphere import EARTH_RADIUS_M, RAD, box_distance_m, lower_bound_m

__all__ = [
    "BASE32",
    "DIRECTIONS",
    "BBox",
    "Decoded",
    "bbox",
    "cell_size_m",
    "cover_circle",
    "decode",
    "decode_int",
    "encode",
    "encode_int",
    "from_int",
    "neighbor",
    "neighbors",
    "precision_for_radius",
    "redis_decode",
    "redis_score",
    "to_int",
]

#: The geohash alphabet: digits and lower-case letters without a, i, l and o.
BASE32 = "0123456789bcdefghjkmnpqrstuvwxyz"

#: Neighbour directions in the order :func:`neighbors` returns them, with (d_row, d_column).
DIRECTIONS: dict[str, tuple[int, int]] = {
    "n": (1, 0),
    "ne": (1, 1),
    "e": (0, 1),
    "se": (-1, 1),
    "s": (-1, 0),
    "sw": (-1, -1),
    "w": (0, -1),
    "nw": (1, -1),
}

_BITS = 30  # bits per axis at precision 12 (60 bits in all)
_MAXQ = (1 << _BITS) - 1
_LAT_STEP = 180.0 / (1 << _BITS)  # exact: a power of two times 45
_LON_STEP = 360.0 / (1 << _BITS)
_LAT_SCALE = (1 << _BITS) / 180.0
_LON_SCALE = (1 << _BITS) / 360.0
_BELOW_90 = math.nextafter(90.0, 0.0)  # encodes like 90: both lie in the top row
_EDGE = 2.0**-20  # a quantised coordinate this close to a whole number is checked exactly
_floor = math.floor


def _spread(value: int, width: int) -> int:
    """Move bit i of ``value`` to bit 2i (used only to build the tables)."""
    return sum(((value >> i) & 1) << (2 * i) for i in range(width))


def _char_slot(stream_bit: int) -> int:
    """Where bit ``stream_bit`` (0 = first) of the 60-bit code sits in the 12-byte layout in which
    byte c holds the 5-bit value of character c."""
    char, bit = divmod(stream_bit, 5)
    return (11 - char) * 8 + (4 - bit)


def _axis_tables(first: int) -> tuple[list[int], list[int]]:
    """Tables placing the high and low 15 bits of a 30-bit axis value into the byte layout.

    Longitude bit j (counted from the most significant) is stream bit 2j, latitude bit j is
    stream bit 2j + 1 (``first`` = 0 or 1). Built from 5-bit tables so import stays quick.
    """
    chunk = [
        [
            sum(1 << _char_slot(2 * (29 - (5 * c + i)) + first) for i in range(5) if v >> i & 1)
            for v in range(32)
        ]
        for c in range(6)
    ]  # chunk[c][v]: the 5-bit group c (c = 0 is the lowest) of the axis value
    high = [chunk[5][v >> 10] | chunk[4][v >> 5 & 31] | chunk[3][v & 31] for v in range(32768)]
    low = [chunk[2][v >> 10] | chunk[1][v >> 5 & 31] | chunk[0][v & 31] for v in range(32768)]
    return high, low


_LON_HI, _LON_LO = _axis_tables(0)
_LAT_HI, _LAT_LO = _axis_tables(1)
_TO_ASCII = (BASE32 + " ").encode().ljust(256, b"\0")  # 0..31 -> the alphabet, 32 -> space

# 16 interleaved bits -> (odd bits compacted) << 32 | (even bits compacted).
_UNZIP8 = [
    sum(((i >> (2 * b + 1)) & 1) << b for b in range(4)) << 32
    | sum(((i >> (2 * b)) & 1) << b for b in range(4))
    for i in range(256)
]
_UNZIP = [_UNZIP8[i & 255] | _UNZIP8[i >> 8] << 4 for i in range(1 << 16)]
_SPREAD8 = [_spread(i, 8) for i in range(256)]
_SPREAD16 = [_SPREAD8[i & 255] | _SPREAD8[i >> 8] << 16 for i in range(1 << 16)]

# Geohash characters -> Python's base-32 digits; every other ASCII character -> "!" (invalid).
_PY32 = "0123456789abcdefghijklmnopqrstuv"
_TRANS = bytes(ord(_PY32[BASE32.index(chr(c))]) if chr(c) in BASE32 else 33 for c in range(256))

# Per precision p: (latitude bits, longitude bits).
_AXIS_BITS = [(5 * p // 2, 5 * p - 5 * p // 2) for p in range(13)]


def _pair_tables() -> list[dict[int, complex]]:
    """Per pair position k (characters 2k and 2k + 1): the pair's two ASCII codes as one 16-bit
    key -> its share of the cell's south-west corner, as ``complex(longitude, latitude)`` in
    degrees from (-180, -90). A pair starts on an even bit, so it holds the longitude bits 9, 7,
    5, 3, 1 and the latitude bits 8, 6, 4, 2, 0 of its 10 bits."""
    tables = []
    for k in range(6):
        weight = 1 << (25 - 5 * k)  # the pair's lowest bit, in 30-bit units of each axis
        table = {}
        for bits in range(1024):
            lon, lat = _UNZIP[bits] >> 32, _UNZIP[bits] & 0xFFFFFFFF  # odd bits, even bits
            key = ord(BASE32[bits >> 5]) << 8 | ord(BASE32[bits & 31])
            table[key] = complex(lon * weight * _LON_STEP, lat * weight * _LAT_STEP)
        tables.append(table)
    return tables


_P0, _P1, _P2, _P3, _P4, _P5 = _pair_tables()
_SIX_PAIRS = struct.Struct(">6H").unpack
# Per precision: the corner-to-centre offset (half a cell) plus (-180, -90), as lon + lat*j.
_CENTRE = [0j] + [
    complex(180.0 / (1 << b) - 180.0, 90.0 / (1 << a) - 90.0) for a, b in _AXIS_BITS[1:]
]


def _bad_precision(precision: object) -> GeoError:
    if isinstance(precision, bool) or not isinstance(precision, int):
        return GeoTypeError(f"precision={precision!r} must be an int from 1 to 12")
    return GeoError(f"precision={precision!r} is out of range: must be from 1 to 12")


def _bad_code(code: object) -> GeoError:
    """The error for a code that is not a str of 1 to 12 geohash characters."""
    if type(code) is not str:
        return GeoTypeError(f"code={code!r} must be a str, not {type(code).__name__}")
    if not 1 <= len(code) <= 12:
        return GeoError(f"code={code!r} has {len(code)} characters: a geohash has 1 to 12")
    bad = next(ch for ch in code if ch not in BASE32)
    return GeoError(
        f"code={code!r} holds {bad!r}, which is not a geohash character "
        f"(allowed: {BASE32!r}, lower case)"
    )


def _quantize(lat: float, lon: float) -> tuple[int, int]:
    """Row and column of the 30-bit cell holding (lat, lon), exactly as bisection decides."""
    y = _floor((lat + 90.0) * _LAT_SCALE)
    if y > _MAXQ:
        y = _MAXQ
    lo = y * _LAT_STEP - 90.0  # exact: a small multiple of a power of two
    if lat < lo:
        y -= 1
    elif lat >= lo + _LAT_STEP and y < _MAXQ:
        y += 1
    x = _floor((lon + 180.0) * _LON_SCALE)
    if x > _MAXQ:
        x = _MAXQ
    lo = x * _LON_STEP - 180.0
    if lon < lo:
        x -= 1
    elif lon >= lo + _LON_STEP and x < _MAXQ:
        x += 1
    return y, x


def _code30(y: int, x: int) -> str:
    """The 12-character code of the 30-bit row ``y`` and column ``x``."""
    v = _LON_HI[x >> 15] | _LON_LO[x & 32767] | _LAT_HI[y >> 15] | _LAT_LO[y & 32767]
    return v.to_bytes(12, "big").translate(_TO_ASCII).decode()


def encode(lat: float, lon: float, precision: int = 12) -> str:
    """The geohash of ``precision`` characters (1 to 12) of the cell holding the point.

    >>> encode(42.6, -5.6, 5)
    'ezs42'
    >>> encode(90, 0, 1), encode(-90, -180, 1)
    ('u', '0')
    """
    if type(lat) is not float or not -90.0 <= lat < 90.0:
        lat = check_lat("lat", lat)
        if lat == 90.0:
            lat = _BELOW_90
    if type(lon) is not float or not -180.0 <= lon < 180.0:
        lon = check_lon("lon", lon)
    if type(precision) is not int or not 1 <= precision <= 12:
        raise _bad_precision(precision)
    # _quantize and _code30, inlined: this is the hot path. The products are within 2**-22 of
    # the exact row and column (two roundings), so their floors are exact unless a product lies
    # within _EDGE of a whole number; only then does _quantize compare against the edge exactly.
    t = (lat + 90.0) * _LAT_SCALE
    u = (lon + 180.0) * _LON_SCALE
    y, x = _floor(t), _floor(u)
    if not (_EDGE < t - y < 1.0 - _EDGE and _EDGE < u - x < 1.0 - _EDGE):
        y, x = _quantize(lat, lon)
    v = _LON_HI[x >> 15] | _LON_LO[x & 32767] | _LAT_HI[y >> 15] | _LAT_LO[y & 32767]
    return v.to_bytes(12, "big").translate(_TO_ASCII).decode()[:precision]


def _parse(code: object) -> tuple[int, int, int]:
    """Validate ``code``; return its 30-bit-aligned row and column and its length."""
    if type(code) is not str or not 1 <= len(code) <= 12:
        raise _bad_code(code)
    n = len(code)
    try:  # non-ASCII fails to encode; other characters become "!", which int() refuses
        v = int(code.encode("ascii").translate(_TRANS), 32) << (60 - 5 * n)
    except ValueError:
        raise _bad_code(code) from None
    u = _UNZIP
    w = u[v & 0xFFFF] | u[v >> 16 & 0xFFFF] << 8 | u[v >> 32 & 0xFFFF] << 16 | u[v >> 48] << 24
    return w & 0xFFFFFFFF, w >> 32, n


class Decoded:
    """A cell's centre, which unpacks as ``(lat, lon)``, with its half-height and half-width.

    >>> d = decode("ezs42")
    >>> lat, lon = d
    >>> round(lat, 3), round(lon, 3), round(d.lat_err, 3), round(d.lon_err, 3)
    (42.605, -5.603, 0.022, 0.022)
    """

    __slots__ = ("lat", "lat_err", "lon", "lon_err")

    def __init__(self, lat: float, lon: float, lat_err: float, lon_err: float) -> None:
        self.lat = lat
        self.lon = lon
        self.lat_err = lat_err
        self.lon_err = lon_err

    def __iter__(self):  # type: ignore[no-untyped-def]
        yield self.lat
        yield self.lon

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Decoded):
            return NotImplemented
        return (self.lat, self.lon, self.lat_err, self.lon_err) == (
            other.lat,
            other.lon,
            other.lat_err,
            other.lon_err,
        )

    def __hash__(self) -> int:
        return hash((self.lat, self.lon, self.lat_err, self.lon_err))

    def __repr__(self) -> str:
        return (
            f"Decoded(lat={self.lat!r}, lon={self.lon!r}, "
            f"lat_err={self.lat_err!r}, lon_err={self.lon_err!r})"
        )


_new_decoded = object.__new__
# Half-height and half-width in degrees of a cell, per precision.
_HALF = [(0.0, 0.0)] + [(90.0 / (1 << a), 180.0 / (1 << b)) for a, b in _AXIS_BITS[1:]]


def decode(code: str) -> Decoded:
    """The centre of the cell ``code`` names, with its error margins (half-height, half-width).

    ``encode(*decode(h), len(h)) == h`` for every valid code.

    >>> lat, lon = decode("s")
    >>> lat, lon
    (22.5, 22.5)
    """
    if type(code) is not str or not 1 <= (n := len(code)) <= 12:
        raise _bad_code(code)
    try:  # "0" pads to six pairs (its bits are zeros); other characters make keys no table has
        p0, p1, p2, p3, p4, p5 = _SIX_PAIRS(code.encode("ascii").ljust(12, b"0"))
        z = _P0[p0] + _P1[p1] + _P2[p2] + _P3[p3] + _P4[p4] + _P5[p5] + _CENTRE[n]
    except (UnicodeEncodeError, KeyError):
        raise _bad_code(code) from None
    d = _new_decoded(Decoded)  # the four slots are filled here, without a call to __init__
    d.lat = z.imag
    d.lon = z.real
    d.lat_err, d.lon_err = _HALF[n]
    return d


class BBox(NamedTuple):
    """A cell's bounds in degrees: south, west, north, east."""

    south: float
    west: float
    north: float
    east: float


def bbox(code: str) -> BBox:
    """The bounds of the cell ``code`` names (a point on its south or west edge belongs to it).

    >>> bbox("u")
    BBox(south=45.0, west=0.0, north=90.0, east=45.0)
    """
    y, x, n = _parse(code)
    half_lat, half_lon = _HALF[n]
    south = y * _LAT_STEP - 90.0
    west = x * _LON_STEP - 180.0
    return BBox(south, west, south + 2 * half_lat, west + 2 * half_lon)


# Geohash characters -> their 5-bit values; any other byte -> 255, whose top 3 bits give it away.
_TO_VALUE = bytes(BASE32.index(chr(c)) if chr(c) in BASE32 else 255 for c in range(256))
_NOT_VALUES = int.from_bytes(b"\xe0" * 12, "big")


def _dilated(n: int) -> tuple[int, int, int, int, int, int]:
    """For a code of ``n`` characters read as an integer of ``n`` bytes, one character value per
    byte (character i in byte n - 1 - i): the longitude mask, its complement and its lowest bit,
    then the same for latitude. Character i holds lon, lat, lon, lat, lon from its top bit when i
    is even (its first bit is stream bit 5i), and lat, lon, lat, lon, lat when i is odd."""
    lon = lat = 0
    for i in range(n):
        shift = 8 * (n - 1 - i)
        lon |= (0b10101 if i % 2 == 0 else 0b01010) << shift
        lat |= (0b01010 if i % 2 == 0 else 0b10101) << shift
    return lon, ~lon, lon & -lon, lat, ~lat, lat & -lat


def _slots(n: int, rows: tuple[int, ...]) -> tuple[int, ...]:
    """How :func:`neighbors` lays out its codes of ``n`` characters: one slot of n + 1 bytes per
    direction whose row step is in ``rows`` (in :data:`DIRECTIONS` order, the first slot highest),
    the code in the slot's top n bytes and a space (32) in its last byte. Returns six multipliers
    (for the north, same and south rows, then the same, east and west columns) that copy each
    value into the slots that use it, the spaces, and the total size in bytes."""
    steps = [step for step in DIRECTIONS.values() if step[0] in rows]
    weights = [0] * 6
    spaces = 0
    for j, (d_row, d_col) in enumerate(reversed(steps)):
        shift = 8 * (n + 1) * j
        weights[(1, 0, -1).index(d_row)] += 1 << (shift + 8)
        weights[3 + (0, 1, -1).index(d_col)] += 1 << (shift + 8)
        spaces |= 32 << shift
    return (*weights, spaces, len(steps) * (n + 1))


# Per precision: the masks, then the layouts for an inner row, the top row and the bottom row.
_NEIGHBOURS = [
    (*_dilated(n), (_slots(n, (1, 0, -1)), _slots(n, (0, -1)), _slots(n, (1, 0))))
    for n in range(13)
]


def _around(code: str) -> list[str]:
    """:func:`neighbors` for any code: dilated steps on the byte layout (module docstring)."""
    if type(code) is not str or not 1 <= len(code) <= 12:
        raise _bad_code(code)
    try:
        v = int.from_bytes(code.encode("ascii").translate(_TO_VALUE), "big")
    except UnicodeEncodeError:
        raise _bad_code(code) from None
    if v & _NOT_VALUES:
        raise _bad_code(code)
    lon, lon_rest, lon_one, lat, lat_rest, lat_one, layouts = _NEIGHBOURS[len(code)]
    x, y = v & lon, v & lat
    east, west = ((v | lon_rest) + lon_one) & lon, (x - lon_one) & lon  # wrap around the world
    north, south = ((v | lat_rest) + lat_one) & lat, (y - lat_one) & lat
    layout = layouts[1 if y == lat else 2 if y == 0 else 0]  # the top or bottom row: 5 slots
    k_north, k_row, k_south, k_col, k_east, k_west, spaces, size = layout
    packed = (
        north * k_north + y * k_row + south * k_south + x * k_col + east * k_east + west * k_west
    )
    return (packed + spaces).to_bytes(size, "big").translate(_TO_ASCII).decode().split()


def _tails(prefix: str) -> dict[str, tuple[str, ...]]:
    """For codes as long as ``prefix`` plus two, or longer by a multiple of two: each last pair
    of characters whose eight neighbours all lie in the same 32 x 32 block (they differ from the
    code only in that pair) -> the parts ``neighbors`` joins with the rest of the code, a space
    after each neighbour's pair: ``("", "t1 ", ..., "t7 ", "t8")``.

    The block of a pair depends only on where the pair starts (an even or an odd bit), so one
    prefix away from the poles and the antimeridian stands for all codes of that parity."""
    table = {}
    for first in BASE32:
        for second in BASE32:
            around = _around(prefix + first + second)
            if all(c[: len(prefix)] == prefix for c in around):
                *tails, last = (c[len(prefix) :] for c in around)
                table[first + second] = ("", *(t + " " for t in tails), last)
    return table


#: By the parity of the code's length; built on the first call of :func:`neighbors` (about
#: 60 ms), so importing the module does not pay for it.
_TAILS: tuple[dict[str, tuple[str, ...]], ...] = ()


def _build_tails() -> tuple[dict[str, tuple[str, ...]], ...]:
    global _TAILS
    _TAILS = (_tails("s0"), _tails("s"))
    return _TAILS


def neighbors(code: str) -> list[str]:
    """The cells around ``code`` in the order n, ne, e, se, s, sw, w, nw.

    Columns wrap across the antimeridian; rows stop at the poles, so a cell in the top or bottom
    row has 5 neighbours, every other cell 8.

    The last two characters hold 5 bits of each axis, a 32 x 32 block; for 900 of its 1,024
    cells all eight neighbours lie in the block, so they share the rest of the code and a table
    gives their last two characters: one ``join`` and one ``split`` make the eight codes. Cells on
    the block's edge (and codes of one character) take the general path, dilated steps on the
    whole code (see the module docstring). O(1) either way.

    >>> neighbors("b")  # the top row: no cell north of it
    ['c', '9', '8', 'x', 'z']
    >>> len(neighbors("u")), len(neighbors("0"))
    (5, 5)
    """
    if type(code) is str and 2 <= len(code) <= 12:
        parts = (_TAILS or _build_tails())[len(code) & 1].get(code[-2:])
        rest = code[:-2]
        if parts is not None and not rest.strip(BASE32):  # left over: a non-geohash character
            return rest.join(parts).split()
    return _around(code)


def neighbor(code: str, direction: str) -> str | None:
    """The adjacent cell in ``direction`` (n, ne, e, se, s, sw, w, nw); None past a pole.

    >>> neighbor("ezs42", "e")
    'ezs43'
    >>> neighbor("zzzzz", "e")  # wraps across the antimeridian
    'bpbpb'
    >>> neighbor("zzzzz", "n") is None
    True
    """
    if not isinstance(direction, str) or direction not in DIRECTIONS:
        raise GeoError(f"direction={direction!r} must be one of {', '.join(DIRECTIONS)}")
    y, x, n = _parse(code)
    lat_bits, lon_bits = _AXIS_BITS[n]
    d_row, d_col = DIRECTIONS[direction]
    row = y + d_row * (1 << (_BITS - lat_bits))
    if not 0 <= row <= _MAXQ:
        return None
    col = (x + d_col * (1 << (_BITS - lon_bits))) & _MAXQ
    return _code30(row, col)[:n]


# ---------------------------------------------------------------------------------------------
# Integer forms


def _interleave(y: int, x: int) -> int:
    """The 60-bit interleaving of 30-bit ``x`` (odd bits, longitude) and ``y`` (even bits)."""
    s = _SPREAD16
    return (s[x & 0xFFFF] | s[x >> 16] << 32) << 1 | s[y & 0xFFFF] | s[y >> 16] << 32


def _check_bits(bits: object) -> int:
    if isinstance(bits, bool) or not isinstance(bits, int):
        raise GeoTypeError(f"bits={bits!r} must be an int from 1 to 60")
    if not 1 <= bits <= 60:
        raise GeoError(f"bits={bits!r} is out of range: must be from 1 to 60")
    return bits


def encode_int(lat: float, lon: float, bits: int = 52) -> int:
    """The geohash as an integer of ``bits`` interleaved bits (longitude first), 1 to 60.

    ``encode_int(lat, lon, 5 * p)`` equals ``to_int(encode(lat, lon, p))``.

    >>> encode_int(42.6, -5.6, 25) == to_int("ezs42")
    True
    """
    lat = check_lat("lat", lat)
    lon = check_lon("lon", lon)
    bits = _check_bits(bits)
    y, x = _quantize(lat, lon)
    return _interleave(y, x) >> (60 - bits)


def decode_int(value: int, bits: int = 52) -> Decoded:
    """The centre and error margins of the cell an integer geohash of ``bits`` bits names.

    >>> lat, lon = decode_int(encode_int(10.0, 20.0, 52), 52)
    >>> round(lat, 5), round(lon, 5)
    (10.0, 20.0)
    """
    bits = _check_bits(bits)
    if isinstance(value, bool) or not isinstance(value, int):
        raise GeoTypeError(f"value={value!r} must be an int")
    if not 0 <= value < (1 << bits):
        raise GeoError(f"value={value!r} does not fit in bits={bits}: must be in [0, 2**{bits})")
    v = value << (60 - bits)
    u = _UNZIP
    w = u[v & 0xFFFF] | u[v >> 16 & 0xFFFF] << 8 | u[v >> 32 & 0xFFFF] << 16 | u[v >> 48] << 24
    y, x = w & 0xFFFFFFFF, w >> 32
    lat_bits = bits // 2
    half_lat = 90.0 / (1 << lat_bits)
    half_lon = 180.0 / (1 << (bits - lat_bits))
    return Decoded(
        y * _LAT_STEP - 90.0 + half_lat, x * _LON_STEP - 180.0 + half_lon, half_lat, half_lon
    )


def to_int(code: str) -> int:
    """The ``5 * len(code)``-bit integer a geohash string spells.

    >>> to_int("ezs42"), from_int(to_int("ezs42"), 5)
    (14672002, 'ezs42')
    """
    y, x, n = _parse(code)
    return _interleave(y, x) >> (60 - 5 * n)


def from_int(value: int, precision: int) -> str:
    """The geohash string of ``precision`` characters whose integer form is ``value``."""
    if type(precision) is not int or not 1 <= precision <= 12:
        raise _bad_precision(precision)
    if isinstance(value, bool) or not isinstance(value, int):
        raise GeoTypeError(f"value={value!r} must be an int")
    if not 0 <= value < (1 << (5 * precision)):
        raise GeoError(f"value={value!r} does not fit in {5 * precision} bits")
    return "".join(BASE32[(value >> s) & 31] for s in range(5 * precision - 5, -1, -5))


#: Redis stores GEOADD positions as 52-bit geohashes over these ranges (Web Mercator's limit).
REDIS_LAT_LIMIT = 85.05112878
_REDIS_STEPS = 26


def redis_score(lat: float, lon: float) -> int:
    """The 52-bit integer Redis stores as the sorted-set score of a ``GEOADD`` member.

    Redis quantises latitude over [-85.05112878, 85.05112878] (not [-90, 90]) and longitude over
    [-180, 180] to 26 bits each, truncating, and interleaves them longitude first, like a
    geohash. Latitudes beyond ±85.05112878 are refused, as Redis refuses them.

    >>> redis_score(41.8919, 12.5113)
    3480343105322782
    """
    lat = check_lat("lat", lat)
    if not -REDIS_LAT_LIMIT <= lat <= REDIS_LAT_LIMIT:
        raise GeoError(f"lat={lat!r} is beyond Redis's limit: must lie in ±{REDIS_LAT_LIMIT}")
    lon = check_lon("lon", lon)
    scale = float(1 << _REDIS_STEPS)
    y = int((lat + REDIS_LAT_LIMIT) / (2 * REDIS_LAT_LIMIT) * scale)
    x = int((lon + 180.0) / 360.0 * scale)
    # No clamping, as in Redis: at exactly +85.05112878 the row is 2**26, one past the last.
    return _interleave(y << 4, x << 4) >> 8


def redis_decode(score: int) -> tuple[float, float]:
    """The (lat, lon) centre Redis reports (``GEOPOS``) for a 52-bit score."""
    if isinstance(score, bool) or not isinstance(score, int):
        raise GeoTypeError(f"score={score!r} must be an int")
    if not 0 <= score < (1 << 53):
        raise GeoError(f"score={score!r} must be in [0, 2**53)")
    v = score << 8
    u = _UNZIP
    w = u[v & 0xFFFF] | u[v >> 16 & 0xFFFF] << 8 | u[v >> 32 & 0xFFFF] << 16 | u[v >> 48] << 24
    y, x = (w & 0xFFFFFFFF) >> 4, (w >> 32) >> 4
    scale = float(1 << _REDIS_STEPS)
    lat_lo = -REDIS_LAT_LIMIT + y / scale * (2 * REDIS_LAT_LIMIT)
    lat_hi = -REDIS_LAT_LIMIT + (y + 1) / scale * (2 * REDIS_LAT_LIMIT)
    lon_lo = -180.0 + x / scale * 360.0
    lon_hi = -180.0 + (x + 1) / scale * 360.0
    lat = min(REDIS_LAT_LIMIT, max(-REDIS_LAT_LIMIT, (lat_lo + lat_hi) / 2))  # Redis clamps too
    return lat, min(180.0, max(-180.0, (lon_lo + lon_hi) / 2))


# ---------------------------------------------------------------------------------------------
# Covering a circle


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
        raise GeoTypeError(f"max_cells={max_cells!r} must be an int of at least 1")
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
        d = box_distance_m(lat, lon, south, west, south + height, west + width)
        return lower_bound_m(d) <= radius

    seen = {start}
    queue = deque([start])
    pole_rows = [
        r
        for r, pole in ((rows - 1, 90.0), (0, -90.0))
        if lower_bound_m(_distance_to_pole(lat, pole)) <= radius
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
                f"cover_circle: radius_m={radius_m!r} at precision={precision} needs more than "
                f"max_cells={max_cells} cells; choose a coarser precision"
            )
    shift_lat, shift_lon = _BITS - lat_bits, _BITS - lon_bits
    return sorted(_code30(r << shift_lat, c << shift_lon)[:precision] for r, c in seen)


def _distance_to_pole(lat: float, pole: float) -> float:
    return EARTH_RADIUS_M * abs(pole - lat) * RAD
