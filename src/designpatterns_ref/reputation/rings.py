"""Review rings: reciprocal and clique reviewing in the review graph, found and measured.

Case study: Design a Free Local Gig Marketplace (docs/case-studies/gig-marketplace.md)

Review tokens (:mod:`.reviews`) make every review cost a completed job, but a group of friends
can "complete" jobs for one another and trade five-star reviews. Their trace in the review graph
is distinctive: the same few accounts review each other *both ways*, again and again, and most
of the praise they receive comes from inside the group.

:class:`RingDetector` looks for exactly that:

1. the *mutual graph*: an edge between two accounts that reviewed each other at least
   ``min_mutual`` times in each direction (default 1: a ring that trades a single fake job per
   pair must still be caught; raising it buys precision with recall);
2. its *groups*: two mutual pairs are in one group when they lie in a common triangle, and so
   on transitively (clique percolation with triangles: cliques of three or more that share a
   pair are merged), so a closed ring whose members skip some partners is still one group;
3. each group's *core*: members are dropped while one of them received less than half the
   ``insularity`` bar of its reviews from the others, so an honest account that traded with
   two members of a ring is not swept into it (nor can a ring dilute itself with one);
4. a core of at least ``min_size`` accounts is flagged when its *insularity*, the share of the
   reviews its members received that came from other members over the group's pairs, is at
   least ``insularity`` (default 0.6), and their mean internal rating is at least ``min_stars``
   (4.5): honest strangers' triangles are rare and open to the town; rings are closed and
   unanimous.

The trade-off is the usual one between precision and recall: a lower ``insularity`` catches
rings that camouflage themselves with outside jobs, and also flags close-knit honest groups
(neighbours who keep hiring each other). :func:`precision_recall` measures both against planted
rings (:mod:`.market` generates a marketplace with them).

Complexity: O(R) to build the graph from R reviews; finding every triangle takes O(sum over
mutual pairs of the smaller degree), at most O(R^1.5), whatever shape the accounts give the
graph (enumerating maximal cliques instead would take 3^(n/3) steps on n accounts that each skip
two partners); each core is peeled in O(pairs). :func:`maximal_cliques` is kept for
callers that want the cliques themselves; the detector does not use it.

>>> reviews = [(a, b, 5) for a in "xyz" for b in "xyz" if a != b] * 2
>>> RingDetector().rings(reviews)[0].members
('x', 'y', 'z')
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from designpatterns_ref.errors import shown
from designpatterns_ref.reputation.base import (
    ReputationError,
    ReputationTypeError,
    check_count,
    check_number,
)

__all__ = ["Ring", "RingDetector", "maximal_cliques", "precision_recall"]


@dataclass(frozen=True, slots=True)
class Ring:
    """A flagged group: its members, how insular it is, and its mean internal rating."""

    members: tuple[str, ...]
    insularity: float
    internal_stars: float


def maximal_cliques(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Every maximal clique of an undirected graph without self-loops (Bron-Kerbosch with
    pivoting); a graph that is not undirected, or lists a node as its own neighbour, raises
    :class:`ReputationError`. Exponential in the worst case (3^(n/3) maximal cliques on n
    nodes): do not run it on a graph that others shape.

    >>> sorted(sorted(c) for c in maximal_cliques({"a": {"b"}, "b": {"a"}, "c": set()}))
    [['a', 'b'], ['c']]
    """
    if not isinstance(graph, dict) or not all(
        isinstance(k, str) and isinstance(v, set) and all(isinstance(u, str) for u in v)
        for k, v in graph.items()
    ):
        raise ReputationTypeError(f"graph={shown(graph, 60)} must map str to sets of str")
    if any(u not in graph or k not in graph[u] for k, v in graph.items() for u in v):
        raise ReputationError("graph must be undirected: every neighbour a key, and back")
    loops = sorted(k for k, v in graph.items() if k in v)
    if loops:  # a node in its own neighbour set would hide cliques from the pivot rule
        raise ReputationError(f"graph must have no self-loops: {shown(loops[0], 60)} lists itself")
    found: list[frozenset[str]] = []
    stack: list[tuple[set[str], set[str], set[str]]] = [(set(), set(graph), set())]
    while stack:
        r, p, x = stack.pop()
        if not p and not x:
            found.append(frozenset(r))
            continue
        pivot = max(p | x, key=lambda u: (len(graph[u] & p), u))
        for v in sorted(p - graph[pivot]):
            stack.append((r | {v}, p & graph[v], x & graph[v]))
            p = p - {v}
            x = x | {v}
    return found


def _groups(graph: dict[str, set[str]]) -> list[list[tuple[str, str]]]:
    """The groups of an undirected graph, each as its list of edges ``(a, b)`` with ``a < b``.

    Two edges are in one group when they lie in a common triangle, and so on transitively
    (clique percolation with triangles: maximal cliques of three or more that share an edge are
    merged); an edge in no triangle is a group of two. Every edge is in exactly one group.

    Each triangle ``a < b < c`` is found once, from its edge ``(a, b)``, by looking through the
    smaller of the two neighbour sets: O(sum over edges of the smaller degree), at most
    O(E^1.5), with a union-find over the edges.
    """
    parent: dict[tuple[str, str], tuple[str, str]] = {
        (a, b): (a, b) for a in graph for b in graph[a] if a < b
    }

    def find(edge: tuple[str, str]) -> tuple[str, str]:
        root = edge
        while parent[root] != root:
            root = parent[root]
        while parent[edge] != root:  # path compression
            parent[edge], edge = root, parent[edge]
        return root

    for a, b in list(parent):
        smaller, larger = sorted((graph[a], graph[b]), key=len)
        for c in smaller:
            if c > b and c in larger:  # the triangle a < b < c: one group
                root = find((a, b))
                parent[find((a, c))] = root
                parent[find((b, c))] = root
    groups: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for edge in parent:
        groups[find(edge)].append(edge)
    return list(groups.values())


def _core(
    group: set[str],
    pairs: list[tuple[str, str]],
    directed: Counter[tuple[str, str]],
    received: Counter[str],
    share: float,
) -> set[str]:
    """The largest part of ``group`` in which every member received at least ``share`` of its
    reviews from the others in it (over the group's ``pairs``).

    Members below the bar are dropped, one at a time, until none is left. A member dropped is
    in no such part: what the others give it only shrinks as members go, so the order does not
    matter. Each pair is looked at once per side: O(pairs).
    """
    gave: dict[str, list[tuple[str, int]]] = defaultdict(list)  # giver -> (subject, reviews)
    inside: Counter[str] = Counter()
    for a, b in pairs:
        gave[a].append((b, directed[a, b]))
        gave[b].append((a, directed[b, a]))
        inside[b] += directed[a, b]
        inside[a] += directed[b, a]
    core = set(group)
    low = [m for m in group if inside[m] < share * received[m]]
    dropped = set(low)
    while low:
        member = low.pop()
        core.discard(member)
        for subject, n in gave[member]:
            if subject not in dropped:
                inside[subject] -= n
                if inside[subject] < share * received[subject]:
                    dropped.add(subject)
                    low.append(subject)
    return core


class RingDetector:
    """Flags groups of accounts that review each other repeatedly and mostly each other."""

    def __init__(
        self,
        *,
        min_mutual: int = 1,
        min_size: int = 3,
        insularity: float = 0.6,
        min_stars: float = 4.5,
    ) -> None:
        self.min_mutual = check_count("min_mutual", min_mutual, limit=10**6)
        self.min_size = check_count("min_size", min_size, limit=10**6)
        if self.min_mutual < 1 or self.min_size < 2:
            raise ReputationError(
                f"min_mutual={shown(min_mutual)} must be at least 1 and "
                f"min_size={shown(min_size)} at least 2"
            )
        self.insularity = check_number("insularity", insularity, lo=0.0, hi=1.0)
        self.min_stars = check_number("min_stars", min_stars, lo=1.0, hi=5.0)

    def rings(self, reviews: Iterable[tuple[str, str, int]]) -> list[Ring]:
        """The flagged rings among ``(reviewer, subject, stars)`` reviews, most insular first."""
        directed: Counter[tuple[str, str]] = Counter()
        stars_of: dict[tuple[str, str], int] = defaultdict(int)
        received: Counter[str] = Counter()
        try:
            items = iter(reviews)
        except TypeError:
            raise ReputationTypeError(f"reviews={shown(reviews, 60)} must be an iterable") from None
        for item in items:
            if not isinstance(item, tuple) or len(item) != 3:
                raise ReputationTypeError(
                    f"review={shown(item, 60)} must be a (reviewer, subject, stars) tuple"
                )
            a, b, s = item
            if not isinstance(a, str) or not isinstance(b, str):
                raise ReputationTypeError(f"review={shown(item, 60)}: ids must be str")
            if isinstance(s, bool) or not isinstance(s, int) or not 1 <= s <= 5:
                raise ReputationError(f"review={shown(item, 60)}: stars must be an int from 1 to 5")
            directed[a, b] += 1
            stars_of[a, b] += s
            received[b] += 1
        graph: dict[str, set[str]] = defaultdict(set)
        for (a, b), n in directed.items():
            if a < b and n >= self.min_mutual and directed.get((b, a), 0) >= self.min_mutual:
                graph[a].add(b)
                graph[b].add(a)
        flagged = []
        for pairs in _groups(graph):
            group = _core(
                {m for pair in pairs for m in pair}, pairs, directed, received, self.insularity / 2
            )
            if len(group) < self.min_size:
                continue
            inner = [(a, b) for a, b in pairs if a in group and b in group]
            inside = sum(directed[a, b] + directed[b, a] for a, b in inner)
            stars = sum(stars_of[a, b] + stars_of[b, a] for a, b in inner)
            insular = inside / sum(received[m] for m in group)
            mean = stars / inside
            if insular >= self.insularity and mean >= self.min_stars:
                flagged.append(Ring(tuple(sorted(group)), insular, mean))
        flagged.sort(key=lambda r: (-r.insularity, r.members))
        return flagged

    def flagged_accounts(self, reviews: Iterable[tuple[str, str, int]]) -> set[str]:
        """Every account in some flagged ring."""
        return {m for ring in self.rings(reviews) for m in ring.members}


def precision_recall(flagged: set[str], planted: set[str]) -> tuple[float, float]:
    """``(precision, recall)`` of flagged accounts against the planted ring members.

    Precision is 1.0 when nothing is flagged, recall 1.0 when nothing was planted.

    >>> precision_recall({"a", "b", "x"}, {"a", "b", "c", "d"})
    (0.6666666666666666, 0.5)
    """
    if not isinstance(flagged, set | frozenset) or not isinstance(planted, set | frozenset):
        raise ReputationTypeError("flagged and planted must be sets of account ids")
    hits = len(flagged & planted)
    precision = hits / len(flagged) if flagged else 1.0
    recall = hits / len(planted) if planted else 1.0
    return precision, recall
