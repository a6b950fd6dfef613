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
from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.collab import (
    RULES,
    CollabError,
    Insert,
    Op,
    SequenceReplica,
    apply_update,
    sync_step1,
    sync_step2,
)

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


# b's run "zz" has a Lamport time not past its right origin (c, 2)'s, so its right origin is
# disregarded; c's later run hangs off b's first "z". A replica that holds b's "z" alone and
# receives the other from a relay (the two-step sync sends only what is missing) holds b's run
# in two pieces, the second with a Lamport time past (c, 2)'s: it must be placed as it would be
# had the run arrived whole.
A_LAGGING_RUN = [
    Insert("c", 0, 0, "xzy", None, None),
    Insert("b", 0, 2, "zz", ("c", 1), ("c", 2)),
    Insert("c", 3, 9, "yzx", ("b", 0), ("c", 1)),
]


def split(op: Insert, k: int) -> list[Insert]:
    """``op`` as two pieces cut after ``k`` characters, as a relay that held the first
    sends the second: it continues the first, with the same right origin."""
    agent, seq, lamport = op.agent, op.seq, op.lamport
    return [
        Insert(agent, seq, lamport, op.text[:k], op.left, op.right),
        Insert(agent, seq + k, lamport + k, op.text[k:], (agent, seq + k - 1), op.right),
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


# b's run "xz" has a Lamport time not past its right origin (c, 0)'s, so its right origin is
# disregarded; c's later "x" has b's "x" for both origins. FugueMax gives "xzxx" to a replica
# that receives b's run whole; one that receives "x" and then "z" (relayed, continuing it)
# must judge the "z" by the verdict its head got, not anew.
A_CUT_RUN_OF_A_DISREGARDED_RIGHT = [
    Insert("c", 0, 2, "x", None, None),
    Insert("b", 0, 2, "xz", None, ("c", 0)),
    Insert("c", 1, 0, "x", ("b", 0), ("b", 0)),
]


@st.composite
def peer_ops(draw: st.DrawFn, clocks: bool, runs: int = 2, count: int = 10) -> list[Op]:
    """Up to ``count`` inserts of up to ``runs`` characters, with any origins among the
    characters made before them; with ``clocks``, Lamport times above their origins' (as a
    peer's clock gives them), else any."""
    ops: list[Op] = []
    made: dict[tuple[str, int], int] = {}  # character -> its Lamport time
    next_seq = dict.fromkeys(AGENTS, 0)
    for _ in range(draw(st.integers(1, count))):
        agent = draw(st.sampled_from(AGENTS))
        ids = sorted(made)
        left = draw(st.sampled_from([None, *ids]))
        right = draw(st.sampled_from([None, *ids]))
        floor = max([made[r] for r in (left, right) if r is not None], default=-1) + 1
        lamport = (floor if clocks else 0) + draw(st.integers(0, 2))
        text = draw(st.text("xyz", min_size=1, max_size=runs))
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


@pytest.mark.parametrize("rule", list(RULES))
@pytest.mark.parametrize(
    "ops",
    [
        A_LAGGING_RUN,
        SKIPS_AN_ANCESTOR,
        A_CLOCK_BEHIND_ITS_RIGHT_ORIGIN,
        A_CUT_RUN_OF_A_DISREGARDED_RIGHT,
    ],
    ids=["lagging-run", "skips-an-ancestor", "clock-behind", "cut-disregarded-run"],
)
def test_a_run_relayed_in_pieces_lands_as_if_whole(rule: str, ops: list[Op]) -> None:
    """Every run cut at every point, its pieces arriving in every order (a piece that
    arrives before the one it continues waits for it), gives the text of the whole batch."""
    cls = RULES[rule]
    whole = cls("reader")
    whole.apply_ops(ops)
    for at, op in enumerate(ops):
        assert isinstance(op, Insert)
        for k in range(1, len(op.text)):
            pieces: list[Op] = [*ops[:at], *split(op, k), *ops[at + 1 :]]
            assert texts_by_arrival_order(cls, pieces) == {whole.text()}, (at, k)


@pytest.mark.parametrize("rule", list(RULES))
def test_a_relayed_tail_converges_through_sync(rule: str) -> None:
    """One replica holds the lagging run whole, another its first character: the two-step
    sync sends the rest, and both end with one text."""
    cls = RULES[rule]
    c0, b0, _ = A_LAGGING_RUN
    assert isinstance(b0, Insert)
    p, q = cls("p"), cls("q")
    p.apply_ops(A_LAGGING_RUN)
    q.apply_ops([c0, split(b0, 1)[0]])
    apply_update(q, sync_step2(p, sync_step1(q)))
    assert q.version() == p.version()
    assert q.text() == p.text()


@st.composite
def relayed(draw: st.DrawFn) -> tuple[list[Op], list[Op]]:
    """A peer's operations, and the same with runs (of up to five characters) cut into
    pieces at any points."""
    ops = draw(st.booleans().flatmap(lambda clocks: peer_ops(clocks, runs=5, count=14)))
    pieces: list[Op] = []
    for op in ops:
        assert isinstance(op, Insert)
        while len(op.text) > 1 and draw(st.booleans()):
            head, op = split(op, draw(st.integers(1, len(op.text) - 1)))
            pieces.append(head)
        pieces.append(op)
    return ops, pieces


A_CUT_RUN_AND_ITS_PIECES = (
    A_CUT_RUN_OF_A_DISREGARDED_RIGHT,
    [
        A_CUT_RUN_OF_A_DISREGARDED_RIGHT[0],
        *split(A_CUT_RUN_OF_A_DISREGARDED_RIGHT[1], 1),  # type: ignore[arg-type]
        A_CUT_RUN_OF_A_DISREGARDED_RIGHT[2],
    ],
)


@pytest.mark.parametrize("rule", list(RULES))
@settings(max_examples=300, deadline=None)
@given(case=relayed(), seed=st.integers(0, 2**32 - 1))
@example(case=A_CUT_RUN_AND_ITS_PIECES, seed=0)
def test_runs_cut_into_pieces_land_as_if_whole(
    rule: str, case: tuple[list[Op], list[Op]], seed: int
) -> None:
    cls = RULES[rule]
    ops, pieces = case
    whole = cls("reader")
    try:
        whole.apply_ops(ops)
    except CollabError:
        return  # refused whole: nothing to compare
    shuffled = random.Random(seed).sample(pieces, k=len(pieces))
    one_by_one = cls("reader")
    for op in shuffled:
        one_by_one.apply_ops([op])
    assert one_by_one.stats()["pending"] == 0
    assert one_by_one.text() == whole.text()
