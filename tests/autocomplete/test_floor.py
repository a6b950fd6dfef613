"""The build floor of ``dpref bench autocomplete``: its node count is the trie's own, and each
part runs on the given words."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.autocomplete import SortedPrefixIndex, Trie
from designpatterns_ref.autocomplete._floor import floor_parts, floor_table, trie_nodes
from designpatterns_ref.autocomplete._tree import Node

# Few letters: long shared prefixes, terms that are prefixes of others, neighbours that differ
# at the first character.
vocab = st.lists(st.tuples(st.text("abc\u00e9", min_size=1, max_size=6), st.integers(0, 9)))


def _count(root: Node) -> int:
    stack, seen = [root], 0
    while stack:
        node = stack.pop()
        seen += 1
        stack += node.kids
    return seen


@settings(max_examples=200)
@given(items=vocab)
def test_trie_nodes_counts_the_nodes_of_a_built_trie(items: list[tuple[str, int]]) -> None:
    trie = Trie(items)
    assert trie_nodes(sorted({term for term, _ in items})) == _count(trie._root)


def test_every_part_runs_and_counts_what_it_makes() -> None:
    items = [("cat", 5), ("car", 3), ("cart", 2), ("dog", 4), ("cat", 6)]  # a duplicate too
    parts = floor_parts(items)
    made = {name: run() for name, (run, _, _) in parts.items()}
    counts = {name: count for name, (_, count, _) in parts.items()}
    assert counts["one bare Node per term"] == len(made["one bare Node per term"]) == 4
    nodes = counts["one bare Node per character node"]
    assert nodes == trie_nodes(["car", "cart", "cat", "dog"]) - 1 == 8  # c a r t t d o g
    assert len(made["one bare Node per character node"]) == nodes
    assert counts["raw DEFLATE, one stream per 64 terms"] == 1


def test_the_table_holds_every_part_and_build_against_the_baseline() -> None:
    items = [(f"w{i}", i) for i in range(200)]
    table = floor_table(items, {"Trie": Trie, "sorted": SortedPrefixIndex}, "sorted", runs=1)
    names = [row[0] for row in table.rows]
    assert names == [*floor_parts(items), "Trie: whole build", "sorted: whole build"]
    assert table.rows[-1][3] == "1.00"
    assert all(float(row[2]) >= 0 for row in table.rows)
