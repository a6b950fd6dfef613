"""Reviews only after a completed job: one single-use review token per side per job.

Case study: Design a Free Local Gig Marketplace (docs/case-studies/gig-marketplace.md)

With no payments, a review is the only signal, so it must cost something real to leave one.
:meth:`ReviewBook.complete_job` records a completed job between a client and a provider and
hands out two review tokens, one for each side (the client rates the provider, the provider the
client). :meth:`ReviewBook.review` accepts a token once: a second review of the same job, a
review by someone who took no part, or a self-review is refused. Tokens are random and
unguessable (``secrets``, or a seeded ``random.Random`` for tests and tours), so knowing a job id
does not let anyone review it.

This stops drive-by reviews and review bombing; it does not stop friends completing fake jobs
for each other: that is the ring detector's work (:mod:`.rings`).

Complexity: O(1) per job and per review.

>>> import random
>>> book = ReviewBook(rng=random.Random(1))
>>> client_token, provider_token = book.complete_job("job-1", client="ana", provider="bo")
>>> book.review(client_token, stars=5).subject
'bo'
>>> book.review(client_token, stars=1)
Traceback (most recent call last):
...
designpatterns_ref.reputation.base.ReputationError: this review token was already used (job 'job-1')
"""

from __future__ import annotations

import random
import secrets
from collections import defaultdict
from dataclasses import dataclass

from designpatterns_ref.errors import shown
from designpatterns_ref.reputation.base import (
    ReputationError,
    ReputationTypeError,
    StarCounts,
    check_id,
    check_number,
    check_stars,
)

__all__ = ["Review", "ReviewBook"]


@dataclass(frozen=True, slots=True)
class Review:
    """One review: who wrote it about whom, for which job, how many stars, and when."""

    job_id: str
    reviewer: str
    subject: str
    stars: int
    at: float


class ReviewBook:
    """Completed jobs, their review tokens, and the reviews left with them (not thread-safe)."""

    def __init__(self, *, rng: random.Random | None = None) -> None:
        if rng is not None and not isinstance(rng, random.Random):
            raise ReputationTypeError(f"rng={shown(rng, 60)} must be a random.Random or None")
        self._rng = rng
        self.jobs: dict[str, tuple[str, str]] = {}
        self._tokens: dict[str, tuple[str, str, str]] = {}  # token -> (job, reviewer, subject)
        self._used: set[str] = set()
        self.reviews: list[Review] = []
        self.counts: dict[str, StarCounts] = defaultdict(StarCounts)

    def _token(self) -> str:
        if self._rng is None:
            return secrets.token_urlsafe(16)
        return "".join(self._rng.choice("abcdefghijkmnpqrstuvwxyz23456789") for _ in range(22))

    def complete_job(self, job_id: str, *, client: str, provider: str) -> tuple[str, str]:
        """Record a completed job; return ``(client's token, provider's token)``."""
        check_id("job_id", job_id)
        check_id("client", client)
        check_id("provider", provider)
        if client == provider:
            raise ReputationError(f"client={shown(client, 60)} cannot hire themselves")
        if job_id in self.jobs:
            raise ReputationError(f"job_id={shown(job_id, 60)} is already recorded")
        tokens = self._token(), self._token()
        self.jobs[job_id] = (client, provider)
        self._tokens[tokens[0]] = (job_id, client, provider)
        self._tokens[tokens[1]] = (job_id, provider, client)
        return tokens

    def review(self, token: str, *, stars: int, at: float = 0.0) -> Review:
        """Spend ``token`` on a review of ``stars``; refused if unknown or already used."""
        if not isinstance(token, str):
            raise ReputationTypeError(f"token={shown(token, 60)} must be a str")
        check_stars("stars", stars)
        when = check_number("at", at)
        found = self._tokens.get(token)
        if found is None:
            raise ReputationError("this review token belongs to no completed job")
        job_id, reviewer, subject = found
        if token in self._used:
            raise ReputationError(f"this review token was already used (job {shown(job_id)})")
        self._used.add(token)
        review = Review(job_id, reviewer, subject, stars, when)
        self.reviews.append(review)
        self.counts[subject] = self.counts[subject].add(stars)
        return review

    def stats(self, subject: str) -> StarCounts:
        """The star counts of everything written about ``subject``."""
        check_id("subject", subject)
        return self.counts.get(subject, StarCounts())
