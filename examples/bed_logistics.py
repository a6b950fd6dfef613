# %% [markdown]
# # Design a Real-Time Bed Logistics System
#
# A municipality places residents in hundreds of care homes. Its dashboard must show, as it
# happens, how many beds are free, occupied, being cleaned or reserved, per unit, home and
# municipality, without ever overwriting the clinical data the homes own.
#
# The design: every change to a bed is an **event** appended to a log; the dashboard's
# figures are a **projection** of the log, updated event by event and always equal to a
# replay from scratch. Homes that were offline deliver late, twice and out of order; the
# projection orders events per bed by the time the home recorded them, so it converges anyway.

# %%
import designpatterns_ref as dp
from designpatterns_ref.capacity import (
    BedCapacity,
    BedEvent,
    CapacityError,
    OwnershipError,
    Replica,
    Topology,
    counter_ids,
    fhir,
    recount,
)
from designpatterns_ref.capacity.plot import plot_capacity, plot_occupancy
from designpatterns_ref.clock import ManualClock

clock = ManualClock(7 * 3600)
topology = Topology({"north": {"elm": {"a": 4, "b": 1}, "oak": {"a": 3}},
                     "south": {"ash": {"a": 3}}})  # fmt: skip
svc = BedCapacity(topology, clock=clock, stale_after=1800, ids=counter_ids())
print(topology, "| log:", svc.log)

# %% [markdown]
# ## Commands are checked, then appended, then projected
#
# A command names a bed; the service checks the bed's current status, appends the event with
# the home's expected version (optimistic concurrency) and applies it to the projection.

# %%
for bed in ("elm/a/1", "elm/a/2", "elm/b/1", "oak/a/1"):
    svc.admit(bed)
svc.reserve("ash/a/1")
svc.discharge("elm/a/2")
print(svc.table("home"))
print(svc.table("municipality"))

# %% [markdown]
# Bad requests are refused with the reason, and the log does not move:

# %%
before = len(svc.log)
for call in (lambda: svc.transfer("elm/a/1", "b"), lambda: svc.admit("elm/z/1"),
             lambda: Topology({"north": {"elm": {"a": -2}}})):  # fmt: skip
    try:
        call()
    except CapacityError as exc:
        print("refused:", exc)
assert len(svc.log) == before

# %% [markdown]
# ## A home comes back online
#
# Care home 'oak' lost its connection for an hour. Its events arrive in one batch, out of
# order, and then the same batch again (its retry). Duplicates are dropped by event id; a
# late event loses to a later one on the same bed.

# %%
offline = [BedEvent("oak-41", "discharged", "oak/a/1", at=clock() + 600),
           BedEvent("oak-42", "released", "oak/a/1", at=clock() + 1500),
           BedEvent("oak-43", "admitted", "oak/a/2", at=clock() + 900)]  # fmt: skip
clock.advance(3600)
print("first delivery:", svc.ingest("oak", offline[::-1]))
print("retry:         ", svc.ingest("oak", offline))
print("oak now:", svc.table("home")["oak"])
print("stale homes (silent for 30 min):", svc.stale_homes())

# %% [markdown]
# The projection is checked two ways: against a brute-force recount of the log, and against a
# rebuild from scratch.

# %%
events = list(svc.log.read())
assert svc.projection.state()[1] == recount(topology, events)
assert svc.rebuild().state() == svc.projection.state()
print(f"{len(events)} events: incremental == recount == rebuild")

# %% [markdown]
# ## Field ownership
#
# The home's clinical system owns diagnosis and care level; the municipality owns the
# reservation. Each system writes only its own fields, and records merge field by field. Two
# replicas of the same owner writing concurrently is a true conflict: the version vectors see
# it, the later write is kept and the other is surfaced for a person to look at.

# %%
desk, tablet, town = (
    Replica("elm-desk", "clinical"),
    Replica("elm-tablet", "clinical"),
    Replica("town", "municipality"),
)
desk.write("resident-7", "care_level", "medium", at=1)
tablet.write("resident-7", "care_level", "high", at=2)
town.write("resident-7", "reservation", "oak/a/3", at=3)
try:
    town.write("resident-7", "diagnosis", "dementia", at=4)
except OwnershipError as exc:
    print("refused:", exc)
town.merge(desk)
for c in town.merge(tablet):
    print(f"conflict on {c.field}: kept {c.kept.value!r} from {c.kept.replica}, "
          f"surfaced {c.lost.value!r} from {c.lost.replica}")  # fmt: skip
print("merged record:", town.get("resident-7"))

# %% [markdown]
# ## Leaving the system as FHIR
#
# Each bed is a FHIR `Location` whose `operationalStatus` uses HL7 v2 table 0116.

# %%
loc = fhir.bed_location(svc.projection, "elm/a/2")
print({k: loc[k] for k in ("resourceType", "id", "operationalStatus", "partOf")})

# %% [markdown]
# ## The dashboard
#
# `designpatterns_ref.capacity.api.create_app(svc)` serves the same figures live over
# Server-Sent Events to a small HTML page (the tests open it in headless Chromium). Here is
# the picture it shows, with stale homes hatched, and occupancy over a simulated day.

# %%
fig = plot_capacity(svc.table("home"), stale=svc.stale_homes())
if path := dp.show(fig, "bed-logistics-homes"):
    print("figure saved to", path)

# %%
from designpatterns_ref.capacity._tour import demo_service

day, samples = demo_service()
fig = plot_occupancy(samples)
if path := dp.show(fig, "bed-logistics-occupancy"):
    print("figure saved to", path)
