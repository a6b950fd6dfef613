"""TopKTrie: every node caches its top k, so a completion is one walk and one slice.

Case study: Design a Search Autocomplete System (docs/case-studies/search-autocomplete.md)

The answer most production systems give: precompute. Each node keeps the rank keys of the
``cache_size`` best terms in its subtree, sorted, so ``complete(prefix, k)`` walks the prefix
and slices a list: no search at all. The price is paid on update, and this module keeps the
caches exact however weights move:

- a weight rises (or a term arrives): walk up from the term's node, moving the key up in each
  cache or entering it; stop at the first node whose cache it does not enter, because an
  ancestor's k-th best is at least as good as its child's;
- a weight falls (or a term leaves): walk up while the old key is cached. If the cache holds
  the whole subtree, or the new key still beats the k-th, just move it; otherwise the leader
  may have fallen out, so rebuild that node's cache from its children's caches (which hold the
  next candidates: the top k of a node is within the union of its children's top k).

A bulk build (the constructor, ``load``) fills the caches in one pass over the sorted
terms, by the same rule: a node that branches or holds a term makes its cache when the walk
leaves it, the best k of its own key and its kids' caches, and the chain of one-child nodes
above it gets copies of it; a chain down to a single term caches that term from the start.
Queries for more than ``cache_size`` results, or fuzzy ones, fall back to a best-first search
that uses each cache's first entry as its subtree maximum.

Trade-off: the fastest reads and cheap popularity bumps, for k keys of memory per node and a
rebuild cost of O(fan-out * k) when a cached leader falls.

Complexity: ``complete`` O(p + k) for k <= cache_size; a rise O(d * log k) and usually much
less (it stops early); a fall O(d * f * k) at worst; a bulk build O(total characters * k).

```pycon
>>> trie = TopKTrie([("the", 50), ("then", 20), ("there", 30), ("they", 40)], cache_size=2)
>>> [c.term for c in trie.complete("the", k=2)]
['the', 'they']
>>> trie.increment("the", by=-45)
5
>>> [c.term for c in trie.complete("the", k=2)]
['they', 'there']

```
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable, Sequence
from functools import partial
from heapq import heapify, heappop, heappush, merge, nsmallest
from itertools import chain, count, islice
from typing import Any

from designpatterns_ref.autocomplete._shared import CompleterBase, check_int
from designpatterns_ref.autocomplete._tree import (
    FANOUT,
    NO_KIDS,
    Branch,
    _new_kids,
    adopt,
    child_of,
    disown,
    sorted_keys,
    walk_chars,
)
from designpatterns_ref.autocomplete.base import RankKey, _rank_key

__all__ = ["TopKTrie"]


class _Node(Branch):
    """A trie node with ``top``, the best keys of its subtree, best first (its kids are in no
    particular order). The caches hold the very key objects found in the ``key`` of the terms'
    nodes, never copies, so ``is`` tells whether a cache holds a term."""

    __slots__ = ("top",)

    def __init__(self, label: str = "", key: RankKey | None = None) -> None:
        self.label = label
        self.kids = NO_KIDS
        self.children = None
        self.key = key  # this node's own term, if one ends here
        self.top: list[RankKey] = [] if key is None else [key]


def _close(node: _Node, links: Sequence[_Node], size: int) -> None:
    """Close a node whose subtree is complete and which branched or holds its own term (see
    :func:`_build`): its cache is the best ``size`` of its own key and its kids' caches, since
    each kid's cache holds the best of the kid's subtree, and each of the ``links`` right above
    it (same subtree) gets a copy of it (a copy each: updates change a cache in place)."""
    kids = node.kids
    if len(kids) >= FANOUT:
        node.children = {kid.label[0]: kid for kid in kids}
    top = [] if node.key is None else [node.key]
    for kid in kids:
        top += kid.top
    top.sort()  # sorted runs: a merge
    del top[size:]
    node.top = top
    for link in links:
        link.top = top[:]


def _build(terms: list[str], keys: list[RankKey], size: int) -> _Node:
    """The trie of ``terms`` (sorted, distinct, non-empty; ``keys`` their rank keys) with
    every cache exact, in one pass over the terms: the walk of ``_tree.build_chars``, with a
    cache in place of the best key. A link (a node without a term of its own, made with one
    kid) starts with its term's key as its cache, right while its subtree is that one chain;
    a node that branched or holds its own term makes its cache from its kids' when the walk
    leaves it (:func:`_close`), and the links right above it copy that cache."""
    root = _Node()
    new = partial(object.__new__, _Node)
    path = [root]
    push = path.append
    marks = [0]  # the depths in path of the nodes to close, the root first
    prev = ""
    for term, key in zip(terms, keys, strict=True):
        if term.startswith(prev):  # the previous term's node (a leaf) is this one's parent
            shared = len(prev)
            kids = _new_kids(path[-1])  # the list before the kid: see _tree._new_kids
            if shared:  # (the root, the first term's parent, is marked already)
                marks.append(shared)
        else:  # sorted, so the two differ at a character both have: no bounds to check
            shared = 0
            while prev[shared] == term[shared]:
                shared += 1
            depth = marks[-1]
            while depth > shared:  # close the marked nodes below the shared part: inline,
                marks.pop()  # what _close(path[depth], path[above + 1 : depth], size) does
                above = marks[-1]
                node = path[depth]
                kids = node.kids  # type: ignore[assignment]
                if len(kids) >= FANOUT:
                    node.children = {kid.label[0]: kid for kid in kids}
                top = [] if node.key is None else [node.key]
                for kid in kids:
                    top += kid.top
                top.sort()  # sorted runs: a merge
                del top[size:]
                node.top = top
                for link in path[max(above, shared) + 1 : depth]:
                    link.top = top[:]
                depth = above
            del path[shared + 1 :]
            kids = path[shared].kids  # type: ignore[assignment]  # it has a kid: a list
            if depth != shared:  # it branches here: to be closed
                marks.append(shared)
        for char in term[shared:-1]:  # the links: one kid each, cache the term's key
            kid = new()
            kid.label = char
            kids.append(kid)
            kid.kids = kids = [kid]  # the list after its node, before its kid (_new_kids)
            kids.pop()  # room for one kid, no more
            kid.children = None
            kid.key = None
            kid.top = [key]
            push(kid)
        kid = new()  # the term's node
        kid.label = term[-1]
        kid.kids = NO_KIDS
        kid.children = None
        kid.key = key
        kid.top = [key]
        kids.append(kid)
        push(kid)
        prev = term
    if terms:  # close what is left of the path, the root last
        while marks:
            depth = marks.pop()
            _close(path[depth], path[(marks[-1] if marks else 0) + 1 : depth], size)
    return root


class TopKTrie(CompleterBase):
    """A character trie whose nodes cache their ``cache_size`` best keys.

    ``TopKTrie(items=(), *, casefold=False, cache_size=10)`` takes (term, weight) pairs.
    """

    _root: _Node
    _size: int

    def __init__(
        self, items: Iterable[tuple[str, int]] = (), *, casefold: bool = False, cache_size: int = 10
    ) -> None:
        size = check_int("cache_size", cache_size, 1, 10_000)
        self._init(items, casefold=casefold, cache_size=size)

    def _configure(self, *, casefold: bool = False, cache_size: int = 10) -> None:
        super()._configure(casefold=casefold)
        self._size = cache_size

    def _config(self) -> dict[str, Any]:
        return {**super()._config(), "cache_size": self._size}

    def _param(self) -> int:
        return self._size

    @classmethod
    def _param_config(cls, param: int) -> dict[str, Any]:
        if param == 0:  # a file of another structure: the default cache size
            return {}
        return {"cache_size": check_int("cache_size", param, 1, 10_000)}

    def _build_pairs(self, terms: list[str], weights: list[int]) -> None:
        # In one pass over the sorted terms (see _build): a node that branches or holds a
        # term makes its cache from its kids' when the walk leaves it, and the links above it
        # copy that cache.
        self._weights, alphabetical, keys = sorted_keys(terms, weights)
        self._root = _build(alphabetical, keys, self._size)

    def _apply(self, term: str, old: int | None, new: int | None) -> None:
        node = self._root
        path = [node]
        for char in term:
            child = child_of(node, char)
            if child is None:  # only when adding a term
                child = _Node(char)
                adopt(node, child)
            path.append(child)
            node = child
        held = node.key  # the very object the caches hold (see _rise)
        new_key = None if new is None else _rank_key(term, new)
        node.key = new_key
        if new_key is not None and (held is None or new_key < held):
            self._rise(path, held, new_key)
        else:
            assert held is not None
            self._fall(path, held, new_key)
            if new_key is None:  # prune the nodes left empty
                for depth in range(len(path) - 1, 0, -1):
                    node = path[depth]
                    if node.key is not None or node.kids:
                        break
                    disown(path[depth - 1], node)

    def _rise(self, path: list[_Node], held: RankKey | None, new_key: RankKey) -> None:
        """Move ``held`` (``None``: a new term) up to ``new_key`` in the caches of ``path``.

        ``is`` tells whether a cache holds the term (see :class:`_Node`), without comparing
        the strings of equal keys. Walks up from the term's node and
        stops at the first cache the key does not enter: an ancestor's k-th best is at least
        as good as its child's.
        """
        size = self._size
        for node in reversed(path):
            top = node.top
            i = len(top) if held is None else bisect_left(top, held)
            if i < len(top) and top[i] is held:  # cached here
                if i == 0 or top[i - 1] < new_key:  # and still in its place (the usual +1)
                    top[i] = new_key
                else:  # move it up
                    del top[i]
                    insort(top, new_key, hi=i)
            elif len(top) < size or new_key < top[-1]:  # enters this cache
                insort(top, new_key)
                if len(top) > size:
                    top.pop()
            else:  # not in this cache, so in no cache above
                return

    def _fall(self, path: list[_Node], held: RankKey, new_key: RankKey | None) -> None:
        size = self._size
        for node in reversed(path):
            top = node.top
            i = bisect_left(top, held)
            if i == len(top) or top[i] is not held:
                return  # not cached here, so cached nowhere above
            if len(top) < size or (new_key is not None and i < size - 1 and new_key < top[-1]):
                del top[i]  # the cache keeps its members: just move the key
                if new_key is not None:
                    insort(top, new_key)
            else:  # the k-th place may now belong to a term outside the cache
                own = () if node.key is None else (node.key,)
                lists = (kid.top for kid in node.kids)
                node.top = nsmallest(size, chain(own, *lists))

    def _start(self, prefix: str) -> _Node | None:
        return walk_chars(self._root, prefix)

    def _top(self, starts: list[_Node], k: int, skip: set[str]) -> list[RankKey]:
        if k + len(skip) <= self._size:  # the caches hold the answer
            if len(starts) == 1 and not skip:
                return starts[0].top[:k]
            found = (key for key in merge(*(n.top for n in starts)) if key[2] not in skip)
            return list(islice(found, k))
        return self._search(starts, k, skip)

    def _search(self, starts: list[_Node], k: int, skip: set[str]) -> list[RankKey]:
        """Best-first search with each cache's head as its subtree maximum."""
        tick = count()
        heap: list[tuple[RankKey, int, _Node | None]] = [
            (n.top[0], next(tick), n) for n in starts if n.top
        ]
        heapify(heap)
        out: list[RankKey] = []
        while heap and len(out) < k:
            key, _, node = heappop(heap)
            if node is None:
                if key[2] not in skip:
                    out.append(key)
            elif len(node.top) < self._size:  # the cache is the whole subtree
                for term_key in node.top:
                    heappush(heap, (term_key, next(tick), None))
            else:
                if node.key is not None:
                    heappush(heap, (node.key, next(tick), None))
                for kid in node.kids:
                    heappush(heap, (kid.top[0], next(tick), kid))
        return out

    def _fuzzy_root(self, char: str) -> _Node | None:
        return child_of(self._root, char)

    def _fuzzy_children(self, state: _Node) -> Iterable[tuple[str, _Node]]:
        return [(kid.label, kid) for kid in state.kids]
