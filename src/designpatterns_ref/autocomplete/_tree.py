"""Nodes with subtree maxima and sorted children, and the best-first search over them.

Shared by :class:`~designpatterns_ref.autocomplete.trie.Trie` (one character per edge) and
:class:`~designpatterns_ref.autocomplete.radix.RadixTrie` (a string per edge). Every node
keeps ``best``, the rank key of the best term in its subtree, and ``kids``, its children sorted
by their ``best``. The best term below a node is then found by walking down first children, and
the search keeps a heap of "the rest": the next sibling at every level and the terms passed on
the way. Each result costs one walk of the trie's depth, whatever the fan-out.
"""

from __future__ import annotations

from bisect import insort
from heapq import heapify, heappop, heappush
from operator import attrgetter

from designpatterns_ref.autocomplete.base import RankKey

_best = attrgetter("best")


class Node:
    """A trie node: its edge ``label``, children by first character, and rank keys."""

    __slots__ = ("best", "children", "key", "kids", "label")

    def __init__(self, label: str = "") -> None:
        self.label = label
        self.children: dict[str, Node] = {}
        self.kids: list[Node] = []  # the children, best subtree first
        self.key: RankKey | None = None  # this node's own term, if one ends here
        self.best: RankKey | None = None  # the best key in the subtree (None: empty)


Entry = tuple[RankKey, list[Node] | None, int]


def best_first(starts: list[Node], k: int, skip: set[str]) -> list[RankKey]:
    """The ``k`` best keys in the subtrees of ``starts`` whose term is not in ``skip``.

    A heap entry ``(best, kids, i)`` stands for the subtrees ``kids[i:]``; one with
    ``kids=None`` stands for a single term. Popping the smallest entry and walking down the
    first children reaches its best term, which is the next answer because every other entry
    is no better. Entries cover disjoint sets of terms, so their keys never tie. A node's
    ``best`` is the very key object of the node that holds it, so ``is`` finds that node.
    Cost: O(k * depth * log(heap)) for any fan-out.
    """
    heap: list[Entry] = [(n.best, [n], 0) for n in starts if n.best is not None]
    heapify(heap)
    push = heappush
    out: list[RankKey] = []
    while heap:
        key, kids, i = heappop(heap)
        if key[2] not in skip:
            out.append(key)
            if len(out) == k:  # done: the walk below only finds the next candidates
                break
        if kids is not None:
            node = kids[i]
            while True:  # walk down to the term that holds this subtree's best key
                i += 1
                if i < len(kids):
                    push(heap, (kids[i].best, kids, i))  # type: ignore[misc]
                own = node.key
                if own is key:
                    break
                if own is not None:
                    push(heap, (own, None, 0))
                kids, i = node.kids, 0
                node = kids[0]
            kids = node.kids
            if kids:
                push(heap, (kids[0].best, kids, 0))  # type: ignore[misc]
    return out


def refresh(path: list[Node]) -> None:
    """Restore ``best`` and the order of ``kids`` after the key of ``path[-1]`` changed.

    ``path`` runs from the root to the changed node. Walks up, recomputing each node's best
    from its own key and its first child; a node whose subtree became empty is unlinked from
    its parent. Stops as soon as a node's best is unchanged. O(depth * fan-out) at worst.
    """
    for depth in range(len(path) - 1, -1, -1):
        node = path[depth]
        before = node.best
        best = node.key
        if node.kids:
            first = node.kids[0].best
            if best is None or (first is not None and first < best):
                best = first
        node.best = best
        if depth == 0:
            return
        parent = path[depth - 1]
        if best is None:
            del parent.children[node.label[0]]
            parent.kids.remove(node)
        elif best != before:
            parent.kids.remove(node)
            insort(parent.kids, node, key=_best)
        else:
            return


def common_length(a: str, b: str) -> int:
    """The length of the longest common prefix of ``a`` and ``b``."""
    if b.startswith(a):
        return len(a)
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _finish(node: Node) -> None:
    """Sort a node's children by their best key and set its own best."""
    kids = node.kids
    best = node.key
    if kids:
        if len(kids) > 1:
            kids.sort(key=_best)
        first = kids[0].best
        if best is None or (first is not None and first < best):
            best = first
    node.best = best


def build_sorted(terms: list[str], weights: dict[str, int], *, single_chars: bool) -> Node:
    """The trie of ``terms`` (sorted, distinct, non-empty), built bottom-up in one pass.

    Consecutive sorted terms share their longest common prefix, so the nodes of the previous
    term deeper than that prefix are complete: each is finished (:func:`_finish`) as the walk
    leaves it, children before parents, and only the new characters of each term make nodes.
    With ``single_chars`` every edge is one character (:class:`Trie`); otherwise the new part
    of a term is one edge (:class:`RadixTrie`), and an edge the term leaves in its middle is
    split. O(total characters), with no per-term cache updates.
    """
    root = Node()
    path = [root]  # the nodes of the previous term, root first
    depth = [0]  # how many characters of a term each of them ends at
    prev = ""
    for term in terms:
        shared = common_length(prev, term)
        while depth[-1] > shared:
            node = path.pop()
            depth.pop()
            _finish(node)
            if depth[-1] < shared:  # the term leaves node's edge in its middle: split it
                parent = path[-1]
                cut = shared - depth[-1]
                middle = Node(node.label[:cut])
                node.label = node.label[cut:]
                middle.children[node.label[0]] = node
                middle.kids.append(node)
                parent.children[middle.label[0]] = middle
                parent.kids[-1] = middle  # node was the last child added
                path.append(middle)
                depth.append(shared)
        parent = path[-1]
        rest = term[shared:]
        if single_chars:
            for char in rest:
                child = Node(char)
                parent.children[char] = child
                parent.kids.append(child)
                path.append(child)
                parent = child
            depth.extend(range(shared + 1, len(term) + 1))
        elif rest:
            parent = Node(rest)
            path[-1].children[rest[0]] = parent
            path[-1].kids.append(parent)
            path.append(parent)
            depth.append(len(term))
        parent.key = (-weights[term], len(term), term)
        prev = term
    for node in reversed(path):
        _finish(node)
    return root
