"""``dpref tour capacity``: a municipality's beds, live, from an event log.

Case study: Design a Real-Time Bed Logistics System (docs/case-studies/bed-logistics.md)

Deterministic: a simulated clock, counter event ids and a seeded random day.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from designpatterns_ref.capacity.base import BedEvent, CapacityError, OwnershipError, Topology
from designpatterns_ref.capacity.fhir import bed_location
from designpatterns_ref.capacity.ownership import Replica
from designpatterns_ref.capacity.service import BedCapacity, counter_ids
from designpatterns_ref.clock import ManualClock

__all__ = ["SPEC", "demo_service", "tour"]

SPEC = {"north": {"elm": {"a": 6, "b": 4}, "oak": {"a": 8}},
        "south": {"pine": {"a": 5, "b": 5}, "ash": {"a": 6}}}  # fmt: skip


def demo_service(
    hours: int = 24, seed: int = 3
) -> tuple[BedCapacity, list[tuple[float, int, int]]]:
    """A seeded day of admissions, discharges and cleaning; 'ash' goes quiet after 18 h."""
    clock = ManualClock()
    svc = BedCapacity(Topology(SPEC), clock=clock, stale_after=3600, ids=counter_ids())
    rng = random.Random(seed)
    beds = svc.topology.beds()
    samples = []
    for _ in range(hours * 6):
        clock.advance(600)
        for home in svc.topology.homes():
            if home == "ash" and clock() > 18 * 3600:
                continue
            bed = rng.choice([b for b in beds if b.startswith(home + "/")])
            status = svc.projection.status[bed]
            action = {"free": svc.admit, "occupied": svc.discharge, "cleaning": svc.release,
                      "reserved": svc.admit}[status]  # fmt: skip
            if status == "occupied" and rng.random() < 0.7:
                svc.heartbeat(home)
                continue  # residents stay longer than beds take to clean
            action(bed)
        occupied = sum(1 for s in svc.projection.status.values() if s == "occupied")
        samples.append((clock() / 3600, occupied, len(beds)))
    return svc, samples


def tour(out: Callable[[str], None]) -> None:
    """Walk through the bed-capacity family, printing each step with ``out``."""
    out("Bed capacity: every change to a bed is an event in a log; the dashboard is a projection.")
    clock = ManualClock(8 * 3600)
    svc = BedCapacity(Topology({"north": {"elm": {"a": 2, "b": 1}}}), clock=clock,
                      ids=counter_ids())  # fmt: skip
    out("\n1. Care home 'elm' has unit a (2 beds) and unit b (1 bed).")
    svc.admit("elm/a/1")
    svc.reserve("elm/b/1")
    out(f"   admit elm/a/1, reserve elm/b/1 -> {svc.table('home')['elm']}")
    out(
        f"   the log holds {len(svc.log)} events, "
        f"stream 'elm' is at version {svc.log.version('elm')}"
    )

    out("\n2. Bad commands are refused with the reason, and the log does not change:")
    bad: list[tuple[str, Callable[[], object]]] = [
        ("transfer elm/a/1 to unit b", lambda: svc.transfer("elm/a/1", "b")),
        ("admit to unknown bed elm/c/9", lambda: svc.admit("elm/c/9")),
        ("discharge a free bed elm/a/2", lambda: svc.discharge("elm/a/2")),
    ]
    for words, call in bad:
        try:
            call()
        except CapacityError as exc:
            out(f"   {words}: {exc}")
    out(f"   still {len(svc.log)} events")

    out("\n3. Two writers, one stream: the second append names the version it saw, and loses.")
    seen = svc.log.version("elm")
    svc.log.append("elm", [BedEvent("desk-1", "blocked", "elm/a/2", at=clock())],
                   expected_version=seen)  # fmt: skip
    try:
        svc.log.append("elm", [BedEvent("tab-1", "admitted", "elm/a/2", at=clock())],
                       expected_version=seen)  # fmt: skip
    except CapacityError as exc:
        out(f"   {exc}")

    out("\n4. The home was offline; its events arrive late, twice and out of order:")
    late = [BedEvent("elm-7", "released", "elm/a/2", at=clock() + 120),
            BedEvent("elm-6", "discharged", "elm/a/1", at=clock() + 60)]  # fmt: skip
    clock.advance(300)
    first = svc.ingest("elm", late[::-1])
    again = svc.ingest("elm", late)
    out(f"   first delivery: {first.appended} new; again: {again.duplicates} duplicates ignored")
    out(f"   -> {svc.table('home')['elm']}")
    rebuilt = svc.rebuild()
    out(
        "   rebuilt from the log equals the live projection: "
        f"{rebuilt.state() == svc.projection.state()}"
    )

    out("\n5. A home that stops reporting is flagged stale (after 15 minutes here):")
    clock.advance(3600)
    out(f"   stale homes an hour later: {svc.stale_homes()}")

    out("\n6. Field ownership: the home's clinical system owns care_level, the municipality the")
    out("   reservation; a write by the wrong system is refused, concurrent ones merge by field.")
    desk, tablet, town = (Replica("elm-desk", "clinical"), Replica("elm-tablet", "clinical"),
                          Replica("town", "municipality"))  # fmt: skip
    desk.write("resident-4", "care_level", "medium", at=1)
    town.write("resident-4", "reservation", "elm/b/1", at=2)
    tablet.write("resident-4", "care_level", "high", at=3)
    try:
        town.write("resident-4", "care_level", "low", at=4)
    except OwnershipError as exc:
        out(f"   {exc}")
    town.merge(desk)
    conflicts = town.merge(tablet)
    out(f"   merged at the town hall: {town.get('resident-4')}")
    for c in conflicts:
        out(f"   conflict surfaced on {c.field}: kept {c.kept.value!r} ({c.kept.replica}), "
            f"lost {c.lost.value!r} ({c.lost.replica})")  # fmt: skip

    out("\n7. FHIR: each bed leaves the system as a Location with its operational status:")
    loc = bed_location(svc.projection, "elm/b/1")
    status = loc["operationalStatus"]
    out(f"   {loc['id']}: {status['code']} ({status['display']})")
