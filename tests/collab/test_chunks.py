"""The shape of the item list under edits: chunks stay small whoever makes the edit, and local
typing keeps every item short enough that extending it costs O(1)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from designpatterns_ref.collab import RULES, Delete, Insert, SequenceReplica
from designpatterns_ref.collab.items import MAX_CHUNK, MAX_RUN

RULE_CLASSES = list(RULES.values())


@pytest.fixture(params=RULE_CLASSES, ids=list(RULES))
def rule(request: pytest.FixtureRequest) -> type[SequenceReplica]:
    return request.param  # type: ignore[no-any-return]


def largest_chunk(doc: SequenceReplica) -> int:
    return max(len(chunk.items) for chunk in doc._chunks())


@given(n=st.integers(200, 1500), seed=st.integers(0, 2**32 - 1))
def test_remote_deletes_keep_chunks_small(n: int, seed: int) -> None:
    """Remote deletes that cut one long run into many pieces, one operation at a time and in
    any order, split the chunks they grow, as the same deletes made locally do."""
    author = RULES["fuguemax"]("a")
    author.insert(0, "x" * n)
    doc = RULES["fuguemax"]("b")
    doc.merge(author)
    picked = random.Random(seed).sample(range(n), n // 2)
    for k, at in enumerate(picked):
        doc.apply_ops([Delete("c", k, n + k, ("a", at), 1)])
        assert largest_chunk(doc) <= MAX_CHUNK
    assert len(doc) == n - n // 2


def test_right_origin_cuts_keep_chunks_small(rule: type[SequenceReplica]) -> None:
    """Inserts placed at the end whose right origins cut a run far before them (inconsistent
    peers: such a right origin is disregarded, but the run is still cut at it) split the chunk
    they cut when it grows full."""
    doc = rule("r")
    doc.apply_ops(
        [Insert("a", 0, 0, "x" * 400, None, None), Insert("b", 0, 400, "z", ("a", 399), None)]
    )
    for k in range(150):
        doc.apply_ops([Insert(f"p{k}", 0, 500 + k, "Y", ("b", 0), ("a", 399 - 2 * k))])
        assert largest_chunk(doc) <= MAX_CHUNK
    assert doc.text() == "x" * 400 + "z" + "Y" * 150


@given(
    n=st.integers(1, 3 * MAX_RUN),
    pieces=st.lists(st.text("ab📊", min_size=1, max_size=5), min_size=1, max_size=3),
    backspaces=st.integers(0, 50),
)
def test_local_typing_keeps_items_short_and_sends_the_same_text(
    n: int, pieces: list[str], backspaces: int
) -> None:
    """Typing on extends the last item only up to MAX_RUN code points, so a keystroke copies at
    most that much; the text, what a peer receives, and backspacing are as before."""
    doc = RULES["fuguemax"]("a")
    typed = "".join(pieces[k % len(pieces)] for k in range(n))
    for ch in typed:
        doc.insert(len(doc), ch)
    for _ in range(backspaces):
        if len(doc):
            doc.delete(len(doc) - 1, 1)
    expected = typed[: max(len(typed) - backspaces, 0)]
    assert doc.text() == expected
    assert max(len(it.content) for c in doc._chunks() for it in c.items) <= MAX_RUN
    peer = RULES["fuguemax"]("b")
    peer.merge(doc)
    assert peer.text() == expected
    peer.insert(0, "!")
    doc.merge(peer)
    assert doc.text() == "!" + expected
