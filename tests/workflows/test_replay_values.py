"""A resumed saga hands its actions and compensations the values an uninterrupted run does.

The log keeps step results as JSON, so a resume reads back lists for tuples and string keys for
int keys. The oracle is the uninterrupted run: killed at any crash point and resumed (once or
until it finishes), every call of an action or compensation must get arguments equal to, and
printed the same as, the ones that run gave (``==`` alone would let ``-0.0`` pass for ``0.0``
and ignore key order). A result JSON cannot hold is refused before anything is written.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.workflows import (
    MemoryLog,
    Orchestrator,
    SQLiteLog,
    Step,
    StepFailed,
    WorkflowError,
)
from designpatterns_ref.workflows.durable import MISSING, StepLog


class Kill(BaseException):
    """The worker dies at a crash point."""


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=4),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.lists(inner, max_size=3).map(tuple),
        st.sampled_from([st.integers(-5, 5), st.text(max_size=3)]).flatmap(
            lambda keys: st.dictionaries(keys, inner, max_size=3)
        ),
    ),
    max_leaves=8,
)


def _calls(results: list[Any], log: StepLog, crash: int | None) -> tuple[dict[str, set[str]], int]:
    """Run the saga (its last step says no) until it finishes, killed once at point ``crash``:
    the arguments each action and compensation got (as reprs), and the crash points seen."""
    got: dict[str, set[str]] = defaultdict(set)
    points = 0

    def action(i: int) -> Any:
        def do(ctx: dict[str, Any]) -> Any:
            got[f"do:{i}"].add(repr(ctx))
            if i == len(results):
                raise StepFailed("no", data={"at": i})
            return results[i]

        return do

    def undo(i: int) -> Any:
        def back(ctx: dict[str, Any], result: Any) -> Any:
            got[f"undo:{i}"].add(repr((ctx, result)))
            return result  # the compensation's own result goes through the log too

        return back

    def on_point(name: str) -> None:
        nonlocal points
        points += 1
        if points - 1 == crash:
            raise Kill(name)

    steps = [Step(f"s{i}", action(i), undo(i)) for i in range(len(results))]
    steps.append(Step("last", action(len(results))))
    for _ in range(3):
        try:
            result = Orchestrator(steps, log=log, on_point=on_point).run("w")
        except Kill:
            continue
        assert result.outcome == "compensated"
        assert result.compensated == tuple(f"s{i}" for i in reversed(range(len(results))))
        return got, points
    raise AssertionError("the saga did not finish")  # pragma: no cover


@settings(max_examples=60, deadline=None)
@given(
    results=st.lists(values, min_size=1, max_size=3),
    crash=st.integers(0, 40),
    durable=st.booleans(),
)
@example(results=[{1250: ("EUR", 2)}], crash=2, durable=False)  # killed after charge's record
@example(results=[(1, 2), {"b": -0.0, "a": [()]}], crash=5, durable=True)
@example(results=[{-1: None, -2: None}], crash=0, durable=False)  # int keys sort twice
def test_a_resumed_saga_passes_the_values_an_uninterrupted_one_does(
    results: list[Any], crash: int, durable: bool, tmp_path_factory: pytest.TempPathFactory
) -> None:
    want, points = _calls(results, MemoryLog(), None)
    log: StepLog = (
        SQLiteLog(tmp_path_factory.mktemp("wf") / "wf.db", synchronous="OFF")
        if durable
        else MemoryLog()
    )
    got, _ = _calls(results, log, crash % points)
    assert got == want
    assert all(len(args) == 1 for args in got.values())  # one value per call, every run


@pytest.mark.parametrize(
    "bad",
    [object(), math.nan, math.inf, {1: "a", "b": 2}, {(1, 2): 3}, {1, 2}, b"bytes", [1, object()]],
    ids=["object", "nan", "inf", "mixed-keys", "tuple-key", "set", "bytes", "nested"],
)
def test_a_result_json_cannot_hold_is_refused_before_anything_is_written(bad: Any) -> None:
    log = MemoryLog()
    undone: list[Any] = []
    steps = [
        Step("charge", lambda ctx: 1250, lambda ctx, r: undone.append(r)),
        Step("odd", lambda ctx: bad, lambda ctx, r: undone.append(r)),
    ]
    saga = Orchestrator(steps, log=log)
    with pytest.raises(WorkflowError, match="odd"):
        saga.run("w")
    assert log.get("w", "do:charge") == ["ok", 1250, *log.get("w", "do:charge")[2:]]
    assert log.get("w", "do:odd") is MISSING and log.get("w", "outcome") is MISSING
    assert undone == []


@settings(max_examples=100, deadline=None)
@given(result=values)
@example(result={-1: None, -2: {10: 1, 9: 2}})  # int keys sort as numbers, come back as strings
@example(result=[{"b": 1, "a": (1, {"d": 0, "c": -0.0})}])
def test_a_compensation_gets_the_json_round_trip_of_the_result(result: Any) -> None:
    def logged(value: Any) -> Any:  # the log's trip, twice: the second leaves it as it is
        once = json.loads(json.dumps(value, sort_keys=True))
        return json.loads(json.dumps(once, sort_keys=True))

    got: list[Any] = []

    def no(ctx: dict[str, Any]) -> Any:
        raise StepFailed("no")

    steps = [Step("s", lambda ctx: result, lambda ctx, r: got.append(r)), Step("last", no)]
    Orchestrator(steps).run("w")
    want = logged(result)
    assert got == [json.loads(json.dumps(result))] == [want]
    assert repr(got) == repr([want])  # key order and -0.0 included
