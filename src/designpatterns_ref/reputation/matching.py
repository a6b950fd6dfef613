"""Matching requests to providers by distance, skill and availability, ranked by reputation.

Case study: Design a Free Local Gig Marketplace (docs/case-studies/gig-marketplace.md)

A household needs a gardener within 3 km on Saturday morning. :class:`Matcher` finds every
provider within ``max_distance_m`` (a local :class:`GridIndex`: cells of about a kilometre, the
rings of cells overlapping the circle scanned, exact haversine distances), keeps those with the
skill and an availability window that covers the whole requested slot, and ranks them by

``score = (1 - distance_weight) * (R - 1) / 4 + distance_weight * (1 - d / max_distance)``

where ``R`` is the Bayesian average of the provider's stars (:mod:`.bayes`): a provider with no
review starts at the prior mean, neither buried nor on top. That is the cold-start prior.

It is not enough: with only exploitation, the established providers take every job, collect
every review and the newcomer never gets the first one. So ``explore_slots`` of the ``k``
results (default one) are kept for a *new* provider (fewer than ``new_below`` reviews) who
would not have made the page on score alone: the one shown least often so far, then the best
scored. Exploration is bounded twice: at most ``explore_slots`` per page, and at most
``max_explorations`` exploration showings per provider over its life, after which it ranks on
its merits alone. Results say which slots were exploration (``explored=True``).

Thread-safe: providers may move, join and get reviews while queries run. The index's cells
change under its own lock, and a query copies the points of the cells it scans under that lock
(the distances are worked out after); the matcher's writes and each page's exploration count
(so ``max_explorations`` holds across threads) are made under the matcher's lock. A query that
runs while a provider moves finds it at its old place or its new one.

The geo family (``designpatterns_ref.geo``) has live driver indexes; the families stay
independent (each imports only the core), so this module keeps its own small grid index,
checked against brute force.

Complexity: a query scans the cells overlapping the circle, O(cells + providers in them), then
sorts the eligible ones: O(e log e).

>>> m = Matcher()
>>> m.add_provider(Provider("ana", 51.5007, -0.1246, frozenset({"garden"}), ((0.0, 100.0),)))
>>> m.match(Request(51.5033, -0.1195, "garden", 10.0, 12.0))[0].provider_id
'ana'
"""

from __future__ import annotations

import math
import threading
from collections import defaultdict
from dataclasses import dataclass

from designpatterns_ref.errors import shown
from designpatterns_ref.reputation.base import (
    MAX_WEIGHT,
    ReputationError,
    ReputationTypeError,
    StarCounts,
    check_count,
    check_id,
    check_number,
)
from designpatterns_ref.reputation.ranking import scorer

__all__ = ["GridIndex", "Match", "Matcher", "Provider", "Request", "haversine_m"]

EARTH_RADIUS_M = 6_371_008.8
_CELL_DEG = 0.01  # about 1.1 km of latitude


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance in metres between two points in degrees.

    >>> round(haversine_m(51.5007, -0.1246, 51.5033, -0.1195))
    456
    """
    lat1, lon1 = _check_point(lat1, lon1)
    lat2, lon2 = _check_point(lat2, lon2)
    return _haversine(lat1, lon1, lat2, lon2)


def _haversine(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """:func:`haversine_m` on values already checked (the index's inner loop)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _check_point(lat: object, lon: object) -> tuple[float, float]:
    return (
        check_number("lat", lat, lo=-90.0, hi=90.0),
        check_number("lon", lon, lo=-180.0, hi=180.0),
    )


class GridIndex:
    """Points in cells of 0.01 degree; exact ``within`` queries, near the poles too.

    Queries wrap across the 180th meridian: a circle around a point at longitude 179.999 also
    finds the points just past -180. Thread-safe (see the module docstring).
    """

    def __init__(self) -> None:
        self.cells: dict[tuple[int, int], dict[str, tuple[float, float]]] = defaultdict(dict)
        self.points: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def add(self, key: str, lat: float, lon: float) -> None:
        """Insert or move ``key`` to (lat, lon)."""
        check_id("key", key)
        la, lo = _check_point(lat, lon)
        with self._lock:
            self._remove(key)
            self.points[key] = (la, lo)
            self.cells[int(la // _CELL_DEG), int(lo // _CELL_DEG)][key] = (la, lo)

    def remove(self, key: str) -> bool:
        """Remove ``key``; True if it was there."""
        check_id("key", key)
        with self._lock:
            return self._remove(key)

    def _remove(self, key: str) -> bool:
        """:meth:`remove`, under the lock."""
        old = self.points.pop(key, None)
        if old is None:
            return False
        cell = int(old[0] // _CELL_DEG), int(old[1] // _CELL_DEG)
        del self.cells[cell][key]
        if not self.cells[cell]:
            del self.cells[cell]
        return True

    def within(self, lat: float, lon: float, radius_m: float) -> list[tuple[float, str]]:
        """``(distance, key)`` of every point within ``radius_m``, nearest first."""
        la, lo = _check_point(lat, lon)
        r = check_number("radius_m", radius_m, lo=0.0, hi=200_000.0)
        d_lat = math.degrees(r / EARTH_RADIUS_M)
        reach = abs(la) + d_lat  # the circle's latitude nearest the pole
        # Away from the poles the circle spans d_lat / cos(reach) degrees of longitude each
        # side (never less than its true extent); within a degree of a pole the columns fan
        # out without bound (and a circle over the pole spans them all), so scan every column.
        d_lon = 180.0 if reach >= 89.0 else min(180.0, d_lat / math.cos(math.radians(reach)))
        rows = range(int((la - d_lat) // _CELL_DEG), int((la + d_lat) // _CELL_DEG) + 1)
        columns = _columns(lo - d_lon, lo + d_lon)
        with self._lock:  # a copy of the points to measure, taken while no writer is inside
            if len(rows) * len(columns) > len(self.cells):  # fewer cells in use than to look up
                cells = [cell for (i, _), cell in self.cells.items() if i in rows]
            else:
                cells = [c for i in rows for j in columns if (c := self.cells.get((i, j)))]
            points = [item for cell in cells for item in cell.items()]
        found = []
        for key, (plat, plon) in points:
            d = _haversine(la, lo, plat, plon)
            if d <= r:
                found.append((d, key))
        found.sort()
        return found


def _columns(west: float, east: float) -> list[int]:
    """Cell columns covering longitudes ``[west, east]``, wrapped across the 180th meridian.

    A range that passes 180 (or -180) continues on the other side: near Fiji a query at 179.999
    also scans the columns just east of -180. The wrapped part gets one spare column each side
    so the rounding of ``+- 360`` never loses a cell (distances are exact anyway).
    """
    first, last = int(-180.0 // _CELL_DEG), int(180.0 // _CELL_DEG)
    if east - west >= 360.0:
        return list(range(first, last + 1))
    cols = set(range(max(first, int(west // _CELL_DEG)), min(last, int(east // _CELL_DEG)) + 1))
    if west < -180.0:
        cols.update(range(int((west + 360.0) // _CELL_DEG) - 1, last + 1))
    if east > 180.0:
        cols.update(range(first, int((east - 360.0) // _CELL_DEG) + 2))
    return sorted(cols)


@dataclass(frozen=True, slots=True)
class Provider:
    """Someone offering work: where, which skills, and when they are free (``[start, end)``)."""

    provider_id: str
    lat: float
    lon: float
    skills: frozenset[str]
    windows: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        check_id("provider_id", self.provider_id)
        _check_point(self.lat, self.lon)
        if not isinstance(self.skills, frozenset) or not all(
            isinstance(s, str) for s in self.skills
        ):
            raise ReputationTypeError(f"skills={shown(self.skills, 60)} must be a frozenset of str")
        if not isinstance(self.windows, tuple):
            raise ReputationTypeError(f"windows={shown(self.windows, 60)} must be a tuple of pairs")
        for w in self.windows:
            if not isinstance(w, tuple) or len(w) != 2:
                raise ReputationTypeError(f"window={shown(w, 60)} must be a (start, end) pair")
            if not check_number("start", w[0]) < check_number("end", w[1]):
                raise ReputationError(f"window={shown(w, 60)} must start before it ends")

    def free(self, start: float, end: float) -> bool:
        """True when one window covers the whole of ``[start, end)``."""
        check_number("start", start)
        check_number("end", end)
        return self._covers(start, end)

    def _covers(self, start: float, end: float) -> bool:
        return any(a <= start and end <= b for a, b in self.windows)


@dataclass(frozen=True, slots=True)
class Request:
    """A job: where, which skill, when (``[start, end)``), and how far a provider may come."""

    lat: float
    lon: float
    skill: str
    start: float
    end: float
    max_distance_m: float = 5_000.0

    def __post_init__(self) -> None:
        _check_point(self.lat, self.lon)
        check_id("skill", self.skill)
        if not check_number("start", self.start) < check_number("end", self.end):
            raise ReputationError(f"start={shown(self.start)} must be before end={shown(self.end)}")
        check_number("max_distance_m", self.max_distance_m, lo=0.0, hi=200_000.0, lo_open=True)


@dataclass(frozen=True, slots=True)
class Match:
    """A ranked provider: distance, reputation, score, and whether it fills an exploration slot."""

    provider_id: str
    distance_m: float
    reputation: float
    score: float
    explored: bool = False


class Matcher:
    """Providers, their reputations, and ranked matching with a bounded exploration slot."""

    def __init__(
        self,
        *,
        prior_mean: float = 4.0,
        prior_weight: float = 5.0,
        distance_weight: float = 0.3,
        new_below: int = 3,
        explore_slots: int = 1,
        max_explorations: int = 20,
    ) -> None:
        self.prior_mean = check_number("prior_mean", prior_mean, lo=1.0, hi=5.0)
        self.prior_weight = check_number("prior_weight", prior_weight, lo=0.0, hi=MAX_WEIGHT)
        self.distance_weight = check_number("distance_weight", distance_weight, lo=0.0, hi=1.0)
        self.new_below = check_count("new_below", new_below, limit=10**6)
        self.explore_slots = check_count("explore_slots", explore_slots, limit=100)
        self.max_explorations = check_count("max_explorations", max_explorations, limit=10**9)
        self.index = GridIndex()
        self.providers: dict[str, Provider] = {}
        self.counts: dict[str, StarCounts] = {}
        self.explorations: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    def add_provider(self, provider: Provider) -> None:
        """Add or replace a provider."""
        if not isinstance(provider, Provider):
            raise ReputationTypeError(f"provider={shown(provider, 60)} must be a Provider")
        with self._lock:  # the record first: a query finds every indexed id in providers
            self.providers[provider.provider_id] = provider
            self.index.add(provider.provider_id, provider.lat, provider.lon)

    def set_reputation(self, provider_id: str, counts: StarCounts) -> None:
        """The provider's star counts, as the review book holds them."""
        if not isinstance(counts, StarCounts):
            raise ReputationTypeError(f"counts={shown(counts, 60)} must be StarCounts")
        with self._lock:
            if check_id("provider_id", provider_id) not in self.providers:
                raise ReputationError(f"provider_id={shown(provider_id, 60)} is not a provider")
            self.counts[provider_id] = counts

    def candidates(self, request: Request) -> list[Match]:
        """Every eligible provider, scored, best first (ties by id): no exploration."""
        if not isinstance(request, Request):
            raise ReputationTypeError(f"request={shown(request, 60)} must be a Request")
        dw, far = self.distance_weight, request.max_distance_m
        reputation = scorer("bayes", prior_mean=self.prior_mean, prior_weight=self.prior_weight)
        empty = StarCounts()
        out = []
        for d, pid in self.index.within(request.lat, request.lon, far):
            p = self.providers[pid]
            if request.skill in p.skills and p._covers(request.start, request.end):
                rep = reputation(self.counts.get(pid, empty))
                score = (1 - dw) * (rep - 1) / 4 + dw * (1 - d / far)
                out.append(Match(pid, d, rep, score))
        out.sort(key=lambda m: (-m.score, m.provider_id))
        return out

    def match(self, request: Request, k: int = 5) -> list[Match]:
        """The top ``k`` for ``request``: the best on merit, then up to ``explore_slots`` new
        providers the ranking left off the page, last (slots no newcomer takes go back to the
        ranking)."""
        size = check_count("k", k, limit=10_000)
        ranked = self.candidates(request)
        slots = min(self.explore_slots, size)
        on_merit = {m.provider_id for m in ranked[:size]}  # the page a ranking alone would show
        with self._lock:  # pick and count together: max_explorations holds across threads
            fresh = [
                m
                for m in ranked
                if m.provider_id not in on_merit
                and self.counts.get(m.provider_id, StarCounts()).n < self.new_below
                and self.explorations[m.provider_id] < self.max_explorations
            ]
            fresh.sort(key=lambda m: (self.explorations[m.provider_id], -m.score, m.provider_id))
            explored = fresh[:slots]
            for m in explored:
                self.explorations[m.provider_id] += 1
        page = ranked[: size - len(explored)]
        page += [Match(m.provider_id, m.distance_m, m.reputation, m.score, True) for m in explored]
        return page
