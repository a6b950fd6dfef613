"""Every completer agrees with the brute-force oracle, and bad input changes nothing."""

from __future__ import annotations

import pickle
import random
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref import autocomplete as ac
from designpatterns_ref.autocomplete import (
    AutocompleteError,
    AutocompleteTypeError,
    BruteForceCompleter,
    Completer,
    Completion,
    FrozenCompleter,
    RadixTrie,
    ReadOnlyError,
    SortedPrefixIndex,
    TermNotFound,
    TopKTrie,
    Trie,
    normalize,
)
from designpatterns_ref.autocomplete.base import MAX_WEIGHT

Factory = Callable[[list[tuple[str, int]]], Completer]

MUTABLE: dict[str, Factory] = {
    "Trie": Trie,
    "RadixTrie": RadixTrie,
    "TopKTrie": TopKTrie,
    "TopKTrie-cache2": lambda items: TopKTrie(items, cache_size=2),
    "SortedPrefixIndex": SortedPrefixIndex,
}
ALL: dict[str, Factory] = {**MUTABLE, "FrozenCompleter": FrozenCompleter}

# A tiny alphabet makes shared prefixes, ties and near-misses common.
terms = st.text(alphabet="abcé", min_size=1, max_size=7)
weights = st.integers(min_value=0, max_value=6)
vocab = st.lists(st.tuples(terms, weights), max_size=25)
ops = st.lists(
    st.one_of(
        st.tuples(st.just("insert"), terms, weights),
        st.tuples(st.just("increment"), terms, st.integers(-4, 4)),
        st.tuples(st.just("remove"), terms, st.just(0)),
    ),
    max_size=40,
)
queries = st.lists(
    st.tuples(st.text(alphabet="abcé", max_size=8), st.integers(1, 12), st.integers(0, 2)),
    min_size=1,
    max_size=6,
)


def run(completer: Completer, op: tuple[str, str, int]) -> object:
    """Apply one operation and return what it returned or the error type it raised."""
    name, term, value = op
    try:
        if name == "insert":
            return completer.insert(term, value)
        if name == "increment":
            return completer.increment(term, value)
        return completer.remove(term)
    except AutocompleteError as exc:
        return type(exc)


@pytest.mark.parametrize("name", list(MUTABLE))
@given(items=vocab, steps=ops, asks=queries)
def test_agrees_with_oracle_after_updates(
    name: str,
    items: list[tuple[str, int]],
    steps: list[tuple[str, str, int]],
    asks: list[tuple[str, int, int]],
) -> None:
    oracle = BruteForceCompleter(items)
    completer = MUTABLE[name](items)
    for step in steps:
        assert run(completer, step) == run(oracle, step)
    assert len(completer) == len(oracle)
    assert list(completer.items()) == list(oracle.items())
    for prefix, k, edits in asks:
        expected = oracle.complete(prefix, k, max_edits=edits)
        assert completer.complete(prefix, k, max_edits=edits) == expected
    for term, weight in oracle.items():
        assert term in completer
        assert completer.weight(term) == weight


@given(items=vocab, asks=queries)
def test_frozen_agrees_with_oracle(
    items: list[tuple[str, int]], asks: list[tuple[str, int, int]]
) -> None:
    oracle = BruteForceCompleter(items)
    frozen = FrozenCompleter(items)
    assert list(frozen.items()) == list(oracle.items())
    for prefix, k, edits in asks:
        assert frozen.complete(prefix, k, max_edits=edits) == oracle.complete(
            prefix, k, max_edits=edits
        )


@pytest.mark.parametrize("block", [1, 2, 3, 5])
@settings(max_examples=50)
@given(items=vocab, asks=queries)
def test_frozen_with_small_blocks_agrees_with_oracle(
    block: int, items: list[tuple[str, int]], asks: list[tuple[str, int, int]]
) -> None:
    # Small blocks make every range span several: partial blocks at both ends, whole blocks
    # between, terms equal to a block's first term, champions and runners-up of each block.
    cls = type(f"Frozen{block}", (FrozenCompleter,), {"BLOCK": block})
    oracle = BruteForceCompleter(items)
    frozen = cls(items)
    assert list(frozen.items()) == list(oracle.items())
    heads = [term for term, _ in oracle.items()][::block]
    prefixes = {""} | {t[:i] for t, _ in oracle.items() for i in range(1, len(t) + 1)}
    prefixes |= {h + "a" for h in heads} | {p for p, _, _ in asks}
    for prefix in sorted(prefixes):
        for k in (1, 3, 10, 11, 100):  # 10 and below: the cached nodes; above: the walk
            assert frozen.complete(prefix, k) == oracle.complete(prefix, k)
    for prefix, k, edits in asks:
        assert frozen.complete(prefix, k, max_edits=edits) == oracle.complete(
            prefix, k, max_edits=edits
        )
    for term, weight in oracle.items():
        assert term in frozen and frozen.weight(term) == weight
    for head in heads:
        assert head + "\U0010ffff" not in frozen


@pytest.mark.parametrize("name", list(MUTABLE))
@settings(max_examples=25)
@given(items=st.lists(st.tuples(st.text("ab", min_size=1, max_size=4), weights), max_size=30))
def test_k_larger_than_matches_returns_every_match_in_order(
    name: str, items: list[tuple[str, int]]
) -> None:
    completer = MUTABLE[name](items)
    oracle = BruteForceCompleter(items)
    everything = completer.complete("", k=1000)
    assert everything == oracle.complete("", k=1000)
    assert len(everything) == len(oracle)
    keys = [(-c.weight, len(c.term), c.term) for c in everything]
    assert keys == sorted(keys)


def test_interleaved_inserts_force_index_rebuilds() -> None:
    # Enough new terms to outgrow the SortedPrefixIndex buffer several times.
    oracle, index = BruteForceCompleter(), SortedPrefixIndex()
    for i in range(400):
        term = f"t{i * 7919 % 1000:03d}"
        for completer in (oracle, index):
            completer.insert(term, i % 13)
            if i % 3 == 0:
                completer.remove(term)
        if i % 25 == 0:
            assert index.complete("t", k=10) == oracle.complete("t", k=10)
            assert index.complete("t0", k=30) == oracle.complete("t0", k=30)
    assert list(index.items()) == list(oracle.items())


@pytest.mark.parametrize("name", list(ALL))
def test_order_is_weight_then_length_then_alphabet(name: str) -> None:
    completer = ALL[name]([("abc", 5), ("ab", 5), ("abd", 5), ("abcd", 9), ("a", 1)])
    assert [c.term for c in completer.complete("a")] == ["abcd", "ab", "abc", "abd", "a"]
    assert completer.complete("ab", k=1) == [Completion("abcd", 9, 0)]
    assert completer.complete("zz") == []
    assert isinstance(completer, Completer)


@pytest.mark.parametrize("name", list(MUTABLE))
def test_lowering_the_leader_brings_up_the_next(name: str) -> None:
    completer = MUTABLE[name]([(f"w{i}", i) for i in range(30)])
    assert completer.complete("w", k=1)[0].term == "w29"
    completer.increment("w29", by=-29)
    assert [c.term for c in completer.complete("w", k=3)] == ["w28", "w27", "w26"]
    completer.remove("w28")
    assert [c.term for c in completer.complete("w", k=2)] == ["w27", "w26"]
    assert completer.increment("fresh", by=100) == 100
    assert completer.complete("", k=1)[0] == Completion("fresh", 100, 0)


BAD_CALLS: list[tuple[str, Callable[[Completer], object], type[Exception]]] = [
    ("empty term", lambda c: c.insert("", 1), AutocompleteError),
    ("negative weight", lambda c: c.insert("x", -1), AutocompleteError),
    ("weight too big", lambda c: c.insert("x", MAX_WEIGHT + 1), AutocompleteError),
    ("float weight", lambda c: c.insert("x", 1.5), AutocompleteTypeError),  # type: ignore[arg-type]
    ("bool weight", lambda c: c.insert("x", True), AutocompleteTypeError),
    ("non-string term", lambda c: c.insert(42, 1), AutocompleteTypeError),  # type: ignore[arg-type]
    ("bytes term", lambda c: c.increment(b"ab"), AutocompleteTypeError),  # type: ignore[arg-type]
    ("below zero", lambda c: c.increment("apple", by=-11), AutocompleteError),
    ("lower an absent term", lambda c: c.increment("pear", by=-1), AutocompleteError),
    ("remove absent", lambda c: c.remove("pear"), TermNotFound),
    ("weight of absent", lambda c: c.weight("pear"), TermNotFound),
    ("k zero", lambda c: c.complete("a", k=0), AutocompleteError),
    ("k not int", lambda c: c.complete("a", k="3"), AutocompleteTypeError),  # type: ignore[arg-type]
    ("prefix not str", lambda c: c.complete(None), AutocompleteTypeError),  # type: ignore[arg-type]
    ("max_edits 3", lambda c: c.complete("apple", max_edits=3), AutocompleteError),
]


@pytest.mark.parametrize("name", list(MUTABLE))
@pytest.mark.parametrize(("what", "call", "error"), BAD_CALLS, ids=[b[0] for b in BAD_CALLS])
def test_bad_input_raises_and_changes_nothing(
    name: str, what: str, call: Callable[[Completer], object], error: type[Exception]
) -> None:
    completer = MUTABLE[name]([("apple", 10), ("apply", 7)])
    before = list(completer.items())
    with pytest.raises(error) as info:
        call(completer)
    assert isinstance(info.value, AutocompleteError)
    assert list(completer.items()) == before
    assert completer.complete("ap") == [Completion("apple", 10), Completion("apply", 7)]


def test_error_types_are_the_builtins_callers_know() -> None:
    assert issubclass(AutocompleteError, ValueError)
    assert issubclass(AutocompleteTypeError, TypeError)
    assert issubclass(TermNotFound, KeyError)
    assert str(TermNotFound("term='x' is not here")) == "term='x' is not here"
    with pytest.raises(AutocompleteError, match="items"):
        Trie("apple")  # type: ignore[arg-type]
    with pytest.raises(AutocompleteTypeError, match="pair"):
        Trie([("apple",)])  # type: ignore[list-item]
    with pytest.raises(AutocompleteError, match="cache_size"):
        TopKTrie(cache_size=0)
    with pytest.raises(AutocompleteTypeError, match="casefold"):
        Trie(casefold="yes")  # type: ignore[arg-type]


def test_frozen_refuses_updates_and_stays_whole() -> None:
    frozen = FrozenCompleter([("kafka", 3), ("kotlin", 2)])
    for update in (
        lambda: frozen.insert("x", 1),
        lambda: frozen.increment("kafka"),
        lambda: frozen.remove("kafka"),
    ):
        with pytest.raises(ReadOnlyError, match="cannot change"):
            update()
    assert list(frozen.items()) == [("kafka", 3), ("kotlin", 2)]
    assert frozen.weight("kafka") == 3 and "kotlin" in frozen and "k" not in frozen
    assert 5 not in frozen
    with pytest.raises(TermNotFound):
        frozen.weight("scala")


@pytest.mark.parametrize("name", list(ALL))
def test_normalisation_nfc_and_casefold(name: str) -> None:
    plain = ALL[name]([("cafe\u0301", 3)])
    assert "café" in plain and plain.weight("cafe\u0301") == 3
    assert plain.complete("caf")[0].term == "café"
    folded = (
        FrozenCompleter([("iPhone", 5)], casefold=True)
        if name == "FrozenCompleter"
        else type(plain)([("iPhone", 5)], casefold=True)  # type: ignore[call-arg]
    )
    assert folded.complete("IPH") == [Completion("iphone", 5)]
    assert "IPHONE" in folded


EVERY_CLASS = [Trie, RadixTrie, TopKTrie, SortedPrefixIndex, FrozenCompleter]


@settings(max_examples=60, deadline=None)
@given(
    items=st.lists(st.tuples(st.text("ab", min_size=1, max_size=12), weights), max_size=40),
    prefixes=st.lists(st.text("ab", max_size=18), min_size=1, max_size=5),
)
def test_fuzzy_prefixes_longer_than_the_terms_agree_with_oracle(
    items: list[tuple[str, int]], prefixes: list[str]
) -> None:
    oracle = BruteForceCompleter(items)
    for cls in EVERY_CLASS:
        completer = cls(items)
        for prefix in prefixes:
            for edits in (1, 2):
                assert completer.complete(prefix, 5, max_edits=edits) == oracle.complete(
                    prefix, 5, max_edits=edits
                )


def test_a_very_long_prefix_is_fuzzy_matched_as_the_oracle_matches_it() -> None:
    # A pasted paragraph as a prefix: each row of the edit-distance table is computed only
    # within max_edits of its diagonal (the cost, linear in the prefix, is in the benchmarks);
    # a long term the prefix reaches with two edits, and one it misses by three, against the
    # brute-force oracle.
    rng = random.Random(7)
    long_term = "".join(rng.choices("abcdefgh", k=3_000))
    prefix = list(long_term[:2_500])
    prefix[100], prefix[2_000] = "z", "z"  # two substitutions
    far = list(long_term)
    far[100], far[1_000], far[2_000] = "y", "y", "y"  # three edits from the prefix
    words = [(long_term, 5), ("".join(far), 9)]
    words += [("".join(rng.choices("abcdefgh", k=rng.randint(3, 10))), rng.randint(1, 999))
              for _ in range(500)]  # fmt: skip
    oracle = BruteForceCompleter(words)
    expected = oracle.complete("".join(prefix), 10, max_edits=2)
    assert [(c.term, c.distance) for c in expected] == [(long_term, 2)]
    for cls in EVERY_CLASS:
        assert cls(words).complete("".join(prefix), 10, max_edits=2) == expected


@pytest.mark.parametrize("cls", EVERY_CLASS, ids=lambda c: c.__name__)
def test_a_fuzzy_row_costs_the_band_not_the_prefix(cls: type[Completer]) -> None:
    # Each row of the edit-distance table holds the 2 * max_edits + 1 cells of its band: a
    # pasted 200,000-character prefix walks the short terms below its first letters without
    # a row as long as the prefix (one such row is 1.6 MB; rows of every visited node made a
    # 300,000-character paste take seconds).
    import tracemalloc

    rng = random.Random(3)
    words = [("".join(rng.choices("abcde", k=rng.randint(1, 12))), rng.randint(0, 99))
             for _ in range(2_000)]  # fmt: skip
    completer = cls(words)  # type: ignore[call-arg]
    prefix = ("abcde" * 40_000)[:200_000]
    tracemalloc.start()
    try:
        assert completer.complete(prefix, 10, max_edits=2) == []
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * len(prefix)  # a copy or two of the text, no row of 8 bytes a character


class Text(str):
    """A str subclass that prints its own way, as ``enum.StrEnum`` members and numpy's
    ``str_`` are str subclasses."""

    def __str__(self) -> str:
        return f"<{str.__str__(self)}>"


@pytest.mark.parametrize(
    "cls",
    [Trie, RadixTrie, TopKTrie, SortedPrefixIndex, FrozenCompleter, BruteForceCompleter],
    ids=lambda c: c.__name__,
)
@pytest.mark.parametrize("casefold", [False, True])
def test_str_subclasses_are_the_strings_they_hold(cls: type[Completer], casefold: bool) -> None:
    words = [("apple", 5), ("app", 9), ("cafe\u0301", 3)]
    plain = cls(words, casefold=casefold)  # type: ignore[call-arg]
    sub = cls([(Text(t), w) for t, w in words], casefold=casefold)  # type: ignore[call-arg]
    assert list(sub.items()) == list(plain.items())
    assert all(type(term) is str for term, _ in sub.items())
    for prefix in ("ap", "caf", "apl"):
        got = sub.complete(Text(prefix), 5, max_edits=1)
        assert got == plain.complete(prefix, 5, max_edits=1)
        assert all(type(c.term) is str for c in got)
    assert Text("apple") in sub and sub.weight(Text("apple")) == 5
    assert normalize(Text("cafe\u0301")) == "café" and type(normalize(Text("a"))) is str
    if cls is not FrozenCompleter:
        sub.insert(Text("apricot"), 4)
        assert sub.increment(Text("apricot")) == 5
        sub.remove(Text("apricot"))
        assert list(sub.items()) == list(plain.items())


@pytest.mark.parametrize("name", list(ALL))
def test_long_term_without_recursion_and_pickle(name: str) -> None:
    long_term = "ab" * 5_000
    completer = ALL[name]([(long_term, 4), ("abc", 2), (long_term[:-1] + "x", 1)])
    assert completer.complete("abab", k=1)[0].term == long_term
    assert completer.complete("abab" + "x", k=3, max_edits=1)[0].distance == 1
    copy = pickle.loads(pickle.dumps(completer))
    assert type(copy) is type(completer)
    assert list(copy.items()) == list(completer.items())
    assert copy.complete("ab", k=5) == completer.complete("ab", k=5)
    if name in MUTABLE:
        completer.increment(long_term, 10)
        completer.remove(long_term)
        assert completer.complete("abab", k=1)[0].term == long_term[:-1] + "x"


def test_pickled_topk_keeps_its_cache_size() -> None:
    trie = TopKTrie([("a", 1)], cache_size=3)
    assert pickle.loads(pickle.dumps(trie))._size == 3


def test_public_names_and_repr() -> None:
    assert set(ac.__all__) <= set(dir(ac))
    assert repr(Trie([("a", 1)])) == "Trie(<1 terms>)"
    assert (Trie, RadixTrie, SortedPrefixIndex, TopKTrie) == ac.IMPLEMENTATIONS


def test_frozen_is_safe_to_read_from_many_threads() -> None:
    from concurrent.futures import ThreadPoolExecutor

    items = [
        (f"{a}{b}{c}", (i * 37) % 101)
        for i, (a, b, c) in enumerate((a, b, c) for a in "abcd" for b in "abcd" for c in "abcd")
    ]
    frozen = FrozenCompleter(items)
    oracle = BruteForceCompleter(items)
    prefixes = ["", "a", "ab", "abc", "b", "dd", "cab", "aab"] * 25

    def ask(prefix: str) -> list[Completion]:
        return frozen.complete(prefix, 5, max_edits=1)

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(ask, prefixes))
    assert answers == [oracle.complete(p, 5, max_edits=1) for p in prefixes]


@pytest.mark.parametrize("name", ["SortedPrefixIndex", "TopKTrie", "Trie", "RadixTrie"])
@settings(max_examples=15)
@given(seed=st.integers(0, 2**32 - 1))
def test_larger_vocabularies_stay_exact_under_updates(name: str, seed: int) -> None:
    # Hundreds of terms: many segment-tree blocks with cached lists, full TopKTrie caches.
    import random

    rng = random.Random(seed)
    vocabulary = sorted({"".join(rng.choices("abcd", k=rng.randint(1, 6))) for _ in range(600)})
    items = [(term, rng.randint(0, 50)) for term in vocabulary]
    oracle, completer = BruteForceCompleter(items), MUTABLE[name](items)
    for _ in range(150):
        term = rng.choice(vocabulary)
        roll = rng.random()
        if roll < 0.4:  # popularity rises
            by = rng.randint(1, 30)
            assert completer.increment(term, by) == oracle.increment(term, by)
        elif roll < 0.7 and term in oracle:  # and falls, possibly to zero
            by = -rng.randint(0, oracle.weight(term))
            assert completer.increment(term, by) == oracle.increment(term, by)
        elif roll < 0.85 and term in oracle:
            oracle.remove(term)
            completer.remove(term)
        else:
            weight = rng.randint(0, 80)
            oracle.insert(term, weight)
            completer.insert(term, weight)
        prefix = rng.choice(["", "a", "b", "ab", "dc", "abc"])
        k = rng.choice([1, 3, 10, 25])
        assert completer.complete(prefix, k) == oracle.complete(prefix, k)
    assert list(completer.items()) == list(oracle.items())


def test_topk_rise_keeps_every_cache_exact() -> None:
    # A rise that stays in place, one that moves up inside caches, and a new term that
    # enters some caches and not others: every node's cache must equal its subtree's top 2.
    trie = TopKTrie([("ab", 5), ("abc", 4), ("abd", 3), ("b", 9)], cache_size=2)
    trie.increment("abc")  # 5: still second in "ab"'s cache
    trie.increment("abd", by=10)  # 13: moves to the front of every cache on its path
    trie.insert("abe", 6)  # enters "ab" and "abe", not the root's ("abd" 13, "b" 9)
    _assert_topk_caches(trie)
    trie.increment("abd", by=-12)  # a cached leader falls: "ab" brings up "abe"
    trie.remove("abe")
    _assert_topk_caches(trie)


def _assert_topk_caches(trie: TopKTrie) -> None:
    # Every cache is its subtree's best keys, and holds the nodes' own key objects.
    oracle = BruteForceCompleter(list(trie.items()))
    held = {}
    stack = [("", trie._root)]
    while stack:
        prefix, node = stack.pop()
        if node.key is not None:
            held[node.key[2]] = node.key
        stack += [(prefix + kid.label, kid) for kid in node.kids]
    stack = [("", trie._root)]
    while stack:
        prefix, node = stack.pop()
        assert [key[2] for key in node.top] == [c.term for c in oracle.complete(prefix, 2)]
        assert all(key is held[key[2]] for key in node.top)
        stack += [(prefix + kid.label, kid) for kid in node.kids]
