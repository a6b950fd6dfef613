"""Review tokens, the clique finder against brute force, the ring detector's measured quality."""

from __future__ import annotations

import itertools
import random
import time
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.reputation import (
    ReputationError,
    ReviewBook,
    Ring,
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


def _brute_rings(reviews: list[tuple[str, str, int]], d: RingDetector) -> set[Ring]:
    """The detector's definition applied directly, on a few accounts: every triangle, every
    subset of a group."""
    directed = Counter((a, b) for a, b, _ in reviews)
    stars = Counter[tuple[str, str]]()
    for a, b, s in reviews:
        stars[a, b] += s
    received = Counter(b for _, b, _ in reviews)
    nodes = sorted({x for a, b, _ in reviews for x in (a, b)})
    mutual = {
        (a, b)
        for a, b in itertools.combinations(nodes, 2)
        if directed[a, b] >= d.min_mutual and directed[b, a] >= d.min_mutual
    }
    groups = [{pair} for pair in mutual]
    for a, b, c in itertools.combinations(nodes, 3):  # pairs of a triangle: one group
        sides = {(a, b), (a, c), (b, c)}
        if sides <= mutual:
            touched = [g for g in groups if g & sides]
            groups = [g for g in groups if not g & sides] + [set().union(*touched)]
    found = set()
    for pairs in groups:
        sides = [side for p in pairs for side in (p, p[::-1])]  # (giver, subject), both ways

        def given(m: str, part: set[str], sides: list[tuple[str, str]] = sides) -> int:
            return sum(directed[x, y] for x, y in sides if y == m and x in part)

        members = {m for p in pairs for m in p}
        parts = [
            set(part)
            for r in range(len(members) + 1)
            for part in itertools.combinations(sorted(members), r)
            if all(given(m, set(part)) >= d.insularity / 2 * received[m] for m in part)
        ]
        core = max(parts, key=len)
        assert all(part <= core for part in parts)  # the largest part holds every other
        inside = sum(given(m, core) for m in core)
        if len(core) < d.min_size or inside == 0:
            continue
        score = sum(stars[x, y] for x, y in sides if {x, y} <= core)
        insular = inside / sum(received[m] for m in core)
        if insular >= d.insularity and score / inside >= d.min_stars:
            found.add(Ring(tuple(sorted(core)), insular, score / inside))
    return found


_ACCOUNT = st.sampled_from("abcdefg")


@settings(max_examples=300, deadline=None)
@given(
    st.sets(st.tuples(_ACCOUNT, _ACCOUNT), max_size=18),  # traded five stars both ways
    st.lists(st.tuples(_ACCOUNT, _ACCOUNT, st.sampled_from([3, 5])), max_size=20),
    st.integers(1, 2),
    st.integers(2, 4),
    st.sampled_from([0.0, 0.4, 0.6, 1.0]),
)
def test_the_detector_equals_its_definition_applied_by_brute_force(
    traded: set[tuple[str, str]],
    extra: list[tuple[str, str, int]],
    min_mutual: int,
    min_size: int,
    insularity: float,
) -> None:
    both_ways = [(x, y, 5) for a, b in traded for x, y in ((a, b), (b, a))]
    reviews = [(a, b, s) for a, b, s in both_ways + extra if a != b]
    d = RingDetector(min_mutual=min_mutual, min_size=min_size, insularity=insularity)
    found = d.rings(reviews)
    assert set(found) == _brute_rings(reviews, d) and len(found) == len(set(found))


def test_a_closed_ring_whose_members_skip_a_partner_is_flagged() -> None:
    """Each member skips one partner: no clique holds the ring, and each clique's members got
    half their reviews from the rest of the ring, which counted as outside praise."""
    for n in (6, 8, 12):
        accounts = [f"r{i}" for i in range(n)]
        reviews = [
            (a, b, 5)
            for i, a in enumerate(accounts)
            for j, b in enumerate(accounts)
            if i != j and i // 2 != j // 2
        ]
        [ring] = RingDetector().rings(reviews)
        assert ring == Ring(tuple(sorted(accounts)), 1.0, 5.0)


def test_an_honest_account_that_traded_with_two_ring_members_is_not_swept_in() -> None:
    ring = [(a, b, 5) for a in "vwxyz" for b in "vwxyz" if a != b]
    popular = [("p", "v", 5), ("v", "p", 5), ("p", "w", 5), ("w", "p", 5)]
    town = [(f"t{i}", "p", 4) for i in range(50)]  # p is reviewed mostly by the town
    assert RingDetector().flagged_accounts(ring + popular + town) == set("vwxyz")


def _moon_moser(n: int) -> list[tuple[str, str, int]]:
    """n accounts in groups of three; everyone trades with everyone outside their group: the
    graph with the most maximal cliques, 3^(n/3)."""
    return [(f"a{i}", f"a{j}", 5) for i in range(n) for j in range(n) if i // 3 != j // 3]


class _CountingSet(set[str]):
    lookups = 0

    def __contains__(self, item: object) -> bool:
        _CountingSet.lookups += 1
        return super().__contains__(item)


def test_the_group_finder_does_bounded_work_on_the_worst_clique_graph() -> None:
    """3^20 maximal cliques (the clique enumeration took 22 s of CPU at 36 accounts, x13 for
    every 6 more); the triangle search looks at most the smaller degree's worth per pair."""
    from designpatterns_ref.reputation.rings import _groups

    n = 60
    graph = {f"a{i}": _CountingSet(f"a{j}" for j in range(n) if i // 3 != j // 3) for i in range(n)}
    _CountingSet.lookups = 0
    [group] = _groups(dict(graph))
    bound = sum(min(len(graph[a]), len(graph[b])) for a in graph for b in graph[a] if a < b)
    assert _CountingSet.lookups <= bound == (n * (n - 3) // 2) * (n - 3)
    assert {m for pair in group for m in pair} == set(graph)
    started = time.process_time()
    [ring] = RingDetector().rings(_moon_moser(n))
    assert len(ring.members) == n and ring.insularity == 1.0
    assert time.process_time() - started < 30  # seconds of CPU: a generous backstop only


def test_precision_recall_by_hand() -> None:
    assert precision_recall({"a", "b", "x"}, {"a", "b", "c", "d"}) == (2 / 3, 0.5)
    assert precision_recall(set(), {"a"}) == (1.0, 0.0)
    assert precision_recall(set(), set()) == (1.0, 1.0)
