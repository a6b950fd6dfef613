"""``dpref bench reputation``: ranking 100,000 providers, the ring detector, matching.

The workloads, all seeded: 100,000 providers with 0 to 200 reviews each, star mixes drawn per
provider; a generated marketplace of 2,000 users, 10,000 jobs and 20 planted rings; a city of
20,000 providers over 20 x 20 km and requests for a 3 km radius. Quick mode shrinks them.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from designpatterns_ref.benchkit import Table
from designpatterns_ref.reputation.base import StarCounts
from designpatterns_ref.reputation.market import generate_marketplace
from designpatterns_ref.reputation.matching import Matcher, Provider, Request
from designpatterns_ref.reputation.ranking import RULES, rank
from designpatterns_ref.reputation.rings import RingDetector, precision_recall

__all__ = ["bench_matching", "bench_ranking", "bench_rings", "bench_steps", "providers"]

SEED = 26


def providers(n: int, seed: int = SEED) -> dict[str, StarCounts]:
    """``n`` providers' star counts: review counts skewed small, star mixes per provider."""
    rng = random.Random(seed)
    out = {}
    for i in range(n):
        reviews = min(200, int(rng.expovariate(1 / 15)))
        quality = rng.uniform(0.2, 1.0)
        weights = [1 - quality, 0.5 * (1 - quality), 0.3, quality, 1.5 * quality]
        stars = rng.choices((1, 2, 3, 4, 5), weights=weights, k=reviews)
        c = [0] * 5
        for s in stars:
            c[s - 1] += 1
        out[f"p{i:06d}"] = StarCounts((c[0], c[1], c[2], c[3], c[4]))
    return out


def bench_ranking(quick: bool) -> list[Table]:
    """Score every provider and keep the top 20, and a full sort, under each rule."""
    n = 10_000 if quick else 100_000
    pool = providers(n)
    table = Table(
        f"ranking {n:,} providers (CPU time, median of 3 runs)",
        ["rule", "top 20, ms", "full ranking, ms", "µs per provider", "best provider (reviews)"],
    )
    for rule in RULES:
        top_runs, full_runs = [], []
        best: list[tuple[float, str]] = []
        for _ in range(3):
            start = time.process_time()
            best = rank(pool, rule, 20)
            top_runs.append(time.process_time() - start)
            start = time.process_time()
            rank(pool, rule)
            full_runs.append(time.process_time() - start)
        top, full = sorted(top_runs)[1], sorted(full_runs)[1]
        first = best[0][1]
        table.add(rule, top * 1e3, full * 1e3, top / n * 1e6, f"{first} ({pool[first].n})")
    return [table]


def bench_rings(quick: bool) -> list[Table]:
    """Precision and recall of the ring detector on a generated marketplace, and its time."""
    users, jobs, rings = (500, 2_500, 5) if quick else (2_000, 10_000, 20)
    market = generate_marketplace(
        users=users, jobs=jobs, rings=rings, neighbour_groups=rings, seed=7
    )
    table = Table(
        f"ring detector on a generated marketplace: {users:,} users, {jobs:,} jobs, "
        f"{rings} planted rings, {rings} close-knit honest groups, {len(market.reviews):,} reviews",
        ["detector", "precision", "recall", "flagged", "ms"],
    )
    for label, detector in [
        ("default (min_mutual=1, insularity=0.6)", RingDetector()),
        ("insularity=0.4", RingDetector(insularity=0.4)),
        ("insularity=0.8", RingDetector(insularity=0.8)),
        ("min_mutual=2", RingDetector(min_mutual=2)),
    ]:
        start = time.process_time()
        flagged = detector.flagged_accounts(market.reviews)
        ms = (time.process_time() - start) * 1e3
        precision, recall = precision_recall(flagged, market.ring_members)
        table.add(label, precision, recall, len(flagged), ms)
    return [table]


def bench_matching(quick: bool) -> list[Table]:
    """Ranked matches within 3 km among a city of providers: the grid index per query."""
    n, queries = (2_000, 200) if quick else (20_000, 2_000)
    rng = random.Random(SEED)
    lat0, lon0 = 52.37, 4.90
    matcher = Matcher()
    pool = providers(n)
    for pid, counts in pool.items():
        start = rng.choice([0.0, 8.0, 12.0])
        matcher.add_provider(
            Provider(
                pid,
                lat0 + rng.uniform(-0.09, 0.09),
                lon0 + rng.uniform(-0.147, 0.147),
                frozenset(rng.sample(["garden", "tutor", "move", "clean", "paint"], 2)),
                ((start, start + 8.0),),
            )
        )
        matcher.set_reputation(pid, counts)
    requests = [
        Request(
            lat0 + rng.uniform(-0.08, 0.08),
            lon0 + rng.uniform(-0.13, 0.13),
            rng.choice(["garden", "tutor", "move"]),
            9.0,
            11.0,
            max_distance_m=3_000.0,
        )
        for _ in range(queries)
    ]
    start = time.process_time()
    pages = [matcher.match(r, k=10) for r in requests]
    per = (time.process_time() - start) / queries
    explored = sum(m.explored for page in pages for m in page)
    table = Table(
        f"matching: {n:,} providers over 20 x 20 km, {queries:,} requests within 3 km",
        ["measure", "value"],
    )
    table.add("µs per request (top 10, with the exploration slot)", per * 1e6)
    table.add("mean results per page", sum(len(p) for p in pages) / queries)
    table.add("exploration slots filled", explored)
    return [table]


def bench_steps(quick: bool) -> list[tuple[str, Callable[[], list[Table]]]]:
    """The steps ``dpref bench reputation`` runs, each returning its tables."""
    return [
        ("ranking providers", lambda: bench_ranking(quick)),
        ("ring detector", lambda: bench_rings(quick)),
        ("matching", lambda: bench_matching(quick)),
    ]
