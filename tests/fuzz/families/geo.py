"""geo: geohash functions, distances, the five driver indexes, dispatch, surge and trips.

Every index gets the same entries (its constructor, and each method with each argument
hostile); ``RedisGeoIndex`` runs against a throwaway server (``helpers.redis_url``) and is
compared before and after through a dump of its keys. What is left out is in NOT_FUZZED.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable
from typing import Any

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.geo import (
    BruteForceIndex,
    Dispatcher,
    GeoError,
    GeohashIndex,
    H3Index,
    HexSurgePricer,
    QuadTreeIndex,
    RedisGeoIndex,
    SurgePricer,
    TripState,
    TripStateMachine,
    bbox,
    cover_circle,
    decode,
    decode_int,
    encode,
    encode_int,
    equirectangular_m,
    haversine_m,
    neighbor,
    neighbors,
    redis_score,
)
from designpatterns_ref.geo.sphere import box_distance_m, lower_bound_m
from tests.fuzz.helpers import empty_redis_url, per_argument, redis_keys
from tests.fuzz.spec import Entry

ERRORS = (GeoError,)

NOT_FUZZED: dict[str, str] = {
    "Match": "the record a search returns (distance, driver id); no call takes one",
    "DriverState": "the record an index's get() returns; no call takes one",
    "Assignment": "the record Dispatcher.request returns and keeps; no call takes one",
    "SearchTrace": "the record GeohashIndex.trace returns; no call takes one",
    "TripState": "an enum: TripState(value) is Python's own lookup; a state given to a trip "
    "is checked by TripStateMachine.advance(to=)",
}

_keys = itertools.count()
_POINT = {"lat": 51.5007, "lon": -0.1246}


def _fill(index: Any) -> Any:
    index.upsert("ana", 51.5007, -0.1246)
    index.upsert("bo", 51.5033, -0.1276, available=False)
    return index


def _index_state(index: Any) -> object:
    """What a bucket index holds (not H3's geometry cache or the h3 module it keeps)."""
    if index is None:
        return None
    live = index._live
    cells = sorted((k, sorted(b.items())) for k, b in index._cells.items())
    return cells, sorted(live.drivers.items()), live.heap, live.batches


def _redis_index() -> RedisGeoIndex:
    import redis

    client = redis.Redis.from_url(empty_redis_url())
    index = RedisGeoIndex(client, key=f"fuzz{next(_keys)}", ttl=None, clock=ManualClock(0.0))
    client.close()
    return _fill(index)


def _redis_snapshot(index: Any) -> object:
    return None if index is None else redis_keys(index._client, f"{index.key}:*")


INDEXES: list[tuple[str, Callable[[], Any], Callable[[Any], object] | None]] = [
    ("BruteForceIndex", lambda: _fill(BruteForceIndex(clock=ManualClock(0.0))), None),
    ("GeohashIndex", lambda: _fill(GeohashIndex(clock=ManualClock(0.0))), None),
    ("QuadTreeIndex", lambda: _fill(QuadTreeIndex(capacity=2, clock=ManualClock(0.0))), None),
    ("H3Index", lambda: _fill(H3Index(clock=ManualClock(0.0))), _index_state),
    ("RedisGeoIndex", _redis_index, _redis_snapshot),
    # The finest cells: rows of cells beyond a search's reach are skipped by arithmetic that a
    # huge (finite) radius must not overflow.
    (
        "GeohashIndex(precision=12)",
        lambda: _fill(GeohashIndex(12, clock=ManualClock(0.0))),
        _index_state,
    ),
]


#: Finite radii a search accepts, as large as a float goes.
_HUGE = (1e7, 2.1e7, 1e307, sys.float_info.max)


def _index_entries(name: str, make: Callable[[], Any], snap: Any) -> list[Entry]:
    def method(m: str) -> Callable[..., object]:
        return lambda obj, **kw: getattr(obj, m)(**kw)

    out: list[Entry] = []
    out += per_argument(
        f"{name}.upsert",
        method("upsert"),
        {"driver_id": "cy", **_POINT, "available": True, "at": 1.0},
        make=make,
        snapshot=snap,
    )
    out += per_argument(
        f"{name}.upsert(claim=)",
        method("upsert"),
        {"driver_id": "ana", **_POINT, "at": 1.0, "claim": "t1"},
        make=make,
        snapshot=snap,
    )
    for m in ("remove", "get"):
        out += per_argument(
            f"{name}.{m}", method(m), {"driver_id": "ana"}, make=make, snapshot=snap
        )
    out += per_argument(
        f"{name}.set_available",
        method("set_available"),
        {"driver_id": "ana", "available": False},
        make=make,
        snapshot=snap,
    )
    for m in ("claim", "unclaim"):
        out += per_argument(
            f"{name}.{m}",
            method(m),
            {"driver_id": "ana", "token": "t1"},
            make=make,
            snapshot=snap,
        )
    out += per_argument(
        f"{name}.nearest",
        method("nearest"),
        {**_POINT, "k": 2, "max_radius_m": 5000.0, "available_only": True},
        make=make,
        snapshot=snap,
        values=_HUGE,
    )
    out += per_argument(
        f"{name}.within",
        method("within"),
        {**_POINT, "radius_m": 500.0, "available_only": False},
        make=make,
        snapshot=snap,
        values=_HUGE,
    )
    out.append(
        Entry(f"{name}.__contains__", call=lambda obj, v: v in obj, make=make, snapshot=snap)
    )
    return out


def _trip() -> TripStateMachine:
    trip = TripStateMachine("t1", clock=ManualClock(0.0))
    trip.match("ana")
    return trip


def _dispatcher() -> Dispatcher:
    dispatcher = Dispatcher(_fill(GeohashIndex(clock=ManualClock(0.0))))
    dispatcher.request("rider", 51.5007, -0.1246)
    return dispatcher


def _bulk_entries() -> list[Entry]:
    """bulk_load and from_drivers of both cell indexes: the rows, and each keyword."""
    out: list[Entry] = []
    rows = [("cy", 51.5, -0.12), ("dee", 51.6, -0.13)]
    for name, cls, grid in (
        ("GeohashIndex", GeohashIndex, "precision"),
        ("H3Index", H3Index, "resolution"),
    ):
        make = lambda cls=cls: _fill(cls(clock=ManualClock(0.0)))  # noqa: E731
        out += per_argument(
            f"{name}.bulk_load",
            lambda i, **kw: i.bulk_load(**kw),
            {"drivers": rows, "available": True, "at": 1.0},
            make=make,
            snapshot=_index_state,
        )
        out.append(
            Entry(
                f"{name}.bulk_load(drivers=[row])",
                call=lambda i, v: i.bulk_load([("ok", 1.0, 2.0), v]),
                make=make,
                snapshot=_index_state,
            )
        )
        out += per_argument(
            f"{name}.from_drivers",
            lambda _, cls=cls, **kw: cls.from_drivers(**kw),
            {"drivers": rows, grid: 7, "available": True, "at": 1.0, "ttl": 60.0, "clock": None},
        )
    return out


def _hex_pricer() -> HexSurgePricer:
    pricer = HexSurgePricer(clock=ManualClock(0.0))
    pricer.observe([(51.5, -0.12)] * 3, [(51.5, -0.12)])
    return pricer


def _hex_pricer_read_from(reading: list[object]) -> HexSurgePricer:
    """A pricer whose clock returns ``reading[0]``: the fuzz value is the clock's next reading."""
    pricer = HexSurgePricer(clock=lambda: reading[0])  # type: ignore[arg-type,return-value]
    pricer.observe([(51.5, -0.12)] * 3, [(51.5, -0.12)])
    pricer.reading = reading  # type: ignore[attr-defined]
    return pricer


def _observe_at(pricer: Any, reading: object) -> object:
    pricer.reading[0] = reading
    return pricer.observe([(51.5, -0.12), (48.85, 2.35)], [(40.7, -74.0)])


def _hex_state(pricer: Any) -> object:
    return None if pricer is None else (sorted(pricer.pricer._cells.items()), sorted(pricer._seen))


def _pricer() -> SurgePricer:
    pricer = SurgePricer(clock=ManualClock(0.0))
    pricer.update("gcpvj", demand=3, supply=1)
    return pricer


def _pricer_state(pricer: Any) -> object:
    return None if pricer is None else sorted(pricer._cells.items())


INDEXES_H3 = dict((name, make) for name, make, _ in INDEXES)["H3Index"]

ENTRIES = [
    # geohash and distances
    *per_argument("encode", lambda _, **kw: encode(**kw), {**_POINT, "precision": 7}),
    *per_argument("encode_int", lambda _, **kw: encode_int(**kw), {**_POINT, "bits": 52}),
    *per_argument("decode_int", lambda _, **kw: decode_int(**kw), {"value": 12345, "bits": 52}),
    *per_argument("redis_score", lambda _, **kw: redis_score(**kw), dict(_POINT)),
    Entry("decode(code)", call=lambda _, v: decode(v)),
    Entry("bbox(code)", call=lambda _, v: bbox(v)),
    Entry("neighbors(code)", call=lambda _, v: neighbors(v)),
    *per_argument("neighbor", lambda _, **kw: neighbor(**kw), {"code": "gcpvj", "direction": "n"}),
    *per_argument(
        "cover_circle",
        lambda _, **kw: cover_circle(**kw),
        {**_POINT, "radius_m": 300.0, "precision": None, "max_cells": 1000},
    ),
    *per_argument(
        "box_distance_m",
        lambda _, **kw: box_distance_m(**kw),
        {"lat": 51.5, "lon": -0.12, "south": 48.0, "west": 2.0, "north": 49.0, "east": 3.0},
    ),
    Entry("lower_bound_m(distance_m)", call=lambda _, v: lower_bound_m(v)),
    *(
        entry
        for fn in (haversine_m, equirectangular_m)
        for entry in per_argument(
            fn.__name__,
            lambda _, fn=fn, **kw: fn(**kw),
            {"lat1": 51.5, "lon1": -0.12, "lat2": 48.85, "lon2": 2.35},
        )
    ),
    # the indexes
    *per_argument(
        "BruteForceIndex", lambda _, **kw: BruteForceIndex(**kw), {"ttl": 60.0, "clock": None}
    ),
    *per_argument(
        "GeohashIndex",
        lambda _, **kw: GeohashIndex(**kw),
        {"precision": 7, "ttl": 60.0, "clock": None},
    ),
    *per_argument(
        "QuadTreeIndex",
        lambda _, **kw: QuadTreeIndex(**kw),
        {"capacity": 16, "ttl": 60.0, "clock": None},
    ),
    *per_argument(
        "H3Index",
        lambda _, **kw: H3Index(**kw),
        {"resolution": 9, "ttl": 60.0, "clock": None},
    ),
    *_bulk_entries(),
    Entry(
        "H3Index.cell(driver_id)",
        call=lambda i, v: i.cell(v),
        make=INDEXES_H3,
        snapshot=_index_state,
    ),
    *per_argument(
        "RedisGeoIndex",
        lambda _, **kw: RedisGeoIndex(**kw),
        {
            "client": "redis://127.0.0.1:1/0",
            "key": "k",
            "ttl": 60.0,
            "clock": None,
            "deadline": 0.25,
        },
    ),
    *(entry for name, make, snap in INDEXES for entry in _index_entries(name, make, snap)),
    *per_argument(
        "GeohashIndex.trace",
        lambda i, **kw: i.trace(**kw),
        {**_POINT, "k": 2, "available_only": True},
        make=INDEXES[1][1],
    ),
    # dispatch, surge, trips
    *per_argument(
        "Dispatcher",
        lambda _, **kw: Dispatcher(**kw),
        {"index": GeohashIndex(), "max_pickup_m": 1000.0},
    ),
    *per_argument(
        "Dispatcher.request",
        lambda d, **kw: d.request(**kw),
        {"rider_id": "rue", **_POINT},
        make=_dispatcher,
    ),
    Entry("Dispatcher.release(driver_id)", call=lambda d, v: d.release(v), make=_dispatcher),
    *per_argument(
        "Dispatcher.update",
        lambda d, **kw: d.update(**kw),
        {"driver_id": "ana", **_POINT, "at": 1.0},
        make=_dispatcher,
    ),
    Entry("Dispatcher.remove(driver_id)", call=lambda d, v: d.remove(v), make=_dispatcher),
    *per_argument(
        "SurgePricer",
        lambda _, **kw: SurgePricer(**kw),
        {"half_life": 120.0, "sensitivity": 1.0, "cap": 3.0, "step": 0.1, "clock": None},
    ),
    *per_argument(
        "SurgePricer.update",
        lambda p, **kw: p.update(**kw),
        {"cell": "gcpvj", "demand": 4, "supply": 2},
        make=_pricer,
        snapshot=_pricer_state,
    ),
    *(
        Entry(
            f"SurgePricer.{m}({arg})",
            call=lambda p, v, m=m: getattr(p, m)(v),
            make=_pricer,
            snapshot=_pricer_state,
        )
        for m, arg in (("multiplier", "cell"), ("pressure", "cell"), ("price", "pressure"))
    ),
    *per_argument(
        "HexSurgePricer",
        lambda _, **kw: HexSurgePricer(**kw),
        {"resolution": 8, "half_life": 120.0, "sensitivity": 1.0, "cap": 3.0, "step": 0.1},
    ),
    *per_argument(
        "HexSurgePricer.observe",
        lambda p, **kw: p.observe(**kw),
        {"riders": [(51.5, -0.12)], "drivers": [(51.5, -0.12)]},
        make=_hex_pricer,
        snapshot=_hex_state,
    ),
    Entry(
        "HexSurgePricer.observe(riders=[point])",
        call=lambda p, v: p.observe([(51.5, -0.12), v], []),
        make=_hex_pricer,
        snapshot=_hex_state,
    ),
    Entry(
        "HexSurgePricer.observe(clock reading)",
        call=_observe_at,
        make=lambda: _hex_pricer_read_from([0.0]),
        snapshot=_hex_state,
    ),
    *(
        Entry(
            f"HexSurgePricer.{m}(cell)",
            call=lambda p, v, m=m: getattr(p, m)(v),
            make=_hex_pricer,
            snapshot=_hex_state,
        )
        for m in ("multiplier", "pressure", "blended_multiplier")
    ),
    *per_argument(
        "HexSurgePricer.multiplier_at",
        lambda p, **kw: p.multiplier_at(**kw),
        dict(_POINT),
        make=_hex_pricer,
        snapshot=_hex_state,
    ),
    *per_argument(
        "HexSurgePricer.cell", lambda p, **kw: p.cell(**kw), dict(_POINT), make=_hex_pricer
    ),
    *per_argument(
        "TripStateMachine", lambda _, **kw: TripStateMachine(**kw), {"trip_id": "t1", "clock": None}
    ),
    *per_argument(
        "TripStateMachine.advance",
        lambda t, **kw: t.advance(**kw),
        {"to": TripState.DRIVER_ARRIVING, "note": ""},
        make=_trip,
    ),
    Entry(
        "TripStateMachine.match(driver_id)",
        call=lambda t, v: t.match(v),
        make=lambda: TripStateMachine("t1", clock=ManualClock(0.0)),
    ),
    Entry("TripStateMachine.cancel(by)", call=lambda t, v: t.cancel(v), make=_trip),
    Entry("TripStateMachine.unmatch(reason)", call=lambda t, v: t.unmatch(v), make=_trip),
    Entry("TripStateMachine.time_in(state)", call=lambda t, v: t.time_in(v), make=_trip),
]
