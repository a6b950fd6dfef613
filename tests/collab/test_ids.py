"""Known ranges and versions against the readable merge they replaced, and a set of ints."""

from __future__ import annotations

import itertools
import random
import tracemalloc

from hypothesis import given
from hypothesis import strategies as st

from designpatterns_ref.collab import Version
from designpatterns_ref.collab.ids import _add, _first_gap, _union


def _reference_add(bounds: list[int], start: int, end: int) -> None:
    """The ranges as they were kept: every pair listed, sorted and merged again."""
    pairs = [(bounds[i], bounds[i + 1]) for i in range(0, len(bounds), 2)] + [(start, end)]
    pairs.sort()
    merged: list[int] = []
    for s, e in pairs:
        if merged and s <= merged[-1]:
            merged[-1] = max(merged[-1], e)
        else:
            merged += [s, e]
    bounds[:] = merged


def _covered(bounds: list[int] | tuple[int, ...]) -> set[int]:
    return {x for k in range(0, len(bounds), 2) for x in range(bounds[k], bounds[k + 1])}


RANGES = st.lists(
    st.tuples(st.integers(0, 60), st.integers(1, 6)).map(lambda p: (p[0], p[0] + p[1])),
    max_size=40,
)


@given(RANGES)
def test_add_keeps_the_ranges_the_full_merge_keeps(ranges: list[tuple[int, int]]) -> None:
    fast: list[int] = []
    slow: list[int] = []
    seen: set[int] = set()
    for start, end in ranges:
        _add(fast, start, end)
        _reference_add(slow, start, end)
        seen |= set(range(start, end))
        assert fast == slow
        assert _covered(fast) == seen
        assert all(a < b for a, b in itertools.pairwise(fast))  # strictly increasing


@given(RANGES, st.integers(0, 60), st.integers(0, 30))
def test_first_gap_is_the_first_id_not_covered(
    ranges: list[tuple[int, int]], start: int, length: int
) -> None:
    """Oracle: the ids themselves, one at a time."""
    bounds: list[int] = []
    for s, e in ranges:
        _add(bounds, s, e)
    seen = _covered(bounds)
    missing = [x for x in range(start, start + length) if x not in seen]
    assert _first_gap(bounds, start, start + length) == (missing[0] if missing else None)


@given(RANGES, RANGES)
def test_union_is_the_union_of_the_sets(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> None:
    va, vb = Version({"x": a, "y": a[:3]}), Version({"x": b, "z": b[:2]})
    both = va | vb
    assert both == vb | va
    for agent in ("x", "y", "z"):
        mine = va._bounds.get(agent, ())
        theirs = vb._bounds.get(agent, ())
        expected = list(mine)
        for k in range(0, len(theirs), 2):
            _reference_add(expected, theirs[k], theirs[k + 1])
        assert list(both._bounds.get(agent, ())) == expected
        assert _covered(_union(mine, theirs)) == _covered(mine) | _covered(theirs)
    assert va <= both and vb <= both


def test_a_range_out_of_order_costs_no_copy_of_the_list() -> None:
    """Marking one range covered among 50,000 builds nothing the size of the list (the full
    merge listed every pair again: megabytes, and quadratic time for out-of-order arrivals)."""
    bounds: list[int] = []
    for k in range(50_000):
        _add(bounds, 4 * k, 4 * k + 1)
    expected = list(bounds)
    added = [(2, 3), (4 * 25_000 + 1, 4 * 25_001)]  # between the first two; joins two
    tracemalloc.start()
    try:
        for start, end in added:
            _add(bounds, start, end)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10_000
    for start, end in added:
        _reference_add(expected, start, end)
    assert bounds == expected


class _Counted(list[int]):
    """Boundaries that count how often they are read."""

    reads = 0

    def __getitem__(self, i):  # type: ignore[no-untyped-def]
        _Counted.reads += 1
        return super().__getitem__(i)


def test_union_of_interleaved_versions_is_one_merge() -> None:
    """Two versions whose 5,000 ranges interleave merge in one pass: each boundary is read a
    few times, not once for every range merged before it."""
    n = 5_000
    a = _Counted(x for i in range(n) for x in (4 * i, 4 * i + 1))
    b = _Counted(x for i in range(n) for x in (4 * i + 2, 4 * i + 3))
    _Counted.reads = 0
    merged = _union(a, b)
    assert _Counted.reads <= 4 * (len(a) + len(b))
    assert merged == sorted([*a, *b])
    version = Version({"x": list(zip(a[::2], a[1::2], strict=True))})
    other = Version({"x": list(zip(b[::2], b[1::2], strict=True))})
    assert len((version | other).ranges()["x"]) == 2 * n


def test_shuffled_ranges_cover_what_sorted_ones_do() -> None:
    order = list(range(0, 20_000, 2))
    random.Random(0).shuffle(order)
    bounds: list[int] = []
    for s in order:
        _add(bounds, s, s + 1)
    assert bounds == [x for s in range(0, 20_000, 2) for x in (s, s + 1)]
