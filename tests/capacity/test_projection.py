"""Projections equal a brute-force recount over random streams with duplicates and reordering."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.capacity import (
    BedCapacity,
    BedEvent,
    CapacityError,
    CapacityProjection,
    SQLiteEventLog,
    Topology,
    recount,
)

TOPO = Topology({"north": {"elm": {"a": 3, "b": 2}, "oak": {"a": 2}}, "south": {"ash": {"a": 2}}})
BEDS = TOPO.beds()
SIMPLE = ("admitted", "discharged", "blocked", "reserved", "released")


@st.composite
def events(draw: st.DrawFn) -> BedEvent:
    bed = draw(st.sampled_from(BEDS))
    at = float(draw(st.integers(0, 20)))  # few times: many ties, broken by the id
    eid = f"e{draw(st.integers(0, 60))}"
    home = bed.split("/")[0]
    if draw(st.booleans()) and draw(st.integers(0, 4)) == 0:
        others = [b for b in BEDS if b.startswith(home + "/") and b != bed]
        return BedEvent(eid, "transferred", bed, at=at, to_bed=draw(st.sampled_from(others)))
    return BedEvent(eid, draw(st.sampled_from(SIMPLE)), bed, at=at)


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[list[BedEvent], list[BedEvent]]:
    """A set of distinct events, and a delivery of them shuffled with duplicates."""
    raw = draw(st.lists(events(), max_size=40))
    unique = list({e.event_id: e for e in raw}.values())
    repeated = unique + draw(st.lists(st.sampled_from(unique), max_size=15)) if unique else []
    return unique, draw(st.permutations(repeated))


def _counts(p: CapacityProjection) -> dict[tuple[str, str], dict[str, int]]:
    return p.state()[1]


@given(deliveries())
def test_incremental_projection_equals_the_recount(
    case: tuple[list[BedEvent], list[BedEvent]],
) -> None:
    unique, delivered = case
    p = CapacityProjection(TOPO)
    applied = p.apply_all(delivered)
    assert applied == len(unique)  # every duplicate recognised
    assert _counts(p) == recount(TOPO, unique)
    for counts in _counts(p).values():
        assert all(v >= 0 for v in counts.values())
    assert sum(_counts(p)[("municipality", "north")].values()) == 7


@given(deliveries(), st.randoms(use_true_random=False))
def test_delivery_order_does_not_matter(
    case: tuple[list[BedEvent], list[BedEvent]], rnd: object
) -> None:
    unique, delivered = case
    other = list(unique)
    rnd.shuffle(other)  # type: ignore[attr-defined]
    assert CapacityProjection.rebuild(TOPO, delivered).state() == (
        CapacityProjection.rebuild(TOPO, other).state()
    )


@settings(max_examples=40)
@given(deliveries(), st.integers(1, 5))
def test_rebuild_from_the_log_equals_the_live_state(
    case: tuple[list[BedEvent], list[BedEvent]], batch: int
) -> None:
    _, delivered = case
    svc = BedCapacity(TOPO, SQLiteEventLog())
    for i in range(0, len(delivered), batch):
        chunk = delivered[i : i + batch]
        for home in {e.bed.split("/")[0] for e in chunk}:
            svc.ingest(home, [e for e in chunk if e.bed.startswith(home + "/")])
    assert svc.rebuild().state() == svc.projection.state()
    assert len(svc.log) == len({e.event_id for e in delivered})
    # and a service reopened on the same log starts from the same state
    assert BedCapacity(TOPO, svc.log).projection.state() == svc.projection.state()


def test_a_late_event_loses_to_a_later_one_on_the_same_bed() -> None:
    p = CapacityProjection(TOPO)
    p.apply(BedEvent("x2", "admitted", "elm/a/1", at=5.0))
    p.apply(BedEvent("x1", "reserved", "elm/a/1", at=4.0))
    assert p.status["elm/a/1"] == "occupied"
    p.apply(BedEvent("x3", "transferred", "elm/a/1", at=6.0, to_bed="elm/b/1"))
    assert (p.status["elm/a/1"], p.status["elm/b/1"]) == ("free", "occupied")
    assert p.counts("unit", "elm/b") == {"free": 1, "occupied": 1, "cleaning": 0, "reserved": 0}


@pytest.mark.parametrize("level", ["unit", "home", "municipality"])
def test_every_level_adds_up_to_the_beds(level: str) -> None:
    p = CapacityProjection(TOPO)
    assert sum(sum(c.values()) for c in p.table(level).values()) == len(BEDS)  # type: ignore[arg-type]


def _clashes(events: list[BedEvent]) -> bool:
    """Does an id name two different events? (the plain definition)"""
    return any(a.event_id == b.event_id and a != b for a in events for b in events)


@given(st.lists(events(), max_size=30))
@example([BedEvent("e1", "admitted", "elm/a/1"), BedEvent("e1", "discharged", "elm/a/1")])
def test_an_id_reused_for_another_event_is_refused_everywhere(raw: list[BedEvent]) -> None:
    p = CapacityProjection(TOPO)
    before = (p.state(), dict(p.seen))
    if not _clashes(raw):
        assert p.apply_all(raw) == len(set(raw))
        assert _counts(p) == recount(TOPO, raw)
        return
    with pytest.raises(CapacityError, match="already used by a different event"):
        p.apply_all(raw)
    assert (p.state(), dict(p.seen)) == before  # the refused batch applied nothing
    with pytest.raises(CapacityError, match="already used by a different event"):
        recount(TOPO, raw)
    with pytest.raises(CapacityError, match="already used by a different event"):
        CapacityProjection.rebuild(TOPO, raw)
    with pytest.raises(CapacityError, match="already used by a different event"):  # one by one
        for event in raw:
            state = (p.state(), dict(p.seen))
            try:
                p.apply(event)
            except CapacityError:
                assert (p.state(), dict(p.seen)) == state  # refused, nothing changed
                raise
