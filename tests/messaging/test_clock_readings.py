"""Presence and ReadStates refuse a clock reading that is not a finite number of seconds with
MessagingError before anything changes: a NaN heartbeat kept a user online for ever (every
comparison with it is false), True passed for second 1, a str or None failed with a bare
TypeError, and ReadStates wrote a batch and only then failed reading the clock."""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest

from designpatterns_ref.messaging import MessagingError, Presence
from designpatterns_ref.messaging.readstates import ReadStates

BAD: list[Any] = [math.nan, math.inf, -math.inf, True, "1", None, 10**400]
IDS = ["nan", "inf", "-inf", "True", "str", "None", "10**400"]
CLOCK = r"clock\(\) returned"


def _state(obj: Any, *skip: str) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in vars(obj).items() if k not in ("_clock", *skip)}


@pytest.mark.parametrize("bad", BAD, ids=IDS)
def test_presence_refuses_a_bad_reading_and_changes_nothing(bad: Any) -> None:
    now: list[Any] = [100.0]
    p = Presence(lambda: now[0], ttl=30.0)
    p.subscribe("bob", "ada")
    p.heartbeat("ada")
    p.flush()
    p.heartbeat("cy", "away")
    before = _state(p)
    now[0] = bad
    for call in (
        lambda: p.heartbeat("ada"),
        lambda: p.disconnect("ada"),
        lambda: p.state("ada"),
        p.flush,
    ):
        with pytest.raises(MessagingError, match=CLOCK):
            call()
        assert _state(p) == before
    with pytest.raises(MessagingError, match=CLOCK):
        Presence(lambda: now[0]).heartbeat("ada")


@pytest.mark.parametrize("bad", BAD, ids=IDS)
def test_read_states_refuse_a_bad_reading_and_change_nothing(bad: Any) -> None:
    now: list[Any] = [100.0]
    rs = ReadStates(flush_entries=100, flush_interval=1.0, clock=lambda: now[0])
    rs.ack("ada", "general", 5)
    rs.flush()
    rs.mention("ada", "general")
    before = (_state(rs, "store"), rs.store.load("ada", "general"))
    now[0] = bad
    for call in (
        lambda: rs.ack("ada", "general", 9),
        lambda: rs.mention("ada", "general"),
        rs.flush,
    ):
        with pytest.raises(MessagingError, match=CLOCK):
            call()
        assert (_state(rs, "store"), rs.store.load("ada", "general")) == before
    with pytest.raises(MessagingError, match=CLOCK):
        ReadStates(clock=lambda: now[0])
