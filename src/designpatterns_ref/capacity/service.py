"""The bed-capacity service: validated commands, late deliveries, staleness, live version.

Case study: Design a Real-Time Bed Logistics System (docs/case-studies/bed-logistics.md)

:class:`BedCapacity` joins the :class:`Topology`, an :class:`EventLog` and a
:class:`CapacityProjection`. Commands (:meth:`~BedCapacity.admit`, ``discharge``, ``block``,
``reserve``, ``release``, ``transfer``) check the bed's current state first and refuse a change
that makes no sense (admitting to an occupied bed, a transfer to a full unit) with the reason,
writing nothing; a valid one is appended with the version of the home's stream that the
projection has applied, then projected. Several services may share one log (a SQLite file, a
PostgreSQL database): when another writer appended to the home since, the append is refused,
the service reads the new events of that stream (:meth:`EventLog.read_stream`), applies them
and checks the command again, and a refusal is given only against the log's latest state. So
of two services admitting the same bed, one succeeds and the other gets the reason ("bed ... is
occupied"); :class:`ConcurrencyError` only if the stream keeps changing for 20 tries. The views
(:meth:`~BedCapacity.table`, :meth:`~BedCapacity.snapshot`, :meth:`~BedCapacity.stale_homes`)
first :meth:`~BedCapacity.refresh`: they read every home's new events from the log, so a
dashboard process shows what the other services wrote.

Time: the homes record their events in **Unix seconds** (wall-clock time, as
:func:`time.time` gives it), and a bed's events are ordered by that time, so commands are
stamped on the same scale: ``clock=`` defaults to :func:`time.time`. Pass a
:class:`~designpatterns_ref.clock.ManualClock` (simulated Unix seconds) for tests, notebooks and
tours. A command takes the clock's time, or the next float after the latest event on its beds
when the clock is not past it (two commands in one tick, a clock stepped back, a home's clock
ahead): it was checked against that event, so it must follow it, and every accepted command
takes effect. The clock is read and checked (a finite number of seconds, not a bool) before
anything is written; a clock returning anything else is refused with :class:`CapacityError`
and nothing changes.
:meth:`~BedCapacity.ingest` takes a batch a care home recorded while offline: events that
already happened, so they are not re-validated against today's state, only against the
topology; duplicates are dropped and old events lose to newer ones bed by bed. Every accepted
batch (and every :meth:`~BedCapacity.heartbeat`) marks its home as seen, in the log, so all
services on it agree; :meth:`~BedCapacity.stale_homes` lists the homes silent for more than
``stale_after`` seconds, whose figures the dashboard must flag. ``version`` counts changes,
for live views to notice one.

Complexity: O(1) per event on top of the log's append; a refused command costs one version
read; a command that meets another writer's events also reads and applies them.

>>> from designpatterns_ref.clock import ManualClock
>>> svc = BedCapacity(Topology({"north": {"elm": {"a": 1, "b": 1}}}), clock=ManualClock())
>>> _ = svc.admit("elm/a/1")
>>> moved = svc.transfer("elm/a/1", "b")  # same clock time: stamped just after the admission
>>> moved.to_bed, moved.at > 0.0
('elm/b/1', True)
>>> svc.transfer("elm/b/1", "b")
Traceback (most recent call last):
...
designpatterns_ref.capacity.base.CapacityError: unit 'elm/b' is full: no free bed to transfer to
"""

from __future__ import annotations

import itertools
import math
import threading
import time
import uuid
from collections.abc import Callable, Sequence

from designpatterns_ref.capacity.base import (
    MAX_NAME,
    BedEvent,
    CapacityError,
    ConcurrencyError,
    Topology,
    check_name,
    check_time,
)
from designpatterns_ref.capacity.log import AppendResult, EventLog, SQLiteEventLog
from designpatterns_ref.capacity.projection import CapacityProjection, Level
from designpatterns_ref.clock import Clock, read_seconds
from designpatterns_ref.errors import shown

__all__ = ["BedCapacity", "counter_ids"]

#: How many times a command re-reads the log and checks again when other writers keep
#: appending to its home's stream before it gives up with ConcurrencyError.
_ATTEMPTS = 20

#: The statuses a command may start from.
_ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    "admitted": ("free", "reserved"),
    "discharged": ("occupied",),
    "blocked": ("free",),
    "reserved": ("free",),
    "released": ("cleaning", "reserved"),
    "transferred": ("occupied",),
}


class BedCapacity:
    """Commands, ingestion and views over one log and its projection."""

    def __init__(
        self,
        topology: Topology,
        log: EventLog | None = None,
        *,
        clock: Clock | None = None,
        stale_after: float = 900.0,
        ids: Callable[[], str] | None = None,
    ) -> None:
        if not isinstance(topology, Topology):
            raise CapacityError(f"topology={shown(topology)} must be a Topology")
        if log is not None and not isinstance(log, EventLog):
            raise CapacityError(f"log={shown(log)} must be an EventLog")
        if ids is not None and not callable(ids):
            raise CapacityError(f"ids={shown(ids)} must be callable")
        if clock is not None and not callable(clock):
            raise CapacityError(f"clock={shown(clock)} must be callable")
        stale = check_time("stale_after", stale_after)
        if stale == 0:
            raise CapacityError("stale_after=0 must be > 0 seconds")
        self.topology = topology
        self.log = log if log is not None else SQLiteEventLog()
        self.clock: Clock = clock if clock is not None else time.time
        self.stale_after = stale
        self._ids = ids if ids is not None else (lambda: uuid.uuid4().hex)
        # Per home, a version of its stream whose events are all in the projection: read
        # before the replay, so a write landing in between is re-read, never skipped.
        self._applied = {home: self.log.version(home) for home in topology.homes()}
        self.projection = CapacityProjection.rebuild(topology, self.log.read())
        self.last_seen: dict[str, float] = self._seen()
        self.version = 0
        self._lock = threading.RLock()

    # -- the clock and other writers ------------------------------------------------------

    def _now(self) -> float:
        """The clock's reading as finite seconds, checked before anything is written."""
        return read_seconds(self.clock, CapacityError, "BedCapacity")

    def _catch_up(self, home: str) -> bool:
        """Apply what other writers appended to ``home``'s stream since this service last
        looked; True if anything was new."""
        changed = False
        for version, event in self.log.read_stream(home, self._applied[home]):
            changed = self.projection.apply(event) or changed
            self._applied[home] = version
        if changed:
            self.version += 1
        return changed

    def _seen(self) -> dict[str, float]:
        """When each of the topology's homes was last heard from, by any service on the log."""
        homes = set(self.topology.homes())
        return {h: at for h, at in self.log.seen().items() if h in homes}

    def refresh(self) -> bool:
        """Apply what other services sharing the log appended since this one last looked, and
        read when each home was last heard from; True if anything changed (then ``version``
        moved). The views (:meth:`table`, :meth:`snapshot`, :meth:`stale_homes`) call it, so
        a dashboard shows every writer's changes, not only its own."""
        with self._lock:
            changed = False
            for home in self.topology.homes():
                changed = self._catch_up(home) or changed
            seen = self._seen()
            if seen != self.last_seen:
                self.last_seen = seen
                if not changed:
                    self.version += 1
                changed = True
            return changed

    # -- commands -------------------------------------------------------------------------

    def _validate(self, kind: str, bed: str, home: str, to_unit: str | None) -> str | None:
        """The target bed of a valid command (None but for a transfer); the reason otherwise."""
        status = self.projection.status[bed]
        if status not in _ALLOWED_FROM[kind]:
            raise CapacityError(
                f"bed {shown(bed)} is {status}: {kind} needs it {' or '.join(_ALLOWED_FROM[kind])}"
            )
        if kind != "transferred":
            return None
        if not isinstance(to_unit, str):
            raise CapacityError(f"to_unit={shown(to_unit)} must be a unit name")
        free = self.projection.free_beds(home, to_unit)
        if not free:
            raise CapacityError(f"unit '{home}/{to_unit}' is full: no free bed to transfer to")
        return free[0]

    def _command(self, kind: str, bed: str, to_unit: str | None = None) -> BedEvent:
        with self._lock:
            _, home, _ = self.topology.where(bed)
            now = self._now()
            event_id = None  # drawn once, for the first check that passes
            for _ in range(_ATTEMPTS):
                try:
                    to_bed = self._validate(kind, bed, home, to_unit)
                except CapacityError:
                    # refused against this service's view: refuse only if it is the latest
                    if self.log.version(home) == self._applied[home] or not self._catch_up(home):
                        raise
                    continue
                at = self._stamp(bed if to_bed is None else (bed, to_bed), now)
                event_id = self._ids() if event_id is None else event_id
                event = BedEvent(event_id, kind, bed, at=at, to_bed=to_bed)
                try:
                    self._append(home, [event], self._applied[home], now)
                except ConcurrencyError:
                    self._catch_up(home)  # another writer got there first: check again
                    continue
                return event
            raise ConcurrencyError(
                f"stream={shown(home)} kept changing under {kind} {shown(bed)}; try again"
            )

    def _stamp(self, beds: str | tuple[str, str], now: float) -> float:
        """The command's time: the clock's, but later than the last event on each of its beds.

        A command was checked against its beds' current state, so it must come after the event
        that set it, even when the clock has not moved (or stepped back, or a home's clock ran
        ahead): then it takes the next float after that event's time, which no id can tie.
        """
        at = max(now, 0.0)
        for b in (beds,) if isinstance(beds, str) else beds:
            last = self.projection.keys[b][0]
            if at <= last:
                at = math.nextafter(last, math.inf)
        if not math.isfinite(at):
            raise CapacityError(
                f"clock() returned {shown(now)}: no finite time after the bed's events"
            )
        return at

    def admit(self, bed: str) -> BedEvent:
        """A resident moves into a free (or reserved) bed."""
        return self._command("admitted", bed)

    def discharge(self, bed: str) -> BedEvent:
        """The resident leaves; the bed needs cleaning."""
        return self._command("discharged", bed)

    def block(self, bed: str) -> BedEvent:
        """A free bed is taken out for cleaning."""
        return self._command("blocked", bed)

    def reserve(self, bed: str) -> BedEvent:
        """The municipality holds a free bed for an incoming resident."""
        return self._command("reserved", bed)

    def release(self, bed: str) -> BedEvent:
        """A cleaned or reserved bed becomes free."""
        return self._command("released", bed)

    def transfer(self, bed: str, to_unit: str) -> BedEvent:
        """Move the resident of ``bed`` to the first free bed of ``to_unit`` in the same home."""
        return self._command("transferred", bed, to_unit)

    # -- ingestion ------------------------------------------------------------------------

    def ingest(
        self, home: str, events: Sequence[BedEvent], *, expected_version: int | None = None
    ) -> AppendResult:
        """Accept a care home's recorded events (late, repeated or out of order)."""
        with self._lock:
            if not isinstance(home, str) or home not in self.topology.homes():
                raise CapacityError(f"home={shown(home)} is not a known home")
            if isinstance(events, str | bytes) or not isinstance(events, Sequence):
                raise CapacityError(f"events={shown(events)} must be a sequence of BedEvent")
            for e in events:
                self.topology.check_event(e)
                if self.topology.where(e.bed)[1] != home:
                    raise CapacityError(
                        f"event {shown(e.event_id)} is for bed {shown(e.bed)}, not {shown(home)}"
                    )
            return self._append(home, events, expected_version, self._now())

    def _append(
        self, home: str, events: Sequence[BedEvent], expected: int | None, now: float
    ) -> AppendResult:
        result = self.log.append(home, events, expected_version=expected)
        if any([self.projection.apply(e) for e in events]):
            self.version += 1
        if result.version - result.appended == self._applied[home]:
            self._applied[home] = result.version  # no other writer's rows in between
        self._mark_seen(home, now)
        return result

    def _mark_seen(self, home: str, now: float) -> None:
        self.log.mark_seen(home, now)  # shared: every service on the log sees the home heard
        self.last_seen[home] = max(now, self.last_seen.get(home, -math.inf))

    def heartbeat(self, home: str) -> None:
        """A home reports in with nothing to say: it is not stale."""
        with self._lock:
            if not isinstance(home, str) or home not in self.topology.homes():
                raise CapacityError(f"home={shown(home)} is not a known home")
            self._mark_seen(home, self._now())
            self.version += 1

    # -- views ----------------------------------------------------------------------------

    def stale_homes(self) -> list[str]:
        """Homes not heard from for more than ``stale_after`` seconds (or never), by any
        service sharing the log (after :meth:`refresh`)."""
        now = self._now()  # checked before anything is read
        with self._lock:
            self.refresh()
            return self._stale(now)

    def _stale(self, now: float) -> list[str]:
        return [h for h in self.topology.homes()
                if now - self.last_seen.get(h, -math.inf) > self.stale_after]  # fmt: skip

    def is_stale(self, home: str) -> bool:
        if not isinstance(home, str) or home not in self.topology.homes():
            raise CapacityError(f"home={shown(home)} is not a known home")
        return home in self.stale_homes()

    def table(self, level: Level = "home") -> dict[str, dict[str, int]]:
        """Beds per status for every unit, home or municipality (after :meth:`refresh`)."""
        with self._lock:
            self.refresh()
            return self.projection.table(level)

    def snapshot(self) -> dict[str, object]:
        """What a dashboard shows: per home its counts and staleness, and the change counter
        (after one :meth:`refresh`)."""
        now = self._now()
        with self._lock:
            self.refresh()
            stale = set(self._stale(now))
            table = self.projection.table("home")
            homes = [{"home": h, **c, "stale": h in stale} for h, c in table.items()]
            return {"version": self.version, "homes": homes,
                    "municipalities": self.projection.table("municipality")}  # fmt: skip

    def rebuild(self) -> CapacityProjection:
        """A fresh projection replayed from the log (equal to the live one)."""
        return CapacityProjection.rebuild(self.topology, self.log.read())


def counter_ids(prefix: str = "ev") -> Callable[[], str]:
    """Deterministic event ids ``prefix-1``, ``prefix-2``, ... (for tours and tests).

    ``prefix`` is checked here, as an event id's start (printable, at most
    ``MAX_NAME - 20`` characters, room for any count), not later when a command uses an id.
    """
    check_name("prefix", prefix)
    if len(prefix) > MAX_NAME - 20:
        raise CapacityError(
            f"prefix={shown(prefix[:40])} must be at most {MAX_NAME - 20} characters"
        )
    numbers = itertools.count(1)
    return lambda: f"{prefix}-{next(numbers)}"
