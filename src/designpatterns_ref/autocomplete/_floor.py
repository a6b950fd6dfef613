"""What a build cannot avoid: the parts every constructor of a structure must pay for, timed
beside the sorted list's whole build (``dpref bench autocomplete``, step "build floor").

Case study: Design a Search Autocomplete System (docs/case-studies/search-autocomplete.md)

A build's cost is a sum of parts, and some parts are the same for any implementation of the
structure's design in Python: the input check every constructor runs (a clear error for a
bad pair); the terms sorted, with their rank keys and the weight table the tries keep for
``weight`` and ``increment``, or with their positions; one Python object per node of a trie,
made by ``map`` calling ``Node`` (the tries' builds set the slots of ``object.__new__(Node)``
in their loop, about 15 % cheaper a node); and, for ``FrozenCompleter``, one compressor
call per block. Their sum is a *floor*: the structure's build cannot be cheaper, whatever its
loop does, and what the build costs above it is the loop that links the nodes. Each part is
timed alone, in process CPU time, interleaved with the whole builds and the sorted list's, so
that all see the same machine.

The reference for each count (nodes, blocks) is the structure itself: :func:`trie_nodes`
counts the nodes of a character trie from the sorted terms, one per distinct prefix, and a
test checks it against a built ``Trie``.
"""

from __future__ import annotations

import gc
import statistics
import time
import zlib
from collections.abc import Callable
from functools import partial
from itertools import repeat

from designpatterns_ref.autocomplete._shared import check_pairs
from designpatterns_ref.autocomplete._tree import Node, sorted_keys
from designpatterns_ref.benchkit import Table

Items = list[tuple[str, int]]

__all__ = ["floor_parts", "floor_table", "trie_nodes"]


def trie_nodes(alphabetical: list[str]) -> int:
    """The nodes of a character trie of the sorted, distinct terms: the root and one per
    distinct prefix (each term adds the characters past its common prefix with the one
    before it)."""
    nodes, prev = 1, ""
    for term in alphabetical:
        shared = 0
        limit = min(len(prev), len(term))
        while shared < limit and prev[shared] == term[shared]:
            shared += 1
        nodes += len(term) - shared
        prev = term
    return nodes


def _cpu(fn: Callable[[], object]) -> float:
    """The process CPU time of one call, what it made held until the clock is read (a part
    or a build is timed without its teardown, as ``_bench.median_seconds`` times builds)."""
    gc.collect()
    paused = gc.isenabled()
    gc.disable()  # as the builds run (bulk_build pauses the collector)
    try:
        start = time.process_time()
        made = fn()
        spent = time.process_time() - start
        del made
        return spent
    finally:
        if paused:
            gc.enable()


def floor_parts(items: Items) -> dict[str, tuple[Callable[[], object], int, str]]:
    """Each part a build cannot avoid: name -> (the part, run alone; how many things it makes
    or handles; which builds pay it)."""
    terms, weights = check_pairs(items, False)
    _, alphabetical, keys = sorted_keys(terms, weights)
    labels = [term[-1] for term in alphabetical]  # any one-character labels will do
    chars = trie_nodes(alphabetical) - 1
    many = (labels * (chars // len(labels) + 1))[:chars] if labels else []
    block = 64  # FrozenCompleter.BLOCK
    texts = [
        "\0".join(alphabetical[i : i + block]).encode("utf-8", "surrogatepass")
        for i in range(0, len(alphabetical), block)
    ]

    def deflate() -> None:
        for text in texts:
            zlib.compress(text, 6, -15)

    return {
        "input check (types, weights, NFC)": (
            lambda: check_pairs(items, False),
            len(items),
            "every structure",
        ),
        "rank keys sorted by term, and the weight table": (
            lambda: sorted_keys(terms, weights),
            len(keys),
            "the three tries",
        ),
        "positions, sorted by term": (
            lambda: sorted(range(len(terms)), key=terms.__getitem__),
            len(terms),
            "FrozenCompleter",
        ),
        "one bare Node per term": (
            lambda: list(map(Node, alphabetical, keys)),
            len(keys),
            "RadixTrie (at least one node a term)",
        ),
        "one bare Node per character node": (
            lambda: list(map(Node, many, repeat(None))),
            chars,
            "Trie, TopKTrie (one node a character)",
        ),
        f"raw DEFLATE, one stream per {block} terms": (
            deflate,
            len(texts),
            "FrozenCompleter (the terms' text only)",
        ),
    }


def floor_table(
    items: Items, builders: dict[str, Callable[[Items], object]], baseline: str, runs: int = 3
) -> Table:
    """The parts of :func:`floor_parts` and the whole builds of ``builders`` (which holds the
    ``baseline``, the sorted list), CPU seconds (median of ``runs``, all interleaved) and each
    as a multiple of the baseline's build."""
    parts = floor_parts(items)
    timed: dict[str, Callable[[], object]] = {name: fn for name, (fn, _, _) in parts.items()}
    timed |= {f"{name}: whole build": partial(b, items) for name, b in builders.items()}
    times: dict[str, list[float]] = {name: [] for name in timed}
    for _ in range(runs):
        for name, fn in timed.items():
            times[name].append(_cpu(fn))
    base = statistics.median(times[f"{baseline}: whole build"])
    table = Table(
        f"autocomplete: what a build cannot avoid ({len(items):,} English words)",
        ["part", "count", "CPU s", "× sorted list", "paid by"],
    )
    for name, samples in times.items():
        count, who = parts[name][1:] if name in parts else (len(items), "")
        median = statistics.median(samples)
        table.add(name, count, median, median / base, who)
    table.note = (
        f"process CPU time, median of {runs}, the parts and the builds interleaved, the "
        "collector paused as in a build; a structure's floor is the sum of the parts it pays"
    )
    return table
