"""BruteForceCompleter: a dict, filtered and sorted on every query; the reference answer.

Case study: Design a Search Autocomplete System (docs/case-studies/search-autocomplete.md)

What every other structure must agree with, and what "collect every match, then sort" costs.
It holds the weights in a dict; ``complete`` scans every term, keeps those that match (by
:func:`~designpatterns_ref.autocomplete.text.prefix_distance` when fuzzy), and sorts them by
(distance, rank key). Obviously right, and O(n) per query: fine for a few thousand terms,
hopeless for a live vocabulary.

Complexity: ``complete`` O(n * p) (fuzzy O(n * (p + max_edits) * max_edits), the distance
computed only in the band of its table within ``max_edits`` of the diagonal); updates O(1).

```pycon
>>> brute = BruteForceCompleter([("apple", 5), ("apply", 9), ("ample", 7)])
>>> [c.term for c in brute.complete("ap")]
['apply', 'apple']
>>> [(c.term, c.distance) for c in brute.complete("appel", max_edits=1)]
[('apply', 1), ('apple', 1)]

```
"""

from __future__ import annotations

from collections.abc import Iterable

from designpatterns_ref.autocomplete._shared import (
    CompleterBase,
    check_int,
    check_text,
)
from designpatterns_ref.autocomplete.base import MAX_EDITS, Completion, _rank_key
from designpatterns_ref.autocomplete.text import allowed_edits, prefix_distance

__all__ = ["BruteForceCompleter"]


class BruteForceCompleter(CompleterBase):
    """A dict of weights, scanned on every query; see the module docstring."""

    def _load(self, ranked: list[tuple[str, int]]) -> None:
        self._weights = dict(ranked)

    def _apply(self, term: str, old: int | None, new: int | None) -> None:
        pass  # the weight table is the whole structure

    def complete(self, prefix: str, k: int = 10, *, max_edits: int = 0) -> list[Completion]:
        """The ``k`` best matches, by scanning every term (see ``Completer.complete``)."""
        text = check_text("prefix", prefix, self._casefold, empty_ok=True)
        count = check_int("k", k, 1, 2**62)
        edits = allowed_edits(len(text), check_int("max_edits", max_edits, 0, MAX_EDITS))
        found: Iterable[tuple[int, str, int]]
        if edits == 0:
            found = ((0, t, w) for t, w in self._weights.items() if t.startswith(text))
        else:
            found = (
                (d, t, w)
                for t, w in self._weights.items()
                if (d := prefix_distance(text, t, limit=edits)) is not None
            )
        ranked = sorted(found, key=lambda dtw: (dtw[0], _rank_key(dtw[1], dtw[2])))
        return [Completion(t, w, d) for d, t, w in ranked[:count]]
