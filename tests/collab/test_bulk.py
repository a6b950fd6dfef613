"""The one-pass load of a whole history against the reference: one operation at a time.

An empty replica given a batch takes its sequential prefix through ``plan_load`` and the rest
through ``_apply_each``; the reference applies the whole batch through ``_apply_each``. Both
must end with the same text and the same internal state (items and their pieces, index, delete
logs, versions, clock, waiting operations), and behave the same under later edits.
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from designpatterns_ref.collab import RULES, CRDTError, Delete, Insert, Op, SequenceReplica
from designpatterns_ref.collab.batch import check_batch
from designpatterns_ref.collab.bulk import plan_load
from designpatterns_ref.collab.items import MAX_CHUNK
from designpatterns_ref.collab.ops import check_op
from designpatterns_ref.collab.traces import load_trace
from tests.collab.test_crdt import run_session, sessions

RULE_CLASSES = list(RULES.values())


def reference(cls: type[SequenceReplica], batch: list[Op]) -> SequenceReplica:
    """An empty replica given ``batch`` one operation at a time (no one-pass load)."""
    doc = cls("reader")
    checked = [check_op(op) for op in batch]
    check_batch(doc, checked)
    doc._apply_each(checked)
    return doc


def loaded(cls: type[SequenceReplica], batch: list[Op]) -> SequenceReplica:
    doc = cls("reader")
    doc.apply_ops(batch)
    return doc


def snapshot(doc: SequenceReplica) -> dict[str, Any]:
    """Everything a replica holds but the chunk boundaries, after checking the chunks agree
    with their items (links, cached lengths, back pointers)."""
    items, prev = [], None
    for chunk in doc._chunks():
        assert chunk.prev is prev
        assert chunk.visible == sum(len(it.content) for it in chunk.items if not it.deleted)
        for it in chunk.items:
            assert it.chunk is chunk
            pieces = None if it.run is None else [p.seq for p in it.run]
            items.append(
                (
                    it.agent,
                    it.seq,
                    it.dl,
                    it.content,
                    it.deleted,
                    it.la,
                    it.ls,
                    it.ra,
                    it.rs,
                    pieces,
                )
            )
        prev = chunk
    assert doc._tail is prev
    runs = {}
    for agent, (starts, entries) in doc._runs.items():
        shapes: list[object] = []
        for entry in entries:
            if isinstance(entry, list):
                assert all(p.run is entry for p in entry)
                shapes.append([p.seq for p in entry])
            else:
                assert entry.run is None
                shapes.append(entry.seq)
        runs[agent] = (list(starts), shapes)
    return {
        "text": doc.text(),
        "length": len(doc),
        "items": items,
        "runs": list(runs.items()),  # dict order too: ops_since walks it
        "known": list(doc._known.items()),
        "no_right": list(doc._no_right.items()),
        "dels": [(a, list(log.entries()), log._agents) for a, log in doc._dels.items()],
        "lamport": doc._lamport,
        "pending": doc._pending,
        "ops": doc.ops_since(),
    }


def characters(doc: SequenceReplica) -> list[tuple[object, ...]]:
    """Every character with its identity, state and origins: what the items encode, however
    they are cut into pieces (later local edits merge pieces only inside one chunk)."""
    out: list[tuple[object, ...]] = []
    for chunk in doc._chunks():
        for it in chunk.items:
            for k in range(len(it.content)):
                left = it.left if k == 0 and it.la != "" else (it.agent, it.seq + k - 1)
                out.append((it.agent, it.seq + k, it.content[k], it.deleted, left, it.right))
    return out


def assert_same(cls: type[SequenceReplica], batch: list[Op]) -> tuple[SequenceReplica, ...]:
    fast, slow = loaded(cls, batch), reference(cls, batch)
    assert snapshot(fast) == snapshot(slow)
    assert all(len(chunk.items) <= MAX_CHUNK for chunk in fast._chunks())
    return fast, slow


def edit_both(docs: tuple[SequenceReplica, ...], seed: int) -> None:
    """The same local edits on each replica, then compare their characters."""
    for doc in docs:
        rng = random.Random(seed)
        doc.set_agent("later")
        for _ in range(6):
            if len(doc) and rng.random() < 0.4:
                pos = rng.randrange(len(doc))
                doc.delete(pos, min(rng.randint(1, 3), len(doc) - pos))
            else:
                doc.insert(rng.randint(0, len(doc)), rng.choice(["x", "yz", "📊"]))
    first = docs[0]
    for doc in docs[1:]:
        assert doc.text() == first.text()
        assert characters(doc) == characters(first)
        assert doc.ops_since() == first.ops_since()


def whole_history(reps: list[SequenceReplica]) -> list[Op]:
    """Every operation of ``reps``, as one replica that merged them all exports it."""
    hub = type(reps[0])("hub")
    for r in reps:
        hub.merge(r)
    return hub.ops_since()


@pytest.mark.parametrize("rule_cls", RULE_CLASSES, ids=list(RULES))
@given(steps=sessions(), seed=st.integers(0, 2**32 - 1))
def test_load_equals_one_at_a_time_on_concurrent_histories(
    rule_cls: type[SequenceReplica], steps: list[tuple[int, str, int, int | str]], seed: int
) -> None:
    ops = whole_history(run_session(rule_cls, steps))
    docs = assert_same(rule_cls, ops)
    edit_both(docs, seed)


@pytest.mark.parametrize("rule_cls", RULE_CLASSES, ids=list(RULES))
@given(steps=sessions(), seed=st.integers(0, 2**32 - 1), cut=st.integers(0, 40))
def test_load_equals_one_at_a_time_out_of_order_duplicated_or_in_two_batches(
    rule_cls: type[SequenceReplica],
    steps: list[tuple[int, str, int, int | str]],
    seed: int,
    cut: int,
) -> None:
    ops = whole_history(run_session(rule_cls, steps))
    rng = random.Random(seed)
    shuffled = rng.sample(ops, len(ops))  # operations wait for what they depend on
    assert_same(rule_cls, shuffled)
    assert_same(rule_cls, ops + rng.sample(ops, len(ops) // 2))  # duplicates
    # partial overlap: the replica already holds a prefix, the second batch is not a load
    first, rest = ops[: cut % (len(ops) + 1)], ops[cut % (len(ops) + 1) :]
    fast, slow = loaded(rule_cls, first), reference(rule_cls, first)
    fast.apply_ops(ops)
    checked = [check_op(op) for op in ops]
    check_batch(slow, checked)
    slow._apply_each(checked)
    assert snapshot(fast) == snapshot(slow)
    assert fast.text() == loaded(rule_cls, rest + first).text()


@st.composite
def one_place(draw: st.DrawFn) -> list[tuple[str, int, str, bool]]:
    """Agents each typing a run at the same place of a shared base, some backwards, some
    deleting a neighbour first: (agent, position, text, backwards)."""
    out = []
    for name in draw(st.lists(st.sampled_from("abcde"), min_size=2, max_size=5, unique=True)):
        text = draw(st.text("xyz", min_size=1, max_size=4))
        out.append((name, draw(st.integers(0, 3)), text, draw(st.booleans())))
    return out


@pytest.mark.parametrize("rule_cls", RULE_CLASSES, ids=list(RULES))
@given(typing=one_place(), base=st.text("mn", min_size=0, max_size=3), seed=st.integers(0, 99))
def test_load_equals_one_at_a_time_for_concurrent_inserts_at_one_place(
    rule_cls: type[SequenceReplica],
    typing: list[tuple[str, int, str, bool]],
    base: str,
    seed: int,
) -> None:
    origin = rule_cls("origin")
    origin.insert(0, base)
    reps = []
    for name, where, text, backwards in typing:
        rep = origin.fork(name)
        pos = min(where, len(base))
        if len(rep) and seed % 3 == 0:  # delete a neighbour of the insert position first
            at = max(pos - 1, 0)
            rep.delete(at, 1)
            pos = at
        for k, ch in enumerate(reversed(text) if backwards else text):
            rep.insert(pos if backwards else pos + k, ch)
        reps.append(rep)
    ops = whole_history([origin, *reps])
    docs = assert_same(rule_cls, ops)
    edit_both(docs, seed)


def test_a_sequential_history_is_taken_whole_and_a_concurrent_one_is_handed_over() -> None:
    author = RULES["fuguemax"]("a")
    author.insert(0, "hello world")
    author.delete(0, 1)
    author.insert(0, "H")
    ops = author.ops_since()
    assert plan_load([check_op(op) for op in ops]).count == len(ops)
    # two runs typed concurrently at the same place: the second one's origins are not adjacent
    ann, bob = author.fork("ann"), author.fork("bob")
    ann.insert(5, "!!")
    bob.insert(5, "??")
    ops = whole_history([author, ann, bob])
    plan = plan_load(ops)
    assert 0 < plan.count < len(ops)
    docs = assert_same(RULES["fuguemax"], ops)
    assert docs[0].text() == "Hello!!?? world"


def test_a_bad_batch_is_refused_whole_by_the_load(rule: type[SequenceReplica]) -> None:
    author = rule("a")
    author.insert(0, "abc")
    author.delete(1, 1)  # seq 3 of "a" is a delete
    ops = author.ops_since()
    for bad in (
        [*ops, Insert("b", 0, 9, "x", ("a", 3), None)],  # an origin that is a delete
        [*ops, Delete("b", 0, 9, ("a", 2), 2)],  # a target range reaching a delete
        [*ops, Insert("b", 0, 9, "x", None, None), Delete("b", 0, 9, ("a", 0), 1)],  # reuse
    ):
        doc = rule("reader")
        before = snapshot(doc)
        with pytest.raises(CRDTError):
            doc.apply_ops(bad)
        assert snapshot(doc) == before


def test_a_bad_batch_is_refused_whole_after_the_load_cut_for_it(
    rule: type[SequenceReplica],
) -> None:
    """The load cuts a piece for an operation before it finds the operation's other reference
    is a delete: the batch is still refused whole and the replica left empty."""
    author = rule("a")
    author.insert(0, "abcd")
    author.delete(3, 1)  # seq 4 of "a" is a delete; "abc" is one piece
    ops = author.ops_since()
    for bad in (
        [*ops, Insert("b", 0, 9, "x", ("a", 0), ("a", 4))],  # cut after "a", right is a delete
        [*ops, Delete("b", 0, 9, ("a", 1), 4)],  # cut before "b", the range reaches the delete
        [*ops, Delete("b", 0, 9, ("a", 1), 1), Insert("c", 0, 9, "y", ("a", 4), None)],
    ):
        doc = rule("reader")
        before = snapshot(doc)
        with pytest.raises(CRDTError):
            doc.apply_ops(bad)
        assert snapshot(doc) == before
        assert plan_load(bad).count < len(bad)


def plan_pieces(plan: Any) -> list[tuple[object, ...]]:
    return [(it.agent, it.seq, it.content, it.deleted) for it in plan.order()]


def doc_pieces(doc: SequenceReplica) -> list[tuple[object, ...]]:
    return [(it.agent, it.seq, it.content, it.deleted) for c in doc._chunks() for it in c.items]


@pytest.mark.parametrize("rule_cls", RULE_CLASSES, ids=list(RULES))
@given(steps=sessions(), seed=st.integers(0, 2**32 - 1))
def test_a_plan_is_the_state_of_the_prefix_it_took(
    rule_cls: type[SequenceReplica], steps: list[tuple[int, str, int, int | str]], seed: int
) -> None:
    """``plan_load`` holds exactly the pieces the reference makes of ``batch[:count]``: the
    load cuts nothing for the operation it stops at."""
    ops = whole_history(run_session(rule_cls, steps))
    for batch in (ops, random.Random(seed).sample(ops, len(ops))):
        plan = plan_load(batch)
        assert plan_pieces(plan) == doc_pieces(reference(rule_cls, batch[: plan.count]))


@pytest.mark.parametrize(
    "batch",
    [
        [  # the second run's origins are inside "abcdef" and not next to each other
            Insert("a", 0, 0, "abcdef", None, None),
            Insert("b", 0, 6, "X", ("a", 2), ("a", 3)),
            Insert("d", 0, 6, "Z", ("a", 4), ("a", 2)),
        ],
        [  # the left origin is inside "abcd", the right one a delete's id
            Insert("a", 0, 0, "abcd", None, None),
            Delete("a", 4, 4, ("a", 3), 1),
            Insert("b", 0, 9, "x", ("a", 0), ("a", 4)),
        ],
        [  # a delete from inside "abcd" reaching a delete's id
            Insert("a", 0, 0, "abcd", None, None),
            Delete("a", 4, 4, ("a", 3), 1),
            Delete("b", 0, 9, ("a", 1), 4),
        ],
    ],
)
def test_the_operation_the_load_stops_at_cuts_nothing(batch: list[Op]) -> None:
    plan = plan_load(batch)
    assert plan.count == 2
    assert plan_pieces(plan) == doc_pieces(reference(RULES["rga"], batch[:2]))


def test_a_right_origin_before_the_left_one_still_places_the_run_after_its_left_origin(
    rule: type[SequenceReplica],
) -> None:
    """An inconsistent peer's insert whose right origin lies before its left origin, in the
    same chunk: cutting at the right origin must not leave the run before its left origin,
    in the load or one operation at a time, in either order of delivery."""
    base = [Insert("a", 0, 0, "abc", None, None), Insert("b", 0, 3, "X", ("a", 2), None)]
    odd = Insert("c", 0, 4, "Y", ("b", 0), ("a", 1))
    fast, _ = assert_same(rule, [*base, odd])
    assert fast.text() == "abcXY"
    cut = Delete("d", 0, 5, ("a", 1), 1)
    one, two = rule("one"), rule("two")
    one.apply_ops(base)
    two.apply_ops(base)
    one.apply_ops([cut])
    one.apply_ops([odd])
    two.apply_ops([odd])
    two.apply_ops([cut])
    assert one.text() == two.text() == "acXY"


@pytest.fixture(params=RULE_CLASSES, ids=list(RULES))
def rule(request: pytest.FixtureRequest) -> type[SequenceReplica]:
    return request.param  # type: ignore[no-any-return]


@pytest.mark.slow
def test_the_real_trace_loads_as_one_at_a_time(
    shared_data: Path, rule: type[SequenceReplica]
) -> None:
    path = shared_data / "editing-traces" / "automerge-paper.json.gz"
    if not path.exists():
        pytest.skip(f"{path} not found")
    trace = load_trace(path)
    author = rule("author")
    for pos, n_deleted, inserted in trace.patches():
        if n_deleted:
            author.delete(pos, n_deleted)
        if inserted:
            author.insert(pos, inserted)
    ops = author.ops_since()
    assert plan_load(ops).count == len(ops)  # the whole trace takes the one-pass load
    fast, slow = assert_same(rule, ops)
    assert fast.text() == trace.end
    edit_both((fast, slow), 7)


class _Str(str):
    """A str subclass: equal to the plain str, refused by ``check_op`` (exact types only)."""


class _Int(int):
    """An int subclass: equal to the plain int, refused by ``check_op``."""


def _hostile(field: str, value: Any) -> list[Any]:
    """Values ``check_op`` refuses for ``field`` (or, for an origin, also a reference it takes
    but the load cannot), made from the operation's own ``value`` where equality matters."""
    ints = [-1, True, 1.0, _Int(0), 2**62, 10**400, None, "0"]
    ids = [(), ("a",), ["a", 0], ("a", -1), ("a", True), ("", 0), (_Str("a"), 0), ("a", 2**62)]
    if isinstance(value, tuple):
        ids += [(value[0], _Int(value[1])), (_Str(value[0]), value[1]), (value[0], 1.0 * value[1])]
    if field == "agent":
        return ["", 5, None, b"a", _Str(value)]
    if field in ("seq", "lamport"):
        return [*ints, _Int(value)]
    if field == "text":
        return ["", 5, None, _Str(value)]
    if field in ("left", "right"):
        return ids
    if field == "target":
        return [*ids, None]
    if field == "length":
        return [0, -1, True, 2**62, 1.0, _Int(value), None]
    return [0, 1, None, "yes"]  # backwards


def _first_refusal(ops: list[Any]) -> str | None:
    """What ``check_op`` says of the first operation it refuses (None: it takes them all)."""
    for op in ops:
        try:
            check_op(op)
        except CRDTError as exc:
            return str(exc)
    return None


@given(steps=sessions(), data=st.data())
def test_the_load_refuses_what_check_op_refuses_and_changes_nothing(
    steps: list[Any], data: st.DataObject
) -> None:
    """The load checks the operations it takes itself (instead of a separate ``check_op``
    pass): a batch with one malformed operation anywhere (a wrong type, a subclass equal to
    the right value, a value out of range, a reference to itself) is refused with the error
    ``check_op`` gives for it, and the replica stays empty."""
    ops: list[Any] = whole_history(run_session(RULES["rga"], steps))
    if not ops:
        return
    at = data.draw(st.integers(0, len(ops) - 1), label="at")
    op = ops[at]
    fields = [f for f in dataclasses.fields(op) if f.name != "backwards" or type(op) is Delete]
    field = data.draw(st.sampled_from([f.name for f in fields]), label="field")
    own = getattr(op, field)
    value = data.draw(st.sampled_from(_hostile(field, own)), label="value")
    ops[at] = dataclasses.replace(op, **{field: value})
    expected = _first_refusal(ops)
    doc = RULES["rga"]("reader")
    before = snapshot(doc)
    if expected is None:  # still well formed (e.g. an origin moved elsewhere): as the reference
        try:
            reference(RULES["rga"], ops)
        except CRDTError:
            with pytest.raises(CRDTError):
                doc.apply_ops(ops)
            assert snapshot(doc) == before
            return
        assert_same(RULES["rga"], ops)
        return
    with pytest.raises(CRDTError) as refused:
        doc.apply_ops(ops)
    assert str(refused.value) == expected
    assert snapshot(doc) == before


def test_the_load_takes_only_exact_types() -> None:
    """Values equal to the right ones but of another type are refused, as ``check_op``
    refuses them, even where the load finds them by equality (a dict key, a range test)."""
    author = RULES["rga"]("a")
    author.insert(0, "abc")
    author.delete(0, 1)
    ins, dele = author.ops_since()
    assert isinstance(ins, Insert) and isinstance(dele, Delete)
    for bad in (
        dataclasses.replace(dele, agent=_Str("a")),
        dataclasses.replace(dele, seq=_Int(dele.seq)),
        dataclasses.replace(dele, target=(_Str("a"), 0)),
        dataclasses.replace(dele, target=("a", True)),
        dataclasses.replace(dele, length=True),
        dataclasses.replace(dele, backwards=0),
        # origins the load would find adjacent: after the last character, before the first
        Insert("a", 4, 9, "x", (_Str("a"), 2), None),
        Insert("a", 4, 9, "x", ("a", 2.0), None),
        Insert("a", 4, 9, "x", None, ("a", _Int(0))),
        Insert("a", 4, 9, "x", None, (_Str("a"), 0)),
        Insert("a", 4, 9, _Str("x"), ("a", 2), None),
    ):
        doc = RULES["rga"]("reader")
        with pytest.raises(CRDTError) as refused:
            doc.apply_ops([ins, dele, bad] if bad.seq != dele.seq else [ins, bad])
        with pytest.raises(CRDTError) as expected:
            check_op(bad)
        assert str(refused.value) == str(expected.value)
        assert doc.text() == "" and doc.version().ranges() == {}


@pytest.mark.parametrize(
    "stopped",
    [
        Insert("b", 0, 1, "x", ("a", 0), ("c", 0)),  # right origin not seen yet: it waits
        Insert("b", 0, 1, "x", ("a", 0), ("a", 9)),  # right origin past what "a" typed
        Delete("b", 0, 1, ("a", 1), 7),  # a target range past what "a" typed
    ],
)
def test_an_operation_the_load_stops_at_asks_for_no_cut(stopped: Op) -> None:
    """The pieces a run is cut into are the cut points of the operations the load took: one the
    check stops at (here after a reference it accepted) cuts nothing, so the state is the
    reference's and the same as loading the taken prefix alone."""
    taken = [Insert("a", 0, 0, "abc", None, None)]
    fast, _ = assert_same(RULES["fuguemax"], [*taken, stopped])
    alone = loaded(RULES["fuguemax"], taken)
    assert fast.stats()["items"] == alone.stats()["items"] == 1


def document_order(doc: SequenceReplica) -> list[tuple[str, int]]:
    """Every character id of ``doc``, tombstones included, in document order."""
    return [
        (it.agent, it.seq + k)
        for c in doc._chunks()
        for it in c.items
        for k in range(len(it.content))
    ]


@st.composite
def inconsistent_histories(
    draw: st.DrawFn, rule_cls: type[SequenceReplica]
) -> tuple[list[Op], list[Op]]:
    """A shared base history, then operations of other peers: inserts whose right origin is
    the character before their left origin, the left origin itself or any earlier one (an
    inconsistent peer), or the true one (the character after the left origin, none at the end),
    some typed after one another, and deletes of single characters that cut runs."""
    author = rule_cls("a")
    for _ in range(draw(st.integers(1, 4))):
        author.insert(
            draw(st.integers(0, len(author))), draw(st.text("abc", min_size=1, max_size=5))
        )
    base = author.ops_since()
    extra: list[Op] = []
    lamport = 100
    for k in range(draw(st.integers(1, 6))):
        order = document_order(author)
        if draw(st.integers(0, 2)):
            at = draw(st.integers(-1, len(order) - 1))  # -1: the start of the document
            left = order[at] if at >= 0 else None
            if at >= 0 and draw(st.booleans()):
                right: tuple[str, int] | None = order[draw(st.integers(0, at))]  # not after left
            else:
                right = order[at + 1] if at + 1 < len(order) else None
            text = draw(st.text("XYZ", min_size=1, max_size=3))
            op: Op = Insert(f"p{k}", 0, lamport, text, left, right)
            lamport += len(text)
        else:
            op = Delete(f"d{k}", 0, lamport, draw(st.sampled_from(order)), 1)
            lamport += 1
        extra.append(op)
        author.apply_ops([op])
    return base, extra


@pytest.mark.parametrize("rule_cls", RULE_CLASSES, ids=list(RULES))
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_inconsistent_origins_converge_whatever_the_delivery(
    rule_cls: type[SequenceReplica], data: st.DataObject, seed: int
) -> None:
    """Replicas that receive the same operations, some with a right origin that is not after
    their left origin, in different orders (each operation waits for its origins) end with the
    same text; the one-pass load still equals one operation at a time."""
    base, extra = data.draw(inconsistent_histories(rule_cls), label="history")
    ops = base + extra
    rng = random.Random(seed)
    texts = {loaded(rule_cls, ops).text()}
    for _ in range(3):
        doc = rule_cls("reader")
        doc.apply_ops(base)
        delivery = rng.sample(extra, len(extra))
        while delivery:
            cut = rng.randint(1, len(delivery))
            doc.apply_ops(delivery[:cut])
            delivery = delivery[cut:]
        assert doc.stats()["pending"] == 0
        texts.add(doc.text())
        texts.add(assert_same(rule_cls, base + rng.sample(extra, len(extra)))[0].text())
        texts.add(loaded(rule_cls, rng.sample(ops, len(ops))).text())
    assert len(texts) == 1


def test_a_right_origin_inside_the_left_origins_piece_is_disregarded(
    rule: type[SequenceReplica],
) -> None:
    """The right origin is cut out of the very piece that ends at the left origin: the run goes
    after its left origin whether or not a delete cut that piece first."""
    base = [Insert("a", 0, 0, "abc", None, None)]
    odd = Insert("w", 0, 3, "W", ("a", 2), ("a", 1))  # left 'c', right 'b' before it
    cut = Delete("d", 0, 3, ("a", 1), 1)
    alone, _ = assert_same(rule, [*base, odd])
    one, two = rule("one"), rule("two")
    for doc, order in ((one, [cut, odd]), (two, [odd, cut])):
        doc.apply_ops(base)
        for op in order:
            doc.apply_ops([op])
    assert alone.text() == "abcW"
    assert one.text() == two.text() == "acW"
