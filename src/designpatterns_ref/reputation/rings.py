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
2. its maximal cliques of at least ``min_size`` accounts (Bron-Kerbosch with pivoting);
3. a clique is flagged when its *insularity*, the share of the reviews its members received that
   came from other members, is at least ``insularity`` (default 0.6), and their mean internal
   rating is at least ``min_stars`` (4.5): honest strangers' triangles are rare and open to the
   town; rings are closed and unanimous.

The trade-off is the usual one between precision and recall: a lower ``insularity`` catches
rings that camouflage themselves with outside jobs, and also flags close-knit honest groups
(neighbours who keep hiring each other). :func:`precision_recall` measures both against planted
rings (:mod:`.market` generates a marketplace with them).

Complexity: O(R) to build the graph from R reviews; Bron-Kerbosch is exponential in the worst
case but the mutual graph is sparse (honest accounts rarely have repeat reciprocal edges).

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
    :class:`ReputationError`.

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


class RingDetector:
    """Flags cliques of accounts that review each other repeatedly and mostly each other."""

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
        for clique in maximal_cliques(dict(graph)):
            if len(clique) < self.min_size:
                continue
            inside = sum(directed[a, b] for a in clique for b in clique if a != b)
            total_received = sum(received[m] for m in clique)
            stars = sum(stars_of[a, b] for a in clique for b in clique if a != b)
            insular = inside / total_received
            mean = stars / inside
            if insular >= self.insularity and mean >= self.min_stars:
                flagged.append(Ring(tuple(sorted(clique)), insular, mean))
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
