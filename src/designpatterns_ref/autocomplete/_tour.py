"""``dpref tour``: the autocomplete family in a few steps a student can follow."""

from __future__ import annotations

from collections.abc import Callable

from designpatterns_ref.autocomplete.base import Completion, ReadOnlyError
from designpatterns_ref.autocomplete.frozen import FrozenCompleter
from designpatterns_ref.autocomplete.radix import RadixTrie
from designpatterns_ref.autocomplete.sorted_index import SortedPrefixIndex
from designpatterns_ref.autocomplete.topk import TopKTrie
from designpatterns_ref.autocomplete.trie import Trie

QUERIES = [
    ("iphone 15", 9_000),
    ("iphone", 7_000),
    ("iphone case", 3_000),
    ("ipad", 5_000),
    ("ipad pro", 2_500),
    ("ipod", 800),
    ("ip address", 4_000),
    ("instagram", 12_000),
    ("imdb", 6_000),
]


def _show(completions: list[Completion]) -> str:
    return ", ".join(f"{c.term} ({c.weight:,})" for c in completions)


def tour(out: Callable[[str], None]) -> None:
    """Type 'iph', watch the ranking move with popularity, then make a typo."""
    out("Search autocomplete: the k most popular queries that start with what was typed.")
    out(f"A vocabulary of {len(QUERIES)} queries with popularity counts, in a TopKTrie:")
    trie = TopKTrie(QUERIES, cache_size=3)
    for typed in ("i", "ip", "iph"):
        out(f"  typed {typed!r:9} -> {_show(trie.complete(typed, k=3))}")
    out("Each trie node caches its top 3, so a completion is a walk down 3 letters and a slice.")
    out("A new iPad ships and 6,000 people search 'ipad pro' (increment keeps caches exact):")
    trie.increment("ipad pro", by=6_000)
    out(f"  typed 'ip'      -> {_show(trie.complete('ip', k=3))}")
    trie.increment("ipad pro", by=-8_000)
    out("The excitement fades (by=-8,000) and the next query moves back into the top 3:")
    out(f"  typed 'ip'      -> {_show(trie.complete('ip', k=3))}")
    out("A typo: 'iphnoe' is one swap away from 'iphone' (first letter and short prefixes exact):")
    fuzzy = trie.complete("iphnoe", k=3, max_edits=1)
    out(f"  typed 'iphnoe'  -> {_show(fuzzy)}, each {fuzzy[0].distance} edit away")
    out("Every structure answers the same question the same way, at its own cost:")
    for cls in (Trie, RadixTrie, SortedPrefixIndex, FrozenCompleter):
        answer = [c.term for c in cls(QUERIES).complete("ip", k=3)]
        out(f"  {cls.__name__:18} complete('ip', k=3) -> {answer}")
    frozen = FrozenCompleter(QUERIES)
    try:
        frozen.insert("ipados", 1)
    except ReadOnlyError as exc:
        out(f"FrozenCompleter is the smallest but read-only: {exc}.")
    out("Run `dpref bench autocomplete` to compare them on 300,000 English words.")
