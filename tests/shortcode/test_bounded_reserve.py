"""A counter's reservation below a bound, and a range allocator whose code space runs out.

``reserve(n, limit=L)`` takes up to ``n`` numbers, all below ``L``, in one atomic step: the
block is ``[first, min(first + n, L))``, and when ``first >= L`` nothing is taken and
SpaceExhausted is raised with the counter unchanged. Every backend (memory, SQLite, Redis, a
Redis Cluster) is compared with a plain-integer model of that rule, near ``COUNTER_MAX`` too.
A RangeAllocator passes its code space as the bound, so a refused ``allocate`` moves neither
the shared counter nor the allocator.
"""

from __future__ import annotations

import itertools
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.shortcode import (
    MemoryCounter,
    RangeAllocator,
    RedisCounter,
    ShortCodeError,
    SpaceExhausted,
    SQLiteCounter,
)
from designpatterns_ref.shortcode.ranges import COUNTER_MAX

MakeCounter = Callable[[int], tuple[Any, Callable[[], int]]]
_keys = itertools.count()


@pytest.fixture(params=["memory", "sqlite", "redis", "cluster"])
def counter_at(request: pytest.FixtureRequest) -> Iterator[MakeCounter]:
    """``make(start)``: a fresh counter whose next number is ``start``, and a reader of it."""
    opened: list[Any] = []
    folder = tempfile.TemporaryDirectory()

    def make(start: int) -> tuple[Any, Callable[[], int]]:
        if request.param == "memory":
            c = MemoryCounter(start)
            return c, lambda: int(repr(c).split("=")[1].rstrip(")"))
        if request.param == "sqlite":
            path = Path(folder.name) / f"c{next(_keys)}.db"
            c = SQLiteCounter(path, start=start)
            opened.append(c)

            def read() -> int:
                with sqlite3.connect(path) as conn:
                    return int(conn.execute("SELECT next FROM shortcode_counters").fetchone()[0])

            return c, read
        if request.param == "redis":
            client = request.getfixturevalue("redis_url")
        else:
            client = request.getfixturevalue("redis_cluster_client")
        key = f"test:bounded:{next(_keys)}"
        rc = RedisCounter(client, key=key)
        if start:
            rc.client.set(key, start)
        return rc, lambda: int(rc.client.get(key) or 0)

    yield make
    for c in opened:
        c.close()
    folder.cleanup()


def model(value: int, n: int, limit: int | None) -> tuple[int, int] | None:
    """(first, new value) of ``reserve(n, limit)`` on a counter at ``value``, or None if refused."""
    if limit is not None and value >= limit:
        return None
    take = n if limit is None else min(n, limit - value)
    if value + take > COUNTER_MAX:
        return None
    return value, value + take


sizes = st.one_of(st.integers(1, 40), st.sampled_from([1000, COUNTER_MAX - 1, COUNTER_MAX]))
limits = st.one_of(
    st.none(),
    st.integers(0, 120),
    st.sampled_from([COUNTER_MAX - 1, COUNTER_MAX, COUNTER_MAX + 1, 62**11, 10**400]),
)
starts = st.one_of(st.integers(0, 100), st.sampled_from([COUNTER_MAX - 5, COUNTER_MAX]))


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(start=starts, calls=st.lists(st.tuples(sizes, limits), min_size=1, max_size=8))
@example(start=62, calls=[(1000, 62), (1000, 62), (1000, None)])  # at the bound: refused
@example(start=60, calls=[(1000, 62), (5, 62)])  # a partial block, then refused
@example(start=COUNTER_MAX - 5, calls=[(10, COUNTER_MAX), (10, COUNTER_MAX)])
@example(start=COUNTER_MAX - 5, calls=[(10, COUNTER_MAX + 1), (3, 10**400)])  # past the max
@example(start=0, calls=[(5, 0)])  # no number below 0
def test_reserve_below_a_limit_matches_the_model(
    counter_at: MakeCounter, start: int, calls: list[tuple[int, int | None]]
) -> None:
    counter, read = counter_at(start)
    value = start
    for n, limit in calls:
        expected = model(value, n, limit)
        if expected is None:
            with pytest.raises(SpaceExhausted, match="unchanged"):
                counter.reserve(n, limit=limit)
        else:
            assert counter.reserve(n, limit=limit) == expected[0]
            value = expected[1]
        assert read() == value


def test_reserve_refuses_a_bad_limit(counter_at: MakeCounter) -> None:
    counter, read = counter_at(7)
    for bad in (-1, 1.5, True, "10", float("nan")):
        with pytest.raises(ShortCodeError, match="limit="):
            counter.reserve(3, limit=bad)
    assert read() == 7


def test_a_refused_allocate_moves_nothing(counter_at: MakeCounter) -> None:
    # width=1 holds the numbers 0..61: a counter at 60 leases [60, 62) only, then refuses.
    counter, read = counter_at(60)
    alloc = RangeAllocator(counter, block=1000, width=1)
    assert [alloc.allocate(), alloc.allocate()] == ["y", "z"]
    assert read() == 62 and alloc.leases == 1
    state = repr(alloc)
    for _ in range(3):
        with pytest.raises(SpaceExhausted):
            alloc.allocate()
        with pytest.raises(SpaceExhausted):
            RangeAllocator(counter, block=1000, width=1).allocate()
    assert read() == 62 and alloc.leases == 1 and repr(alloc) == state
    assert alloc.remaining() == 0


@settings(max_examples=60, deadline=None)
@given(
    start=st.integers(0, 70),
    blocks=st.lists(st.integers(1, 30), min_size=1, max_size=4),
    picks=st.lists(st.integers(0, 3), max_size=90),
)
@example(start=62, blocks=[1000], picks=[0, 0])
@example(start=0, blocks=[50, 50], picks=[0, 1, 1, 0])
def test_range_allocators_hand_out_exactly_the_codes_below_the_space(
    start: int, blocks: list[int], picks: list[int]
) -> None:
    # Brute force: the numbers with codes are 0..61 (width=1); whatever the blocks, allocators
    # hand out distinct numbers from [start, 62), a refusal comes only when every number the
    # allocator could still get is gone, and the counter never passes 62 because of them.
    counter = MemoryCounter(start)
    allocs = [RangeAllocator(counter, block=b, width=1) for b in blocks]
    got: list[int] = []
    for i in picks:
        alloc = allocs[i % len(allocs)]
        before = (repr(alloc), alloc.leases, repr(counter))
        try:
            got.append(alloc.next_number())
        except SpaceExhausted:
            assert (repr(alloc), alloc.leases, repr(counter)) == before
            assert (
                alloc.remaining() == 0 and repr(counter) == f"MemoryCounter(next={max(start, 62)})"
            )
    assert len(got) == len(set(got))
    assert all(start <= n < 62 for n in got)
    assert repr(counter) in {f"MemoryCounter(next={v})" for v in range(start, max(start, 62) + 1)}


def test_bounded_reservations_from_many_threads_cover_the_space_once(
    counter_at: MakeCounter,
) -> None:
    # Eight threads reserve blocks of 7 below 250 until refused: the blocks they get tile
    # [0, 250) exactly (the last one cut at 250), and every later call is refused.
    counter, read = counter_at(0)
    blocks: list[tuple[int, int]] = []
    lock = threading.Lock()

    def work() -> None:
        while True:
            try:
                first = counter.reserve(7, limit=250)
            except SpaceExhausted:
                return
            with lock:
                blocks.append((first, min(first + 7, 250)))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    numbers = sorted(n for first, end in blocks for n in range(first, end))
    assert numbers == list(range(250))
    assert read() == 250
