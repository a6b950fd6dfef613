"""The bulk build (constructor, load) gives the same answers as the per-insert path, and the
C-level input check accepts and refuses exactly what the one-pair-at-a-time check does."""

from __future__ import annotations

import sys
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.autocomplete import (
    AutocompleteError,
    BruteForceCompleter,
    Completer,
    FrozenCompleter,
    RadixTrie,
    SortedPrefixIndex,
    TopKTrie,
    Trie,
)
from designpatterns_ref.autocomplete._blocks import CHAMPIONS
from designpatterns_ref.autocomplete._segtree import BLOCK_HEIGHT, CACHED, build, build_caches
from designpatterns_ref.autocomplete._shared import (
    check_items,
    check_items_one_by_one,
    check_pairs,
)
from designpatterns_ref.autocomplete._tree import FANOUT, NO_KIDS, Node
from designpatterns_ref.autocomplete.base import _rank_key

MUTABLE: dict[str, Callable[..., Completer]] = {
    "Trie": Trie,
    "RadixTrie": RadixTrie,
    "TopKTrie": TopKTrie,
    "TopKTrie-cache2": lambda items=(), **kw: TopKTrie(items, cache_size=2, **kw),
    "SortedPrefixIndex": SortedPrefixIndex,
}


class TwoABlock(FrozenCompleter):
    BLOCK = 2


class ThreeABlock(FrozenCompleter):
    BLOCK = 3


# Ties (few weights), duplicates (few letters; "é" twice as NFC and as e + combining accent),
# astral characters, NUL, upper case for casefold, and lone surrogates.
LETTERS = st.sampled_from(["a", "b", "é", "e\u0301", "A", "\U0001f600", "\x00", "\udfff"])
terms = st.lists(LETTERS, min_size=1, max_size=5).map("".join)
vocab = st.lists(st.tuples(terms, st.integers(0, 3)), max_size=40)


# Few letters and many terms: nodes with FANOUT children or more, built in bulk and by inserts.
wide_terms = st.text("abcdefghijk", min_size=1, max_size=4)
wide = st.lists(st.tuples(wide_terms, st.integers(0, 3)), max_size=60)


def queries(items: list[tuple[str, int]]) -> list[str]:
    return sorted({""} | {t[:i] for t, _ in items for i in range(1, len(t) + 1)} | {"b\x00"})


def answers(completer: Completer, prefixes: list[str]) -> list[object]:
    out: list[object] = [list(completer.items())]
    for prefix in prefixes:
        out += [completer.complete(prefix, k) for k in (1, 2, 5, 100)]
    for prefix in prefixes[:: max(1, len(prefixes) // 6)]:
        out.append(completer.complete(prefix, 5, max_edits=2))
    return out


def one_by_one(
    factory: Callable[..., Completer], items: list[tuple[str, int]], casefold: bool
) -> Completer:
    completer = factory(casefold=casefold)
    for term, weight in items:  # a later duplicate replaces an earlier one, as in the bulk build
        completer.insert(term, weight)
    return completer


@pytest.mark.parametrize("name", list(MUTABLE))
@settings(max_examples=40)
@given(items=vocab | wide, casefold=st.booleans())
def test_bulk_build_answers_as_the_per_insert_path(
    name: str, items: list[tuple[str, int]], casefold: bool
) -> None:
    bulk = MUTABLE[name](items, casefold=casefold)
    reference = one_by_one(MUTABLE[name], items, casefold)
    prefixes = queries(items)
    assert answers(bulk, prefixes) == answers(reference, prefixes)
    # and the bulk-built structure keeps changing like the reference
    for term, _ in items[:5]:
        bulk.increment(term, 2)
        reference.increment(term, 2)
    if items:
        bulk.remove(items[-1][0])
        reference.remove(items[-1][0])
    assert answers(bulk, prefixes) == answers(reference, prefixes)


def _assert_topk_invariants(trie: TopKTrie) -> None:
    # Every cache is exactly the best cache_size keys of its subtree, as the very key objects
    # of the terms' nodes, and the kids are indexed as in the other tries.
    def below(node: Any) -> list[Any]:
        keys = [] if node.key is None else [node.key]
        for kid in node.kids:
            keys += below(kid)
        return keys

    held = {n.key[2]: n.key for n in _nodes(trie._root) if n.key is not None}  # type: ignore[arg-type]
    assert sorted(held) == [term for term, _ in trie.items()]
    for node in _nodes(trie._root):  # type: ignore[arg-type]
        assert node.top == sorted(below(node))[: trie._size]
        assert all(key is held[key[2]] for key in node.top)
        assert len({kid.label for kid in node.kids}) == len(node.kids)
        if node.children is not None or len(node.kids) >= FANOUT:
            assert node.children is not None
            assert sorted(map(id, node.children.values())) == sorted(map(id, node.kids))
        if node is not trie._root:
            assert node.key is not None or node.kids  # no dead branch left behind


@pytest.mark.parametrize("size", [1, 2, 3, 10])
@settings(max_examples=30)
@given(items=vocab | wide, changes=st.lists(st.tuples(st.integers(0, 59), st.integers(-3, 3))))
def test_bulk_topk_caches_are_exact_and_stay_exact(
    size: int, items: list[tuple[str, int]], changes: list[tuple[int, int]]
) -> None:
    trie = TopKTrie(items, cache_size=size)
    _assert_topk_invariants(trie)
    terms = [term for term, _ in trie.items()]
    for i, by in changes:
        if not terms:
            break
        term = terms[i % len(terms)]
        if trie.weight(term) + by < 0:
            trie.remove(term)
            terms.remove(term)
        else:
            trie.increment(term, by)
    for term, _ in items[:12]:
        trie.insert(term + "z", 2)
    _assert_topk_invariants(trie)


# Updates after a bulk build: new terms (under leaves, inside radix edges, past FANOUT kids),
# rises, falls to zero, removals that empty a branch, and terms that come back.
updates = st.lists(
    st.tuples(
        st.sampled_from(["insert", "increment", "remove"]), terms | wide_terms, st.integers(-3, 3)
    ),
    max_size=30,
)


@pytest.mark.parametrize("name", [n for n in MUTABLE if n != "SortedPrefixIndex"])
@settings(max_examples=60)
@given(items=vocab | wide, steps=updates, casefold=st.booleans())
def test_bulk_built_tries_then_updated_agree_with_the_oracle(
    name: str, items: list[tuple[str, int]], steps: list[tuple[str, str, int]], casefold: bool
) -> None:
    oracle = BruteForceCompleter(items, casefold=casefold)
    trie = MUTABLE[name](items, casefold=casefold)
    for op, term, value in steps:
        outcomes = []
        for completer in (oracle, trie):
            try:
                if op == "insert":
                    outcomes.append(completer.insert(term, abs(value)))
                elif op == "increment":
                    outcomes.append(completer.increment(term, value))
                else:
                    outcomes.append(completer.remove(term))
            except AutocompleteError as exc:
                outcomes.append(type(exc))
        assert outcomes[0] == outcomes[1]
    prefixes = queries(list(oracle.items()) + items)
    assert answers(trie, prefixes) == answers(oracle, prefixes)


@settings(max_examples=40)
@given(
    items=vocab,
    casefold=st.booleans(),
    cls=st.sampled_from([FrozenCompleter, TwoABlock, ThreeABlock]),
)
def test_frozen_bulk_build_answers_as_a_trie_built_by_inserts(
    items: list[tuple[str, int]], casefold: bool, cls: type[FrozenCompleter]
) -> None:
    # Small blocks too: NUL in terms (blocks keep lengths), astral characters and lone
    # surrogates across block boundaries.
    frozen = cls(items, casefold=casefold)
    reference = one_by_one(Trie, items, casefold)
    prefixes = queries(items)
    assert answers(frozen, prefixes) == answers(reference, prefixes)
    for term, weight in reference.items():
        assert frozen.weight(term) == weight and term in frozen


def _nodes(root: Node) -> list[Node]:
    out, stack = [], [root]
    while stack:
        node = stack.pop()
        out.append(node)
        stack += node.kids
    return out


def _assert_tree_invariants(trie: Trie | RadixTrie) -> None:
    for node in _nodes(trie._root):
        keys = [kid.best for kid in node.kids]
        assert keys == sorted(keys)  # type: ignore[type-var]
        if len(node.kids) >= FANOUT:  # indexed by first character, exactly the kids
            assert node.children is not None
            assert sorted(map(id, node.children.values())) == sorted(map(id, node.kids))
            assert all(node.children[kid.label[0]] is kid for kid in node.kids)
        elif node.children is not None:  # a dict once made stays, and stays exact
            assert sorted(map(id, node.children.values())) == sorted(map(id, node.kids))
        assert len({kid.label[0] for kid in node.kids}) == len(node.kids)
        if not node.kids:
            assert node.kids is NO_KIDS or node.kids == []
        candidates = [k for k in (node.key, *keys[:1]) if k is not None]
        assert node.best == (min(candidates) if candidates else None)
        if node.key is not None:
            assert node.key == _rank_key(node.key[2], trie.weight(node.key[2]))
        if isinstance(trie, Trie):
            assert all(len(kid.label) == 1 for kid in node.kids)
        elif node is not trie._root:  # compressed: no keyless node with a single child
            assert node.key is not None or len(node.kids) != 1


@settings(max_examples=40)
@given(items=vocab | wide, changes=st.lists(st.tuples(st.integers(0, 59), st.integers(-3, 3))))
def test_bulk_tries_keep_their_invariants(
    items: list[tuple[str, int]], changes: list[tuple[int, int]]
) -> None:
    for cls in (Trie, RadixTrie):
        trie = cls(items)
        _assert_tree_invariants(trie)
        terms = [term for term, _ in trie.items()]
        for i, by in changes:  # and they keep them through increments and removals
            if not terms:
                break
            term = terms[i % len(terms)]
            if trie.weight(term) + by < 0:
                trie.remove(term)
                terms.remove(term)
            else:
                trie.increment(term, by)
        _assert_tree_invariants(trie)
        for term, _ in items[:12]:  # and inserts, some of them new
            trie.insert(term + "z", 2)
        _assert_tree_invariants(trie)


@pytest.mark.parametrize("name", [*MUTABLE, "FrozenCompleter"])
def test_bulk_and_per_insert_refuse_the_empty_term_alike(name: str) -> None:
    factory = FrozenCompleter if name == "FrozenCompleter" else MUTABLE[name]
    with pytest.raises(AutocompleteError, match="non-empty"):
        factory([("ok", 1), ("", 1)])
    if name != "FrozenCompleter":
        completer = factory([("ok", 1)])
        with pytest.raises(AutocompleteError, match="non-empty"):
            completer.insert("", 1)
        assert list(completer.items()) == [("ok", 1)]


def test_bulk_build_of_a_large_sorted_vocabulary_matches_inserts() -> None:
    # Thousands of terms: many tree blocks, deep tries, long shared prefixes, many ties.
    words = [(f"{a}{b}{c}{i % 13}", (i * 7) % 11) for i, (a, b, c) in enumerate(
        (a, b, c) for a in "abcdefgh" for b in "ijklmnop" for c in "qrstuvwx"
    )]  # fmt: skip
    for name, factory in MUTABLE.items():
        bulk = factory(words)
        reference = one_by_one(factory, words, False)
        for prefix in ("", "a", "ai", "hpx", "cm", "dnv1"):
            assert bulk.complete(prefix, 20) == reference.complete(prefix, 20), name
    frozen = FrozenCompleter(words)
    trie = Trie(words)
    for prefix in ("", "a", "ai", "hpx", "cm", "dnv1"):
        assert frozen.complete(prefix, 20) == trie.complete(prefix, 20)


HOSTILE = [None, True, 1.5, -1, 2**63, "", "\ud800", b"x", (), ("a",), ("a", 1, 2), ["a", 1]]
pairs = st.one_of(
    st.tuples(terms, st.integers(0, 3)),
    st.tuples(st.sampled_from(HOSTILE), st.sampled_from(HOSTILE)),
    st.sampled_from(HOSTILE),
    st.lists(st.sampled_from(["a", 1]), max_size=3),
)


@settings(max_examples=200)
@given(items=st.lists(pairs, max_size=8), casefold=st.booleans())
def test_fast_check_accepts_and_refuses_as_the_loop(items: list[object], casefold: bool) -> None:
    def outcome(check: Callable[[list[object], bool], dict[str, int]]) -> object:
        try:
            return check(list(items), casefold)
        except AutocompleteError as exc:
            return (type(exc), str(exc))

    assert outcome(check_items) == outcome(check_items_one_by_one)


@settings(max_examples=100)
@given(items=st.lists(pairs, max_size=8), casefold=st.booleans())
def test_the_pairs_check_keeps_what_the_loop_keeps(items: list[object], casefold: bool) -> None:
    def outcome(check: Callable[[list[object], bool], object]) -> object:
        try:
            return check(list(items), casefold)
        except AutocompleteError as exc:
            return (type(exc), str(exc))

    def as_table(items: list[object], casefold: bool) -> dict[str, int]:
        terms, weights = check_pairs(items, casefold)
        return dict(zip(terms, weights, strict=True))

    assert outcome(as_table) == outcome(check_items_one_by_one)


def _below(i: int, size: int) -> list[int]:
    """The leaf slots under node ``i`` of a bottom-up tree with ``size`` leaves."""
    if i >= size:
        return [i]
    return _below(2 * i, size) + _below(2 * i + 1, size)


def reference_sections(weights: dict[str, int], block: int) -> dict[str, Any]:
    """FrozenCompleter's sections by their definitions (``_blocks`` module docstring), with
    plain loops; each block as its uncompressed payload."""
    empty = 2**64 - 1
    alphabetical = sorted(weights)
    n = len(alphabetical)
    distinct = sorted(set(weights.values()))
    stride = max((len(t) for t in alphabetical), default=0) + 1
    slots = -(-n // block) * block
    planes = 1 if len(distinct) <= 256 else 2 if len(distinct) <= 65536 else 4
    payloads, champions, runners, best = [], [], [], []
    for start in range(0, n, block):
        terms = alphabetical[start : start + block]
        classes = [distinct.index(weights[t]) for t in terms]
        values = sorted(
            ((len(distinct) - 1 - c) * stride + len(t)) * slots + start + i
            for i, (t, c) in enumerate(zip(terms, classes, strict=True))
        )
        best.append(values[0])
        for j in range(CHAMPIONS):  # the best terms, and the values of the next ones
            champions.append(alphabetical[values[j] % slots] if j < len(values) else "")
            runners.append(values[j + 1] if j + 1 < len(values) else empty)
        if any("\0" in t for t in alphabetical):
            text = "".join(terms).encode("utf-8", "surrogatepass")
            text += b"".join(len(t).to_bytes(4, sys.byteorder) for t in terms)
        else:
            text = "\0".join(terms).encode("utf-8", "surrogatepass")
        for p in range(planes):
            text += bytes((c >> (8 * p)) & 255 for c in classes)
        payloads.append(text)
    width = 1 << BLOCK_HEIGHT
    size = max(width, -(-len(best) // width) * width)
    leaves = best + [empty] * (size - len(best))
    tree = [empty] + [min(leaves[j - size] for j in _below(i, size)) for i in range(1, size)]
    return {
        "payloads": payloads,
        "tree": tree + leaves,
        "heads": [t.encode("utf-8", "surrogatepass") for t in alphabetical[::block]],
        "champions": champions,
        "rnup": runners,
        "wval": distinct,
        "meta": [n, block, stride, slots, int(any("\0" in t for t in alphabetical))],
        "long": max(alphabetical, key=len, default="").encode("utf-8", "surrogatepass"),
    }


@settings(max_examples=60)
@given(
    items=st.lists(st.tuples(terms, st.integers(0, 3)), max_size=80)
    | st.lists(st.tuples(st.text(max_size=3), st.integers(0, 2**63 - 1)), max_size=300),
    casefold=st.booleans(),
    cls=st.sampled_from([TwoABlock, ThreeABlock, FrozenCompleter]),
)
def test_frozen_sections_match_their_definitions(
    items: list[tuple[str, int]], casefold: bool, cls: type[FrozenCompleter]
) -> None:
    items = [(t, w) for t, w in items if t]
    frozen = cls(items, casefold=casefold)
    expected = reference_sections(check_items_one_by_one(items, casefold), cls.BLOCK)
    at, s = frozen._at, frozen._sections
    blocks = len(expected["payloads"])
    assert list(s["meta"]) == expected["meta"] and len(frozen) == expected["meta"][0]
    assert list(at.tree)[1:] == expected["tree"][1:]
    assert [at.head_at(b) for b in range(blocks)] == expected["heads"]
    assert [at.champion(i) for i in range(blocks * CHAMPIONS)] == expected["champions"]
    assert list(at.rnup) == expected["rnup"]
    assert list(at.wval) == expected["wval"]
    assert bytes(s["long"]) == expected["long"]  # the first of the longest terms, whole
    for b, payload in enumerate(expected["payloads"]):  # each block decompresses alone
        chunk = bytes(s["blks"][s["boff"][b] : s["boff"][b + 1]])
        assert zlib.decompressobj(-15).decompress(chunk) == payload
    table = check_items_one_by_one(items, casefold)
    again = cls(sorted(table.items()))  # sorted input: the build skips its sort
    assert {name: bytes(v) for name, v in again._sections.items()} == {
        name: bytes(v) for name, v in s.items()
    }


@pytest.mark.parametrize("n", [0, 1, 31, 32, 33, 95, 96, 97, 200, 321, 1000])
def test_segment_tree_and_caches_match_their_definitions(n: int) -> None:
    empty = 10**9
    leaves = [(i * 7919) % 1009 for i in range(n)]  # ties included
    tree, size = build(leaves, empty)
    caches = [empty] * (2 * (size >> BLOCK_HEIGHT) * CACHED)
    build_caches(tree, size, caches)
    padded = leaves + [empty] * (size - n)
    for i in range(1, 2 * size):
        below = [padded[j - size] for j in _below(i, size)]
        assert tree[i] == min(below)
        if i < 2 * (size >> BLOCK_HEIGHT):
            assert caches[i * CACHED : (i + 1) * CACHED] == sorted(below)[:CACHED]


# Terms that share long prefixes (whole stems, cut anywhere), a term that is a prefix of
# another, one-character terms, astral characters (one code point, two UTF-16 units), and few
# letters and weights: duplicates (the later one wins) and ties.
STEMS = ["", "a", "ab", "abababababab", "aaaaaaaaaaaaaaaa", "\U0001f600\U0001f600a\U0001f600"]
stemmed = st.builds(
    lambda stem, cut, tail: stem[:cut] + tail or "a",
    st.sampled_from(STEMS),
    st.integers(0, 16),
    st.text("ab\U0001f600é", max_size=3),
)
awkward = st.lists(st.tuples(stemmed, st.integers(0, 3)), max_size=50)
# Ten one-character terms (a root wide enough for a dict) and two long terms that part at the
# end; an inner node with 13 kids (more than a cache of 10) closed before the next term.
WIDE_AND_LONG = [(c, 1) for c in "abcdefghij"] + [("a" * 12, 1), ("a" * 11 + "b", 5)]
WIDE_INNER = [("b" + c, i % 3) for i, c in enumerate("abcdefghijklm")] + [("c", 1)]


def _shape(node: Any, topk: bool) -> tuple[object, ...]:
    """The whole tree below ``node``: labels, keys, bests (or caches), whether the kids are
    indexed by a dict, and the kids in their order (for TopKTrie, whose kids are in no
    particular order, by label)."""
    kids = sorted(node.kids, key=lambda kid: kid.label) if topk else node.kids
    summary = node.top if topk else node.best
    shapes = [_shape(kid, topk) for kid in kids]
    return (node.label, node.key, summary, node.children is not None, shapes)


def _subtree_keys(node: Any) -> list[Any]:
    keys = [] if node.key is None else [node.key]
    for kid in node.kids:
        keys += _subtree_keys(kid)
    return keys


@pytest.mark.parametrize("name", ["Trie", "RadixTrie", "TopKTrie", "TopKTrie-cache2"])
@settings(max_examples=80)
@example(items=[("ab", 1), ("a", 1), ("abc", 2), ("b", 0), ("ab", 3)], casefold=False)
@example(items=WIDE_AND_LONG, casefold=False)
@example(items=[("\U0001f600a", 2), ("\U0001f600", 2), ("\U0001f600\U0001f600", 1)], casefold=False)
@example(items=WIDE_INNER, casefold=False)
@given(items=awkward | vocab | wide, casefold=st.booleans())
def test_bulk_built_tree_is_the_tree_inserts_build(
    name: str, items: list[tuple[str, int]], casefold: bool
) -> None:
    # Node for node, the same tree as the per-insert path's (the reference), and every node
    # right by definition: best the least key of its subtree, kids sorted by best, a dict of
    # the kids exactly from FANOUT on, each cache the true top k of its subtree.
    bulk = MUTABLE[name](items, casefold=casefold)
    reference = one_by_one(MUTABLE[name], items, casefold)
    topk = isinstance(bulk, TopKTrie)
    assert _shape(bulk._root, topk) == _shape(reference._root, topk)  # type: ignore[attr-defined]
    for node in _nodes(bulk._root):  # type: ignore[attr-defined]
        below = sorted(_subtree_keys(node))
        if topk:
            assert node.top == below[: bulk._size]  # type: ignore[attr-defined]
        else:
            assert node.best == (below[0] if below else None)
            bests = [kid.best for kid in node.kids]
            assert bests == sorted(bests)  # type: ignore[type-var]
        assert (node.children is not None) == (len(node.kids) >= FANOUT)
        if node.children is not None:
            assert node.children == {kid.label[0]: kid for kid in node.kids}
    prefixes = queries(items)
    assert answers(bulk, prefixes) == answers(reference, prefixes)
