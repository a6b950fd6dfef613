"""workflows: the state machine, the saga, the step logs, outbox, timers, the food world, plots.

Paths (``SQLiteLog(path)``, ``Inbox(path)``, ``World(path)``) are not fuzzed here, because a
hostile but valid string would create a file; ``tests/workflows/test_bad_input.py`` covers them.
``SagaResult`` and ``TraceEntry`` are results the library builds, not inputs (``NOT_FUZZED``).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from designpatterns_ref import workflows as wf
from designpatterns_ref.clock import ManualClock
from designpatterns_ref.workflows import base
from designpatterns_ref.workflows.plot import plot_saga_timeline, plot_state_diagram, state_layout
from tests.fuzz.spec import Entry

ERRORS = (wf.WorkflowError,)
NOT_FUZZED: dict[str, str] = {
    "Inbox": "a hostile but valid path string would create a file; "
    "tests/workflows/test_bad_input.py covers its path",
    "SagaResult": "how a saga run ended, as Saga.run returns it; users read it and hand it, as "
    "returned, to plot_saga_timeline",
    "TraceEntry": "one timed step of a run, inside a SagaResult; users read it",
}

SPEC = wf.ORDER_SPEC
_S = wf.OrderScenario("o1", 100, True, 30.0, True, 1, False)
_T = [wf.Transition("go", ("a",), "b")]


def _spec(**kw: Any) -> Any:
    args: dict[str, Any] = {"name": "m", "states": ["a", "b"], "initial": "a", "transitions": _T}
    return wf.MachineSpec(**{**args, **kw})


def _saga() -> Any:
    return wf.Orchestrator([wf.Step("a", lambda ctx: 1, lambda ctx, r: None)])


def _world() -> Any:
    return wf.World(":memory:", [_S], clock=ManualClock())


def _world_state(w: Any) -> object:
    return (w.effects(), w.conn.execute("SELECT * FROM idempotency").fetchall())


def _sqlite_state(log: Any) -> object:
    return (
        log._conn.execute("SELECT * FROM steps").fetchall(),
        log._conn.execute("SELECT * FROM outbox").fetchall(),
    )


def _memory_state(log: Any) -> object:
    return (dict(log._steps), dict(log._outbox))


def _inbox() -> Any:
    return wf.Inbox(sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False))


def _inbox_state(inbox: Any) -> object:
    return inbox.conn.execute("SELECT * FROM inbox").fetchall()


def _scenario(field: str) -> Entry:
    fields = {
        "order_id": "o1",
        "amount": 100,
        "card_ok": True,
        "restaurant_delay": 1.0,
        "restaurant_accepts": True,
        "driver_after": 1,
        "kitchen_fails": False,
    }
    return Entry(
        f"OrderScenario({field}=)", call=lambda _, v: wf.OrderScenario(**{**fields, field: v})
    )


def _logged(log: Any) -> Any:
    """``log`` holding one recorded step of workflow ``w``."""
    log.put("w", "k", 1)
    return log


def _log_entries(name: str, make: Any, snap: Any) -> list[Entry]:
    return [
        Entry(
            f"{name}.get(workflow_id)", make=make, snapshot=snap, call=lambda g, v: g.get(v, "k")
        ),
        Entry(f"{name}.get(key)", make=make, snapshot=snap, call=lambda g, v: g.get("w", v)),
        Entry(
            f"{name}.put(workflow_id)", make=make, snapshot=snap, call=lambda g, v: g.put(v, "k", 1)
        ),
        Entry(f"{name}.put(key)", make=make, snapshot=snap, call=lambda g, v: g.put("w", v, 1)),
        Entry(
            f"{name}.put(result)", make=make, snapshot=snap, call=lambda g, v: g.put("w", "k", v)
        ),
        Entry(
            f"{name}.put(events)", make=make, snapshot=snap, call=lambda g, v: g.put("w", "k", 1, v)
        ),
        Entry(
            f"{name}.put(events=[v])",
            make=make,
            snapshot=snap,
            call=lambda g, v: g.put("w", "k", 1, [v]),
        ),
        Entry(f"{name}.pending(limit)", make=make, snapshot=snap, call=lambda g, v: g.pending(v)),
        Entry(
            f"{name}.mark_published",
            make=make,
            snapshot=snap,
            call=lambda g, v: g.mark_published(v),
        ),
        Entry(
            f"{name}.mark_published([v])",
            make=make,
            snapshot=snap,
            call=lambda g, v: g.mark_published([v]),
        ),
    ]


ENTRIES = [
    # the state machine
    Entry("MachineSpec(name)", call=lambda _, v: _spec(name=v)),
    Entry("MachineSpec(states)", call=lambda _, v: _spec(states=v)),
    Entry("MachineSpec(states=[v])", call=lambda _, v: _spec(states=["a", "b", v])),
    Entry("MachineSpec(initial)", call=lambda _, v: _spec(initial=v)),
    Entry("MachineSpec(transitions)", call=lambda _, v: _spec(transitions=v)),
    Entry("MachineSpec(transitions=[v])", call=lambda _, v: _spec(transitions=[v])),
    Entry(
        "Transition(event)", call=lambda _, v: _spec(transitions=[wf.Transition(v, ("a",), "b")])
    ),
    Entry(
        "Transition(sources)", call=lambda _, v: _spec(transitions=[wf.Transition("go", v, "b")])
    ),
    Entry(
        "Transition(target)", call=lambda _, v: _spec(transitions=[wf.Transition("go", ("a",), v)])
    ),
    Entry(
        "Transition(guard)",
        call=lambda _, v: _spec(transitions=[wf.Transition("go", ("a",), "b", v)]),
    ),
    Entry("MachineSpec(guards)", call=lambda _, v: _spec(guards=v)),
    Entry("MachineSpec(guards[g])", call=lambda _, v: _spec(guards={"g": v})),
    Entry("MachineSpec(final)", call=lambda _, v: _spec(final=v)),
    Entry("MachineSpec.allowed", call=lambda _, v: SPEC.allowed(v)),
    Entry("MachineSpec.next_state(state)", call=lambda _, v: SPEC.next_state(v, "reject")),
    Entry("MachineSpec.next_state(event)", call=lambda _, v: SPEC.next_state("placed", v)),
    Entry("MachineSpec.next_state(ctx)", call=lambda _, v: SPEC.next_state("placed", "accept", v)),
    Entry(
        "MachineSpec.reference_next(ctx)",
        call=lambda _, v: SPEC.reference_next("placed", "accept", v),
    ),
    Entry("Machine(spec)", call=lambda _, v: wf.Machine(v)),
    Entry("Machine(state)", call=lambda _, v: wf.Machine(SPEC, v)),
    Entry("new_order(state)", call=lambda _, v: wf.new_order(v)),
    Entry("Machine.fire(event)", make=wf.new_order, call=lambda m, v: m.fire(v)),
    Entry("Machine.fire(accept, ctx)", make=wf.new_order, call=lambda m, v: m.fire("accept", v)),
    Entry("Machine.fire(reject, ctx)", make=wf.new_order, call=lambda m, v: m.fire("reject", v)),
    Entry(
        "Machine.fire(accept, waited)",
        make=wf.new_order,
        call=lambda m, v: m.fire("accept", {"waited": v}),
    ),
    Entry("Machine.can(event)", make=wf.new_order, call=lambda m, v: m.can(v)),
    Entry("Machine.can(ctx)", make=wf.new_order, call=lambda m, v: m.can("accept", v)),
    # the saga
    Entry("Orchestrator(steps)", call=lambda _, v: wf.Orchestrator(v)),
    Entry("Orchestrator(steps=[v])", call=lambda _, v: wf.Orchestrator([v])),
    Entry("Step(name)", call=lambda _, v: wf.Orchestrator([wf.Step(v, lambda c: 1)])),
    Entry("Step(action)", call=lambda _, v: wf.Orchestrator([wf.Step("a", v)])),
    Entry("Step(compensate)", call=lambda _, v: wf.Orchestrator([wf.Step("a", lambda c: 1, v)])),
    Entry(
        "Step(transitions)",
        call=lambda _, v: wf.Orchestrator([wf.Step("a", lambda c: 1, None, (v,))]),
    ),
    Entry(
        "Step(transitions=v)",
        call=lambda _, v: wf.Orchestrator([wf.Step("a", lambda c: 1, None, v)]),
    ),
    Entry(
        "Step(undo_transitions=v)",
        call=lambda _, v: wf.Orchestrator([wf.Step("a", lambda c: 1, None, (), v)]),
    ),
    Entry(
        "Step(transitions) with a spec",
        call=lambda _, v: wf.Orchestrator([wf.Step("a", lambda c: 1, None, (v,))], spec=SPEC),
    ),
    Entry("StepFailed(reason)", call=lambda _, v: wf.StepFailed(v)),
    Entry("StepFailed(transitions)", call=lambda _, v: wf.StepFailed("no", v)),
    Entry("StepFailed(transitions=(v,))", call=lambda _, v: wf.StepFailed("no", (v,))),
    Entry("StepFailed(data)", call=lambda _, v: wf.StepFailed("no", (), v)),
    Entry("StepFailed(data={k: v})", call=lambda _, v: wf.StepFailed("no", (), {"k": v})),
    Entry(
        "Orchestrator.run(a step's result)",
        make=wf.MemoryLog,
        snapshot=_memory_state,
        call=lambda log, v: wf.Orchestrator([wf.Step("a", lambda c: v)], log=log).run("w"),
    ),
    Entry("Orchestrator(log)", call=lambda _, v: wf.Orchestrator([wf.Step("a", print)], log=v)),
    Entry("Orchestrator(spec)", call=lambda _, v: wf.Orchestrator([wf.Step("a", print)], spec=v)),
    Entry("Orchestrator(topic)", call=lambda _, v: wf.Orchestrator([wf.Step("a", print)], topic=v)),
    Entry("Orchestrator(clock)", call=lambda _, v: wf.Orchestrator([wf.Step("a", print)], clock=v)),
    Entry(
        "Orchestrator(undo_retry)",
        call=lambda _, v: wf.Orchestrator([wf.Step("a", print)], undo_retry=v),
    ),
    Entry("Orchestrator(sleep)", call=lambda _, v: wf.Orchestrator([wf.Step("a", print)], sleep=v)),
    Entry(
        "Orchestrator(on_point)",
        call=lambda _, v: wf.Orchestrator([wf.Step("a", print)], on_point=v),
    ),
    Entry(
        "Orchestrator.run(workflow_id)",
        make=_saga,
        snapshot=lambda s: _memory_state(s.log),
        call=lambda s, v: s.run(v),
    ),
    Entry(
        "Orchestrator.run(ctx)",
        make=_saga,
        snapshot=lambda s: _memory_state(s.log),
        call=lambda s, v: s.run("w", v),
    ),
    # logs, outbox, inbox
    Entry("SQLiteLog(synchronous)", call=lambda _, v: wf.SQLiteLog(":memory:", synchronous=v)),
    *_log_entries("SQLiteLog", lambda: wf.SQLiteLog(":memory:"), _sqlite_state),
    *_log_entries("MemoryLog", wf.MemoryLog, _memory_state),
    Entry(
        "SQLiteLog.results(workflow_id)",
        make=lambda: _logged(wf.SQLiteLog(":memory:")),
        snapshot=_sqlite_state,
        call=lambda g, v: g.results(v),
    ),
    Entry("Event(event_id)", call=lambda _, v: wf.Event(v, "t", "o")),
    Entry("Event(topic)", call=lambda _, v: wf.Event("e", v, "o")),
    Entry("Event(order_id)", call=lambda _, v: wf.Event("e", "t", v)),
    Entry("Event(data)", call=lambda _, v: wf.Event("e", "t", "o", v)),
    Entry("Relay(log)", call=lambda _, v: wf.Relay(v, print)),
    Entry("Relay(publish)", call=lambda _, v: wf.Relay(wf.MemoryLog(), v)),
    Entry("Relay(batch)", call=lambda _, v: wf.Relay(wf.MemoryLog(), print, batch=v)),
    Entry("Relay(on_point)", call=lambda _, v: wf.Relay(wf.MemoryLog(), print, on_point=v)),
    Entry(
        "Inbox.handle(event)",
        make=_inbox,
        snapshot=_inbox_state,
        call=lambda i, v: i.handle(v, lambda c, e: None),
    ),
    Entry(
        "Inbox.handle(handler)",
        make=_inbox,
        snapshot=_inbox_state,
        call=lambda i, v: i.handle(wf.Event("e", "t", "o"), v),
    ),
    Entry("Inbox.seen", make=_inbox, snapshot=_inbox_state, call=lambda i, v: i.seen(v)),
    # timers
    *(
        Entry(f"Backoff({f})", call=lambda _, v, f=f: wf.Backoff(**{f: v}))
        for f in ("base", "factor", "cap", "attempts")
    ),
    Entry("Deadline(seconds)", call=lambda _, v: wf.Deadline(v, clock=ManualClock())),
    Entry("Deadline(clock)", call=lambda _, v: wf.Deadline(1.0, clock=v)),
    Entry("retry(attempt)", call=lambda _, v: wf.retry(v, wf.Backoff(), sleep=print)),
    Entry("retry(backoff)", call=lambda _, v: wf.retry(lambda: 1, v, sleep=print)),
    Entry("retry(sleep)", call=lambda _, v: wf.retry(lambda: 1, wf.Backoff(), sleep=v)),
    Entry(
        "wait_for(poll)",
        call=lambda _, v: wf.wait_for(
            v, wf.Deadline(1.0, clock=ManualClock()), interval=1.0, sleep=print
        ),
    ),
    Entry(
        "wait_for(deadline)",
        call=lambda _, v: wf.wait_for(lambda w: 1, v, interval=1.0, sleep=print),
    ),
    Entry(
        "wait_for(interval)",
        call=lambda _, v: wf.wait_for(
            lambda w: 1, wf.Deadline(1.0, clock=ManualClock()), interval=v, sleep=print
        ),
    ),
    Entry(
        "wait_for(sleep)",
        call=lambda _, v: wf.wait_for(
            lambda w: 1, wf.Deadline(1.0, clock=ManualClock()), interval=1.0, sleep=v
        ),
    ),
    # the food world
    *(
        _scenario(f)
        for f in (
            "order_id",
            "amount",
            "card_ok",
            "restaurant_delay",
            "restaurant_accepts",
            "driver_after",
            "kitchen_fails",
        )
    ),
    Entry("random_scenarios(n)", call=lambda _, v: wf.random_scenarios(v)),
    Entry("random_scenarios(seed)", call=lambda _, v: wf.random_scenarios(2, v)),
    Entry("expected", call=lambda _, v: wf.expected(v)),
    Entry("World(scenarios)", call=lambda _, v: wf.World(":memory:", v, clock=ManualClock())),
    Entry("World(scenarios=[v])", call=lambda _, v: wf.World(":memory:", [v], clock=ManualClock())),
    Entry("World(clock)", call=lambda _, v: wf.World(":memory:", [_S], clock=v)),
    *(
        Entry(
            f"World.{m}(order_id)",
            make=_world,
            snapshot=_world_state,
            call=lambda w, v, m=m: getattr(w, m)(v, "key"),
        )
        for m in ("charge", "refund", "send_ticket", "cancel_ticket", "release_driver")
    ),
    *(
        Entry(
            f"World.{m}(key)",
            make=_world,
            snapshot=_world_state,
            call=lambda w, v, m=m: getattr(w, m)("o1", v),
        )
        for m in ("charge", "refund", "send_ticket", "cancel_ticket", "release_driver")
    ),
    Entry(
        "World.assign_driver(driver)",
        make=_world,
        snapshot=_world_state,
        call=lambda w, v: w.assign_driver("o1", v, "k"),
    ),
    Entry(
        "World.restaurant_answer(waited)",
        make=_world,
        snapshot=_world_state,
        call=lambda w, v: w.restaurant_answer("o1", v),
    ),
    Entry(
        "World.find_driver(attempt)",
        make=_world,
        snapshot=_world_state,
        call=lambda w, v: w.find_driver("o1", v),
    ),
    Entry("World.scenario", make=_world, snapshot=_world_state, call=lambda w, v: w.scenario(v)),
    Entry("World.notify", make=_world, snapshot=_world_state, call=lambda w, v: w.notify(v)),
    Entry("World.effects", make=_world, snapshot=_world_state, call=lambda w, v: w.effects(v)),
    Entry("order_saga(world)", call=lambda _, v: wf.order_saga(v, clock=ManualClock())),
    Entry("order_saga(clock)", call=lambda _, v: wf.order_saga(_world(), clock=v)),
    Entry(
        "order_saga.run(workflow_id)",
        make=lambda: wf.order_saga(_world(), clock=ManualClock()),
        snapshot=lambda s: _memory_state(s.log),
        call=lambda s, v: s.run(v),
    ),
    Entry("EventBus.subscribe(topic)", make=wf.EventBus, call=lambda b, v: b.subscribe(v, print)),
    Entry("EventBus.subscribe(handler)", make=wf.EventBus, call=lambda b, v: b.subscribe("t", v)),
    Entry("EventBus.publish", make=wf.EventBus, call=lambda b, v: b.publish(v)),
    Entry("Choreography(world)", call=lambda _, v: wf.Choreography(v, clock=ManualClock())),
    Entry("Choreography(clock)", call=lambda _, v: wf.Choreography(_world(), clock=v)),
    Entry(
        "Choreography.place",
        make=lambda: wf.Choreography(_world(), clock=ManualClock()),
        snapshot=lambda c: (_world_state(c.world), len(c.log)),
        call=lambda c, v: c.place(v),
    ),
    # plots and helpers
    Entry("plot_saga_timeline", call=lambda _, v: plot_saga_timeline(v)),
    Entry("plot_state_diagram", call=lambda _, v: plot_state_diagram(v)),
    Entry("state_layout", call=lambda _, v: state_layout(v)),
    Entry("check_name", call=lambda _, v: base.check_name("f", "x", v)),
    Entry("check_count", call=lambda _, v: base.check_count("f", "x", v, 0, 10)),
    Entry("check_seconds", call=lambda _, v: base.check_seconds("f", "x", v)),
]
