"""The event log and the bed service driven by random sequences against plain models.

The log's model is a list of ``(stream, event)`` in arrival order: an append with the wrong
expected version, or reusing an id for another event, changes nothing; a repeat is a
duplicate. The service's model is a dict of bed statuses (each command's allowed starting
statuses and effect written out again) plus the set of accepted events, whose latest event
per bed (by ``(at, event_id)``) is the bed's status. Both run on SQLite files (reopened
mid-sequence, as after a restart) and on a real PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from designpatterns_ref.capacity import (
    BedCapacity,
    BedEvent,
    CapacityError,
    EventLog,
    PostgresEventLog,
    SQLiteEventLog,
    Topology,
    counter_ids,
)
from designpatterns_ref.clock import ManualClock
from tests.capacity.test_log import empty_log

STREAMS = ("elm", "oak")
SPEC = {"north": {"elm": {"a": 2, "b": 1}}, "south": {"oak": {"a": 1}}}
BEDS = ("elm/a/1", "elm/a/2", "elm/b/1", "oak/a/1")
KINDS = ("admitted", "discharged", "blocked", "reserved", "released")
#: Each command's allowed starting statuses and the status it leaves, written out again.
COMMANDS = {
    "admit": (("free", "reserved"), "occupied"),
    "discharge": (("occupied",), "cleaning"),
    "block": (("free",), "cleaning"),
    "reserve": (("free",), "reserved"),
    "release": (("cleaning", "reserved"), "free"),
}
EFFECT = {"admitted": "occupied", "discharged": "cleaning", "blocked": "cleaning",
          "reserved": "reserved", "released": "free"}  # fmt: skip

# A small pool of ids, so repeats and reuses for another event are common.
event_ids = st.sampled_from([f"e{i}" for i in range(8)])


def events_of(stream: str) -> st.SearchStrategy[BedEvent]:
    beds = [b for b in BEDS if b.startswith(f"{stream}/")]
    return st.builds(
        BedEvent, event_ids, st.sampled_from(KINDS), st.sampled_from(beds),
        at=st.integers(0, 5).map(float),
    )  # fmt: skip


class Opener:
    """Opens (and reopens) the log of one sequence: a SQLite file or the test PostgreSQL."""

    def __init__(self, make: Callable[[int], EventLog]) -> None:
        self.make = make
        self.sequence = 0
        self.open: list[EventLog] = []
        self.examples = 25  # sequences to run (fewer on PostgreSQL: each costs connections)

    def __call__(self) -> EventLog:
        log = self.make(self.sequence)
        self.open.append(log)
        return log

    def fresh(self) -> EventLog:
        """An empty log for a new sequence (a new SQLite file; PostgreSQL emptied)."""
        self.close_all()
        self.sequence += 1
        log = self()
        empty_log(log)
        return log

    def close_all(self) -> None:
        for log in self.open:
            log.close()
        self.open.clear()


@pytest.fixture(params=["sqlite", "postgres"])
def opener(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[Opener]:
    if request.param == "sqlite":
        made = Opener(lambda n: SQLiteEventLog(f"{tmp_path}/seq-{n}.db"))
    else:
        url = request.getfixturevalue("pg_url")
        made = Opener(lambda n: PostgresEventLog(url))
        made.examples = 12
    yield made
    made.close_all()


class LogMachine(RuleBasedStateMachine):
    opener: Opener

    @initialize()
    def start(self) -> None:
        self.log = self.opener.fresh()
        self.model: list[tuple[str, BedEvent]] = []

    def sent_again(self, stream: str) -> st.SearchStrategy[BedEvent]:
        """A new event, or often one already stored (a redelivery, or to another stream)."""
        old = [e for _, e in self.model]
        return st.one_of(events_of(stream), *([st.sampled_from(old)] * 2 if old else []))

    def version(self, stream: str) -> int:
        return sum(1 for s, _ in self.model if s == stream)

    @rule(
        data=st.data(),
        stream=st.sampled_from(STREAMS),
        expected=st.sampled_from(["current", "stale", "ahead", None]),
    )
    def append(self, data: st.DataObject, stream: str, expected: str | None) -> None:
        batch = data.draw(st.lists(self.sent_again(stream), max_size=4))
        current = self.version(stream)
        exp = {"current": current, "stale": current - 1, "ahead": current + 1, None: None}[expected]
        if exp is not None and exp < 0:
            exp = None
        stored = {e.event_id: (s, e) for s, e in self.model}
        by_id: dict[str, BedEvent] = {}
        refused = exp is not None and exp != current
        for e in batch:
            if by_id.setdefault(e.event_id, e) != e:
                refused = True  # one id for two events in the batch
            held = stored.get(e.event_id)
            if held is not None and held != (stream, e):
                refused = True  # an id already used by another event (or stream)
        before = list(self.model)
        try:
            result = self.log.append(stream, batch, expected_version=exp)
        except CapacityError:
            assert refused, f"append of {batch} to {stream} (expected {exp}) was refused"
            assert self.model == before
            return
        assert not refused, f"append of {batch} to {stream} (expected {exp}) was accepted"
        new = [e for e in by_id.values() if e.event_id not in stored]
        self.model += [(stream, e) for e in new]
        assert (result.version, result.appended, result.duplicates) == (
            self.version(stream), len(new), len(batch) - len(new),
        )  # fmt: skip

    @rule(stream=st.sampled_from(STREAMS), after=st.integers(0, 6))
    def read_stream(self, stream: str, after: int) -> None:
        mine = [e for s, e in self.model if s == stream]
        want = [(v, e) for v, e in enumerate(mine, 1) if v > after]
        assert list(self.log.read_stream(stream, after)) == want

    @rule(batch=st.integers(1, 3))
    def read(self, batch: int) -> None:
        """The whole log in arrival order, whatever the page size. (``after`` is a position,
        which PostgreSQL's sequence does not keep dense, so it is not a count to model.)"""
        assert list(self.log.read(0, batch)) == [e for _, e in self.model]

    @rule()
    def reopen(self) -> None:
        """A restart: the log is closed and opened again; everything committed is there."""
        self.log.close()
        self.log = self.opener()

    @invariant()
    def counts(self) -> None:
        if hasattr(self, "log"):
            assert len(self.log) == len(self.model)
            for stream in STREAMS:
                assert self.log.version(stream) == self.version(stream)


def test_the_log_answers_as_a_list_of_appended_events(opener: Opener) -> None:
    LogMachine.opener = opener
    run = LogMachine.TestCase
    run.settings = settings(
        max_examples=opener.examples, stateful_step_count=20, deadline=None,
        suppress_health_check=list(HealthCheck),
    )  # fmt: skip
    run().runTest()


class ServiceMachine(RuleBasedStateMachine):
    """Commands, late batches from the homes, heartbeats and restarts against the models."""

    opener: Opener

    @initialize()
    def start(self) -> None:
        self.clock = ManualClock(100.0)
        self.topo = Topology(SPEC)
        self.log = self.opener.fresh()
        self.svc = BedCapacity(self.topo, self.log, clock=self.clock, ids=counter_ids("cmd"))
        self.accepted: dict[str, BedEvent] = {}
        self.status = dict.fromkeys(BEDS, "free")
        self.seen: dict[str, float] = {}
        self.restarts = 0

    def latest(self) -> dict[str, str]:
        """Each bed's status: the effect of the latest accepted event touching it."""
        out = dict.fromkeys(BEDS, "free")
        keys: dict[str, tuple[float, str]] = {}
        for e in self.accepted.values():
            for bed, status in e.effects():
                if bed not in keys or e.key > keys[bed]:
                    keys[bed], out[bed] = e.key, status
        return out

    @rule(
        command=st.sampled_from([*COMMANDS, "transfer"]),
        bed=st.sampled_from(BEDS),
        to_unit=st.sampled_from(["a", "b", "c"]),
        tick=st.sampled_from([0.0, 0.0, 1.0]),
    )
    def command(self, command: str, bed: str, to_unit: str, tick: float) -> None:
        self.clock.advance(tick)
        home = bed.split("/")[0]
        free: list[str] = []
        if command == "transfer":
            free = [b for b in BEDS if b.startswith(f"{home}/{to_unit}/")
                    and self.status[b] == "free"]  # fmt: skip
            allowed = self.status[bed] == "occupied" and bool(free)
        else:
            allowed = self.status[bed] in COMMANDS[command][0]
        before = (len(self.log), self.svc.version)
        try:
            if command == "transfer":
                event = self.svc.transfer(bed, to_unit)
            else:
                event = getattr(self.svc, command)(bed)
        except CapacityError:
            assert not allowed, f"{command} {bed} refused; the model allows it"
            assert (len(self.log), self.svc.version) == before
            return
        assert allowed, f"{command} {bed} accepted; the model refuses it"
        if command == "transfer":
            assert event.to_bed == free[0]
            self.status[bed], self.status[free[0]] = "free", "occupied"
        else:
            self.status[bed] = COMMANDS[command][1]
        self.accepted[event.event_id] = event
        self.seen[home] = self.clock()
        assert self.latest() == self.status

    @rule(data=st.data(), home=st.sampled_from(STREAMS))
    def ingest(self, data: st.DataObject, home: str) -> None:
        """A home's offline batch: late, repeated, out of order; not checked against today."""
        old = [e for e in self.accepted.values() if e.bed.startswith(f"{home}/")]
        again = [st.sampled_from(old)] * 2 if old else []
        batch = data.draw(st.lists(st.one_of(events_of(home), *again), max_size=4))
        by_id: dict[str, BedEvent] = {}
        refused = False
        for e in batch:
            if by_id.setdefault(e.event_id, e) != e:
                refused = True
            if self.accepted.get(e.event_id, e) != e:
                refused = True
        before = (list(self.log.read()), self.svc.projection.state())
        try:
            self.svc.ingest(home, batch)
        except CapacityError:
            assert refused, f"ingest of {batch} refused"
            assert (list(self.log.read()), self.svc.projection.state()) == before
            return
        assert not refused, f"ingest of {batch} accepted"
        self.accepted.update(by_id)
        self.status = self.latest()
        self.seen[home] = self.clock()

    @rule(home=st.sampled_from(STREAMS), tick=st.sampled_from([0.0, 30.0, 1000.0]))
    def heartbeat(self, home: str, tick: float) -> None:
        self.clock.advance(tick)
        self.svc.heartbeat(home)
        self.seen[home] = self.clock()

    @rule()
    def restart(self) -> None:
        """The service and its log are closed and opened again: the state is the log's."""
        self.log.close()
        self.log = self.opener()
        self.restarts += 1  # a new prefix: a counter restarted at 1 would reuse the ids
        ids = counter_ids(f"run{self.restarts}")
        self.svc = BedCapacity(self.topo, self.log, clock=self.clock, ids=ids)
        # who was seen is in the log too: it survives the restart

    @invariant()
    def agrees(self) -> None:
        if not hasattr(self, "svc"):
            return
        assert self.svc.projection.status == self.status
        assert {e.event_id: e for e in self.log.read()} == self.accepted
        assert self.svc.rebuild().state() == self.svc.projection.state()
        counts: dict[str, dict[str, int]] = {}
        for bed, status in self.status.items():
            row = counts.setdefault(bed.split("/")[0], dict.fromkeys(
                ("free", "occupied", "cleaning", "reserved"), 0))  # fmt: skip
            row[status] += 1
        assert self.svc.table("home") == counts
        now = self.clock()
        stale = [h for h in STREAMS if h not in self.seen or now - self.seen[h] > 900.0]
        assert self.svc.stale_homes() == stale


def test_the_service_answers_as_a_dict_of_bed_statuses(opener: Opener) -> None:
    ServiceMachine.opener = opener
    run = ServiceMachine.TestCase
    run.settings = settings(
        max_examples=opener.examples, stateful_step_count=20, deadline=None,
        suppress_health_check=list(HealthCheck),
    )  # fmt: skip
    run().runTest()
