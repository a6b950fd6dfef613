# %% [markdown]
# # Design a Healthcare Patient Operations Platform (Serverless): where the architecture breaks
#
# At 9 am every clinic's phone lines open and thousands of patients call at once to book. The
# platform answers with functions (Lambda), a queue (SQS), a key-value table (DynamoDB) and an
# object store (S3), and books into 50+ electronic health record systems (EHRs). This notebook
# runs a local model of those parts with their real semantics, on simulated time: a booking
# that happens once however often its event is delivered, three access patterns from one table,
# and the morning burst, first holding, then breaking.

# %%
import designpatterns_ref as dp
from designpatterns_ref.clock import ManualClock
from designpatterns_ref.serverless import (
    Idempotency,
    IdempotencyInProgress,
    KeyValueTable,
    PatientOps,
    Scenario,
    simulate,
)
from designpatterns_ref.serverless.plot import plot_outcomes, plot_queue_age

# %% [markdown]
# ## 1. At-least-once delivery, exactly-once booking
#
# The queue delivers every message at least once: a function that times out, or crashes after
# booking but before deleting the message, sees it again. The idempotency layer stores a record
# per payload hash (in progress, then completed with the response); a redelivery gets the stored
# response, a concurrent duplicate is told to retry later, and the EHR is called once.

# %%
clock = ManualClock()
layer = Idempotency(KeyValueTable(clock=clock), expires_after=3600, clock=clock)
ehr_calls = []


def book(event):
    ehr_calls.append(event["patient"])
    return {"booking": f"B{len(ehr_calls)}", "slot": event["slot"]}


event = {"call": "c-1017", "patient": "p-42", "slot": "2026-12-06T10:15"}
print([layer.run(book, event) for _ in range(3)], "EHR calls:", len(ehr_calls))

layer.begin({"call": "c-2000", "patient": "p-7", "slot": "2026-12-06T11:00"})  # still running
try:
    layer.run(book, {"call": "c-2000", "patient": "p-7", "slot": "2026-12-06T11:00"})
except IdempotencyInProgress as exc:
    print("concurrent duplicate:", exc)

# %% [markdown]
# ## 2. One table, three access patterns
#
# Patients by phone number (the caller id of an incoming call), a clinic's upcoming
# appointments, and the members of a recall campaign who are due: each is one query on one
# partition, of the table or of one of its two secondary indexes.

# %%
ops = PatientOps(KeyValueTable())
ops.add_patient("p-42", "+46701234567", "Ada")
ops.add_patient("p-43", "+46701234567", "Leo")  # a child on a parent's phone
ops.add_appointment("a-1", "p-42", "clinic-9", "2026-12-06T10:15")
ops.add_appointment("a-2", "p-43", "clinic-9", "2026-12-05T10:15")
ops.add_recall("flu-2026", "p-42", "2026-12-01")
ops.add_recall("flu-2026", "p-43", "2027-01-15")
print("caller:", [p["name"] for p in ops.patient_by_phone("+46701234567")])
print("upcoming:", [a["appointment"] for a in ops.upcoming("clinic-9", "2026-12-06T09:00")])
print("recall due:", [m["patient"] for m in ops.recall_due("flu-2026", "2026-12-06")])
print("query plan:", ops.table.query_plan("gsi2"))

# %% [markdown]
# ## 3. The 9 am burst
#
# 10,000 calls arrive in two minutes. The function has 50 instances reserved; a booking takes
# about 0.8 s. Without a queue the excess is throttled and lost; with one, the queue absorbs
# the burst and the functions drain it. Then two ways it breaks: three slow EHRs (25 s, past
# the 10 s timeout) without per-EHR caps hold instances and starve everyone; and a clinic that
# takes half the calls makes its table partition hot.

# %%
base = {"calls": 10_000, "burst_seconds": 120.0, "concurrency": 50}
reports = {
    "no queue": simulate(Scenario(**base, use_queue=False)),
    "queue": simulate(Scenario(**base)),
    "slow EHRs, no caps": simulate(Scenario(**base, slow_ehrs=3, use_gates=False)),
    "slow EHRs, caps": simulate(Scenario(**base, slow_ehrs=3)),
    "hot partition": simulate(Scenario(**base, hot_clinic_share=0.5, partition_writes_per_s=20.0)),
}
for label, r in reports.items():
    print(f"{label:19} booked {r.booked:5} dead {r.dead_lettered:4} lost {r.lost:5} "
          f"p99 wait {r.wait_p99:4.0f} s oldest {r.max_queue_age:4.0f} s "
          f"retries {r.retries:5} capped {r.capped + r.short_circuited:5} "
          f"partition throttles {r.partition_throttles:5} | {r.failure or 'held'}")  # fmt: skip
    print(f"{'':19} met in progress {r.in_progress_refusals:4} timeouts {r.timeouts:5} "
          f"EHR booked, caller timed out {r.timed_out_bookings:4} "
          f"double-booked {r.double_bookings:4}")  # fmt: skip

# %%
fig = plot_queue_age(reports)
if path := dp.show(fig, "healthcare-serverless-queue-age"):
    print(f"figure saved to {path}")

# %%
fig = plot_outcomes(reports)
if path := dp.show(fig, "healthcare-serverless-outcomes"):
    print(f"figure saved to {path}")

# %% [markdown]
# The queue turns lost calls into waiting calls: that is load levelling. It does not add
# capacity: a slow dependency without a cap still takes the functions it shares with everyone,
# and the caps with breakers only contain it (those patients go to the dead-letter queue for a
# human call-back). A hot partition is a limit of the data model, not of the functions.
#
# Each handler claims its call's idempotency record when it starts and the EHR books partway
# through its latency, so duplicates and redeliveries do meet in-progress records ("met in
# progress": they come back after the visibility timeout and get the stored answer). Where no
# invocation times out, no call is booked twice. A call to a slow EHR that times out after the
# EHR booked never completes its record, and the redelivery books again: the idempotency layer
# cannot see a side effect its invocation never reported. Only an idempotency key that the EHR
# itself honours (the call id sent with the booking) closes that gap.
