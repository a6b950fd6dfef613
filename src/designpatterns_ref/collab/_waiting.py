"""The operations a replica holds waiting for their dependencies, indexed by the ids they use.

Case study: Design a Collaborative Document Editor (Google Docs) (docs/case-studies/collaborative-editor.md)

An operation that arrives before what it refers to waits. :class:`_Waiting` keeps those
operations in the order they came and indexes them three ways: by the ids they claim (per
agent and kind), by the ids they refer to (per agent), and by the id each waits for. The
batch check (:mod:`~designpatterns_ref.collab.batch`) then checks a new batch against the
waiting operations with binary searches instead of checking them all again, and the replica
tries a waiting operation again only when the id it waits for has come (and a waiting delete
tried again finds the next id it waits for by one binary search of the replica's sorted ranges,
:func:`~designpatterns_ref.collab.ids._first_gap`, not by listing every gap). Each claim and
reference index is a :class:`_Cover`: a multiset of id ranges kept as flat sorted lists of
stretch starts, with how many ranges cover each stretch and one operation that does.

Trade-off: the index is kept up to date as operations start and stop waiting (O(log w) plus
the stretches a range crosses, for w waiting operations), against re-checking all w on every
message, which made delivery in reverse causal order quadratic.

Complexity: O(log w) per query; O(log w + stretches crossed) to add or take out an operation.

>>> from designpatterns_ref.collab.ops import Insert
>>> waiting = _Waiting()
>>> late = Insert("b", 1, 1, "z", ("b", 0), None)
>>> waiting.add(late, ("b", 0))
>>> waiting.floor("b"), [op.seq for op in waiting.woken("b", 0, 1)]
(2, [1])
"""  # noqa: E501

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterator
from typing import TypeVar

from designpatterns_ref.collab.ids import Id
from designpatterns_ref.collab.ops import Insert, Op, span

_K = TypeVar("_K")


class _Cover:
    """A multiset of ranges of one agent's ids, each brought by an operation: how many of the
    ranges cover each id, and one operation that does. Kept as flat sorted lists of stretch
    starts: stretch ``i`` is ``[starts[i], starts[i + 1])`` (the last one runs to infinity and
    is covered by none), and two neighbours never have the same count and operation, so
    after a stretch covered by none the next one is covered and a query is one binary search.

    The operation kept for a stretch stays while any range covers it, even once its own
    range is taken out: every operation that claims an id gives it the same contents (the
    batches that brought them were checked), so it still says what the stretch holds."""

    __slots__ = ("counts", "holders", "starts")

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.counts: list[int] = []
        self.holders: list[Op | None] = []

    def __bool__(self) -> bool:
        return bool(self.starts)

    def copy(self) -> _Cover:
        twin = _Cover()
        twin.starts, twin.counts, twin.holders = [*self.starts], [*self.counts], [*self.holders]
        return twin

    def end(self) -> int:
        """One past the highest id covered (0 when none is)."""
        return self.starts[-1] if self.starts else 0

    def _cut(self, x: int) -> int:
        """The index of the stretch starting at ``x``, cutting the one holding it there."""
        starts = self.starts
        i = bisect_left(starts, x)
        if i == len(starts) or starts[i] != x:
            starts.insert(i, x)
            self.counts.insert(i, self.counts[i - 1] if i else 0)
            self.holders.insert(i, self.holders[i - 1] if i else None)
        return i

    def mark(self, s: int, e: int, op: Op, step: int) -> None:
        """Add (``step`` 1) or take out (-1) the range ``[s, e)`` that ``op`` brings."""
        i, j = self._cut(s), self._cut(e)
        starts, counts, holders = self.starts, self.counts, self.holders
        for k in range(i, j):
            counts[k] += step
            if not counts[k]:
                holders[k] = None
            elif holders[k] is None:
                holders[k] = op
        for k in range(j, i - 1, -1):  # join neighbours that are alike again
            if counts[k] == (counts[k - 1] if k else 0) and holders[k] is (
                holders[k - 1] if k else None
            ):
                del starts[k], counts[k], holders[k]

    def hits(self, s: int, e: int) -> bool:
        """Is any id of ``[s, e)`` covered?"""
        starts = self.starts
        i = bisect_right(starts, s) - 1
        if i >= 0 and self.counts[i]:
            return True
        return i + 1 < len(starts) and starts[i + 1] < e

    def overlapping(self, s: int, e: int) -> Iterator[tuple[int, int, Op]]:
        """The covered stretches within ``[s, e)``, in order, each with an operation covering
        it."""
        starts, holders = self.starts, self.holders
        k = max(bisect_right(starts, s) - 1, 0)
        while k < len(starts) and starts[k] < e:
            op = holders[k]
            if op is not None:
                yield max(starts[k], s), min(starts[k + 1], e), op
            k += 1


class _Waiting:
    """The operations a replica holds waiting for their dependencies, in the order they came
    (one of equal operations), indexed by the ids they claim per agent and kind (``claims``,
    True for characters) and the ids they refer to per agent (``refs``), so that a batch is
    checked against them with binary searches (:func:`_check_batch`) instead of checking
    them all again; and by the id each waits for (``awaited``, the sorted seqs per agent, and
    ``waiters``), so that an operation is tried again only when that id has come. An operation
    is added when it starts waiting and taken out when it is applied; either costs O(log w)
    plus the stretches its ranges cross."""

    __slots__ = ("awaited", "claims", "ops", "refs", "waiters")

    def __init__(self) -> None:
        self.ops: dict[Op, None] = {}
        self.claims: dict[tuple[str, bool], _Cover] = {}
        self.refs: dict[str, _Cover] = {}
        self.awaited: dict[str, list[int]] = {}
        self.waiters: dict[Id, list[Op]] = {}

    def __iter__(self) -> Iterator[Op]:
        return iter(self.ops)

    def __len__(self) -> int:
        return len(self.ops)

    def add(self, op: Op, missing: Id) -> None:
        """Hold ``op`` waiting for ``missing``, unless an equal operation already waits."""
        if op not in self.ops:
            self.ops[op] = None
            self._mark(op, 1)
            self.wait_for(op, missing)

    def remove(self, op: Op) -> None:
        """Take out ``op``, which waits (and was handed out by :meth:`woken`)."""
        del self.ops[op]
        self._mark(op, -1)

    def wait_for(self, op: Op, missing: Id) -> None:
        """Hand ``op`` out again (:meth:`woken`) once the id ``missing`` has come."""
        held = self.waiters.get(missing)
        if held is None:
            self.waiters[missing] = [op]
            insort(self.awaited.setdefault(missing[0], []), missing[1])
        else:
            held.append(op)

    def woken(self, agent: str, s: int, e: int) -> list[Op]:
        """The operations waiting for ids ``[s, e)`` of ``agent``, which have come: each is
        handed out once, to be tried again and applied or given what it waits for next."""
        seqs = self.awaited.get(agent)
        if not seqs:
            return []
        i, j = bisect_left(seqs, s), bisect_left(seqs, e)
        came = seqs[i:j]
        del seqs[i:j]
        return [op for seq in came for op in self.waiters.pop((agent, seq))]

    def _mark(self, op: Op, step: int) -> None:
        _mark(self.claims, (op.agent, type(op) is Insert), op.seq, span(op), op, step)
        for agent, seq, n in _refs(op):
            _mark(self.refs, agent, seq, n, op, step)

    def floor(self, agent: str) -> int:
        """One past the highest id of ``agent`` a waiting operation claims or refers to."""
        covers = (self.claims.get((agent, True)), self.claims.get((agent, False)))
        return max([c.end() for c in (*covers, self.refs.get(agent)) if c is not None], default=0)

    def copy(self) -> _Waiting:
        twin = _Waiting()
        twin.ops = dict(self.ops)
        twin.claims = {k: c.copy() for k, c in self.claims.items()}
        twin.refs = {k: c.copy() for k, c in self.refs.items()}
        twin.awaited = {k: [*seqs] for k, seqs in self.awaited.items()}
        twin.waiters = {k: [*ops] for k, ops in self.waiters.items()}
        return twin


def _mark(index: dict[_K, _Cover], key: _K, seq: int, n: int, op: Op, step: int) -> None:
    """Add (``step`` 1) or take out (-1) ``op``'s ids ``[seq, seq + n)`` in ``index[key]``."""
    cover = index.get(key)
    if cover is None:
        cover = index[key] = _Cover()
    cover.mark(seq, seq + n, op, step)
    if not cover:
        del index[key]


def _refs(op: Op) -> list[tuple[str, int, int]]:
    """What ``op`` refers to, as (agent, first seq, count): an insert its origins, a delete its
    target range. Each must be a character."""
    if type(op) is Insert:
        return [(r[0], r[1], 1) for r in (op.left, op.right) if r is not None]
    return [(op.target[0], op.target[1], op.length)]  # type: ignore[union-attr]
