"""Review tokens, the clique finder against brute force, the ring detector's measured quality."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.reputation import (
    ReputationError,
    ReviewBook,
    RingDetector,
    generate_marketplace,
    maximal_cliques,
    precision_recall,
)


def test_one_review_per_side_per_job() -> None:
    book = ReviewBook(rng=random.Random(3))
    client_token, provider_token = book.complete_job("j1", client="ana", provider="bo")
    assert book.review(client_token, stars=5).subject == "bo"
    assert book.review(provider_token, stars=4).subject == "ana"
    with pytest.raises(ReputationError, match="already used"):
        book.review(client_token, stars=1)
    with pytest.raises(ReputationError, match="no completed job"):
        book.review("guessed-token", stars=5)
    with pytest.raises(ReputationError, match="already recorded"):
        book.complete_job("j1", client="ana", provider="bo")
    with pytest.raises(ReputationError, match="themselves"):
        book.complete_job("j2", client="ana", provider="ana")
    assert book.stats("bo").counts == (0, 0, 0, 0, 1) and len(book.reviews) == 2


def test_unseeded_tokens_are_unpredictable_and_distinct() -> None:
    book = ReviewBook()
    tokens = [t for i in range(200) for t in book.complete_job(f"j{i}", client="a", provider="b")]
    assert len(set(tokens)) == 400 and all(len(t) >= 20 for t in tokens)


def _brute_cliques(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    nodes = sorted(graph)
    cliques = [
        frozenset(s)
        for r in range(1, len(nodes) + 1)
        for s in itertools.combinations(nodes, r)
        if all(b in graph[a] for a, b in itertools.combinations(s, 2))
    ]
    return {c for c in cliques if not any(c < d for d in cliques)}


@settings(max_examples=100)
@given(st.integers(1, 8), st.sets(st.tuples(st.integers(0, 7), st.integers(0, 7))))
def test_bron_kerbosch_equals_brute_force(n: int, edges: set[tuple[int, int]]) -> None:
    graph: dict[str, set[str]] = {str(i): set() for i in range(n)}
    for a, b in edges:
        if a != b and a < n and b < n:
            graph[str(a)].add(str(b))
            graph[str(b)].add(str(a))
    assert set(maximal_cliques(graph)) == _brute_cliques(graph)


@pytest.mark.parametrize(
    "graph", [{"a": {"a"}}, {"a": {"a", "b"}, "b": {"a"}}, {"b": {"a"}, "a": {"b", "a"}}]
)
def test_a_node_listed_as_its_own_neighbour_is_refused(graph: dict[str, set[str]]) -> None:
    """A self-loop hid cliques from the pivot rule ({"a": {"a", "b"}, "b": {"a"}} gave no
    clique at all); it is refused, naming the node, and the graph is left as it was."""
    before = {k: set(v) for k, v in graph.items()}
    with pytest.raises(ReputationError, match="self-loops: 'a'"):
        maximal_cliques(graph)
    assert graph == before


def test_a_ring_is_found_and_honest_strangers_are_not() -> None:
    ring = [(a, b, 5) for a in "xyz" for b in "xyz" if a != b]
    honest = [("x", "p", 3), ("p", "q", 4), ("q", "p", 5), ("p", "x", 4)]
    assert RingDetector().flagged_accounts(ring + honest) == {"x", "y", "z"}
    # the same triangle, but open to the town: most of its praise comes from outside
    town = [(f"t{i}", m, 5) for i in range(10) for m in "xyz"]
    assert RingDetector().flagged_accounts(ring + town) == set()
    # and a mixed-rating triangle is not unanimous enough
    mixed = [(a, b, 3) for a in "xyz" for b in "xyz" if a != b]
    assert RingDetector().flagged_accounts(mixed) == set()


def test_precision_and_recall_on_a_generated_marketplace() -> None:
    market = generate_marketplace(seed=7)  # 2,000 users, 10,000 jobs, 20 rings, 20 groups
    flagged = RingDetector().flagged_accounts(market.reviews)
    precision, recall = precision_recall(flagged, market.ring_members)
    assert recall >= 0.9 and precision >= 0.85, (precision, recall)
    neighbours = {m for g in market.neighbours for m in g}
    assert flagged - market.ring_members <= neighbours  # false alarms are the hard negatives
    strict = RingDetector(insularity=0.8).flagged_accounts(market.reviews)
    assert strict <= flagged  # the same cliques, a higher bar
    assert precision_recall(strict, market.ring_members)[1] <= recall


def test_precision_recall_by_hand() -> None:
    assert precision_recall({"a", "b", "x"}, {"a", "b", "c", "d"}) == (2 / 3, 0.5)
    assert precision_recall(set(), {"a"}) == (1.0, 0.0)
    assert precision_recall(set(), set()) == (1.0, 1.0)
