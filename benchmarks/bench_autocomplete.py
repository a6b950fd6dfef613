"""Autocomplete benchmarks: complete(k=10), build, load and increment on real English words.

``pytest benchmarks/bench_autocomplete.py --benchmark-only`` times each structure on the
300,000-word ``wordfreq`` vocabulary (20,000 words under ``--benchmark-disable``, CI's quick
mode), the builds and loads beside the peers' (a sorted list, marisa-trie) in the same run;
``dpref bench autocomplete`` prints the full table with p50, p99, memory and file sizes.
"""

from __future__ import annotations

import gc
import itertools
from collections.abc import Callable
from typing import Any

import pytest

from designpatterns_ref.autocomplete import (
    BruteForceCompleter,
    FrozenCompleter,
    RadixTrie,
    SortedPrefixIndex,
    TopKTrie,
    Trie,
)
from designpatterns_ref.autocomplete._bench import (
    QUICK,
    bench_steps,
    own_files,
    peer_files,
    peers,
)
from designpatterns_ref.autocomplete._floor import floor_parts
from designpatterns_ref.autocomplete.corpus import english, sample_prefixes

pytest.importorskip("wordfreq")

STRUCTURES: dict[str, Callable[..., Any]] = {
    "Trie": Trie,
    "RadixTrie": RadixTrie,
    "TopKTrie": TopKTrie,
    "SortedPrefixIndex": SortedPrefixIndex,
    "FrozenCompleter": FrozenCompleter,
}


@pytest.fixture(scope="module")
def words(quick: bool) -> list[tuple[str, int]]:
    return english(QUICK.words if quick else 300_000)


@pytest.fixture(scope="module")
def built(words: list[tuple[str, int]]) -> dict[str, Any]:
    return {name: cls(words) for name, cls in STRUCTURES.items()}


@pytest.mark.parametrize("length", [1, 3])
@pytest.mark.parametrize("name", list(STRUCTURES))
def test_complete(
    benchmark: Any, built: dict[str, Any], words: list[tuple[str, int]], name: str, length: int
) -> None:
    completer = built[name]
    prefixes = itertools.cycle(sample_prefixes(words, 1_000, lengths=(length,), seed=length))
    result = benchmark(lambda: completer.complete(next(prefixes), 10))
    assert len(result) <= 10


@pytest.mark.parametrize("name", [n for n in STRUCTURES if n != "FrozenCompleter"])
def test_increment(
    benchmark: Any, built: dict[str, Any], words: list[tuple[str, int]], name: str
) -> None:
    completer = built[name]
    terms = itertools.cycle([t for t, _ in words[::7]])
    benchmark(lambda: completer.increment(next(terms)))


BUILDERS: dict[str, Callable[..., Any]] = {
    **STRUCTURES,
    **{f"{name} (peer)": build for name, (build, _) in peers().items() if name != "pygtrie"},
}


@pytest.mark.parametrize("name", list(BUILDERS))
def test_build(benchmark: Any, words: list[tuple[str, int]], name: str) -> None:
    # The whole vocabulary, ours and the peers' in the same run: compare the ratios.
    benchmark.pedantic(BUILDERS[name], args=(words,), rounds=3, iterations=1)


@pytest.mark.parametrize("name", ["Trie", "RadixTrie", "TopKTrie", "sorted list + bisect (peer)"])
def test_build_and_collect(benchmark: Any, words: list[tuple[str, int]], name: str) -> None:
    # A bulk build pauses the cyclic collector, which leaves one pass over the new objects to
    # the next collection: this times the build with that pass, beside the sorted list's.
    kept: list[object] = []

    def build_and_collect() -> None:
        kept.append(BUILDERS[name](words))
        gc.collect()

    def setup() -> None:  # the previous round's structure freed, and collected, untimed
        kept.clear()
        gc.collect()

    benchmark.pedantic(build_and_collect, setup=setup, rounds=3, iterations=1)


FLOOR = list(floor_parts(english(50)))


@pytest.mark.parametrize("part", FLOOR)
def test_build_floor(benchmark: Any, words: list[tuple[str, int]], part: str) -> None:
    # What a build cannot avoid (autocomplete._floor), beside test_build's whole builds.
    run, _, _ = floor_parts(words)[part]
    benchmark.pedantic(run, rounds=3, iterations=1)


LOADERS = {
    **{name: own_files(name) for name in STRUCTURES},
    **{f"{name} (peer)": files for name, files in peer_files().items() if name != "pygtrie"},
}


LOADS = [(name, False) for name in LOADERS]
LOADS += [(name, True) for name, files in LOADERS.items() if files.mapped is not None]


@pytest.mark.parametrize(
    ("name", "mapped"), LOADS, ids=[f"{n}-{'mmap' if m else 'read'}" for n, m in LOADS]
)
def test_load(
    benchmark: Any,
    words: list[tuple[str, int]],
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    mapped: bool,
) -> None:
    files = LOADERS[name]
    path = str(tmp_path_factory.mktemp("load") / "words")
    files.save(BUILDERS[name](words), path)
    load = files.mapped if mapped and files.mapped is not None else files.load
    loaded = benchmark.pedantic(load, args=(path,), rounds=3, iterations=1)
    assert len(loaded) == len(words)  # type: ignore[arg-type]


def test_structures_and_peers_agree_with_the_oracle(words: list[tuple[str, int]]) -> None:
    subset = words[:5_000]  # fresh structures: the benchmarks above changed weights
    oracle = BruteForceCompleter(subset)
    built = [cls(subset) for cls in STRUCTURES.values()]
    rivals = {name: (build(subset), query) for name, (build, query) in peers().items()}
    for prefix in sample_prefixes(subset, 30, seed=11):
        expected = oracle.complete(prefix, 10)
        for completer in built:
            assert completer.complete(prefix, 10) == expected
        for peer, query in rivals.values():
            assert query(peer, prefix) == [c.term for c in expected]


def test_bench_steps_quick_run() -> None:
    tables = [table for _, step in bench_steps(True) for table in step()]
    assert len(tables) == 2
    floor, main = tables
    names = [row[0] for row in main.rows]
    assert names[:5] == list(STRUCTURES)
    parts = [row[0] for row in floor.rows]
    assert parts[:6] == list(floor_parts(english(50)))
    assert parts[6:] == [f"{name}: whole build" for name in STRUCTURES] + [
        "sorted list + bisect (peer): whole build"
    ]
    assert floor.rows[-1][3] == "1.00"  # the sorted list, against itself
