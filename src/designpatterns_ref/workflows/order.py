"""The food-delivery order's lifecycle, declared as data, and its guards.

Case study: Design a Food Delivery App (docs/case-studies/food-delivery.md)

An order is placed, accepted by the restaurant, prepared, ready, picked up and delivered; on the
way it may be rejected by the restaurant, cancelled (by the customer, by the restaurant's
five-minute timer running out, or because no driver was found) and then refunded. The guards
carry the rules a state alone cannot: the restaurant accepts only within its deadline, a driver
must be assigned before pick-up, and only a charged order can be refunded. The docs draw the
diagram from :data:`ORDER_SPEC` with :meth:`~designpatterns_ref.workflows.MachineSpec.mermaid`.

Complexity: see :mod:`~designpatterns_ref.workflows.machine`; guards are O(1).

>>> order = new_order()
>>> order.fire("accept", {"waited": 120.0})
'accepted'
>>> order.fire("deliver")
Traceback (most recent call last):
...
designpatterns_ref.workflows.base.IllegalTransition: order: event 'deliver' is not allowed ...
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from designpatterns_ref.errors import shown
from designpatterns_ref.workflows.base import WorkflowError
from designpatterns_ref.workflows.machine import Machine, MachineSpec, Transition

__all__ = ["ACCEPT_DEADLINE", "ORDER_SPEC", "ORDER_STATES", "new_order"]

#: Seconds the restaurant has to accept an order.
ACCEPT_DEADLINE = 300.0

ORDER_STATES = (
    "placed",
    "accepted",
    "preparing",
    "ready",
    "picked_up",
    "delivered",
    "rejected",
    "cancelled",
    "refunded",
)


def _number(ctx: Mapping[str, Any], key: str, guard: str) -> float:
    value = ctx.get(key)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (isinstance(value, int) and abs(value) > 2**53)
        or not math.isfinite(value)
        or value < 0
    ):
        raise WorkflowError(
            f"order: guard {shown(guard)} needs ctx[{shown(key)}] as a finite number >= 0, got "
            f"{shown(value, 80)}"
        )
    return float(value)


def _within_deadline(ctx: Mapping[str, Any]) -> bool:
    return _number(ctx, "waited", "within_deadline") <= ACCEPT_DEADLINE


def _deadline_passed(ctx: Mapping[str, Any]) -> bool:
    return _number(ctx, "waited", "deadline_passed") >= ACCEPT_DEADLINE


def _driver_assigned(ctx: Mapping[str, Any]) -> bool:
    driver = ctx.get("driver")
    return isinstance(driver, str) and bool(driver)


def _was_charged(ctx: Mapping[str, Any]) -> bool:
    return _number(ctx, "amount", "was_charged") > 0


#: The order lifecycle: every legal move, and the guard that must agree.
ORDER_SPEC = MachineSpec(
    "order",
    ORDER_STATES,
    "placed",
    [
        Transition("accept", ("placed",), "accepted", guard="within_deadline"),
        Transition("reject", ("placed",), "rejected"),
        Transition("timeout", ("placed",), "cancelled", guard="deadline_passed"),
        Transition("start_preparing", ("accepted",), "preparing"),
        Transition("mark_ready", ("preparing",), "ready"),
        Transition("pick_up", ("ready",), "picked_up", guard="driver_assigned"),
        Transition("deliver", ("picked_up",), "delivered"),
        Transition("cancel", ("placed", "accepted", "preparing", "ready"), "cancelled"),
        Transition("refund", ("rejected", "cancelled"), "refunded", guard="was_charged"),
    ],
    guards={
        "within_deadline": _within_deadline,
        "deadline_passed": _deadline_passed,
        "driver_assigned": _driver_assigned,
        "was_charged": _was_charged,
    },
    final=("delivered", "rejected", "cancelled", "refunded"),
)
"""The order lifecycle declared as data: every legal move, and the guard that must agree (the
case-study page's diagram is ``ORDER_SPEC.mermaid()``)."""


def new_order(state: str | None = None) -> Machine:
    """A new order machine, in ``placed`` (or in ``state``, when restoring one)."""
    return Machine(ORDER_SPEC, state)
