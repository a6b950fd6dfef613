"""Readers in many threads at once get the answers one thread gets.

The package promises that a completer nobody updates may be read from any number of threads
(a FrozenCompleter always; the others while no thread updates them). The interpreter is made
to switch threads as often as it can, so a reader is interrupted inside a search or, for a
FrozenCompleter with blocks of 1 or 2 terms, inside the swap of its recently opened blocks.
"""

from __future__ import annotations

import random
import threading
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

_RNG = random.Random(7)
ITEMS = [
    ("".join(_RNG.choices("abcd", k=_RNG.randint(1, 6))), _RNG.randint(0, 9)) for _ in range(300)
]
ASKS = [
    (p, k, e)
    for p in ["", "a", "abc", "dd", "cab", "abcd", "bcda"]
    for k in (1, 30)
    for e in (0, 1, 2)
]


def frozen(block: int) -> Any:
    return type(f"Frozen{block}", (FrozenCompleter,), {"BLOCK": block})


@pytest.mark.usefixtures("busy_switching")
@pytest.mark.parametrize(
    "cls", [Trie, RadixTrie, TopKTrie, SortedPrefixIndex, frozen(1), frozen(2), FrozenCompleter]
)
def test_concurrent_readers_get_the_single_threaded_answers(cls: Any) -> None:
    oracle = BruteForceCompleter(ITEMS)
    want = {ask: oracle.complete(ask[0], ask[1], max_edits=ask[2]) for ask in ASKS}
    completer = cls(ITEMS)
    failures: list[object] = []

    def read(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(60):
                ask = rng.choice(ASKS)
                if completer.complete(ask[0], ask[1], max_edits=ask[2]) != want[ask]:
                    failures.append(ask)
                term, _ = rng.choice(ITEMS)
                if completer.weight(term) != oracle.weight(term) or term not in completer:
                    failures.append(term)
        except Exception as exc:  # reported below, with the seed
            failures.append((seed, exc))

    threads = [threading.Thread(target=read, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
