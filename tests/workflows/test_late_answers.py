"""An answer that comes too late is no answer: wait_for, the restaurant's five minutes, a step
whose own events the order refuses.

A sleep that overshoots (``time.sleep`` may, on a loaded host) moved the last poll past the
deadline, and ``wait_for`` still returned what that poll saw; the order saga then fired
``accept`` with ``waited`` past five minutes, the machine refused it, and the saga went on to
end ``completed`` with ``ok=True`` while the order stayed ``placed``. The oracles here are
plain: the poll times the test itself records, and the order's own guards.
"""

from __future__ import annotations

import itertools
import math

from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.workflows import (
    Deadline,
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
@example(  # the review's case: the answer is there at 10 s, but the poll that sees it is at 15
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
