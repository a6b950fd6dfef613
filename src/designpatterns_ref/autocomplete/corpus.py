"""Real vocabularies for the autocomplete family: English words weighted by frequency.

Case study: Design a Search Autocomplete System (docs/case-studies/search-autocomplete.md)

:func:`english` reads the ``wordfreq`` package's large English list (word frequencies merged
from subtitles, Wikipedia, news, books, web text and social media) and turns each frequency
into an integer weight (occurrences per billion words, at least 1). ``wordfreq`` is an optional
dependency, in the ``bench`` and ``dev`` extras; without it :func:`english` raises a
``ModuleNotFoundError`` that says how to install it. :func:`sample_prefixes` draws the typed
prefixes the benchmarks replay.

```pycon
>>> words = english(5)  # doctest: +SKIP
>>> words[:3]  # doctest: +SKIP
[('the', 53703180), ('to', 26915348), ('and', 25703958)]
>>> sample_prefixes([("apple", 3), ("banana", 2)], 4, lengths=(1, 2), seed=7)
['b', 'b', 'a', 'b']

```
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from designpatterns_ref.autocomplete._shared import check_int
from designpatterns_ref.autocomplete.base import AutocompleteError
from designpatterns_ref.autocomplete.text import normalize
from designpatterns_ref.errors import shown

__all__ = ["english", "sample_prefixes"]

#: How many words the large English list of wordfreq offers (a little over 320,000).
ENGLISH_WORDS = 300_000


def english(n: int = ENGLISH_WORDS) -> list[tuple[str, int]]:
    """The ``n`` most frequent English words as (term, weight) pairs, heaviest first.

    Weights are frequencies per billion words, rounded, at least 1. Raises
    ``ModuleNotFoundError`` naming the extra to install when ``wordfreq`` is missing.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise AutocompleteError(f"n={shown(n)} must be a positive int")
    try:
        import wordfreq
    except ImportError as exc:
        raise ModuleNotFoundError(
            "autocomplete.corpus.english needs the optional 'wordfreq' package: "
            "pip install 'designpatterns-ref[bench]' (or pip install wordfreq)",
            name="wordfreq",
        ) from exc
    frequencies = wordfreq.get_frequency_dict("en", wordlist="large")
    weights: dict[str, int] = {}
    for word, frequency in frequencies.items():
        term = normalize(word)
        if term:
            weights[term] = max(weights.get(term, 0), max(1, round(frequency * 1e9)))
    ranked = sorted(weights.items(), key=lambda tw: (-tw[1], tw[0]))
    return ranked[:n]


def sample_prefixes(
    items: Sequence[tuple[str, int]],
    count: int,
    *,
    lengths: Sequence[int] = (1, 2, 3, 4),
    seed: int = 0,
) -> list[str]:
    """``count`` prefixes of terms drawn uniformly from ``items``, of a length drawn from
    ``lengths`` (cut to the term's length), reproducibly from ``seed``.

    ``items`` is a non-empty list or tuple of ``(term, weight)`` pairs, ``count`` an int from 0
    to 10**7, ``lengths`` a non-empty list or tuple of ints from 1 to 1,000 and ``seed`` an
    int; anything else raises :class:`AutocompleteError`."""
    if not isinstance(items, list | tuple) or not items:
        raise AutocompleteError(
            f"items={shown(items, 60)} must be a non-empty list of (term, weight)"
        )
    if not all(type(it) is tuple and len(it) == 2 and isinstance(it[0], str) for it in items):
        raise AutocompleteError("items must hold (term, weight) pairs, each term a str")
    check_int("count", count, 0, 10**7)
    if not isinstance(lengths, list | tuple) or not lengths:
        raise AutocompleteError(f"lengths={shown(lengths, 60)} must be a non-empty list of ints")
    for n in lengths:
        check_int("lengths[i]", n, 1, 1_000)
    check_int("seed", seed, -(2**63), 2**63 - 1)
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        term = rng.choice(items)[0]
        out.append(term[: rng.choice(lengths)])
    return out
