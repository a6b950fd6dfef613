"""Bad input: the family's error, naming the argument, and nothing changed."""

from __future__ import annotations

import copy
import math
import random

import pytest

from designpatterns_ref.reputation import (
    DecayingRating,
    Marketplace,
    Matcher,
    Provider,
    ReputationError,
    Request,
    ReviewBook,
    RingDetector,
    StarCounts,
    bayesian_average,
    rank,
    star_lower_bound,
    wilson_lower_bound,
)

HOSTILE = [None, True, math.nan, math.inf, 10**400, "", "\ud800", "x" * 300, [], b"x"]


@pytest.mark.parametrize("value", [*HOSTILE, -1])
def test_formulas_refuse(value: object) -> None:
    for call in (
        lambda: bayesian_average(StarCounts(), prior_mean=value),  # type: ignore[arg-type]
        lambda: bayesian_average(value),  # type: ignore[arg-type]
        lambda: wilson_lower_bound(value, 3),  # type: ignore[arg-type]
        lambda: wilson_lower_bound(1, value),  # type: ignore[arg-type]
        lambda: star_lower_bound(value),  # type: ignore[arg-type]
        lambda: StarCounts.of([value]),  # type: ignore[list-item]
        lambda: rank({"a": StarCounts()}, value),  # type: ignore[arg-type]
    ):
        with pytest.raises(ReputationError):
            call()


def test_positive_cannot_exceed_n() -> None:
    with pytest.raises(ReputationError, match="positive=3 must not exceed n=2"):
        wilson_lower_bound(3, 2)


@pytest.mark.parametrize("value", [*HOSTILE, 0, 6, 4.0])
def test_a_refused_review_spends_nothing(value: object) -> None:
    book = ReviewBook(rng=random.Random(1))
    token, _ = book.complete_job("j", client="a", provider="b")
    before = (copy.deepcopy(book.reviews), dict(book.counts))
    with pytest.raises(ReputationError, match="stars"):
        book.review(token, stars=value)  # type: ignore[arg-type]
    assert (book.reviews, dict(book.counts)) == before
    assert book.review(token, stars=5).stars == 5  # the token is still good


@pytest.mark.parametrize("value", HOSTILE)
def test_matching_refuses_and_keeps_its_state(value: object) -> None:
    m = Matcher()
    m.add_provider(Provider("p", 52.0, 4.0, frozenset({"x"}), ((0.0, 10.0),)))
    before = (dict(m.providers), dict(m.counts), dict(m.explorations), dict(m.index.points))
    for call in (
        lambda: m.add_provider(value),  # type: ignore[arg-type]
        lambda: m.set_reputation("p", value),  # type: ignore[arg-type]
        lambda: m.set_reputation(value, StarCounts()),  # type: ignore[arg-type]
        lambda: m.match(Request(52.0, 4.0, "x", 1.0, 2.0), k=value),  # type: ignore[arg-type]
        lambda: Request(value, 4.0, "x", 1.0, 2.0),  # type: ignore[arg-type]
        lambda: Provider("p", 52.0, value, frozenset(), ()),  # type: ignore[arg-type]
    ):
        with pytest.raises(ReputationError):
            call()
    assert (dict(m.providers), dict(m.counts), dict(m.explorations), dict(m.index.points)) == before


def test_windows_and_requests_must_run_forwards() -> None:
    with pytest.raises(ReputationError, match="must start before it ends"):
        Provider("p", 0.0, 0.0, frozenset(), ((5.0, 5.0),))
    with pytest.raises(ReputationError, match=r"start=3\.0 must be before end=2\.0"):
        Request(0.0, 0.0, "x", 3.0, 2.0)


@pytest.mark.parametrize("value", HOSTILE)
def test_decay_and_ring_detector_refuse(value: object) -> None:
    r = DecayingRating(half_life=10.0)
    r.add(4, at=0.0)
    before = (r.weight, r.total, r.count, r.origin)
    with pytest.raises(ReputationError):
        r.add(5, at=value)  # type: ignore[arg-type]
    with pytest.raises(ReputationError):
        r.add(value, at=1.0)  # type: ignore[arg-type]
    assert (r.weight, r.total, r.count, r.origin) == before
    with pytest.raises(ReputationError):
        RingDetector(insularity=value)  # type: ignore[arg-type]
    with pytest.raises(ReputationError):
        RingDetector().rings([("a", "b", value)])  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("planted", [1]),
        ("planted", 5),
        ("planted", [{2}]),  # a one-item set: its repr (the test id) is the same in every process
        ("neighbours", [["a", "b"]]),
        ("reviews", 5),
        ("reviews", [("a", "b", 9)]),
        ("reviews", [("a", None, 5)]),
        ("quality", {"a": math.nan}),
        ("quality", [("a", 3.0)]),
    ],
    ids=repr,
)
def test_a_hand_built_marketplace_is_checked_when_made(field: str, value: object) -> None:
    """A marketplace built to measure the detector on other data is refused when made, naming
    the bad field, not deep inside a later measurement (a TypeError from ``ring_members``)."""
    with pytest.raises(ReputationError, match=r"(planted|neighbours|reviews?|quality)\b"):
        Marketplace(**{field: value})  # type: ignore[arg-type]
    ok = Marketplace([("a", "b", 5)], [{"a", "b"}], [frozenset({"c"})], {"a": 4.0})
    assert ok.ring_members == {"a", "b"}
