"""capacity: the topology, events, projection, log, service, owned replicas, FHIR, plots, API.

``PostgresEventLog`` runs against a throwaway PostgreSQL server started on first use (or the
database of ``DPREF_PG_URL``), one log emptied before each call, compared by its rows.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
from typing import Any

from designpatterns_ref.capacity import (
    BedCapacity,
    BedEvent,
    CapacityError,
    CapacityProjection,
    PostgresEventLog,
    Replica,
    SQLiteEventLog,
    Topology,
    compare,
    counter_ids,
    fhir,
    recount,
)
from designpatterns_ref.capacity.plot import plot_capacity, plot_occupancy
from designpatterns_ref.clock import ManualClock
from tests.fuzz.helpers import per_argument, scratch_dir, text_of
from tests.fuzz.spec import Entry

ERRORS = (CapacityError,)

NOT_FUZZED: dict[str, str] = {
    "AppendResult": "the record EventLog.append returns; no call takes one",
    "FieldValue": "the record Replica.write returns and keeps, its values checked by write",
    "Conflict": "the record Replica.merge returns (and keeps in conflicts); no call takes one",
}

SPEC = {"north": {"elm": {"a": 2, "b": 1}}}
TOPO = Topology(SPEC)
EV = BedEvent("e1", "admitted", "elm/a/1", at=1.0)


def _svc() -> BedCapacity:
    svc = BedCapacity(TOPO, clock=ManualClock(10.0), ids=counter_ids())
    svc.admit("elm/a/1")
    return svc


class _SetClock:
    """A clock the entry sets to the hostile value just before the call."""

    def __init__(self) -> None:
        self.now: Any = 10.0

    def __call__(self) -> Any:
        return self.now


def _svc_set_clock() -> BedCapacity:
    svc = BedCapacity(TOPO, clock=_SetClock(), ids=counter_ids())
    svc.admit("elm/a/1")
    svc.heartbeat("elm")
    return svc


def _with_clock(svc: BedCapacity, value: Any, call: str) -> object:
    svc.clock.now = value  # type: ignore[attr-defined]
    if call == "ingest":
        return svc.ingest("elm", [BedEvent("late", "blocked", "elm/a/2", at=1.0)])
    if call == "transfer":
        return svc.transfer("elm/a/1", "b")
    if call in ("heartbeat", "is_stale"):
        return getattr(svc, call)("elm")
    if call == "admit":
        return svc.admit("elm/a/2")
    return getattr(svc, call)()


def _svc_state(svc: BedCapacity) -> object:
    return (list(svc.log.read()), svc.projection.state(), svc.version, dict(svc.last_seen))


def _projection() -> CapacityProjection:
    p = CapacityProjection(TOPO)
    p.apply(EV)
    return p


def _log() -> SQLiteEventLog:
    log = SQLiteEventLog()
    log.append("elm", [EV])
    return log


def _replica() -> Replica:
    r = Replica("desk", "clinical")
    r.write("r1", "diagnosis", "flu", at=1.0)
    return r


def _replica_state(r: Replica) -> object:
    return ({k: dict(v) for k, v in r.records.items()}, list(r.conflicts))


def _hashable(v: Any) -> bool:
    try:
        hash(v)
    except TypeError:
        return False
    return True


def _sqlite(path: Any) -> object:
    if isinstance(path, str) and path and path.isprintable() and len(path) <= 200:
        path = os.path.join(scratch_dir(), path.replace("/", "_").replace("\x00", "_"))
    return SQLiteEventLog(path)


@functools.cache
def _pg_url() -> str:
    """A database on a throwaway PostgreSQL server for the whole run, stopped at exit."""
    if os.environ.get("DPREF_PG_URL"):
        return os.environ["DPREF_PG_URL"]
    from designpatterns_ref.testing import postgres_server

    stack = contextlib.ExitStack()
    server = stack.enter_context(postgres_server())
    atexit.register(stack.close)
    return server.create_database("fuzz_capacity")


@functools.cache
def _pg_shared() -> PostgresEventLog:
    return PostgresEventLog(_pg_url())  # one connection for the run, not one per call


def _pg_log() -> PostgresEventLog:
    log = _pg_shared()
    with log._lock:
        log._db.rollback()  # a failed call before must not fail the next entry too
        log._db.execute("TRUNCATE bed_events, stream_seen RESTART IDENTITY")
        log._db.commit()
    log.append("elm", [EV])
    return log


def _pg(url: Any) -> object:
    made = PostgresEventLog(url)
    made.close()
    return made


@functools.cache
def _client() -> Any:
    from fastapi.testclient import TestClient

    from designpatterns_ref.capacity.api import create_app

    return TestClient(create_app(_svc()), raise_server_exceptions=True)


class _ServerError(Exception):
    """Not one of ERRORS: a 5xx answer fails the entry."""


def _post(path: str, **params: Any) -> None:
    r = _client().post(path, params=params)
    if r.status_code >= 500:
        raise _ServerError(f"{path} answered {r.status_code}")
    r.json()


def _path_part(v: Any) -> str:
    from urllib.parse import quote

    text = text_of(v)[:500].encode("utf-8", "backslashreplace").decode("ascii", "replace")
    return quote(text, safe="") or "x"


ENTRIES = [
    Entry("Topology(spec)", call=lambda _, v: Topology(v)),
    Entry("Topology({m: v})", call=lambda _, v: Topology({"north": v})),
    Entry("Topology({m: {h: v}})", call=lambda _, v: Topology({"north": {"elm": v}})),
    Entry("Topology(capacity=)", call=lambda _, v: Topology({"north": {"elm": {"a": v}}})),
    Entry(
        "Topology(unit key)",
        call=lambda _, v: Topology({"n": {"elm": {v: 1}}} if _hashable(v) else v),
    ),
    Entry(
        "Topology(home key)",
        call=lambda _, v: Topology({"n": {v: {"a": 1}}} if _hashable(v) else v),
    ),
    Entry("Topology.where", call=lambda _, v: TOPO.where(v)),
    Entry("Topology.unit_beds(unit=)", call=lambda _, v: TOPO.unit_beds("elm", v)),
    Entry("Topology.check_event", call=lambda _, v: TOPO.check_event(v)),
    *per_argument(
        "BedEvent",
        lambda _, **kw: BedEvent(**kw),
        {"event_id": "e1", "kind": "admitted", "bed": "elm/a/1", "at": 1.0},
    ),
    *per_argument(
        "BedEvent(transfer)",
        lambda _, **kw: BedEvent(kind="transferred", **kw),
        {"event_id": "e1", "bed": "elm/a/1", "to_bed": "elm/b/1"},
    ),
    Entry("CapacityProjection(topology)", call=lambda _, v: CapacityProjection(v)),
    Entry(
        "CapacityProjection.apply",
        call=lambda p, v: p.apply(v),
        make=_projection,
        snapshot=lambda p: (p.state(), dict(p.seen)),
    ),
    Entry(
        "CapacityProjection.apply_all",
        call=lambda p, v: p.apply_all(v),
        make=_projection,
        snapshot=lambda p: (p.state(), dict(p.seen)),
    ),
    Entry(
        "CapacityProjection.apply_all([ev, v])",
        call=lambda p, v: p.apply_all([BedEvent("e9", "blocked", "elm/a/2"), v]),
        make=_projection,
        snapshot=lambda p: (p.state(), dict(p.seen)),
    ),
    Entry(
        "CapacityProjection.rebuild(events=)", call=lambda _, v: CapacityProjection.rebuild(TOPO, v)
    ),
    Entry(
        "CapacityProjection.counts(level=)", call=lambda p, v: p.counts(v, "elm"), make=_projection
    ),
    Entry(
        "CapacityProjection.counts(name=)", call=lambda p, v: p.counts("home", v), make=_projection
    ),
    Entry("CapacityProjection.table", call=lambda p, v: p.table(v), make=_projection),
    Entry(
        "CapacityProjection.free_beds(unit=)",
        call=lambda p, v: p.free_beds("elm", v),
        make=_projection,
    ),
    Entry("recount(topology=)", call=lambda _, v: recount(v, [EV])),
    Entry("recount(events=)", call=lambda _, v: recount(TOPO, v)),
    Entry("SQLiteEventLog(path)", call=lambda _, v: _sqlite(v)),
    *per_argument(
        "SQLiteEventLog.append",
        lambda log, **kw: log.append(**kw),
        {"stream": "elm", "events": [BedEvent("e2", "blocked", "elm/a/2")], "expected_version": 1},
        make=_log,
        snapshot=lambda log: list(log.read()),
    ),
    Entry(
        "SQLiteEventLog.append(events=[v])",
        call=lambda log, v: log.append("elm", [v]),
        make=_log,
        snapshot=lambda log: list(log.read()),
    ),
    Entry("SQLiteEventLog.version", call=lambda log, v: log.version(v), make=_log),
    *per_argument(
        "SQLiteEventLog.read",
        lambda log, **kw: list(log.read(**kw)),
        {"after": 0, "batch": 10},
        make=_log,
    ),
    *per_argument(
        "SQLiteEventLog.read_stream",
        lambda log, **kw: list(log.read_stream(**kw)),
        {"stream": "elm", "after_version": 0},
        make=_log,
    ),
    *per_argument(
        "SQLiteEventLog.mark_seen",
        lambda log, **kw: log.mark_seen(**kw),
        {"stream": "elm", "at": 5.0},
        make=_log,
        snapshot=lambda log: log.seen(),
    ),
    Entry("PostgresEventLog(url)", call=lambda _, v: _pg(v)),
    *per_argument(
        "PostgresEventLog.mark_seen",
        lambda log, **kw: log.mark_seen(**kw),
        {"stream": "elm", "at": 5.0},
        make=_pg_log,
        snapshot=lambda log: log.seen(),
    ),
    *per_argument(
        "PostgresEventLog.append",
        lambda log, **kw: log.append(**kw),
        {"stream": "elm", "events": [BedEvent("e2", "blocked", "elm/a/2")], "expected_version": 1},
        make=_pg_log,
        snapshot=lambda log: list(log.read()),
    ),
    Entry(
        "PostgresEventLog.append(events=[v])",
        call=lambda log, v: log.append("elm", [v]),
        make=_pg_log,
        snapshot=lambda log: list(log.read()),
    ),
    Entry(
        "PostgresEventLog.version",
        call=lambda log, v: log.version(v),
        make=_pg_log,
        snapshot=lambda log: list(log.read()),
    ),
    *per_argument(
        "PostgresEventLog.read",
        lambda log, **kw: list(log.read(**kw)),
        {"after": 0, "batch": 10},
        make=_pg_log,
        snapshot=lambda log: list(log.read()),
    ),
    *per_argument(
        "PostgresEventLog.read_stream",
        lambda log, **kw: list(log.read_stream(**kw)),
        {"stream": "elm", "after_version": 0},
        make=_pg_log,
        snapshot=lambda log: list(log.read()),
    ),
    Entry(
        "BedCapacity(log=PostgresEventLog).admit",
        call=lambda s, v: s.admit(v),
        make=lambda: BedCapacity(TOPO, _pg_log(), clock=ManualClock(10.0), ids=counter_ids()),
        snapshot=_svc_state,
    ),
    Entry("counter_ids(prefix=)", call=lambda _, v: counter_ids(v)),
    Entry(
        "counter_ids(prefix=) drawn by BedCapacity.admit",
        call=lambda _, v: BedCapacity(TOPO, clock=ManualClock(10.0), ids=counter_ids(v)).admit(
            "elm/a/1"
        ),
    ),
    *per_argument(
        "BedCapacity",
        lambda _, **kw: BedCapacity(**kw),
        {"topology": TOPO, "log": None, "clock": None, "stale_after": 60.0, "ids": None},
    ),
    *(
        Entry(
            f"BedCapacity.{c}",
            call=lambda s, v, c=c: getattr(s, c)(v),
            make=_svc,
            snapshot=_svc_state,
        )
        for c in (
            "admit",
            "discharge",
            "block",
            "reserve",
            "release",
            "heartbeat",
            "is_stale",
            "table",
        )
    ),
    *(
        Entry(
            f"BedCapacity(clock=lambda: v).{c}",
            call=lambda s, v, c=c: _with_clock(s, v, c),
            make=_svc_set_clock,
            snapshot=_svc_state,
        )
        for c in (
            "ingest",
            "heartbeat",
            "admit",
            "transfer",
            "stale_homes",
            "is_stale",
            "snapshot",
            "refresh",
        )
    ),
    *per_argument(
        "BedCapacity.transfer",
        lambda s, **kw: s.transfer(**kw),
        {"bed": "elm/a/1", "to_unit": "b"},
        make=_svc,
        snapshot=_svc_state,
    ),
    *per_argument(
        "BedCapacity.ingest",
        lambda s, **kw: s.ingest(**kw),
        {"home": "elm", "events": [BedEvent("x", "blocked", "elm/a/2")], "expected_version": 1},
        make=_svc,
        snapshot=_svc_state,
    ),
    Entry(
        "BedCapacity.ingest(events=[v])",
        call=lambda s, v: s.ingest("elm", [v]),
        make=_svc,
        snapshot=_svc_state,
    ),
    *per_argument(
        "Replica",
        lambda _, **kw: Replica(**kw),
        {"name": "desk", "system": "clinical", "owners": {"diagnosis": "clinical"}},
    ),
    Entry(
        "Replica(owners={v: owner})",
        call=lambda _, v: Replica("d", "clinical", {v: "clinical"} if _hashable(v) else v),
    ),
    *per_argument(
        "Replica.write",
        lambda r, **kw: r.write(**kw),
        {"record": "r1", "name": "care_level", "value": "high", "at": 2.0},
        make=_replica,
        snapshot=_replica_state,
    ),
    Entry("Replica.get", call=lambda r, v: r.get(v), make=_replica),
    Entry("Replica.owner", call=lambda r, v: r.owner(v), make=_replica),
    Entry("Replica.merge", call=lambda r, v: r.merge(v), make=_replica, snapshot=_replica_state),
    Entry("compare(a=)", call=lambda _, v: compare(v, {"x": 1})),
    Entry("compare(b=)", call=lambda _, v: compare({"x": 1}, v)),
    Entry("compare({x: v})", call=lambda _, v: compare({"x": 1}, {"x": v})),
    Entry("fhir.location_id", call=lambda _, v: fhir.location_id(v)),
    Entry("fhir.bed_location(projection=)", call=lambda _, v: fhir.bed_location(v, "elm/a/1")),
    Entry("fhir.bed_location(bed=)", call=lambda _, v: fhir.bed_location(_projection(), v)),
    Entry("fhir.bundle", call=lambda _, v: fhir.bundle(v)),
    Entry("plot_capacity(table=)", call=lambda _, v: plot_capacity(v)),
    Entry("plot_capacity({home: v})", call=lambda _, v: plot_capacity({"elm": v})),
    Entry(
        "plot_capacity({home: {free: v}})", call=lambda _, v: plot_capacity({"elm": {"free": v}})
    ),
    Entry("plot_capacity(stale=)", call=lambda _, v: plot_capacity({"elm": {"free": 1}}, stale=v)),
    Entry("plot_occupancy(samples=)", call=lambda _, v: plot_occupancy(v)),
    Entry("plot_occupancy([v])", call=lambda _, v: plot_occupancy([v])),
    Entry("plot_occupancy([(0, v, 1)])", call=lambda _, v: plot_occupancy([(0, v, 1)])),
    Entry("create_app(service=)", call=lambda _, v: _create_app(v, 0.1)),
    Entry("create_app(poll=)", call=lambda _, v: _create_app(_svc(), v)),
    Entry(
        "POST /beds/{home}/a/1/admit", call=lambda _, v: _post(f"/beds/{_path_part(v)}/a/1/admit")
    ),
    Entry(
        "POST /beds/elm/a/{n}/{command}",
        call=lambda _, v: _post(f"/beds/elm/a/{_path_part(v)}/{_path_part(v)}"),
    ),
    Entry(
        "POST /beds/elm/a/1/transfer?to_unit=",
        call=lambda _, v: _post("/beds/elm/a/1/transfer", to_unit=_path_part(v)),
    ),
]


def _create_app(service: Any, poll: Any) -> object:
    from designpatterns_ref.capacity.api import create_app

    return create_app(service, poll=poll)
