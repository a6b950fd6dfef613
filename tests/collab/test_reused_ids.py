"""An id a replica already holds, arriving again: an exact resend (whole or in part) is a silent
duplicate, the same id with other contents is refused whole and changes nothing."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.collab import RULES, CRDTError, Delete, Insert, Op, SequenceReplica
from tests.collab.oracle import replay
from tests.collab.test_bulk import snapshot
from tests.collab.test_oracle import fork_replay, histories

RULE_IDS = list(RULES)


@pytest.fixture(params=list(RULES.values()), ids=RULE_IDS)
def rule(request: pytest.FixtureRequest) -> type[SequenceReplica]:
    return request.param  # type: ignore[no-any-return]


def _end(op: Op) -> int:
    return op.seq + (len(op.text) if type(op) is Insert else op.length)  # type: ignore[union-attr]


def cut(op: Op, s: int, e: int) -> Op:
    """The part of ``op`` that uses ids ``s`` .. ``e - 1``, as ``ops_since`` sends a part."""
    k = s - op.seq
    if type(op) is Insert:
        left = op.left if k == 0 else (op.agent, s - 1)
        return Insert(op.agent, s, op.lamport + k, op.text[k : e - op.seq], left, op.right)
    assert type(op) is Delete
    tagent, tseq = op.target
    lo = tseq + (_end(op) - e if op.backwards else k)
    return Delete(op.agent, s, op.lamport + k, (tagent, lo), e - s, op.backwards)


# -- explicit cases ----------------------------------------------------------------------------
def test_a_fork_under_the_same_agent_that_edits_on_is_refused(rule: type[SequenceReplica]) -> None:
    laptop = rule("a")
    laptop.insert(0, "base")
    phone = laptop.fork("a")  # the same agent: both now type ("a", 4)
    laptop.insert(4, "X")
    before = phone.version()
    phone.insert(4, "Y")
    state = snapshot(laptop)
    with pytest.raises(CRDTError, match=r"\('a', 4\).*'X'.*'Y'"):
        laptop.apply_ops(phone.ops_since(before))  # phone pushes its new edits
    assert snapshot(laptop) == state
    with pytest.raises(CRDTError, match=r"\('a', 4\)"):
        laptop.apply_ops(phone.ops_since())  # or its whole history
    assert snapshot(laptop) == state and laptop.text() == "baseX"


def test_a_fork_under_the_same_agent_goes_on_when_the_original_stops(
    rule: type[SequenceReplica],
) -> None:
    original = rule("a")
    original.insert(0, "draft")
    original.delete(0, 1)
    copy = original.fork("a")
    copy.insert(4, "s")
    copy.apply_ops(original.ops_since())  # the original's history again: exact duplicates
    original.apply_ops(copy.ops_since())  # the copy's, old and new
    assert original.text() == copy.text() == "rafts"
    copy.insert(0, ">")  # the copy goes on; the original only receives
    original.merge(copy)
    assert original.text() == copy.text() == ">rafts"


def test_a_resend_that_only_partly_overlaps_is_a_duplicate(rule: type[SequenceReplica]) -> None:
    author = rule("a")
    author.insert(0, "abcdef")
    author.delete(1, 4)  # one delete of b..e, ids ("a", 6..9)
    run, dele = author.ops_since()
    reader = rule("r")
    reader.apply_ops([cut(run, 0, 3)])  # the first half of the run
    reader.apply_ops([run, cut(run, 2, 5)])  # all of it, then a middle part again
    assert reader.text() == "abcdef"
    reader.apply_ops([cut(dele, 6, 8)])
    reader.apply_ops([dele, cut(dele, 7, 10)])
    assert reader.text() == author.text() == "af" and reader.stats()["pending"] == 0
    back = rule("b")
    back.insert(0, "xyz")
    for pos in (2, 1, 0):  # three backspaces: one backwards delete
        back.delete(pos, 1)
    run, dele = back.ops_since()
    assert dele.backwards
    reader.apply_ops([run, cut(dele, 4, 6)])
    reader.apply_ops([dele, cut(dele, 3, 5)])
    assert reader.text() == "af" and reader.version() == author.version() | back.version()


def _holder(rule: type[SequenceReplica]) -> tuple[SequenceReplica, list[Op]]:
    author = rule("a")
    author.insert(0, "abc")  # ("a", 0..2)
    author.insert(3, "d")  # ("a", 3), left origin ("a", 2)
    author.delete(1, 1)  # ("a", 4) deletes ("a", 1)
    ops = author.ops_since()
    holder = rule("h")
    holder.apply_ops(ops)
    return holder, ops


@pytest.mark.parametrize(
    "bad",
    [
        Insert("a", 0, 0, "abX", None, None),
        Insert("a", 1, 1, "bXd", ("a", 0), None),  # starts inside the run, goes past its end
        Insert("a", 2, 2, "X", ("a", 1), None),  # the middle of the run, alone
    ],
    ids=repr,
)
def test_the_same_id_with_other_text_is_refused(rule: type[SequenceReplica], bad: Insert) -> None:
    holder, _ = _holder(rule)
    state = snapshot(holder)
    with pytest.raises(CRDTError, match=r"reuses id \('a', 2\).*'c'.*'X'"):
        holder.apply_ops([bad])
    assert snapshot(holder) == state
    holder.apply_ops([replace(bad, text=bad.text.replace("X", "c"))])  # the same text: a resend
    assert snapshot(holder) == state


@pytest.mark.parametrize(
    "bad",
    [
        Insert("a", 3, 3, "d", ("a", 0), None),  # another left origin
        Insert("a", 3, 3, "d", None, None),
        Insert("a", 3, 3, "d", ("a", 2), ("a", 0)),  # another right origin
        Insert("a", 3, 7, "d", ("a", 2), None),  # another Lamport time
        Insert("a", 0, 0, "abc", None, ("z", 9)),  # a right origin not even known
        Insert("a", 2, 2, "cd", ("a", 0), None),  # the chained left origin of ("a", 2) differs
    ],
    ids=repr,
)
def test_the_same_id_with_other_origins_is_refused(
    rule: type[SequenceReplica], bad: Insert
) -> None:
    holder, _ = _holder(rule)
    state = snapshot(holder)
    with pytest.raises(CRDTError, match=r"reuses id \('a', [023]\)"):
        holder.apply_ops([Insert("n", 0, 9, "new", None, None), bad])
    assert snapshot(holder) == state


@pytest.mark.parametrize(
    "bad",
    [
        Delete("a", 4, 4, ("a", 0), 1),  # another target
        Delete("a", 4, 4, ("a", 2), 1),
        Delete("a", 4, 4, ("h", 1), 1),  # another agent's character
        Delete("a", 4, 5, ("a", 1), 1),  # another Lamport time
        Delete("a", 4, 4, ("a", 1), 2),  # the held delete, then one more id: starts the same
        Delete("a", 4, 4, ("a", 1), 2, True),  # ... backwards: ("a", 4) deletes ("a", 2)
    ],
    ids=repr,
)
def test_a_delete_with_the_same_id_and_another_target_is_refused(
    rule: type[SequenceReplica], bad: Delete
) -> None:
    holder, _ = _holder(rule)
    holder.insert(0, "hh")
    state = snapshot(holder)
    if bad.length == 2 and not bad.backwards:  # it agrees with the held delete on ("a", 4)
        holder.apply_ops([bad])
        assert holder.has(("a", 5)) and holder.text() == "hhad"
        return
    with pytest.raises(CRDTError, match=r"reuses id \('a', 4\)"):
        holder.apply_ops([bad])
    assert snapshot(holder) == state
    holder.apply_ops([Delete("a", 4, 4, ("a", 1), 1, True), Delete("a", 4, 4, ("a", 1), 1)])
    assert snapshot(holder) == state  # the same delete (direction is moot for one id)


def test_a_backwards_delete_resent_forwards_is_refused(rule: type[SequenceReplica]) -> None:
    doc = rule("a")
    doc.insert(0, "xyz")
    doc.delete(2, 1)
    doc.delete(1, 1)  # a backwards delete of ("a", 1..2) with ids ("a", 3..4)
    (dele,) = [op for op in doc.ops_since() if type(op) is Delete]
    assert dele.backwards and dele.length == 2
    state = snapshot(doc)
    with pytest.raises(CRDTError, match=r"\('a', 3\)"):
        doc.apply_ops([replace(dele, backwards=False)])
    assert snapshot(doc) == state


def test_two_operations_of_one_batch_that_disagree_are_refused(
    rule: type[SequenceReplica],
) -> None:
    for doc in (rule("r"), _holder(rule)[0]):
        state = snapshot(doc)
        first, second = Insert("x", 0, 0, "ab", None, None), Insert("x", 1, 1, "c", ("x", 0), None)
        with pytest.raises(CRDTError, match=r"\('x', 1\).*'b'.*'c'"):
            doc.apply_ops([first, second])
        assert snapshot(doc) == state
        d1, d2 = Delete("x", 2, 2, ("x", 0), 2), Delete("x", 3, 3, ("x", 0), 1)
        with pytest.raises(CRDTError, match=r"\('x', 3\)"):
            doc.apply_ops([first, d1, d2])
        assert snapshot(doc) == state
        doc.apply_ops([first, cut(first, 1, 2), d1, cut(d1, 3, 4)])  # parts of the same: fine
        assert doc.has(("x", 3))


def test_an_operation_that_disagrees_with_a_waiting_one_is_refused(
    rule: type[SequenceReplica],
) -> None:
    doc = rule("r")
    waiting = Insert("x", 1, 1, "bc", ("x", 0), None)  # waits for ("x", 0)
    doc.apply_ops([waiting])
    assert doc.stats()["pending"] == 1
    state = snapshot(doc)
    with pytest.raises(CRDTError, match=r"\('x', 2\)"):
        doc.apply_ops([Insert("x", 0, 0, "abX", None, None)])
    assert snapshot(doc) == state
    doc.apply_ops([Insert("x", 0, 0, "abc", None, None)])
    assert doc.text() == "abc" and doc.stats()["pending"] == 0


def test_a_waiting_operation_keeps_its_ids_from_local_typing(
    rule: type[SequenceReplica],
) -> None:
    """Local typing under the agent of an operation that waits for a dependency takes ids past
    the waiting ones, so the waiting operation still applies when its dependency arrives."""
    laptop, carol = rule("a"), rule("c")
    phone = laptop.fork("a")  # the same agent
    carol.insert(0, "c")
    phone.merge(carol)
    before = phone.version()
    phone.insert(1, "p")  # ("a", 0), after carol's "c"
    laptop.apply_ops(phone.ops_since(before))  # waits for ("c", 0)
    assert laptop.stats()["pending"] == 1
    laptop.insert(0, "L")  # ("a", 1): ("a", 0) is the waiting "p"
    assert laptop.ops_since()[-1].seq == 1
    laptop.apply_ops(carol.ops_since())
    assert laptop.text() in ("Lcp", "cpL") and laptop.stats()["pending"] == 0
    laptop.set_agent("c")
    laptop.set_agent("a")
    laptop.insert(0, "!")
    assert laptop.ops_since()[-1].seq == 2


# -- generated sessions --------------------------------------------------------------------------
def session(history: list[dict[str, Any]], rule: str) -> tuple[list[Op], str, SequenceReplica]:
    """Every operation of ``history`` replayed by forking replicas, the oracle's final text, and
    the replica of the last transaction."""
    trace, expected, typed = replay(history, rule)
    made, replicas = fork_replay(trace, typed, RULES[rule], SequenceReplica.apply_ops)
    return made, expected, replicas[-1]


def resends(ops: list[Op], rng: random.Random) -> list[Op]:
    """Every op, plus exact resends: whole ops and random parts of ops."""
    out = list(ops)
    for op in rng.sample(ops, k=len(ops) // 2):
        s = rng.randrange(op.seq, _end(op))
        out.append(cut(op, s, rng.randrange(s, _end(op)) + 1))
    out += rng.sample(ops, k=len(ops) // 3)
    rng.shuffle(out)
    return out


@pytest.mark.parametrize("rule", RULE_IDS)
@settings(max_examples=25)
@given(history=histories(3, 25), seed=st.integers(0, 2**32 - 1))
def test_resent_operations_converge_to_the_oracle(
    rule: str, history: list[dict[str, Any]], seed: int
) -> None:
    made, expected, last = session(history, rule)
    rng = random.Random(seed)
    for reader in (RULES[rule]("reader"), last):
        delivery = resends(made, rng)
        while delivery:
            k = rng.randint(1, len(delivery))
            reader.apply_ops(delivery[:k])
            delivery = delivery[k:]
        assert reader.text() == expected and reader.stats()["pending"] == 0


def conflicting(op: Op, how: int, rng: random.Random) -> Op:
    """A part of ``op`` whose ids are the same but whose contents differ."""
    s = rng.randrange(op.seq, _end(op))
    part = cut(op, s, rng.randrange(s, _end(op)) + 1)
    if type(part) is Insert:
        if how == 0:  # one character changed
            k = rng.randrange(len(part.text))
            ch = "Q" if part.text[k] != "Q" else "R"
            return replace(part, text=part.text[:k] + ch + part.text[k + 1 :])
        if how == 1:  # another left origin
            left = None if part.left is not None else ("zz", 0)
            return replace(part, left=left)
        if how == 2:  # another right origin
            right = None if part.right is not None else ("zz", 0)
            return replace(part, right=right)
        return replace(part, lamport=part.lamport + 1)
    assert type(part) is Delete
    if how == 0 or part.length == 1:
        return replace(part, target=(part.target[0], part.target[1] + 1))
    if how == 1:
        return replace(part, backwards=not part.backwards)
    if how == 2:
        return replace(part, target=("zz", part.target[1]))
    return replace(part, lamport=part.lamport + 1)


@pytest.mark.parametrize("rule", RULE_IDS)
@settings(max_examples=25)
@given(
    history=histories(2, 20),
    seed=st.integers(0, 2**32 - 1),
    how=st.integers(0, 3),
    where=st.sampled_from(["holder", "batch", "waiting"]),
)
@example(
    history=[
        {"agent": "a", "parents": [], "edits": [(0, 0, "xy")]},
        {"agent": "a", "parents": [0], "edits": [(1, 0, "z")]},
    ],
    seed=0,
    how=0,
    where="holder",
)
def test_a_reused_id_with_other_contents_is_always_refused(
    rule: str, history: list[dict[str, Any]], seed: int, how: int, where: str
) -> None:
    made, _, last = session(history, rule)
    assume(len(made) >= 2)
    rng = random.Random(seed)
    bad = conflicting(rng.choice(made[1:]), how, rng)
    if where == "holder":  # the replica already holds the ids
        doc, batch = last, [*resends(made, rng), bad]
    elif where == "batch":  # the ids come twice in one batch to a new replica
        doc, batch = RULES[rule]("reader"), [*made, bad]
    else:  # the ids are held by operations still waiting for a dependency
        doc, batch = RULES[rule]("reader"), [bad]
        doc.apply_ops(made[1:])
    rng.shuffle(batch)
    state = snapshot(doc)
    pending = list(doc._pending)
    with pytest.raises(CRDTError):
        doc.apply_ops(batch)
    assert snapshot(doc) == state and doc._pending == pending
