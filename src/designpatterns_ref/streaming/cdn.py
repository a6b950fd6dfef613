"""CDN edge caches on a churning Zipf workload, with an origin shield tier.

Case study: Design a Video Streaming Platform (docs/case-studies/video-streaming.md)

Video popularity is Zipf-like with a long tail, and it churns: new titles arrive every day and
take the top ranks while old ones sink. :func:`zipf_workload` generates such a request stream
(seeded): ``objects`` items whose sizes vary, popularity ``1 / rank ** alpha``, ``churn`` of the
catalogue replaced by new items each day, requests spread over ``edges`` edge sites.

The caches (:mod:`~designpatterns_ref.streaming.caches`: LRU, LFU;
:mod:`~designpatterns_ref.streaming.tinylfu`: TinyLFU and W-TinyLFU) hold bytes and answer
``access(key, size) -> hit``. :class:`CdnTier` puts one cache per edge in front of an optional
*origin shield*, a larger cache every edge misses into, so the origin sees each object roughly
once for all edges. :func:`hit_ratio_curve` sweeps the edge size and reports hit ratio, byte
hit ratio and origin egress; :func:`bench_tables` prints them for ``dpref bench streaming``.

Complexity: O(requests x cost of one access) per replay.

>>> reqs = zipf_workload(objects=100, requests=1_000, seed=1)
>>> tier = CdnTier([LRUCache(10**12)])
>>> tier.replay(reqs).origin_requests == len({r.key for r in reqs})
True
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from designpatterns_ref.benchkit import Table
from designpatterns_ref.errors import shown
from designpatterns_ref.streaming.base import (
    StreamingError,
    StreamingTypeError,
    check_int,
    check_list,
    check_number,
)
from designpatterns_ref.streaming.caches import Cache, LFUCache, LRUCache
from designpatterns_ref.streaming.tinylfu import CountMinSketch, TinyLFUCache, WTinyLFUCache

__all__ = [
    "POLICIES",
    "Cache",
    "CdnStats",
    "CdnTier",
    "CountMinSketch",
    "LFUCache",
    "LRUCache",
    "Request",
    "TinyLFUCache",
    "WTinyLFUCache",
    "bench_tables",
    "catalogue_bytes",
    "hit_ratio_curve",
    "zipf_workload",
]


@dataclass(frozen=True)
class Request:
    """One request: which object, its size in bytes, the day, and the edge site asked."""

    key: int
    size: int
    day: int
    edge: int

    def __post_init__(self) -> None:
        for name in ("key", "size", "day", "edge"):
            value = getattr(self, name)
            if value.__class__ is not int or not (1 if name == "size" else 0) <= value < 1 << 62:
                check_int(name, value, minimum=1 if name == "size" else 0, maximum=(1 << 62) - 1)


def zipf_workload(
    objects: int = 10_000,
    requests: int = 200_000,
    *,
    alpha: float = 0.8,
    days: int = 7,
    churn: float = 0.05,
    edges: int = 4,
    seed: int = 7,
) -> list[Request]:
    """A Zipf request stream with daily churn (see the module docstring), deterministic."""
    objects = check_int("objects", objects, minimum=1, maximum=1_000_000)
    requests = check_int("requests", requests, minimum=0, maximum=2_000_000)
    days = check_int("days", days, minimum=1, maximum=10_000)
    edges = check_int("edges", edges, minimum=1, maximum=10_000)
    alpha = check_number("alpha", alpha, limit=10.0)
    churn = check_number("churn", churn, limit=1.0)
    rng = random.Random(check_int("seed", seed, minimum=-(2**63), maximum=2**63))
    weights, acc = [], 0.0
    for rank in range(1, objects + 1):
        acc += 1.0 / rank**alpha
        weights.append(acc)
    sizes: dict[int, int] = {}

    def size_of(key: int) -> int:
        if key not in sizes:  # segment-sized objects: about 0.2 to 8 MB, median 1 MB
            sizes[key] = max(1, int(1_000_000 * rng.lognormvariate(0.0, 0.8)))
        return sizes[key]

    order = list(range(objects))
    rng.shuffle(order)
    next_id = objects
    out = []
    per_day = requests // days
    for day in range(days):
        if day:
            fresh = round(churn * objects)
            for _ in range(fresh):  # a new title lands somewhere in the top tenth
                order.insert(rng.randrange(max(1, objects // 10)), next_id)
                next_id += 1
            del order[objects:]
        count = per_day if day < days - 1 else requests - per_day * (days - 1)
        for _ in range(count):
            rank = bisect.bisect_left(weights, rng.random() * acc)
            key = order[min(rank, objects - 1)]
            out.append(Request(key, size_of(key), day, rng.randrange(edges)))
    return out


@dataclass
class CdnStats:
    """Counts of one replay: requests and bytes served by the edges, the shield, the origin.

    ``per_day_hits`` maps each :attr:`Request.day` seen to the edge hits of that day (0 for a
    day of misses only): a dict, since a day is any int below 2**62.
    """

    requests: int = 0
    bytes: int = 0
    edge_hits: int = 0
    edge_hit_bytes: int = 0
    shield_hits: int = 0
    origin_bytes: int = 0
    origin_requests: int = 0
    per_day_hits: dict[int, int] = field(default_factory=dict)

    @property
    def hit_ratio(self) -> float:
        """Edge hits over requests."""
        return self.edge_hits / self.requests if self.requests else 0.0

    @property
    def byte_hit_ratio(self) -> float:
        """Edge-served bytes over all bytes."""
        return self.edge_hit_bytes / self.bytes if self.bytes else 0.0

    @property
    def origin_fraction(self) -> float:
        """Origin egress over all bytes requested (what the origin and its network carry)."""
        return self.origin_bytes / self.bytes if self.bytes else 0.0


class CdnTier:
    """Edge caches (one per site) in front of an optional origin shield and the origin."""

    def __init__(self, edges: Sequence[Cache], shield: Cache | None = None) -> None:
        caches = check_list("edges", edges, min_len=1)
        for i, cache in enumerate([*caches, *([shield] if shield is not None else [])]):
            if not callable(getattr(cache, "access", None)):
                what = "shield" if i == len(caches) else f"edges[{i}]"
                raise StreamingTypeError(f"{what}={shown(cache, 60)} must be a cache with access()")
        self.edges = caches
        self.shield = shield
        self.stats = CdnStats()

    def request(self, req: Request) -> str:
        """Serve one request; return ``"edge"``, ``"shield"`` or ``"origin"``."""
        if not isinstance(req, Request):
            raise StreamingTypeError(f"req={shown(req, 60)} must be a Request")
        st = self.stats
        st.requests += 1
        st.bytes += req.size
        day_hits = st.per_day_hits.setdefault(req.day, 0)
        if self.edges[req.edge % len(self.edges)].access(req.key, req.size):
            st.edge_hits += 1
            st.per_day_hits[req.day] = day_hits + 1
            st.edge_hit_bytes += req.size
            return "edge"
        if self.shield is not None and self.shield.access(req.key, req.size):
            st.shield_hits += 1
            return "shield"
        st.origin_requests += 1
        st.origin_bytes += req.size
        return "origin"

    def replay(self, requests: Sequence[Request]) -> CdnStats:
        """Serve every request in order; return the statistics."""
        items = check_list("requests", requests)
        for i, req in enumerate(items):
            if not isinstance(req, Request):
                raise StreamingTypeError(f"requests[{i}]={shown(req, 60)} must be a Request")
        for req in items:
            self.request(req)
        return self.stats


#: Each policy from (capacity in bytes, expected number of items it holds).
POLICIES: dict[str, Callable[[int, int], Cache]] = {
    "LRU": lambda capacity, _: LRUCache(capacity),
    "LFU": lambda capacity, _: LFUCache(capacity),
    "TinyLFU": lambda capacity, entries: TinyLFUCache(capacity, entries=entries),
    "W-TinyLFU": lambda capacity, entries: WTinyLFUCache(capacity, entries=entries),
}


def _requests(value: object) -> list[Request]:
    items = check_list("requests", value)
    for i, req in enumerate(items):
        if not isinstance(req, Request):
            raise StreamingTypeError(f"requests[{i}]={shown(req, 60)} must be a Request")
    return items


def catalogue_bytes(requests: Sequence[Request]) -> int:
    """Bytes of all distinct objects requested."""
    seen: dict[int, int] = {}
    for r in _requests(requests):
        seen[r.key] = r.size
    return sum(seen.values())


def hit_ratio_curve(
    requests: Sequence[Request],
    policy: str,
    percents: Sequence[float] = (0.5, 1, 2, 5, 10, 20),
    *,
    edges: int = 1,
    shield_percent: float | None = None,
) -> list[tuple[float, CdnStats]]:
    """Replay ``requests`` at each edge size (percent of catalogue bytes, per edge)."""
    if not isinstance(policy, str) or policy not in POLICIES:
        raise StreamingError(f"policy={shown(policy, 60)} must be one of {sorted(POLICIES)}")
    requests = _requests(requests)
    if not requests:
        raise StreamingError("requests=[] must hold at least one request")
    pcts = [
        check_number(f"percents[{i}]", p, strict=True, limit=1e6)
        for i, p in enumerate(check_list("percents", percents, min_len=1, max_len=1000))
    ]
    edges = check_int("edges", edges, minimum=1, maximum=10_000)
    if shield_percent is not None:
        shield_percent = check_number("shield_percent", shield_percent, strict=True, limit=1e6)
    total = catalogue_bytes(requests)
    mean_size = total / max(1, len({r.key for r in requests}))
    build = POLICIES[policy]

    def make(capacity: int) -> Cache:  # sketches sized for the items the cache can hold
        return build(capacity, max(1, min(1 << 18, round(capacity / mean_size))))

    out = []
    for pct in pcts:
        size = max(1, int(total * pct / 100))
        shield = None
        if shield_percent is not None:
            shield = make(max(1, int(total * shield_percent / 100)))
        tier = CdnTier([make(size) for _ in range(edges)], shield)
        out.append((float(pct), tier.replay(requests)))
    return out


def bench_tables(quick: bool) -> list[Table]:
    """Hit ratio and origin egress against edge size, per policy, with and without a shield."""
    if not isinstance(quick, bool):
        raise StreamingTypeError(f"quick={shown(quick, 60)} must be a bool")
    n_req = 10_000 if quick else 100_000
    reqs = zipf_workload(objects=2_000 if quick else 10_000, requests=n_req, edges=4)
    percents = (2, 20) if quick else (1, 2, 5, 10, 20)
    table = Table(
        f"CDN: {n_req:,} Zipf(0.8) requests over 7 days, 5% daily churn, 4 edges",
        ["policy", "edge size %", "edge hit %", "byte hit %", "origin % (no shield)",
         "origin % (shield 20%)"],
    )  # fmt: skip
    for policy in POLICIES:
        plain = hit_ratio_curve(reqs, policy, percents, edges=4)
        shielded = hit_ratio_curve(reqs, policy, percents, edges=4, shield_percent=20)
        for (pct, a), (_, b) in zip(plain, shielded, strict=True):
            table.add(
                policy,
                pct,
                100 * a.hit_ratio,
                100 * a.byte_hit_ratio,
                100 * a.origin_fraction,
                100 * b.origin_fraction,
            )
    table.note = "edge size is per edge, as a percent of the distinct bytes requested"
    return [table]
