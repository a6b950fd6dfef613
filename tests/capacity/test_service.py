"""Commands, refusals that leave the log unchanged, late deliveries, staleness and FHIR."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.capacity import (
    BedCapacity,
    BedEvent,
    CapacityError,
    ConcurrencyError,
    EventLog,
    SQLiteEventLog,
    Topology,
    counter_ids,
    fhir,
    recount,
)
from designpatterns_ref.clock import ManualClock
from tests.capacity.test_log import empty_log

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
    svc.admit("elm/a/1")  # refused by the log, catches up ("other"), checks again: succeeds
    assert svc.projection.status["elm/a/2"] == "cleaning"
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


def test_the_default_clock_is_wall_clock_unix_seconds() -> None:
    """The homes record their events in Unix seconds, so commands are stamped in Unix seconds
    too (it was time.monotonic, seconds since boot: another time base in one order)."""
    svc = BedCapacity(Topology(_TIE_SPEC))
    assert svc.clock is time.time
    before = time.time()
    event = svc.admit("elm/a/1")
    assert before <= event.at <= time.time()


@settings(max_examples=30)
@given(
    earlier=st.floats(1.0, 10.0**7),
    kind=st.sampled_from(["released", "reserved", "discharged", "blocked"]),
)
@example(earlier=3600.0, kind="released")  # an awkward case: the occupied bed showed free
def test_a_late_event_recorded_before_a_command_loses_to_it_with_the_defaults(
    earlier: float, kind: str
) -> None:
    """Default clock: an event a home recorded (Unix time) before an admission arrives late
    and must not undo it; one recorded after it wins."""
    svc = BedCapacity(Topology(_TIE_SPEC))
    svc.reserve("elm/a/1")
    svc.admit("elm/a/1")
    svc.ingest("elm", [BedEvent("home-7", kind, "elm/a/1", at=time.time() - earlier)])
    assert svc.projection.status["elm/a/1"] == "occupied"
    svc.ingest("elm", [BedEvent("home-8", "discharged", "elm/a/1", at=time.time() + earlier)])
    assert svc.projection.status["elm/a/1"] == "cleaning"
    assert svc.rebuild().state() == svc.projection.state()


# -- a clock that returns no time is refused before anything is written ----------------------

_BAD_TIMES = [None, "10", True, False, 1j, float("nan"), float("inf"), -float("inf"), 10**400,
              [1.0], Decimal("1")]  # fmt: skip


def _full_state(svc: BedCapacity) -> object:
    return (_state(svc), dict(svc.last_seen))


@pytest.mark.parametrize("bad", _BAD_TIMES, ids=repr)
@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.ingest("elm", [BedEvent("late-1", "admitted", "elm/a/2", at=1.0)]),
        lambda s: s.ingest("elm", []),
        lambda s: s.heartbeat("elm"),
        lambda s: s.admit("elm/a/2"),
        lambda s: s.transfer("elm/a/1", "b"),
        lambda s: s.stale_homes(),
        lambda s: s.is_stale("elm"),
        lambda s: s.snapshot(),
    ],
    ids=["ingest", "ingest-empty", "heartbeat", "admit", "transfer", "stale_homes", "is_stale",
         "snapshot"],
)  # fmt: skip
def test_a_clock_returning_no_time_is_refused_and_changes_nothing(
    bad: object, call: Callable[[BedCapacity], object]
) -> None:
    """Regression: ingest stored and projected the batch, then failed reading the clock with a
    bare TypeError; heartbeat stored True or NaN as the time a home was seen."""
    now: list[object] = [100.0]
    svc = BedCapacity(Topology(SPEC), clock=lambda: now[0], ids=counter_ids())  # type: ignore[arg-type, return-value]
    svc.admit("elm/a/1")
    svc.heartbeat("oak")
    before = _full_state(svc)
    now[0] = bad
    with pytest.raises(CapacityError, match=r"clock\(\) returned"):
        call(svc)
    assert _full_state(svc) == before
    now[0] = 200.0  # a good clock again: the service works on
    svc.ingest("elm", [BedEvent("late-1", "admitted", "elm/a/2", at=1.0)])
    assert svc.projection.status["elm/a/2"] == "occupied" and svc.last_seen["elm"] == 200.0


# -- two services sharing one log: each command is checked against the log's latest state ----


def test_two_services_on_one_log_do_not_both_admit_one_bed(shared_logs: list[EventLog]) -> None:
    """Regression: the expected version was read just before the append, so b admitted a bed
    a had already filled."""
    clock = ManualClock(10.0)
    topo = Topology({"north": {"elm": {"a": 1}}})
    a = BedCapacity(topo, shared_logs[0], clock=clock, ids=counter_ids("a"))
    b = BedCapacity(topo, shared_logs[1], clock=clock, ids=counter_ids("b"))
    a.admit("elm/a/1")
    clock.advance(1.0)
    with pytest.raises(CapacityError, match="bed 'elm/a/1' is occupied: admitted needs it free"):
        b.admit("elm/a/1")
    assert [(e.event_id, e.kind) for e in a.log.read()] == [("a-1", "admitted")]
    assert b.projection.status["elm/a/1"] == "occupied"  # b caught up from the log
    b.discharge("elm/a/1")  # and b's own commands follow a's event
    assert [(e.event_id[0], e.kind) for e in a.log.read()] == [
        ("a", "admitted"),
        ("b", "discharged"),
    ]


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    ops=st.lists(
        st.tuples(
            st.integers(0, 1),
            st.sampled_from([*_RULES, "transfer"]),
            st.sampled_from(_BEDS),
            st.sampled_from(["a", "b"]),
            st.sampled_from([0.0, 0.0, 1.0]),
            st.booleans(),  # a home's late event written straight to the log first
        ),
        max_size=30,
    )
)
@example(ops=[(0, "admit", "elm/a/1", "a", 0.0, False), (1, "admit", "elm/a/1", "a", 1.0, False)])
@example(
    ops=[(0, "admit", "elm/a/1", "a", 0.0, False), (0, "discharge", "elm/a/1", "a", 0.0, False),
         (0, "release", "elm/a/1", "a", 0.0, False), (1, "admit", "elm/a/1", "a", 0.0, False)]
)  # fmt: skip
def test_two_services_on_one_log_accept_exactly_what_one_replay_accepts(
    shared_logs: list[EventLog], ops: list[tuple[int, str, str, str, float, bool]]
) -> None:
    """Commands go to either of two services sharing a log; each is accepted exactly when a
    plain replay of every accepted command, in order, allows it; then both services, the log
    and the brute-force recount agree."""
    empty_log(shared_logs[0])
    clock = _StepClock(50.0)
    topo = Topology(_TIE_SPEC)
    svcs = [BedCapacity(topo, log, clock=clock, ids=counter_ids(f"s{i}"))
            for i, log in enumerate(shared_logs)]  # fmt: skip
    plain = dict.fromkeys(_BEDS, "free")
    for n, (who, command, bed, to_unit, tick, late) in enumerate(ops):
        clock.now += tick
        if late:  # a home's device appends an already-decided event behind both services
            kind = {"free": "blocked", "cleaning": "released", "reserved": "released",
                    "occupied": "discharged"}[plain[bed]]  # fmt: skip
            at = max(max(s.projection.keys[bed][0] for s in svcs), clock.now) + 1.0
            shared_logs[0].append("elm", [BedEvent(f"late-{n}", kind, bed, at=at)])
            clock.now = at
            plain[bed] = {"blocked": "cleaning", "released": "free", "discharged": "cleaning"}[kind]
        if command == "transfer":
            free = [b for b in _BEDS if b.startswith(f"elm/{to_unit}/") and plain[b] == "free"]
            allowed = plain[bed] == "occupied" and bool(free)
        else:
            allowed = plain[bed] in _RULES[command][0]
        svc = svcs[who]
        try:
            event = (
                svc.transfer(bed, to_unit) if command == "transfer" else getattr(svc, command)(bed)
            )
        except ConcurrencyError:
            raise
        except CapacityError:
            assert not allowed, f"{command} {bed} on service {who} refused; the replay allows it"
            continue
        assert allowed, f"{command} {bed} on service {who} accepted; the replay refuses it"
        if command == "transfer":
            assert event.to_bed == free[0]
            plain[bed], plain[free[0]] = "free", "occupied"
        else:
            plain[bed] = _RULES[command][1]
        assert svc.projection.status == plain
    truth = recount(topo, shared_logs[0].read())
    for svc in svcs:
        assert svc.rebuild().state()[1] == truth
    assert svcs[0].rebuild().status == plain


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
