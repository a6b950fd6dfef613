"""The consistent-hash ring against a brute-force oracle (the first virtual node clockwise,
scanning every point), and its promise: removing a node moves only that node's keys; adding
one moves keys only to the newcomer."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from designpatterns_ref.messaging import MessagingError
from designpatterns_ref.messaging.hashring import HashRing, ring_hash

names = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=8)
node_sets = st.lists(names, min_size=1, max_size=6, unique=True)
keys = st.lists(names, min_size=1, max_size=40)
vnodes = st.integers(1, 16)


def oracle(nodes: list[str], vnodes: int, key: str) -> str:
    """Every point of every node; the smallest (point, node) at or after the key's hash, or
    the smallest of all when none is (the wrap past the top of the ring)."""
    points = [(ring_hash(f"{n}#{i}"), n) for n in nodes for i in range(vnodes)]
    h = ring_hash(key)
    after = [p for p in points if p[0] >= h]
    return min(after or points)[1]


@given(node_sets, vnodes, keys)
def test_node_for_matches_the_first_node_clockwise(nodes: list[str], v: int, ks: list[str]) -> None:
    ring = HashRing(nodes, vnodes=v)
    for key in ks:
        assert ring.node_for(key) == oracle(nodes, v, key)


@given(node_sets, vnodes, keys, st.data())
def test_removing_a_node_moves_only_its_keys(
    nodes: list[str], v: int, ks: list[str], data: st.DataObject
) -> None:
    if len(nodes) < 2:
        return
    gone = data.draw(st.sampled_from(nodes))
    ring = HashRing(nodes, vnodes=v)
    before = {k: ring.node_for(k) for k in ks}
    ring.remove(gone)
    for k in ks:
        after = ring.node_for(k)
        assert after == oracle([n for n in nodes if n != gone], v, k)
        if before[k] != gone:
            assert after == before[k]  # a key of a surviving node stays put
        else:
            assert after != gone


@given(node_sets, names, vnodes, keys)
def test_adding_a_node_moves_keys_only_to_it(
    nodes: list[str], new: str, v: int, ks: list[str]
) -> None:
    if new in nodes:
        return
    ring = HashRing(nodes, vnodes=v)
    before = {k: ring.node_for(k) for k in ks}
    ring.add(new)
    for k in ks:
        assert ring.node_for(k) in (before[k], new)


def test_shares_sum_to_one_and_virtual_nodes_even_them_out() -> None:
    nodes = [f"cs-{i}" for i in range(8)]
    spread = {}
    for v in (1, 128):
        shares = HashRing(nodes, vnodes=v).shares()
        assert sum(shares.values()) == pytest.approx(1.0)
        spread[v] = max(shares.values()) / min(shares.values())
    assert spread[128] < spread[1]
    keys = [f"conv-{i}" for i in range(4000)]
    ring = HashRing(nodes, vnodes=128)
    counts = {n: 0 for n in nodes}
    for k in keys:
        counts[ring.node_for(k)] += 1
    for n in nodes:  # the key counts follow the arc shares (a loose, binomial bound)
        assert abs(counts[n] / len(keys) - ring.shares()[n]) < 0.05


@pytest.mark.parametrize(
    "call",
    [
        lambda r: r.node_for(""),
        lambda r: r.node_for(None),
        lambda r: r.node_for("\ud800"),
        lambda r: r.add("a"),
        lambda r: r.add(10**400),
        lambda r: r.remove("zz"),
        lambda r: r.remove(True),
        lambda r: r.points("x" * 500),
    ],
)
def test_bad_input_refused_and_ring_unchanged(call: object) -> None:
    ring = HashRing(["a", "b"], vnodes=4)
    before = (ring.nodes, ring._points[:])
    with pytest.raises(MessagingError):
        call(ring)  # type: ignore[operator]
    assert (ring.nodes, ring._points) == before


@pytest.mark.parametrize(
    "kwargs",
    [
        {"nodes": "ab"},
        {"nodes": None},
        {"nodes": ["a", "a"]},
        {"nodes": [""]},
        {"vnodes": 0},
        {"vnodes": True},
        {"vnodes": 10**400},
        {"vnodes": 1.5},
    ],
)
def test_bad_constructor_arguments(kwargs: dict[str, object]) -> None:
    with pytest.raises(MessagingError):
        HashRing(**{"nodes": ["a"], **kwargs})  # type: ignore[arg-type]


def test_an_empty_ring_routes_nothing() -> None:
    with pytest.raises(MessagingError, match="no nodes"):
        HashRing().node_for("general")
