"""Geohash: a latitude/longitude as a short string whose prefixes are ever larger enclosing cells.

Case study: Design a Ride-Sharing App (Uber / Lyft) (docs/case-studies/ride-sharing.md)

Halve the longitude range [-180, 180] and the latitude range [-90, 90] in turn, longitude first,
writing 1 when the point lies in the upper half and 0 otherwise; every 5 bits become one base-32
character. Every prefix of a code names the cell that contains it, so "which drivers are near"
becomes "which drivers share a prefix" and a key-value store can index them.

This module gathers the geohash functions in one namespace; each job lives in its own module:

- :mod:`~designpatterns_ref.geo.geohash_codec`: :func:`encode`, :func:`decode`, :func:`bbox`
  (tables instead of loops over bits);
- :mod:`~designpatterns_ref.geo.geohash_neighbours`: :func:`neighbors`, :func:`neighbor`
  (steps on the dilated bits, and a table for the inner cells of each 32 x 32 block);
- :mod:`~designpatterns_ref.geo.geohash_int`: the integer forms and Redis's 52-bit score;
- :mod:`~designpatterns_ref.geo.geohash_cover`: :func:`cover_circle` and the precision for a radius.

The trade-off against H3's hexagons (:class:`~designpatterns_ref.geo.h3_index.H3Index`): geohash
cells are rectangles in latitude/longitude, so their width in metres shrinks with
``cos(latitude)`` and neighbours are not all equidistant; in exchange the codes are plain
prefix-ordered strings any database can index and range-scan, and the codec is a few lines of
pure Python (about half the speed of the C package ``python-geohash``).

Complexity: encode, decode and each neighbour are O(1); ``cover_circle`` is O(cells returned).

>>> encode(57.64911, 10.40744, 11)
'u4pruydqqvj'
>>> neighbors("u4pru")
['u4r2h', 'u4r2j', 'u4prv', 'u4prt', 'u4prs', 'u4pre', 'u4prg', 'u4r25']
"""

from __future__ import annotations

from designpatterns_ref.geo.geohash_codec import (
    BASE32,
    DIRECTIONS,
    BBox,
    Decoded,
    bbox,
    decode,
    encode,
)
from designpatterns_ref.geo.geohash_cover import cell_size_m, cover_circle, precision_for_radius
from designpatterns_ref.geo.geohash_int import (
    REDIS_LAT_LIMIT,
    decode_int,
    encode_int,
    from_int,
    redis_decode,
    redis_score,
    to_int,
)
from designpatterns_ref.geo.geohash_neighbours import neighbor, neighbors

__all__ = [
    "BASE32",
    "DIRECTIONS",
    "REDIS_LAT_LIMIT",
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

# Implementation details that lived here before the split, still importable from here.
from designpatterns_ref.geo.geohash_codec import _AXIS_BITS as _AXIS_BITS
from designpatterns_ref.geo.geohash_codec import _BITS as _BITS
from designpatterns_ref.geo.geohash_codec import _code30 as _code30
from designpatterns_ref.geo.geohash_codec import _quantize as _quantize
from designpatterns_ref.geo.geohash_neighbours import _around as _around
