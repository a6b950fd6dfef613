"""Sequences against plain models: the review book against a dict of jobs, a set of spent
tokens and a list of reviews; the running decayed rating against the published formula in
60-digit decimals; every score of a provider against its formula after each review.

Refused calls (a repeated job, a self-hire, an unknown or spent token, a bad star count) must
leave the book exactly as it was.
"""

from __future__ import annotations

import copy
import decimal
import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from designpatterns_ref.reputation import (
    DecayingRating,
    ReputationError,
    ReviewBook,
    StarCounts,
    bayesian_average,
    scorer,
    star_lower_bound,
    wilson_lower_bound,
)

PEOPLE = ("ana", "bo", "cy")


class ReviewBookModel(RuleBasedStateMachine):
    tokens = Bundle("tokens")

    def __init__(self) -> None:
        super().__init__()
        self.book = ReviewBook(rng=random.Random(0))
        self.jobs: dict[str, tuple[str, str]] = {}
        self.token_of: dict[str, tuple[str, str, str]] = {}
        self.spent: set[str] = set()
        self.reviews: list[tuple[str, str, str, int, float]] = []

    def _snapshot(self) -> object:
        return (
            dict(self.book.jobs),
            list(self.book.reviews),
            dict(self.book.counts),
        )

    @rule(
        target=tokens,
        job=st.sampled_from(["j1", "j2", "j3", "j4"]),
        client=st.sampled_from(PEOPLE),
        provider=st.sampled_from(PEOPLE),
    )
    def complete_job(self, job: str, client: str, provider: str) -> tuple[str, ...]:
        if client == provider or job in self.jobs:
            before = self._snapshot()
            with pytest.raises(ReputationError):
                self.book.complete_job(job, client=client, provider=provider)
            assert self._snapshot() == before
            return ()
        mine, theirs = self.book.complete_job(job, client=client, provider=provider)
        assert mine != theirs and mine not in self.token_of and theirs not in self.token_of
        self.jobs[job] = (client, provider)
        self.token_of[mine] = (job, client, provider)
        self.token_of[theirs] = (job, provider, client)
        return (mine, theirs)

    @rule(
        pair=tokens,
        side=st.sampled_from([0, 1]),
        stars=st.sampled_from([1, 3, 5, 0, 6]),
        at=st.sampled_from([0.0, 1.5]),
    )
    def review(self, pair: tuple[str, ...], side: int, stars: int, at: float) -> None:
        token = pair[side] if pair else "no-such-token"
        if token not in self.token_of or token in self.spent or not 1 <= stars <= 5:
            before = self._snapshot()
            with pytest.raises(ReputationError):
                self.book.review(token, stars=stars, at=at)
            assert self._snapshot() == before
            return
        got = self.book.review(token, stars=stars, at=at)
        job, reviewer, subject = self.token_of[token]
        self.spent.add(token)
        self.reviews.append((job, reviewer, subject, stars, at))
        assert (got.job_id, got.reviewer, got.subject, got.stars, got.at) == self.reviews[-1]

    @invariant()
    def the_book_matches_the_model(self) -> None:
        assert self.book.jobs == self.jobs
        assert [
            (r.job_id, r.reviewer, r.subject, r.stars, r.at) for r in self.book.reviews
        ] == self.reviews
        for person in PEOPLE:
            stars = [s for _, _, subject, s, _ in self.reviews if subject == person]
            assert self.book.stats(person) == StarCounts.of(stars)


ReviewBookModel.TestCase.settings = settings(
    max_examples=100, stateful_step_count=30, deadline=None
)
test_review_book_sequences_follow_the_model = ReviewBookModel.TestCase


def _formula(reviews, now, half_life, prior_mean, prior_weight):  # type: ignore[no-untyped-def]
    """The published decayed mean, each weight ``2 ** ((at - now) / half_life)`` in 60 digits."""
    with decimal.localcontext() as ctx:
        ctx.prec = 60
        d = decimal.Decimal
        weights = [d(2) ** ((d(at) - d(now)) / d(half_life)) for _, at in reviews]
        total = sum((w * s for w, (s, _) in zip(weights, reviews, strict=True)), d(0))
        m = d(prior_weight)
        if sum(weights) + m == 0:
            return prior_mean
        return float((total + m * d(prior_mean)) / (sum(weights) + m))


@settings(max_examples=150, deadline=None)
@given(
    steps=st.lists(
        st.one_of(
            st.tuples(st.just("add"), st.integers(1, 5), st.integers(0, 3_000)),
            st.tuples(st.just("score"), st.just(0), st.integers(0, 3_000)),
        ),
        max_size=25,
    ),
    prior_weight=st.sampled_from([0.0, 0.5, 3.0]),
)
def test_running_decay_follows_the_formula_through_any_sequence(steps, prior_weight) -> None:  # type: ignore[no-untyped-def]
    """Reviews added in any order, some hundreds of half-lives apart (the origin moves), and
    scores read between them at or after the newest review so far."""
    half_life = 7.0
    rating = DecayingRating(half_life=half_life, prior_mean=4.0, prior_weight=prior_weight)
    added: list[tuple[int, float]] = []
    for what, stars, at in steps:
        if what == "add":
            rating.add(stars, at=float(at))
            added.append((stars, float(at)))
            continue
        now = max([a for _, a in added], default=0.0) + at
        want = _formula(added, now, half_life, 4.0, prior_weight)
        assert rating.score(now=now) == pytest.approx(want, rel=1e-9, abs=1e-9)
    assert rating.count == len(added)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(st.integers(0, 10**12), st.just(10**12)), min_size=5, max_size=5),
    st.sampled_from([1, 2, 3, 4, 5]),
)
def test_every_score_of_any_star_counts_follows_its_formula(raw, stars) -> None:  # type: ignore[no-untyped-def]
    """Counts up to the largest a StarCounts holds (10**12 of each star value): each readable
    formula gives the ranking scorer's number, and the Wilson bound takes a provider's thumbs
    whatever they add up to."""
    counts = StarCounts((raw[0], raw[1], raw[2], raw[3], raw[4]))
    up, down = counts.thumbs
    assert scorer("wilson")(counts) == wilson_lower_bound(up, up + down)
    assert scorer("stars")(counts) == pytest.approx(star_lower_bound(counts), rel=1e-12)
    assert scorer("bayes")(counts) == pytest.approx(bayesian_average(counts), rel=1e-12)
    if counts.counts[stars - 1] == 10**12:
        with pytest.raises(ReputationError, match=r"must lie in \[0, 1000000000000\]"):
            counts.add(stars)
        return
    assert Counter(counts.add(stars).counts) == Counter(
        c + (i == stars - 1) for i, c in enumerate(counts.counts)
    )


def test_a_refused_review_leaves_the_book_as_it_was() -> None:
    book = ReviewBook(rng=random.Random(2))
    mine, _ = book.complete_job("j", client="ana", provider="bo")
    before = copy.deepcopy((book.jobs, book.reviews, dict(book.counts)))
    for bad in (0, 6, 2.5, True):
        with pytest.raises(ReputationError):
            book.review(mine, stars=bad)  # type: ignore[arg-type]
    assert (book.jobs, book.reviews, dict(book.counts)) == before
    assert book.review(mine, stars=4).subject == "bo"
