"""Capacity per unit, home and municipality, kept current event by event.

Case study: Design a Real-Time Bed Logistics System (docs/case-studies/bed-logistics.md)

:class:`CapacityProjection` holds, per bed, its status and the key ``(at, event_id)`` of the
event that set it, and per unit, home and municipality a count of beds in each status. An event
changes a bed only if its key is later than the bed's current one, and moves one count from the
old status to the new one at every level, so applying an event is O(1) whatever the size of the
log. Duplicates (an id already applied) are ignored and late events lose to later ones, so the
counts do not depend on delivery order. :func:`recount` is the oracle: it replays a whole list
of events by brute force and counts from scratch; :meth:`CapacityProjection.rebuild` replays a
log into a fresh projection.

Trade-off: remembering every applied id costs memory linear in the log (a real system keeps a
window per home); a per-bed key makes the projection order-free without a global sequence.

>>> from designpatterns_ref.capacity.base import BedEvent, Topology
>>> p = CapacityProjection(Topology({"north": {"elm": {"a": 2}}}))
>>> p.apply(BedEvent("e2", "discharged", "elm/a/1", at=2.0))
True
>>> p.apply(BedEvent("e1", "admitted", "elm/a/1", at=1.0))  # late: older than e2, no effect
True
>>> p.counts("home", "elm")
{'free': 1, 'occupied': 0, 'cleaning': 1, 'reserved': 0}
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from designpatterns_ref.capacity.base import STATUSES, BedEvent, CapacityError, Topology
from designpatterns_ref.errors import shown

__all__ = ["CapacityProjection", "Level", "recount"]

Level = Literal["unit", "home", "municipality"]
_ZERO_KEY = (-1.0, "")


def _levels(topo: Topology, bed: str) -> tuple[tuple[str, str], ...]:
    municipality, home, unit = topo.where(bed)
    return (("unit", f"{home}/{unit}"), ("home", home), ("municipality", municipality))


class CapacityProjection:
    """Bed statuses and capacity counts, updated in O(1) per event."""

    def __init__(self, topology: Topology) -> None:
        if not isinstance(topology, Topology):
            raise CapacityError(f"topology={shown(topology)} must be a Topology")
        self.topology = topology
        self.status: dict[str, str] = dict.fromkeys(topology.beds(), "free")
        self.keys: dict[str, tuple[float, str]] = dict.fromkeys(topology.beds(), _ZERO_KEY)
        self.seen: dict[str, BedEvent] = {}  # every event applied, by id
        self._levels = {bed: _levels(topology, bed) for bed in topology.beds()}
        self._counts: dict[tuple[str, str], dict[str, int]] = {}
        for levels in self._levels.values():
            for level in levels:
                self._counts.setdefault(level, dict.fromkeys(STATUSES, 0))["free"] += 1
        for home, unit in topology.units():  # a unit of capacity 0 still has a (zero) row
            self._counts.setdefault(("unit", f"{home}/{unit}"), dict.fromkeys(STATUSES, 0))
        for home in topology.homes():
            self._counts.setdefault(("home", home), dict.fromkeys(STATUSES, 0))
        for m in topology.municipalities():
            self._counts.setdefault(("municipality", m), dict.fromkeys(STATUSES, 0))

    def apply(self, event: BedEvent) -> bool:
        """Apply ``event``; False if it was already applied (a duplicate). An id already
        applied with a different event is refused with :class:`CapacityError`, as the logs
        refuse it: keeping either one silently would make projections disagree."""
        self.topology.check_event(event)
        held = self.seen.get(event.event_id)
        if held is not None:
            if held != event:
                raise _reused(held, event)
            return False
        self.seen[event.event_id] = event
        key = event.key
        for bed, status in event.effects():
            if key <= self.keys[bed]:
                continue  # a later event already decided this bed
            old = self.status[bed]
            self.keys[bed] = key
            if old != status:
                self.status[bed] = status
                for level in self._levels[bed]:
                    counts = self._counts[level]
                    counts[old] -= 1
                    counts[status] += 1
        return True

    def apply_all(self, events: Iterable[BedEvent]) -> int:
        """Apply each event (all checked first, id reuse included: a refused batch applies
        nothing); the number that were not duplicates."""
        checked = _checked(self.topology, events)
        _check_ids(checked, self.seen)
        return sum(self.apply(e) for e in checked)

    @classmethod
    def rebuild(cls, topology: Topology, events: Iterable[BedEvent]) -> CapacityProjection:
        """A fresh projection of every event in ``events`` (a log replayed from the start)."""
        projection = cls(topology)
        if isinstance(events, str | bytes) or not isinstance(events, Iterable):
            raise CapacityError(f"events={shown(events)} must be an iterable of BedEvent")
        for event in events:  # streamed: a log may not fit in memory twice
            projection.apply(event)
        return projection

    def counts(self, level: Level, name: str) -> dict[str, int]:
        """Beds per status in one unit (``home/unit``), home or municipality."""
        try:
            return dict(self._counts[(level, name)])
        except (KeyError, TypeError):
            raise CapacityError(
                f"{level if isinstance(level, str) else shown(level)}={shown(name)} is not a "
                "known unit, home or municipality"
            ) from None

    def table(self, level: Level) -> dict[str, dict[str, int]]:
        """Every row of one level: ``{name: {status: beds}}``, in topology order."""
        if level not in ("unit", "home", "municipality"):
            raise CapacityError(f"level={shown(level)} must be 'unit', 'home' or 'municipality'")
        return {name: dict(c) for (lv, name), c in self._counts.items() if lv == level}

    def free_beds(self, home: str, unit: str) -> list[str]:
        """The free beds of one unit, in bed order."""
        return [b for b in self.topology.unit_beds(home, unit) if self.status[b] == "free"]

    def state(self) -> tuple[dict[str, str], dict[tuple[str, str], dict[str, int]]]:
        """Bed statuses and every count (to compare two projections)."""
        return dict(self.status), {k: dict(v) for k, v in self._counts.items()}


def _reused(held: BedEvent, event: BedEvent) -> CapacityError:
    return CapacityError(
        f"event_id={event.event_id!r} is already used by a different event: {held!r}, "
        f"then {event!r}"
    )


def _check_ids(events: list[BedEvent], seen: dict[str, BedEvent]) -> dict[str, BedEvent]:
    """``events`` by id; :class:`CapacityError` if an id names two events, within the batch
    or against ``seen`` (read, not copied: a batch costs its own size)."""
    by_id: dict[str, BedEvent] = {}
    for event in events:
        held = by_id.setdefault(event.event_id, event)
        if held == event:
            held = seen.get(event.event_id, event)
        if held != event:
            raise _reused(held, event)
    return by_id


def _checked(topology: Topology, events: object) -> list[BedEvent]:
    if isinstance(events, str | bytes) or not isinstance(events, Iterable):
        raise CapacityError(f"events={shown(events)} must be an iterable of BedEvent")
    return [topology.check_event(e) for e in events]


def recount(
    topology: Topology, events: Iterable[BedEvent]
) -> dict[tuple[str, str], dict[str, int]]:
    """The oracle: counts per level by brute force (dedupe, latest event per bed, count)."""
    if not isinstance(topology, Topology):
        raise CapacityError(f"topology={shown(topology)} must be a Topology")
    unique = _check_ids(_checked(topology, events), {})
    status = dict.fromkeys(topology.beds(), "free")
    for bed in topology.beds():
        touching = [(e.key, s) for e in unique.values() for b, s in e.effects() if b == bed]
        if touching:
            status[bed] = max(touching)[1]
    out: dict[tuple[str, str], dict[str, int]] = {}
    for municipality in topology.municipalities():
        out[("municipality", municipality)] = dict.fromkeys(STATUSES, 0)
    for home in topology.homes():
        out[("home", home)] = dict.fromkeys(STATUSES, 0)
    for home, unit in topology.units():
        out[("unit", f"{home}/{unit}")] = dict.fromkeys(STATUSES, 0)
    for bed, s in status.items():
        municipality, home, unit = topology.where(bed)
        for key in (("unit", f"{home}/{unit}"), ("home", home), ("municipality", municipality)):
            out[key][s] += 1
    return out
