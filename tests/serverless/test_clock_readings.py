"""A clock reading that is not a finite number of seconds is refused with ServerlessError
before anything changes: the Queue stored NaN as a send time (a message never visible again),
the table's TTL sweep compared with it, the idempotency layer wrote NaN expiries, and the
breaker counted a failure, then failed reading the clock (a bare TypeError) half-changed."""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest

import designpatterns_ref.serverless as sl
from designpatterns_ref.serverless import ServerlessError

BAD: list[Any] = [math.nan, math.inf, -math.inf, True, "1", None, 10**400]
IDS = ["nan", "inf", "-inf", "True", "str", "None", "10**400"]
CLOCK = r"clock\(\) returned"


def _state(obj: Any) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in vars(obj).items() if k != "clock"}


class Clock:
    """A clock the test sets, to bad readings too."""

    def __init__(self, now: Any = 1000.0) -> None:
        self.now = now

    def __call__(self) -> Any:
        return self.now


@pytest.mark.parametrize("bad", BAD, ids=IDS)
def test_queue_refuses_a_bad_reading_and_changes_nothing(bad: Any) -> None:
    clock = Clock()
    q = sl.Queue(clock, visibility_timeout=5.0)
    q.send({"n": 1})
    q.send({"n": 2})
    q.receive()
    before = _state(q)
    clock.now = bad
    for call in (lambda: q.send({"n": 3}), q.receive, q.oldest_age, q.visible):
        with pytest.raises(ServerlessError, match=CLOCK):
            call()
        assert _state(q) == before


@pytest.mark.parametrize("bad", BAD, ids=IDS)
def test_table_and_idempotency_refuse_a_bad_reading_and_change_nothing(bad: Any) -> None:
    clock = Clock()
    table = sl.KeyValueTable(clock=clock)
    layer = sl.Idempotency(table, clock=clock)
    done = layer.begin({"id": "done"})
    layer.complete({"id": "done"}, {"ok": True}, token=done.token)
    held = layer.begin({"id": "held"})
    before = table.scan()
    clock.now = bad
    for call in (
        table.sweep,
        lambda: layer.begin({"id": "new"}),
        lambda: layer.complete({"id": "held"}, {"ok": True}, token=held.token),
    ):
        with pytest.raises(ServerlessError, match=CLOCK):
            call()
        assert table.scan() == before


@pytest.mark.parametrize("bad", BAD, ids=IDS)
def test_breaker_refuses_a_bad_reading_and_changes_nothing(bad: Any) -> None:
    clock = Clock()
    closed = sl.Breaker(clock, threshold=2, cool_down=10.0)
    closed.failure()
    opened = sl.Breaker(clock, threshold=1, cool_down=10.0)
    opened.failure()
    before = (_state(closed), _state(opened))
    clock.now = bad
    for call in (closed.failure, opened.allow):
        with pytest.raises(ServerlessError, match=CLOCK):
            call()
        assert (_state(closed), _state(opened)) == before
