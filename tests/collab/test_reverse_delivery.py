"""Delivering a document one operation at a time in reverse causal order: each call checks
its new operations against an index of those waiting (it used to check them all again, which
was quadratic), and applies each waiting operation once its dependencies have come. Local edits
take no id that a waiting operation holds or refers to."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from designpatterns_ref.collab import RULES, CRDTError, Insert, SequenceReplica
from designpatterns_ref.collab import batch as batch_module
from tests.collab.batch_reference import check_batch_whole
from tests.collab.test_reused_ids import RULE_IDS


def _author(rule: type[SequenceReplica], n: int) -> SequenceReplica:
    """A replica that typed ``n`` characters one at a time at random places, and deleted some:
    ``n`` operations, most depending on others."""
    rng = random.Random(7)
    author = rule("a")
    for _ in range(n):
        if len(author) > 10 and rng.random() < 0.2:
            author.delete(rng.randrange(len(author)), 1)
        else:
            author.insert(rng.randint(0, len(author)), rng.choice("abcdefgh"))
    return author


@pytest.mark.parametrize("order", ["reversed", "shuffled"])
@pytest.mark.parametrize("rule", RULE_IDS)
def test_delivery_one_at_a_time_checks_and_tries_each_operation_a_few_times(
    rule: str, order: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cls = RULES[rule]
    author = _author(cls, 400)
    ops = author.ops_since()
    work: Counter[str] = Counter()

    def counting(name: str, fn: Callable[..., Any], size: Callable[..., int]) -> Any:
        def counted(*args: Any) -> Any:
            work[name] += size(*args)
            return fn(*args)

        return counted

    for name, size in [
        ("_claims", len),  # every operation the check gathers claims of
        ("_check_same_claims", len),  # ... compares with each other
        ("_check_reused_ids", lambda doc, ops: len(ops)),  # ... compares with the replica
    ]:
        monkeypatch.setattr(batch_module, name, counting(name, getattr(batch_module, name), size))
    apply_one = cls._apply_one
    monkeypatch.setattr(cls, "_apply_one", counting("_apply_one", apply_one, lambda *a: 1))
    reader = cls("reader")
    if order == "shuffled":
        random.Random(3).shuffle(ops)
    for op in reversed(ops):
        reader.apply_ops([op])
    assert reader.text() == author.text() and not reader._pending
    n = len(ops)
    assert work["_claims"] + work["_check_same_claims"] + work["_check_reused_ids"] <= 2 * n, work
    assert work["_apply_one"] <= 3 * n, work  # when it comes, and when what it waits for does


@pytest.mark.parametrize("rule", RULE_IDS)
def test_local_edits_take_no_id_a_waiting_operation_refers_to(rule: str) -> None:
    doc = RULES[rule]("me")
    doc.apply_ops([Insert("x", 0, 0, "a", None, None)])
    # ("me", 2) was typed in an earlier session under this name: x typed after it, and waits
    doc.apply_ops([Insert("x", 1, 9, "b", ("me", 2), None)])
    doc.insert(0, "hi")
    doc.delete(0, 1)  # neither takes ("me", 2): it is not this replica's to give
    assert min(op.seq for op in doc.ops_since() if op.agent == "me") == 3
    doc.apply_ops([Insert("me", 0, 0, "old", None, None)])  # the earlier session arrives
    assert "oldb" in doc.text() and not doc._pending
    with pytest.raises(CRDTError, match="next_seq=2 must be an int >= 6"):
        doc.set_agent("me", 2)


@pytest.mark.parametrize("whose", ["target", "own ids"])
@pytest.mark.parametrize("rule", RULE_IDS)
def test_a_waiting_delete_is_tried_again_in_logarithmic_time(
    rule: str, whose: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A delete of ``n`` characters comes after every other one of them (and, for "own ids",
    after every other of its own ids, as single deletes); the rest come one at a time, in
    order. Each waking tries the delete again: finding its first missing target and whether
    its own ids are all known is a binary search, not a list of every gap (quadratic). The
    verdict of each call is the whole check's (``batch_reference``)."""
    from designpatterns_ref.collab import Delete, integration, sequence

    n = 400
    listed = Counter[str]()
    for module in (integration, sequence):
        gaps = module._gaps

        def counted(bounds: Any, s: int, e: int, gaps: Any = gaps) -> Any:
            out = gaps(bounds, s, e)
            listed["gaps"] += 1 + len(out)
            return out

        monkeypatch.setattr(module, "_gaps", counted)
    chars = [Insert("a", k, k, "x", None, None) for k in range(n)]
    doc = RULES[rule]("reader")
    doc.apply_ops(chars[1::2])
    if whose == "own ids":
        doc.apply_ops([Delete("b", k, n + k, ("a", k), 1, False) for k in range(1, n, 2)])
    delivery = [[Delete("b", 0, n, ("a", 0), n, False)], *([op] for op in chars[0::2])]
    for batch in delivery:
        check_batch_whole(doc, batch)  # the reference accepts each call
        doc.apply_ops(batch)
    assert doc.text() == "" and not doc._pending
    assert listed["gaps"] <= 3 * n, listed
