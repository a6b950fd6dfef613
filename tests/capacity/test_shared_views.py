"""Services sharing one log show the same views: every writer's events, and the same silent
homes, checked against a replay of the log after every step."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from designpatterns_ref.capacity import (
    BedCapacity,
    BedEvent,
    CapacityError,
    CapacityProjection,
    EventLog,
    Topology,
    counter_ids,
)
from designpatterns_ref.clock import ManualClock
from tests.capacity.test_log import empty_log

_TOPOLOGY = Topology({"north": {"elm": {"a": 2}, "oak": {"a": 2}}})
_BEDS = ["elm/a/1", "elm/a/2", "oak/a/1", "oak/a/2"]
_COMMANDS = ["admit", "discharge", "block", "reserve", "release"]


def test_a_dashboard_on_the_log_shows_another_services_writes(
    shared_logs: list[EventLog],
) -> None:
    clock = ManualClock(1000.0)
    dashboard = BedCapacity(_TOPOLOGY, shared_logs[0], clock=clock, stale_after=60)
    writer = BedCapacity(_TOPOLOGY, shared_logs[1], clock=clock, ids=counter_ids("w"))
    writer.admit("elm/a/1")
    writer.ingest("elm", [BedEvent("h-1", "admitted", "elm/a/2", at=999.0)])
    snap = dashboard.snapshot()
    assert snap["homes"] == [
        {"home": "elm", "free": 0, "occupied": 2, "cleaning": 0, "reserved": 0, "stale": False},
        {"home": "oak", "free": 2, "occupied": 0, "cleaning": 0, "reserved": 0, "stale": True},
    ]
    assert snap["version"] == 1
    assert dashboard.refresh() is False  # nothing new since: the version stays
    clock.advance(61)
    writer.heartbeat("oak")
    assert dashboard.stale_homes() == ["elm"]


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    steps=st.lists(
        st.tuples(
            st.integers(0, 1),  # which service
            st.sampled_from([*_COMMANDS, "heartbeat", "ingest"]),
            st.sampled_from(_BEDS),
            st.sampled_from([0.0, 5.0, 40.0]),  # the clock moves before the step
        ),
        max_size=25,
    )
)
def test_every_service_on_a_shared_log_shows_the_replay_of_the_log(
    shared_logs: list[EventLog], steps: list[tuple[int, str, str, float]]
) -> None:
    """After each step on either service, both services' tables and snapshots equal a
    projection rebuilt from the log, and both flag exactly the homes not heard from (by an
    accepted command, batch or heartbeat, on any service) for more than ``stale_after``."""
    empty_log(shared_logs[0])
    clock = ManualClock(100.0)
    svcs = [
        BedCapacity(_TOPOLOGY, log, clock=clock, stale_after=30, ids=counter_ids(f"s{i}"))
        for i, log in enumerate(shared_logs)
    ]
    heard: dict[str, float] = {}  # the oracle's last contact per home
    for n, (who, step, bed, tick) in enumerate(steps):
        clock.advance(tick)
        svc, home = svcs[who], bed.split("/")[0]
        try:
            if step == "heartbeat":
                svc.heartbeat(home)
            elif step == "ingest":  # an offline home's event, already decided: a late block
                svc.ingest(home, [BedEvent(f"late-{n}", "blocked", bed, at=clock() - 50)])
            else:
                getattr(svc, step)(bed)
        except CapacityError:
            continue
        heard[home] = clock()
        replay = CapacityProjection.rebuild(_TOPOLOGY, shared_logs[0].read())
        stale = [h for h in _TOPOLOGY.homes() if clock() - heard.get(h, -1e9) > 30]
        for s in svcs:
            assert s.table("home") == replay.table("home")
            assert s.table("unit") == replay.table("unit")
            snap = s.snapshot()
            assert [h["home"] for h in snap["homes"] if h["stale"]] == stale  # type: ignore[attr-defined]
            assert snap["municipalities"] == replay.table("municipality")
