"""A batch is checked against an index of the operations waiting for their dependencies, not
against all of them again: the same verdicts as the check of everything together
(``batch_reference``), and work in proportion to the new operations (delivering a document one
operation at a time in reverse causal order was quadratic)."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from designpatterns_ref.collab import RULES, CRDTError, Delete, Insert, Op, SequenceReplica
from designpatterns_ref.collab._waiting import _refs, _Waiting
from designpatterns_ref.collab.ops import span
from tests.collab.batch_reference import check_batch_whole
from tests.collab.test_bulk import snapshot
from tests.collab.test_oracle import histories
from tests.collab.test_reused_ids import RULE_IDS, conflicting, resends, session


def phantom(made: list[Op], rng: random.Random) -> Op:
    """An operation of agent ``zz`` (or reusing an id of ``made``) with small ids of either
    kind and references to anything: ids claimed as characters and as deletes, references to
    deletes and to ids that never come, parts of one id given two contents."""
    held = [(op.agent, op.seq) for op in made]
    ref = lambda: rng.choice([*held, ("zz", rng.randrange(6)), None])  # noqa: E731
    agent, seq = ("zz", rng.randrange(1, 8)) if rng.random() < 0.8 else rng.choice(held)
    lamport = rng.randrange(seq, seq + 40)
    if rng.random() < 0.5:
        left, right = ref(), ref()
        left = left if left is None or left[0] != agent or left[1] < seq else None
        right = right if right is None or right[0] != agent or right[1] < seq else None
        return Insert(agent, seq, lamport, rng.choice(["p", "qr", "stu"]), left, right)
    target = ref() or ("zz", 0)
    if target[0] == agent and target[1] >= seq:
        target = (agent, 0) if seq > 1 else ("a", 0)
    n = 1 if target[0] == agent else rng.randint(1, 2)
    return Delete(agent, seq, lamport, target, n, rng.random() < 0.3)


def _index(waiting: _Waiting) -> tuple[Any, ...]:
    """What the index says (but which operation stands for a stretch)."""

    def covers(index: dict[Any, Any]) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for key, cover in index.items():  # how many ranges cover each id
            steps = out[key] = []
            for start, count in zip(cover.starts, cover.counts, strict=True):
                if not steps or steps[-1][1] != count:
                    steps.append((start, count))
        return out

    return list(waiting), covers(waiting.claims), covers(waiting.refs)


def _holders_cover(waiting: _Waiting) -> None:
    """The operation kept for a stretch claims (or refers to) every id of it."""
    for (agent, _), cover in waiting.claims.items():
        for lo, hi, op in cover.overlapping(0, 2**62):
            assert op.agent == agent and op.seq <= lo and hi <= op.seq + span(op)
    for agent, cover in waiting.refs.items():
        for lo, hi, op in cover.overlapping(0, 2**62):
            refs = [(s, s + n) for a, s, n in _refs(op) if a == agent]
            assert all(any(s <= x < e for s, e in refs) for x in range(lo, hi))


def _rebuilt(doc: SequenceReplica) -> _Waiting:
    fresh = _Waiting()
    for op in doc._waiting:
        fresh.add(op, doc._missing(op))
    return fresh


def _each_waits_for_one_id_to_come(doc: SequenceReplica) -> None:
    """Every waiting operation is handed out again when one id it needs, and the replica
    lacks, comes."""
    waiting = doc._waiting
    held = sorted(repr(op) for ops in waiting.waiters.values() for op in ops)
    assert held == sorted(repr(op) for op in waiting)
    assert sorted(waiting.waiters) == sorted(
        (a, s) for a, ss in waiting.awaited.items() for s in ss
    )
    assert not any(doc.has(ident) for ident in waiting.waiters)


def _verdict(call: Callable[..., object], *args: Any) -> bool:
    try:
        call(*args)
    except CRDTError:
        return False
    return True


@pytest.mark.parametrize("rule", RULE_IDS)
@settings(max_examples=40, deadline=None)
@given(history=histories(2, 15), seed=st.integers(0, 2**32 - 1))
def test_the_index_gives_the_verdicts_of_the_whole_check(
    rule: str, history: list[dict[str, Any]], seed: int
) -> None:
    made, _, _ = session(history, rule)
    assume(made)
    rng = random.Random(seed)
    delivery = resends(made, rng) if rng.random() < 0.7 else made[::-1]  # shuffled or reversed
    for _ in range(rng.randint(0, 6)):  # contents that clash with an op, and phantoms
        spot = rng.randrange(len(delivery) + 1)
        bad = conflicting(rng.choice(made), rng.randrange(4), rng)
        delivery.insert(spot, bad if rng.random() < 0.4 else phantom(made, rng))
    doc = RULES[rule]("reader" if rng.random() < 0.5 else rng.choice(made).agent)
    while delivery:
        if rng.random() < 0.1 and doc._known:  # local edits take no id held, waited for or
            doc.insert(rng.randint(0, len(doc)), "L")  # referred to
            if len(doc) > 1:
                doc.delete(rng.randrange(len(doc)), 1)
        k = rng.choice([1, 1, 1, 2, 3])
        batch, delivery = delivery[:k], delivery[k:]
        if rng.random() < 0.2 and doc._pending:  # a sync sends again what waits
            batch.append(rng.choice(doc._pending))
        expected = _verdict(check_batch_whole, doc, batch)
        state, pending = snapshot(doc), doc._pending
        assert _verdict(doc.apply_ops, batch) == expected, batch
        if not expected:  # a refused call changes nothing
            assert snapshot(doc) == state and doc._pending == pending
        assert _index(doc._waiting) == _index(_rebuilt(doc))
        _holders_cover(doc._waiting)
        _each_waits_for_one_id_to_come(doc)
        assert check_batch_whole(doc, []) is None  # what is held and waits is consistent


@pytest.mark.parametrize("rule", RULE_IDS)
def test_a_waiting_operation_and_a_later_delete_of_what_it_refers_to(rule: str) -> None:
    doc = RULES[rule]("reader")
    doc.apply_ops([Insert("a", 0, 0, "x", None, None)])
    doc.apply_ops([Insert("b", 0, 5, "y", ("z", 3), None)])  # waits for ("z", 3)
    state = snapshot(doc)
    with pytest.raises(CRDTError, match=r"\('z', 3\), which is a delete"):
        doc.apply_ops([Delete("z", 2, 2, ("a", 0), 2)])  # ("z", 3) is a delete, not a character
    assert snapshot(doc) == state and len(doc._pending) == 1
    doc.apply_ops([Insert("z", 0, 0, "abcd", None, None)])
    assert doc.text() == "abcdyx" or "y" in doc.text()
