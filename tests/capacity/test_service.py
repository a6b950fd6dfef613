"""Commands, refusals that leave the log unchanged, late deliveries, staleness and FHIR."""

from __future__ import annotations

import pytest

from designpatterns_ref.capacity import (
    BedCapacity,
    BedEvent,
    CapacityError,
    ConcurrencyError,
    SQLiteEventLog,
    Topology,
    counter_ids,
    fhir,
)
from designpatterns_ref.clock import ManualClock

SPEC = {"north": {"elm": {"a": 2, "b": 1}, "oak": {"a": 1}}}


@pytest.fixture
def svc() -> BedCapacity:
    return BedCapacity(Topology(SPEC), clock=ManualClock(100.0), stale_after=60, ids=counter_ids())


def _state(svc: BedCapacity) -> object:
    return (len(svc.log), list(svc.log.read()), svc.projection.state(), svc.version)


def test_a_bed_goes_through_its_life(svc: BedCapacity) -> None:
    svc.reserve("elm/a/1")
    svc.admit("elm/a/1")
    moved = svc.transfer("elm/a/1", "b")
    assert moved.to_bed == "elm/b/1" and moved.kind == "transferred"
    svc.discharge("elm/b/1")
    svc.release("elm/b/1")
    svc.block("elm/a/2")
    assert svc.table("unit") == {
        "elm/a": {"free": 1, "occupied": 0, "cleaning": 1, "reserved": 0},
        "elm/b": {"free": 1, "occupied": 0, "cleaning": 0, "reserved": 0},
        "oak/a": {"free": 1, "occupied": 0, "cleaning": 0, "reserved": 0},
    }
    assert svc.log.version("elm") == 6 and svc.version == 6
    assert svc.rebuild().state() == svc.projection.state()


@pytest.mark.parametrize(
    ("call", "reason"),
    [
        (lambda s: s.admit("elm/z/9"), "bed='elm/z/9' is not a known bed"),
        (lambda s: s.transfer("elm/a/1", "b"), "unit 'elm/b' is full"),
        (lambda s: s.transfer("elm/a/1", "nowhere"), "unit 'elm'/'nowhere' does not exist"),
        (lambda s: s.admit("elm/a/1"), "bed 'elm/a/1' is occupied: admitted needs it free"),
        (lambda s: s.discharge("oak/a/1"), "is free: discharged needs it occupied"),
        (lambda s: s.release("oak/a/1"), "needs it cleaning or reserved"),
        (lambda s: s.ingest("elm", [BedEvent("x", "admitted", "oak/a/1")]), "not 'elm'"),
        (lambda s: s.ingest("elm", [BedEvent("x", "admitted", "elm/q/1")]), "not a known bed"),
        (lambda s: s.ingest("elm", [BedEvent("x", "transferred", "elm/a/1", to_bed="oak/a/1")]),
         "same home"),
        (lambda s: s.ingest("nowhere", []), "home='nowhere' is not a known home"),
    ],
)  # fmt: skip
def test_bad_commands_are_refused_with_the_reason_and_change_nothing(
    svc: BedCapacity, call: object, reason: str
) -> None:
    svc.admit("elm/a/1")
    svc.admit("elm/b/1")
    before = _state(svc)
    with pytest.raises(CapacityError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        call(svc)  # type: ignore[operator]
    assert _state(svc) == before


def test_negative_capacity_is_refused() -> None:
    with pytest.raises(CapacityError, match=r"capacity of elm/a=-1 must be 0 to 10,000"):
        Topology({"north": {"elm": {"a": -1}}})


def test_a_competing_writer_makes_a_command_fail_without_writing(svc: BedCapacity) -> None:
    svc.log.append("elm", [BedEvent("other", "blocked", "elm/a/2", at=1)])  # behind svc's back
    svc.admit("elm/a/1")  # reads the current version, so it succeeds
    assert svc.log.version("elm") == 2
    with pytest.raises(ConcurrencyError):
        svc.ingest("elm", [BedEvent("late", "blocked", "elm/a/2", at=2)], expected_version=1)
    assert svc.log.version("elm") == 2


def test_offline_home_delivers_late_twice_and_out_of_order(svc: BedCapacity) -> None:
    batch = [
        BedEvent("h3", "released", "elm/a/1", at=30),
        BedEvent("h1", "admitted", "elm/a/1", at=10),
        BedEvent("h2", "discharged", "elm/a/1", at=20),
    ]
    assert svc.ingest("elm", batch[:1]).appended == 1
    assert svc.projection.status["elm/a/1"] == "free"
    result = svc.ingest("elm", batch)
    assert (result.appended, result.duplicates) == (2, 1)
    assert svc.projection.status["elm/a/1"] == "free"  # h3 is the latest whatever the order
    assert svc.rebuild().state() == svc.projection.state()


def test_staleness_per_home(svc: BedCapacity) -> None:
    clock = svc.clock
    assert svc.stale_homes() == ["elm", "oak"]  # never heard from
    svc.admit("elm/a/1")
    svc.heartbeat("oak")
    assert svc.stale_homes() == []
    clock.advance(45)  # type: ignore[attr-defined]
    svc.ingest("elm", [])
    clock.advance(30)  # type: ignore[attr-defined]
    assert svc.stale_homes() == ["oak"] and svc.is_stale("oak") and not svc.is_stale("elm")
    snap = svc.snapshot()
    assert [(h["home"], h["stale"]) for h in snap["homes"]] == [("elm", False), ("oak", True)]  # type: ignore[index, union-attr]


def test_fhir_locations_carry_the_operational_status(svc: BedCapacity) -> None:
    svc.admit("elm/a/1")
    svc.block("elm/a/2")
    svc.reserve("elm/b/1")
    out = fhir.bundle(svc.projection)
    assert out["resourceType"] == "Bundle" and out["total"] == 4
    codes = {
        e["resource"]["name"]: e["resource"]["operationalStatus"]["code"] for e in out["entry"]
    }
    assert codes == {"elm/a/1": "O", "elm/a/2": "H", "elm/b/1": "C", "oak/a/1": "U"}
    loc = out["entry"][0]["resource"]
    assert loc["resourceType"] == "Location" and loc["id"] == "elm.a.1"
    assert loc["operationalStatus"]["system"] == fhir.BED_STATUS_SYSTEM
    assert loc["physicalType"]["coding"][0]["code"] == "bd"
    assert loc["partOf"] == {"reference": "Location/elm.a"}


def test_a_service_reopens_its_log(tmp_path: object) -> None:
    path = f"{tmp_path}/beds.db"
    first = BedCapacity(Topology(SPEC), SQLiteEventLog(path))
    first.admit("oak/a/1")
    second = BedCapacity(Topology(SPEC), SQLiteEventLog(path))
    assert second.projection.status["oak/a/1"] == "occupied"
