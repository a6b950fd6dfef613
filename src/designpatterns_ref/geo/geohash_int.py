"""Geohash integer forms and Redis's 52-bit ``GEOADD`` score, both ways.

Case study: Design a Ride-Sharing App (Uber / Lyft) (docs/case-studies/ride-sharing.md)

A geohash of ``p`` characters is ``5 * p`` interleaved bits (longitude first); as an integer it
sorts like the string and steps of one bit give finer cells than whole characters do. Redis
stores a ``GEOADD`` member as such an integer of 52 bits (26 per axis), but quantises latitude
over [-85.05112878, 85.05112878] (Web Mercator's limit) rather than [-90, 90]:
:func:`redis_score` reproduces it bit for bit (checked against a real server in the tests).

Interleaving uses 16-bit spread and unzip tables, so no loop runs over the bits. The trade-off
of the integer form: it is compact and range-scannable in a sorted set, but not readable.

Complexity: O(1) per call.

>>> encode_int(42.6, -5.6, 25) == to_int("ezs42")
True
>>> redis_score(41.8919, 12.5113)
3480343105322782
"""

from __future__ import annotations

from designpatterns_ref.errors import shown
from designpatterns_ref.geo.base import GeoError, GeoTypeError, check_lat, check_lon
from designpatterns_ref.geo.geohash_codec import (
    _LAT_STEP,
    _LON_STEP,
    _SPREAD16,
    _UNZIP,
    BASE32,
    Decoded,
    _bad_precision,
    _parse,
    _quantize,
)

__all__ = [
    "REDIS_LAT_LIMIT",
    "decode_int",
    "encode_int",
    "from_int",
    "redis_decode",
    "redis_score",
    "to_int",
]


def _interleave(y: int, x: int) -> int:
    """The 60-bit interleaving of 30-bit ``x`` (odd bits, longitude) and ``y`` (even bits)."""
    s = _SPREAD16
    return (s[x & 0xFFFF] | s[x >> 16] << 32) << 1 | s[y & 0xFFFF] | s[y >> 16] << 32


def _check_bits(bits: object) -> int:
    if isinstance(bits, bool) or not isinstance(bits, int):
        raise GeoTypeError(f"bits={shown(bits)} must be an int from 1 to 60")
    if not 1 <= bits <= 60:
        raise GeoError(f"bits={shown(bits)} is out of range: must be from 1 to 60")
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
        raise GeoTypeError(f"value={shown(value)} must be an int")
    if not 0 <= value < (1 << bits):
        raise GeoError(
            f"value={shown(value)} does not fit in bits={bits}: must be in [0, 2**{bits})"
        )
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
        raise GeoTypeError(f"value={shown(value)} must be an int")
    if not 0 <= value < (1 << (5 * precision)):
        raise GeoError(f"value={shown(value)} does not fit in {5 * precision} bits")
    return "".join(BASE32[(value >> s) & 31] for s in range(5 * precision - 5, -1, -5))


#: Redis stores GEOADD positions as 52-bit geohashes over these ranges (Web Mercator's limit).
REDIS_LAT_LIMIT = 85.05112878
_REDIS_STEPS = 26


def redis_score(lat: float, lon: float) -> int:
    """The integer Redis stores as the sorted-set score of a ``GEOADD`` member: 52 bits.

    Redis quantises latitude over [-85.05112878, 85.05112878] (not [-90, 90]) and longitude over
    [-180, 180] to 26 bits each, truncating, and interleaves them longitude first, like a
    geohash. Latitudes beyond ±85.05112878 are refused, as Redis refuses them. At exactly
    +85.05112878 the row is 2**26, one past the last, and the score 2**52 or more, as Redis
    stores it (``GEOSEARCH`` then never finds the member, which is why
    :class:`~designpatterns_ref.geo.redis.RedisGeoIndex` adds such a driver one row south).

    >>> redis_score(41.8919, 12.5113)
    3480343105322782
    """
    lat = check_lat("lat", lat)
    if not -REDIS_LAT_LIMIT <= lat <= REDIS_LAT_LIMIT:
        raise GeoError(f"lat={shown(lat)} is beyond Redis's limit: must lie in ±{REDIS_LAT_LIMIT}")
    lon = check_lon("lon", lon)
    scale = float(1 << _REDIS_STEPS)
    y = int((lat + REDIS_LAT_LIMIT) / (2 * REDIS_LAT_LIMIT) * scale)
    x = int((lon + 180.0) / 360.0 * scale)
    # No clamping, as in Redis: at exactly +85.05112878 the row is 2**26, one past the last.
    return _interleave(y << 4, x << 4) >> 8


def redis_decode(score: int) -> tuple[float, float]:
    """The (lat, lon) centre Redis reports (``GEOPOS``) for a 52-bit score."""
    if isinstance(score, bool) or not isinstance(score, int):
        raise GeoTypeError(f"score={shown(score)} must be an int")
    if not 0 <= score < (1 << 53):
        raise GeoError(f"score={shown(score)} must be in [0, 2**53)")
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
