"""Serverless patient operations: a local runtime, idempotent handlers, single-table design.

Case study: Design a Healthcare Patient Operations Platform (Serverless)
(docs/case-studies/healthcare-serverless.md)

>>> from designpatterns_ref.serverless import Scheduler, Queue
>>> q = Queue(Scheduler()); q.send({"call": 1})
'm1'
"""

from __future__ import annotations

from designpatterns_ref.serverless.base import (
    ConditionFailed,
    ServerlessError,
    ServerlessTypeError,
)
from designpatterns_ref.serverless.idempotency import (
    COMPLETED,
    INPROGRESS,
    Idempotency,
    IdempotencyInProgress,
    Record,
)
from designpatterns_ref.serverless.queue import Message, Queue
from designpatterns_ref.serverless.scheduler import Scheduler
from designpatterns_ref.serverless.table import INDEXES, KeyValueTable

__all__ = [
    "COMPLETED",
    "INDEXES",
    "INPROGRESS",
    "ConditionFailed",
    "Idempotency",
    "IdempotencyInProgress",
    "KeyValueTable",
    "Message",
    "Queue",
    "Record",
    "Scheduler",
    "ServerlessError",
    "ServerlessTypeError",
]
