"""Plumbing every completer shares: input checks, the weight table, fuzzy search, pickling.

A structure subclasses :class:`CompleterBase` and supplies five small hooks: how to load
sorted items, how to apply one weight change, where a prefix starts, how to list the best
terms below a set of starts, and how to step one character down (for the fuzzy walk).
Everything a user calls (validation, normalisation, increments, the fuzzy ranking by distance
then weight) lives here once, so the structures differ only in their data structure.
"""

from __future__ import annotations

import gc
import os
import unicodedata
from array import array
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from itertools import accumulate, chain, repeat
from operator import itemgetter, neg
from typing import Any, TypeVar

from designpatterns_ref.autocomplete import storage
from designpatterns_ref.autocomplete.base import (
    MAX_EDITS,
    MAX_WEIGHT,
    AutocompleteError,
    AutocompleteTypeError,
    Completion,
    RankKey,
    StorageError,
    TermNotFound,
)
from designpatterns_ref.autocomplete.text import allowed_edits, normalize
from designpatterns_ref.errors import shown

State = Any
T = TypeVar("T", bound="CompleterBase")


def check_int(name: str, value: object, low: int, high: int) -> int:
    """``value`` as an ``int`` within ``[low, high]``, or a clear error."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise AutocompleteTypeError(
            f"{name}={shown(value)} must be an int, not {type(value).__name__}"
        )
    if not low <= value <= high:
        raise AutocompleteError(f"{name}={shown(value)} must be within [{low}, {high}]")
    return value


def check_text(name: str, value: object, casefold: bool, *, empty_ok: bool) -> str:
    """``value`` normalised (:func:`~designpatterns_ref.autocomplete.text.normalize`)."""
    if not isinstance(value, str):
        raise AutocompleteTypeError(
            f"{name}={shown(value)} must be a str, not {type(value).__name__}"
        )
    text = normalize(value, casefold=casefold)
    if not text and not empty_ok:
        raise AutocompleteError(f"{name}={shown(value)} must be a non-empty string")
    return text


def check_items(items: object, casefold: bool) -> dict[str, int]:
    """Validate (term, weight) pairs; a later duplicate replaces an earlier one.

    Runs :func:`_check_items_fast` (C-level passes over the whole list), and falls back to the
    plain loop, :func:`check_items_one_by_one`, whenever anything looks unusual, so an error
    always comes from the loop and names the first bad pair.
    """
    terms, weights = check_pairs(items, casefold)
    return dict(zip(terms, weights, strict=True))


def check_pairs(items: object, casefold: bool) -> tuple[list[str], list[int]]:
    """What :func:`check_items` checks, as two lists (normalised terms, weights) in the order
    given, duplicates kept (a later one wins): a bulk build that sorts anyway finds them
    without a dict."""
    if isinstance(items, str | bytes) or not isinstance(items, Iterable):
        raise AutocompleteTypeError(
            f"items={shown(items)} must be an iterable of (term, weight) pairs"
        )
    pairs = items if type(items) is list else list(items)
    fast = _check_items_fast(pairs, casefold)
    if fast is None:
        table = check_items_one_by_one(pairs, casefold)
        return list(table), list(table.values())
    return fast


def check_items_one_by_one(pairs: Iterable[object], casefold: bool) -> dict[str, int]:
    """The reference check: one pair at a time, raising at the first bad one."""
    out: dict[str, int] = {}
    for pair in pairs:
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise AutocompleteTypeError(f"items: {shown(pair)} is not a (term, weight) pair")
        term = check_text("term", pair[0], casefold, empty_ok=False)
        out[term] = check_int("weight", pair[1], 0, MAX_WEIGHT)
    return out


def _check_items_fast(pairs: list[Any], casefold: bool) -> tuple[list[str], list[int]] | None:
    """The terms and weights :func:`check_items_one_by_one` accepts, in C-level passes;
    ``None`` when any pair is not a plain ``(str, int)`` tuple or list with a non-empty term
    and a weight in range."""
    if not pairs:
        return [], []
    if not set(map(type, pairs)) <= {tuple, list} or set(map(len, pairs)) != {2}:
        return None
    terms = list(map(itemgetter(0), pairs))
    weights = list(map(itemgetter(1), pairs))
    if set(map(type, terms)) != {str} or set(map(type, weights)) != {int}:
        return None
    if min(weights) < 0 or max(weights) > MAX_WEIGHT:
        return None
    nfc = partial(unicodedata.normalize, "NFC")
    terms = list(map(nfc, terms))
    if casefold:  # folding can leave text that is not NFC ("ǰ" folds to j + a combining caron)
        terms = list(map(nfc, map(str.casefold, terms)))
    if not all(terms):
        return None
    return terms, weights


def rank_order(weights: dict[str, int], alphabetical: list[str] | None = None) -> list[str]:
    """The terms of ``weights`` best first (:func:`~.base.rank_key`), by three stable C-level
    sorts: alphabetically (skipped when ``alphabetical`` is given), by length, by weight."""
    order = sorted(sorted(weights) if alphabetical is None else alphabetical, key=len)
    order.sort(key=weights.__getitem__, reverse=True)
    return order


def completions(keys: list[RankKey], distance: int) -> list[Completion]:
    """``Completion(term, weight, distance)`` for each rank key, built without Python loops
    (it is a hot path: a list of ten tuples would otherwise cost more than the search)."""
    terms = map(itemgetter(2), keys)
    weights = map(neg, map(itemgetter(0), keys))
    fields = zip(terms, weights, repeat(distance))
    return list(map(tuple.__new__, repeat(Completion), fields))


def _banded_row(
    query: str,
    row: list[int],
    before: list[int] | None,
    char: str,
    last: str,
    depth: int,
    edits: int,
) -> list[int]:
    """:func:`~designpatterns_ref.autocomplete.text._next_row` with every cell capped at
    ``edits + 1``, keeping only the band of cells within ``edits`` of the diagonal.

    A cell ``i`` of row ``depth`` is at least ``abs(i - depth)``, so off that band it is over
    ``edits``: a row is the list of its ``2 * edits + 1`` band cells, ``row[j]`` being cell
    ``depth - edits + j`` (a cell before 0 or past ``len(query)`` holds the cap). Capping
    changes no answer: every cell at most ``edits`` keeps its value (the recurrence only
    adds), and the walk compares cells with ``edits + 1`` at most. A row then costs O(edits),
    in time and memory, not O(len(query)): a long prefix (a 10,000-character paste) takes
    milliseconds, not seconds. In row ``depth``, cell ``i`` is at ``i - depth + edits``; in
    the row above it at one more, in the row two above at the same index.
    """
    cap = edits + 1
    new = [cap] * (2 * edits + 1)
    first = depth - edits  # the cell at new[0]
    if depth <= edits:
        new[-first] = depth  # cell 0
    for i in range(max(1, first), min(len(query), depth + edits) + 1):
        j = i - first
        qc = query[i - 1]
        up = row[j + 1] if j < 2 * edits else cap  # cell i of the row above
        left = new[j - 1] if j else cap
        best = min(up + 1, left + 1, row[j] + (qc != char), cap)
        if before is not None and i > 1 and qc == last and query[i - 2] == char:
            best = min(best, before[j] + 1)
        new[j] = best
    return new


def _end_cell(row: list[int], depth: int, m: int, edits: int) -> int:
    """Cell ``m`` (the whole query) of the banded row at ``depth``; the cap off the band."""
    return row[m - depth + edits] if abs(m - depth) <= edits else edits + 1


def fuzzy_covers(
    root: State, children: Callable[[State], Iterable[tuple[str, State]]], rest: str, edits: int
) -> list[tuple[State, int, int]]:
    """The states whose whole subtree matches ``rest`` within ``edits``, with their levels.

    Walks the (real or implicit) trie below ``root`` depth-first with an explicit stack,
    carrying one row of the edit-distance table per character, banded (:func:`_banded_row`).
    A state is recorded as ``(state, low, high)`` when the best distance on its path first
    drops to ``low``: every term below it is within ``d`` edits for ``low <= d < high``. The
    walk stops going deeper once no row below can lower the distance any further.
    """
    m = len(rest)
    cap = edits + 1
    row = [i if 0 <= i <= m else cap for i in range(-edits, edits + 1)]  # the band of row 0
    covers: list[tuple[State, int, int]] = []
    end = _end_cell(row, 0, m, edits)
    if end < cap:
        covers.append((root, end, cap))
        cap = end
    stack: list[tuple[State, list[int], list[int] | None, str, int, int]] = [
        (root, row, None, "", cap, 0)
    ]
    while stack:
        state, row, before, last, cap, depth = stack.pop()
        least = min(row)  # the least cell of the row: off its band every cell is edits + 1
        for char, child in children(state):
            new = _banded_row(rest, row, before, char, last, depth + 1, edits)
            child_cap = cap
            end = _end_cell(new, depth + 1, m, edits)
            if end < cap:
                covers.append((child, end, cap))
                child_cap = end
            if child_cap and min(min(new), least + 1) < child_cap:
                stack.append((child, new, row, char, child_cap, depth + 1))
    return covers


def _rebuild(cls: type[T], items: list[tuple[str, int]], config: dict[str, Any]) -> T:
    """Unpickle: rebuild from already-normalised items without checking them again."""
    obj = cls.__new__(cls)
    obj._configure(**config)
    bulk_build(obj, list(map(itemgetter(0), items)), list(map(itemgetter(1), items)))
    return obj


def bulk_build(obj: CompleterBase, terms: list[str], weights: list[int]) -> None:
    """``obj._build_pairs`` from checked terms and weights, with the cyclic garbage collector
    paused.

    A build allocates hundreds of thousands of containers (nodes, dicts, lists, tuples) and
    frees none, so every collection the allocations trigger scans the growing structure for
    nothing: pausing the collector halves the build of a trie. It is switched back on (if it
    was on) however the build ends.
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        obj._build_pairs(terms, weights)
    finally:
        if paused:
            gc.enable()


class CompleterBase:
    """The :class:`~designpatterns_ref.autocomplete.base.Completer` interface, once.

    Subclasses implement ``_load``, ``_apply``, ``_start``, ``_top``, ``_fuzzy_root`` and
    ``_fuzzy_children``. Not thread-safe: share one between threads only behind a lock (or
    share a :class:`~designpatterns_ref.autocomplete.frozen.FrozenCompleter`, which never
    changes).
    """

    _weights: dict[str, int]
    _casefold: bool

    def __init__(self, items: Iterable[tuple[str, int]] = (), *, casefold: bool = False) -> None:
        self._init(items, casefold=casefold)

    def _init(self, items: Iterable[tuple[str, int]], **config: Any) -> None:
        """Configure (``config`` already checked), check the items, and load them."""
        self._configure(**config)
        terms, weights = check_pairs(items, self._casefold)
        bulk_build(self, terms, weights)

    def _configure(self, *, casefold: bool = False) -> None:
        if not isinstance(casefold, bool):
            raise AutocompleteTypeError(f"casefold={shown(casefold)} must be a bool")
        self._casefold = casefold

    def _config(self) -> dict[str, Any]:
        return {"casefold": self._casefold}

    # -- hooks ---------------------------------------------------------------------------
    def _build_pairs(self, terms: list[str], weights: list[int]) -> None:
        """Build in bulk from checked, normalised terms and weights (a later duplicate
        replacing an earlier one). By default: the weight table, then :meth:`_build`."""
        table = dict(zip(terms, weights, strict=True))
        self._build(table, sorted(table))

    def _build(self, weights: dict[str, int], alphabetical: list[str]) -> None:
        """Build in bulk from checked, normalised weights and their terms in code-point order.

        By default: :meth:`_load` with the items best first. A structure that builds faster
        from sorted terms (bottom-up) overrides this.
        """
        order = rank_order(weights, alphabetical)
        self._load(list(zip(order, map(weights.__getitem__, order), strict=True)))

    def _load(self, ranked: list[tuple[str, int]]) -> None:
        """Build from distinct, normalised items given best first."""
        raise NotImplementedError

    def _apply(self, term: str, old: int | None, new: int | None) -> None:
        """Change the structure: ``old``/``new`` of ``None`` mean absent."""
        raise NotImplementedError

    def _start(self, prefix: str) -> State | None:
        """Where the terms starting with ``prefix`` live, or ``None`` when there are none."""
        raise NotImplementedError

    def _top(self, starts: list[State], k: int, skip: set[str]) -> list[RankKey]:
        """The ``k`` best keys below ``starts`` (disjoint) whose term is not in ``skip``."""
        raise NotImplementedError

    def _fuzzy_root(self, char: str) -> State | None:
        """The state reached from the root by ``char``, or ``None``."""
        raise NotImplementedError

    def _fuzzy_children(self, state: State) -> Iterable[tuple[str, State]]:
        """Each (character, state) one character below ``state``."""
        raise NotImplementedError

    def _cover_start(self, state: State) -> State:
        """The start that ``_top`` takes for a state of the fuzzy walk (often the state)."""
        return state

    # -- the public interface --------------------------------------------------------------
    def _term(self, term: object) -> str:
        return check_text("term", term, self._casefold, empty_ok=False)

    def insert(self, term: str, weight: int) -> None:
        """Add ``term`` with ``weight`` (an int in [0, 2**63 - 1]), or set its weight."""
        key = self._term(term)
        new = check_int("weight", weight, 0, MAX_WEIGHT)
        old = self._weights.get(key)
        if old != new:
            self._apply(key, old, new)
            self._weights[key] = new

    def increment(self, term: str, by: int = 1) -> int:
        """Add ``by`` to the weight of ``term`` (adding the term if new); return the new weight.

        A negative ``by`` lowers the weight; it may not go below 0.
        """
        key = self._term(term)
        step = check_int("by", by, -MAX_WEIGHT, MAX_WEIGHT)
        old = self._weights.get(key)
        new = (0 if old is None else old) + step
        if not 0 <= new <= MAX_WEIGHT:
            raise AutocompleteError(
                f"increment({shown(key)}, by={step}) would make the weight {new}; "
                f"weights must stay within [0, {MAX_WEIGHT}]"
            )
        if old != new:
            self._apply(key, old, new)
            self._weights[key] = new
        return new

    def remove(self, term: str) -> None:
        """Drop ``term``; raise :class:`~designpatterns_ref.autocomplete.base.TermNotFound`
        when it is absent."""
        key = self._term(term)
        old = self._weights.get(key)
        if old is None:
            raise TermNotFound(f"term={shown(key)} is not in this completer")
        self._apply(key, old, None)
        self._weights.pop(key, None)  # _apply may have rebuilt the table already

    def weight(self, term: str) -> int:
        """The weight of ``term``; raise ``TermNotFound`` when it is absent."""
        key = self._term(term)
        try:
            return self._weights[key]
        except KeyError:
            raise TermNotFound(f"term={shown(key)} is not in this completer") from None

    def items(self) -> Iterator[tuple[str, int]]:
        """Every (term, weight) pair, in alphabetical (code-point) order of the terms."""
        return iter(sorted(self._weights.items()))

    def __len__(self) -> int:
        return len(self._weights)

    def __contains__(self, term: object) -> bool:
        if not isinstance(term, str):
            return False
        return normalize(term, casefold=self._casefold) in self._weights

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<{len(self)} terms>)"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), list(self.items()), self._config()))

    # -- files -------------------------------------------------------------------------------
    def _param(self) -> int:
        """The structure parameter a file keeps (``TopKTrie``'s cache size); 0 for none."""
        return 0

    @classmethod
    def _param_config(cls, param: int) -> dict[str, Any]:
        """The ``_configure`` keywords for a file's structure parameter."""
        return {}

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the terms and weights to ``path`` (replacing it whole, never half-written).

        The file (:mod:`~designpatterns_ref.autocomplete.storage`) has a versioned header and
        a checksum; ``load`` rebuilds the structure from it in bulk.
        """
        target = storage.check_path("save", path)
        terms = sorted(self._weights)
        sections = {
            "text": "".join(terms).encode("utf-8", "surrogatepass"),
            "ends": array("Q", accumulate(map(len, terms))),
            "wts": array("q", map(self._weights.__getitem__, terms)),
        }
        flags = storage.FLAG_CASEFOLD if self._casefold else 0
        storage.write(target, "items", sections, flags=flags, param=self._param())

    @classmethod
    def load(cls: type[T], path: str | os.PathLike[str]) -> T:
        """A completer rebuilt from ``path`` (written by ``save`` of the same class or another
        mutable one). Raises :class:`~designpatterns_ref.autocomplete.base.StorageError` for a
        missing, truncated, damaged or foreign file."""
        source = storage.check_path("load", path)
        stored = storage.read(source, mapped=False)
        storage.require(source, stored, "items", ("text", "ends", "wts"))
        ends, wts = stored.sections["ends"], stored.sections["wts"]
        try:
            text = bytes(stored.sections["text"]).decode("utf-8", "surrogatepass")
            if len(ends) != len(wts) or (len(ends) and ends[-1] != len(text)):
                raise AutocompleteError("the term and weight arrays do not match")
            terms = list(map(text.__getitem__, map(slice, chain((0,), ends), ends)))
            obj = cls.__new__(cls)
            obj._configure(
                casefold=bool(stored.flags & storage.FLAG_CASEFOLD),
                **cls._param_config(stored.param),
            )
            weights = check_items(list(zip(terms, wts, strict=True)), obj._casefold)
            if len(weights) != len(terms):
                raise AutocompleteError("it holds a term twice")
        except (AutocompleteError, UnicodeDecodeError) as exc:
            raise StorageError(f"load: path={shown(source, 200)} holds bad items: {exc}") from exc
        bulk_build(obj, list(weights), list(weights.values()))
        return obj

    def complete(self, prefix: str, k: int = 10, *, max_edits: int = 0) -> list[Completion]:
        """The ``k`` best terms starting with ``prefix``, best first.

        With ``max_edits`` of 1 or 2, terms whose start is within that many typos of the prefix
        count too (first character exact, short prefixes exact, see
        :func:`~designpatterns_ref.autocomplete.text.allowed_edits`), ranked by distance, then
        weight, then length, then alphabetically.
        """
        text = check_text("prefix", prefix, self._casefold, empty_ok=True)
        count = check_int("k", k, 1, 2**62)
        edits = allowed_edits(len(text), check_int("max_edits", max_edits, 0, MAX_EDITS))
        if edits == 0:
            start = self._start(text)
            if start is None:
                return []
            return completions(self._top([start], count, set()), 0)
        return self._fuzzy(text, count, edits)

    def _fuzzy(self, text: str, k: int, edits: int) -> list[Completion]:
        root = self._fuzzy_root(text[0])
        if root is None:
            return []
        covers = fuzzy_covers(root, self._fuzzy_children, text[1:], edits)
        out: list[Completion] = []
        seen: set[str] = set()
        for level in range(edits + 1):
            starts = [self._cover_start(s) for s, low, high in covers if low <= level < high]
            if not starts:
                continue
            found = self._top(starts, k - len(out), seen)
            out += completions(found, level)
            seen.update(key[2] for key in found)
            if len(out) >= k:
                break
        return out
