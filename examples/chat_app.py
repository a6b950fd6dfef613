# %% [markdown]
# # A chat app that survives a bad network, and Discord's read states
#
# WhatsApp-style delivery: each conversation gets a gap-free sequence (1, 2, 3, ...), a send
# carries a `client_msg_id` so a retry stores nothing twice, and each device keeps an inbox
# that drops duplicates, buffers gaps and resumes from its cursor. The wire delivers at least
# once, in any order; the screen shows each message exactly once, in order.
#
# We run a real WebSocket gateway on loopback, put a link that drops, duplicates, delays and
# cuts frames between it and four devices, and check every device shows everything once.

# %%
import asyncio
import concurrent.futures
import random
import time

import designpatterns_ref as dp
from designpatterns_ref.messaging import ChatServer, Inbox
from designpatterns_ref.messaging.client import Client
from designpatterns_ref.messaging.faults import FaultLink
from designpatterns_ref.messaging.gateway import Gateway
from designpatterns_ref.messaging.gclab import measure
from designpatterns_ref.messaging.plot import plot_delivery, plot_gc_latency
from designpatterns_ref.messaging.token import make_token


def run(coro_fn):
    """Run an asyncio program in its own thread (works in a script and in a notebook)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro_fn()).result()


# %% [markdown]
# ## The core, without a network: a retried send and a shuffled wire

# %%
server = ChatServer()
for user in ("ann", "bob"):
    server.join("trip", user)
print(
    "seq of the send and of its retry:",
    server.send("ann", "trip", "m1", "Train at 9?")[0].seq,
    server.send("ann", "trip", "m1", "Train at 9?")[0].seq,
)
for i in range(2, 16):
    server.send("ann", "trip", f"m{i}", f"message {i}")
wire = server.fetch("trip", 1)
wire = wire + random.Random(1).sample(wire, 6)
random.Random(2).shuffle(wire)
box = Inbox("trip")
shown_cursor = []
for msg in wire:
    box.receive(msg)
    shown_cursor.append(box.cursor)
print("arrivals:", [m.seq for m in wire])
print("shown:   ", [m.seq for m in box.shown], f"({box.duplicates} duplicates dropped)")
fig = plot_delivery([m.seq for m in wire], shown_cursor)
if path := dp.show(fig, "messaging-delivery"):
    print("figure:", path)

# %% [markdown]
# ## A real gateway, a faulty link, four devices

# %%
SECRET = b"example-secret"


async def chat():
    gw = Gateway("127.0.0.1", 0, secret=SECRET)
    for user in ("ann", "bob", "cy"):
        gw.join("general", user)
    async with gw, FaultLink(gw.url, drop=0.1, duplicate=0.1, delay=0.1, cut=0.01, seed=5) as link:
        devices = [("ann", "a1"), ("bob", "b1"), ("bob", "b2"), ("cy", "c1")]
        clients = [
            Client(
                link.url,
                make_token(SECRET, u, expires=time.time() + 60),
                d,
                seed=i,
                heartbeat=0.05,
                base=0.01,
                cap=0.1,
            )
            for i, (u, d) in enumerate(devices)
        ]
        for c in clients:
            await c.__aenter__()
        for i in range(30):
            await clients[i % 4].send("general", f"message {i}", client_msg_id=f"id{i}")
        for c in clients:
            await c.wait_sent(timeout=30)
        result = {
            c.device: [m.seq for m in await c.wait_for("general", 30, timeout=30)] for c in clients
        }
        reconnects = {c.device: c.connects - 1 for c in clients}
        for c in clients:
            await c.close()
        return result, reconnects, dict(link.stats), gw.server.store.last_seq("general")


shown, reconnects, stats, last = run(chat)
print("link:", stats)
print("messages in the log:", last, "| reconnects per device:", reconnects)
for device, seqs in shown.items():
    print(device, "shows", len(seqs), "messages, in order, once each:", seqs == list(range(1, 31)))

# %% [markdown]
# ## Discord's read states: the garbage collector and the tail
#
# A cache of many small container objects makes CPython's cyclic collector walk them all on a
# full collection. Tuples of ints (which CPython stops tracking) and `gc.freeze()` after
# warm-up keep the collector's work small. Each point is one ack; the spikes are collections.

# %%
runs = [measure(layout, entries=100_000, ops=20_000, seed=1) for layout in ("naive", "gc_aware")]
for r in runs:
    print(
        f"{r.layout:9} p50 {r.p(50):6.2f} µs  p99 {r.p(99):6.2f} µs  p99.9 {r.p(99.9):8.1f} µs"
        f"  full collections {r.full_collections}"
    )
fig = plot_gc_latency(runs)
if path := dp.show(fig, "messaging-gc-latency"):
    print("figure:", path)
