"""Geohash codec: encode a point to a code, decode a code to its cell, and a cell's bounds.

Case study: Design a Ride-Sharing App (Uber / Lyft) (docs/case-studies/ride-sharing.md)

Halve the longitude range [-180, 180] and the latitude range [-90, 90] in turn, longitude first,
writing 1 when the point lies in the upper half (``value >= midpoint``) and 0 otherwise; every 5
bits become one base-32 character of ``0123456789bcdefghjkmnpqrstuvwxyz``. A code of ``p``
characters names a cell of ``ceil(5p/2)`` longitude bits by ``floor(5p/2)`` latitude bits, and
every prefix names the cell that contains it.

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

The trade-off is memory for speed: the 15-bit tables of ``encode`` and the 16-bit ones of the
integer forms take about 11 MB, built at import (about 0.1 s), the pair tables of ``decode`` a
little more. Even so a pure Python call costs about twice what the C package ``python-geohash``
does: each call still pays for interpreted bytecode, a few boxed floats and ints and a new
``str``, where C works on machine words (see the case study's figures).

Complexity: encode, decode and bbox are O(1) (at most 12 characters).

>>> encode(57.64911, 10.40744, 11)
'u4pruydqqvj'
>>> lat, lon = decode("u4pruydqqvj")
>>> round(lat, 5), round(lon, 5)
(57.64911, 10.40744)
>>> encode(0.0, 180.0, 3) == encode(0.0, -180.0, 3)
True
"""

from __future__ import annotations

import math
import struct
from typing import NamedTuple

from designpatterns_ref.errors import shown
from designpatterns_ref.geo.base import GeoError, GeoTypeError, check_lat, check_lon

__all__ = [
    "BASE32",
    "DIRECTIONS",
    "BBox",
    "Decoded",
    "bbox",
    "decode",
    "encode",
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
        return GeoTypeError(f"precision={shown(precision)} must be an int from 1 to 12")
    return GeoError(f"precision={shown(precision)} is out of range: must be from 1 to 12")


def _bad_code(code: object) -> GeoError:
    """The error for a code that is not a str of 1 to 12 geohash characters."""
    if type(code) is not str:
        return GeoTypeError(f"code={shown(code)} must be a str, not {type(code).__name__}")
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
