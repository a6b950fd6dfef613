"""Orchestrator and choreography against the plain-code oracle; the outbox and inbox; timers."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.workflows import (
    Backoff,
    Choreography,
    Deadline,
    Event,
    Inbox,
    MemoryLog,
    OrderScenario,
    Relay,
    SQLiteLog,
    WorkflowError,
    World,
    expected,
    order_saga,
    retry,
    wait_for,
)

SCENARIO = st.builds(
    OrderScenario,
    st.just("order-1"),
    st.integers(1, 10_000),
    st.booleans(),
    st.sampled_from([0.0, 30.0, 299.0, 300.0, 301.0, 1000.0]),
    st.booleans(),
    st.sampled_from([1, 2, 5, 6, None]),
    st.booleans(),
)


@settings(max_examples=100, deadline=None)
@given(SCENARIO)
def test_both_styles_end_where_the_oracle_says(s: OrderScenario) -> None:
    state, effects = expected(s)
    clock = ManualClock()
    world = World(":memory:", [s], clock=clock)
    saga = order_saga(world, clock=clock, log=MemoryLog())
    result = saga.run(s.order_id)
    assert result.state == state
    assert Relay(saga.log, world.notify).drain() == 1
    assert Counter(world.effects()) == Counter(effects)
    # compensations run newest first, and only for steps that were done
    assert (
        list(result.compensated)
        == [n for n in reversed(result.done) if n != "deliver"][: len(result.compensated)]
    )
    assert result.ok == (state == "delivered")
    clock2 = ManualClock()
    world2 = World(":memory:", [s], clock=clock2)
    assert Choreography(world2, clock=clock2).place(s.order_id) == state
    assert Counter(world2.effects()) == Counter(effects)


def test_a_resumed_saga_replays_without_repeating(tmp_path: Path) -> None:
    s = OrderScenario("order-1", 2400, True, 60.0, True, 2, True)
    clock = ManualClock()
    world = World(tmp_path / "world.db", [s], clock=clock, idempotent=False)
    log = SQLiteLog(tmp_path / "wf.db")
    first = order_saga(world, clock=clock, log=log).run("order-1")
    again = order_saga(world, clock=clock, log=log).run("order-1")
    assert first == again and first.state == "refunded"
    assert world.duplicates() == {}  # even without idempotency keys: the log replayed


def test_outbox_publishes_each_event_once_and_the_inbox_dedups(tmp_path: Path) -> None:
    log = SQLiteLog(tmp_path / "wf.db")
    for i in range(5):
        log.put(f"o{i}", "outcome", i, [Event(f"o{i}:done", "order.delivered", f"o{i}")])
    got: list[str] = []
    inbox = Inbox(tmp_path / "consumer.db")

    def crashy_publish(e: Event) -> None:
        inbox.handle(e, lambda conn, ev: got.append(ev.event_id))

    relay = Relay(log, crashy_publish, batch=2)
    assert relay.drain() == 5 and relay.drain() == 0
    for e in [Event(f"o{i}:done", "order.delivered", f"o{i}") for i in range(5)]:
        assert inbox.handle(e, lambda conn, ev: got.append("again")) is False
    assert got == [f"o{i}:done" for i in range(5)]


def test_an_event_is_written_with_its_step_or_not_at_all(tmp_path: Path) -> None:
    log = SQLiteLog(tmp_path / "wf.db")
    log.put("o1", "do:a", 1, [Event("e1", "t", "o1")])
    with pytest.raises(WorkflowError):
        log.put("o1", "do:b", 2, [Event("e1", "t", "o1")])  # duplicate event id
    assert log.results("o1") == {"do:a": 1}
    assert [e.event_id for e in log.pending()] == ["e1"]


def test_timers_on_a_manual_clock() -> None:
    clock = ManualClock()
    answers = iter([None] * 10)
    found, tries = retry(lambda: next(answers), Backoff(base=10, attempts=4), clock=clock,
                         sleep=clock.advance)  # fmt: skip
    assert (found, tries, clock()) == (None, 4, 70.0)
    clock = ManualClock()
    got = wait_for(lambda w: "yes" if w >= 95 else None, Deadline(300, clock=clock),
                   interval=30, sleep=clock.advance)  # fmt: skip
    assert got == "yes" and clock() == 120.0
    clock = ManualClock()
    assert wait_for(lambda w: None, Deadline(300, clock=clock), interval=30,
                    sleep=clock.advance) is None  # fmt: skip
    assert clock() == 300.0
