"""Normalisation, prefix ranges and the typo distance, against plain definitions."""

from __future__ import annotations

import enum
import tracemalloc
import unicodedata

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from designpatterns_ref.autocomplete import BruteForceCompleter
from designpatterns_ref.autocomplete.base import AutocompleteTypeError, rank_key
from designpatterns_ref.autocomplete.text import (
    allowed_edits,
    normalize,
    osa_distance,
    prefix_distance,
    successor,
)

letters = st.text(alphabet="abc\U0010ffff", max_size=6)


def osa_table(a: str, b: str) -> int:
    """The optimal-string-alignment distance, written out as the textbook full table."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


@given(st.text("abcd", max_size=7), st.text("abcd", max_size=7))
def test_osa_matches_the_full_table(a: str, b: str) -> None:
    assert osa_distance(a, b) == osa_table(a, b) == osa_distance(b, a)


@given(st.text("abcd", min_size=1, max_size=6), st.text("abcd", min_size=1, max_size=8))
def test_prefix_distance_is_the_best_prefix_of_the_rest(query: str, term: str) -> None:
    expected = None
    if query[0] == term[0]:
        expected = min(osa_table(query[1:], term[1:j]) for j in range(1, len(term) + 1))
    assert prefix_distance(query, term) == expected
    if term.startswith(query):
        assert prefix_distance(query, term) == 0


def test_known_typos() -> None:
    assert prefix_distance("teh", "the") == 1  # a swap
    assert prefix_distance("iphnoe", "iphone 15") == 1
    assert prefix_distance("xphone", "iphone") is None  # the first letter is kept exact
    assert prefix_distance("", "a") is None


@given(letters, letters)
def test_successor_bounds_exactly_the_strings_with_the_prefix(prefix: str, other: str) -> None:
    end = successor(prefix)
    inside = prefix <= other and (end is None or other < end)
    assert inside == other.startswith(prefix)
    assert (prefix + other) >= prefix and (end is None or prefix + other < end)


def test_allowed_edits_keeps_short_prefixes_exact() -> None:
    assert [allowed_edits(n, 1) for n in range(8)] == [0, 0, 0, 1, 1, 1, 1, 1]
    assert [allowed_edits(n, 0) for n in range(8)] == [0] * 8


@given(st.text(max_size=10), st.booleans())
@example("\u01f0", True)  # "ǰ": folding gives j + U+030C, which is not NFC
def test_normalize_is_nfc_and_idempotent(text: str, casefold: bool) -> None:
    once = normalize(text, casefold=casefold)
    assert unicodedata.is_normalized("NFC", once)
    assert normalize(once, casefold=casefold) == once
    assert normalize("Straße", casefold=True) == "strasse"


class _Shouting(str):
    def __str__(self) -> str:
        return self.upper()


class _Fruit(enum.StrEnum):
    APPLE = "apple"


@given(st.text(max_size=6), st.integers(0, 2**63 - 1))
def test_rank_key_takes_a_str_subclass_as_the_text_it_holds(term: str, weight: int) -> None:
    # normalize and every completer take a str subclass; rank_key refused one
    for sub in (_Shouting(term), _Fruit.APPLE):
        key = rank_key(sub, weight)
        assert key == rank_key(str.__str__(sub), weight) and type(key[2]) is str


@given(
    st.text("abcd", min_size=1, max_size=7),
    st.text("abcd", min_size=1, max_size=9),
    st.integers(0, 4),
)
@example("abab", "abba", 1)  # a swap inside the band
@example("a" + "b" * 6, "a", 2)  # the term ends before the band reaches the query's end
def test_prefix_distance_with_a_limit_is_the_full_table_cut_at_the_limit(
    query: str, term: str, limit: int
) -> None:
    full = prefix_distance(query, term)
    expected = full if full is not None and full <= limit else None
    assert prefix_distance(query, term, limit=limit) == expected
    if query[0] == term[0]:
        best = min(osa_table(query[1:], term[1:j]) for j in range(1, len(term) + 1))
        assert expected == (best if best <= limit else None)


def test_prefix_distance_with_a_limit_answers_long_text() -> None:
    # 5,000 typed characters against a 10,000-character term: the full table has 50 million
    # cells (17 s); the band within 2 of its diagonal a few tens of thousands
    assert prefix_distance("a" * 5000, "a" * 10_000, limit=2) == 0
    assert prefix_distance("a" * 5000, "a" + "b" * 9999, limit=2) is None
    brute = BruteForceCompleter([("a" * 10_000, 1), ("a" * 4998 + "bc", 2)])
    assert [c.distance for c in brute.complete("a" * 5000, max_edits=2)] == [0, 2]


def test_prefix_distance_with_a_limit_keeps_only_its_band() -> None:
    # each row was a list as long as the query, so a long query against a long term was
    # quadratic (300,000 x 300,000 with limit 2: minutes); a row is now its 2 x limit + 1
    # band cells, which the memory it takes shows: the query and term without their first
    # character (4 KB), where three query-long rows took some 48 KB more
    query = "a" * 2_000
    for term, expected in ((query, 0), ("a" * 1_997 + "bcd", None)):
        tracemalloc.start()
        try:
            assert prefix_distance(query, term, limit=2) == expected
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 20_000


def test_prefix_distance_refuses_a_bad_limit() -> None:
    for bad in (-1, 1.0, True, "2"):
        with pytest.raises(AutocompleteTypeError, match="limit="):
            prefix_distance("ab", "ab", limit=bad)  # type: ignore[arg-type]
