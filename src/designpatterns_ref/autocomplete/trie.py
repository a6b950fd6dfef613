"""Trie: one node per character, top-k by a best-first search guided by subtree maxima.

Case study: Design a Search Autocomplete System (docs/case-studies/search-autocomplete.md)

The textbook answer. Each node stores the best rank key in its subtree and its children
sorted by that key, so the heaviest completion of a prefix is found by walking down first
children, and the next ones by resuming from a heap of the siblings passed on the way
(:func:`~designpatterns_ref.autocomplete._tree.best_first`). Reads never touch the terms that
do not make the top k, however many match: a one-letter prefix costs the same few walks as a
long one.

Trade-off: updates are cheap (a weight change walks the term's path once, re-sorting one
child list per level, and stops where the subtree maximum no longer changes), but a node per
character costs memory: more than any structure here but the TopKTrie. Choose
:class:`~designpatterns_ref.autocomplete.radix.RadixTrie` for the same behaviour in fewer
nodes, :class:`~designpatterns_ref.autocomplete.topk.TopKTrie` when reads dominate.

Complexity: ``complete`` O(p + k * d * log(k * d)) for a prefix of length p and terms of depth
d; ``insert``/``increment``/``remove`` O(d * f) at worst for fan-out f; memory O(total chars).

```pycon
>>> trie = Trie([("iphone", 120), ("ipad", 90), ("ipod", 40), ("imac", 70)])
>>> [c.term for c in trie.complete("ip", k=2)]
['iphone', 'ipad']
>>> trie.increment("ipod", by=100)
140
>>> trie.complete("ip", k=1)
[Completion(term='ipod', weight=140, distance=0)]
>>> trie.complete("ipnone", max_edits=1)
[Completion(term='iphone', weight=120, distance=1)]

```
"""

from __future__ import annotations

from collections.abc import Iterable

from designpatterns_ref.autocomplete._shared import CompleterBase
from designpatterns_ref.autocomplete._tree import (
    Node,
    adopt,
    best_first,
    build_chars,
    child_of,
    refresh,
    sorted_keys,
    walk_chars,
)
from designpatterns_ref.autocomplete.base import RankKey, _rank_key

__all__ = ["Trie"]


class Trie(CompleterBase):
    """A character trie with subtree maxima; see the module docstring.

    ``Trie(items=(), *, casefold=False)`` takes (term, weight) pairs.
    """

    _root: Node

    def _build_pairs(self, terms: list[str], weights: list[int]) -> None:
        # In one pass over the sorted terms (see _tree.build_chars): one node per new
        # character, its best set as it is made, and only the nodes that branch or hold a
        # term closed (children sorted, best set) when the walk leaves them.
        self._weights, alphabetical, keys = sorted_keys(terms, weights)
        self._root = build_chars(alphabetical, keys)

    def _apply(self, term: str, old: int | None, new: int | None) -> None:
        node = self._root
        path = [node]
        for char in term:
            child = child_of(node, char)
            if child is None:  # only when adding a term
                child = Node(char)
                adopt(node, child)
            path.append(child)
            node = child
        node.key = None if new is None else _rank_key(term, new)
        refresh(path)

    def _start(self, prefix: str) -> Node | None:
        return walk_chars(self._root, prefix)

    def _top(self, starts: list[Node], k: int, skip: set[str]) -> list[RankKey]:
        return best_first(starts, k, skip)

    def _fuzzy_root(self, char: str) -> Node | None:
        return child_of(self._root, char)

    def _fuzzy_children(self, state: Node) -> Iterable[tuple[str, Node]]:
        return [(kid.label, kid) for kid in state.kids]
