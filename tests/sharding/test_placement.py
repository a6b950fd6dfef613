"""Placement schemes against brute-force references, the movement bounds and uhashring."""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter
from hashlib import md5
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from xxhash import xxh3_64_intdigest

from designpatterns_ref.sharding import (
    ConsistentHashRing,
    JumpPlacement,
    MaglevPlacement,
    ModuloPlacement,
    RendezvousPlacement,
    ShardingError,
    jump_hash,
)

KEYS = [f"user:{i}" for i in range(20_000)]
names = st.lists(st.text("abcdefgh", min_size=1, max_size=4), min_size=1, max_size=12, unique=True)
keys = st.one_of(st.text(max_size=20), st.integers(0, 2**64))


def _safe(key: Any) -> Any:
    if isinstance(key, str):
        try:
            key.encode()
        except UnicodeEncodeError:
            return "x"
    return key


SCHEMES = {
    "modulo": ModuloPlacement,
    "ring": ConsistentHashRing,
    "ring-xxh3": lambda s: ConsistentHashRing(s, layout="xxh3"),
    "rendezvous": RendezvousPlacement,
    "jump": JumpPlacement,
    "maglev": lambda s: MaglevPlacement(s, table_size=4099),
}


def _moved(scheme: str, n: int) -> float:
    before = SCHEMES[scheme]([f"s{i}" for i in range(n)])
    after = SCHEMES[scheme]([f"s{i}" for i in range(n + 1)])
    return sum(before.shard_for(k) != after.shard_for(k) for k in KEYS) / len(KEYS)


# --- references: short and obviously correct ------------------------------------------------


def ketama_reference(shards: list[str], vnodes: int, key: str) -> str:
    """The ketama continuum built point by point, searched linearly."""
    points = []
    for shard in shards:
        for w in range(vnodes):  # equal weights: vnodes * n * 1 // n = vnodes names each
            d = md5(f"{shard}-{w}".encode()).digest()
            points += [(int.from_bytes(d[4 * r : 4 * r + 4], "little"), shard) for r in range(4)]
    table = dict(points)  # a later shard wins a collision
    h = int.from_bytes(md5(key.encode()).digest()[:4], "little")
    above = [p for p in table if p > h]
    return table[min(above)] if above else table[min(table)]


def rendezvous_reference(shards: dict[str, float], key: bytes) -> str:
    def score(name: str) -> float:
        h = xxh3_64_intdigest(key, xxh3_64_intdigest(name.encode()))
        return -shards[name] / math.log(((h >> 11) + 0.5) / 2**53)

    return max(shards, key=score)


@given(names, st.text(max_size=12))
def test_ring_equals_the_linear_reference(shards: list[str], key: str) -> None:
    ring = ConsistentHashRing(shards, vnodes=5)
    assert ring.shard_for(key) == ketama_reference(shards, 5, key)


@given(names, st.binary(max_size=12), st.data())
def test_rendezvous_equals_max_over_shards(shards: list[str], key: bytes, data: Any) -> None:
    weights = {s: data.draw(st.floats(0.1, 10)) for s in shards}
    assert RendezvousPlacement(shards, weights=weights).shard_for(key) == rendezvous_reference(
        weights, key
    )


def test_jump_hash_matches_published_vectors() -> None:
    # values from other implementations of the paper's algorithm
    assert jump_hash(10863919174838991, 11) == 6
    assert jump_hash(2016238256797177309, 11) == 3


@given(st.integers(0, 2**64 - 1), st.integers(1, 500))
def test_jump_moves_a_key_only_to_the_new_bucket(key: int, n: int) -> None:
    before, after = jump_hash(key, n), jump_hash(key, n + 1)
    assert 0 <= before < n
    assert after in (before, n)


@given(names, st.integers(0, 1000))
def test_maglev_table_is_a_near_even_partition(shards: list[str], salt: int) -> None:
    p = MaglevPlacement([f"{s}-{salt}" for s in shards], table_size=1031)  # fresh permutations
    counts = p.slot_counts()
    assert sum(counts.values()) == 1031
    assert max(counts.values()) - min(counts.values()) <= 1


# --- the properties every scheme promises ------------------------------------------------------


@pytest.mark.parametrize("scheme", SCHEMES)
@given(shards=names, key=keys)
def test_every_scheme_is_deterministic_and_in_range(
    scheme: str, shards: list[str], key: Any
) -> None:
    key = _safe(key)
    a, b = SCHEMES[scheme](list(shards)), SCHEMES[scheme](list(shards))
    assert a.shard_for(key) == b.shard_for(key) in shards


@pytest.mark.parametrize(
    ("scheme", "low", "high"),
    [
        ("modulo", 0.85, 0.95),  # n / (n + 1) = 0.909: almost everything moves
        ("ring", 0.07, 0.11),
        ("ring-xxh3", 0.07, 0.11),
        ("rendezvous", 0.082, 0.100),  # ideal 1/11 = 0.0909, within 10%
        ("jump", 0.082, 0.100),
        ("maglev", 0.082, 0.13),
    ],
)
def test_growth_moves_the_stated_fraction(scheme: str, low: float, high: float) -> None:
    assert low <= _moved(scheme, 10) <= high


@pytest.mark.parametrize("scheme", ["ring", "rendezvous", "jump", "maglev"])
def test_growth_moves_keys_only_to_the_new_shard(scheme: str) -> None:
    before = SCHEMES[scheme]([f"s{i}" for i in range(8)])
    after = SCHEMES[scheme]([f"s{i}" for i in range(9)])
    targets = {after.shard_for(k) for k in KEYS[:5000] if before.shard_for(k) != after.shard_for(k)}
    allowed = {"s8"} if scheme != "maglev" else {f"s{i}" for i in range(9)}
    assert targets <= allowed


BOUNDS = [("modulo", 1.1), ("ring", 1.25), ("rendezvous", 1.1), ("jump", 1.1), ("maglev", 1.1)]


@pytest.mark.parametrize(("scheme", "bound"), BOUNDS)
def test_load_is_balanced_within_a_bound(scheme: str, bound: float) -> None:
    p = SCHEMES[scheme]([f"s{i}" for i in range(10)])
    load = Counter(p.shard_for(k) for k in KEYS)
    assert max(load.values()) / (len(KEYS) / 10) <= bound


def test_weights_give_proportional_shares() -> None:
    for placement in (
        ConsistentHashRing(["a", "b"], weights={"b": 3.0}),
        RendezvousPlacement(["a", "b"], weights={"b": 3.0}),
    ):
        share = sum(placement.shard_for(k) == "b" for k in KEYS) / len(KEYS)
        assert 0.70 <= share <= 0.80


def test_removal_moves_only_the_removed_shards_keys() -> None:
    for make in (ConsistentHashRing, RendezvousPlacement, ModuloPlacement):
        p = make([f"s{i}" for i in range(6)])
        before = {k: p.shard_for(k) for k in KEYS[:5000]}
        p.remove("s3")
        moved = {k for k, s in before.items() if p.shard_for(k) != s}
        if make is not ModuloPlacement:
            assert all(before[k] == "s3" for k in moved)
        assert all(p.shard_for(k) != "s3" for k in KEYS[:5000])


# --- against the peer ------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 3, 10, 37])
def test_ring_agrees_with_uhashring_node_for_node(n: int) -> None:
    uhashring = pytest.importorskip("uhashring")
    shards = [f"node-{i}" for i in range(n)]
    theirs = uhashring.HashRing(nodes=shards, hash_fn="ketama", vnodes=160)
    ours = ConsistentHashRing(shards, vnodes=160)
    assert all(ours.shard_for(k) == theirs.get_node(k) for k in KEYS[:3000])
    theirs.add_node("node-new")
    ours.add("node-new")
    assert all(ours.shard_for(k) == theirs.get_node(k) for k in KEYS[:3000])


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", SCHEMES)
def test_bad_input_is_refused_and_changes_nothing(scheme: str) -> None:
    p = SCHEMES[scheme](["a", "b", "c"])
    answers = [p.shard_for(k) for k in KEYS[:200]]
    for bad in (None, 1.5, [], "\ud800", True):
        with pytest.raises(ShardingError):
            p.shard_for(bad)  # type: ignore[arg-type]
    for call in (lambda: p.add("a"), lambda: p.add(""), lambda: p.remove("zz"),
                 lambda: p.add("d", weight=-1), lambda: p.add(None)):  # type: ignore[arg-type]  # fmt: skip
        with pytest.raises(ShardingError):
            call()
    assert p.shards == ("a", "b", "c")
    assert [p.shard_for(k) for k in KEYS[:200]] == answers
    with pytest.raises(ShardingError):
        SCHEMES[scheme]([])
    with pytest.raises(ShardingError):
        SCHEMES[scheme](["a", "a"])


def test_the_last_shard_cannot_go() -> None:
    for make in SCHEMES.values():
        p = make(["only"])
        with pytest.raises(ShardingError, match="last"):
            p.remove("only")
        assert p.shards == ("only",)


def test_ring_bisect_wraps_around() -> None:
    ring = ConsistentHashRing(["a", "b"], vnodes=1)
    top = max(ring._points)
    assert bisect_right(ring._points, top) == len(ring._points)  # a key above every point ...
    assert ring._owners[0] in ("a", "b")  # ... goes to the first point


@settings(max_examples=60, deadline=None)
@given(
    weights=st.lists(st.floats(1e-3, 1e3), min_size=1, max_size=5),
    vnodes=st.integers(1, 40),
    extra=st.floats(1e-3, 1e3),
)
def test_a_weighted_ring_gives_every_shard_a_point_or_refuses(
    weights: list[float], vnodes: int, extra: float
) -> None:
    """Every shard a ring accepts owns at least one point (and so receives keys); a weight that
    would leave some shard with none is refused, by the constructor, add and remove, with the
    ring unchanged."""
    names = [f"s{i}" for i in range(len(weights))]

    def check(ring: ConsistentHashRing) -> None:
        assert set(ring._owners) == set(ring.shards)

    try:
        given_weights = dict(zip(names, weights, strict=True))
        ring = ConsistentHashRing(names, vnodes=vnodes, weights=given_weights)
    except ShardingError as exc:
        assert "would get no point" in str(exc)
        return
    check(ring)
    for change in (lambda r: r.add("new", extra), lambda r: r.remove(names[0])):
        before = (repr(ring), ring.shards, list(ring._points), list(ring._owners))
        try:
            change(ring)
        except ShardingError as exc:
            assert "would get no point" in str(exc) or "last one" in str(exc)
            assert (repr(ring), ring.shards, list(ring._points), list(ring._owners)) == before
        check(ring)


def test_a_weight_too_small_for_any_point_is_refused() -> None:
    with pytest.raises(ShardingError, match=r"'b' .* would get no point"):
        ConsistentHashRing(["a", "b"], vnodes=1, weights={"a": 1e6, "b": 1e-6})
    ring = ConsistentHashRing(["a", "b"], vnodes=4)
    with pytest.raises(ShardingError, match="would get no point"):
        ring.add("c", 1e6)  # a and b would lose every point
    assert ring.shards == ("a", "b") and set(ring._owners) == {"a", "b"}
