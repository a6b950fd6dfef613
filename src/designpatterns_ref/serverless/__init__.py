"""Serverless patient operations: a local runtime, idempotent handlers, single-table design.

Case study: Design a Healthcare Patient Operations Platform (Serverless)
(docs/case-studies/healthcare-serverless.md)

A deterministic discrete-event :class:`Scheduler` drives a :class:`Queue` (visibility timeout,
at-least-once, dead-letter queue), :class:`Function` (concurrency limit, cold starts,
timeouts), a :class:`KeyValueTable` on SQLite (conditional writes, TTL, two secondary indexes)
and an :class:`ObjectStore`. :class:`Idempotency` makes a handler run once per payload;
:class:`PatientOps` serves the access patterns from one table; :func:`simulate` sends the 9 am
burst through all of it and reports where the design breaks.

>>> from designpatterns_ref.serverless import Scheduler, Queue
>>> q = Queue(Scheduler()); q.send({"call": 1})
'm1'
"""

from __future__ import annotations

from designpatterns_ref.serverless.base import (
    ConditionFailed,
    ServerlessError,
    ServerlessTypeError,
    ServerlessUnavailable,
)
from designpatterns_ref.serverless.breaker import Breaker, EhrGate
from designpatterns_ref.serverless.function import Function, Outcome
from designpatterns_ref.serverless.idempotency import (
    COMPLETED,
    INPROGRESS,
    Idempotency,
    IdempotencyFenced,
    IdempotencyInProgress,
    Record,
)
from designpatterns_ref.serverless.loadlevel import Report, Sample, Scenario, simulate
from designpatterns_ref.serverless.objectstore import ObjectStore
from designpatterns_ref.serverless.queue import Message, Queue
from designpatterns_ref.serverless.scheduler import Scheduler
from designpatterns_ref.serverless.singletable import (
    PatientOps,
    brute_patient_by_phone,
    brute_recall_due,
    brute_upcoming,
)
from designpatterns_ref.serverless.table import INDEXES, KeyValueTable

__all__ = [
    "COMPLETED",
    "INDEXES",
    "INPROGRESS",
    "Breaker",
    "ConditionFailed",
    "EhrGate",
    "Function",
    "Idempotency",
    "IdempotencyFenced",
    "IdempotencyInProgress",
    "KeyValueTable",
    "Message",
    "ObjectStore",
    "Outcome",
    "PatientOps",
    "Queue",
    "Record",
    "Report",
    "Sample",
    "Scenario",
    "Scheduler",
    "ServerlessError",
    "ServerlessTypeError",
    "ServerlessUnavailable",
    "brute_patient_by_phone",
    "brute_recall_due",
    "brute_upcoming",
    "simulate",
]
