"""Ride sharing: geohash, live driver indexes, exact nearest-driver matching, surge and trips.

Case study: Design a Ride-Sharing App (Uber / Lyft) (docs/case-studies/ride-sharing.md)

Riders must be matched to the nearest free driver within milliseconds while every driver's
position changes every few seconds. The family shows the pieces: :mod:`.geohash` turns a position
into a cell code, :mod:`.sphere` measures (haversine, and the distance to a cell), five
interchangeable driver indexes answer ``upsert / remove / nearest / within`` (brute force, geohash
rings, H3 hexagons, a quadtree, Redis), all exact and equal to brute force, and :class:`Dispatcher`,
:class:`SurgePricer` and :class:`TripStateMachine` build the product on top. The Redis and H3
indexes and the plot helper import their optional dependencies only when used.

>>> from designpatterns_ref.clock import ManualClock
>>> index = GeohashIndex(clock=ManualClock())
>>> index.upsert("d1", 48.8584, 2.2945)
>>> index.nearest(48.8606, 2.3376, k=1)[0].driver_id
'd1'
"""

from __future__ import annotations

from designpatterns_ref.geo.base import (
    DriverIndex,
    DriverNotFound,
    DriverState,
    GeoError,
    GeoTypeError,
    GeoUnavailable,
    Match,
)
from designpatterns_ref.geo.brute import BruteForceIndex
from designpatterns_ref.geo.dispatch import Assignment, Dispatcher
from designpatterns_ref.geo.geohash import (
    bbox,
    cover_circle,
    decode,
    decode_int,
    encode,
    encode_int,
    neighbor,
    neighbors,
    redis_score,
)
from designpatterns_ref.geo.geohash_index import GeohashIndex, SearchTrace
from designpatterns_ref.geo.h3_index import H3Index
from designpatterns_ref.geo.h3_surge import HexSurgePricer
from designpatterns_ref.geo.quadtree import QuadTreeIndex
from designpatterns_ref.geo.redis import RedisGeoIndex
from designpatterns_ref.geo.sphere import EARTH_RADIUS_M, equirectangular_m, haversine_m
from designpatterns_ref.geo.surge import SurgePricer
from designpatterns_ref.geo.trip import TripState, TripStateError, TripStateMachine

__all__ = [
    "EARTH_RADIUS_M",
    "Assignment",
    "BruteForceIndex",
    "Dispatcher",
    "DriverIndex",
    "DriverNotFound",
    "DriverState",
    "GeoError",
    "GeoTypeError",
    "GeoUnavailable",
    "GeohashIndex",
    "H3Index",
    "HexSurgePricer",
    "Match",
    "QuadTreeIndex",
    "RedisGeoIndex",
    "SearchTrace",
    "SurgePricer",
    "TripState",
    "TripStateError",
    "TripStateMachine",
    "bbox",
    "cover_circle",
    "decode",
    "decode_int",
    "encode",
    "encode_int",
    "equirectangular_m",
    "haversine_m",
    "neighbor",
    "neighbors",
    "redis_score",
]
