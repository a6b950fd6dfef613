"""``dpref tour serverless``: a booking that happens once however often it is delivered, the
access patterns of one table, and the 9 am burst with where it breaks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.serverless.idempotency import Idempotency
from designpatterns_ref.serverless.loadlevel import Report, Scenario, simulate
from designpatterns_ref.serverless.singletable import PatientOps
from designpatterns_ref.serverless.table import KeyValueTable

__all__ = ["scenarios", "tour"]


def scenarios(calls: int = 10_000) -> dict[str, Report]:
    """The designs compared: direct calls, the queue, a slow EHR without and with caps, a hot
    clinic partition (the burst window scaled with ``calls``)."""
    base: dict[str, Any] = {"calls": calls, "burst_seconds": 120.0 * calls / 10_000,
                            "concurrency": max(5, calls // 200)}  # fmt: skip
    return {
        "no queue": simulate(Scenario(**base, use_queue=False)),
        "queue": simulate(Scenario(**base)),
        "slow EHRs, no caps": simulate(Scenario(**base, slow_ehrs=3, use_gates=False)),
        "slow EHRs, caps+breakers": simulate(Scenario(**base, slow_ehrs=3)),
        "hot clinic partition": simulate(
            Scenario(**base, hot_clinic_share=0.5, partition_writes_per_s=0.4 * base["concurrency"])
        ),
    }


def tour(out: Callable[[str], None]) -> None:
    """Print the patient-operations story in a few seconds."""
    clock = ManualClock()
    layer = Idempotency(KeyValueTable(clock=clock), expires_after=3600, clock=clock)
    ehr: list[str] = []

    def booking(event: dict[str, Any]) -> dict[str, str]:
        ehr.append(event["patient"])
        return {"booking": f"B{len(ehr)}"}

    book = layer.wrap(booking)
    answers = [book({"call": "c-17", "patient": "p1"}) for _ in range(3)]
    out("A booking event delivered three times (the queue is at-least-once):")
    out(f"  answers {answers}; bookings made in the EHR: {len(ehr)}")

    ops = PatientOps(KeyValueTable())
    ops.add_patient("p1", "+46701234567", "Ada")
    ops.add_appointment("a1", "p1", "c9", "2026-12-06T09:30")
    ops.add_recall("flu", "p1", "2026-12-01")
    out("One table, three access patterns, each one partition read by an index seek:")
    names = [p["name"] for p in ops.patient_by_phone("+46701234567")]
    times = [a["at"] for a in ops.upcoming("c9", "2026-12-06T09:00")]
    due = [m["patient"] for m in ops.recall_due("flu", "2026-12-06")]
    out(f"  by phone: {names}; upcoming at c9: {times}; flu recall due: {due}")

    out("2,000 calls in 24 s at 9 am, a function of 10 instances, 55 EHRs (3 slow where said):")
    for label, r in scenarios(calls=2000).items():
        verdict = f"fails at {r.fails_at:.0f} s: {r.failure}" if r.fails_at is not None else "held"
        out(f"  {label:25} booked {r.booked:5}, dead {r.dead_lettered:4}, lost {r.lost:4}, "
            f"p99 wait of the booked {r.wait_p99:4.0f} s, "
            f"oldest {r.max_queue_age:4.0f} s; {verdict}")  # fmt: skip
