# %% [markdown]
# # Design a Collaborative Document Editor (Google Docs)
#
# Two users edit the same paragraph at the same moment. How do we merge their changes without
# losing either? This example tells the two classic answers end to end with
# `designpatterns_ref.collab`: **operational transformation** through a central server, and
# **sequence CRDTs** that merge in any order. It finishes by replaying real recorded editing
# sessions through both.

# %%
import dataclasses
import time

import designpatterns_ref as dp
from designpatterns_ref.collab import (
    FugueMaxReplica,
    OTClient,
    OTServer,
    RGAReplica,
    TextOperation,
)
from designpatterns_ref.collab._bench import find_traces
from designpatterns_ref.collab.plot import plot_items, plot_merge
from designpatterns_ref.collab.traces import (
    load_trace,
    replay_concurrent,
    replay_ot,
    replay_sequential,
)

# %% [markdown]
# ## 1. Operational transformation
#
# An edit is a walk over the document: retain, insert, delete. Two edits made against the
# same version are *transformed* against each other so that both orders of application
# reach the same text (TP1).

# %%
doc = "Meet at noon."
alice = TextOperation.from_patch(len(doc), 8, 4, "one")  # noon -> one
bob = TextOperation.from_patch(len(doc), 12, 0, ", bring cake")
alice2, bob2 = TextOperation.transform(alice, bob)
print(bob2.apply(alice.apply(doc)))
print(alice2.apply(bob.apply(doc)))

# %% [markdown]
# A central server keeps one history. A client sends one operation at a time with the
# revision it was based on; while it waits for the acknowledgement its new edits are composed
# in a buffer. The server transforms each arrival past what it missed, so it only ever needs
# TP1; a retry carries the same `(client, seq)` and is not applied twice.

# %%
server = OTServer(doc)
ann, ben = OTClient("ann", doc), OTClient("ben", doc)
m1 = ann.insert(0, "Team: ")
m2 = ben.delete(len(doc) - 1, 1)
assert m1 is not None and m2 is not None
for message in (m1, m2, m1):  # the last one is a retry
    server.receive(message)
for client in (ann, ben):
    for entry in server.history:
        client.receive(entry)
print(server.revision, repr(server.document), ann.text() == ben.text() == server.document)

# %% [markdown]
# ## 2. Sequence CRDTs
#
# No server: every character gets an identity `(agent, seq)` and remembers its neighbours at
# the time it was typed. Replicas exchange operations in any order and converge. The ordering
# rule matters: under RGA two people typing *backwards* at the same place interleave; the
# YjsMod / FugueMax rule keeps each run whole.

# %%
for cls in (RGAReplica, FugueMaxReplica):
    a, b = cls("alice"), cls("bob")
    for ch in reversed("hello"):
        a.insert(0, ch)
    for ch in reversed("WORLD"):
        b.insert(0, ch)
    a.merge(b)
    b.merge(a)
    print(f"{cls.__name__:16} {a.text()!r}  converged: {a.text() == b.text()}")

# %% [markdown]
# The same idea as a timeline: two people edit "Meet at noon." offline, each on a copy, then
# sync. Each lane shows one replica's text after each of its edits; the last column is the text
# both hold after merging, in either order.

# %%
edits = {
    "alice": [(8, 4, "one"), (0, 0, "Hi! ")],
    "bob": [(12, 0, ", bring cake"), (0, 4, "Let's meet")],
}
fig = plot_merge("Meet at noon.", edits, replica=FugueMaxReplica)
if path := dp.show(fig, "collab-merge"):
    print("figure saved to", path)

# %% [markdown]
# Replicas can sync over any channel: `ops_since(version)` exports what the other side lacks,
# `apply_ops` ignores duplicates and holds back operations that arrive before their
# dependencies.

# %%
laptop = FugueMaxReplica("laptop")
laptop.insert(0, "draft")
phone = laptop.fork("phone")
laptop.insert(5, " one")
phone.insert(0, "My ")
updates = laptop.ops_since(phone.version())
phone.apply_ops(updates[::-1] + updates)  # reversed and duplicated
laptop.merge(phone)
print(repr(phone.text()), phone.text() == laptop.text())

# %% [markdown]
# ## 3. Real editing sessions
#
# The `editing-traces` collection (Joseph Gentle, CC BY 4.0) records every keystroke of real
# documents. We replay part of `automerge-paper` (Martin Kleppmann typing a paper) into one
# replica, and the concurrent `clownschool` session (three people, forks and merges) through
# both CRDT rules and the OT server.

# %%
folder = find_traces()
timings: dict[str, float] = {}
if folder is None:
    print("editing traces not found: set DPREF_DATA or place them at ../shared/data")
else:
    paper = load_trace(folder / "automerge-paper.json.gz")
    part = dataclasses.replace(paper, txns=paper.txns[:30_000])
    for cls in (RGAReplica, FugueMaxReplica):
        start = time.perf_counter()
        replica = cls("kleppmann")
        replay_sequential(part, replica)
        timings[f"{cls.rule} local"] = time.perf_counter() - start
        print(
            f"{cls.__name__}: {len(part):,} edits -> {len(replica):,} chars in "
            f"{replica.stats()['items']:,} items"
        )
    school = load_trace(folder / "clownschool.json.gz")
    school = dataclasses.replace(school, txns=school.txns[:2_000])
    results = {}
    for name, replay in (
        ("rga", lambda: replay_concurrent(school, RGAReplica)),
        ("fuguemax", lambda: replay_concurrent(school, FugueMaxReplica)),
        ("ot", lambda: replay_ot(school)),
    ):
        start = time.perf_counter()
        results[name] = replay()
        timings[f"{name} concurrent"] = time.perf_counter() - start
    print("clownschool prefix: all three agree:", len(set(results.values())) == 1)

# %% [markdown]
# ## 4. Why the CRDT stays small: runs
#
# A CRDT keeps an item for every character ever typed, deleted ones included, but consecutive
# keystrokes by one author with consecutive ids collapse into one run-length item. Replaying
# the first 10,000 edits of the paper's trace (or a made-up typing session when the traces are
# not here) shows the items far below the characters.

# %%
if folder is not None:
    patches = paper.patches()[:10_000]
else:
    patches = [(i, 0, "abc"[i % 3]) for i in range(2_000)] + [(500, 200, "")]
fig = plot_items(patches, replicas=(RGAReplica, FugueMaxReplica))
if path := dp.show(fig, "collab-items"):
    print("figure saved to", path)
for name, seconds in timings.items():
    print(f"{name:20} {seconds:6.2f} s")

# %% [markdown]
# ## 5. Replicas on two machines: sync over TCP
#
# Operations leave a replica as bytes in a compact binary format (an agent table, varints,
# whole runs as one record, a checksum), and two replicas sync in the two steps of Yjs:
# each sends its *state vector* (what it has seen), then each answers the other's with exactly
# the operations it lacks. Here the two replicas talk over a real TCP connection on the
# loopback interface, one of them in a thread standing for the other machine.

# %%
import socket
import threading

from designpatterns_ref.collab import encode_update, sync_socket

laptop = FugueMaxReplica("laptop")
laptop.insert(0, "Shared notes: ")
phone = laptop.fork("phone")  # both start from the same text, then go offline
laptop.insert(len(laptop), "buy milk. ")
phone.delete(0, len("Shared notes"))
phone.insert(0, "Groceries")

listener = socket.create_server(("127.0.0.1", 0))  # port 0: the system picks a free one
far_end = {}


def serve() -> None:
    conn, _ = listener.accept()
    with conn:
        far_end["report"] = sync_socket(phone, conn, initiator=False)


server_thread = threading.Thread(target=serve)
server_thread.start()
with socket.create_connection(listener.getsockname(), timeout=10) as sock:
    report = sync_socket(laptop, sock, initiator=True)
server_thread.join()
listener.close()
print("laptop:", repr(laptop.text()))
print("phone: ", repr(phone.text()))
print("synced over TCP:", laptop.text() == phone.text())
print(f"laptop sent {report.ops_sent} operations in {report.bytes_sent} bytes, ", end="")
print(f"received {report.ops_received} in {report.bytes_received} bytes")
print("the whole document as one update:", len(encode_update(laptop)), "bytes")

# %% [markdown]
# The full figures (all 259,778 edits, the whole clownschool session) come from
# `python -m designpatterns_ref bench collab`; the case study page lists them.
