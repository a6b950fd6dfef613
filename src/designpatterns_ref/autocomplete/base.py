"""The shared types of the autocomplete family: the ``Completer`` protocol, results, errors.

Case study: Design a Search Autocomplete System (docs/case-studies/search-autocomplete.md)

Every structure in :mod:`designpatterns_ref.autocomplete` answers the same questions, so a
reader swaps one for another in one line and one contract test holds them all to the same
answers. A term carries a non-negative integer weight (its popularity); ``complete(prefix, k)``
returns the ``k`` heaviest terms that start with ``prefix`` as :class:`Completion` tuples, in
one total order: highest weight first, ties broken by the shorter term, then alphabetically
(:func:`rank_key`). Because the order is total, every structure gives exactly the same answer.

Bad input raises :class:`AutocompleteError` (a ``ValueError``; a wrong type raises its
``TypeError`` subclass :class:`AutocompleteTypeError`) naming the argument, the value and what
is allowed, and leaves the structure exactly as it was.

```pycon
>>> Completion("iphone", 120)
Completion(term='iphone', weight=120, distance=0)
>>> sorted([("ipad", 90), ("iphone", 120), ("ip", 90)], key=lambda tw: rank_key(*tw))
[('iphone', 120), ('ip', 90), ('ipad', 90)]

```
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple, Protocol, runtime_checkable

from designpatterns_ref.errors import DesignPatternsError, shown

__all__ = [
    "MAX_EDITS",
    "MAX_WEIGHT",
    "AutocompleteError",
    "AutocompleteTypeError",
    "Completer",
    "Completion",
    "ReadOnlyError",
    "StorageError",
    "TermNotFound",
    "rank_key",
]

#: The largest weight a term may carry: weights are 64-bit signed counts.
MAX_WEIGHT = 2**63 - 1

#: The largest ``max_edits`` a fuzzy completion accepts.
MAX_EDITS = 2

#: A key that orders terms best first: (-weight, length, term).
RankKey = tuple[int, int, str]


class AutocompleteError(DesignPatternsError, ValueError):
    """A bad argument to a completer (the message names it, its value and what is allowed)."""


class AutocompleteTypeError(AutocompleteError, TypeError):
    """An argument of the wrong type, such as a term that is not a ``str``."""


class TermNotFound(AutocompleteError, KeyError):
    """``weight`` or ``remove`` was asked about a term the completer does not hold."""

    def __str__(self) -> str:  # KeyError would show the repr of the message
        return str(self.args[0]) if self.args else ""


class ReadOnlyError(AutocompleteError, TypeError):
    """An update was tried on a completer that cannot change after it is built."""


class StorageError(AutocompleteError, OSError):
    """A completer file that cannot be read or written: missing, truncated, corrupt, or of
    another format version (the message names the path and what is wrong)."""

    def __str__(self) -> str:  # OSError would format (errno, strerror)
        return str(self.args[0]) if self.args else ""


class Completion(NamedTuple):
    """One suggestion: the (normalised) term, its weight, and its edit distance to the prefix.

    ``distance`` is 0 for an exact prefix match and counts edits for a fuzzy one.
    """

    term: str
    weight: int
    distance: int = 0


def rank_key(term: str, weight: int) -> RankKey:
    """The sort key of the family's one total order: heaviest, then shortest, then A to Z.

    ```pycon
    >>> rank_key("apple", 7) < rank_key("apples", 7) < rank_key("apple", 6)
    True

    ```

    Checks its arguments (the structures call the unchecked ``_rank_key`` in their loops). A
    ``str`` subclass (an ``enum.StrEnum`` member) counts as the text it holds, as it does for
    every completer.
    """
    if not isinstance(term, str):
        raise AutocompleteTypeError(f"rank_key: term={shown(term, 60)} must be a str")
    if type(term) is not str:
        term = str.__str__(term)  # the characters it holds, whatever its own __str__ says
    if isinstance(weight, bool) or not isinstance(weight, int):
        raise AutocompleteTypeError(f"rank_key: weight={shown(weight, 60)} must be an int")
    return _rank_key(term, weight)


def _rank_key(term: str, weight: int) -> RankKey:
    """:func:`rank_key` without the checks."""
    return (-weight, len(term), term)


@runtime_checkable
class Completer(Protocol):
    """What every completer offers; see the module docstring for the order of results."""

    def insert(self, term: str, weight: int) -> None:
        """Add ``term`` with ``weight``, or set the weight of a term already held."""

    def increment(self, term: str, by: int = 1) -> int:
        """Add ``by`` (negative lowers) to the weight of ``term``; return the new weight."""
        ...

    def remove(self, term: str) -> None:
        """Drop ``term``; raise :class:`TermNotFound` when it is absent."""

    def complete(self, prefix: str, k: int = 10, *, max_edits: int = 0) -> list[Completion]:
        """The ``k`` best terms starting with ``prefix`` (within ``max_edits`` typos)."""
        ...

    def weight(self, term: str) -> int:
        """The weight of ``term``; raise :class:`TermNotFound` when it is absent."""
        ...

    def items(self) -> Iterator[tuple[str, int]]:
        """Every (term, weight) pair, in alphabetical order of the terms."""
        ...

    def __len__(self) -> int: ...

    def __contains__(self, term: object) -> bool: ...


#: What a completer's constructor accepts: (term, weight) pairs.
Items = Iterable[tuple[str, int]]
