"""A clock that returns no finite number of seconds is refused with NotificationError, and
nothing changes: a NaN would keep every delivery in the dedup window forever (every
comparison with it is false), an infinity would forget them all, ``True`` would pass for
second 1, and a str, None or 10**400 failed later with a bare TypeError or OverflowError."""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.notifications import (
    DedupWindow,
    Notification,
    NotificationError,
    Pipeline,
    QuietHours,
    SimulatedProvider,
)

BAD: list[Any] = [math.nan, math.inf, -math.inf, True, "1", None, 10**400]
IDS = ["nan", "inf", "-inf", "True", "str", "None", "10**400"]


class Clock:
    """A clock the test sets, to bad readings too."""

    def __init__(self, now: Any = 1_780_000_000.0) -> None:
        self.now = now

    def __call__(self) -> Any:
        return self.now


@pytest.mark.parametrize("bad", BAD, ids=IDS)
def test_dedup_window_refuses_a_bad_reading_and_changes_nothing(bad: Any) -> None:
    clock = Clock()
    window = DedupWindow(60.0, clock=clock, lease=5.0)
    window.deliver("old")
    window.claim("held")
    before = (list(window._seen.items()), list(window._claims.items()))
    clock.now = bad
    for call in (
        lambda: window.claim("m"),
        lambda: window.confirm("held"),
        lambda: window.release("held"),
        lambda: window.claim_many(["m", "n"]),
        lambda: window.extend(["held"]),
        lambda: window.settle(["held"], []),
        lambda: window.deliver("m"),
    ):
        with pytest.raises(NotificationError, match=r"clock\(\) returned"):
            call()
        assert (list(window._seen.items()), list(window._claims.items())) == before


@pytest.mark.parametrize("bad", BAD, ids=IDS)
def test_simulated_provider_refuses_a_bad_reading(bad: Any) -> None:
    clock = Clock()
    provider = SimulatedProvider("fcm", rate=10, clock=clock, seed=1)
    assert provider.attempt("tok", "hi") == "ok"
    clock.now = bad
    with pytest.raises(NotificationError, match=r"clock\(\) returned"):
        provider.attempt("tok", "hi")
    assert provider.sent == 1


def _pipeline(clock: Clock) -> Pipeline:
    p = Pipeline(clock=clock, caps={"fcm": 100}, quiet=QuietHours())
    p.templates.add("t", "hi {name}")
    p.register_user("ada")
    p.add_device("ada", "fcm", "tok")
    return p


def _note(key: str) -> Notification:
    return Notification(key=key, template="t", users=("ada",), vars={"name": "A"},
                        channels=("fcm",), ttl=60.0)  # fmt: skip


def _state(p: Pipeline) -> object:
    return (dict(p.counts), len(p.accepted), len(p.outgoing), len(p.dead), sorted(p.keys),
            copy.deepcopy(p.dedup._seen), copy.deepcopy(p.dedup._claims))  # type: ignore[attr-defined]  # fmt: skip


@pytest.mark.parametrize("bad", BAD, ids=IDS)
def test_pipeline_refuses_a_bad_reading_and_changes_nothing(bad: Any) -> None:
    clock = Clock()
    p = _pipeline(clock)
    p.accept(_note("sent"))
    p.run()
    p.accept(_note("waiting"))
    before = _state(p)
    clock.now = bad
    for call in (
        lambda: p.accept(_note("new")),
        p.step,
        lambda: p.expand_batch(),
        lambda: p.sender.send_batch(),
        lambda: p.run(max_rounds=1),
        p.replay_dead_letters,
    ):
        with pytest.raises(NotificationError, match=r"clock\(\) returned"):
            call()
        assert _state(p) == before
    clock.now = 1_780_000_010.0  # a good clock again: the waiting notification goes out
    p.run()
    assert p.counts["delivered"] == 2


@settings(max_examples=60, deadline=None)
@given(
    now=st.one_of(
        st.floats(allow_nan=False, allow_infinity=False),
        st.sampled_from([0.0, -0.0, -1.0, 1e-300, 1e11, 1e11 + 1, 2e11, 1_780_000_000.0]),
    )
)
def test_accept_takes_exactly_the_readings_a_take_takes(now: float) -> None:
    """A reading ``accept`` took but ``take`` refused left the item stuck in the queue."""
    take_ok = now == 0.0 or 0.0 < now <= 1e11  # the oracle: check_take's range
    clock = Clock(now)
    p = _pipeline(clock)
    p.quiet = None  # no deferral: an accepted item goes out in the run
    if not take_ok:
        with pytest.raises(NotificationError, match=r"Pipeline\.accept: the clock's reading"):
            p.accept(_note("k"))
        assert (len(p.accepted), sorted(p.keys)) == (0, [])
        return
    assert p.accept(_note("k"))
    p.run()
    assert p.counts["delivered"] == 1
