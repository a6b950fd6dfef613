"""Bed capacity: an event-sourced log of bed changes, live projections, owned fields, FHIR.

Case study: Design a Real-Time Bed Logistics System (docs/case-studies/bed-logistics.md)

Every change to a bed is a :class:`BedEvent` appended to an :class:`EventLog` (SQLite, or
PostgreSQL with :class:`PostgresEventLog`); :class:`CapacityProjection` keeps the capacity per
unit, home and municipality current event by event and equals a replay of the log
(:func:`recount` is the brute-force oracle). :class:`BedCapacity` validates commands, accepts
late and repeated deliveries from homes that were offline and flags homes that stopped
reporting. :class:`Replica` merges resident records field by field under field ownership.
:mod:`.fhir` writes beds as FHIR ``Location`` resources; :mod:`.api` (FastAPI, the ``api``
extra, imported only when asked for) serves a live dashboard over Server-Sent Events.

>>> from designpatterns_ref import capacity
>>> svc = capacity.BedCapacity(capacity.Topology({"north": {"elm": {"a": 2}}}))
>>> _ = svc.admit("elm/a/1")
>>> svc.table("home")
{'elm': {'free': 1, 'occupied': 1, 'cleaning': 0, 'reserved': 0}}
"""

from __future__ import annotations

from designpatterns_ref.capacity import fhir
from designpatterns_ref.capacity.base import (
    KINDS,
    STATUSES,
    BedEvent,
    CapacityError,
    ConcurrencyError,
    OwnershipError,
    Topology,
)
from designpatterns_ref.capacity.log import (
    AppendResult,
    EventLog,
    PostgresEventLog,
    SQLiteEventLog,
)
from designpatterns_ref.capacity.ownership import (
    DEFAULT_OWNERS,
    Conflict,
    FieldValue,
    Replica,
    compare,
)
from designpatterns_ref.capacity.projection import CapacityProjection, recount
from designpatterns_ref.capacity.service import BedCapacity, counter_ids

__all__ = [
    "DEFAULT_OWNERS",
    "KINDS",
    "STATUSES",
    "AppendResult",
    "BedCapacity",
    "BedEvent",
    "CapacityError",
    "CapacityProjection",
    "ConcurrencyError",
    "Conflict",
    "EventLog",
    "FieldValue",
    "OwnershipError",
    "PostgresEventLog",
    "Replica",
    "SQLiteEventLog",
    "Topology",
    "compare",
    "counter_ids",
    "fhir",
    "recount",
]
