"""Workflows: the food-delivery order as a state machine, a saga and a durable workflow.

Case study: Design a Food Delivery App (docs/case-studies/food-delivery.md)

- :class:`MachineSpec` / :class:`Machine` and :data:`ORDER_SPEC`: the order's lifecycle declared
  as data, with guards; the Mermaid diagram comes from the declaration.
- :class:`Orchestrator` and :class:`Step`: the orchestrated saga, compensating in reverse.
- :class:`Choreography` and :class:`EventBus`: the same saga as parties reacting to events.
- :class:`SQLiteLog` / :class:`MemoryLog`: the step log that makes a run durable.
- :class:`Relay` and :class:`Inbox`: the transactional outbox and the deduplicating consumer.
- :class:`Backoff`, :class:`Deadline`, :func:`retry`, :func:`wait_for`: timers on a clock.
- :class:`World`, :class:`OrderScenario`, :func:`order_saga`, :func:`expected`: the simulated
  parties, the four-step order saga and its oracle.

>>> import designpatterns_ref as dp
>>> dp.workflows.new_order().state
'placed'
"""

from __future__ import annotations

from designpatterns_ref.workflows.base import (
    Event,
    IllegalTransition,
    SagaResult,
    StepFailed,
    TraceEntry,
    WorkflowError,
    WorkflowTypeError,
)
from designpatterns_ref.workflows.choreography import Choreography, EventBus
from designpatterns_ref.workflows.durable import MISSING, MemoryLog, SQLiteLog, StepLog
from designpatterns_ref.workflows.food import (
    DRIVER_BACKOFF,
    OrderScenario,
    World,
    expected,
    order_saga,
    random_scenarios,
)
from designpatterns_ref.workflows.machine import Machine, MachineSpec, Transition
from designpatterns_ref.workflows.order import ACCEPT_DEADLINE, ORDER_SPEC, ORDER_STATES, new_order
from designpatterns_ref.workflows.outbox import Inbox, Relay
from designpatterns_ref.workflows.saga import Orchestrator, Step
from designpatterns_ref.workflows.timers import Backoff, Deadline, retry, wait_for

__all__ = [
    "ACCEPT_DEADLINE",
    "DRIVER_BACKOFF",
    "MISSING",
    "ORDER_SPEC",
    "ORDER_STATES",
    "Backoff",
    "Choreography",
    "Deadline",
    "Event",
    "EventBus",
    "IllegalTransition",
    "Inbox",
    "Machine",
    "MachineSpec",
    "MemoryLog",
    "Orchestrator",
    "OrderScenario",
    "Relay",
    "SQLiteLog",
    "SagaResult",
    "Step",
    "StepFailed",
    "StepLog",
    "TraceEntry",
    "Transition",
    "WorkflowError",
    "WorkflowTypeError",
    "World",
    "expected",
    "new_order",
    "order_saga",
    "random_scenarios",
    "retry",
    "wait_for",
]
