"""Every replica class against the plain list replay of its rule, on random concurrent histories.

The histories have several agents, forks and merges, inserts and deletes at random positions
(next to and inside deleted runs), and one agent now and then editing on two concurrent
branches. The same histories drive ``ops_since`` / ``apply_ops`` between replicas with
duplicated, reordered and delayed delivery.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.collab import RULES, Insert, Op, SequenceReplica
from designpatterns_ref.collab.traces import Trace, replay_concurrent
from tests.collab.oracle import replay

AGENTS = ("a", "b", "ab", "c")  # "a" < "ab" < "b": ties compare agent ids as strings
RULE_IDS = list(RULES)


@st.composite
def histories(draw: st.DrawFn, min_txns: int, max_txns: int) -> list[dict[str, Any]]:
    """Transactions ``{"agent", "parents", "edits"}``; each edit is ``(pos_seed, del_seed,
    text)``, resolved against the text the transaction was typed on."""
    history: list[dict[str, Any]] = []
    last: dict[str, int] = {}
    for i in range(draw(st.integers(min_txns, max_txns))):
        agent = draw(st.sampled_from(AGENTS))
        parents = {last[agent]} if agent in last else set()
        if i and draw(st.booleans()):  # a merge (or a first edit on someone else's version)
            parents.add(draw(st.integers(0, i - 1)))
        if i and draw(st.integers(0, 9)) == 0:  # the same agent on a concurrent branch
            parents = {draw(st.integers(0, i - 1))}
        edit = st.tuples(
            st.integers(0, 60), st.sampled_from([0, 0, 0, 1, 2, 5]), st.text("xyzw📊", max_size=3)
        )
        edits = draw(st.lists(edit, min_size=1, max_size=2))
        history.append({"agent": agent, "parents": sorted(parents), "edits": edits})
        last[agent] = i
    return history


# The smallest case of the origin fault: c replaces Z with S while a types p after Z.
MINIMAL = [
    {"agent": "c", "parents": [], "edits": [(0, 0, "Z")]},
    {"agent": "c", "parents": [0], "edits": [(0, 1, ""), (0, 0, "S")]},
    {"agent": "a", "parents": [0], "edits": [(1, 0, "p")]},
]


# The same fault under RGA: a replaces its "t" with a "t" while c types Z concurrently. The new
# t was typed at the start (left origin none), so it is the newest item there: "tZ", not "Zt".
REPLACED = [
    {"agent": "a", "parents": [], "edits": [(0, 0, "t"), (0, 1, "t")]},
    {"agent": "c", "parents": [], "edits": [(0, 0, "Z")]},
]


@pytest.mark.parametrize("rule", RULE_IDS)
def test_replacing_a_character_while_another_agent_types(rule: str) -> None:
    trace, expected, _ = replay(REPLACED, rule)
    assert expected == "tZ"
    assert replay_concurrent(Trace.from_json(trace), RULES[rule]) == "tZ"


@pytest.mark.parametrize("rule", RULE_IDS)
def test_the_minimal_case(rule: str) -> None:
    trace, expected, _ = replay(MINIMAL, rule)
    assert expected == "Sp"  # every Fugue and YjsMod implementation agrees; RGA too here
    assert replay_concurrent(Trace.from_json(trace), RULES[rule]) == "Sp"
    c, a = RULES[rule]("c"), RULES[rule]("a")
    c.insert(0, "Z")
    a.merge(c)
    c.delete(0, 1)
    c.insert(0, "S")
    a.insert(1, "p")
    a.merge(c)
    c.merge(a)
    assert a.text() == c.text() == "Sp"


@pytest.mark.parametrize("rule", RULE_IDS)
@given(history=histories(1, 12))
def test_short_histories_match_the_oracle(rule: str, history: list[dict[str, Any]]) -> None:
    trace, expected, _ = replay(history, rule)
    assert replay_concurrent(Trace.from_json(trace), RULES[rule]) == expected


@pytest.mark.parametrize("rule", RULE_IDS)
@settings(max_examples=10)
@given(history=histories(50, 70))
def test_long_histories_match_the_oracle(rule: str, history: list[dict[str, Any]]) -> None:
    trace, expected, _ = replay(history, rule)
    assert replay_concurrent(Trace.from_json(trace), RULES[rule]) == expected


def deliver(replica: SequenceReplica, ops: list[Op], rng: random.Random) -> None:
    """Every op, some twice, shuffled, in batches of random size."""
    delivery = ops + rng.sample(ops, k=len(ops) // 2)
    rng.shuffle(delivery)
    while delivery:
        cut = rng.randint(1, len(delivery))
        replica.apply_ops(delivery[:cut])
        delivery = delivery[cut:]


def _end(op: Op) -> int:
    return op.seq + (len(op.text) if isinstance(op, Insert) else op.length)


def fork_replay(
    trace: dict[str, Any],
    typed: list[str],
    cls: type[SequenceReplica],
    deliver: Callable[[SequenceReplica, list[Op]], object],
) -> tuple[list[Op], list[SequenceReplica]]:
    """Replay ``trace`` as its authors did: each transaction on a fork of its first parent,
    what the other parents have given by ``deliver(replica, ops)``, then its patches typed
    (the text checked against ``typed``). Every operation made, in order, and the replica of
    each transaction."""
    replicas: list[SequenceReplica] = []
    made: list[Op] = []
    next_seq: dict[str, int] = {}
    for i, txn in enumerate(trace["txns"]):
        parents, agent = txn["parents"], txn["agent"]
        replica = replicas[parents[0]].fork(agent) if parents else cls(agent)
        for p in parents[1:]:  # a merge: what the other parent has
            deliver(replica, replicas[p].ops_since(replica.version()))
        assert replica.stats()["pending"] == 0
        replica.set_agent(agent, next_seq.get(agent, 0))
        before = replica.version()
        for pos, n_deleted, inserted in txn["patches"]:
            if n_deleted:
                replica.delete(pos, n_deleted)
            if inserted:
                replica.insert(pos, inserted)
        assert replica.text() == typed[i]
        ops = replica.ops_since(before)
        made += ops
        next_seq[agent] = max([next_seq.get(agent, 0), *map(_end, ops)])
        replicas.append(replica)
    return made, replicas


@pytest.mark.parametrize("rule", RULE_IDS)
@settings(max_examples=12)
@given(history=histories(20, 50), seed=st.integers(0, 2**32 - 1))
def test_ops_exchange_converges_to_the_oracle(
    rule: str, history: list[dict[str, Any]], seed: int
) -> None:
    trace, expected, typed = replay(history, rule)
    rng = random.Random(seed)
    cls = RULES[rule]
    made, replicas = fork_replay(trace, typed, cls, lambda r, ops: deliver(r, ops, rng))
    readers = [cls(f"reader{k}") for k in range(3)]
    for reader in readers[:2]:
        deliver(reader, made, rng)
    readers[2].apply_ops(made[::-1])  # every op before what it depends on
    for reader in readers:
        assert reader.text() == expected and reader.stats()["pending"] == 0
    # replicas of the history that saw different parts, synced pairwise with ops_since
    peers = rng.sample(replicas, k=min(4, len(replicas)))
    for _ in range(2):
        for x in peers:
            for y in peers:
                deliver(x, y.ops_since(x.version()), rng)
    for x in peers:
        deliver(x, readers[0].ops_since(x.version()), rng)
        assert x.text() == expected and x.stats()["pending"] == 0
