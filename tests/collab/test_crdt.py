"""Sequence CRDTs: one contract for every ordering rule, convergence, no interleaving."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from designpatterns_ref.collab import (
    RULES,
    CRDTError,
    Delete,
    FugueMaxReplica,
    Insert,
    RGAReplica,
    SequenceReplica,
    TextReplica,
    Version,
    from_utf16,
    to_utf16,
)

RULE_CLASSES = list(RULES.values())


@pytest.fixture(params=RULE_CLASSES, ids=list(RULES))
def rule(request: pytest.FixtureRequest) -> type[SequenceReplica]:
    return request.param  # type: ignore[no-any-return]


def test_local_edits(rule: type[SequenceReplica]) -> None:
    doc = rule("alice")
    assert isinstance(doc, TextReplica)
    doc.insert(0, "hello world")
    doc.delete(5, 6)
    doc.insert(5, ", there")
    doc.insert(0, ">")
    doc.delete(0, 1)
    assert doc.text() == "hello, there" and len(doc) == 12
    assert doc.stats()["length"] == 12


@pytest.mark.parametrize("pos", range(4))
def test_astral_characters_at_every_position(rule: type[SequenceReplica], pos: int) -> None:
    doc = rule("a")
    doc.insert(0, "A📊B")
    doc.insert(pos, "😀")
    assert doc.text() == "A📊B"[:pos] + "😀" + "A📊B"[pos:]
    other = rule("b")
    other.merge(doc)
    if pos < 4:
        other.delete(pos, 1)
        assert other.text() == "A📊B"
    assert to_utf16(doc.text(), pos) == len(doc.text()[:pos].encode("utf-16-le")) // 2
    assert from_utf16(doc.text(), to_utf16(doc.text(), pos)) == pos


def test_bad_input_raises_and_changes_nothing(rule: type[SequenceReplica]) -> None:
    doc = rule("a")
    doc.insert(0, "abc")
    before = (doc.text(), doc.version(), doc.stats())
    with pytest.raises(CRDTError, match=r"pos=4 must be an int within \[0, 3\]"):
        doc.insert(4, "x")
    with pytest.raises(CRDTError, match="text=5"):
        doc.insert(0, 5)  # type: ignore[arg-type]
    with pytest.raises(CRDTError, match="reaches past"):
        doc.delete(2, 2)
    with pytest.raises(CRDTError, match="non-negative"):
        doc.delete(-1, 1)
    with pytest.raises(CRDTError, match="agent"):
        rule("")
    with pytest.raises(CRDTError, match="Insert or a Delete"):
        doc.apply_ops(["nonsense"])  # type: ignore[list-item]
    with pytest.raises(CRDTError, match="malformed"):
        doc.apply_ops([Insert("b", 0, 0, "", None, None)])
    with pytest.raises(CRDTError, match="next_seq"):
        doc.set_agent("a", 1)
    doc.delete(0, 1)  # seq 3 of "a" is a delete, not a character
    before = (doc.text(), doc.version(), doc.stats())
    good = Insert("b", 0, 9, "ok", None, None)
    with pytest.raises(CRDTError, match="is a delete"):
        doc.apply_ops([good, Insert("b", 2, 10, "x", ("a", 3), None)])
    with pytest.raises(CRDTError, match="is a delete"):
        doc.apply_ops([Delete("b", 0, 9, ("a", 2), 2)])
    assert (doc.text(), doc.version(), doc.stats()) == before


def test_the_core_alone_is_abstract() -> None:
    with pytest.raises(TypeError, match="abstract"):
        SequenceReplica("a")


def test_rules_do_not_mix() -> None:
    with pytest.raises(CRDTError, match="rule"):
        RGAReplica("a").merge(FugueMaxReplica("b"))


def test_duplicates_ignored_and_early_ops_wait(rule: type[SequenceReplica]) -> None:
    a = rule("a")
    a.insert(0, "abc")
    a.insert(1, "X")
    a.delete(0, 2)
    ops = a.ops_since()
    b = rule("b")
    b.apply_ops(list(reversed(ops)))  # every op arrives before what it depends on
    assert b.text() == a.text() == "bc"
    b.apply_ops(ops)  # and then all of them again
    assert b.text() == "bc" and b.stats()["pending"] == 0
    c = rule("c")
    c.apply_ops(ops[1:])
    assert c.stats()["pending"] > 0 and c.text() == ""
    c.apply_ops(ops[:1])
    assert c.text() == "bc" and c.stats()["pending"] == 0


def test_ops_since_sends_only_what_is_missing(rule: type[SequenceReplica]) -> None:
    a = rule("a")
    a.insert(0, "hello")
    b = a.fork("b")
    assert b.text() == "hello" and b.version() == a.version()
    a.insert(5, "!")
    b.insert(0, ">")
    assert a.ops_since(b.version()) == [Insert("a", 5, 5, "!", ("a", 4), None)]
    a.merge(b)
    b.merge(a)
    assert a.text() == b.text() == ">hello!"
    assert ("a", 5) in a.version() and ("b", 0) in a.version() and ("b", 1) not in a.version()
    assert a.version() <= b.version() <= a.version()


def test_backspace_runs_travel_in_parts(rule: type[SequenceReplica]) -> None:
    a = rule("a")
    a.insert(0, "abcdef")
    for pos in (5, 4, 3):  # three backspaces: one log entry
        a.delete(pos, 1)
    b = rule("b")
    b.apply_ops(a.ops_since(Version({"a": [(0, 7)]})))  # only part of the run: waits
    b.apply_ops(a.ops_since(b.version()))
    c = rule("c")
    c.apply_ops(a.ops_since())
    for part in (Version({"a": [(0, 6)]}), Version({"a": [(0, 7)]}), Version({"a": [(0, 8)]})):
        d = rule("d")
        d.apply_ops([op for op in c.ops_since() if isinstance(op, Insert)])
        d.apply_ops([op for op in a.ops_since(part) if isinstance(op, Delete)])
        d.apply_ops(a.ops_since(d.version()))
        assert d.text() == "abc"
    assert b.text() == c.text() == "abc"


@st.composite
def sessions(draw: st.DrawFn) -> list[tuple[int, str, int, int | str]]:
    """A program of steps: (replica, kind, pos-seed, arg)."""
    steps = []
    for _ in range(draw(st.integers(1, 25))):
        who = draw(st.integers(0, 2))
        kind = draw(st.sampled_from(["insert", "insert", "delete", "sync"]))
        seed = draw(st.integers(0, 10**6))
        arg: int | str = (
            draw(st.text("ab📊", min_size=1, max_size=4))
            if kind == "insert"
            else draw(st.integers(1, 3))
        )
        steps.append((who, kind, seed, arg))
    return steps


def run_session(
    rule: type[SequenceReplica], steps: list[tuple[int, str, int, int | str]]
) -> list[SequenceReplica]:
    reps = [rule(name) for name in ("ann", "bob", "cy")]
    for who, kind, seed, arg in steps:
        r = reps[who]
        if kind == "insert":
            assert isinstance(arg, str)
            r.insert(seed % (len(r) + 1), arg)
        elif kind == "delete" and len(r):
            assert isinstance(arg, int)
            pos = seed % len(r)
            r.delete(pos, min(arg, len(r) - pos))
        elif kind == "sync":
            r.merge(reps[seed % 3])
    return reps


@pytest.mark.parametrize("rule_cls", RULE_CLASSES, ids=list(RULES))
@given(steps=sessions(), order_seed=st.integers(0, 2**32 - 1))
def test_replicas_converge_whatever_the_delivery(
    rule_cls: type[SequenceReplica], steps: list[tuple[int, str, int, int | str]], order_seed: int
) -> None:
    reps = run_session(rule_cls, steps)
    everything = [op for r in reps for op in r.ops_since()]
    rng = random.Random(order_seed)
    for r in reps:
        for other in reps:
            r.merge(other)
    expected = reps[0].text()
    assert all(r.text() == expected for r in reps)
    # a fresh replica given every op, shuffled, duplicated, in delayed batches
    fresh = rule_cls("zed")
    delivery = everything + rng.sample(everything, k=len(everything) // 2)
    rng.shuffle(delivery)
    while delivery:
        cut = rng.randint(1, len(delivery))
        fresh.apply_ops(delivery[:cut])
        delivery = delivery[cut:]
    assert fresh.text() == expected and fresh.stats()["pending"] == 0


@given(
    base=st.text("xy", max_size=5),
    where=st.integers(0, 5),
    runs=st.tuples(st.text("abc", min_size=2, max_size=5), st.text("ABC", min_size=2, max_size=5)),
    backwards=st.tuples(st.booleans(), st.booleans()),
)
def test_fuguemax_never_interleaves_concurrent_runs(
    base: str, where: int, runs: tuple[str, str], backwards: tuple[bool, bool]
) -> None:
    origin = FugueMaxReplica("origin")
    origin.insert(0, base)
    pos = min(where, len(base))
    reps = [origin.fork("alice"), origin.fork("bob")]
    for rep, run, back in zip(reps, runs, backwards, strict=True):
        for k, ch in enumerate(reversed(run) if back else run):
            rep.insert(pos if back else pos + k, ch)
        assert rep.text() == base[:pos] + run + base[pos:]
    reps[0].merge(reps[1])
    text = reps[0].text()
    assert runs[0] in text and runs[1] in text


def test_rga_interleaves_backward_runs_fuguemax_does_not() -> None:
    results = {}
    for rule_cls in (RGAReplica, FugueMaxReplica):
        alice, bob = rule_cls("alice"), rule_cls("bob")
        for ch in reversed("abc"):
            alice.insert(0, ch)
        for ch in reversed("XYZ"):
            bob.insert(0, ch)
        alice.merge(bob)
        results[rule_cls.rule] = alice.text()
    assert results["fuguemax"] in ("abcXYZ", "XYZabc")
    assert "abc" not in results["rga"] and "XYZ" not in results["rga"]


def test_concurrent_inserts_at_one_place_ordered_by_agent_id() -> None:
    a, b = FugueMaxReplica("b-agent"), FugueMaxReplica("a-agent")
    a.insert(0, "1")
    b.insert(0, "2")
    a.merge(b)
    b.merge(a)
    assert a.text() == b.text() == "21"  # "a-agent" < "b-agent" goes first


def test_utf16_round_trip_and_errors() -> None:
    text = "A📊B"
    assert [to_utf16(text, p) for p in range(4)] == [0, 1, 3, 4]
    assert [from_utf16(text, u) for u in (0, 1, 3, 4)] == [0, 1, 2, 3]
    from designpatterns_ref.collab import CollabError

    with pytest.raises(CollabError, match="surrogate pair"):
        from_utf16(text, 2)
    with pytest.raises(CollabError):
        to_utf16(text, 5)


def _snapshot(doc: SequenceReplica) -> tuple[object, ...]:
    return (doc.text(), doc.version(), doc.stats(), doc.ops_since())


def test_a_delete_covering_a_delete_id_is_refused_whole(rule: type[SequenceReplica]) -> None:
    doc = rule("a")
    doc.insert(0, "abc")  # ("a", 0..2)
    doc.delete(1, 1)  # ("a", 3) is the delete of "b"
    doc.insert(2, "d")  # ("a", 4)
    before = _snapshot(doc)
    good = Insert("b", 0, 9, "ok", None, None)
    # the first and last ids it covers are characters, the middle one is a delete
    bad = Delete("b", 2, 10, ("a", 2), 3)
    for batch in ([bad], [good, bad], [bad, good]):
        with pytest.raises(CRDTError, match="is a delete"):
            doc.apply_ops(batch)
        assert _snapshot(doc) == before
    doc.apply_ops([good, Delete("b", 2, 10, ("a", 4), 1)])  # a fine batch still applies
    assert doc.text() in ("okac", "acok")  # "ok" at the start, concurrent with "abc"


def test_a_batch_is_checked_against_itself_and_the_waiting_ops(
    rule: type[SequenceReplica],
) -> None:
    doc = rule("a")
    doc.insert(0, "ab")
    # an op of the batch refers to an id a later op of the same batch uses for a delete
    batch = [
        Insert("b", 0, 5, "x", ("b", 0 + 2), None),
        Insert("b", 3, 6, "y", None, None),
        Delete("b", 2, 4, ("a", 0), 1),
    ]
    before = _snapshot(doc)
    with pytest.raises(CRDTError):
        doc.apply_ops(batch)
    assert _snapshot(doc) == before
    waiting = Insert("c", 5, 9, "w", ("z", 7), None)  # ("z", 7) has not arrived: it waits
    doc.apply_ops([waiting])
    assert doc.stats()["pending"] == 1
    before = _snapshot(doc)
    with pytest.raises(CRDTError, match="is a delete"):  # ("z", 7) turns out to be a delete
        doc.apply_ops([Insert("z", 0, 1, "q", None, None), Delete("z", 7, 2, ("z", 0), 1)])
    assert _snapshot(doc) == before and doc.stats()["pending"] == 1
    with pytest.raises(CRDTError, match="other kind"):  # ids used for characters, then a delete
        doc.apply_ops([Delete("a", 0, 8, ("b", 0), 1)])
    assert _snapshot(doc) == before


def test_insert_after_a_deleted_run_that_spans_chunks(rule: type[SequenceReplica]) -> None:
    doc = rule("a")
    for _ in range(200):  # typed backwards: 200 items, seq k at position 199 - k
        doc.insert(0, "x")
    doc.delete(50, 100)  # tombstones of seq 149 .. 50, across several chunks
    assert doc.stats()["chunks"] > 2
    before = doc.version()
    doc.insert(50, "Q")
    (op,) = doc.ops_since(before)
    assert isinstance(op, Insert)
    # left: the visible character before; right: the item right after it, a tombstone
    assert (op.left, op.right) == (("a", 150), ("a", 149))
    doc.insert(51, "R")  # typing on
    doc.insert(0, "<")
    doc.insert(len(doc), ">")
    assert doc.text() == "<" + "x" * 50 + "QR" + "x" * 50 + ">"
    reader = rule("b")
    reader.apply_ops(doc.ops_since()[::-1])
    assert reader.text() == doc.text()
