# %% [markdown]
# # Design a Search Autocomplete System
#
# Typing "iph" should show "iPhone 15" in well under 100 ms, and the network takes most of
# that budget: the completion itself has a few hundred microseconds at most. This script loads
# a real vocabulary (the most frequent English words, from the `wordfreq` package), builds each
# structure of `designpatterns_ref.autocomplete`, then types a word letter by letter and shows
# what every structure suggests and how long it took. All of them give the same answer; they
# differ in time, memory and what an update costs.

# %%
from __future__ import annotations

import os
import time

import designpatterns_ref as dp
from designpatterns_ref.autocomplete import (
    BruteForceCompleter,
    FrozenCompleter,
    RadixTrie,
    SortedPrefixIndex,
    TopKTrie,
    Trie,
)
from designpatterns_ref.autocomplete.corpus import english
from designpatterns_ref.autocomplete.plot import plot_keystrokes, plot_trie

WORDS = int(os.environ.get("DPREF_AUTOCOMPLETE_WORDS", "20000"))
try:
    vocabulary = english(WORDS)
    source = f"the {len(vocabulary):,} most frequent English words (wordfreq)"
except ModuleNotFoundError:  # the optional dependency is missing: a small stand-in
    vocabulary = [
        (f"{a}{b}{c}", 1 + (i * 7919) % 1000)
        for i, (a, b, c) in enumerate(
            (a, b, c) for a in "abcdefghij" for b in "aeiou" for c in "nrstl"
        )
    ]
    source = f"{len(vocabulary)} made-up words (install wordfreq for the real list)"
print(f"Vocabulary: {source}; the heaviest: {vocabulary[:3]}")

# %% [markdown]
# ## Build each structure once
#
# The tries store one node per character (or per compressed edge); `TopKTrie` also caches the
# top 10 at every node; `SortedPrefixIndex` keeps the words sorted, so a prefix is a range,
# plus a tree of range maxima; `FrozenCompleter` packs the sorted words into compressed blocks
# of 64 (under 6 bytes a word) and refuses updates. `BruteForceCompleter` scans every word per
# query: the answer all the others match.

# %%
structures = {}
for cls in (BruteForceCompleter, Trie, RadixTrie, TopKTrie, SortedPrefixIndex, FrozenCompleter):
    start = time.perf_counter()
    structures[cls.__name__] = cls(vocabulary)
    print(f"{cls.__name__:20} built in {time.perf_counter() - start:6.2f} s")

# %% [markdown]
# ## Type a word, letter by letter
#
# Each keystroke asks every structure for the 10 best completions. The time is the median of
# five calls, in microseconds.


# %%
def timed(completer: object, prefix: str, repeat: int = 5) -> tuple[list[str], float]:
    times, answer = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        answer = completer.complete(prefix, 10)  # type: ignore[attr-defined]
        times.append(time.perf_counter() - start)
    return [c.term for c in answer], sorted(times)[repeat // 2] * 1e6


word = "because" if any(t == "because" for t, _ in vocabulary) else vocabulary[-1][0]
timings: dict[str, list[float]] = {name: [] for name in structures}
for n in range(1, len(word) + 1):
    prefix = word[:n]
    answers = {}
    for name, completer in structures.items():
        answers[name], micros = timed(completer, prefix)
        timings[name].append(micros)
    assert all(a == answers["BruteForceCompleter"] for a in answers.values())
    cells = "  ".join(f"{name[:10]} {timings[name][-1]:7.1f}" for name in structures)
    print(f"{prefix!r:10} -> {', '.join(answers['Trie'][:4])} ...")
    print(f"{'':13}µs: {cells}")

# %% [markdown]
# ## Popularity moves, typos happen
#
# `increment` is a live update: a burst of searches for one word lifts it into the top 10 at
# every prefix at once, and lowering it brings the next one back. A typo within one or two
# edits still completes (the first letter must match; prefixes under 3 letters stay exact).

# %%
live = structures["TopKTrie"]
target = next(t for t, _ in reversed(vocabulary) if t.startswith(word[:2]))
print(f"before: {[c.term for c in live.complete(word[:2], 3)]}")
live.increment(target, by=10 * vocabulary[0][1])
print(f"after {target!r} trends: {[c.term for c in live.complete(word[:2], 3)]}")
live.increment(target, by=-10 * vocabulary[0][1])
print(f"after it fades: {[c.term for c in live.complete(word[:2], 3)]}")
typo = word[0] + word[2] + word[1] + word[3:]
print(f"typo {typo!r}: {[(c.term, c.distance) for c in live.complete(typo, 5, max_edits=1)]}")
frozen = structures["FrozenCompleter"]
try:
    frozen.increment(target)
except ValueError as exc:
    print(f"FrozenCompleter: {exc}")

# %% [markdown]
# ## What a trie looks like
#
# A handful of search terms drawn as a character trie. Each node carries (in blue) the heaviest
# weight anywhere below it: the best-first search behind `Trie.complete` follows those bounds,
# so for the prefix "iph" (red path) it reaches the top two (green) without looking at the
# rest of the tree.

# %%
queries = [("iphone 15", 900), ("iphone", 700), ("ipad", 500), ("iphone case", 300),
           ("ikea", 650), ("imdb", 400), ("instagram", 800)]  # fmt: skip
print([c.term for c in Trie(queries).complete("iph", k=2)])
fig = plot_trie(queries, prefix="iph", k=2)
if path := dp.show(fig, "autocomplete-trie"):
    print("figure saved to", path)

# %% [markdown]
# ## Work per keystroke
#
# Brute force pays for every word in the vocabulary on every keystroke; the structures pay
# only for the 10 answers. `plot_keystrokes` types the word again into every structure and
# draws the median time per keystroke (log scale).

# %%
fig = plot_keystrokes(structures, word, k=10)
if path := dp.show(fig, "autocomplete-keystrokes"):
    print("figure saved to", path)
