"""The workflows family's shared types: its errors, step failures, events and saga results.

Case study: Design a Food Delivery App (docs/case-studies/food-delivery.md)

An order crosses three parties (the card network, the restaurant, the drivers). Each module of
the family shows one way to keep such a conversation correct when any party says no and any
process can die: a state machine declared as data, a saga with compensations (orchestrated or
choreographed), a durable step log, a transactional outbox and timers on an injected clock.

Complexity: the types here are plain dataclasses; the checks are O(length of the value).

>>> r = SagaResult("order-1", "completed", ("charge", "restaurant"), (), None, "", "delivered")
>>> r.ok
True
>>> check_name("Machine", "event", "")
Traceback (most recent call last):
...
designpatterns_ref.workflows.base.WorkflowError: Machine: event='' must be a non-empty string ...
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Literal

from designpatterns_ref.errors import DesignPatternsError, shown

__all__ = [
    "Event",
    "IllegalTransition",
    "Outcome",
    "SagaResult",
    "StepFailed",
    "TraceEntry",
    "WorkflowError",
    "WorkflowTypeError",
    "check_count",
    "check_name",
    "check_seconds",
]

MAX_NAME = 200


class WorkflowError(DesignPatternsError, ValueError):
    """A workflow call got a value outside what is allowed (the message says what is)."""


class WorkflowTypeError(WorkflowError, TypeError):
    """A workflow call got a value of the wrong type."""


class IllegalTransition(WorkflowError):
    """The state machine refuses an event in the current state (or its guard says no)."""


class StepFailed(DesignPatternsError, RuntimeError):
    """A saga step's business answer is "no" (card declined, restaurant rejected, no driver).

    Not bad input: the saga catches it, records it and compensates. ``reason`` is a string;
    ``transitions`` are the order's state-machine events the failure fires, a tuple (or list)
    of event names (``("reject",)``, ``("cancel",)``; a bare string ``"cancel"`` is refused,
    not read as six one-letter events), with ``data``, a dict of str keys JSON can hold, as
    their guards' context. Anything else raises :class:`WorkflowError` here, when the failure
    is made, before the saga records anything.
    """

    def __init__(
        self,
        reason: str,
        transitions: tuple[str, ...] = (),
        data: dict[str, Any] | None = None,
    ) -> None:
        where = "StepFailed"
        if not isinstance(reason, str):
            raise WorkflowTypeError(f"{where}: reason={shown(reason, 80)} must be a string")
        if not isinstance(transitions, tuple | list):
            raise WorkflowTypeError(
                f"{where}: transitions={shown(transitions, 80)} must be a tuple of event names, "
                f"such as ('cancel',)"
            )
        for event in transitions:
            check_name(where, "transition", event)
        if data is not None:
            if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
                raise WorkflowTypeError(
                    f"{where}: data={shown(data, 80)} must be a dict with str keys, or None"
                )
            try:
                json.dumps(data, allow_nan=False)
            except (TypeError, ValueError) as exc:
                raise WorkflowTypeError(
                    f"{where}: data={shown(data, 80)} must hold JSON values (dicts, lists, str, "
                    f"finite numbers, bools, None): {exc}"
                ) from None
        super().__init__(reason)
        self.reason = reason
        self.transitions = tuple(transitions)
        self.data = dict(data or {})


#: ``"stuck"``: a compensation still failed after its retries; the saga is not finished and
#: the next run (a resume) retries it.
Outcome = Literal["completed", "compensated", "stuck"]


@dataclass(frozen=True, slots=True)
class Event:
    """A fact one party tells the others: ``topic`` happened to ``order_id``."""

    event_id: str
    topic: str
    order_id: str
    data: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        check_name("Event", "event_id", self.event_id)
        check_name("Event", "topic", self.topic)
        check_name("Event", "order_id", self.order_id)
        if not isinstance(self.data, tuple) or not all(
            isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str) for p in self.data
        ):
            raise WorkflowTypeError(
                f"Event: data={shown(self.data, 80)} must be a tuple of (name, value) pairs"
            )


@dataclass(frozen=True, slots=True)
class TraceEntry:
    """One step (or compensation) of a run on the clock: for timelines.

    ``kind``: ``"do"`` (done), ``"fail"`` (its action said no), ``"undo"`` (compensated) or
    ``"undo-fail"`` (one attempt of its compensation that failed).
    """

    step: str
    kind: Literal["do", "undo", "fail", "undo-fail"]
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class SagaResult:
    """How a saga run ended: every step done, the done ones compensated in reverse, or stuck.

    ``"stuck"``: the compensation of ``stuck_step`` failed on every retry; ``compensated`` holds
    the ones undone before it and ``reason`` says both failures. Nothing about the outcome is
    recorded, so running the saga again (a resume) retries that compensation.

    ``refused``: the groups of state-machine events the order's machine did not accept (an
    event not allowed in the state reached, or a guard that said no or could not read its
    context), each ``"<step>: <why>"`` (``"undo:<step>: ..."`` for a compensation's). Such a
    group fires not at all and the state stays. A step's own group refused fails the saga at
    that step (``failed_step``, ``reason`` ``"its events did not fire: ..."``) and the steps
    done, it among them, are compensated; a failure's or a compensation's group refused never
    stops a compensation or the outcome record. So ``"completed"`` means every step was done
    and the machine took every step's events.
    """

    workflow_id: str
    outcome: Outcome
    done: tuple[str, ...]
    compensated: tuple[str, ...]
    failed_step: str | None
    reason: str
    state: str
    trace: tuple[TraceEntry, ...] = ()
    stuck_step: str | None = None
    refused: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when every step was done and the machine took every step's events."""
        return self.outcome == "completed"


def check_name(where: str, field: str, value: object) -> str:
    """``value`` as a name: a non-empty string of at most 200 characters, valid UTF-8."""
    if not isinstance(value, str):
        raise WorkflowTypeError(f"{where}: {field}={shown(value, 80)} must be a string")
    if not value or len(value) > MAX_NAME:
        raise WorkflowError(
            f"{where}: {field}={shown(value, 80)} must be a non-empty string of at most "
            f"{MAX_NAME} characters"
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise WorkflowError(
            f"{where}: {field}={shown(value, 80)} holds a lone surrogate; it must be valid UTF-8"
        ) from None
    return value


def check_count(where: str, field: str, value: object, low: int, high: int) -> int:
    """``value`` as an int in ``[low, high]`` (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise WorkflowTypeError(f"{where}: {field}={shown(value, 80)} must be an int")
    if not low <= value <= high:
        raise WorkflowError(f"{where}: {field}={shown(value, 80)} must be in [{low}, {high}]")
    return value


def check_seconds(where: str, field: str, value: object, *, positive: bool = False) -> float:
    """``value`` as a finite, non-negative (or positive) number of seconds."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise WorkflowTypeError(f"{where}: {field}={shown(value, 80)} must be a number of seconds")
    if isinstance(value, int) and abs(value) > 10**15:
        raise WorkflowError(f"{where}: {field}={shown(value, 80)} is out of range")
    f = float(value)
    if not math.isfinite(f) or f < 0 or (positive and f == 0):
        allowed = "positive" if positive else "zero or more"
        raise WorkflowError(f"{where}: {field}={shown(value, 80)} must be finite and {allowed}")
    return f
