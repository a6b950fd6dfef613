"""Sequence-CRDT replicas driven by random operations, checked step by step against a list model.

Three replicas of one rule edit locally (inserts and deletes at random places, next to and
inside tombstones, refused positions too) and exchange what they hold in every way the family
offers: ``apply_ops`` with a random part of the other's operations, cut into pieces, repeated
and shuffled, in batches of random size; ``merge``; the two-step sync as bytes; the sync over a
socket pair; an update as bytes. Refused calls (a bad position, an id resent with other
contents, a truncated update) must raise the family's error and change nothing.

The model is a plain per-character list per replica (:class:`tests.collab.oracle.ListDoc`, the
published list algorithms), one global log of every character and delete ever made, and per
replica the set of ids it has applied and the operations it holds waiting. After every step
each replica's text, version and exported operations (expanded character by character) must be
what the model says.
"""

from __future__ import annotations

import random
import socket
import threading
from dataclasses import dataclass, field
from itertools import pairwise, permutations
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from designpatterns_ref.collab import (
    RULES,
    CRDTError,
    Delete,
    Insert,
    Op,
    SequenceReplica,
    Version,
    WireError,
    apply_update,
    decode_ops,
    encode_ops,
    encode_update,
    sync_socket,
    sync_step1,
    sync_step2,
)
from tests.collab.oracle import Char, ListDoc

AGENTS = ("a", "ab", "b")  # "a" < "ab" < "b": ties compare agent ids as strings
Id = tuple[str, int]
# the global log: a character ("ins", Char) or a delete ("del", target, lamport)
Record = tuple[Any, ...]


@dataclass
class Side:
    """What the model knows of one replica."""

    agent: str
    doc: ListDoc
    applied: set[Id] = field(default_factory=set)
    waiting: list[Op] = field(default_factory=list)
    seq: int = 0
    lamport: int = -1
    cursor: int = 0  # where the last local edit left the caret


def _ranges(ids: set[Id]) -> dict[str, list[tuple[int, int]]]:
    """``ids`` as a :class:`Version` takes them: per agent, ranges of one id each."""
    out: dict[str, list[tuple[int, int]]] = {}
    for agent, seq in ids:
        out.setdefault(agent, []).append((seq, seq + 1))
    return out


def _ids(op: Op) -> list[Id]:
    n = len(op.text) if isinstance(op, Insert) else op.length
    return [(op.agent, op.seq + k) for k in range(n)]


def _expand(op: Op) -> dict[Id, Record]:
    """``op`` character by character, in the shape of the model's log."""
    out: dict[Id, Record] = {}
    if isinstance(op, Insert):
        for k, ch in enumerate(op.text):
            left = op.left if k == 0 else (op.agent, op.seq + k - 1)
            ident = (op.agent, op.seq + k)
            out[ident] = ("ins", Char(ident, op.lamport + k, left, op.right, ch))
    else:
        for k in range(op.length):
            back = op.length - 1 - k if op.backwards else k
            target = (op.target[0], op.target[1] + back)
            out[(op.agent, op.seq + k)] = ("del", target, op.lamport + k)
    return out


def _pieces(op: Op, rng: random.Random) -> list[Op]:
    """``op`` cut at random places into operations a replica could have exported."""
    n = len(op.text) if isinstance(op, Insert) else op.length
    cuts = sorted({0, n, *rng.sample(range(1, n), k=min(n - 1, rng.randint(0, 2)))})
    out: list[Op] = []
    for s, e in pairwise(cuts):
        if isinstance(op, Insert):
            left = op.left if s == 0 else (op.agent, op.seq + s - 1)
            out.append(Insert(op.agent, op.seq + s, op.lamport + s, op.text[s:e], left, op.right))
        else:
            first = op.target[1] + (n - e if op.backwards else s)
            target = (op.target[0], first)
            out.append(Delete(op.agent, op.seq + s, op.lamport + s, target, e - s, op.backwards))
    return out


class ReplicaModel(RuleBasedStateMachine):
    cls: type[SequenceReplica]

    def __init__(self) -> None:
        super().__init__()
        self.replicas = [self.cls(agent) for agent in AGENTS]
        self.sides = [Side(agent, ListDoc(self.cls.rule)) for agent in AGENTS]
        self.log: dict[Id, Record] = {}
        self.order: dict[Id, int] = {}  # creation order, a causal order

    # -- the model ------------------------------------------------------------------------
    def _made(self, side: Side, ident: Id, record: Record) -> None:
        self.log[ident] = record
        self.order[ident] = len(self.order)
        side.applied.add(ident)

    def _deps(self, ident: Id) -> list[Id]:
        record = self.log[ident]
        if record[0] == "del":
            return [record[1]]
        char: Char = record[1]
        return [d for d in (char.left, char.right) if d is not None]

    def _take(self, side: Side, ids: set[Id]) -> None:
        """Apply ``ids`` (their dependencies held or among them) in causal order."""
        for ident in sorted(ids - side.applied, key=self.order.__getitem__):
            record = self.log[ident]
            if record[0] == "ins":
                char: Char = record[1]
                side.doc.integrate(Char(char.id, char.lamport, char.left, char.right, char.ch))
                side.lamport = max(side.lamport, char.lamport)
            else:
                side.doc.delete(record[1])
                side.lamport = max(side.lamport, record[2])
            side.applied.add(ident)

    def _settle(self, side: Side) -> None:
        """Apply every waiting operation whose dependencies are held, until none is left."""
        progress = True
        while progress:
            progress, still = False, []
            for op in side.waiting:
                ids = set(_ids(op))
                outside = {d for i in ids for d in self._deps(i)} - ids
                if outside <= side.applied:
                    self._take(side, ids)
                    progress = True
                else:
                    still.append(op)
            side.waiting = still

    def _deliver(self, side: Side, ops: list[Op]) -> None:
        for op in ops:
            if not set(_ids(op)) <= side.applied:
                side.waiting.append(op)
        self._settle(side)

    # -- local edits ----------------------------------------------------------------------------
    @rule(
        who=st.integers(0, 2), pos=st.integers(0, 12), text=st.text("xyz📊", min_size=1, max_size=3)
    )
    def insert(self, who: int, pos: int, text: str) -> None:
        replica, side = self.replicas[who], self.sides[who]
        if pos > len(side.doc.text()):
            self._refused(who, lambda: replica.insert(pos, text))
            return
        replica.insert(pos, text)
        for k, ch in enumerate(text):
            left, right = side.doc.origins(pos + k)
            side.lamport += 1
            char = Char((side.agent, side.seq), side.lamport, left, right, ch)
            side.doc.integrate(char)
            self._made(side, char.id, ("ins", Char(char.id, char.lamport, left, right, ch)))
            side.seq += 1
        side.cursor = pos + len(text)

    @rule(who=st.integers(0, 2), pos=st.integers(0, 12), length=st.integers(0, 4))
    def delete(self, who: int, pos: int, length: int) -> None:
        replica, side = self.replicas[who], self.sides[who]
        if pos + length > len(side.doc.text()):
            self._refused(who, lambda: replica.delete(pos, length))
            return
        replica.delete(pos, length)
        for _ in range(length):
            target = side.doc.chars[side.doc.visible()[pos]].id
            side.doc.delete(target)
            side.lamport += 1
            self._made(side, (side.agent, side.seq), ("del", target, side.lamport))
            side.seq += 1
        side.cursor = pos

    @rule(who=st.integers(0, 2), text=st.text("xyz📊", min_size=1, max_size=2))
    def type_on(self, who: int, text: str) -> None:
        """Type at the caret (the local run grows), if it is still inside the text."""
        self.insert(who, min(self.sides[who].cursor, len(self.sides[who].doc.text())), text)

    @rule(who=st.integers(0, 2), n=st.integers(1, 3))
    def backspace(self, who: int, n: int) -> None:
        """Backspace ``n`` times one character before the caret."""
        for _ in range(n):
            pos = min(self.sides[who].cursor, len(self.sides[who].doc.text()))
            if pos:
                self.delete(who, pos - 1, 1)

    def _refused(self, who: int, call: Any, error: type[Exception] = CRDTError) -> None:
        replica = self.replicas[who]
        before = (replica.text(), replica.version(), replica.stats(), replica._outgoing(None))
        with pytest.raises(error):
            call()
        assert (
            replica.text(),
            replica.version(),
            replica.stats(),
            replica._outgoing(None),
        ) == before

    # -- exchanges ----------------------------------------------------------------------------
    @rule(src=st.integers(0, 2), dst=st.integers(0, 2), rng=st.randoms(use_true_random=False))
    def send_some(self, src: int, dst: int, rng: random.Random) -> None:
        """Part of what ``src`` holds, cut, repeated and shuffled, in batches; some as bytes."""
        ops = self.replicas[src]._outgoing(None)
        chosen = rng.sample(ops, k=rng.randint(0, len(ops)))
        delivery = [piece for op in chosen for piece in _pieces(op, rng)]
        delivery += rng.sample(delivery, k=len(delivery) // 3)
        rng.shuffle(delivery)
        while delivery:
            cut = rng.randint(1, len(delivery))
            batch, delivery = delivery[:cut], delivery[cut:]
            if rng.random() < 0.3:
                data = encode_ops(batch)
                assert decode_ops(data) == batch
                assert apply_update(self.replicas[dst], data) == len(batch)
            else:
                self.replicas[dst].apply_ops(batch)
            self._deliver(self.sides[dst], batch)

    @rule(src=st.integers(0, 2), dst=st.integers(0, 2))
    def merge(self, src: int, dst: int) -> None:
        self.replicas[dst].merge(self.replicas[src])
        self._pull(dst, src)

    @rule(a=st.integers(0, 2), b=st.integers(0, 2))
    def two_step_sync(self, a: int, b: int) -> None:
        ra, rb = self.replicas[a], self.replicas[b]
        to_b, to_a = sync_step2(ra, sync_step1(rb)), sync_step2(rb, sync_step1(ra))
        apply_update(rb, to_b)
        apply_update(ra, to_a)
        self._pull(b, a)
        self._pull(a, b)

    @rule(a=st.integers(0, 2), b=st.integers(0, 2))
    def socket_sync(self, a: int, b: int) -> None:
        if a == b:
            return
        left, right = socket.socketpair()
        errors: list[BaseException] = []

        def respond() -> None:
            try:
                sync_socket(self.replicas[b], right, initiator=False)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        with left, right:
            left.settimeout(30)
            right.settimeout(30)
            thread = threading.Thread(target=respond)
            thread.start()
            sync_socket(self.replicas[a], left, initiator=True)
            thread.join(30)
        assert not errors
        self._pull(a, b)  # the initiator applies the responder's update first
        self._pull(b, a)

    def _pull(self, dst: int, src: int) -> None:
        """``dst`` receives everything ``src`` holds, applied and waiting."""
        theirs, mine = self.sides[src], self.sides[dst]
        self._take(mine, theirs.applied)
        mine.waiting += [op for op in theirs.waiting if op not in mine.waiting]
        self._settle(mine)

    # -- refused exchanges ------------------------------------------------------------------------
    @rule(who=st.integers(0, 2), rng=st.randoms(use_true_random=False))
    def resend_with_other_contents(self, who: int, rng: random.Random) -> None:
        held = self.replicas[who].ops_since()
        inserts = [op for op in held if isinstance(op, Insert)]
        if not inserts:
            return
        op = rng.choice(inserts)
        other = "w" if op.text[0] != "w" else "v"
        bad = Insert(op.agent, op.seq, op.lamport, other + op.text[1:], op.left, op.right)
        self._refused(who, lambda: self.replicas[who].apply_ops([bad]))

    @rule(src=st.integers(0, 2), dst=st.integers(0, 2), rng=st.randoms(use_true_random=False))
    def truncated_update(self, src: int, dst: int, rng: random.Random) -> None:
        data = encode_update(self.replicas[src])
        cut = data[: rng.randrange(len(data))]
        self._refused(dst, lambda: apply_update(self.replicas[dst], cut), WireError)

    # -- checks ---------------------------------------------------------------------------------
    @invariant()
    def replicas_match_the_model(self) -> None:
        for replica, side in zip(self.replicas, self.sides, strict=True):
            assert replica.text() == side.doc.text()
            assert len(replica) == len(side.doc.text())
            version = {
                (a, s)
                for a, rs in replica.version().ranges().items()
                for r in rs
                for s in range(*r)
            }
            assert version == side.applied
            exported: dict[Id, Record] = {}
            for op in replica.ops_since():
                exported.update(_expand(op))
            assert exported == {i: self.log[i] for i in side.applied}
            assert replica.is_within(replica.version())
            for ident in list(side.applied)[:3]:
                assert replica.has(ident)
                assert not replica.is_within(Version(_ranges(side.applied - {ident})))
        for a, b in permutations(range(3), 2):
            mine, theirs = self.sides[a].applied, self.sides[b].applied
            va, vb = self.replicas[a].version(), self.replicas[b].version()
            assert (va <= vb) == (mine <= theirs)
            assert self.replicas[a].is_within(vb) == (mine <= theirs)
            assert va | vb == Version(_ranges(mine | theirs))
            sent: dict[Id, Record] = {}
            for op in self.replicas[a].ops_since(vb):
                sent.update(_expand(op))
            assert sent == {i: self.log[i] for i in mine - theirs}

    def teardown(self) -> None:
        """Everyone syncs with everyone: one text, the model's with every operation."""
        if not hasattr(self, "replicas"):
            return
        for _ in range(2):
            for a in range(3):
                for b in range(3):
                    self.replicas[a].merge(self.replicas[b])
        everyone = ListDoc(self.cls.rule)
        full = Side("-", everyone)
        self._take(full, set(self.log))
        for replica in self.replicas:
            assert replica.text() == everyone.text()
            assert replica.stats()["pending"] == 0


def _machine(name: str) -> type[ReplicaModel]:
    return type(f"ReplicaModel_{name}", (ReplicaModel,), {"cls": RULES[name]})


_SETTINGS = settings(
    max_examples=int(__import__("os").environ.get("NX", "60")),
    stateful_step_count=40,
    deadline=None,
)
TestRGA = _machine("rga").TestCase
TestRGA.settings = _SETTINGS
TestFugue = _machine("fugue").TestCase
TestFugue.settings = _SETTINGS
TestFugueMax = _machine("fuguemax").TestCase
TestFugueMax.settings = _SETTINGS
