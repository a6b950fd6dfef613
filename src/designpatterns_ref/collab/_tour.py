"""``dpref tour``: two people edit one paragraph; OT and CRDTs merge it, on real traces too."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from designpatterns_ref.collab._bench import find_traces
from designpatterns_ref.collab.crdt import FugueMaxReplica, FugueReplica, RGAReplica
from designpatterns_ref.collab.ot import TextOperation
from designpatterns_ref.collab.otserver import OTClient, OTServer
from designpatterns_ref.collab.traces import load_trace, replay_concurrent, replay_ot

__all__ = ["tour"]


def tour(out: Callable[[str], None]) -> None:
    """Print a short, deterministic walk through the collaborative-editing family."""
    out("Collaborative editing: Alice and Bob edit 'the cat' at the same moment.")
    doc = "the cat"
    alice = TextOperation.from_patch(len(doc), 4, 3, "dog")  # the cat -> the dog
    bob = TextOperation.from_patch(len(doc), 0, 0, "Look: ")  # -> Look: the cat
    alice2, bob2 = TextOperation.transform(alice, bob)
    out(f"  OT: Alice's {alice.ops} and Bob's {bob.ops} are transformed against each other;")
    one, two = bob2.apply(alice.apply(doc)), alice2.apply(bob.apply(doc))
    out(f"      both orders give {one!r} == {two!r}")

    server = OTServer(doc)
    client = OTClient("alice", doc)
    first = client.insert(len(doc), "!")
    out(f"  OT client: after one edit it is {client.state!r}; a second edit while waiting ...")
    client.insert(0, "¡")
    out(f"      ... leaves it {client.state!r} (the edit waits, composed, in the buffer)")
    assert first is not None
    server.receive(first)
    server.receive(first)  # a retry after a lost reply
    nxt = client.receive(server.history[0])
    out(f"      a retried send is applied once (server revision {server.revision}); the ack")
    out(f"      releases the buffer as message seq={nxt.seq if nxt else None}")

    out("  CRDT: every character gets an id; typing backwards, concurrently, at one place:")
    for cls in (RGAReplica, FugueReplica, FugueMaxReplica):
        a, b = cls("alice"), cls("bob")
        for ch in reversed("abc"):
            a.insert(0, ch)
        for ch in reversed("XYZ"):
            b.insert(0, ch)
        a.merge(b)
        b.merge(a)
        verdict = "interleaved" if "abc" not in a.text() else "kept whole"
        agree = a.text() == b.text()
        out(f"      {cls.__name__:16} merges to {a.text()!r} ({verdict}); replicas agree: {agree}")

    folder = find_traces()
    if folder is None or not (folder / "clownschool.json.gz").exists():
        out("  (real traces not found: set DPREF_DATA to replay clownschool)")
        return
    trace = load_trace(folder / "clownschool.json.gz")
    part = dataclasses.replace(trace, txns=trace.txns[:1500])
    crdt_text = replay_concurrent(part, FugueMaxReplica)
    ot_text = replay_ot(part)
    out(f"  Real session: the first {len(part):,} transactions of 'clownschool' (3 people,")
    out(f"      forks and merges) replay to the same {len(crdt_text):,} characters through")
    out(f"      FugueMax and through the OT server: {crdt_text == ot_text}")
