"""The orchestrated saga: one coordinator runs the steps and, on a failure, undoes them in reverse.

Case study: Design a Food Delivery App (docs/case-studies/food-delivery.md)

A saga replaces one distributed transaction by a sequence of local ones, each paired with a
compensation that semantically undoes it (a refund for a charge, a cancelled ticket for an order
sent to the kitchen). The :class:`Orchestrator` is the coordinator: it calls each
:class:`Step` in turn; when one answers :class:`~designpatterns_ref.workflows.StepFailed` it
runs the compensations of the steps already done, newest first. Every result goes through a
:class:`~designpatterns_ref.workflows.durable.StepLog` before the next step starts, so with a
:class:`~designpatterns_ref.workflows.SQLiteLog` a run killed anywhere resumes where it died
(durable execution); with a :class:`~designpatterns_ref.workflows.MemoryLog` it is a plain,
fast, forgetful saga. Steps may fire events of a :class:`~designpatterns_ref.workflows.MachineSpec`,
so the order's state follows the saga, and that state is rebuilt by replay, never stored apart.
The outcome is announced by an outbox event written with the outcome record.

The machine follows the saga. Each group of events (a step's ``transitions``, a failure's, a
compensation's ``undo_transitions``) fires whole or not at all: if the machine refuses one of
them (not allowed in the state reached, or its guard says no or cannot read its context), none
fires, the state stays and the refusal is listed in :attr:`SagaResult.refused`. What follows
depends on whose events they were. A step's own ``transitions`` refused mean the order cannot
be where the step took it (the restaurant's ``accept`` after its five minutes), so that step
fails although its action happened: the saga compensates every step done, that one first, and
never ends ``"completed"`` with a step whose events did not fire. A failure's or a
compensation's events refused never stop anything: the failure is still compensated and the
outcome recorded. A failure's events are checked before the failure is recorded, and the
recorded reason says when they did not fire; a replay decides every group the same way. Steps
naming events the spec does not know, or a bare string instead of a tuple, are refused when
the orchestrator is built, and a malformed :class:`~designpatterns_ref.workflows.StepFailed`
when it is made. An action that raises anything but ``StepFailed`` (a bug, or such a refused
``StepFailed``) stops the run with nothing of that step recorded: it is not a business "no",
so nothing is compensated, and the next run (once the code is fixed) runs the step again. An
action or compensation whose result JSON cannot hold is treated alike: the run stops with
:class:`~designpatterns_ref.workflows.WorkflowTypeError`, nothing of it is recorded, and the
next run runs it again (see :class:`Step`).

A compensation must eventually work (a refund cannot be skipped), so one that answers
:class:`~designpatterns_ref.workflows.StepFailed` is retried with the saga's ``undo_retry``
:class:`~designpatterns_ref.workflows.Backoff`, like a Step Functions ``Retry`` or a Temporal
activity retry policy. Only a compensation that worked is recorded; if every try fails the run
stops with outcome ``"stuck"``, writes no outcome, and the next run (a resume) retries it.

The trade-off against choreography (:mod:`~designpatterns_ref.workflows.choreography`): the
whole flow is in one place and easy to change, test and observe, at the price of a central
component every party talks to.

Complexity: O(steps) log reads and writes per run; a replayed step costs one read.

>>> from designpatterns_ref.workflows.base import StepFailed
>>> def no_driver(ctx):
...     raise StepFailed("no driver")
>>> undone = []
>>> saga = Orchestrator([
...     Step("charge", lambda ctx: 1250, lambda ctx, amount: undone.append(("refund", amount))),
...     Step("driver", no_driver),
... ])
>>> result = saga.run("order-1")
>>> result.outcome, result.failed_step, undone
('compensated', 'driver', [('refund', 1250)])
>>> from designpatterns_ref.clock import ManualClock
>>> def bank_down(ctx, amount):
...     raise StepFailed("bank unreachable")
>>> stuck = Orchestrator([Step("charge", lambda ctx: 1250, bank_down), Step("driver", no_driver)],
...                      clock=ManualClock()).run("order-2")
>>> stuck.outcome, stuck.stuck_step, stuck.compensated
('stuck', 'charge', ())
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from operator import itemgetter
from typing import Any

from designpatterns_ref.clock import Clock, read_seconds, system_clock
from designpatterns_ref.errors import shown
from designpatterns_ref.workflows.base import (
    Event,
    Outcome,
    SagaResult,
    StepFailed,
    TraceEntry,
    WorkflowError,
    WorkflowTypeError,
    check_name,
)
from designpatterns_ref.workflows.durable import MISSING, MemoryLog, StepLog, _encode
from designpatterns_ref.workflows.machine import Machine, MachineSpec
from designpatterns_ref.workflows.timers import Backoff

__all__ = ["UNDO_RETRY", "Orchestrator", "Step"]

#: How a failing compensation is retried by default: three tries, 1 s then 2 s apart.
UNDO_RETRY = Backoff(base=1.0, factor=2.0, cap=60.0, attempts=3)


@dataclass(frozen=True, slots=True)
class Step:
    """A saga step: its action, its compensation and the machine events they fire.

    ``action(ctx)`` returns a JSON-able result or raises :class:`StepFailed`;
    ``compensate(ctx, result)`` undoes it and returns a JSON-able result too. The result is kept
    as ``ctx[name]`` and handed to ``compensate`` as the step log gives it back, through JSON (a
    tuple arrives as a list, an int key as a str), on the first run as on a resume; a result
    JSON cannot hold (a set, NaN, mixed str and int keys) stops the run with
    :class:`WorkflowTypeError` before anything of the step is recorded, so a later run runs the
    step again. A compensation's result follows the same policy: one JSON cannot hold stops the
    run with :class:`WorkflowTypeError` (saying the compensation ran) and nothing of it is
    recorded, so the next run, once the code is fixed, runs the compensation again, as it does
    after a crash between a compensation and its record: a refund that must not be issued twice
    needs an idempotency key the payment provider honours. ``transitions`` fire when the
    action succeeds, ``undo_transitions`` when it is compensated, each with the result as the
    guards' context when the result is a dict; both are tuples of event names the spec knows,
    and a group the machine refuses at that point does not fire (see
    :attr:`~designpatterns_ref.workflows.SagaResult.refused`). When it refuses the
    ``transitions`` of a step whose action succeeded, the step fails and is compensated with
    the others done.
    """

    name: str
    action: Callable[[dict[str, Any]], Any]
    compensate: Callable[[dict[str, Any], Any], Any] | None = None
    transitions: tuple[str, ...] = ()
    undo_transitions: tuple[str, ...] = ()


def _refusal(machine: Machine | None, events: Sequence[str], data: object) -> str | None:
    """Why ``machine`` would not take ``events`` in order from its state (None if it would).

    An event not allowed in the state reached, a guard that says no and a guard that cannot
    read its context (the family's :class:`WorkflowError`) are refusals; nothing changes.
    """
    if machine is None:
        return None
    ctx = data if isinstance(data, dict) else None
    state = machine.state
    for event in events:
        try:
            state = machine.spec.next_state(state, event, ctx)
        except WorkflowError as exc:
            return str(exc)
    return None


def _fire(
    machine: Machine | None, events: Sequence[str], data: object, where: str, refused: list[str]
) -> str | None:
    """Fire ``events`` in order, all or none: a group the machine refuses leaves the state as it
    was, adds ``"<where>: <why>"`` to ``refused`` and returns ``why`` (None when it fired). A
    pure function of the state and the record, so a replay refuses exactly what the first run
    refused."""
    why = _refusal(machine, events, data)
    if why is not None:
        refused.append(f"{where}: {why}")
        return why
    if machine is not None:
        ctx = data if isinstance(data, dict) else None
        for event in events:
            machine.fire(event, ctx)
    return None


class Orchestrator:
    """Runs a saga's steps through a step log; compensates in reverse on a failure.

    ``undo_retry`` is how often and how far apart a compensation that raises
    :class:`StepFailed` is tried again within one run (default :data:`UNDO_RETRY`: three tries,
    1 s then 2 s apart); ``sleep`` waits between tries (default: ``clock.advance`` for a
    :class:`~designpatterns_ref.clock.ManualClock`, else :func:`time.sleep`).
    """

    def __init__(
        self,
        steps: Sequence[Step],
        *,
        log: StepLog | None = None,
        spec: MachineSpec | None = None,
        topic: str = "saga",
        clock: Clock = system_clock,
        on_point: Callable[[str], object] | None = None,
        undo_retry: Backoff = UNDO_RETRY,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        if isinstance(steps, str | bytes) or not isinstance(steps, Sequence) or not steps:
            raise WorkflowTypeError(
                f"Orchestrator: steps={shown(steps, 80)} must be a list of Step"
            )
        if spec is not None and not isinstance(spec, MachineSpec):
            raise WorkflowTypeError(f"Orchestrator: spec={shown(spec, 80)} must be a MachineSpec")
        known = {t.event for t in spec.transitions} if spec is not None else set()
        for step in steps:
            if not isinstance(step, Step):
                raise WorkflowTypeError(f"Orchestrator: step {shown(step, 80)} must be a Step")
            check_name("Orchestrator", "step name", step.name)
            if not callable(step.action) or not (
                step.compensate is None or callable(step.compensate)
            ):
                raise WorkflowTypeError(f"Orchestrator: step {shown(step.name)} needs callables")
            for field in ("transitions", "undo_transitions"):
                events = getattr(step, field)
                if not isinstance(events, tuple | list):
                    raise WorkflowTypeError(
                        f"Orchestrator: step {shown(step.name)} {field}={shown(events, 80)} must "
                        "be a tuple of event names, such as ('cancel',)"
                    )
                for event in events:
                    check_name("Orchestrator", "transition", event)
                    if spec is not None and event not in known:
                        raise WorkflowError(
                            f"Orchestrator: step {shown(step.name)} {field} names {shown(event)}, "
                            f"which {shown(spec.name)} does not know; its events: {sorted(known)}"
                        )
        names = [s.name for s in steps]
        if len(set(names)) != len(names):
            raise WorkflowError(f"Orchestrator: step names {names} repeat")
        if not callable(clock):
            raise WorkflowTypeError(f"Orchestrator: clock={shown(clock, 80)} must be callable")
        if log is not None and not isinstance(log, StepLog):
            raise WorkflowTypeError(f"Orchestrator: log={shown(log, 80)} must be a StepLog")
        if on_point is not None and not callable(on_point):
            raise WorkflowTypeError(
                f"Orchestrator: on_point={shown(on_point, 80)} must be callable"
            )
        if not isinstance(undo_retry, Backoff):
            raise WorkflowTypeError(
                f"Orchestrator: undo_retry={shown(undo_retry, 80)} must be a Backoff"
            )
        if sleep is None:
            sleep = getattr(clock, "advance", None) or time.sleep
        elif not callable(sleep):
            raise WorkflowTypeError(f"Orchestrator: sleep={shown(sleep, 80)} must be callable")
        self.steps = tuple(steps)
        self.log: StepLog = log if log is not None else MemoryLog()
        self.spec = spec
        self.topic = check_name("Orchestrator", "topic", topic)
        self.clock = clock
        self.on_point = on_point
        self.undo_retry = undo_retry
        self.sleep: Callable[[float], object] = sleep

    def _point(self, name: str) -> None:
        if self.on_point is not None:
            self.on_point(name)

    def _once(
        self, wf: str, key: str, call: Callable[[], Any], machine: Machine | None = None
    ) -> list[Any]:
        """Run ``call`` unless ``key`` is recorded; record ``[status, value, start, end, ...]``.

        The record is returned as the log gives it back (through JSON), also on the run that
        makes it, so the context and the compensations see the same values on every run; a
        result JSON cannot hold raises :class:`WorkflowTypeError` and nothing is recorded. A
        failure's events are checked with ``machine`` before the failure is recorded: if the
        machine refuses them, the recorded reason says so (none of them fires, then or on a
        replay; the compensations and the outcome follow as for any failure).
        """
        record = self.log.get(wf, key)
        if record is not MISSING:
            return list(record)
        self._point(f"{key}.start")
        start = self._now()
        try:
            record = ["ok", call(), start, self._now()]
        except StepFailed as failed:
            record = ["failed", failed.reason, start, self._now(), list(failed.transitions)]
            record.append(failed.data)
        record = _as_logged(f"Orchestrator.run: {key}", record, "the action")
        if record[0] == "failed" and (why := _refusal(machine, record[4], record[5])):
            record[1] = f"{record[1]} (its events did not fire: {why})"
        self._point(f"{key}.done")  # the side effect happened and is not recorded yet
        self.log.put(wf, key, record)
        self._point(f"{key}.recorded")
        return record

    def _now(self) -> float:
        """The clock's reading; WorkflowError (before a step runs, or before it is recorded:
        as if the process stopped there) unless it is a finite number of seconds."""
        return read_seconds(self.clock, WorkflowError, "Orchestrator.run")

    def _undo(self, wf: str, name: str, call: Callable[[], Any]) -> list[Any]:
        """Run a compensation unless recorded, retrying a failure with ``undo_retry``.

        Only a compensation that worked is recorded (``["ok", value, start, end]``); after
        the last failed try the answer is ``["failed", reason, start, end]``, unrecorded, so a
        later run tries again. Each failed try's ``(start, end)`` follows, for the trace. A
        failed compensation that a log written before they were retried holds as a record of
        its own is tried again too, never replayed: the log is write-once, so its outcome goes
        under the key ``undo:<name>:again``.
        """
        key = f"undo:{name}"
        record = self.log.get(wf, key)
        if record is not MISSING and record[0] != "ok":  # an older log's failed compensation
            key = f"undo:{name}:again"
            record = self.log.get(wf, key)
        if record is not MISSING:
            return list(record)
        tries: list[tuple[float, float]] = []
        delays = self.undo_retry.delays()
        while True:
            self._point(f"{key}.start")
            start = self._now()
            try:
                value = call()
            except StepFailed as exc:
                end = self._now()
                self._point(f"{key}.failed")
                delay = next(delays, None)
                if delay is None:
                    n = len(tries) + 1
                    why = f"{exc.reason} ({n} {'try' if n == 1 else 'tries'})"
                    return ["failed", why, start, end, *tries, (start, end)]
                tries.append((start, end))
                self.sleep(delay)
                continue
            record = _as_logged(
                f"Orchestrator.run: {key}", ["ok", value, start, self._now()], "the compensation"
            )
            self._point(f"{key}.done")  # the side effect happened and is not recorded yet
            self.log.put(wf, key, record)
            self._point(f"{key}.recorded")
            return [*record, *tries]

    def run(self, workflow_id: str, ctx: Mapping[str, Any] | None = None) -> SagaResult:
        """Run (or resume) the saga ``workflow_id``; every step done or every done one undone."""
        wf = check_name("Orchestrator.run", "workflow_id", workflow_id)
        if ctx is not None and not isinstance(ctx, Mapping):
            raise WorkflowTypeError(f"Orchestrator.run: ctx={shown(ctx, 80)} must be a mapping")
        context: dict[str, Any] = {**(ctx or {}), "workflow_id": wf}
        machine = Machine(self.spec) if self.spec is not None else None
        done: list[Step] = []
        trace: list[TraceEntry] = []
        failed: tuple[Step, str] | None = None
        refused: list[str] = []
        for step in self.steps:
            record = self._once(wf, f"do:{step.name}", partial(step.action, context), machine)
            if record[0] == "ok":
                context[step.name] = record[1]
                trace.append(TraceEntry(step.name, "do", record[2], record[3]))
                done.append(step)
                why = _fire(machine, step.transitions, record[1], step.name, refused)
                if why is not None:  # done, but the order cannot be where the step took it
                    failed = (step, f"its events did not fire: {why}")
                    break
            else:
                trace.append(TraceEntry(step.name, "fail", record[2], record[3]))
                _fire(machine, record[4], record[5], step.name, refused)
                failed = (step, record[1])
                break
        compensated: list[str] = []
        stuck: tuple[Step, str] | None = None
        if failed is not None:
            for step in reversed(done):
                undo = step.compensate
                if undo is None:
                    continue
                record = self._undo(wf, step.name, partial(undo, context, context[step.name]))
                for start, end in record[4:]:
                    trace.append(TraceEntry(step.name, "undo-fail", start, end))
                if record[0] != "ok":
                    stuck = (step, record[1])
                    break
                trace.append(TraceEntry(step.name, "undo", record[2], record[3]))
                _fire(machine, step.undo_transitions, record[1], f"undo:{step.name}", refused)
                compensated.append(step.name)
        outcome: Outcome = "completed" if failed is None else "compensated"
        if stuck is not None:
            outcome = "stuck"
        state = machine.state if machine is not None else outcome
        if stuck is None and self.log.get(wf, "outcome") is MISSING:
            event = Event(f"{wf}:outcome", f"{self.topic}.{state}", wf, (("outcome", outcome),))
            self.log.put(wf, "outcome", {"outcome": outcome, "state": state}, [event])
            self._point("outcome.recorded")
        return SagaResult(
            wf,
            outcome,
            tuple(s.name for s in done),
            tuple(compensated),
            failed[0].name if failed else None,
            _reason(failed, stuck),
            state,
            tuple(trace),
            stuck[0].name if stuck else None,
            tuple(refused),
        )


def _as_logged(where: str, record: list[Any], ran: str) -> list[Any]:
    """``record`` as a log gives it back: through the log's JSON encoding and back (tuples become
    lists, int keys strings), or :class:`WorkflowTypeError` if JSON cannot hold it, saying that
    ``ran`` (the action or the compensation) ran and is not recorded.

    One encoding, with the keys of every object put in the order of their strings as it is
    decoded: the log sorts keys as it encodes, and int keys sort as numbers (-2 before -1) but
    come back as strings ("-1" before "-2"), so this is the order the log gives back, and the
    value comes back from the log unchanged, key order included."""
    try:
        text = _encode(where, record)
    except WorkflowTypeError as exc:
        raise WorkflowTypeError(
            f"{exc}; {ran} ran and nothing of it is recorded: the next run runs it again"
        ) from None
    decoded: list[Any] = json.loads(text, object_pairs_hook=_sorted_object)
    return decoded


def _sorted_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A decoded JSON object with its keys in string order (they are distinct strings)."""
    return dict(sorted(pairs, key=itemgetter(0)))


def _reason(failed: tuple[Step, str] | None, stuck: tuple[Step, str] | None) -> str:
    """Why the run did not complete: the step that said no, and a compensation that failed."""
    if failed is None:
        return ""
    if stuck is None:
        return failed[1]
    return f"{failed[1]}; then the compensation of {stuck[0].name!r} failed: {stuck[1]}"
