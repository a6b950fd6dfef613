# %% [markdown]
# # Slack's shape: stateless gateways, channel servers on a hash ring, one Redis
#
# Slack terminates client WebSockets in gateway servers and gives every channel one owner, a
# channel server found by consistent hashing. We build the same shape as real processes on
# loopback: two channel servers and two gateways, sharing nothing but a Redis (the log in
# Streams, fan-out over Pub/Sub, membership in sets). Then we kill a gateway with SIGKILL in
# the middle of a conversation and check that nobody lost a message.

# %%
import asyncio
import concurrent.futures
import time

import designpatterns_ref as dp
from designpatterns_ref.messaging.client import Client
from designpatterns_ref.messaging.cluster import Cluster
from designpatterns_ref.messaging.directory import Directory
from designpatterns_ref.messaging.hashring import HashRing
from designpatterns_ref.messaging.plot import plot_ring_shares
from designpatterns_ref.messaging.token import make_token
from designpatterns_ref.testing import redis_server


def run(coro_fn):
    """Run an asyncio program in its own thread (works in a script and in a notebook)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro_fn()).result()


# %% [markdown]
# ## Who owns a conversation: the consistent-hash ring
#
# Each channel server is hashed to 64 points on a ring; a conversation belongs to the first
# point clockwise from its own hash. Every gateway computes the same answer with no
# coordination, and when a server leaves, only its conversations move. With one point a
# server the arcs are lopsided (among five servers, one gets 1 % of the ring and another 35 %);
# with 64 points each gets close to its fair 20 %.

# %%
nodes = ["cs-a", "cs-b", "cs-c"]
ring = HashRing(nodes, vnodes=64)
convs = [f"C{i:04d}" for i in range(3000)]
owner = {c: ring.node_for(c) for c in convs}
ring.remove("cs-b")
moved = [c for c in convs if ring.node_for(c) != owner[c]]
print(f"cs-b leaves: {len(moved)} conversations move, only cs-b's:",
      all(owner[c] == "cs-b" for c in moved))  # fmt: skip
five = ["cs-a", "cs-b", "cs-c", "cs-d", "cs-e"]
fig = plot_ring_shares({"1 point a server": HashRing(five, vnodes=1),
                        "64 virtual nodes": HashRing(five, vnodes=64)})  # fmt: skip
if path := dp.show(fig, "messaging-ring-shares"):
    print("figure:", path)

# %% [markdown]
# ## Two gateways, two channel servers, a crash
#
# Ann's phone and Bob's laptop connect to gateway 0, the other two devices to gateway 1; each
# client knows both URLs. Sixty messages go back and forth; after the twentieth, gateway 0 is
# killed. Its clients reconnect to gateway 1 with their cursors, resend what was not yet
# confirmed (the `client_msg_id` makes it safe) and catch up from the Redis stream.

# %%
SECRET = b"example-secret"
DEVICES = [("ann", "a1"), ("bob", "b1"), ("bob", "b2"), ("cy", "c1")]


async def crash_story(cluster):
    a, b = cluster.gateway_urls
    clients = [
        Client([a, b] if i < 2 else [b, a], make_token(SECRET, u, expires=time.time() + 60), d,
               seed=i, heartbeat=0.05, base=0.01, cap=0.1)
        for i, (u, d) in enumerate(DEVICES)
    ]  # fmt: skip
    for c in clients:
        await c.__aenter__()
    for n in range(60):
        if n == 20:
            cluster.kill_gateway(0)
        await clients[n % 4].send("general", f"m{n}", client_msg_id=f"id{n}")
        await asyncio.sleep(0.01)
    for c in clients:
        await c.wait_sent(timeout=30)
    shown = {c.device: [m.seq for m in await c.wait_for("general", 60, timeout=30)]
             for c in clients}  # fmt: skip
    where = {c.device: ("gateway 1" if c.url == b else "gateway 0") for c in clients}
    for c in clients:
        await c.close()
    return shown, where


with redis_server() as srv:
    directory = Directory(srv.url)
    for user in ("ann", "bob", "cy"):
        directory.join("general", user)
    with Cluster(srv.url, secret=SECRET, gateways=2, channel_servers=2) as cluster:
        print("channel servers:", cluster.channel_addresses)
        print("'general' is owned by", HashRing(cluster.names).node_for("general"))
        shown, where = run(lambda: crash_story(cluster))
for device, seqs in shown.items():
    print(f"{device} ends on {where[device]}: 60 messages, in order, once each:",
          seqs == list(range(1, 61)))  # fmt: skip

# %% [markdown]
# ## Fan-out: one message to many sockets
#
# The gateway encodes a message once and writes the same bytes to every member's socket
# without awaiting any of them. The naive server, written the obvious way with `websockets`,
# encodes per member and awaits each send in turn. Both run as their own process; the member
# sockets are held by two receiving processes that stamp each delivery. A small run here (400
# members, 5 messages each); `dpref bench messaging` runs 10,000 sockets and 1,000 members, and
# `docs/case-studies/slack-gateway.md` has the figures.

# %%
from designpatterns_ref.messaging.loadgen import measure_scale
from designpatterns_ref.messaging.plot import plot_fanout

runs = {server: measure_scale(400, 400, rounds=5, pairs=50, server=server)
        for server in ("gateway", "naive")}  # fmt: skip
for server, r in runs.items():
    print(f"{server}: p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, "
          f"{r['delivered']}/{r['expected']} delivered")  # fmt: skip
fig = plot_fanout({server: r["latencies_ms"] for server, r in runs.items()})
if path := dp.show(fig, "messaging-fanout"):
    print("figure:", path)
