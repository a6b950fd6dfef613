"""Search autocomplete: ranked top-k completion in microseconds, live updates, typo tolerance.

Case study: Design a Search Autocomplete System (docs/case-studies/search-autocomplete.md)

Every structure here is a :class:`Completer`: ``insert``, ``increment``, ``remove``,
``complete(prefix, k, max_edits=0)``, ``weight``, ``len`` and ``in``, with one total order of
results (heaviest first, then shorter, then alphabetical), so they are interchangeable:

- :class:`Trie`: a node per character, best-first search on subtree maxima;
- :class:`RadixTrie`: compressed edges, the same search in fewer nodes;
- :class:`TopKTrie`: every node caches its top k; reads are a walk and a slice;
- :class:`SortedPrefixIndex`: a sorted list where a prefix is a range, plus a range-maximum tree;
- :class:`FrozenCompleter`: built once into compressed blocks, the smallest; no updates;
- :class:`BruteForceCompleter`: a dict scanned per query, the reference answer.

Every completer saves itself with ``save(path)`` and comes back with ``load(path)`` (a
versioned, checksummed file, :mod:`~designpatterns_ref.autocomplete.storage`); a
:class:`FrozenCompleter` can be memory-mapped with ``load(path, mmap=True)`` and shared by
every process that maps the same file. A damaged file raises :class:`StorageError`.

:func:`corpus.english` builds a real vocabulary from the ``wordfreq`` package.

Thread safety: the mutable completers are not safe to update while other threads use them;
share one behind a lock (updates are microseconds), or share a :class:`FrozenCompleter`, which
never changes and may be read from any number of threads at once.

```pycon
>>> from designpatterns_ref import autocomplete as ac
>>> words = [("iphone 15", 900), ("iphone", 700), ("ipad", 500), ("iphone case", 300)]
>>> [c.term for c in ac.TopKTrie(words).complete("iph", k=2)]
['iphone 15', 'iphone']
>>> ac.Trie(words).complete("ipda", max_edits=1)[0]
Completion(term='ipad', weight=500, distance=1)

```
"""

from __future__ import annotations

from designpatterns_ref.autocomplete.base import (
    MAX_EDITS,
    MAX_WEIGHT,
    AutocompleteError,
    AutocompleteTypeError,
    Completer,
    Completion,
    ReadOnlyError,
    StorageError,
    TermNotFound,
    rank_key,
)
from designpatterns_ref.autocomplete.frozen import FrozenCompleter
from designpatterns_ref.autocomplete.oracle import BruteForceCompleter
from designpatterns_ref.autocomplete.radix import RadixTrie
from designpatterns_ref.autocomplete.sorted_index import SortedPrefixIndex
from designpatterns_ref.autocomplete.text import normalize
from designpatterns_ref.autocomplete.topk import TopKTrie
from designpatterns_ref.autocomplete.trie import Trie

__all__ = [
    "IMPLEMENTATIONS",
    "MAX_EDITS",
    "MAX_WEIGHT",
    "AutocompleteError",
    "AutocompleteTypeError",
    "BruteForceCompleter",
    "Completer",
    "Completion",
    "FrozenCompleter",
    "RadixTrie",
    "ReadOnlyError",
    "SortedPrefixIndex",
    "StorageError",
    "TermNotFound",
    "TopKTrie",
    "Trie",
    "normalize",
    "rank_key",
]

#: The completers that can change after they are built, fastest reads last.
IMPLEMENTATIONS = (Trie, RadixTrie, SortedPrefixIndex, TopKTrie)
