"""``dpref bench autocomplete``: every structure, and the peers, on the same English words.

Full run: the 300,000 most frequent English words (``wordfreq``), 10,000 sampled prefixes of
1 to 4 characters and 10,000 one-character prefixes, ``complete(k=10)`` p50 and p99 for each,
build time (median of 3 builds), memory held (tracemalloc) and bytes per word, the saved
file's size, ``load`` time (median of 3; ``mmap`` too where the structure can map its file)
and ``increment`` cost. The peers (a plain sorted list
with bisect, ``pygtrie``, ``marisa-trie``, when installed) collect every match and take the ten
heaviest, on the first 1,000 of the same prefixes (they take milliseconds each). Every query
of ours runs three times and counts its median, so the scheduler of a busy machine does not
pose as the structure's tail latency (the peers' queries take milliseconds and run once).
Quick run: 20,000 words, 500 prefixes, 100 for the peers (seconds, for CI).
"""

from __future__ import annotations

import gc
import heapq
import math
import os
import pickle
import random
import statistics
import tempfile
import time
import tracemalloc
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from designpatterns_ref.autocomplete._floor import floor_table
from designpatterns_ref.autocomplete.base import Completer, _rank_key
from designpatterns_ref.autocomplete.corpus import english, sample_prefixes
from designpatterns_ref.autocomplete.frozen import FrozenCompleter
from designpatterns_ref.autocomplete.radix import RadixTrie
from designpatterns_ref.autocomplete.sorted_index import SortedPrefixIndex
from designpatterns_ref.autocomplete.text import successor
from designpatterns_ref.autocomplete.topk import TopKTrie
from designpatterns_ref.autocomplete.trie import Trie
from designpatterns_ref.benchkit import Table, frozen_heap, latencies, percentile

__all__ = ["FULL", "QUICK", "Row", "Scale", "Workload", "bench_steps", "measure", "peers"]

Items = list[tuple[str, int]]


@dataclass(frozen=True)
class Scale:
    """The size of one comparison."""

    words: int
    prefixes: int
    peer_prefixes: int
    increments: int
    seed: int = 7


FULL = Scale(words=300_000, prefixes=10_000, peer_prefixes=1_000, increments=20_000)
QUICK = Scale(words=20_000, prefixes=500, peer_prefixes=100, increments=2_000)

STRUCTURES: dict[str, Callable[[Items], Completer]] = {
    "Trie": Trie,
    "RadixTrie": RadixTrie,
    "TopKTrie": TopKTrie,
    "SortedPrefixIndex": SortedPrefixIndex,
    "FrozenCompleter": FrozenCompleter,
}


@dataclass
class Row:
    """One structure's figures (seconds and bytes; NaN where it does not apply)."""

    name: str
    build: float = math.nan
    memory: float = math.nan
    words: int = 0
    file: float = math.nan
    load: float = math.nan
    mapped: float = math.nan
    mixed: list[float] = field(default_factory=list)
    single: list[float] = field(default_factory=list)
    increment: float = math.nan

    def cells(self) -> list[object]:
        """The table row: µs for latencies and increments, MiB for memory, n/a where none."""

        def q(samples: list[float], p: float) -> float:
            return percentile(samples, p) * 1e6 if samples else math.nan

        values: list[object] = [
            self.build,
            self.memory / 2**20,
            self.memory / self.words if self.words else math.nan,
            self.file / 2**20,
            self.load * 1e3,
            self.mapped * 1e3,
            q(self.mixed, 50),
            q(self.mixed, 99),
            q(self.single, 50),
            q(self.single, 99),
            self.increment * 1e6,
            1 / self.increment if self.increment > 0 else math.nan,
        ]
        return [self.name] + ["n/a" if v != v else v for v in values]


COLUMNS = [
    "structure",
    "build s",
    "MiB",
    "B/word",
    "file MiB",
    "load ms",
    "mmap ms",
    "p50 µs",
    "p99 µs",
    "1-char p50",
    "1-char p99",
    "increment µs",
    "increments/s",
]


def _fresh_copy(items: Items) -> Items:
    """The items with new string objects, so tracemalloc charges them to the structure."""
    return [((term + "\0")[:-1], weight) for term, weight in items]


@dataclass(frozen=True)
class Files:
    """How a structure goes to a file and back: ``save(obj, path)``, ``load(path)`` and,
    where it can map its file read-only, ``mapped(path)``."""

    save: Callable[[Any, str], object]
    load: Callable[[str], object]
    mapped: Callable[[str], object] | None = None


def median_seconds(fn: Callable[[], object], runs: int = 3) -> float:
    """The median wall-clock time of ``runs`` calls (each after a collection).

    What a call returns is held until the clock is read, then freed: a build is timed without
    its teardown (freeing a 300,000-word trie's nodes costs a fifth of building them), as
    pytest-benchmark times it and as a server that builds once and keeps the structure pays.
    """
    times = []
    for _ in range(runs):
        gc.collect()
        start = time.perf_counter()
        made = fn()
        times.append(time.perf_counter() - start)
        del made
    return statistics.median(times)


def measure(
    name: str,
    build: Callable[[Items], object],
    query: Callable[[object, str], object],
    items: Items,
    mixed: list[str],
    single: list[str],
    bump: Callable[[object, str], object] | None,
    increments: list[str],
    runs: int = 3,
    files: Files | None = None,
) -> Row:
    """Build (under tracemalloc, then timed: the median of ``runs``), save and load, query both
    prefix sets, then increment.

    Each query's latency is the median of ``runs`` passes (see :func:`steady_latencies`).
    """
    row = Row(name, words=len(items))
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    copy = _fresh_copy(items)
    structure = build(copy)
    del copy
    gc.collect()  # a full collection empties the free lists the copy's tuples went back to
    row.memory = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    del structure
    row.build = median_seconds(lambda: build(items), runs)
    structure = build(items)
    if files is not None:
        with tempfile.TemporaryDirectory(prefix="dpref-bench-") as folder:
            path = os.path.join(folder, "words")
            files.save(structure, path)
            row.file = os.path.getsize(path)
            row.load = median_seconds(lambda: files.load(path), runs)
            if files.mapped is not None:
                mapped = files.mapped
                row.mapped = median_seconds(lambda: mapped(path), runs)
    gc.collect()
    gc.freeze()  # long-lived data out of the collector's way, as a server would do
    try:
        row.mixed = steady_latencies(lambda p: query(structure, p), mixed, runs)
        row.single = steady_latencies(lambda p: query(structure, p), single, runs)
        if bump is not None and increments:
            start = time.perf_counter()
            for term in increments:
                bump(structure, term)
            row.increment = (time.perf_counter() - start) / len(increments)
    finally:
        gc.unfreeze()
    return row


def steady_latencies(
    fn: Callable[[str], object], prefixes: list[str], runs: int = 3
) -> list[float]:
    """Seconds per call for each prefix: the median of ``runs`` passes over all prefixes.

    On a shared machine a single pass counts the scheduler's time slices (4 ms each) as query
    time; the per-prefix median keeps each query's own cost, tail included, and drops those.
    """
    passes = [latencies(fn, prefixes) for _ in range(runs)]
    return [statistics.median(samples) for samples in zip(*passes, strict=True)]


def _top10(matches: Iterable[str], weights: dict[str, int]) -> list[str]:
    return heapq.nsmallest(10, matches, key=lambda t: _rank_key(t, weights[t]))


class SortedListPeer:
    """The baseline: a sorted Python list, two bisects, then the ten heaviest matches."""

    def __init__(self, items: Items) -> None:
        self.weights = dict(items)
        self.terms = sorted(self.weights)

    def complete(self, prefix: str) -> list[str]:
        end = successor(prefix)
        lo = bisect_left(self.terms, prefix)
        hi = len(self.terms) if end is None else bisect_left(self.terms, end, lo)
        return _top10(self.terms[lo:hi], self.weights)

    def increment(self, term: str) -> None:
        self.weights[term] += 1

    def __len__(self) -> int:
        return len(self.terms)


def peers() -> dict[str, tuple[Callable[[Items], object], Callable[[object, str], object]]]:
    """The installed peers: name -> (build, query returning the ten best terms)."""

    def sorted_query(peer: Any, prefix: str) -> list[str]:
        answer: list[str] = peer.complete(prefix)
        return answer

    out: dict[str, tuple[Callable[[Items], object], Callable[[object, str], object]]] = {
        "sorted list + bisect": (SortedListPeer, sorted_query)
    }
    try:
        import pygtrie  # type: ignore[import-untyped,unused-ignore]

        def pygtrie_query(trie: object, prefix: str) -> list[str]:
            try:
                found = dict(trie.iteritems(prefix=prefix))  # type: ignore[attr-defined]
            except KeyError:
                return []
            return _top10(found, found)

        out["pygtrie"] = (lambda items: pygtrie.CharTrie(items), pygtrie_query)
    except ImportError:
        pass
    try:
        import marisa_trie  # type: ignore[import-not-found,unused-ignore]

        def marisa_build(items: Items) -> object:
            return marisa_trie.RecordTrie("<Q", [(t, (w,)) for t, w in items])

        def marisa_query(trie: Any, prefix: str) -> list[str]:
            found = {term: record[0] for term, record in trie.items(prefix)}
            return _top10(found, found)

        out["marisa-trie"] = (marisa_build, marisa_query)
    except ImportError:
        pass
    return out


def _pickle_save(obj: object, path: str) -> None:
    with open(path, "wb") as out:
        pickle.dump(obj, out, protocol=pickle.HIGHEST_PROTOCOL)


def _pickle_load(path: str) -> object:
    with open(path, "rb") as source:
        return pickle.load(source)


def peer_files() -> dict[str, Files]:
    """How each installed peer saves and loads: pickle for the pure-Python ones, marisa-trie's
    own ``save``, ``load`` and ``mmap``."""
    out = {"sorted list + bisect": Files(_pickle_save, _pickle_load), "pygtrie": Files(
        _pickle_save, _pickle_load
    )}  # fmt: skip
    try:
        import marisa_trie

        out["marisa-trie"] = Files(
            lambda trie, path: trie.save(path),
            lambda path: marisa_trie.RecordTrie("<Q").load(path),
            lambda path: marisa_trie.RecordTrie("<Q").mmap(path),
        )
    except ImportError:
        pass
    return out


def own_files(name: str) -> Files:
    """``save``/``load`` of one of our structures (and ``load(mmap=True)`` for the frozen one)."""
    cls: Any = STRUCTURES[name]
    mapped = (
        (lambda path: FrozenCompleter.load(path, mmap=True)) if name == "FrozenCompleter" else None
    )
    return Files(lambda obj, path: obj.save(path), cls.load, mapped)


@dataclass
class Workload:
    """The words and the sampled prefixes every structure and peer is measured on."""

    items: Items
    mixed: list[str]
    single: list[str]
    bumps: list[str]

    @classmethod
    def english(cls, scale: Scale) -> Workload:
        items = english(scale.words)
        rng = random.Random(scale.seed)
        return cls(
            items=items,
            mixed=sample_prefixes(items, scale.prefixes, seed=scale.seed),
            single=sample_prefixes(items, scale.prefixes, lengths=(1,), seed=scale.seed + 1),
            bumps=[rng.choice(items)[0] for _ in range(scale.increments)],
        )


def _complete(structure: Any, prefix: str) -> object:
    return structure.complete(prefix, 10)


def _increment(structure: Any, term: str) -> object:
    return structure.increment(term)


def bench_steps(quick: bool) -> list[tuple[str, Callable[[], list[Table]]]]:
    """The steps of ``dpref bench autocomplete``; the last returns the table."""
    scale = QUICK if quick else FULL
    loaded: list[Workload] = []
    rows: list[Row] = []

    def load() -> list[Table]:
        loaded.append(Workload.english(scale))
        return []

    def ours(name: str) -> Callable[[], list[Table]]:
        def step() -> list[Table]:
            w = loaded[0]
            bump = None if name == "FrozenCompleter" else _increment
            row = measure(
                name,
                STRUCTURES[name],
                _complete,
                w.items,
                w.mixed,
                w.single,
                bump,
                w.bumps,
                files=own_files(name),
            )
            rows.append(row)
            return []

        return step

    def peer(
        name: str, build: Callable[[Items], object], query: Callable[[object, str], object]
    ) -> Callable[[], list[Table]]:
        def step() -> list[Table]:
            w, n = loaded[0], scale.peer_prefixes
            # Milliseconds per query: one pass, a time slice is noise rather than the tail.
            row = measure(
                f"{name} (peer)",
                build,
                query,
                w.items,
                w.mixed[:n],
                w.single[:n],
                None,
                [],
                1,
                files=peer_files().get(name),
            )
            row.build = median_seconds(lambda: build(w.items))  # the build, like ours: 3 runs
            if name == "marisa-trie":  # its C++ heap is invisible to tracemalloc: count the
                row.memory = len(build(w.items).tobytes())  # type: ignore[attr-defined]
            rows.append(row)
            return []

        return step

    def report() -> list[Table]:
        table = Table(f"autocomplete: complete(k=10) on {scale.words:,} English words", COLUMNS)
        for row in rows:
            table.add(*row.cells())
        table.note = (
            f"p50/p99 over {scale.prefixes:,} sampled prefixes of 1-4 characters and "
            f"{scale.prefixes:,} one-character prefixes ({scale.peer_prefixes:,} of each for the "
            "peers, which collect every match), ours the median of 3 runs; build and load "
            "times the median of 3; MiB and bytes per word held after the build "
            "(tracemalloc; for marisa-trie, whose C++ heap tracemalloc cannot see, the size of "
            "its serialised trie); file MiB of save(path) (pickle for the pure-Python peers); "
            "mmap ms: load(path, mmap=True), marisa-trie's mmap(path); "
            f"increment: µs per increment(term) over {scale.increments:,} random terms."
        )
        return [table]

    def floor() -> list[Table]:
        builders = {**STRUCTURES, "sorted list + bisect (peer)": SortedListPeer}
        return [floor_table(loaded[0].items, builders, "sorted list + bisect (peer)")]

    steps: list[tuple[str, Callable[[], list[Table]]]] = [("load English words", load)]
    steps.append(("build floor", floor))
    steps += [(name, ours(name)) for name in STRUCTURES]
    steps += [(f"peer: {name}", peer(name, *pair)) for name, pair in peers().items()]
    steps.append(("report", report))
    return [(name, _frozen(step)) for name, step in steps]


def _frozen(step: Callable[[], list[Table]]) -> Callable[[], list[Table]]:
    """``step`` run under :func:`~designpatterns_ref.benchkit.frozen_heap`: its collections
    skip what the process already held."""

    def run() -> list[Table]:
        with frozen_heap():
            return step()

    return run
