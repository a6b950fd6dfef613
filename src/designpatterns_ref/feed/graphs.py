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

import heapq
import itertools
import math
import random
from collections import Counter
from dataclasses import dataclass

from designpatterns_ref.errors import shown
from designpatterns_ref.feed.base import FeedError, FeedTypeError
from designpatterns_ref.feed.strategy import Feed

__all__ = ["Graph", "power_law"]


@dataclass(frozen=True)
class Graph:
    """Users and follow edges ``(follower, followee)``, ready to load into any feed."""

    users: tuple[str, ...]
    edges: tuple[tuple[str, str], ...]

    def __post_init__(self) -> None:
        if not isinstance(self.users, tuple) or not all(isinstance(u, str) for u in self.users):
            raise FeedTypeError(f"users={shown(self.users, 80)} must be a tuple of user names")
        if not isinstance(self.edges, tuple) or not all(
            isinstance(e, tuple) and len(e) == 2 and all(isinstance(u, str) for u in e)
            for e in self.edges
        ):
            raise FeedTypeError(
                f"edges={shown(self.edges, 80)} must be a tuple of (str, str) pairs"
            )
        # checked here, so that load() never refuses half-way through a feed
        known = set(self.users)
        if len(known) < len(self.users):
            twice = next(u for u in self.users if self.users.count(u) > 1)
            raise FeedError(f"users holds {shown(twice)} twice; each user once")
        for follower, followee in self.edges:
            for user in (follower, followee):
                if user not in known:
                    raise FeedError(
                        f"edges holds ({shown(follower)}, {shown(followee)}), but {shown(user)} "
                        "is not in users"
                    )
            if follower == followee:
                raise FeedError(
                    f"edges holds ({shown(follower)}, {shown(followee)}): a user cannot follow "
                    "themselves"
                )
        # a repeated edge is one follow once loaded, yet the counts would count it twice
        if len(set(self.edges)) < len(self.edges):
            a, b = next(e for e, n in Counter(self.edges).items() if n > 1)
            raise FeedError(f"edges holds ({shown(a)}, {shown(b)}) twice; each edge once")

    def follower_counts(self) -> Counter[str]:
        """Followers per user (users with none are absent, as in any Counter)."""
        return Counter(followee for _, followee in self.edges)

    def followee_counts(self) -> Counter[str]:
        """Accounts each user follows."""
        return Counter(follower for follower, _ in self.edges)

    def load(self, feed: Feed) -> None:
        """Add every user and follow edge to ``feed`` (the users must be new to it)."""
        if not isinstance(feed, Feed):
            raise FeedTypeError(f"feed={shown(feed)} must be a Feed")
        feed.add_users(self.users)
        for follower, followee in self.edges:
            feed.follow(follower, followee)


#: The most users :func:`power_law` builds.
MAX_USERS = 10_000_000
#: The most accounts one user of :func:`power_law` follows (its ``max_followees`` at most).
MAX_FOLLOWEES = 100_000


#: The steepest popularity curve :func:`power_law` takes (weights ``(i + 1) ** -exponent``).
MAX_EXPONENT = 10.0
_MAX_ROUNDS = 64  # rounds of repeated draws before the one-pass sample takes over


def _weighted_sample(
    rng: random.Random, weights: list[float], k: int, excluded: set[int]
) -> set[int]:
    """``k`` distinct indices not in ``excluded``, drawn in proportion to ``weights``.

    Efraimidis and Spirakis's one pass: each index gets the key ``log(u) / w`` for a uniform
    ``u`` in (0, 1], and the ``k`` largest keys win. O(n log k).
    """
    keys = (
        (math.log(1.0 - rng.random()) / w, i) for i, w in enumerate(weights) if i not in excluded
    )
    return {i for _, i in heapq.nlargest(k, keys)}


def _int(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FeedTypeError(f"{name}={shown(value)} must be an int")
    if not low <= value <= high:
        raise FeedError(f"{name}={shown(value)} must be an int from {low} to {high}")


def power_law(
    users: int,
    *,
    seed: int = 0,
    mean_followees: float = 20.0,
    exponent: float = 1.0,
    max_followees: int = 2_000,
) -> Graph:
    """A seeded graph of ``users`` accounts with power-law follower counts.

    At most :data:`MAX_USERS` users and :data:`MAX_FOLLOWEES` follows each; larger graphs are
    refused rather than built for hours.
    """
    _int("users", users, 2, MAX_USERS)
    _int("seed", seed, -(2**63), 2**63 - 1)
    _int("max_followees", max_followees, 1, MAX_FOLLOWEES)
    for name, value, top in (
        ("mean_followees", mean_followees, MAX_FOLLOWEES),
        ("exponent", exponent, MAX_EXPONENT),
    ):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise FeedTypeError(f"{name}={shown(value)} must be a number")
        if not 0 < value <= top:
            raise FeedError(f"{name}={shown(value)} must be positive and at most {top}")
    rng = random.Random(seed)
    names = tuple(f"u{i}" for i in range(users))
    weights = [(i + 1) ** -exponent for i in range(users)]
    cum = list(itertools.accumulate(weights))
    cap = min(max_followees, users - 1)
    edges: list[tuple[str, str]] = []
    for me in range(users):
        want = min(cap, max(1, round(rng.expovariate(1 / mean_followees))))
        chosen: set[int] = set()
        for _ in range(_MAX_ROUNDS):
            if len(chosen) >= want:
                break
            for pick in rng.choices(range(users), cum_weights=cum, k=want - len(chosen)):
                if pick != me:
                    chosen.add(pick)
        else:
            # Repeated draws stall when a user wants nearly everyone under a steep exponent
            # (the last accounts are drawn once in billions): take the rest in one pass.
            chosen |= _weighted_sample(rng, weights, want - len(chosen), {me, *chosen})
        edges.extend((names[me], names[j]) for j in sorted(chosen))
    return Graph(names, tuple(edges))
