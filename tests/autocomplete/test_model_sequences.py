"""Random sequences of operations on every completer, against a model written out here.

The model is a dict of weights with the family's rules spelled out plainly: NFC (and casefold
then NFC again) on every term and prefix, the order (heaviest, shortest, A to Z), and typo
distance as a full optimal-string-alignment table, not the library's banded one. Every answer
of every structure is compared with it after inserts, increments, removals (of absent terms,
of a term that is a prefix of others), re-adds, queries with ``k`` past the count, and a
save and load (into the same class or another), and a frozen copy of the current items with
blocks of 1, 2, 64 and 65536 terms, read from memory and from a mapped file.
"""

from __future__ import annotations

import random
import tempfile
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from designpatterns_ref.autocomplete import (
    AutocompleteError,
    Completion,
    FrozenCompleter,
    RadixTrie,
    SortedPrefixIndex,
    StorageError,
    TermNotFound,
    TopKTrie,
    Trie,
)

MAX = 2**63 - 1

# "ß" folds to "ss", "ﬁ" to "fi", "İ" to "i" + a combining dot: folding changes the length,
# and "ǰ" folds to "j" + a combining caron, which NFC cannot recompose.
ALPHABET = "asSiIßﬁİǰj"
term_text = st.text(alphabet=ALPHABET, min_size=1, max_size=5)
prefix_text = st.text(alphabet=ALPHABET, max_size=7)
weights = st.integers(0, 3) | st.sampled_from([MAX - 1, MAX])

STRUCTURES: dict[str, Any] = {
    "Trie": Trie,
    "RadixTrie": RadixTrie,
    "TopKTrie": TopKTrie,
    "TopKTrie-cache1": lambda items, casefold: TopKTrie(items, casefold=casefold, cache_size=1),
    "SortedPrefixIndex": SortedPrefixIndex,
}
MUTABLE = (Trie, RadixTrie, TopKTrie, SortedPrefixIndex)


def norm(text: str, casefold: bool) -> str:
    text = unicodedata.normalize("NFC", text)
    return unicodedata.normalize("NFC", text.casefold()) if casefold else text


def osa(a: str, b: str) -> int:
    """Insertions, deletions, substitutions and adjacent swaps turning ``a`` into ``b``."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(
                d[i - 1][j] + 1,
                d[i][j - 1] + 1,
                d[i - 1][j - 1] + (a[i - 1] != b[j - 1]),
            )
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


def model_complete(table: dict[str, int], prefix: str, k: int, max_edits: int) -> list[Completion]:
    """What ``complete`` must answer: exact below 3 characters, 1 typo below 6, and the
    first character always exact; ranked by distance, weight down, length, code points."""
    n = len(prefix)
    edits = 0 if n < 3 else min(1, max_edits) if n < 6 else max_edits
    found = []
    for term, weight in table.items():
        if edits == 0:
            if term.startswith(prefix):
                found.append((0, term, weight))
        elif term[0] == prefix[0]:
            d = min(osa(prefix[1:], term[1:j]) for j in range(1, len(term) + 1))
            if d <= edits:
                found.append((d, term, weight))
    found.sort(key=lambda dtw: (dtw[0], -dtw[2], len(dtw[1]), dtw[1]))
    return [Completion(t, w, d) for d, t, w in found[:k]]


def outcome(call: Any) -> Any:
    """What a call returned, or the type of the family error it raised."""
    try:
        return call()
    except AutocompleteError as exc:
        return type(exc)


class CompleterModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="dpac-model-"))
        self.saves = 0

    @initialize(
        name=st.sampled_from(sorted(STRUCTURES)),
        casefold=st.booleans(),
        items=st.lists(st.tuples(term_text, weights), max_size=8),
        bulk=st.sampled_from([0, 0, 60, 400]),
        seed=st.integers(0, 2**32 - 1),
    )
    def build(
        self, name: str, casefold: bool, items: list[tuple[str, int]], bulk: int, seed: int
    ) -> None:
        # Hundreds of terms make segment-tree nodes with cached lists, full TopKTrie caches
        # and many SortedPrefixIndex merges.
        rng = random.Random(seed)
        items = [
            ("".join(rng.choices(ALPHABET, k=rng.randint(1, 5))), rng.randint(0, 4))
            for _ in range(bulk)
        ] + items
        self.casefold = casefold
        self.table: dict[str, int] = {}
        for term, weight in items:
            self.table[norm(term, casefold)] = weight  # a later duplicate wins
        self.sut = STRUCTURES[name](items, casefold=casefold)

    def known(self, data: st.DataObject) -> str:
        """A term held now (when there is one, in the spelling given or another case), or
        a new one."""
        if self.table and data.draw(st.booleans()):
            term = data.draw(st.sampled_from(sorted(self.table)))
            return data.draw(st.sampled_from([term, term.upper(), term.title()]))
        return data.draw(term_text)

    @rule(data=st.data(), weight=weights)
    def insert(self, data: st.DataObject, weight: int) -> None:
        term = self.known(data)
        assert outcome(lambda: self.sut.insert(term, weight)) is None
        self.table[norm(term, self.casefold)] = weight

    @rule(data=st.data(), by=st.integers(-3, 3) | st.sampled_from([MAX, -MAX]))
    def increment(self, data: st.DataObject, by: int) -> None:
        term = self.known(data)
        key = norm(term, self.casefold)
        new = self.table.get(key, 0) + by
        expected: Any = new if 0 <= new <= MAX else AutocompleteError
        assert outcome(lambda: self.sut.increment(term, by)) == expected
        if expected is not AutocompleteError:
            self.table[key] = new

    @rule(data=st.data())
    def remove(self, data: st.DataObject) -> None:
        term = self.known(data)
        key = norm(term, self.casefold)
        expected = None if key in self.table else TermNotFound
        assert outcome(lambda: self.sut.remove(term)) == expected
        self.table.pop(key, None)

    @rule(data=st.data())
    def remove_a_prefix_of_others(self, data: st.DataObject) -> None:
        longer = [t for t in self.table if any(o != t and o.startswith(t) for o in self.table)]
        if longer:
            term = data.draw(st.sampled_from(sorted(longer)))
            self.sut.remove(term)
            del self.table[term]

    @rule(seed=st.integers(0, 2**32 - 1), count=st.sampled_from([10, 40, 80]))
    def a_burst_of_changes(self, seed: int, count: int) -> None:
        # enough new terms and removals at once to make SortedPrefixIndex merge its buffer
        rng = random.Random(seed)
        for _ in range(count):
            term = "".join(rng.choices(ALPHABET, k=rng.randint(1, 6)))
            key = norm(term, self.casefold)
            if key in self.table and rng.random() < 0.5:
                self.sut.remove(term)
                del self.table[key]
            else:
                weight = rng.randint(0, 4)
                self.sut.insert(term, weight)
                self.table[key] = weight

    @rule(term=term_text)
    def refused_updates_change_nothing(self, term: str) -> None:
        before = dict(self.table)
        assert outcome(lambda: self.sut.insert(term, -1)) == AutocompleteError
        assert outcome(lambda: self.sut.insert(term, MAX + 1)) == AutocompleteError
        assert outcome(lambda: self.sut.insert("", 1)) == AutocompleteError
        assert outcome(lambda: self.sut.complete(term, 0)) == AutocompleteError
        assert outcome(lambda: self.sut.complete(term, 1, max_edits=3)) == AutocompleteError
        assert dict(self.sut.items()) == before

    @rule(data=st.data(), max_edits=st.integers(0, 2), extra=st.integers(0, 3))
    def complete(self, data: st.DataObject, max_edits: int, extra: int) -> None:
        if self.table and data.draw(st.booleans()):  # a prefix of a held term, or the term
            term = data.draw(st.sampled_from(sorted(self.table)))
            prefix = term[: data.draw(st.integers(0, len(term)))]
        else:
            prefix = data.draw(prefix_text)
        k = data.draw(st.integers(1, 3)) if extra == 0 else len(self.table) + extra
        got = self.sut.complete(prefix, k, max_edits=max_edits)
        key = norm(prefix, self.casefold)
        assert got == model_complete(self.table, key, k, max_edits)

    @rule(data=st.data())
    def weight_and_in(self, data: st.DataObject) -> None:
        term = self.known(data)
        key = norm(term, self.casefold)
        assert (term in self.sut) == (key in self.table)
        expected = self.table.get(key, TermNotFound)
        assert outcome(lambda: self.sut.weight(term)) == expected

    @rule(cls=st.sampled_from(MUTABLE))
    def save_and_load(self, cls: Any) -> None:
        self.saves += 1
        path = self.folder / f"s{self.saves}"
        self.sut.save(path)
        loaded = cls.load(path)
        assert list(loaded.items()) == sorted(self.table.items())
        if type(self.sut) is cls:  # keep going with the loaded one
            self.sut = loaded

    @rule(data=st.data(), damage=st.sampled_from(["truncate", "flip", "version", "kind"]))
    def a_damaged_file_is_refused_and_changes_nothing(
        self, data: st.DataObject, damage: str
    ) -> None:
        self.saves += 1
        path = self.folder / f"d{self.saves}"
        self.sut.save(path)
        good = path.read_bytes()
        raw = bytearray(good)
        if damage == "truncate":
            del raw[data.draw(st.integers(0, len(raw) - 1)) :]
        elif damage == "flip":
            raw[data.draw(st.integers(0, len(raw) - 1))] ^= 1 << data.draw(st.integers(0, 7))
        elif damage == "version":
            raw[8] += 1
        bad = self.folder / f"b{self.saves}"
        bad.write_bytes(bytes(raw))
        for cls in (*MUTABLE, FrozenCompleter):
            if damage == "kind" and cls is not FrozenCompleter:
                continue  # an intact items file: FrozenCompleter alone refuses its kind
            with pytest.raises(StorageError):
                cls.load(bad)
        with pytest.raises(StorageError):
            FrozenCompleter.load(bad, mmap=True)
        if damage == "kind":
            frozen = self.folder / f"k{self.saves}"
            FrozenCompleter(self.sut.items()).save(frozen)
            for cls in MUTABLE:
                with pytest.raises(StorageError):
                    cls.load(frozen)
        assert path.read_bytes() == good
        assert list(type(self.sut).load(path).items()) == sorted(self.table.items())

    @rule(
        block=st.sampled_from([1, 2, 64, 65536]),
        mapped=st.booleans(),
        asks=st.lists(st.tuples(prefix_text, st.integers(1, 12), st.integers(0, 2)), max_size=4),
    )
    def freeze(self, block: int, mapped: bool, asks: list[tuple[str, int, int]]) -> None:
        cls = type(f"Frozen{block}", (FrozenCompleter,), {"BLOCK": block})
        frozen = cls(self.sut.items(), casefold=self.casefold)
        if mapped:
            self.saves += 1
            path = self.folder / f"f{self.saves}"
            frozen.save(path)
            frozen = FrozenCompleter.load(path, mmap=True)
        assert list(frozen.items()) == sorted(self.table.items())
        assert len(frozen) == len(self.table)
        prefixes = [(t[:2], 100, 0) for t in sorted(self.table)[::7]] + asks
        prefixes += [(t, len(self.table) + 1, 2) for t in list(self.table)[:3]]
        for prefix, k, edits in prefixes:
            key = norm(prefix, self.casefold)
            assert frozen.complete(prefix, k, max_edits=edits) == model_complete(
                self.table, key, k, edits
            )
        for term, weight in self.table.items():
            assert term in frozen and frozen.weight(term) == weight
        assert outcome(lambda: frozen.weight("zz")) is TermNotFound

    @invariant()
    def same_items(self) -> None:
        if hasattr(self, "sut"):
            assert len(self.sut) == len(self.table)
            assert list(self.sut.items()) == sorted(self.table.items())

    def teardown(self) -> None:
        for path in self.folder.iterdir():
            path.unlink()
        self.folder.rmdir()


TestCompleterModel = CompleterModel.TestCase
TestCompleterModel.settings = settings(
    max_examples=60,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.mark.parametrize(
    ("a", "b", "d"),
    [("", "", 0), ("ab", "ba", 1), ("ca", "abc", 3), ("abc", "", 3), ("kitten", "sitting", 3)],
)
def test_the_model_distance_is_the_textbook_one(a: str, b: str, d: int) -> None:
    assert osa(a, b) == d
