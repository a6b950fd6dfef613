"""Redis driver index: ``GEOADD`` / ``GEOSEARCH`` on a real server, re-ranked exactly.

Case study: Design a Ride-Sharing App (Uber / Lyft) (docs/case-studies/ride-sharing.md)

Where does the fleet's state live when many dispatch servers share it? In Redis, whose geo
commands keep members in a sorted set scored by a 52-bit geohash
(:func:`~designpatterns_ref.geo.geohash_int.redis_score`). Redis's own answers fall short in
four ways, which this index corrects:

* it stores each position rounded to its 52-bit cell (up to about 0.6 m off);
* it measures with a sphere of radius 6,372,797.56 m (ours: 6,371,008.8 m, 0.03% smaller), so
  its distances, and so its ``COUNT k`` top-k, can differ from the exact one;
* it only accepts latitudes within ±85.05112878° (Web Mercator's square), so this index refuses
  anything beyond, for drivers and riders alike, rather than answer wrongly;
* ``GEOSEARCH`` from a point just west of +180° can miss members just east of -180° (found by
  this family's property tests on Redis 7.0), so a circle that crosses the antimeridian is also
  searched from both sides of it.

So every driver's exact coordinates are kept beside the geo set (a hash), ``GEOSEARCH`` is asked
for a radius padded by Redis's worst-case error, and its candidates are re-measured with
:func:`~designpatterns_ref.geo.sphere.haversine_m` and ranked by (distance, id). For the k
nearest, the radius starts where the previous search ended and doubles until k drivers lie
within the unpadded radius, which proves none outside can beat them. Once the radius passes
2,000 km it reads and measures every driver instead, keeps those within ``max_radius_m`` (all of
them when there is no bound) and stops there, so a driver on another continent is still found.
An update is one Lua script (geo set, free-driver set, coordinates, fix time; a busy driver stays
busy) and a change of the free flag another; stale drivers are removed by a Lua script,
atomically, before each read. A dispatch server claims a driver with a compare-and-set (one Lua
script: busy only if free, with the claim's token kept beside the flag), and undoes a claim
whose reply was lost with another that frees the driver only if that token still holds it.

Complexity: O(log n) per update on the server; a search costs one or a few round trips plus
O(candidates) here.

Usage (needs a running server)::

    index = RedisGeoIndex(redis.Redis.from_url(url), key="city")
    index.upsert("ana", 51.5007, -0.1246)
    index.nearest(51.5033, -0.1276, k=1)
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from typing import Any

from designpatterns_ref.errors import shown
from designpatterns_ref.geo._live import LiveTable, check_query
from designpatterns_ref.geo.base import (
    DriverNotFound,
    DriverState,
    GeoError,
    GeoTypeError,
    GeoUnavailable,
    Match,
    check_driver_id,
    check_k,
    check_token,
    matches,
)
from designpatterns_ref.geo.geohash import REDIS_LAT_LIMIT
from designpatterns_ref.geo.sphere import _box_distance_m, _haversine_m
from designpatterns_ref.redisclient import (
    DEFAULT_DEADLINE_S,
    bounded_client,
    check_deadline,
    outages_as,
)

__all__ = ["REDIS_EARTH_RADIUS_M", "RedisGeoIndex"]

#: The sphere Redis measures on (its ``GEOSEARCH`` distances), in metres.
REDIS_EARTH_RADIUS_M = 6_372_797.560856
_PAD_FACTOR = 1.001  # covers Redis's larger sphere (0.03%) with room to spare
_PAD_M = 2.0  # covers the rounding of positions to 52-bit cells (under 1 m)
# Redis accepts +85.05112878 itself but scores it one row past the last (2**52 or more), where
# GEOSEARCH never finds it; the geo sets get the last row instead, 1 cm south (the exact
# position stays in the hash, and the padding covers the shift).
_TOP_LAT = REDIS_LAT_LIMIT - 1e-7
_SCAN_ALL_M = 2_000_000.0
_JUST_BELOW_180 = math.nextafter(180.0, 0.0)

_PURGE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', '(' .. ARGV[1])
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
  redis.call('HDEL', KEYS[3], id)
  redis.call('ZREM', KEYS[4], id)
  redis.call('HDEL', KEYS[5], id)
end
return #ids
"""

# Set one driver's flag where it stands, reading and writing in one step on the server (a
# driver moved or removed meanwhile is never put back): the free set takes the geo set's score.
# A driver whose fix is older than the cutoff ARGV[3] ('' for no TTL) is stale, so unknown:
# refused like a missing one, and nothing else is touched (no driver expires here). An explicit
# flag ends any claim on the driver (KEYS[5]), so a dispatcher's undo no longer matches.
_SET_AVAILABLE = """
local raw = redis.call('HGET', KEYS[3], ARGV[1])
if not raw then return 0 end
local lat, lon, _, at = string.match(raw, '^(%S+) (%S+) (%S+) (%S+)$')
if ARGV[3] ~= '' and tonumber(at) < tonumber(ARGV[3]) then return 0 end
if ARGV[2] == '1' then
  redis.call('ZADD', KEYS[2], redis.call('ZSCORE', KEYS[1], ARGV[1]), ARGV[1])
else
  redis.call('ZREM', KEYS[2], ARGV[1])
end
redis.call('HSET', KEYS[3], ARGV[1], lat .. ' ' .. lon .. ' ' .. ARGV[2] .. ' ' .. at)
redis.call('HDEL', KEYS[5], ARGV[1])
return 1
"""

# Claim a driver: mark it busy only if it is live and free, and note the claim's token beside
# the flag (KEYS[5]), in one step. ARGV: id, token, stale cutoff. 1 claimed, 0 busy, -1 unknown
# or stale (nothing touched).
_CLAIM = """
local raw = redis.call('HGET', KEYS[3], ARGV[1])
if not raw then return -1 end
local lat, lon, flag, at = string.match(raw, '^(%S+) (%S+) (%S+) (%S+)$')
if ARGV[3] ~= '' and tonumber(at) < tonumber(ARGV[3]) then return -1 end
if flag ~= '1' then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], lat .. ' ' .. lon .. ' 0 ' .. at)
redis.call('HSET', KEYS[5], ARGV[1], ARGV[2])
return 1
"""

# Undo a claim: free the driver only if the claim with this token still holds it (no flag was
# written since, by anyone), in one step. ARGV: id, token, stale cutoff. 1 freed, 0 not.
_UNCLAIM = """
if redis.call('HGET', KEYS[5], ARGV[1]) ~= ARGV[2] then return 0 end
local raw = redis.call('HGET', KEYS[3], ARGV[1])
if not raw then return 0 end
local lat, lon, _, at = string.match(raw, '^(%S+) (%S+) (%S+) (%S+)$')
if ARGV[3] ~= '' and tonumber(at) < tonumber(ARGV[3]) then return 0 end
redis.call('HDEL', KEYS[5], ARGV[1])
redis.call('ZADD', KEYS[2], redis.call('ZSCORE', KEYS[1], ARGV[1]), ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], lat .. ' ' .. lon .. ' 1 ' .. at)
return 1
"""


# Add or move one driver in one step on the server. ARGV: id, lon, lat, flag ('1', '0', or ''
# to keep a live driver's flag), fix time, stale cutoff ('' for no TTL), claim token ('' for
# none), the latitude for the geo sets (see _TOP_LAT). A driver unknown, or whose fix is older
# than the cutoff, comes in free when no flag is given. A kept flag keeps the driver's claim
# (KEYS[5]); any other ends it. With a token (and no flag), a driver that would come out free
# comes out busy under that claim, in the same step.
_UPSERT = """
local flag = ARGV[4]
local kept = false
if flag == '' then
  flag = '1'
  local raw = redis.call('HGET', KEYS[3], ARGV[1])
  if raw then
    local _, _, old, at = string.match(raw, '^(%S+) (%S+) (%S+) (%S+)$')
    if ARGV[6] == '' or tonumber(at) >= tonumber(ARGV[6]) then
      flag = old
      kept = true
    end
  end
end
if not kept then redis.call('HDEL', KEYS[5], ARGV[1]) end
if ARGV[7] ~= '' and flag == '1' then
  flag = '0'
  redis.call('HSET', KEYS[5], ARGV[1], ARGV[7])
end
redis.call('GEOADD', KEYS[1], ARGV[2], ARGV[8], ARGV[1])
if flag == '1' then
  redis.call('GEOADD', KEYS[2], ARGV[2], ARGV[8], ARGV[1])
else
  redis.call('ZREM', KEYS[2], ARGV[1])
end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3] .. ' ' .. ARGV[2] .. ' ' .. flag .. ' ' .. ARGV[5])
redis.call('ZADD', KEYS[4], ARGV[5], ARGV[1])
return 1
"""


@outages_as(GeoUnavailable)
class RedisGeoIndex:
    """Drivers in Redis geo sets, searched with ``GEOSEARCH`` and re-ranked exactly.

    ``client`` is a ``redis.Redis`` (``decode_responses`` either way) or a ``redis://`` URL;
    ``key`` prefixes the five keys it uses. Safe to share between threads and processes: Redis
    serialises the updates.

    The index talks through a twin of the client with the same settings (shared by every index
    built on that client with the same deadline; a URL gets a client of its own), built so that
    each round trip waits at most ``deadline`` seconds (default 0.25) with no retries: with the
    server down or frozen, every call raises :class:`~designpatterns_ref.geo.base.GeoUnavailable`
    within about ``deadline`` (see :mod:`designpatterns_ref.redisclient`).
    """

    def __init__(
        self,
        client: Any,
        key: str = "drivers",
        *,
        ttl: float | None = 60.0,
        clock: Callable[[], float] | None = None,
        deadline: float = DEFAULT_DEADLINE_S,
    ) -> None:
        if not isinstance(key, str) or not key:
            raise GeoTypeError(f"key={shown(key)} must be a non-empty str")
        self.deadline = check_deadline("RedisGeoIndex", deadline, GeoError)
        self._live = LiveTable(ttl=ttl, clock=clock)  # validation, clock and ttl only
        redis_mod = sys.modules.get("redis")
        if isinstance(client, str):
            try:
                self._client = bounded_client(client, self.deadline)
            except ValueError as exc:
                raise GeoError(f"client={shown(client)} is not a Redis URL: {exc}") from None
        elif redis_mod is not None and isinstance(client, redis_mod.Redis):
            self._client = bounded_client(client, self.deadline)
        else:
            raise GeoTypeError(f"client={shown(client)} must be a redis.Redis or a redis:// URL")
        client = self._client
        self.key = key
        self._all, self._free = f"{key}:geo", f"{key}:free"
        self._meta, self._at = f"{key}:pos", f"{key}:at"
        self._claims = f"{key}:claim"  # driver id -> token of the claim that made it busy
        self._purge = client.register_script(_PURGE)
        self._set_available = client.register_script(_SET_AVAILABLE)
        self._upsert = client.register_script(_UPSERT)
        self._claim = client.register_script(_CLAIM)
        self._unclaim = client.register_script(_UNCLAIM)
        self._hint = 500.0  # metres: where the next k-nearest search starts

    def _keys(self) -> list[str]:
        """The five keys every script takes, in the order the scripts name them."""
        return [self._all, self._free, self._meta, self._at, self._claims]

    def _cutoff(self) -> str:
        """The oldest fix time still live, as the scripts take it ('' for no TTL)."""
        ttl = self._live.ttl
        return "" if ttl is None else repr(self._live.now() - ttl)

    @staticmethod
    def _text(value: Any) -> str:
        return value.decode() if isinstance(value, bytes) else str(value)

    def _check_lat(self, lat: float, who: str) -> None:
        if not -REDIS_LAT_LIMIT <= lat <= REDIS_LAT_LIMIT:
            raise GeoError(
                f"{who} lat={shown(lat)} is beyond what Redis can store: its geo commands accept "
                f"latitudes within ±{REDIS_LAT_LIMIT} only"
            )

    def upsert(
        self,
        driver_id: str,
        lat: float,
        lon: float,
        *,
        available: bool | None = None,
        at: float | None = None,
        claim: str | None = None,
    ) -> None:
        """Add or move a driver in one step on the server (a Lua script); refuses latitudes
        beyond ±85.05112878.

        ``available`` None (the default) keeps a live driver's flag, read and written in the
        same step, so a location update never frees a busy driver, even one another process
        marked busy a moment before; a new (or stale) driver comes in available. With ``claim``
        (a token), a driver that would come out free comes out busy under that claim, in the
        same step, so no other dispatch server can claim it in between.
        """
        # The local table is empty: validate with a flag, then let the server resolve None.
        flag = available
        if claim is not None and flag is not None:
            self._live.check_fix(driver_id, lat, lon, flag, at, claim)  # refuses the pair
        driver_id, lat, lon, _, at = self._live.check_fix(
            driver_id, lat, lon, True if flag is None else flag, at
        )
        if claim is not None:  # the server claims; the local table is not told
            claim = check_token(claim, "claim")
        self._check_lat(lat, "upsert:")
        ttl = self._live.ttl
        cutoff = "" if flag is not None or ttl is None else repr(self._live.now() - ttl)
        keys = self._keys()
        code = "" if flag is None else str(int(flag))
        geo_lat = repr(min(lat, _TOP_LAT))
        args = [driver_id, repr(lon), repr(lat), code, repr(at), cutoff, claim or "", geo_lat]
        self._upsert(keys=keys, args=args)

    def remove(self, driver_id: str) -> bool:
        """Forget a driver; True if it was there (a stale driver is not: it expires first)."""
        driver_id = check_driver_id(driver_id)
        self._expire()
        pipe = self._client.pipeline(transaction=True)
        pipe.zrem(self._all, driver_id)
        pipe.zrem(self._free, driver_id)
        pipe.hdel(self._meta, driver_id)
        pipe.zrem(self._at, driver_id)
        pipe.hdel(self._claims, driver_id)
        return bool(pipe.execute()[0])

    def _expire(self) -> None:
        if self._live.ttl is not None:
            cutoff = self._live.now() - self._live.ttl
            self._purge(keys=self._keys(), args=[repr(cutoff)])

    def _state(self, driver_id: str, raw: Any) -> DriverState:
        lat, lon, available, at = self._text(raw).split()
        return DriverState(driver_id, float(lat), float(lon), available == "1", float(at))

    def get(self, driver_id: str) -> DriverState | None:
        """The driver's last known state, or None if unknown or stale."""
        driver_id = check_driver_id(driver_id)
        self._expire()
        raw = self._client.hget(self._meta, driver_id)
        return None if raw is None else self._state(driver_id, raw)

    def set_available(self, driver_id: str, available: bool) -> None:
        """Mark a known driver free or busy without moving it, in one step on the server (a
        Lua script), so a move or removal by another process meanwhile is never undone. It ends
        the driver's claim, if any (see :meth:`claim`).

        Raises :class:`~designpatterns_ref.geo.base.DriverNotFound` (a ``KeyError``) if unknown
        or stale; a refused call changes nothing (no stale driver expires).
        """
        if available is not True and available is not False:
            raise GeoTypeError(f"available={shown(available)} must be True or False")
        driver_id = check_driver_id(driver_id)
        keys = self._keys()
        if not self._set_available(keys=keys, args=[driver_id, int(available), self._cutoff()]):
            raise DriverNotFound(f"driver_id={shown(driver_id)} is not in the index (or is stale)")

    def claim(self, driver_id: str, token: str) -> bool:
        """Mark a driver busy only if it is free, and note ``token`` as the claim's, in one step
        on the server (a compare-and-set): True if claimed, False if it was busy already.

        Two dispatch servers that found the same driver cannot both claim it. Raises
        :class:`~designpatterns_ref.geo.base.DriverNotFound` if unknown or stale (nothing changes).
        """
        driver_id, token = check_driver_id(driver_id), check_token(token)
        got = self._claim(keys=self._keys(), args=[driver_id, token, self._cutoff()])
        if int(got) < 0:
            raise DriverNotFound(f"driver_id={shown(driver_id)} is not in the index (or is stale)")
        return bool(got)

    def unclaim(self, driver_id: str, token: str) -> bool:
        """Undo the claim ``token``: free the driver only if that claim still holds it, in one
        step on the server; True if freed.

        Any flag written since (another claim, :meth:`set_available`, an ``upsert`` with
        ``available``, a removal, expiry) ends the claim, and then nothing changes; a location
        update that keeps the flag keeps the claim.
        """
        driver_id, token = check_driver_id(driver_id), check_token(token)
        return bool(self._unclaim(keys=self._keys(), args=[driver_id, token, self._cutoff()]))

    def _candidates(
        self, lat: float, lon: float, radius: float, available_only: bool
    ) -> list[tuple[float, str]]:
        """Exact (distance, id) of every driver within ``radius`` metres, sorted."""
        if radius >= _SCAN_ALL_M:
            raw = self._client.hgetall(self._meta)
            states = [self._state(self._text(i), v) for i, v in raw.items()]
        else:
            padded = radius * _PAD_FACTOR + _PAD_M
            key = self._free if available_only else self._all
            centres = [(lat, lon, padded)]
            if _box_distance_m(lat, lon, -90.0, -180.0, 90.0, -180.0) <= padded:
                # The circle crosses ±180°, where GEOSEARCH can miss members on the far side
                # (found by the property tests): search again from both sides of the meridian.
                for edge in (-180.0, _JUST_BELOW_180):
                    centres.append((lat, edge, padded + _haversine_m(lat, lon, lat, edge) + _PAD_M))
            names = sorted(
                {
                    self._text(i)
                    for c_lat, c_lon, c_radius in centres
                    for i in self._client.geosearch(
                        key, longitude=c_lon, latitude=c_lat, radius=c_radius, unit="m"
                    )
                }
            )
            if not names:
                return []
            raws = self._client.hmget(self._meta, names)
            states = [self._state(n, v) for n, v in zip(names, raws, strict=True) if v is not None]
        found = []
        for s in states:
            if s.available or not available_only:
                d = _haversine_m(lat, lon, s.lat, s.lon)
                if d <= radius:
                    found.append((d, s.driver_id))
        found.sort()
        return found

    def nearest(
        self,
        lat: float,
        lon: float,
        k: int = 10,
        *,
        max_radius_m: float | None = None,
        available_only: bool = True,
    ) -> list[Match]:
        """The ``k`` nearest drivers, nearest first, ties broken by driver id; exact."""
        check_k(k)
        lat, lon, kk, limit = check_query(lat, lon, k, max_radius_m, available_only, "max_radius_m")
        assert kk is not None
        self._check_lat(lat, "nearest:")
        self._expire()
        # Start from the radius the last search needed (the fleet's density changes slowly), so
        # most searches take one round trip and fetch few more candidates than k.
        radius = min(limit, self._hint)
        while True:
            if radius >= _SCAN_ALL_M:
                # Past this radius every driver is read and measured anyway: keep all of them
                # within the caller's bound (the whole fleet when there is none), and stop.
                radius = limit
            found = self._candidates(lat, lon, radius, available_only)
            if len(found) >= kk or radius >= limit:
                if len(found) >= kk:
                    self._hint = max(10.0, found[kk - 1][0] * 1.25)
                return matches(found[:kk])
            radius = min(limit, radius * 2.0)

    def within(
        self, lat: float, lon: float, radius_m: float, *, available_only: bool = True
    ) -> list[Match]:
        """Every driver within ``radius_m`` metres, nearest first, ties broken by driver id."""
        lat, lon, _, radius = check_query(lat, lon, None, radius_m, available_only)
        self._check_lat(lat, "within:")
        self._expire()
        return matches(self._candidates(lat, lon, radius, available_only))

    def __len__(self) -> int:
        self._expire()
        return int(self._client.hlen(self._meta))

    def __contains__(self, driver_id: object) -> bool:
        self._expire()
        try:
            driver_id = check_driver_id(driver_id)
        except GeoError:  # not a driver id, so not in the index
            return False
        return bool(self._client.hexists(self._meta, driver_id))

    def clear(self) -> None:
        """Delete every key this index uses."""
        self._client.delete(*self._keys())

    def __repr__(self) -> str:
        return f"RedisGeoIndex(key={self.key!r}, ttl={self._live.ttl!r})"
