"""Hostile values at every public entry point: the family's error, and nothing changed."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

import designpatterns_ref.serverless as sl
from designpatterns_ref.clock import ManualClock
from designpatterns_ref.serverless import ServerlessError

HOSTILE: list[Any] = [
    None, True, False, math.nan, math.inf, -math.inf, 10**400, -1, "", "x" * 5000, "\ud800",
    b"bytes", [], {}, object(), 1j,
]  # fmt: skip


def _ops() -> sl.PatientOps:
    ops = sl.PatientOps(sl.KeyValueTable(clock=ManualClock()))
    ops.add_patient("p1", "+46701234567", "Ada")
    ops.add_appointment("a1", "p1", "c1", "2026-12-06T09:00")
    ops.add_recall("flu", "p1", "2026-12-01")
    return ops


def _queue() -> sl.Queue:
    q = sl.Queue(sl.Scheduler(), max_receives=1, dead_letter=sl.Queue(sl.Scheduler()))
    q.send({"n": 1})
    return q


def _layer() -> sl.Idempotency:
    clock = ManualClock()
    layer = sl.Idempotency(sl.KeyValueTable(clock=clock), clock=clock)
    layer.run(lambda e: {"booking": 1}, {"call": 1})
    layer.begin({"call": 2})  # an invocation still running
    return layer


def _not_json(value: object) -> object:
    """``value`` if it is no JSON value (NaN, infinities, objects), else an object()."""
    if value is None or isinstance(value, str | int | list | dict):
        return object()
    return value


def _token(layer: sl.Idempotency) -> str:
    rec = layer.record({"call": 2})
    assert rec is not None
    return rec.token


CASES: list[tuple[str, Callable[[], Any], Callable[[Any], object], Callable[[Any, Any], Any]]] = [
    ("add_patient(phone)", _ops, lambda o: o.table.scan(),
     lambda o, v: o.add_patient("p2", v, "Bo")),
    ("add_patient(patient)", _ops, lambda o: o.table.scan(),
     lambda o, v: o.add_patient(v, "+46701234568", "Bo")),
    ("add_appointment(at)", _ops, lambda o: o.table.scan(),
     lambda o, v: o.add_appointment("a2", "p1", "c1", v)),
    ("add_recall(due)", _ops, lambda o: o.table.scan(), lambda o, v: o.add_recall("flu", "p1", v)),
    ("upcoming(now)", _ops, lambda o: o.table.scan(), lambda o, v: o.upcoming("c1", v)),
    ("table.put(item)", _ops, lambda o: o.table.scan(), lambda o, v: o.table.put(v)),
    ("table.put(ttl)", _ops, lambda o: o.table.scan(),
     lambda o, v: o.table.put({"pk": "x", "sk": "y", "ttl": v})),
    ("queue.send", _queue, lambda q: [(m.body, m.receive_count) for m in q.peek()],
     lambda q, v: q.send(v)),
    ("queue.receive", _queue, lambda q: [(m.body, m.receive_count) for m in q.peek()],
     lambda q, v: q.receive(v)),
    ("idempotency.run(event)", _layer, lambda x: (x.table.scan(), x.executions),
     lambda x, v: x.run(lambda e: 1, v)),
    ("idempotency.complete(response)", _layer, lambda x: (x.table.scan(), x.executions),
     lambda x, v: x.complete({"call": 2}, _not_json(v), token=_token(x))),
    ("idempotency.complete(token)", _layer, lambda x: (x.table.scan(), x.executions),
     lambda x, v: x.complete({"call": 2}, {"booking": 2}, token=v)),
    ("idempotency.abandon(token)", _layer, lambda x: (x.table.scan(), x.executions),
     lambda x, v: x.abandon({"call": 2}, token=v)),
    ("scheduler.at(when)", sl.Scheduler, lambda s: (s.now, s.pending),
     lambda s, v: s.at(v, lambda: None)),
    ("Scenario(calls)", lambda: None, lambda _: None, lambda _, v: sl.Scenario(calls=v)),
    ("Scenario(hot_clinic_share)", lambda: None, lambda _: None,
     lambda _, v: sl.Scenario(hot_clinic_share=v)),
]  # fmt: skip


@pytest.mark.parametrize(("name", "make", "snapshot", "call"), CASES, ids=[c[0] for c in CASES])
def test_hostile_values_are_refused_and_change_nothing(
    name: str,
    make: Callable[[], Any],
    snapshot: Callable[[Any], object],
    call: Callable[[Any, Any], Any],
) -> None:
    refused = 0
    for value in HOSTILE:
        obj = make()
        before = snapshot(obj)
        try:
            call(obj, value)
        except ServerlessError:
            refused += 1
            assert snapshot(obj) == before, (name, value)
    assert refused >= len(HOSTILE) - 2, name  # at most None (a default) and one more accepted


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda o: o.add_patient("p2", "0701234567", "Bo"), "E.164"),
        (lambda o: o.add_appointment("a2", "p1", "c1", "2026-13-01T09:00"), "YYYY-MM-DDTHH:MM"),
        (lambda o: o.add_recall("flu", "p 1", "2026-12-01"), "A-Z a-z 0-9"),
        (lambda o: o.table.put({"pk": "a"}), "no 'sk'"),
        (lambda o: o.table.put({"pk": "a", "sk": "b", "gsi1pk": "x"}), "give both"),
        (lambda o: o.table.query("a", index="gsi3"), "must be one of"),
    ],
)
def test_the_reason_is_named(call: Callable[[sl.PatientOps], object], words: str) -> None:
    ops = _ops()
    before = ops.table.scan()
    with pytest.raises(ServerlessError, match=words):
        call(ops)
    assert ops.table.scan() == before


def test_a_refused_receive_changes_nothing() -> None:
    q = _queue()
    before = [(m.body, m.receive_count, m.visible_at) for m in q.peek()]
    for value in (0, -1, True, 1.5, None, 10**400):
        with pytest.raises(ServerlessError):
            q.receive(value)
    assert [(m.body, m.receive_count, m.visible_at) for m in q.peek()] == before
