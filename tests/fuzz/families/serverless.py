"""serverless: the runtime (scheduler, queue, function, table, object store), the idempotency
layer, the single-table access patterns, the breaker and gate, the simulation and its plots.

Not registered: the result records (``NOT_FUZZED``). ``Record`` is one too, but users ask it
two questions (``expired``, ``abandoned``): those are fuzzed on a record the layer returned.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import designpatterns_ref.serverless as sl
from designpatterns_ref.clock import ManualClock
from designpatterns_ref.serverless.plot import plot_outcomes, plot_queue_age
from tests.fuzz.helpers import per_argument
from tests.fuzz.spec import Entry

ERRORS = (sl.ServerlessError,)
NOT_FUZZED: dict[str, str] = {
    "Record": "the idempotency record the layer stores and returns; its two questions (expired, "
    "abandoned) are fuzzed on a returned record",
    "Message": "a copy of a queued message that Queue.receive and Queue.peek return; users read "
    "it and hand back its receipt (a str, fuzzed at Queue.delete)",
    "Outcome": "how one invocation ended, as Function reports it; users read it",
    "Report": "the result of simulate; users read it",
    "Sample": "one measurement inside a Report; users read it",
}


def _queue() -> sl.Queue:
    s = sl.Scheduler()
    q = sl.Queue(s, visibility_timeout=5, max_receives=2, dead_letter=sl.Queue(s))
    q.send({"n": 1})
    return q


def _queue_state(q: sl.Queue) -> object:
    return [(m.id, m.body, m.receive_count, m.visible_at, m.receipt) for m in q.peek()], q.sent


def _table() -> sl.KeyValueTable:
    t = sl.KeyValueTable(clock=ManualClock())
    t.put({"pk": "a", "sk": "1", "v": 1})
    return t


def _layer() -> sl.Idempotency:
    clock = ManualClock()
    layer = sl.Idempotency(sl.KeyValueTable(clock=clock), clock=clock)
    layer.run(lambda e: "ok", {"call": 1})
    layer.begin({"call": 2})  # an invocation still running
    return layer


def _token(layer: sl.Idempotency) -> str:
    rec = layer.record({"call": 2})
    assert rec is not None
    return rec.token


def _ops() -> sl.PatientOps:
    ops = sl.PatientOps(sl.KeyValueTable())
    ops.add_patient("p1", "+46701234567", "Ada")
    return ops


def _items() -> list[dict[str, Any]]:
    """What a scan of a table holding one item of each kind gives (the oracles' input)."""
    ops = _ops()
    ops.add_appointment("a1", "p1", "c1", "2026-12-06T09:00")
    ops.add_recall("flu", "p1", "2026-12-06")
    return ops.table.scan()


def _record() -> sl.Record:
    rec = _layer().record({"call": 2})
    assert rec is not None
    return rec


def _store() -> sl.ObjectStore:
    store = sl.ObjectStore()
    store.put("a/1", b"x")
    return store


def _gate() -> sl.EhrGate:
    return sl.EhrGate(sl.Breaker(ManualClock(), threshold=2), cap=2)


def _gate_state(g: sl.EhrGate) -> object:
    return g.in_flight, g.capped, g.breaker.state, g.breaker.failures


def _function() -> sl.Function:
    return sl.Function(sl.Scheduler(), lambda e: 1.0, concurrency=1)


def _fn_state(f: sl.Function) -> object:
    return f.busy, f.invocations, f.throttles, f.scheduler.pending


def _valid_text(value: object) -> bool:
    """Whether every string inside ``value`` (keys included) is valid text (no lone
    surrogate); values JSON cannot hold count as valid here (the call refuses them anyway)."""
    try:
        json.dumps(value, ensure_ascii=False, default=repr).encode("utf-8")
    except UnicodeEncodeError:
        return False
    except (TypeError, ValueError, RecursionError):
        return True
    return True


def _stores_text_only(call: Callable[[Any, Any], object]) -> Callable[[Any, Any], object]:
    """``call``, where a success with a lone surrogate inside the value is a failure: the
    payload is stored as JSON text, and names already refuse what it would hide."""

    def run(obj: Any, value: Any) -> object:
        out = call(obj, value)
        assert _valid_text(value), f"accepted a payload holding a lone surrogate: {value!r:.80}"
        return out

    return run


_GSIS = {"gsi1pk": "w", "gsi1sk": "x", "gsi2pk": "y", "gsi2sk": "z"}
_SCENARIO = {f: getattr(sl.Scenario(), f) for f in sl.Scenario.__dataclass_fields__}

ENTRIES: list[Entry] = [
    Entry("Scheduler(start)", call=lambda _, v: sl.Scheduler(v)),
    *per_argument(
        "Scheduler.at",
        lambda s, when, callback: s.at(when, callback),
        {"when": 1.0, "callback": lambda: None},
        make=sl.Scheduler,
        snapshot=lambda s: (s.now, s.pending),
    ),
    Entry(
        "Scheduler.after",
        make=sl.Scheduler,
        snapshot=lambda s: (s.now, s.pending),
        call=lambda s, v: s.after(v, lambda: None),
    ),
    Entry(
        "Scheduler.run(until)",
        make=sl.Scheduler,
        snapshot=lambda s: (s.now, s.pending),
        call=lambda s, v: s.run(v),
    ),
    *per_argument(
        "Queue",
        lambda _, **kw: sl.Queue(
            sl.Scheduler() if kw["clock"] == "ok" else kw["clock"],
            **{k: v for k, v in kw.items() if k != "clock"},
        ),
        {"clock": "ok", "visibility_timeout": 30.0, "max_receives": 3, "dead_letter": None},
    ),
    Entry(
        "Queue.send",
        make=_queue,
        snapshot=_queue_state,
        call=_stores_text_only(lambda q, v: q.send(v)),
    ),
    Entry(
        "Queue.send(nested)",
        make=_queue,
        snapshot=_queue_state,
        call=_stores_text_only(lambda q, v: q.send({"v": v})),
    ),
    Entry("Queue.receive", make=_queue, snapshot=_queue_state, call=lambda q, v: q.receive(v)),
    Entry("Queue.delete", make=_queue, snapshot=_queue_state, call=lambda q, v: q.delete(v)),
    *per_argument(
        "Function",
        lambda _, **kw: sl.Function(sl.Scheduler(), lambda e: 1.0, **kw),
        {"concurrency": 2, "cold_start": 0.5, "timeout": 3.0, "keep_warm": 60.0},
    ),
    Entry("Function(scheduler)", call=lambda _, v: sl.Function(v, lambda e: 1.0)),
    Entry("Function(handler)", call=lambda _, v: sl.Function(sl.Scheduler(), v)),
    *per_argument(
        "Function.invoke",
        lambda f, event, on_done: f.invoke(event, on_done),
        {"event": {"a": 1}, "on_done": lambda o: None},
        make=_function,
        snapshot=_fn_state,
    ),
    *per_argument(
        "KeyValueTable",
        lambda _, **kw: sl.KeyValueTable(**kw),
        {"path": ":memory:", "ttl_attribute": "ttl", "clock": ManualClock(), "busy_timeout": 5.0},
    ),
    Entry(
        "KeyValueTable.put(item)",
        make=_table,
        snapshot=lambda t: t.scan(),
        call=_stores_text_only(lambda t, v: t.put(v)),
    ),
    *[
        Entry(
            f"KeyValueTable.put(item[{attr}])",
            make=_table,
            snapshot=lambda t: t.scan(),
            call=_stores_text_only(
                lambda t, v, attr=attr: t.put({"pk": "a", "sk": "2", **_GSIS, attr: v})
            ),
        )
        for attr in ("pk", "sk", "gsi1pk", "gsi2sk", "ttl", "body")  # both halves of each index
    ],
    Entry(
        "KeyValueTable.put(condition)",
        make=_table,
        snapshot=lambda t: t.scan(),
        call=lambda t, v: t.put({"pk": "a", "sk": "1", "v": 2}, condition=v),
    ),
    *per_argument(
        "KeyValueTable.get",
        lambda t, pk, sk: t.get(pk, sk),
        {"pk": "a", "sk": "1"},
        make=_table,
        snapshot=lambda t: t.scan(),
    ),
    *per_argument(
        "KeyValueTable.delete",
        lambda t, pk, sk: t.delete(pk, sk),
        {"pk": "a", "sk": "1"},
        make=_table,
        snapshot=lambda t: t.scan(),
    ),
    *per_argument(
        "KeyValueTable.query",
        lambda t, pk, index, sk_from, sk_to: t.query(pk, index=index, sk_from=sk_from, sk_to=sk_to),
        {"pk": "a", "index": None, "sk_from": "0", "sk_to": "9"},
        make=_table,
        snapshot=lambda t: t.scan(),
    ),
    Entry("KeyValueTable.query_plan", make=_table, call=lambda t, v: t.query_plan(v)),
    *per_argument(
        "Idempotency",
        lambda _, **kw: sl.Idempotency(sl.KeyValueTable(), **kw),
        {
            "expires_after": 60.0,
            "in_progress_timeout": 5.0,
            "key_fields": None,
            "namespace": "idem",
            "clock": ManualClock(),
        },
    ),
    Entry("Idempotency(table)", call=lambda _, v: sl.Idempotency(v)),
    Entry(
        "Idempotency.key_fields=[v]",
        call=lambda _, v: sl.Idempotency(sl.KeyValueTable(), key_fields=[v]),
    ),
    *[
        Entry(
            f"Idempotency.{name}",
            make=_layer,
            snapshot=lambda x: (x.table.scan(), x.executions),
            call=_stores_text_only(lambda x, v, name=name: getattr(x, name)(v)),
        )
        for name in ("key", "record", "begin")
    ],
    *[
        Entry(
            f"Idempotency.{name}",
            make=_layer,
            snapshot=lambda x: (x.table.scan(), x.executions),
            call=_stores_text_only(call),
        )
        for name, call in (
            ("abandon(event)", lambda x, v: x.abandon(v, token=_token(x))),
            ("abandon(token)", lambda x, v: x.abandon({"call": 2}, token=v)),
            ("complete(event)", lambda x, v: x.complete(v, "ok", token=_token(x))),
            ("complete(response)", lambda x, v: x.complete({"call": 2}, v, token=_token(x))),
            ("complete(token)", lambda x, v: x.complete({"call": 2}, "ok", token=v)),
        )
    ],
    *[
        replace(e, call=_stores_text_only(e.call))
        for e in per_argument(
            "Idempotency.run",
            lambda x, handler, event: x.run(handler, event),
            {"handler": lambda e: "ok", "event": {"call": 2}},
            make=_layer,
            snapshot=lambda x: (x.table.scan(), x.executions),
        )
    ],
    Entry("Idempotency.wrap", make=_layer, call=lambda x, v: x.wrap(v)),
    Entry("PatientOps(table)", call=lambda _, v: sl.PatientOps(v)),
    *per_argument(
        "PatientOps.add_patient",
        lambda o, **kw: o.add_patient(**kw),
        {"patient": "p2", "phone": "+46701234568", "name": "Bo"},
        make=_ops,
        snapshot=lambda o: o.table.scan(),
    ),
    *per_argument(
        "PatientOps.add_appointment",
        lambda o, **kw: o.add_appointment(**kw),
        {"appointment": "a1", "patient": "p1", "clinic": "c1", "at": "2026-12-06T09:00"},
        make=_ops,
        snapshot=lambda o: o.table.scan(),
    ),
    *per_argument(
        "PatientOps.add_recall",
        lambda o, **kw: o.add_recall(**kw),
        {"campaign": "flu", "patient": "p1", "due": "2026-12-06"},
        make=_ops,
        snapshot=lambda o: o.table.scan(),
    ),
    Entry("PatientOps.patient_by_phone", make=_ops, call=lambda o, v: o.patient_by_phone(v)),
    *per_argument(
        "PatientOps.upcoming",
        lambda o, **kw: o.upcoming(**kw),
        {"clinic": "c1", "now": "2026-12-06T09:00", "until": None},
        make=_ops,
    ),
    *per_argument(
        "PatientOps.recall_due",
        lambda o, **kw: o.recall_due(**kw),
        {"campaign": "flu", "on": "2026-12-06"},
        make=_ops,
    ),
    *per_argument(
        "brute_patient_by_phone",
        lambda _, **kw: sl.brute_patient_by_phone(**kw),
        {"items": _items(), "phone": "+46701234567"},
    ),
    *per_argument(
        "brute_upcoming",
        lambda _, **kw: sl.brute_upcoming(**kw),
        {"items": _items(), "clinic": "c1", "now": "2026-12-06T09:00"},
    ),
    *per_argument(
        "brute_recall_due",
        lambda _, **kw: sl.brute_recall_due(**kw),
        {"items": _items(), "campaign": "flu", "on": "2026-12-06"},
    ),
    Entry(
        "brute_patient_by_phone(items=[item])",
        call=lambda _, v: sl.brute_patient_by_phone([v], "+46701234567"),
    ),
    Entry("Record.expired(now)", make=_record, call=lambda r, v: r.expired(v)),
    Entry("Record.abandoned(now)", make=_record, call=lambda r, v: r.abandoned(v)),
    *per_argument(
        "ObjectStore.put",
        lambda s, **kw: s.put(**kw),
        {"key": "a/2", "data": b"y", "if_none_match": False},
        make=_store,
        snapshot=lambda s: [(k, s.get(k)) for k in s.list()],
    ),
    Entry("ObjectStore.get", make=_store, call=lambda s, v: s.get(v)),
    Entry("ObjectStore.etag", make=_store, call=lambda s, v: s.etag(v)),
    Entry("ObjectStore.list", make=_store, call=lambda s, v: s.list(v)),
    *per_argument(
        "Breaker",
        lambda _, **kw: sl.Breaker(**kw),
        {"clock": ManualClock(), "threshold": 3, "cool_down": 10.0},
    ),
    *per_argument(
        "EhrGate",
        lambda _, **kw: sl.EhrGate(**kw),
        {"breaker": sl.Breaker(ManualClock()), "cap": 2},
    ),
    Entry("EhrGate.leave", make=_gate, snapshot=_gate_state, call=lambda g, v: g.leave(v)),
    *per_argument("Scenario", lambda _, **kw: sl.Scenario(**kw), _SCENARIO),
    Entry("simulate(scenario)", call=lambda _, v: sl.simulate(v)),
    Entry(
        "simulate(sample_every)",
        call=lambda _, v: sl.simulate(sl.Scenario(calls=5, burst_seconds=1.0), sample_every=v),
    ),
    Entry("plot_queue_age", call=lambda _, v: plot_queue_age(v)),
    Entry("plot_queue_age(report)", call=lambda _, v: plot_queue_age({"x": v})),
    Entry("plot_outcomes", call=lambda _, v: plot_outcomes(v)),
]
