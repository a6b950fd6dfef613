"""Hostile values at every public entry point: the family's error, and nothing changed."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

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


# A string holding at least one lone surrogate (a UTF-16 half: no valid text holds it).
_surrogate = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
_bad_text = st.builds(
    lambda a, s, b: a + s + b, st.text(max_size=4), _surrogate, st.text(max_size=4)
)
_json_ok = st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=4)
# A JSON value with a lone surrogate somewhere inside: a string, a key, at any depth.
_poisoned = st.recursive(
    _bad_text | st.builds(lambda k, v: {k: v}, _bad_text, _json_ok),
    lambda inner: (
        st.builds(lambda v, rest: [*rest, v], inner, st.lists(_json_ok, max_size=2))
        | st.builds(
            lambda k, v, rest: {**rest, k: v},
            st.text(max_size=3),
            inner,
            st.dictionaries(st.text(max_size=3), _json_ok, max_size=2),
        )
    ),
    max_leaves=6,
)


def _run_and_release(layer: sl.Idempotency, response: object) -> object:
    """Run a handler that returns ``response``. The handler did run, so a response that cannot
    be stored keeps its claim INPROGRESS (checked here); the claim is then released, so the
    caller's snapshot compares the rest of the table, which must be as it was."""
    try:
        return layer.run(lambda e: response, {"call": 3})
    except ServerlessError:
        rec = layer.record({"call": 3})
        assert rec is not None and rec.status == sl.INPROGRESS and rec.response is None
        assert layer.abandon({"call": 3}, token=rec.token)
        raise


Case = tuple[str, Callable[[], Any], Callable[[Any], object], Callable[[Any, Any], Any]]
PAYLOAD_ENTRIES: list[Case] = [
    ("Queue.send", _queue, lambda q: ([(m.body, m.receive_count) for m in q.peek()], q.sent),
     lambda q, v: q.send({"v": v})),
    ("KeyValueTable.put", _ops, lambda o: o.table.scan(),
     lambda o, v: o.table.put({"pk": "x", "sk": "y", "body": v})),
    ("Idempotency.run(event)", _layer, lambda x: (x.table.scan(), x.executions),
     lambda x, v: x.run(lambda e: 1, {"p": v})),
    ("Idempotency.run(response)", _layer, lambda x: x.table.scan(),
     lambda x, v: _run_and_release(x, {"r": v})),
    ("Idempotency.complete(response)", _layer, lambda x: (x.table.scan(), x.executions),
     lambda x, v: x.complete({"call": 2}, {"r": v}, token=_token(x))),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "make", "snapshot", "call"), PAYLOAD_ENTRIES, ids=[c[0] for c in PAYLOAD_ENTRIES]
)
def test_a_lone_surrogate_inside_a_payload_is_refused_and_changes_nothing(
    name: str,
    make: Callable[[], Any],
    snapshot: Callable[[Any], object],
    call: Callable[[Any, Any], Any],
) -> None:
    """A payload is stored as JSON text, and keys already refuse lone surrogates: so does a
    payload, wherever the surrogate sits (a value, a key, nested), even two halves that JSON
    would read back as one astral character."""

    @settings(max_examples=40, deadline=None)
    @given(_poisoned)
    @example("\ud800")
    @example({"\udfff": 1})
    @example([[{"k": ["ok", "x\udc80"]}]])
    @example("\ud83d\ude00")  # two halves of U+1F600 as separate code points
    def check(value: object) -> None:
        obj = make()
        before = snapshot(obj)
        with pytest.raises(ServerlessError, match="surrogate"):
            call(obj, value)
        assert snapshot(obj) == before

    check()
    obj = make()  # valid text, astral characters included, is stored as it is
    call(obj, ["é", "\U0001f600", {"ключ": "値"}])


@pytest.mark.parametrize("prefix", ["\ud800", "a/\udfff", "\ud83d\ude00"])
def test_a_listing_prefix_with_a_lone_surrogate_is_refused(prefix: str) -> None:
    """No key can hold a lone surrogate (put refuses it), so such a prefix is a bad value,
    refused as put refuses it, not an empty listing."""
    store = sl.ObjectStore()
    store.put("a/1", b"x")
    with pytest.raises(ServerlessError, match="surrogate"):
        store.list(prefix)
    assert store.list("a/") == ["a/1"] and store.list("") == ["a/1"]


@pytest.mark.parametrize("now", ["5", None, [], math.nan, math.inf, -1.0, 10**400], ids=repr)
def test_a_record_refuses_a_now_that_is_no_time(now: Any) -> None:
    clock = ManualClock()
    layer = sl.Idempotency(sl.KeyValueTable(clock=clock), clock=clock)
    layer.begin({"call": 1})
    rec = layer.record({"call": 1})
    assert rec is not None and not rec.expired(0.0) and not rec.abandoned(0.0)
    for question in (rec.expired, rec.abandoned):
        with pytest.raises(ServerlessError, match=r"^now=.* must be"):
            question(now)


def _scan() -> list[dict[str, Any]]:
    ops = sl.PatientOps(sl.KeyValueTable())
    ops.add_patient("p1", "+46701234567", "Ada")
    ops.add_appointment("a1", "p1", "c1", "2026-12-06T09:00")
    ops.add_recall("flu", "p1", "2026-12-06")
    return ops.table.scan()


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda items: sl.brute_patient_by_phone(items, 46701234567), "phone"),
        (lambda items: sl.brute_upcoming(items, "c1", 202612060900), "now"),
        (lambda items: sl.brute_upcoming(items, ["c1"], "2026-12-06T09:00"), "clinic"),
        (lambda items: sl.brute_recall_due(items, "flu", 20261206), "on"),
        (lambda items: sl.brute_recall_due(items, None, "2026-12-06"), "campaign"),
        (lambda items: sl.brute_recall_due(items[0], "flu", "2026-12-06"), "items"),
        (lambda items: sl.brute_patient_by_phone([1, *items], "+46701234567"), "items"),
    ],
)
def test_the_oracles_refuse_what_patient_ops_refuses(
    call: Callable[[list[dict[str, Any]]], object], name: str
) -> None:
    """The scan oracles check their arguments as PatientOps does (a TypeError deep in a
    comparison before), and still answer as it does on good ones."""
    items = _scan()
    with pytest.raises(ServerlessError, match=rf"^{name}=.* must"):
        call(items)
    assert [i["patient"] for i in sl.brute_recall_due(items, "flu", "2026-12-06")] == ["p1"]


@settings(max_examples=200, deadline=None)
@given(st.integers(-10, 100_000) | st.floats(allow_nan=True, allow_infinity=True))
@example(43_200)
@example(43_200.5)
@example(43_201)
def test_the_visibility_timeout_is_held_to_the_sqs_range(timeout: float) -> None:
    """SQS takes a visibility timeout of 0 to 43,200 s (12 hours) and refuses any other."""
    if math.isfinite(timeout) and 0 <= timeout <= 43_200:
        assert sl.Queue(sl.Scheduler(), visibility_timeout=timeout).visibility_timeout == timeout
        return
    with pytest.raises(ServerlessError, match=r"visibility_timeout=.*>= 0 and <= 43200"):
        sl.Queue(sl.Scheduler(), visibility_timeout=timeout)


@settings(max_examples=100, deadline=None)
@given(st.integers(-5, 1000))
@example(10)
@example(11)
def test_a_receive_takes_one_to_ten_messages_as_in_sqs(max_messages: int) -> None:
    """SQS's ReceiveMessage returns 1 to 10 messages; a larger batch is refused, unchanged."""
    q = sl.Queue(sl.Scheduler())
    for n in range(12):
        q.send({"n": n})
    before = [(m.body, m.receive_count, m.visible_at) for m in q.peek()]
    if 1 <= max_messages <= 10:
        assert len(q.receive(max_messages)) == max_messages
        return
    with pytest.raises(ServerlessError, match=rf"max_messages={max_messages} .*1 and 10"):
        q.receive(max_messages)
    assert [(m.body, m.receive_count, m.visible_at) for m in q.peek()] == before
