"""Hostile values at the sharding helpers: ShardingError naming the argument, nothing changed."""

from __future__ import annotations

import math
from hashlib import md5
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from designpatterns_ref.sharding import RendezvousPlacement, ShardingError, crc16, ketama_points
from designpatterns_ref.sharding.logical import page_fanout

HOSTILE: tuple[Any, ...] = (
    None, True, False, -1, math.nan, math.inf, 10**400, "", "x" * 10_000, "\ud800", "a\x00b",
    b"bytes", [], ["a"], {}, (), object(), 1.5, 1j,
)  # fmt: skip


def _state(p: RendezvousPlacement) -> object:
    return (repr(p), p.shards, [p.score(s, "k") for s in p.shards])


def test_rendezvous_score_refuses_unknown_shards_and_bad_keys() -> None:
    p = RendezvousPlacement(["a", "b", "c"], weights={"c": 2.0})
    before = _state(p)
    for shard in (*HOSTILE, "zzz"):
        with pytest.raises(ShardingError, match="shard"):
            p.score(shard, "k")
        assert _state(p) == before
    with pytest.raises(ShardingError, match=r"shard='zzz'.*'a', 'b', 'c'"):
        p.score("zzz", "k")  # names the shards that are allowed
    for key in (None, True, 1.5, "\ud800", ["a"], 10**400):
        with pytest.raises(ShardingError, match="key"):
            p.score("a", key)
        assert _state(p) == before


@given(key=st.text(max_size=12) | st.integers(0, 2**64))
def test_rendezvous_score_picks_the_shard_for(key: str | int) -> None:
    p = RendezvousPlacement(["a", "b", "c", "d"], weights={"b": 3.0})
    assert max(p.shards, key=lambda s: p.score(s, key)) == p.shard_for(key)


def _ketama_reference(name: str, count: int) -> list[int]:
    """ketama's layout, written out: four little-endian words of MD5("name-i") per node."""
    out = []
    for i in range(count):
        digest = md5(f"{name}-{i}".encode()).digest()
        out += [int.from_bytes(digest[4 * r : 4 * r + 4], "little") for r in range(4)]
    return out


@given(count=st.integers(-(10**6), 200) | st.sampled_from([10**400, 2**63]))
@example(count=-1)
@example(count=0)
@example(count=1)
def test_ketama_points_count_is_a_whole_number_or_refused(count: int) -> None:
    if 0 <= count <= 200:
        assert ketama_points("a", count) == _ketama_reference("a", count)
    else:
        with pytest.raises(ShardingError, match="count"):
            ketama_points("a", count)


def test_ketama_points_refuses_hostile_names_and_counts() -> None:
    for value in HOSTILE:
        if not (isinstance(value, str) and value and "\x00" not in value and value != "\ud800"):
            with pytest.raises(ShardingError, match="name"):
                ketama_points(value, 2)
        if not (type(value) is int and value >= 0 and value < 10**6):
            with pytest.raises(ShardingError, match="count"):
                ketama_points("a", value)
    with pytest.raises(ShardingError, match="count"):
        ketama_points("a", 1.5)  # type: ignore[arg-type]


@given(data=st.binary(max_size=40))
@example(data=b"123456789")
def test_crc16_takes_bytes_and_bytearray_alike(data: bytes) -> None:
    assert crc16(bytearray(data)) == crc16(data)


def test_crc16_refuses_everything_but_bytes() -> None:
    for value in (None, 5, "\ud800", "abc", 1.5, True, [1, 2], object()):
        with pytest.raises(ShardingError, match="data"):
            crc16(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("blocks", "where"),
    [
        (None, "blocks"),
        ("ab", "blocks"),
        (b"ab", "blocks"),
        (5, "blocks"),
        ([(1,)], r"blocks\[0\]"),
        ([1], r"blocks\[0\]"),
        ([(1, 2, 3)], r"blocks\[0\]"),
        ([(1, 2), "ab"], r"blocks\[1\]"),
        ([(None, 1)], r"blocks\[0\]\[0\]"),
        ([(1, 1.5)], r"blocks\[0\]\[1\]"),
        ([(1, "\ud800")], r"blocks\[0\]\[1\]"),
        ([(10**400, 1)], r"blocks\[0\]\[0\]"),
    ],
    ids=repr,
)
def test_page_fanout_refuses_bad_blocks(blocks: object, where: str) -> None:
    with pytest.raises(ShardingError, match=where):
        page_fanout(blocks)  # type: ignore[arg-type]


@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 10**6)), max_size=30))
def test_page_fanout_counts_distinct_shards(blocks: list[tuple[int, int]]) -> None:
    by_ws, by_block = page_fanout(blocks, logical=16)
    assert page_fanout(tuple(blocks), logical=16) == (by_ws, by_block)  # any sequence
    assert by_ws <= len({w for w, _ in blocks}) and by_block <= len({b for _, b in blocks})
    assert (by_ws == 0) == (by_block == 0) == (not blocks)


def test_create_refuses_a_bad_fence_and_creates_nothing(tmp_path: Any) -> None:
    from designpatterns_ref.sharding.sql import SQLiteShards

    databases = SQLiteShards(tmp_path)
    hostile = [v for v in HOSTILE if v is not None]  # None: no fence, a plain shard
    for fence in (*hostile, "from:", "-80,", "to:-", "-80;DROP TABLE orders"):
        with pytest.raises(ShardingError, match="fence="):
            databases.create("-80", fence=fence)
    assert not databases.path("-80").exists()  # refused before the database was touched
    databases.create("-80", fence="from:-")
    databases.create("-80", fence="from:-")  # idempotent
    assert databases.query("-80", "SELECT moved_to FROM denied_writes") == [("from:-",)]
    databases.close()


@pytest.mark.parametrize("table", [[("a", 1)], 5, "ab", 0, ("a",)])
def test_lookup_vindex_refuses_a_table_that_is_not_a_dict(table: Any) -> None:
    from designpatterns_ref.sharding.keyspace import LookupVindex

    with pytest.raises(ShardingError, match=r"table=.* must be a dict"):
        LookupVindex(table)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda p, J: p.moved_fraction(J, 3, keys=0), "keys=0"),
        (lambda p, J: p.moved_fraction(J, 0, keys=10), "n=0"),
        (lambda p, J: p.moved_fraction(None, 3, keys=10), "make=None"),
        (lambda p, J: p.imbalance(J, 3, keys=0), "keys=0"),
        (lambda p, J: p.imbalance(J, 3, keys=-5), "keys=-5"),
        (lambda p, J: p.plot_growth([0], keys=10), r"sizes\[...\]=0"),
        (lambda p, J: p.plot_growth([], keys=10), "sizes=.* non-empty"),
        (lambda p, J: p.plot_growth([2], keys="x"), "keys='x'"),
        (lambda p, J: p.plot_growth([2], keys=10, schemes={"j": 3}), "schemes="),
        (lambda p, J: p.plot_load(2.5, keys=10), "n=2.5"),
        (lambda p, J: p.plot_lookup_cost([2], keys=True), "keys=True"),
    ],
)
def test_the_placement_measures_and_plots_refuse_bad_arguments(call: Any, message: str) -> None:
    from designpatterns_ref.sharding import JumpPlacement, plot

    with pytest.raises(ShardingError, match=message):
        call(plot, JumpPlacement)
