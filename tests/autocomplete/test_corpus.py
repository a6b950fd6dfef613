"""A modest real vocabulary: every structure agrees with the oracle on English words."""

from __future__ import annotations

import builtins
import sys

import pytest

from designpatterns_ref.autocomplete import (
    AutocompleteError,
    BruteForceCompleter,
    FrozenCompleter,
    RadixTrie,
    SortedPrefixIndex,
    TopKTrie,
    Trie,
)
from designpatterns_ref.autocomplete.corpus import english, sample_prefixes


@pytest.fixture(scope="module")
def words() -> list[tuple[str, int]]:
    pytest.importorskip("wordfreq")
    return english(3_000)


def test_english_is_ranked_integer_weights(words: list[tuple[str, int]]) -> None:
    assert len(words) == 3_000
    assert words[0][0] == "the"
    assert all(isinstance(w, int) and w >= 1 for _, w in words)
    assert [w for _, w in words] == sorted((w for _, w in words), reverse=True)
    assert len({t for t, _ in words}) == len(words)


def test_structures_agree_on_real_words(words: list[tuple[str, int]]) -> None:
    oracle = BruteForceCompleter(words)
    structures = [cls(words) for cls in (Trie, RadixTrie, TopKTrie, SortedPrefixIndex)]
    structures.append(FrozenCompleter(words))
    prefixes = sample_prefixes(words, 150, lengths=(1, 2, 3, 4, 6), seed=5)
    for prefix in prefixes:
        expected = oracle.complete(prefix, 10)
        assert expected
        for structure in structures:
            assert structure.complete(prefix, 10) == expected
    for prefix in prefixes[:20]:  # past the 10 cached keys: the best-first walks
        expected = oracle.complete(prefix, 25)
        for structure in structures:
            assert structure.complete(prefix, 25) == expected
    for typo in ("teh", "beacuse", "becuase", "goverment", "pepole", "wrod"):
        expected = oracle.complete(typo, 10, max_edits=2)
        for structure in structures:
            assert structure.complete(typo, 10, max_edits=2) == expected


def test_english_without_wordfreq_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_wordfreq(name: str, *args: object, **kwargs: object) -> object:
        if name == "wordfreq":
            raise ImportError("No module named 'wordfreq'")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.delitem(sys.modules, "wordfreq", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_wordfreq)
    with pytest.raises(ModuleNotFoundError, match=r"designpatterns-ref\[bench\]"):
        english(10)


def test_english_and_sampling_check_their_arguments() -> None:
    with pytest.raises(AutocompleteError):
        english(0)
    with pytest.raises(AutocompleteError):
        sample_prefixes([], 3)
    assert sample_prefixes([("abc", 1)], 3, lengths=(2,)) == ["ab", "ab", "ab"]
