"""``dpref tour messaging``: a retried send, a lossy wire, a resume, receipts, read states, and
which channel server owns a conversation (Slack's consistent-hash ring).

Case study: Design a Real-Time Chat App (WhatsApp / Messenger) (docs/case-studies/chat-app.md)
"""

from __future__ import annotations

import random
from collections.abc import Callable

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.messaging.hashring import HashRing
from designpatterns_ref.messaging.inbox import Inbox
from designpatterns_ref.messaging.presence import Presence
from designpatterns_ref.messaging.readstates import ReadStates
from designpatterns_ref.messaging.server import ChatServer

__all__ = ["tour"]


def tour(out: Callable[[str], None]) -> None:
    """Tell the story deterministically, in well under a second."""
    server = ChatServer()
    for user in ("ann", "bob", "cy"):
        server.join("trip", user)
    server.connect("bob", "phone", {})
    first, _ = server.send("ann", "trip", "ann-1", "Train at 9?")
    server.send("ann", "trip", "ann-1", "Train at 9?")
    out(f"ann sends 'Train at 9?' and, on a timeout, sends it again: seq {first.seq} both times,")
    out(f"the log holds {server.store.last_seq('trip')} message (the client_msg_id made it safe).")
    for i in range(2, 9):
        server.send("ann" if i % 2 else "cy", "trip", f"m{i}", f"message {i}")
    wire = server.fetch("trip", 1)
    wire = wire + random.Random(7).sample(wire, 4)  # duplicates
    random.Random(3).shuffle(wire)  # and reordering
    box = Inbox("trip")
    for msg in wire:
        box.receive(msg)
        server.ack("bob", "phone", "trip", box.cursor)
    out(f"\nThe wire brings bob's phone {len(wire)} frames, shuffled, 4 of them twice:")
    out(f"  arrival order: {[m.seq for m in wire]}")
    out(f"  shown: {[m.seq for m in box.shown]} ({box.duplicates} duplicates dropped)")
    server.disconnect("bob", "phone")
    server.send("cy", "trip", "m9", "running late")
    replay = server.connect("bob", "phone", {"trip": box.cursor})
    out(f"bob's phone was offline for seq 9; on reconnect it resumes from cursor {box.cursor}")
    out(f"  and gets {[m.seq for m in replay]}.")
    r = server.receipt("trip", 2)
    out(f"\nReceipt of seq 2: {r.state}, delivered to {r.delivered_to} of {r.recipients}.")
    server.read("bob", "trip", 9)
    r = server.receipt("trip", 2)
    out(f"bob reads up to 9: read by {r.read_by} of {r.recipients} ({r.state}).")

    clock = ManualClock()
    presence = Presence(clock, ttl=30)
    presence.subscribe("bob", "ann")
    presence.heartbeat("ann")
    presence.flush()
    for _ in range(10):
        presence.disconnect("ann")
        presence.heartbeat("ann")
    out(f"\nann's connection flaps 10 times in one window: {len(presence.flush())} presence")
    out("events reach bob (coalesced: she ended where she started).")

    rs = ReadStates(":memory:", capacity=1000, flush_entries=20, clock=clock)
    for i in range(250):
        rs.mention("bob", f"ch{i % 50}")
    out(f"\nRead states: 250 mentions over 50 channels became {rs.flushes} batched writes;")
    out(f"{rs.dirty} records are unflushed (a crash now loses at most those).")
    rs.ack("bob", "ch0", 1042)
    out(f"bob acks ch0 up to 1042: {rs.get('bob', 'ch0')} (last read, mentions).")

    ring = HashRing(["cs-a", "cs-b", "cs-c"], vnodes=64)
    convs = [f"C{i:04d}" for i in range(3000)]
    owner = {c: ring.node_for(c) for c in convs}
    counts = {n: sum(o == n for o in owner.values()) for n in ring.nodes}
    out("\nSlack's shape: 3,000 conversations on a consistent-hash ring of 3 channel servers")
    out(f"(64 virtual nodes each): {counts}.")
    ring.remove("cs-b")
    moved = [c for c in convs if ring.node_for(c) != owner[c]]
    out(
        f"cs-b dies: {len(moved)} conversations move, all of them cs-b's "
        f"({all(owner[c] == 'cs-b' for c in moved)}); the other {len(convs) - len(moved)} stay put."
    )
