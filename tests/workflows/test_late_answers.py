"""An answer that comes too late is no answer: wait_for, the restaurant's five minutes, a step
whose own events the order refuses.

A sleep that overshoots (``time.sleep`` may, on a loaded host) moved the last poll past the
deadline, and ``wait_for`` still returned what that poll saw; the order saga then fired
``accept`` with ``waited`` past five minutes, the machine refused it, and the saga went on to
end ``completed`` with ``ok=True`` while the order stayed ``placed``. The oracles here are
plain: the poll times the test itself records, and the order's own guards.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections import Counter

from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.workflows import (
    ACCEPT_DEADLINE,
    Choreography,
    Deadline,
    OrderScenario,
    Relay,
    World,
    expected,
    order_saga,
    wait_for,
)

OVERSHOOTS = st.lists(
    st.one_of(st.just(0.0), st.floats(0.0, 5.0), st.sampled_from([1e-4, 1e-9])),
    min_size=1,
    max_size=8,
)


@settings(max_examples=400, deadline=None)
@given(
    start=st.one_of(st.just(0.0), st.floats(0.0, 1e7)),
    seconds=st.one_of(st.sampled_from([0.0, 10.0, 300.0]), st.floats(0.0, 600.0)),
    interval=st.floats(1.0, 100.0),
    answer_after=st.one_of(st.none(), st.floats(0.0, 700.0)),
    overshoots=OVERSHOOTS,
    poll_costs=st.lists(st.one_of(st.just(0.0), st.floats(0.0, 3.0)), min_size=1, max_size=4),
)
@example(  # the answer is there at 10 s, but the poll that sees it is at 15
    start=0.0, seconds=10.0, interval=30.0, answer_after=10.0, overshoots=[5.0], poll_costs=[0.0]
)
@example(  # answered at the deadline itself, polled exactly then: in time
    start=0.0, seconds=300.0, interval=30.0, answer_after=299.0, overshoots=[0.0],
    poll_costs=[0.0],
)  # fmt: skip
def test_wait_for_never_returns_an_answer_polled_after_the_deadline(
    start: float,
    seconds: float,
    interval: float,
    answer_after: float | None,
    overshoots: list[float],
    poll_costs: list[float],
) -> None:
    """The oracle is the record of the polls: the answer counts when the poll that first saw it
    ended by the deadline; polling stops there, or once the deadline is reached without one."""
    clock = ManualClock(start)
    deadline = Deadline(seconds, clock=clock)
    answer_at = None if answer_after is None else start + answer_after
    over = itertools.cycle(overshoots)
    cost = itertools.cycle(poll_costs)
    polls: list[tuple[float, float, bool]] = []  # (start, end, saw the answer)

    def poll(waited: float) -> str | None:
        assert len(polls) < 2000, "wait_for does not stop"
        began = clock()
        seen = answer_at is not None and began >= answer_at
        clock.advance(next(cost))
        polls.append((began, clock(), seen))
        return "yes" if seen else None

    def sleep(s: float) -> None:
        assert 0.0 <= s <= interval
        clock.advance(s + next(over))

    got = wait_for(poll, deadline, interval=interval, sleep=sleep)
    first = next((i for i, p in enumerate(polls) if p[2]), None)
    if first is not None:  # polling stops at the first poll that sees the answer
        assert len(polls) == first + 1
        assert got == ("yes" if polls[first][1] <= deadline.at else None)
    else:  # no answer: it polled until the deadline was reached, and no longer
        assert got is None
        assert polls[-1][1] >= deadline.at
    assert all(end < deadline.at for _, end, _ in polls[:-1])


@settings(max_examples=300, deadline=None)
@given(
    start=st.one_of(st.just(0.0), st.floats(0.0, 1e9)),
    seconds=st.floats(0.0, 1e4),
    later=st.one_of(st.just(0.0), st.floats(0.0, 2e4)),
)
def test_elapsed_agrees_with_the_deadline(start: float, seconds: float, later: float) -> None:
    """``elapsed()`` is at most ``seconds`` while the deadline has not passed and at least
    ``seconds`` once it has, for every reading; a plain ``clock() - start`` is not (``start +
    seconds`` is rounded, so at the deadline it can come out a hair under ``seconds``)."""
    clock = ManualClock(start)
    deadline = Deadline(seconds, clock=clock)
    for now in (start + later, deadline.at, math.nextafter(deadline.at, 0.0)):
        if now < clock():
            continue
        clock.set(now)
        elapsed = deadline.elapsed()
        if deadline.passed():
            assert elapsed >= seconds
        else:
            assert elapsed <= seconds
        assert math.isclose(elapsed, now - start, rel_tol=1e-12, abs_tol=1e-6)


class Polled(World):
    """The world, noting when each of the restaurant's answers was polled, and what it said."""

    polls: list[tuple[float, str | None]]

    def restaurant_answer(self, order_id: str, waited: float) -> str | None:
        answer = super().restaurant_answer(order_id, waited)
        self.polls.append((self.clock(), answer))
        return answer


def _in_time(polls: list[tuple[float, str | None]]) -> bool:
    """The oracle: the first poll that saw an answer was at most five minutes after the first
    poll (the ticket went out then, and the deadline was set, on a clock that did not move)."""
    seen = [t for t, answer in polls if answer is not None]
    return bool(seen) and seen[0] <= polls[0][0] + ACCEPT_DEADLINE


SCENARIOS = st.builds(
    OrderScenario,
    st.just("order-1"),
    st.integers(1, 10_000),
    st.just(True),
    st.one_of(st.sampled_from([0.0, 270.0, 299.0, 300.0, 301.0]), st.floats(0.0, 400.0)),
    st.booleans(),
    st.sampled_from([1, 2, None]),
    st.booleans(),
)
# answers at 299 s, 1 s before its deadline
LATE = OrderScenario("order-1", 2400, True, 299.0, True, 1, False)


@settings(max_examples=150, deadline=None)
@given(
    s=SCENARIOS,
    start=st.one_of(st.just(0.0), st.floats(0.0, 1e7)),
    overshoots=OVERSHOOTS,
)
@example(s=LATE, start=0.0, overshoots=[1e-4])  # a sleep that overshoots by 1e-4 s
@example(  # no answer; at - start rounds under 300 s, so the timeout's guard said no
    s=dataclasses.replace(LATE, restaurant_delay=1000.0), start=7957.018997979737,
    overshoots=[0.0],
)  # fmt: skip
def test_a_late_answer_times_the_order_out(
    s: OrderScenario, start: float, overshoots: list[float]
) -> None:
    """Whatever the clock's readings and however far the sleeps overshoot, the order ends
    where the oracle says for an answer in time or a late one, and the machine refuses
    nothing: no saga ends ``completed`` with its order still ``placed``."""
    clock = ManualClock(start)
    world = Polled(":memory:", [s], clock=clock)
    world.polls = []
    over = itertools.cycle(overshoots)
    saga = order_saga(world, clock=clock, sleep=lambda d: clock.advance(d + next(over)))
    result = saga.run(s.order_id)
    if not world.polls:  # the card was declined
        assert result.state == expected(s)[0]
        return
    in_time = _in_time(world.polls)
    state, effects = expected(
        dataclasses.replace(s, restaurant_delay=0.0 if in_time else ACCEPT_DEADLINE + 1)
    )
    assert result.refused == ()
    assert result.state == state
    assert result.ok == (state == "delivered")
    assert Relay(saga.log, world.notify).drain() == 1
    assert Counter(world.effects()) == Counter(effects)
    if not in_time:
        assert result.failed_step == "restaurant" and "no answer" in result.reason


@settings(max_examples=100, deadline=None)
@given(s=SCENARIOS, start=st.one_of(st.just(0.0), st.floats(0.0, 1e7)))
@example(s=dataclasses.replace(LATE, restaurant_delay=1000.0), start=7957.018997979737)
def test_the_choreography_times_out_as_the_saga_does(s: OrderScenario, start: float) -> None:
    """The choreographed order on a clock of any reading: a timeout's guard said no (a bare
    IllegalTransition out of ``place``) when ``at - start`` rounded under five minutes."""
    clock = ManualClock(start)
    world = Polled(":memory:", [s], clock=clock)
    world.polls = []
    got = Choreography(world, clock=clock).place(s.order_id)
    if world.polls:
        s = dataclasses.replace(s, restaurant_delay=0.0 if _in_time(world.polls) else 1000.0)
    state, effects = expected(s)
    assert got == state
    assert Counter(world.effects()) == Counter(effects)


class Ticking(ManualClock):
    """A clock that moves on by ``tick`` seconds at every reading, as a real one does."""

    __slots__ = ("tick",)

    def __call__(self) -> float:
        now = super().__call__()
        self.advance(self.tick)
        return now


@settings(max_examples=100, deadline=None)
@given(s=SCENARIOS, tick=st.one_of(st.just(1.4), st.floats(0.0, 2.0)))
@example(s=dataclasses.replace(LATE, restaurant_delay=280.0), tick=1.4)
def test_an_answer_read_in_time_but_past_the_deadline_by_the_next_reading_times_out(
    s: OrderScenario, tick: float
) -> None:
    """On a clock that moves between two readings, the answer ``wait_for`` saw by the deadline
    can be followed by a reading past it: the step then times out (its ``waited`` is over five
    minutes, so ``accept`` would be refused), never fires ``accept`` for the guard to refuse.
    With ``tick=1.4`` the last poll before the deadline ends at 299.4 s and the step reads
    300.8 s."""
    clock = Ticking()
    clock.tick = tick
    world = World(":memory:", [s], clock=clock)
    saga = order_saga(world, clock=clock, sleep=clock.advance)
    result = saga.run(s.order_id)
    assert result.refused == ()
    if result.failed_step == "restaurant" and "no answer" in result.reason:
        late = dataclasses.replace(s, restaurant_delay=ACCEPT_DEADLINE + 1)
        assert result.state == expected(late)[0]
    elif s.card_ok:
        assert result.state == expected(dataclasses.replace(s, restaurant_delay=0.0))[0]
