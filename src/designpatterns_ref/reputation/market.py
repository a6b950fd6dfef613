"""A generated local marketplace: honest jobs and reviews, close-knit honest groups, planted rings.

Case study: Design a Free Local Gig Marketplace (docs/case-studies/gig-marketplace.md)

The ring detector (:mod:`.rings`) needs ground truth to be measured, and no real marketplace
publishes its fraud labels, so this module generates one, seeded:

- ``users`` accounts; every honest job joins a random client to a random provider; each side
  reviews with probability 0.7; stars follow the provider's hidden quality, with noise;
- ``neighbour_groups`` honest groups of three good neighbours who hire each other 6 to 14 times
  and rate each other well (the hard negatives: reciprocal, repeated, mostly five stars, honest);
- ``rings`` planted rings of 3 to 6 accounts completing fake jobs among themselves, every
  pair one to four times, five stars both ways, plus up to eight real jobs each outside as
  camouflage (a pair that traded only once escapes ``min_mutual=2``: recall pays for it).

Complexity: O(jobs).

>>> m = generate_marketplace(users=200, jobs=1_000, rings=2, seed=1)
>>> len(m.planted), len(m.reviews) > 1_000
(2, True)
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from designpatterns_ref.errors import shown
from designpatterns_ref.reputation.base import (
    ReputationError,
    ReputationTypeError,
    check_count,
    check_number,
    check_stars,
)

__all__ = ["Marketplace", "generate_marketplace"]


@dataclass
class Marketplace:
    """Generated reviews ``(reviewer, subject, stars)`` and the truth about them.

    One built by hand (to measure the detector on other data) is checked whole when made: a
    list of ``(str, str, stars)`` reviews, lists of sets of account ids, and a dict from
    account id to a finite quality.
    """

    reviews: list[tuple[str, str, int]] = field(default_factory=list)
    planted: list[set[str]] = field(default_factory=list)
    neighbours: list[set[str]] = field(default_factory=list)
    quality: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.reviews, list):
            raise ReputationTypeError(f"reviews={shown(self.reviews, 60)} must be a list")
        for item in self.reviews:
            if not (isinstance(item, tuple) and len(item) == 3):
                raise ReputationTypeError(
                    f"review={shown(item, 60)} must be a (reviewer, subject, stars) tuple"
                )
            if not isinstance(item[0], str) or not isinstance(item[1], str):
                raise ReputationTypeError(f"review={shown(item, 60)}: ids must be str")
            check_stars("review stars", item[2])
        for name, groups in (("planted", self.planted), ("neighbours", self.neighbours)):
            if not isinstance(groups, list) or not all(
                isinstance(g, set | frozenset) and all(isinstance(a, str) for a in g)
                for g in groups
            ):
                raise ReputationTypeError(
                    f"{name}={shown(groups, 60)} must be a list of sets of str"
                )
        if not isinstance(self.quality, dict):
            raise ReputationTypeError(f"quality={shown(self.quality, 60)} must be a dict")
        for account, q in self.quality.items():
            if not isinstance(account, str):
                raise ReputationTypeError(f"quality key {shown(account, 60)} must be a str")
            check_number(f"quality[{account!r:.40}]", q)

    @property
    def ring_members(self) -> set[str]:
        """Every account of every planted ring."""
        return {m for ring in self.planted for m in ring}


def _stars(rng: random.Random, quality: float) -> int:
    return max(1, min(5, round(rng.gauss(quality, 0.8))))


def generate_marketplace(
    *,
    users: int = 2_000,
    jobs: int = 10_000,
    rings: int = 20,
    neighbour_groups: int = 20,
    seed: int = 0,
) -> Marketplace:
    """A seeded marketplace with planted rings (see the module docstring)."""
    check_count("users", users, limit=10**6)
    check_count("jobs", jobs, limit=10**7)
    check_count("rings", rings, limit=10**5)
    check_count("neighbour_groups", neighbour_groups, limit=10**5)
    if users < 2:
        raise ReputationError(f"users={shown(users)} must be at least 2 (a job joins two accounts)")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ReputationTypeError(f"seed={shown(seed, 60)} must be an int")
    rng = random.Random(seed)
    ids = [f"u{i:06d}" for i in range(users)]
    m = Marketplace(quality={u: rng.uniform(2.5, 4.9) for u in ids})

    def job(client: str, provider: str, fake: bool = False) -> None:
        if fake:
            m.reviews.append((client, provider, 5))
            m.reviews.append((provider, client, 5))
            return
        if rng.random() < 0.7:
            m.reviews.append((client, provider, _stars(rng, m.quality[provider])))
        if rng.random() < 0.7:
            m.reviews.append((provider, client, _stars(rng, m.quality[client])))

    for _ in range(jobs):
        client, provider = rng.sample(ids, 2)
        job(client, provider)
    for g in range(neighbour_groups):
        group = [f"n{g:04d}-{k}" for k in range(3)]
        for member in group:
            m.quality[member] = rng.uniform(4.3, 5.0)  # good neighbours: mostly five stars
        m.neighbours.append(set(group))
        for _ in range(rng.randint(6, 14)):
            a, b = rng.sample(group, 2)
            job(a, b)
        for member in group:  # and ordinary jobs with the rest of the town
            for _ in range(rng.randint(2, 6)):
                job(rng.choice(ids), member)
    for r in range(rings):
        size = rng.randint(3, 6)
        ring = [f"r{r:04d}-{k}" for k in range(size)]
        for member in ring:
            m.quality[member] = rng.uniform(2.0, 3.5)
        m.planted.append(set(ring))
        for a in ring:
            for b in ring:
                if a < b:
                    for _ in range(rng.randint(1, 4)):
                        job(a, b, fake=True)
        for member in ring:  # camouflage: a few real jobs with outsiders
            for _ in range(rng.randint(0, 8)):
                job(rng.choice(ids), member)
    return m
