"""Operations from an inconsistent or hostile peer: replicas that apply the same ones agree.

A peer's operation that passes every check can still describe an edit no honest replica
makes: origins with a character between them that the author must have held. Whatever such a
peer sends, every replica that applies the same operations, in any order, must end with the
same text.
"""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.collab import RULES, CollabError, Insert, Op, SequenceReplica

AGENTS = ("a", "b", "c")

# "y" claims to be typed at the start, just before b's "x"; but b's "x" was typed after a's
# "x", which the author of "y" therefore held, and which lies between the start and b's "x".
SKIPS_AN_ANCESTOR = [
    Insert("a", 0, 0, "x", None, None),
    Insert("b", 0, 1, "x", ("a", 0), None),
    Insert("c", 0, 0, "x", None, None),
    Insert("d", 0, 2, "y", None, ("b", 0)),
]

# b's "x" was typed before a's "x" (its right origin), yet its Lamport time is lower: RGA puts
# a run after every newer sibling, so b's "x" belongs after a's, not stopped before it.
A_CLOCK_BEHIND_ITS_RIGHT_ORIGIN = [
    Insert("a", 0, 1, "x", None, None),
    Insert("b", 0, 0, "x", None, ("a", 0)),
    Insert("c", 0, 0, "y", None, None),
]

# b's right origin is disregarded (its Lamport time is not past a's); Fugue must then compare
# no right parent for it when c's "y" arrives, as it was placed without one.
DISREGARDED_THEN_A_SIBLING = [
    Insert("a", 0, 0, "x", None, None),
    Insert("b", 0, 0, "x", None, ("a", 0)),
    Insert("c", 0, 1, "y", None, ("a", 0)),
]


def texts_by_arrival_order(cls: type[SequenceReplica], ops: list[Op]) -> set[str]:
    """The texts replicas end with, one per order of arrival (one operation a batch)."""
    texts = set()
    for order in itertools.permutations(ops):
        replica = cls("reader")
        for op in order:
            replica.apply_ops([op])
        assert replica.stats()["pending"] == 0
        texts.add(replica.text())
    return texts


@pytest.mark.parametrize("rule", list(RULES))
@pytest.mark.parametrize(
    "ops", [SKIPS_AN_ANCESTOR, A_CLOCK_BEHIND_ITS_RIGHT_ORIGIN, DISREGARDED_THEN_A_SIBLING]
)
def test_one_text_whatever_the_order_of_arrival(rule: str, ops: list[Op]) -> None:
    cls = RULES[rule]
    texts = texts_by_arrival_order(cls, ops)
    whole = cls("reader")
    whole.apply_ops(ops)  # an empty replica loads a batch in one pass
    assert texts == {whole.text()}


@st.composite
def peer_ops(draw: st.DrawFn, clocks: bool) -> list[Op]:
    """Inserts with any origins among the characters made before them; with ``clocks``,
    Lamport times above their origins' (as a peer's clock gives them), else any."""
    ops: list[Op] = []
    made: dict[tuple[str, int], int] = {}  # character -> its Lamport time
    next_seq = dict.fromkeys(AGENTS, 0)
    for _ in range(draw(st.integers(1, 10))):
        agent = draw(st.sampled_from(AGENTS))
        ids = sorted(made)
        left = draw(st.sampled_from([None, *ids]))
        right = draw(st.sampled_from([None, *ids]))
        floor = max([made[r] for r in (left, right) if r is not None], default=-1) + 1
        lamport = (floor if clocks else 0) + draw(st.integers(0, 2))
        text = draw(st.text("xyz", min_size=1, max_size=2))
        seq = next_seq[agent]
        ops.append(Insert(agent, seq, lamport, text, left, right))
        for k in range(len(text)):
            made[(agent, seq + k)] = lamport + k
        next_seq[agent] = seq + len(text)
    return ops


@pytest.mark.parametrize("rule", list(RULES))
@settings(max_examples=300, deadline=None)
@given(ops=st.booleans().flatmap(peer_ops), seed=st.integers(0, 2**32 - 1))
def test_replicas_agree_on_whatever_origins_a_peer_sends(
    rule: str, ops: list[Op], seed: int
) -> None:
    cls = RULES[rule]
    rng = random.Random(seed)
    whole = cls("reader")
    try:
        whole.apply_ops(ops)
    except CollabError:
        return  # refused whole: nothing to compare
    for _ in range(4):
        shuffled = rng.sample(ops, k=len(ops))
        one_by_one = cls("reader")
        for op in shuffled:
            one_by_one.apply_ops([op])
        assert one_by_one.text() == whole.text()
        assert one_by_one.stats()["pending"] == 0
