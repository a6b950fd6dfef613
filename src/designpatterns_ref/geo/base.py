"""Shared types of the geo family: the driver-index interface, matches, errors, validation.

Case study: Design a Ride-Sharing App (Uber / Lyft) (docs/case-studies/ride-sharing.md)

Every driver index (:class:`~designpatterns_ref.geo.brute.BruteForceIndex`,
:class:`~designpatterns_ref.geo.geohash_index.GeohashIndex`,
:class:`~designpatterns_ref.geo.h3_index.H3Index`,
:class:`~designpatterns_ref.geo.quadtree.QuadTreeIndex`,
:class:`~designpatterns_ref.geo.redis.RedisGeoIndex`) answers the same :class:`DriverIndex`
protocol, so a student swaps one for another in one line, and one contract test holds them all to
the same answers. Distances are great-circle distances in metres on a sphere of radius
:data:`~designpatterns_ref.geo.sphere.EARTH_RADIUS_M` (the IUGG mean radius, 6,371,008.8 m).

Boundary rules, the same everywhere: latitude lies in [-90, 90] (both poles accepted), longitude in
[-180, 180] with 180 meaning the same meridian as -180 (it is stored as -180). Anything else
(NaN, infinities, a string, a bool) raises :class:`GeoError` naming the field and the value, and
the call changes nothing.

Complexity: validation is O(1).

>>> check_lon("lon", 180.0)
-180.0
>>> check_lat("lat", 91)
Traceback (most recent call last):
...
designpatterns_ref.geo.base.GeoError: lat=91 is out of range: latitude must lie in [-90, 90]
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import repeat
from typing import NamedTuple, Protocol, runtime_checkable

from designpatterns_ref.errors import DesignPatternsError, shown

__all__ = [
    "DriverIndex",
    "DriverNotFound",
    "DriverState",
    "GeoError",
    "GeoTypeError",
    "GeoUnavailable",
    "Match",
    "check_driver_id",
    "check_k",
    "check_lat",
    "check_lon",
    "check_radius",
    "check_token",
    "matches",
]


class GeoError(DesignPatternsError, ValueError):
    """A coordinate, code, radius or other argument of the geo family is invalid."""


class DriverNotFound(GeoError, KeyError):
    """A driver the call needs is not in the index (never added, removed or stale)."""

    def __str__(self) -> str:  # KeyError would show the message quoted, as a key
        return str(self.args[0]) if self.args else ""


class GeoUnavailable(GeoError):
    """A Redis-backed index did not answer in time (the server down or frozen)."""


class GeoTypeError(GeoError, TypeError):
    """An argument of the geo family has the wrong type (a string where a number belongs)."""


class Match(NamedTuple):
    """One driver found by a search: its great-circle distance in metres and its id.

    A named tuple: immutable, it unpacks as ``(distance_m, driver_id)`` and sorts nearest
    first, ties broken by driver id, which is the order every index returns. A search returns
    k of them on every call, so the indexes build them with :func:`matches`, which skips the
    Python-level constructor (about a third of the cost of a frozen dataclass's).
    """

    distance_m: float
    driver_id: str


_new_tuple = tuple.__new__


def matches(found: Iterable[tuple[float, str]]) -> list[Match]:
    """``(distance, driver id)`` pairs as :class:`Match` es, in the same order.

    >>> matches([(12.5, "a"), (40.0, "b")])
    [Match(distance_m=12.5, driver_id='a'), Match(distance_m=40.0, driver_id='b')]
    """
    return list(map(_new_tuple, repeat(Match), found))


@dataclass(frozen=True, slots=True)
class DriverState:
    """What an index knows about one driver: position, availability and the time of the fix."""

    driver_id: str
    lat: float
    lon: float
    available: bool
    at: float


@runtime_checkable
class DriverIndex(Protocol):
    """The interface every live driver index implements.

    ``nearest`` returns at most ``k`` matches, nearest first, ties broken by driver id, equal to
    what :class:`~designpatterns_ref.geo.brute.BruteForceIndex` returns on the same data.
    Drivers whose last fix is older than the index's ``ttl`` (on its clock) are dropped.
    ``upsert`` without ``available`` keeps a live driver's flag (a location update never frees
    a busy driver); a new or stale driver comes in available. ``upsert(..., claim=token)``
    (without ``available``) is a claiming update, in one step: a driver that would be free after
    it (new, back from stale or removal, or free) comes in busy under the claim ``token``; a
    busy one keeps its flag and claim. Retried after a lost reply, it changes nothing more.

    ``claim(driver_id, token)`` is a compare-and-set: it marks the driver busy only if it is
    free (True; False if busy; ``DriverNotFound`` if unknown or stale) and notes ``token``.
    ``unclaim(driver_id, token)`` frees the driver only if that claim still holds it: any flag
    written since (another claim, ``set_available``, ``upsert`` with ``available``, a removal,
    expiry) ends the claim, a location update that keeps the flag does not; an unknown or stale
    driver is not freed (False, never ``DriverNotFound``). The dispatcher frees a driver at the
    end of its trip the same way, with the token of the claim that gave it its rider.
    """

    def upsert(
        self,
        driver_id: str,
        lat: float,
        lon: float,
        *,
        available: bool | None = None,
        at: float | None = None,
        claim: str | None = None,
    ) -> None: ...

    def remove(self, driver_id: str) -> bool: ...

    def set_available(self, driver_id: str, available: bool) -> None: ...

    def claim(self, driver_id: str, token: str) -> bool: ...

    def unclaim(self, driver_id: str, token: str) -> bool: ...

    def get(self, driver_id: str) -> DriverState | None: ...

    def nearest(
        self,
        lat: float,
        lon: float,
        k: int = 10,
        *,
        max_radius_m: float | None = None,
        available_only: bool = True,
    ) -> list[Match]: ...

    def within(
        self, lat: float, lon: float, radius_m: float, *, available_only: bool = True
    ) -> list[Match]: ...

    def __len__(self) -> int: ...


def _number(field: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise GeoTypeError(
            f"{field}={shown(value)} must be a number (int or float), not {type(value).__name__}"
        )
    try:
        number = float(value)
    except OverflowError:  # an int beyond any float, such as 10**400
        raise GeoError(f"{field}={shown(value)} must be a finite number") from None
    if not math.isfinite(number):
        raise GeoError(f"{field}={shown(value)} must be a finite number")
    return number


def check_lat(field: str, value: object) -> float:
    """Return ``value`` as a float latitude in [-90, 90], or raise :class:`GeoError`."""
    lat = _number(field, value)
    if not -90.0 <= lat <= 90.0:
        raise GeoError(f"{field}={shown(value)} is out of range: latitude must lie in [-90, 90]")
    return lat


def check_lon(field: str, value: object) -> float:
    """Return ``value`` as a float longitude in [-180, 180) (180 becomes -180), or raise."""
    lon = _number(field, value)
    if not -180.0 <= lon <= 180.0:
        raise GeoError(f"{field}={shown(value)} is out of range: longitude must lie in [-180, 180]")
    return -180.0 if lon == 180.0 else lon


def check_radius(field: str, value: object) -> float:
    """Return ``value`` as a radius in metres (zero or more, finite), or raise :class:`GeoError`."""
    radius = _number(field, value)
    if radius < 0:
        raise GeoError(f"{field}={shown(value)} must be zero or more metres")
    return radius


def check_k(value: object) -> int:
    """Return ``value`` as a count of matches (an int of at least 1), or raise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise GeoTypeError(f"k={shown(value)} must be an int")
    if value < 1:
        raise GeoError(f"k={shown(value)} must be at least 1")
    return value


def check_token(value: object, field: str = "token") -> str:
    """Return ``value`` as a claim token (a non-empty ASCII str), or raise :class:`GeoError`."""
    if not isinstance(value, str):
        raise GeoTypeError(f"{field}={shown(value)} must be a str, not {type(value).__name__}")
    if not value or not value.isascii():
        raise GeoError(f"{field}={shown(value[:80])} must be a non-empty ASCII string")
    return value


def check_driver_id(value: object) -> str:
    """Return ``value`` as a driver id (a non-empty str), or raise :class:`GeoError`."""
    if not isinstance(value, str):
        raise GeoTypeError(f"driver_id={shown(value)} must be a str, not {type(value).__name__}")
    if not value:
        raise GeoError("driver_id='' must be a non-empty string")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:  # every index must agree, and Redis keeps UTF-8
            raise GeoError(
                f"driver_id={shown(value[:80])} holds a lone surrogate at position {exc.start}"
            ) from None
    return value
