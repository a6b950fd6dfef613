"""Commands, refusals that leave the log unchanged, late deliveries, staleness and FHIR."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.capacity import (
    BedCapacity,
    BedEvent,
    CapacityError,
    ConcurrencyError,
    SQLiteEventLog,
    Topology,
    counter_ids,
    fhir,
    recount,
)
from designpatterns_ref.clock import ManualClock, system_clock

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


# -- every accepted command is applied, whatever the clock and the ids -----------------------

_TIE_SPEC = {"north": {"elm": {"a": 2, "b": 1}}}
_BEDS = ("elm/a/1", "elm/a/2", "elm/b/1")
#: The plain rules, written out again: a command's allowed starting statuses and its effects.
_RULES = {
    "admit": (("free", "reserved"), "occupied"),
    "discharge": (("occupied",), "cleaning"),
    "block": (("free",), "cleaning"),
    "reserve": (("free",), "reserved"),
    "release": (("cleaning", "reserved"), "free"),
}
_ops = st.lists(
    st.tuples(
        st.sampled_from([*_RULES, "transfer"]),
        st.sampled_from(_BEDS),
        st.sampled_from(["a", "b"]),
        st.sampled_from([0.0, 0.0, 0.0, 1.0, -1.0]),  # mostly no tick; sometimes back
    ),
    max_size=60,
)


class _StepClock:
    """A clock moved by the test, backwards too (a wall clock stepped back by NTP)."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def _replay(
    ops: list[tuple[str, str, str, float]], start: float, ids: str
) -> tuple[BedCapacity, dict[str, str]]:
    """Issue ``ops`` through the service and replay each accepted one, in issue order, on a dict."""
    clock = _StepClock(start)
    make_id = counter_ids() if ids == "counter" else None
    svc = BedCapacity(Topology(_TIE_SPEC), clock=clock, ids=make_id)
    plain = dict.fromkeys(_BEDS, "free")
    for command, bed, to_unit, tick in ops:
        clock.now = max(clock.now + tick, 0.0)
        if command == "transfer":
            free = [b for b in _BEDS if b.startswith(f"elm/{to_unit}/") and plain[b] == "free"]
            allowed = plain[bed] == "occupied" and bool(free)
        else:
            allowed = plain[bed] in _RULES[command][0]
        try:
            if command == "transfer":
                event = svc.transfer(bed, to_unit)
            else:
                event = getattr(svc, command)(bed)
        except CapacityError:
            assert not allowed, f"{command} {bed} refused though the replay allows it"
            continue
        assert allowed, f"{command} {bed} accepted though the replay refuses it"
        if command == "transfer":
            assert event.to_bed == free[0]
            plain[bed], plain[free[0]] = "free", "occupied"
        else:
            plain[bed] = _RULES[command][1]
        assert svc.projection.status == plain, f"{event} was accepted but not applied"
    return svc, plain


_TWELVE = [(c, "elm/a/1", "a", 0.0) for c in ("admit", "discharge", "release") * 4]


@settings(max_examples=60)
@given(_ops, st.sampled_from([0.0, 100.0, 1.7e9]), st.sampled_from(["counter", "uuid"]))
@example(_TWELVE, 0.0, "counter")  # ev-10 < ev-9 as text: the 10th command used to be lost
@example([("admit", "elm/a/1", "a", 0.0), ("discharge", "elm/a/1", "a", 0.0)] * 3, 0.0, "uuid")
@example(
    [("admit", "elm/a/1", "a", 5.0), ("transfer", "elm/a/1", "b", -1.0),
     ("discharge", "elm/b/1", "a", -1.0), ("release", "elm/b/1", "a", 0.0)],
    0.0, "counter",
)  # fmt: skip
def test_every_accepted_command_is_applied_at_one_clock_time(
    ops: list[tuple[str, str, str, float]], start: float, ids: str
) -> None:
    svc, plain = _replay(ops, start, ids)
    assert svc.projection.status == plain
    assert svc.rebuild().state() == svc.projection.state()
    assert recount(svc.topology, svc.log.read()) == svc.projection.state()[1]
    assert len(svc.log) == svc.log.version("elm")


def test_a_command_follows_a_merged_event_recorded_ahead_of_the_service_clock() -> None:
    svc = BedCapacity(Topology(_TIE_SPEC), clock=ManualClock(100.0), ids=counter_ids())
    svc.ingest("elm", [BedEvent("home-1", "admitted", "elm/a/1", at=500.0)])  # home clock ahead
    event = svc.discharge("elm/a/1")  # validated against the merged event, so it comes after it
    assert event.at > 500.0 and svc.projection.status["elm/a/1"] == "cleaning"
    # a merged event still takes its place by its own time: an older one loses
    svc.ingest("elm", [BedEvent("home-0", "reserved", "elm/a/1", at=400.0)])
    assert svc.projection.status["elm/a/1"] == "cleaning"
    assert svc.rebuild().state() == svc.projection.state()


def test_the_default_clock_is_the_library_default() -> None:
    assert BedCapacity(Topology(_TIE_SPEC)).clock is system_clock


_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_name = st.text(
    st.characters(codec="utf-8", exclude_characters="/"), min_size=1, max_size=80
).filter(str.isprintable)


@given(st.lists(_name, min_size=1, max_size=3), st.lists(_name, min_size=1, max_size=3))
@example(["st_mary", "a", "1"], ["st-mary", "a", "1"])
@example(["h" * 70, "a", "1"], ["h" * 70 + "x", "a", "1"])
@example(["st.mary", "a"], ["st", "mary.a"])
@example(["st-mary", "a"], ["st-mary..", "a"])
@settings(max_examples=200)
def test_location_ids_are_fhir_ids_and_one_to_one(a: list[str], b: list[str]) -> None:
    paths = ["/".join(a), "/".join(b)]
    first, second = (fhir.location_id(p) for p in paths)
    assert _FHIR_ID.fullmatch(first) and _FHIR_ID.fullmatch(second)
    assert (first == second) == (paths[0] == paths[1])


def test_a_plain_path_keeps_its_readable_id() -> None:
    assert fhir.location_id("st-mary/a/1") == "st-mary.a.1"
    long = fhir.location_id("h" * 70 + "/a/1")
    assert long.startswith("h" * 45 + "..") and len(long) == 63
