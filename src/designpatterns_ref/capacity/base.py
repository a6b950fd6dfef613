"""The bed-capacity family's vocabulary: events, bed statuses, the topology and the errors.

Case study: Design a Real-Time Bed Logistics System (docs/case-studies/bed-logistics.md)

A bed changes state only through a :class:`BedEvent`. Each event kind sets the status of the
bed it names (a transfer also sets its target bed), so the state of a bed is the effect of the
*latest* event that touched it, ordered by ``(at, event_id)``: the time the care home recorded
it, then the id to break ties. That order does not depend on when the event reached the
server, so a home that was offline can deliver late, twice or out of order and every replica
converges. The :class:`Topology` says which beds exist, in which unit, home and municipality.

>>> topo = Topology({"north": {"elm": {"ward-a": 2}}})
>>> topo.beds()
('elm/ward-a/1', 'elm/ward-a/2')
>>> BedEvent("e1", "admitted", "elm/ward-a/1", at=3.0).effects()
(('elm/ward-a/1', 'occupied'),)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from designpatterns_ref.errors import DesignPatternsError, shown

__all__ = [
    "KINDS",
    "STATUSES",
    "BedEvent",
    "CapacityError",
    "ConcurrencyError",
    "OwnershipError",
    "Topology",
    "check_name",
    "check_time",
]

#: Event kinds and the status each gives the bed it names.
KINDS: dict[str, str] = {
    "admitted": "occupied",
    "discharged": "cleaning",
    "blocked": "cleaning",
    "reserved": "reserved",
    "released": "free",
    "transferred": "free",
}
#: Every status a bed can have, in display order.
STATUSES: tuple[str, ...] = ("free", "occupied", "cleaning", "reserved")
MAX_NAME = 200


class CapacityError(DesignPatternsError, ValueError):
    """Bad input to the capacity family: the message names the value and what is allowed."""


class ConcurrencyError(CapacityError):
    """An append whose ``expected_version`` is not the stream's current version."""


class OwnershipError(CapacityError):
    """A write to a field by a system that does not own it (the message names the owner)."""


def check_name(name: str, value: object) -> str:
    """``value`` as a non-empty printable identifier of at most 200 characters."""
    if not isinstance(value, str):
        raise CapacityError(f"{name}={shown(value)} must be a string, not {type(value).__name__}")
    if not value or len(value) > MAX_NAME:
        raise CapacityError(f"{name}={shown(value[:40])} must be 1 to {MAX_NAME} characters")
    if not value.isprintable() or any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        raise CapacityError(f"{name}={shown(value[:40])} must be printable text")
    return value


def check_time(name: str, value: object) -> float:
    """``value`` as a finite, non-negative number of seconds."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CapacityError(f"{name}={shown(value)} must be a number of seconds")
    try:
        seconds = float(value)
    except OverflowError:  # an int past a float's range
        raise CapacityError(f"{name}={shown(value)} is too large for seconds") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise CapacityError(f"{name}={shown(value)} must be finite and >= 0")
    return seconds


@dataclass(frozen=True, order=True)
class BedEvent:
    """One change to a bed, recorded by a care home at time ``at``.

    ``to_bed`` is the target of a transfer (and only of a transfer).
    """

    event_id: str
    kind: str
    bed: str
    at: float = 0.0
    to_bed: str | None = None

    def __post_init__(self) -> None:
        check_name("event_id", self.event_id)
        if not isinstance(self.kind, str) or self.kind not in KINDS:
            raise CapacityError(f"kind={shown(self.kind)} must be one of {sorted(KINDS)}")
        check_name("bed", self.bed)
        object.__setattr__(self, "at", check_time("at", self.at))
        if self.kind == "transferred":
            check_name("to_bed", self.to_bed)
            if self.to_bed == self.bed:
                raise CapacityError(f"to_bed={shown(self.to_bed)} must differ from bed")
        elif self.to_bed is not None:
            raise CapacityError(f"to_bed={shown(self.to_bed)} is allowed only on a transfer")

    @property
    def key(self) -> tuple[float, str]:
        """The order of events on one bed: the home's time, then the id."""
        return (self.at, self.event_id)

    def effects(self) -> tuple[tuple[str, str], ...]:
        """``(bed, status)`` pairs this event sets."""
        if self.kind == "transferred":
            assert self.to_bed is not None
            return ((self.bed, "free"), (self.to_bed, "occupied"))
        return ((self.bed, KINDS[self.kind]),)

    def as_dict(self) -> dict[str, object]:
        return {"event_id": self.event_id, "kind": self.kind, "bed": self.bed, "at": self.at,
                "to_bed": self.to_bed}  # fmt: skip


class Topology:
    """Which beds exist: ``{municipality: {home: {unit: capacity}}}``.

    Bed ids are ``home/unit/n`` for n in 1..capacity; home names are unique across
    municipalities. A capacity is an int from 0 to 10,000.
    """

    def __init__(self, spec: Mapping[str, Mapping[str, Mapping[str, int]]]) -> None:
        if not isinstance(spec, Mapping):
            raise CapacityError(
                f"spec={shown(spec)} must be a mapping municipality -> home -> unit"
            )
        self._bed: dict[str, tuple[str, str, str]] = {}
        self._units: dict[tuple[str, str], list[str]] = {}
        self._homes: dict[str, str] = {}
        for municipality, homes in spec.items():
            check_name("municipality", municipality)
            if not isinstance(homes, Mapping):
                raise CapacityError(
                    f"homes of {shown(municipality)}={shown(homes)} must be a mapping"
                )
            for home, units in homes.items():
                check_name("home", home)
                if "/" in home or home in self._homes:
                    raise CapacityError(f"home={shown(home)} must be unique and contain no '/'")
                if not isinstance(units, Mapping):
                    raise CapacityError(f"units of {shown(home)}={shown(units)} must be a mapping")
                self._homes[home] = municipality
                for unit, capacity in units.items():
                    check_name("unit", unit)
                    if "/" in unit:
                        raise CapacityError(f"unit={shown(unit)} must contain no '/'")
                    if isinstance(capacity, bool) or not isinstance(capacity, int):
                        raise CapacityError(
                            f"capacity of {home}/{unit}={shown(capacity)} must be int"
                        )
                    if not 0 <= capacity <= 10_000:
                        raise CapacityError(
                            f"capacity of {home}/{unit}={shown(capacity)} must be 0 to 10,000"
                        )
                    beds = [f"{home}/{unit}/{i}" for i in range(1, capacity + 1)]
                    self._units[(home, unit)] = beds
                    for bed in beds:
                        self._bed[bed] = (municipality, home, unit)

    def beds(self) -> tuple[str, ...]:
        return tuple(self._bed)

    def homes(self) -> tuple[str, ...]:
        return tuple(self._homes)

    def units(self) -> tuple[tuple[str, str], ...]:
        return tuple(self._units)

    def municipalities(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self._homes.values()))

    def unit_beds(self, home: str, unit: str) -> tuple[str, ...]:
        try:
            return tuple(self._units[(home, unit)])
        except (KeyError, TypeError):
            raise CapacityError(f"unit {shown(home)}/{shown(unit)} does not exist") from None

    def where(self, bed: object) -> tuple[str, str, str]:
        """``(municipality, home, unit)`` of ``bed``; :class:`CapacityError` for an unknown bed."""
        try:
            return self._bed[bed]  # type: ignore[index]
        except (KeyError, TypeError):
            raise CapacityError(f"bed={shown(bed)} is not a known bed") from None

    def check_event(self, event: object) -> BedEvent:
        """``event`` as a :class:`BedEvent` on known beds (a transfer stays in one home)."""
        if not isinstance(event, BedEvent):
            raise CapacityError(f"event={shown(event)} must be a BedEvent")
        _, home, _ = self.where(event.bed)
        if event.to_bed is not None and self.where(event.to_bed)[1] != home:
            raise CapacityError(
                f"to_bed={shown(event.to_bed)} must be in the same home as {shown(home)}"
            )
        return event

    def __repr__(self) -> str:
        return f"Topology({len(self._homes)} homes, {len(self._bed)} beds)"
