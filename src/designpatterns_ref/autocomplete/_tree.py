"""Nodes with subtree maxima and sorted children, and the best-first search over them.

Shared by :class:`~designpatterns_ref.autocomplete.trie.Trie` (one character per edge) and
:class:`~designpatterns_ref.autocomplete.radix.RadixTrie` (a string per edge). Every node
keeps ``best``, the rank key of the best term in its subtree, and ``kids``, its children sorted
by their ``best``. The best term below a node is then found by walking down first children, and
the search keeps a heap of "the rest": the next sibling at every level and the terms passed on
the way. Each result costs one walk of the trie's depth, whatever the fan-out.

A node is lean, since a trie holds hundreds of thousands of them: a leaf shares one empty
tuple for its ``kids``, and only a node with :data:`FANOUT` children or more indexes them in a
``children`` dict by first character (most nodes have one child, where a dict would cost more
time and memory than scanning a few kids). :func:`child_of`, :func:`adopt`, :func:`disown` and
:func:`swap` keep the two views in step.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Sequence
from functools import partial
from heapq import heapify, heappop, heappush
from itertools import compress, count
from operator import attrgetter, itemgetter, ne, neg
from typing import Any, Self, TypeVar

from designpatterns_ref.autocomplete.base import RankKey

_best = attrgetter("best")
_term = itemgetter(2)

#: From this many children on, a node indexes them in a dict (below it, a scan is cheaper).
FANOUT = 8

#: The ``kids`` of every leaf: one shared empty tuple, never a list to append to.
NO_KIDS: tuple[Any, ...] = ()


class Branch:
    """What every trie node has: its edge ``label``, its ``kids`` and the ``key`` of the term
    that ends here, if any (the kids indexed by first character in ``children`` from
    :data:`FANOUT` on). The helpers below work on any subclass."""

    __slots__ = ("children", "key", "kids", "label")

    label: str
    kids: list[Self] | tuple[Self, ...]
    children: dict[str, Self] | None
    key: RankKey | None


class Node(Branch):
    """A node of :class:`Trie` or :class:`RadixTrie`: kids sorted by ``best``, the rank key of
    the best term in the subtree (``None``: empty)."""

    __slots__ = ("best",)

    def __init__(self, label: str = "", key: RankKey | None = None) -> None:
        self.label = label
        self.kids = NO_KIDS  # the children, best subtree first
        self.children = None
        self.key = key  # this node's own term, if one ends here
        self.best = key  # the best key in the subtree (None: empty)


B = TypeVar("B", bound=Branch)


def child_of(node: B, char: str) -> B | None:
    """The child of ``node`` whose label starts with ``char``, or ``None``."""
    children = node.children
    if children is not None:
        return children.get(char)
    for kid in node.kids:
        if kid.label[0] == char:
            return kid
    return None


def walk_chars(root: B, prefix: str) -> B | None:
    """The node of ``prefix`` in a character trie (one character per label), or ``None``:
    :func:`child_of` once per character, inlined (it is every query's first step)."""
    node = root
    for char in prefix:
        children = node.children
        if children is not None:
            found = children.get(char)
            if found is None:
                return None
            node = found
        else:
            for kid in node.kids:
                if kid.label == char:
                    node = kid
                    break
            else:
                return None
    return node


def adopt(node: B, kid: B) -> None:
    """Add ``kid`` last among the kids of ``node`` (the caller restores their order)."""
    kids = node.kids
    if isinstance(kids, tuple):
        node.kids = kids = [kid]
    else:
        kids.append(kid)
    if node.children is not None:
        node.children[kid.label[0]] = kid
    elif len(kids) >= FANOUT:
        node.children = {k.label[0]: k for k in kids}


def disown(node: B, kid: B) -> None:
    """Remove ``kid`` from the children of ``node``."""
    assert isinstance(node.kids, list)
    node.kids.remove(kid)
    if node.children is not None:
        del node.children[kid.label[0]]


def swap(node: B, old: B, new: B) -> None:
    """Put ``new`` in the place of ``old`` (same first character; for a :class:`Node`, the
    same ``best``, so the same place)."""
    assert isinstance(node.kids, list)
    node.kids[node.kids.index(old)] = new
    if node.children is not None:
        node.children[new.label[0]] = new


Entry = tuple[RankKey, Sequence[Node] | None, int]


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
    kids: Sequence[Node] | None
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
            disown(parent, node)
        elif best != before:
            assert isinstance(parent.kids, list)
            parent.kids.remove(node)
            insort(parent.kids, node, key=_best)
        else:
            return


def common_length(a: str, b: str) -> int:
    """The length of the longest common prefix of ``a`` and ``b``.

    C-level: the index of the first pair of characters that differ, else the shorter length.
    """
    return next(compress(count(), map(ne, a, b)), min(len(a), len(b)))


def sorted_keys(
    terms: list[str], weights: list[int]
) -> tuple[dict[str, int], list[str], list[RankKey]]:
    """From checked ``terms`` and ``weights`` (a later duplicate wins): the weight table, the
    distinct terms in code-point order, and their rank keys (:func:`~.base.rank_key`) in that
    order, in C-level passes.

    The keys are made in the order given and sorted by term, rather than the terms sorted and
    their weights looked up: a lookup per term in a large dict is a cache miss.
    """
    table = dict(zip(terms, weights, strict=True))
    keys: list[RankKey] = list(zip(map(neg, weights), map(len, terms), terms, strict=True))
    if len(table) != len(keys):  # duplicates: the last key of each term
        keys = list(dict(zip(terms, keys, strict=True)).values())
    keys.sort(key=_term)
    return table, list(map(_term, keys)), keys


def close(node: Node, links: Sequence[Node]) -> None:
    """Close a node whose subtree is complete and which branched or holds its own term (see
    :func:`build_chars`): sort its kids by their best key, index them in a dict from
    :data:`FANOUT` on, set its best, and give that best to the ``links`` right above it (they
    have the same subtree) when it changed."""
    before = node.best
    kids = node.kids
    if len(kids) > 1:
        kids.sort(key=_best)  # type: ignore[union-attr]  # kids, once any, are a list
        if len(kids) >= FANOUT:
            node.children = {kid.label[0]: kid for kid in kids}
    best = kids[0].best
    own = node.key
    if own is not None and own < best:  # type: ignore[operator]
        best = own
    if best is not before:
        node.best = best
        for link in links:
            link.best = best


def _new_kids(node: B) -> list[B]:
    """Give ``node`` an empty list of kids with room for one, made before the kid that goes
    into it.

    The order matters to the cyclic collector, which scans containers in the order they were
    made: one scanned before anything that refers to it is first set aside as unreachable,
    then moved back when its referrer is scanned. Made after its kid, every list would send
    that kid through the detour, and a full collection of a 300,000-word trie would take four
    times as long (0.65 s against 0.17 s).
    """
    kids: list[B] = [node]  # room for one kid, no more (most nodes get one): the pop keeps it
    kids.pop()
    node.kids = kids
    return kids


def build_chars(terms: list[str], keys: list[RankKey]) -> Node:
    """The character trie of ``terms`` (sorted, distinct, non-empty; ``keys`` their rank
    keys), built top-down in one pass over the terms.

    ``path[d]`` is the node of the previous term's first ``d`` characters. The next term
    shares its first ``shared`` characters with it, so the deeper nodes of that path are
    complete, and only the new characters of the term make nodes. Most nodes need no work
    once made: a *link*, a node without a term of its own made with one kid, gets that term's
    key as its best, which stays right as long as its subtree is the one chain down to that
    term. Only a node that branched or holds its own term is *closed* (:func:`close`) when
    the walk leaves it, children before parents (``marks`` keeps the depths of those on the
    path, the root's too); it passes its new best to the links right above it, which share
    its subtree. Links above the ``shared`` characters wait: the node there has just
    branched, and will pass its own best to them when it is closed. O(total characters), no
    walk from the root, no Python call per node (nodes are made by ``object.__new__`` and their
    slots set in the loop: 0.07 s less for 642,194 nodes than ``Node(...)`` each).
    """
    root = Node()
    new = partial(object.__new__, Node)
    path = [root]
    push = path.append
    marks = [0]  # the depths in path of the nodes to close, the root first
    prev = ""
    for term, key in zip(terms, keys, strict=True):
        if term.startswith(prev):  # the previous term's node (a leaf) is this one's parent
            shared = len(prev)
            kids = _new_kids(path[-1])  # the list before the kid: see _new_kids
            if shared:  # (the root, the first term's parent, is marked already)
                marks.append(shared)
        else:  # sorted, so the two differ at a character both have: no bounds to check
            shared = 0
            while prev[shared] == term[shared]:
                shared += 1
            depth = marks[-1]
            while depth > shared:  # close the marked nodes below the shared part: inline,
                marks.pop()  # what close(path[depth], path[above + 1 : depth]) does
                above = marks[-1]
                node = path[depth]
                before = node.best
                kids = node.kids  # type: ignore[assignment]
                if len(kids) > 1:
                    kids.sort(key=_best)
                    if len(kids) >= FANOUT:
                        node.children = {kid.label[0]: kid for kid in kids}
                best = kids[0].best
                own = node.key
                if own is not None and own < best:  # type: ignore[operator]
                    best = own
                if best is not before:
                    node.best = best
                    for link in path[max(above, shared) + 1 : depth]:
                        link.best = best
                depth = above
            del path[shared + 1 :]
            kids = path[shared].kids  # type: ignore[assignment]  # it has a kid: a list
            if depth != shared:  # it branches here: to be closed
                marks.append(shared)
        for char in term[shared:-1]:  # the links: one kid each, best the term's key
            kid = new()
            kid.label = char
            kids.append(kid)
            kid.kids = kids = [kid]  # the list after its node, before its kid (_new_kids)
            kids.pop()  # room for one kid, no more
            kid.children = None
            kid.key = None
            kid.best = key
            push(kid)
        kid = new()  # the term's node
        kid.label = term[-1]
        kid.kids = NO_KIDS
        kid.children = None
        kid.key = kid.best = key
        kids.append(kid)
        push(kid)
        prev = term
    if terms:  # close what is left of the path, the root last
        while marks:
            depth = marks.pop()
            close(path[depth], path[(marks[-1] if marks else 0) + 1 : depth])
    return root


def build_edges(terms: list[str], keys: list[RankKey]) -> Node:
    """The radix trie of ``terms`` (as :func:`build_chars`), bottom-up in one pass.

    The new part of each term is one edge; an edge that a later term leaves in its middle is
    split there, once, so every node is made once. ``path`` holds the nodes of the previous
    term, root first, and ``ends`` the string each of them ends at (a term's node ends at the
    term, a split at the part shared). The nodes the next term does not start with are
    complete: they are closed and left, a C-level ``startswith`` each, and only the edge the
    term leaves in its middle is compared character by character, from its start (most
    shared characters belong to nodes the term keeps, so they are never compared one by one).
    """
    root = leaf = Node()  # leaf: the previous term's node (the root before the first term)
    new = partial(object.__new__, Node)
    path = [root]  # the nodes of the previous term, root first
    ends = [""]  # the string each of them ends at
    push, pop, push_end, pop_end = path.append, path.pop, ends.append, ends.pop
    prev = ""
    for term, key in zip(terms, keys, strict=True):
        if term.startswith(prev):  # the previous term's node is this one's parent
            shared = len(prev)
            leaf.kids = kids = [leaf]  # its first kid: the list before the kid (_new_kids)
            kids.pop()
        else:
            pop()  # the previous term's node: a leaf, complete as made
            pop_end()
            node = leaf
            end = ends[-1]
            while not term.startswith(end):  # close each node the term leaves, inline
                node = pop()
                pop_end()
                kids = node.kids  # type: ignore[assignment]  # kids, once any, a list
                if len(kids) == 2:  # the most common fan-out: one comparison, no sort
                    best, other = kids[0].best, kids[1].best
                    if other < best:  # type: ignore[operator]
                        kids.reverse()
                        best = other
                else:
                    if len(kids) > 2:
                        kids.sort(key=_best)
                        if len(kids) >= FANOUT:
                            node.children = {kid.label[0]: kid for kid in kids}
                    best = kids[0].best
                own = node.key
                if own is None or best < own:  # type: ignore[operator]
                    node.best = best
                end = ends[-1]
            # node is the last left: does the term share a part of its edge?
            depth = shared = len(end)
            while prev[shared] == term[shared]:  # they differ at a character both have
                shared += 1
            kids = path[-1].kids  # type: ignore[assignment]  # node's parent: it has kids
            if shared > depth:  # the term leaves node's edge in its middle: split it
                cut = shared - depth
                middle = new()  # Node(node.label[:cut]), its slots set here (see build_chars)
                middle.label = node.label[:cut]
                middle.kids = [node]
                middle.children = None
                middle.key = None
                middle.best = node.best
                node.label = node.label[cut:]
                kids[-1] = middle  # node was the last child
                kids = middle.kids
                push(middle)
                push_end(term[:shared])
        leaf = new()  # Node(term[shared:], key), its slots set here (see build_chars)
        leaf.label = term[shared:]
        leaf.kids = NO_KIDS
        leaf.children = None
        leaf.key = leaf.best = key
        kids.append(leaf)
        push(leaf)
        push_end(term)
        prev = term
    for node in reversed(path[:-1]):
        close(node, [])
    return root
