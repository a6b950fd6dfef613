"""Hostile values at every public entry point: the family's error, and nothing changed."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from designpatterns_ref.capacity import (
    BedCapacity,
    BedEvent,
    CapacityError,
    CapacityProjection,
    Replica,
    SQLiteEventLog,
    Topology,
    counter_ids,
)
from designpatterns_ref.clock import ManualClock
from tests.fuzz.spec import Opaque

HOSTILE: tuple[Any, ...] = (
    None, True, False, math.nan, math.inf, -math.inf, 10**400, -1, -0.5, "", "x" * 10_000,
    "\ud800", "a\x00b", b"bytes", [], {}, Opaque(), 1j,
)  # fmt: skip
TOPO = Topology({"north": {"elm": {"a": 2, "b": 1}}})


def _svc() -> BedCapacity:
    svc = BedCapacity(TOPO, clock=ManualClock(5.0), ids=counter_ids())
    svc.admit("elm/a/1")
    return svc


def _state(svc: BedCapacity) -> object:
    return (list(svc.log.read()), svc.projection.state(), svc.version, dict(svc.last_seen))


CALLS: dict[str, Callable[[BedCapacity, Any], object]] = {
    "admit": lambda s, v: s.admit(v),
    "discharge": lambda s, v: s.discharge(v),
    "transfer(bed)": lambda s, v: s.transfer(v, "b"),
    "transfer(to_unit)": lambda s, v: s.transfer("elm/a/1", v),
    "ingest(home)": lambda s, v: s.ingest(v, []),
    "ingest(events)": lambda s, v: s.ingest("elm", v),
    "ingest([event])": lambda s, v: s.ingest("elm", [v]),
    "ingest(expected_version)": lambda s, v: s.ingest(
        "elm", [BedEvent("z", "blocked", "elm/a/2")], expected_version=v
    ),
    "log.append(expected_version)": lambda s, v: s.log.append(
        "elm", [BedEvent("z", "blocked", "elm/a/2")], expected_version=v
    ),
    "log.read(after)": lambda s, v: list(s.log.read(v)),
    "heartbeat": lambda s, v: s.heartbeat(v),
    "table": lambda s, v: s.table(v),
}


#: Hostile for most entry points, valid here: an empty batch is a heartbeat, None is "any".
VALID = {("ingest(events)", "[]"), ("ingest(expected_version)", "None"),
         ("log.append(expected_version)", "None")}  # fmt: skip
CASES = [(c, v) for c in CALLS for v in HOSTILE if (c, repr(v)) not in VALID]


@pytest.mark.parametrize(("call", "value"), CASES, ids=[f"{c}-{v!r:.30}" for c, v in CASES])
def test_service_refuses_and_keeps_its_state(call: str, value: Any) -> None:
    svc = _svc()
    before = _state(svc)
    with pytest.raises(CapacityError):
        CALLS[call](svc, value)
    assert _state(svc) == before


@pytest.mark.parametrize("value", HOSTILE, ids=repr)
@pytest.mark.parametrize("field", ["event_id", "kind", "bed", "at"])
def test_bed_event_refuses(field: str, value: Any) -> None:
    if field == "at" and value == -0.5:
        value = -1.5
    with pytest.raises(CapacityError, match=field):
        BedEvent(**{"event_id": "e", "kind": "admitted", "bed": "elm/a/1", "at": 1.0, field: value})


@pytest.mark.parametrize("value", [v for v in HOSTILE if v != ""], ids=repr)
def test_topology_refuses_bad_capacities(value: Any) -> None:
    with pytest.raises(CapacityError, match="capacity"):
        Topology({"north": {"elm": {"a": value}}})


@pytest.mark.parametrize("value", HOSTILE, ids=repr)
def test_projection_and_replica_refuse_and_keep_their_state(value: Any) -> None:
    p = CapacityProjection(TOPO)
    p.apply(BedEvent("e1", "admitted", "elm/a/1"))
    before = p.state()
    with pytest.raises(CapacityError):
        p.apply(value)
    with pytest.raises(CapacityError):
        p.apply_all([BedEvent("e2", "blocked", "elm/a/2"), value])
    assert p.state() == before
    r = Replica("desk", "clinical")
    r.write("r1", "diagnosis", "flu", at=1)
    snapshot = {k: dict(v) for k, v in r.records.items()}
    for call in (
        lambda: r.write("r1", "diagnosis", value, at=2) if value is not None else r.merge(value),
        lambda: r.write("r1", value, "x", at=2),
        lambda: r.write(value, "diagnosis", "x", at=2),
        lambda: r.write("r1", "diagnosis", "x", at=value),
        lambda: r.merge(value),
    ):
        with pytest.raises(CapacityError):
            call()
    assert {k: dict(v) for k, v in r.records.items()} == snapshot


def test_sqlite_log_refuses_bad_paths() -> None:
    for value in (None, "", "\ud800", 10**400, "x" * 1000):
        with pytest.raises(CapacityError, match="path"):
            SQLiteEventLog(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [*HOSTILE, "x" * 181, "tab\there"], ids=repr)
def test_counter_ids_refuses_a_prefix_no_event_id_can_start_with(value: Any) -> None:
    """The prefix is checked when the generator is made, not when a command draws an id."""
    with pytest.raises(CapacityError, match="prefix="):
        counter_ids(value)


def test_counter_ids_takes_the_longest_prefix_that_leaves_room_for_the_count() -> None:
    ids = counter_ids("p" * 180)
    svc = BedCapacity(TOPO, clock=ManualClock(5.0), ids=ids)
    assert svc.admit("elm/a/1").event_id == "p" * 180 + "-1"
