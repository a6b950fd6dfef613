"""Seeded social graphs whose follower counts follow a power law, with a few celebrities.

Case study: Design a Social News Feed (Twitter / LinkedIn) (docs/case-studies/news-feed.md)

Real follower counts are heavy-tailed: most accounts have a handful of followers and a few
have a large share of everyone. :func:`power_law` reproduces that shape. User ``u{i}`` has
popularity ``(i + 1) ** -exponent`` (so ``u0`` is the biggest celebrity); each user follows a
number of accounts drawn from an exponential distribution around ``mean_followees``, picking
them in proportion to popularity, without repeats and never themselves. The in-degrees then
follow Zipf's law, the out-degrees stay modest, and the same seed always gives the same graph.

Complexity: O(E log n) time for E follow edges (each pick is a bisect over cumulative weights).

>>> g = power_law(1000, seed=7)
>>> g == power_law(1000, seed=7)
True
>>> counts = g.follower_counts()
>>> counts["u0"] > 20 * sorted(counts.values())[500]  # the head dwarfs the median
True
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from dataclasses import dataclass

from designpatterns_ref.feed.base import Feed, FeedError

__all__ = ["Graph", "power_law"]


@dataclass(frozen=True)
class Graph:
    """Users and follow edges ``(follower, followee)``, ready to load into any feed."""

    users: tuple[str, ...]
    edges: tuple[tuple[str, str], ...]

    def follower_counts(self) -> Counter[str]:
        """Followers per user (users with none are absent, as in any Counter)."""
        return Counter(followee for _, followee in self.edges)

    def followee_counts(self) -> Counter[str]:
        """Accounts each user follows."""
        return Counter(follower for follower, _ in self.edges)

    def load(self, feed: Feed) -> None:
        """Add every user and follow edge to ``feed``."""
        feed.add_users(self.users)
        for follower, followee in self.edges:
            feed.follow(follower, followee)


def power_law(
    users: int,
    *,
    seed: int = 0,
    mean_followees: float = 20.0,
    exponent: float = 1.0,
    max_followees: int = 2_000,
) -> Graph:
    """A seeded graph of ``users`` accounts with power-law follower counts."""
    if isinstance(users, bool) or not isinstance(users, int) or users < 2:
        raise FeedError(f"users={users!r} must be an int of at least 2")
    if not mean_followees > 0:
        raise FeedError(f"mean_followees={mean_followees!r} must be positive")
    if not exponent > 0:
        raise FeedError(f"exponent={exponent!r} must be positive")
    rng = random.Random(seed)
    names = tuple(f"u{i}" for i in range(users))
    cum = list(itertools.accumulate((i + 1) ** -exponent for i in range(users)))
    cap = min(max_followees, users - 1)
    edges: list[tuple[str, str]] = []
    for me in range(users):
        want = min(cap, max(1, round(rng.expovariate(1 / mean_followees))))
        chosen: set[int] = set()
        while len(chosen) < want:
            for pick in rng.choices(range(users), cum_weights=cum, k=want - len(chosen)):
                if pick != me:
                    chosen.add(pick)
        edges.extend((names[me], names[j]) for j in sorted(chosen))
    return Graph(names, tuple(edges))
