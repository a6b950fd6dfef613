"""A replica's own identities and clock: operations that arrive under its own agent, and
clocks near the 2**62 limit every operation must stay below."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from designpatterns_ref.collab import (
    RULES,
    CRDTError,
    Insert,
    SequenceReplica,
    apply_update,
    encode_update,
)
from designpatterns_ref.collab.dellog import MAX_ID
from designpatterns_ref.collab.ops import check_op
from tests.collab.test_bulk import snapshot
from tests.collab.test_crdt import run_session, sessions

RULE_CLASSES = list(RULES.values())


def local_edits(doc: SequenceReplica, rng: random.Random, count: int = 4) -> None:
    for _ in range(count):
        if len(doc) and rng.random() < 0.4:
            pos = rng.randrange(len(doc))
            doc.delete(pos, min(rng.randint(1, 3), len(doc) - pos))
        else:
            doc.insert(rng.randint(0, len(doc)), rng.choice(["x", "yz", "📊"]))


@pytest.mark.parametrize("rule_cls", RULE_CLASSES, ids=list(RULES))
@given(
    steps=sessions(),
    who=st.integers(0, 2),
    seed=st.integers(0, 2**32 - 1),
    via=st.sampled_from(["merge", "update", "shuffled batches"]),
)
def test_a_replica_reopened_under_its_own_agent_edits_with_new_ids(
    rule_cls: type[SequenceReplica],
    steps: list[tuple[int, str, int, int | str]],
    who: int,
    seed: int,
    via: str,
) -> None:
    """A user reopens the document in a fresh replica under the same name and loads it (whole,
    as an update, or in shuffled batches that wait for their dependencies): the next edits
    take ids the document does not hold yet, so they travel, and every replica converges."""
    reps = run_session(rule_cls, steps)
    hub = rule_cls("hub")
    for r in reps:
        hub.merge(r)
    rng = random.Random(seed)
    reopened = rule_cls(reps[who].agent)
    if via == "merge":
        reopened.merge(hub)
    elif via == "update":
        apply_update(reopened, encode_update(hub))
    else:
        delivery = rng.sample(hub.ops_since(), len(hub.ops_since()))
        while delivery:
            cut = rng.randint(1, len(delivery))
            reopened.apply_ops(delivery[:cut])
            delivery = delivery[cut:]
    assert reopened.text() == hub.text()
    held = reopened.version()
    local_edits(reopened, rng)
    new = reopened.ops_since(held)
    assert new and not any((op.agent, op.seq) in held for op in new)
    hub.merge(reopened)
    for r in reps:
        r.merge(hub)
    assert all(r.text() == reopened.text() for r in [hub, *reps])
    fresh = rule_cls("fresh")
    apply_update(fresh, encode_update(reopened))
    assert fresh.text() == reopened.text()


def test_the_original_of_a_same_name_fork_edits_with_new_ids_after_merging_the_copy(
    rule: type[SequenceReplica],
) -> None:
    original = rule("a")
    original.insert(0, "draft")
    copy = original.fork("a")
    copy.insert(5, "s")
    original.merge(copy)
    held = original.version()
    original.insert(6, "!")
    assert original.version() != held and original.text() == "drafts!"
    peer = rule("peer")
    peer.merge(copy)
    peer.merge(original)
    assert peer.text() == "drafts!"


def test_ids_waiting_under_the_own_agent_are_not_reused(rule: type[SequenceReplica]) -> None:
    """An operation of the replica's own agent that waits for a dependency keeps its ids."""
    author = rule("a")
    author.insert(0, "ab")
    other = author.fork("b")
    other.insert(2, "c")
    author.merge(other)
    author.insert(3, "d")  # a's seq 2, after b's "c"
    reopened = rule("a")
    reopened.apply_ops([op for op in author.ops_since() if op.agent == "a"])
    assert reopened.stats()["pending"] == 1  # "d" waits for "c"
    reopened.insert(0, "!")
    assert reopened.ops_since()[-1].seq == 3
    reopened.merge(author)
    assert reopened.text() == "!abcd" and reopened.stats()["pending"] == 0


@pytest.fixture(params=RULE_CLASSES, ids=list(RULES))
def rule(request: pytest.FixtureRequest) -> type[SequenceReplica]:
    return request.param  # type: ignore[no-any-return]


@pytest.mark.parametrize("rule_cls", RULE_CLASSES, ids=list(RULES))
@given(
    top=st.integers(0, 12),
    clock=st.sampled_from(["seq", "lamport", "both"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_an_edit_past_the_id_limit_is_refused_before_it_changes_anything(
    rule_cls: type[SequenceReplica], top: int, clock: str, seed: int
) -> None:
    """With a sequence number or Lamport time near 2**62 (set by ``set_agent``, or taken from
    a peer's operation), a local edit either makes operations every replica accepts, or is
    refused with CRDTError and changes nothing; the replica can always still sync."""
    doc = rule_cls("me")
    doc.insert(0, "hello")
    if clock in ("lamport", "both"):
        doc.apply_ops([Insert("peer", 0, MAX_ID - top - 1, "p", ("me", 4), None)])
    if clock in ("seq", "both"):
        doc.set_agent("me", MAX_ID - top - 1)
    rng = random.Random(seed)
    for _ in range(6):
        before = snapshot(doc)
        try:
            local_edits(doc, rng, count=1)
        except CRDTError as exc:
            assert "2**62" in str(exc)
            assert snapshot(doc) == before
    for op in doc.ops_since():
        check_op(op)
    reader = rule_cls("reader")
    apply_update(reader, encode_update(doc))
    assert reader.text() == doc.text()


@pytest.mark.parametrize("length", [1, 2, 3])
def test_a_fresh_replica_set_near_the_limit_refuses_what_would_pass_it(
    rule: type[SequenceReplica], length: int
) -> None:
    doc = rule("me")
    doc.set_agent("me", MAX_ID - 2)
    if length <= 2:
        doc.insert(0, "x" * length)
        assert [op.seq for op in doc.ops_since()] == [MAX_ID - 2]
        return
    with pytest.raises(CRDTError, match="2\\*\\*62"):
        doc.insert(0, "x" * length)
    assert doc.text() == "" and doc.ops_since() == []


def test_one_peer_operation_at_the_top_of_the_clock_leaves_local_edits_refused() -> None:
    doc = RULES["fuguemax"]("bob")
    doc.apply_ops([Insert("mallory", 0, MAX_ID - 1, "x", None, None)])
    with pytest.raises(CRDTError, match="Lamport time"):
        doc.insert(1, "hi")
    with pytest.raises(CRDTError, match="Lamport time"):
        doc.delete(0, 1)
    assert doc.text() == "x"
    peer = RULES["fuguemax"]("alice")
    peer.merge(doc)
    assert peer.text() == "x"
