"""An exception after a compensation ran and before its record, on every step log.

A compensation whose result JSON cannot hold, a clock that cannot be read once it returned, and
a process that dies between it and its record all leave it unrecorded: the run stops, nothing
of that compensation is in the log, and the next run (once the code is fixed) runs it again,
exactly once more, and finishes; the policy a step's action has. A death after the record
repeats nothing. The oracle is plain counting: each compensation's calls, the refunds the
provider issued by idempotency key, and what the log holds after each run.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.workflows import (
    MemoryLog,
    Orchestrator,
    SQLiteLog,
    Step,
    StepFailed,
    WorkflowError,
    WorkflowTypeError,
)
from designpatterns_ref.workflows.durable import MISSING, StepLog


class Kill(BaseException):
    """The process dies at a crash point (nothing of the run after it happens)."""


STORES = ["memory", "sqlite", "sqlite reopened"]
INJECTIONS = ["set result", "nan result", "object result", "clock", "kill before the record"]


class Saga:
    """charge, then kitchen, then a driver that says no: the kitchen's compensation and then the
    charge's run. ``inject`` breaks the run right after the compensation of ``target`` ran."""

    def __init__(self, store: str, tmp: Path, inject: str, target: str) -> None:
        self.store, self.tmp, self.inject, self.target = store, tmp, inject, target
        self.calls: Counter[str] = Counter()
        self.refunds: dict[str, Any] = {}  # the provider: one refund per idempotency key
        self.broken = True  # the injection fires until the code is "fixed"
        self.kill_at = f"undo:{target}.done" if inject == "kill before the record" else None
        if inject == "kill after the record":
            self.kill_at = f"undo:{target}.recorded"
        self.time = ManualClock()
        self.clock_fails = False
        self.memory = MemoryLog()
        self.log: StepLog = self._open()

    def _open(self) -> StepLog:
        if self.store == "memory":
            return self.memory
        return SQLiteLog(self.tmp / "wf.db", synchronous="OFF")

    def _undo(self, name: str) -> Any:
        def back(ctx: dict[str, Any], result: Any) -> Any:
            self.calls[name] += 1
            self.refunds.setdefault(f"{ctx['workflow_id']}:{name}", result)
            if self.broken and name == self.target:
                if self.inject == "set result":
                    return {"refund_ids": {"r1"}}
                if self.inject == "nan result":
                    return {"amount": math.nan}
                if self.inject == "object result":
                    return object()
                if self.inject == "clock":
                    self.clock_fails = True  # read right after the compensation returns
            return {"refunded": result}

        return back

    def _clock(self) -> float:
        return math.nan if self.clock_fails else self.time()

    def _on_point(self, point: str) -> None:
        if self.broken and point == self.kill_at:
            raise Kill(point)

    def run(self) -> Any:
        def no_driver(ctx: dict[str, Any]) -> Any:
            raise StepFailed("no driver")

        steps = [
            Step("charge", lambda ctx: 1250, self._undo("charge")),
            Step("kitchen", lambda ctx: "ticket-7", self._undo("kitchen")),
            Step("driver", no_driver),
        ]
        saga = Orchestrator(steps, log=self.log, clock=self._clock, on_point=self._on_point)
        return saga.run("order-1")

    def fix(self) -> None:
        """The code is fixed, the clock works again, a new process opens the log."""
        self.broken = self.clock_fails = False
        if self.store == "sqlite reopened":
            assert isinstance(self.log, SQLiteLog)
            self.log.close()
            self.log = self._open()


@pytest.mark.parametrize("target", ["kitchen", "charge"])
@pytest.mark.parametrize("inject", INJECTIONS)
@pytest.mark.parametrize("store", STORES)
def test_a_compensation_broken_after_it_ran_is_unrecorded_and_runs_again(
    tmp_path: Path, store: str, inject: str, target: str
) -> None:
    saga = Saga(store, tmp_path, inject, target)
    raised: type[BaseException] = Kill
    if inject.endswith("result"):
        raised = WorkflowTypeError
    elif inject == "clock":
        raised = WorkflowError
    with pytest.raises(raised) as caught:
        saga.run()
    if inject.endswith("result"):
        assert "the compensation ran and nothing of it is recorded" in str(caught.value)
    # compensated newest first: the kitchen's, then (if it is the target) the charge's
    ran = ["kitchen", "charge"] if target == "charge" else ["kitchen"]
    assert saga.calls == Counter(ran)
    assert saga.log.get("order-1", f"undo:{target}") is MISSING
    assert saga.log.get("order-1", "outcome") is MISSING
    if target == "charge":  # the kitchen's compensation, before it, stays recorded
        assert saga.log.get("order-1", "undo:kitchen")[0] == "ok"

    saga.fix()
    result = saga.run()
    assert result.outcome == "compensated" and result.compensated == ("kitchen", "charge")
    assert saga.calls == Counter(["kitchen", "charge", target])  # the target's twice
    assert saga.refunds == {"order-1:kitchen": "ticket-7", "order-1:charge": 1250}
    refunded = {"charge": 1250, "kitchen": "ticket-7"}[target]
    assert saga.log.get("order-1", f"undo:{target}")[:2] == ["ok", {"refunded": refunded}]
    assert saga.log.get("order-1", "outcome") == {"outcome": "compensated", "state": "compensated"}
    assert [e.topic for e in saga.log.pending()] == ["saga.compensated"]

    calls = Counter(saga.calls)
    again = saga.run()  # a replay: nothing runs, the same answer
    assert saga.calls == calls and again.compensated == result.compensated
    assert len(saga.log.pending()) == 1


@pytest.mark.parametrize("store", STORES)
def test_a_death_after_the_compensations_record_repeats_nothing(tmp_path: Path, store: str) -> None:
    saga = Saga(store, tmp_path, "kill after the record", "charge")
    with pytest.raises(Kill):
        saga.run()
    assert saga.calls == Counter({"kitchen": 1, "charge": 1})
    assert saga.log.get("order-1", "undo:charge")[:2] == ["ok", {"refunded": 1250}]
    saga.fix()
    assert saga.run().outcome == "compensated"
    assert saga.calls == Counter({"kitchen": 1, "charge": 1})
