"""Generated sagas with a failure at any step, failing compensations and kills at every point,
against a model of which side effects must happen, in which order, and how often.

The model: with ``fail_at`` the first step that says no, the steps before it are done once
each (by idempotency key) and their compensations, for those that have one, run newest first,
each once by key; with no failure every step is done once and nothing is compensated. A kill
(the process dies) may come at any of the orchestrator's points, between a side effect and
its record included; the log is then closed and reopened, and the next run resumes. Calls to
the remote side can repeat only where a kill came after the call and before its record (the
remote side answers a repeated key with its first answer). The outcome is recorded once, with
one outbox event. Finally the order's state is rebuilt by a replay from the log, and the
replay answers exactly what the live run answered.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.workflows import (
    Backoff,
    MachineSpec,
    MemoryLog,
    Orchestrator,
    SQLiteLog,
    Step,
    StepFailed,
    Transition,
)


class Kill(BaseException):
    """The process dies at a point (nothing of the run after it happens)."""


def _spec(n: int) -> MachineSpec:
    """``did<i>`` after step ``i``, ``failed`` after the failure, ``undid<i>`` after undo ``i``."""
    states = ["start", "failed", *(f"did{i}" for i in range(n)), *(f"undid{i}" for i in range(n))]
    transitions = [
        Transition(f"do{i}", ("start",) if i == 0 else (f"did{i - 1}",), f"did{i}")
        for i in range(n)
    ]
    transitions.append(Transition("fail", tuple(states), "failed"))
    transitions += [Transition(f"undo{i}", tuple(states), f"undid{i}") for i in range(n)]
    return MachineSpec("model", states, "start", transitions)


def _points(n: int) -> list[str]:
    """Every point the orchestrator names for a saga of ``n`` steps."""
    out = ["outcome.recorded"]
    for i in range(n):
        out += [f"do:s{i}.{p}" for p in ("start", "done", "recorded")]
        out += [f"undo:s{i}.{p}" for p in ("start", "failed", "done", "recorded")]
    return out


@st.composite
def cases(draw: Any) -> dict[str, Any]:
    n = draw(st.integers(1, 4))
    return {
        "n": n,
        "fail_at": draw(st.one_of(st.none(), st.integers(0, n - 1))),
        "undo": draw(st.lists(st.booleans(), min_size=n, max_size=n)),
        "undo_fails": draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)),
        "kills": draw(st.lists(st.sampled_from(_points(n)), max_size=4)),
        "durable": draw(st.booleans()),
    }


def _model(case: dict[str, Any]) -> tuple[list[int], list[int], str, str]:
    """The steps done, the compensations in the order they must take effect, outcome, state."""
    n, fail_at, undo = case["n"], case["fail_at"], case["undo"]
    if fail_at is None:
        return list(range(n)), [], "completed", f"did{n - 1}"
    done = list(range(fail_at))
    undone = [i for i in reversed(done) if undo[i]]
    return done, undone, "compensated", f"undid{undone[-1]}" if undone else "failed"


def _check(case: dict[str, Any], tmp: Path) -> None:
    n, fail_at = case["n"], case["fail_at"]
    effects: dict[str, Any] = {}  # the remote side: key -> first answer
    order: list[str] = []  # keys in the order they first took effect
    calls: Counter[str] = Counter()
    undo_tries: Counter[int] = Counter()

    def remote(key: str, value: Any) -> Any:
        calls[key] += 1
        if key not in effects:
            effects[key] = value
            order.append(key)
        return effects[key]

    def action(i: int) -> Any:
        def do(ctx: dict[str, Any]) -> Any:
            assert [f"s{j}" in ctx for j in range(i)] == [True] * i  # earlier results replayed
            if i == fail_at:
                raise StepFailed(f"s{i} says no", ("fail",))
            return remote(f"do{i}", {"step": i})

        return do

    def compensate(i: int) -> Any:
        def undo_it(ctx: dict[str, Any], result: Any) -> Any:
            assert result == {"step": i}
            undo_tries[i] += 1
            if undo_tries[i] <= case["undo_fails"][i]:
                raise StepFailed(f"undo s{i} unreachable")
            return remote(f"undo{i}", f"undone {i}")

        return undo_it

    steps = [
        Step(
            f"s{i}",
            action(i),
            compensate(i) if case["undo"][i] else None,
            (f"do{i}",),
            (f"undo{i}",),
        )
        for i in range(n)
    ]
    kills = list(case["kills"])
    windows: Counter[str] = Counter()  # "do:s1" -> kills after its call, before its record

    def on_point(name: str) -> None:
        if kills and kills[0] == name:
            kills.pop(0)
            if name.endswith(".done"):
                windows[name.rsplit(".", 1)[0]] += 1
            raise Kill(name)

    clock = ManualClock()
    backoff = Backoff(base=1.0, factor=2.0, cap=4.0, attempts=2)

    def open_log() -> Any:
        return SQLiteLog(tmp / "wf.db") if case["durable"] else memory

    memory = MemoryLog()
    log = open_log()
    result = None
    for _ in range(40):  # each run dies at its kill, is stuck, or finishes
        saga = Orchestrator(
            steps, log=log, spec=_spec(n), clock=clock, on_point=on_point, undo_retry=backoff
        )
        try:
            result = saga.run("w")
        except Kill:
            if case["durable"]:
                log.close()
                log = open_log()  # the restart
            continue
        if result.outcome != "stuck":
            break
    assert result is not None and result.outcome != "stuck", (result, kills)
    done, undone, outcome, state = _model(case)
    assert result.outcome == outcome
    assert result.done == tuple(f"s{i}" for i in done)
    assert result.compensated == tuple(f"s{i}" for i in undone)
    assert result.failed_step == (None if fail_at is None else f"s{fail_at}")
    assert result.state == state
    assert result.refused == ()
    # each side effect once, in the model's order; a repeated call only after a kill between
    # the call and its record
    assert order == [f"do{i}" for i in done] + [f"undo{i}" for i in undone]
    for key, count in calls.items():
        kind, i = ("undo", key[4:]) if key.startswith("undo") else ("do", key[2:])
        assert count == 1 + windows[f"{kind}:s{i}"], (key, calls, windows)
    # the outcome once, announced once
    recorded = log.get("w", "outcome")
    assert recorded == {"outcome": outcome, "state": state}
    events = log.pending()
    assert [(e.event_id, e.topic) for e in events] == [("w:outcome", f"saga.{state}")]
    # the state rebuilt from the log equals the state the live run reached
    before = dict(calls)
    replay = Orchestrator(steps, log=log, spec=_spec(n), clock=clock).run("w")
    assert dict(calls) == before  # a replay calls nobody
    assert replay.outcome == result.outcome and replay.state == result.state
    assert replay.done == result.done and replay.compensated == result.compensated
    assert replay.failed_step == result.failed_step and replay.reason == result.reason
    assert [e for e in replay.trace if e.kind != "undo-fail"] == [
        e for e in result.trace if e.kind != "undo-fail"
    ]
    assert len(log.pending()) == 1
    if case["durable"]:
        log.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
def test_generated_sagas_killed_anywhere_match_the_model(
    case: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    _check(case, tmp_path_factory.mktemp("saga-model"))
