"""RadixTrie: a trie with compressed edges, searched best-first like the plain trie.

Case study: Design a Search Autocomplete System (docs/case-studies/search-autocomplete.md)

A chain of nodes with one child each is stored as one edge labelled with the whole string, so
a trie of n terms has at most 2n nodes however long the terms are. Each node keeps the best
rank key of its subtree and its children sorted by it, and ``complete`` runs the same
best-first search as :class:`~designpatterns_ref.autocomplete.trie.Trie`. A prefix may end in
the middle of an edge; the subtree below that edge is then the answer's range.

Trade-off: far fewer nodes (less memory, shorter walks) than the plain trie, for slightly more
code on update: adding a term may split an edge in two, removing one may merge a node with its
only child.

Complexity: ``complete`` O(p + k * d * log(k * d)) where d now counts nodes, not characters;
updates O(d * f) at worst for fan-out f; memory O(n) nodes plus the edge labels.

```pycon
>>> radix = RadixTrie([("romane", 3), ("romanus", 5), ("romulus", 4), ("rubens", 2)])
>>> [c.term for c in radix.complete("rom")]
['romanus', 'romulus', 'romane']
>>> radix.remove("romanus")
>>> [c.term for c in radix.complete("roma")]
['romane']

```
"""

from __future__ import annotations

from collections.abc import Iterable

from designpatterns_ref.autocomplete._shared import CompleterBase
from designpatterns_ref.autocomplete._tree import (
    Node,
    adopt,
    best_first,
    build_edges,
    child_of,
    common_length,
    refresh,
    sorted_keys,
    swap,
)
from designpatterns_ref.autocomplete.base import RankKey, _rank_key

__all__ = ["RadixTrie"]

#: A position in the fuzzy walk: a node and how many characters of its label are consumed.
Cursor = tuple[Node, int]


class RadixTrie(CompleterBase):
    """A radix (compressed) trie with subtree maxima; see the module docstring.

    ``RadixTrie(items=(), *, casefold=False)`` takes (term, weight) pairs.
    """

    _root: Node

    def _build_pairs(self, terms: list[str], weights: list[int]) -> None:
        # Bottom-up from the sorted terms (see _tree.build_edges): the new part of each term
        # is one edge, split where a later term branches off inside it.
        self._weights, alphabetical, keys = sorted_keys(terms, weights)
        self._root = build_edges(alphabetical, keys)

    def _grow(self, term: str) -> list[Node]:
        """The path from the root to the node of ``term``, splitting an edge if needed."""
        node = self._root
        path = [node]
        rest = term
        while rest:
            child = child_of(node, rest[0])
            if child is None:
                leaf = Node(rest)
                adopt(node, leaf)
                path.append(leaf)
                return path
            label = child.label
            n = common_length(label, rest)
            if n < len(label):  # split the edge: node -> middle -> child
                middle = Node(label[:n])
                middle.best = child.best
                child.label = label[n:]
                middle.kids = [child]
                swap(node, child, middle)  # same first character, same best, same place
                child = middle
            path.append(child)
            node = child
            rest = rest[n:]
        return path

    def _path(self, term: str) -> list[Node]:
        """The path from the root to the node of ``term``, which is held."""
        node = self._root
        path = [node]
        rest = term
        while rest:
            found = child_of(node, rest[0])
            assert found is not None
            node = found
            path.append(node)
            rest = rest[len(node.label) :]
        return path

    def _apply(self, term: str, old: int | None, new: int | None) -> None:
        path = self._grow(term) if old is None else self._path(term)
        node = path[-1]
        node.key = None if new is None else _rank_key(term, new)
        refresh(path)
        if new is None:  # keep the trie compressed: no keyless node with one child
            if node.best is None and len(path) > 1:
                node = path[-2]
            if node is not self._root and node.key is None and len(node.kids) == 1:
                child = node.kids[0]
                node.label += child.label
                node.children, node.kids, node.key = child.children, child.kids, child.key

    def _start(self, prefix: str) -> Node | None:
        node = self._root
        rest = prefix
        while rest:
            child = child_of(node, rest[0])
            if child is None:
                return None
            label = child.label
            if rest.startswith(label):
                rest = rest[len(label) :]
                node = child
            elif label.startswith(rest):
                return child
            else:
                return None
        return node

    def _top(self, starts: list[Node], k: int, skip: set[str]) -> list[RankKey]:
        return best_first(starts, k, skip)

    def _fuzzy_root(self, char: str) -> Cursor | None:
        child = child_of(self._root, char)
        return None if child is None else (child, 1)

    def _fuzzy_children(self, state: Cursor) -> Iterable[tuple[str, Cursor]]:
        node, used = state
        if used < len(node.label):
            return ((node.label[used], (node, used + 1)),)
        return [(child.label[0], (child, 1)) for child in node.kids]

    def _cover_start(self, state: Cursor) -> Node:
        return state[0]
