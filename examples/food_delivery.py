# %% [markdown]
# # Food delivery: an order as a state machine, a saga and a durable workflow
#
# An order needs three parties: the card network, the restaurant and a driver. Any of them can
# say no, and the worker coordinating them can die between any two lines. This notebook
# follows orders through `designpatterns_ref.workflows`: the order's lifecycle declared as data,
# a saga that compensates in reverse, the same saga choreographed over events, and a worker
# process killed with SIGKILL and resumed from its log, with the ledger of side effects checked
# for duplicates. Time is simulated (a `ManualClock`): five minutes of waiting take none.

# %%
import json
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import designpatterns_ref as dp
from designpatterns_ref.clock import ManualClock
from designpatterns_ref.workflows import (
    ORDER_SPEC,
    Choreography,
    IllegalTransition,
    OrderScenario,
    World,
    expected,
    new_order,
    order_saga,
    random_scenarios,
)
from designpatterns_ref.workflows.plot import plot_saga_timeline, plot_state_diagram

# %% [markdown]
# ## The lifecycle is data
#
# `ORDER_SPEC` lists the states, the legal moves and their guards. An illegal move raises and
# changes nothing; a guard refuses what a state alone cannot (the restaurant accepting after its
# five minutes). The Mermaid text of the docs page and the figure below are drawn from it.

# %%
order = new_order()
for event, ctx in [("deliver", None), ("accept", {"waited": 420.0}), ("accept", {"waited": 95.0})]:
    try:
        order.fire(event, ctx)
        print(f"{event:8} -> {order.state}")
    except IllegalTransition as exc:
        print(f"{event:8} refused: {exc}")
print(ORDER_SPEC.mermaid().splitlines()[:4])

# %%
fig = plot_state_diagram(ORDER_SPEC)
if path := dp.show(fig, "food-delivery-states"):
    print(f"figure saved to {path}")

# %% [markdown]
# ## A saga: finish, or undo what was done, newest first
#
# Four orders, four endings: delivered; the restaurant rejects; the restaurant never answers in
# five minutes; the kitchen gives up after a driver was assigned (every compensation runs).

# %%
clock = ManualClock()
scenarios = [
    OrderScenario("happy", 2400, True, 90.0, True, 2, False),
    OrderScenario("rejected", 1500, True, 60.0, False, 1, False),
    OrderScenario("too-late", 1800, True, 420.0, True, 1, False),
    OrderScenario("kitchen", 3100, True, 30.0, True, 3, True),
]
world = World(":memory:", scenarios, clock=clock)
saga = order_saga(world, clock=clock)
results = [saga.run(s.order_id) for s in scenarios]
for r in results:
    print(
        f"{r.workflow_id:9} {r.state:9} failed at {r.failed_step!s:10} undone {list(r.compensated)}"
    )
for s in scenarios:
    print(f"{s.order_id:9} effects: {world.effects(s.order_id)}")

# %%
fig = plot_saga_timeline(results)
if path := dp.show(fig, "food-delivery-saga"):
    print(f"figure saved to {path}")

# %% [markdown]
# ## The same saga, choreographed
#
# No coordinator: payments, the restaurant and dispatch each react to the others' events. Same
# endings, same side effects; the flow is now spread over the subscribers, and the event log is
# the only place it is written down.

# %%
clock2 = ManualClock()
chor = Choreography(World(":memory:", scenarios, clock=clock2), clock=clock2)
for s in scenarios:
    print(f"{s.order_id:9} {chor.place(s.order_id):9}")
print([e.topic for e in chor.log if e.order_id == "kitchen"])

# %% [markdown]
# ## Kill the worker, anywhere
#
# The worker runs eight orders with a SQLite step log. We start it as a real process and make
# it SIGKILL itself at a different crash point each time, then run it once more to the end.
# Every order must end as the oracle says, and the ledger (every charge, refund, ticket, driver
# and notification, with no uniqueness constraint) must hold no effect twice.

# %%
ORDERS, SEED = 8, 4
workdir = Path(tempfile.mkdtemp(prefix="food-delivery-"))


def worker(*extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "designpatterns_ref.workflows.worker"]
    cmd += [str(workdir / "wf.db"), str(workdir / "world.db"), "--orders", str(ORDERS)]
    return subprocess.run([*cmd, "--seed", str(SEED), *extra], capture_output=True, text=True)


for point in (7, 23, 41, 64):
    rc = worker("--crash-at", str(point)).returncode
    print(f"crash point {point:3}: exit {'SIGKILL' if rc == -signal.SIGKILL else rc}")
final = worker()
states = json.loads(final.stdout)
batch = random_scenarios(ORDERS, SEED)
ledger = World(workdir / "world.db", batch, clock=ManualClock())
print("final states:", Counter(states.values()))
print("as the oracle says:", all(states[s.order_id] == expected(s)[0] for s in batch))
print(
    "effects as the oracle says:",
    all(Counter(ledger.effects(s.order_id)) == Counter(expected(s)[1]) for s in batch),
)
print("duplicated side effects:", ledger.duplicates())
