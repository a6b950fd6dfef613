"""CDN caches against brute-force replays; the sketch never undercounts; the shield helps."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.streaming.cdn import (
    CdnTier,
    CountMinSketch,
    LFUCache,
    LRUCache,
    TinyLFUCache,
    WTinyLFUCache,
    hit_ratio_curve,
    zipf_workload,
)

accesses = st.lists(st.tuples(st.integers(0, 12), st.integers(1, 40)), max_size=200)


def brute_lru(capacity: int, seq: list[tuple[int, int]]) -> list[bool]:
    cache: list[tuple[int, int]] = []  # oldest first
    sizes: dict[int, int] = {}
    out = []
    for key, size in seq:
        hit = any(k == key for k, _ in cache)
        out.append(hit)
        if hit:
            entry = next(e for e in cache if e[0] == key)
            cache.remove(entry)
            cache.append(entry)
            continue
        if size > capacity:
            continue
        while sum(s for _, s in cache) + size > capacity:
            cache.pop(0)
        cache.append((key, size))
        sizes[key] = size
    return out


def brute_lfu(capacity: int, seq: list[tuple[int, int]]) -> list[bool]:
    cache: dict[int, list[int]] = {}  # key -> [count, last tick, size]
    out = []
    for tick, (key, size) in enumerate(seq, start=1):
        if key in cache:
            cache[key][0] += 1
            cache[key][1] = tick
            out.append(True)
            continue
        out.append(False)
        if size > capacity:
            continue
        while sum(v[2] for v in cache.values()) + size > capacity:
            victim = min(cache, key=lambda k: (cache[k][0], cache[k][1]))
            del cache[victim]
        cache[key] = [1, tick, size]
    return out


@settings(max_examples=100, deadline=None)
@given(capacity=st.integers(1, 120), seq=accesses)
def test_lru_equals_brute_force(capacity: int, seq: list[tuple[int, int]]) -> None:
    cache = LRUCache(capacity)
    got = [cache.access(k, s) for k, s in seq]
    assert got == brute_lru(capacity, seq)
    assert 0 <= cache.used <= capacity


@settings(max_examples=100, deadline=None)
@given(capacity=st.integers(1, 120), seq=accesses)
def test_lfu_equals_brute_force(capacity: int, seq: list[tuple[int, int]]) -> None:
    cache = LFUCache(capacity)
    got = [cache.access(k, s) for k, s in seq]
    assert got == brute_lfu(capacity, seq)
    assert 0 <= cache.used <= capacity


@settings(max_examples=100, deadline=None)
@given(keys=st.lists(st.integers(0, 1000), max_size=300), width=st.integers(1, 64))
def test_count_min_never_undercounts(keys: list[int], width: int) -> None:
    cms = CountMinSketch(width=width, depth=3, sample=10**9)
    for k in keys:
        cms.add(k)
    for k, n in Counter(keys).items():
        assert cms.estimate(k) >= n


@pytest.mark.parametrize("width", [1024, 1000, 4096])
def test_count_min_rows_hash_independently(width: int) -> None:
    # A pair of keys that shares a cell in one row must not share the cells of every row:
    # else the minimum over rows protects nothing. With width a power of two, hashes that
    # keep only the low bits made 7 and 7 + 1024 share all four cells.
    cms = CountMinSketch(width=width, depth=4, sample=10**9)
    assert cms._cells(7) != cms._cells(7 + width)
    for _ in range(100):
        cms.add(7)
    assert cms.estimate(7 + width) < 100
    rng = random.Random(1)
    one = every = 0
    for _ in range(20_000):
        a, b = cms._cells(rng.getrandbits(64)), cms._cells(rng.getrandbits(64))
        one += a[0] == b[0]
        every += a == b
    assert one > 0  # about 20,000 / width pairs share a cell in one row
    assert every == 0  # and next to none in all four (expected 20,000 / width**4)


def test_count_min_overestimates_as_little_as_its_bound() -> None:
    # After n additions of distinct keys, an unseen key's estimate is the minimum of `depth`
    # cells holding about n / width each: mostly zero for n = width.
    cms = CountMinSketch(width=1024, depth=4, sample=10**9)
    rng = random.Random(2)
    for _ in range(1024):
        cms.add(rng.getrandbits(62))
    unseen = [cms.estimate(rng.getrandbits(62)) for _ in range(2000)]
    assert sum(unseen) / len(unseen) < 0.2  # four independent rows: P(cell > 0) ** 4 ~ 0.16


@settings(max_examples=60, deadline=None)
@given(capacity=st.integers(1, 120), seq=accesses)
def test_tinylfu_holds_at_most_its_capacity_and_hits_only_residents(
    capacity: int, seq: list[tuple[int, int]]
) -> None:
    cache = TinyLFUCache(capacity, width=16)
    for key, size in seq:
        resident = key in cache
        assert cache.access(key, size) == resident
        assert 0 <= cache.used <= capacity


@settings(max_examples=60, deadline=None)
@given(capacity=st.integers(1, 300), seq=accesses, window=st.floats(0.01, 0.9))
def test_wtinylfu_holds_at_most_its_capacity_and_hits_only_residents(
    capacity: int, seq: list[tuple[int, int]], window: float
) -> None:
    cache = WTinyLFUCache(capacity, window=window, width=16)
    for key, size in seq:
        resident = key in cache
        assert cache.access(key, size) == resident
        assert 0 <= cache.used <= capacity
        assert cache.used == sum(cache._bytes.values())
        assert len(cache) == len({*cache._window, *cache._probation, *cache._protected})


def test_wtinylfu_admits_a_new_release_and_resists_a_scan() -> None:
    cache = WTinyLFUCache(100, window=0.1, width=256)
    for _ in range(5):
        for k in range(90):
            cache.access(k, 1)
    lru = LRUCache(100)
    for _ in range(5):
        for k in range(90):
            lru.access(k, 1)
    for k in range(1000, 1200):  # a scan of one-hit wonders passes through the window only
        cache.access(k, 1)
        lru.access(k, 1)
    # A one-hit wonder gets in only when the sketch overestimates it past a hot key's five:
    # all four of its cells shared with hot keys, about (1 - e**(-90/256))**4 = 0.8 % of the
    # 200, so a key or two; a plain LRU keeps none of the 90.
    assert sum(k in cache for k in range(90)) >= 86
    assert not any(k in lru for k in range(90))
    cache.access("new", 1)
    assert cache.access("new", 1)  # a new release hits from the window at once


def test_tinylfu_keeps_the_head_out_of_reach_of_one_hit_wonders() -> None:
    tiny, lru = TinyLFUCache(10, width=256), LRUCache(10)
    for _ in range(5):
        for k in range(10):
            tiny.access(k, 1)
            lru.access(k, 1)
    for k in range(100, 120):  # a scan of items seen once
        tiny.access(k, 1)
        lru.access(k, 1)
    assert all(k in tiny for k in range(10))
    assert not any(k in lru for k in range(10))
    assert tiny.rejected == 20


def test_zipf_workload_is_deterministic_and_churns() -> None:
    a = zipf_workload(objects=500, requests=7_000, days=7, churn=0.1, seed=3)
    assert a == zipf_workload(objects=500, requests=7_000, days=7, churn=0.1, seed=3)
    assert len(a) == 7_000
    first = {r.key for r in a if r.day == 0}
    last = {r.key for r in a if r.day == 6}
    assert max(last) >= 500  # new titles arrived
    assert len(last - first) > 0
    head = Counter(r.key for r in a if r.day == 0).most_common(1)[0][1]
    assert head > 7_000 / 7 / 500 * 5  # popularity is skewed


def test_shield_reduces_origin_egress_and_bigger_caches_hit_more() -> None:
    reqs = zipf_workload(objects=1_000, requests=8_000, edges=4, seed=5)
    for policy in ("LRU", "LFU", "TinyLFU", "W-TinyLFU"):
        plain = hit_ratio_curve(reqs, policy, (1, 10, 30), edges=4)
        shielded = hit_ratio_curve(reqs, policy, (1, 10, 30), edges=4, shield_percent=30)
        ratios = [s.hit_ratio for _, s in plain]
        assert ratios == sorted(ratios)
        for (_, a), (_, b) in zip(plain, shielded, strict=True):
            assert b.origin_bytes <= a.origin_bytes
            assert a.edge_hits == b.edge_hits  # the shield sits behind the edges
    tier = CdnTier([LRUCache(10**12)])
    stats = tier.replay(reqs)
    assert stats.origin_requests == len({r.key for r in reqs})  # infinite edge: cold misses only


@settings(max_examples=60, deadline=None)
@given(
    seq=st.lists(
        st.tuples(st.integers(0, 12), st.integers(1, 40), st.sampled_from([0, 1, 2, 2**62 - 1])),
        max_size=150,
    ),
    capacity=st.integers(1, 120),
)
def test_per_day_hits_match_a_brute_force_count(
    seq: list[tuple[int, int, int]], capacity: int
) -> None:
    from designpatterns_ref.streaming.cdn import Request

    reqs = [Request(key, size, day, 0) for key, size, day in seq]
    stats = CdnTier([LRUCache(capacity)]).replay(reqs)
    hits = brute_lru(capacity, [(k, s) for k, s, _ in seq])  # the edge's hits, one by one
    expected = {day: 0 for _, _, day in seq}
    for (_, _, day), hit in zip(seq, hits, strict=True):
        expected[day] += hit
    assert stats.per_day_hits == expected
    assert sum(stats.per_day_hits.values()) == stats.edge_hits


def test_per_day_hits_of_a_churning_week() -> None:
    reqs = zipf_workload(objects=300, requests=2_000, edges=2, seed=3)
    stats = CdnTier([LRUCache(10**12), LRUCache(10**12)]).replay(reqs)
    assert sorted(stats.per_day_hits) == list(range(7))
    assert sum(stats.per_day_hits.values()) == stats.edge_hits > 0
