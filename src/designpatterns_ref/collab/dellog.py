"""One agent's deletes, kept as columns of machine integers.

Case study: Design a Collaborative Document Editor (Google Docs) (docs/case-studies/collaborative-editor.md)

A replica remembers every delete it has applied, so it can send it on
(:meth:`SequenceReplica.ops_since`) and refuse ids reused for characters. Each entry is
``(seq, lamport, target agent, target seq, length, backwards)``: the delete used its agent's
sequence numbers ``seq`` .. ``seq + length - 1`` and removed ``length`` characters of the target
agent from ``target seq``, backwards for a run of backspaces. A run of forward deletes or of
backspaces is one entry (run-length encoding). The entries are sorted by ``seq`` and stored
column by column in :class:`array.array` (8 bytes a number, the target agent as an index into
a small table) rather than as a Python list of Python ints per entry, which cost about five
times the memory.

Complexity: append or extend O(1); an out-of-order insert O(entries); find by seq O(log n);
build from k rows in order (:meth:`DeleteLog._of`, the one-pass load) O(k), mostly in C.

>>> log = DeleteLog()
>>> log.add(5, 5, "bob", 9, 1, True); log.add(6, 6, "bob", 8, 1, True)   # two backspaces
>>> list(log.entries())
[(5, 5, 'bob', 8, 2, True)]
"""  # noqa: E501

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Iterator

__all__ = ["MAX_ID", "DeleteLog"]

MAX_ID = 1 << 62  # sequence numbers and Lamport times stay below this (they fit a machine int)

Entry = tuple[int, int, str, int, int, bool]


class DeleteLog:
    """The deletes of one agent, sorted by their first sequence number."""

    __slots__ = (
        "_agents",
        "_index",
        "_last",
        "_stale",
        "back",
        "lams",
        "lens",
        "seqs",
        "targets",
        "tseqs",
    )

    def __init__(self) -> None:
        self.seqs = array("q")
        self.lams = array("q")
        self.targets = array("l")  # index into _agents
        self.tseqs = array("q")
        self.lens = array("q")
        self.back = array("b")
        self._agents: list[str] = []
        self._index: dict[str, int] = {}
        self._last: list[int] | None = None  # the last entry, as Python ints
        self._stale = False  # has _last moved on since the columns were written?

    def __len__(self) -> int:
        return len(self.seqs)

    def _agent_index(self, agent: str) -> int:
        k = self._index.get(agent)
        if k is None:
            k = self._index[agent] = len(self._agents)
            self._agents.append(agent)
        return k

    def add(self, seq: int, lamport: int, tagent: str, tseq: int, n: int, backwards: bool) -> None:
        """Log a delete, extending the last entry when it continues it (a forward delete, or
        one more backspace)."""
        target = self._index.get(tagent)
        if target is None:
            target = self._agent_index(tagent)
        backwards = backwards and n > 1
        last = self._last  # the last entry as Python ints: typing deletes read it every time
        if last is not None and last[0] < seq:
            d_seq, d_lam, d_target, d_tseq, m, d_back = last
            if d_seq + m == seq and d_lam + m == lamport and d_target == target:
                if not d_back and not backwards and d_tseq + m == tseq:  # forward
                    last[4] = m + n
                    self._stale = True  # the columns catch up when next read
                    return
                if n == 1 and (d_back or m == 1) and tseq + 1 == d_tseq:  # backspace
                    last[3] = tseq
                    last[4] = m + 1
                    last[5] = 1
                    self._stale = True
                    return
        if self._stale:
            self._sync()
        values = [seq, lamport, target, tseq, n, int(backwards)]
        if last is None or last[0] < seq:  # in order: append
            self.seqs.append(seq)
            self.lams.append(lamport)
            self.targets.append(target)
            self.tseqs.append(tseq)
            self.lens.append(n)
            self.back.append(values[5])
            self._last = values
            return
        at = bisect_right(self.seqs, seq)
        for column, value in zip(self._columns(), values, strict=True):
            column.insert(at, value)
        if at == len(self.seqs) - 1:
            self._last = values

    @classmethod
    def _of(cls, rows: list[Entry]) -> DeleteLog:
        """The log :meth:`add` builds from ``rows`` in order, in a few passes over columns
        when no row continues the one before (no two rows merge: what a log sends,
        :meth:`entries`, is such a list) and seq grows; else by :meth:`add`, row by row.
        O(rows) either way, the fast path mostly in C (``zip``, ``array``)."""
        log = cls()
        prev = None
        for row in rows:
            if prev is not None and (prev[0] >= row[0] or _continues(prev, row)):
                for entry in rows:  # out of order, or a row to merge: the reference
                    log.add(*entry)
                return log
            prev = row
        if not rows:
            return log
        seqs, lams, tagents, tseqs, lens, backs = zip(*rows, strict=True)
        index = log._agent_index
        log.seqs = array("q", seqs)
        log.lams = array("q", lams)
        log.targets = array("l", map(index, tagents))
        log.tseqs = array("q", tseqs)
        log.lens = array("q", lens)
        log.back = array("b", [back and n > 1 for back, n in zip(backs, lens, strict=True)])
        log._last = [seqs[-1], lams[-1], log.targets[-1], tseqs[-1], lens[-1], log.back[-1]]
        return log

    def _sync(self) -> None:
        """Write the last entry, extended in Python, back into the columns."""
        if self._stale and self._last is not None:
            last = self._last
            self.tseqs[-1], self.lens[-1], self.back[-1] = last[3], last[4], last[5]
        self._stale = False

    def _columns(self) -> tuple[array[int], ...]:
        return (self.seqs, self.lams, self.targets, self.tseqs, self.lens, self.back)

    def covering(self, seq: int) -> int:
        """Index of the last entry that starts at or before ``seq`` (-1 if none)."""
        return bisect_right(self.seqs, seq) - 1

    def end(self, i: int) -> int:
        """One past the last sequence number entry ``i`` uses."""
        self._sync()
        return self.seqs[i] + self.lens[i]

    def entries(self, start: int = 0) -> Iterator[Entry]:
        """``(seq, lamport, target agent, target seq, length, backwards)`` from entry ``start``."""
        self._sync()
        agents = self._agents
        for i in range(max(start, 0), len(self.seqs)):
            yield (
                self.seqs[i],
                self.lams[i],
                agents[self.targets[i]],
                self.tseqs[i],
                self.lens[i],
                bool(self.back[i]),
            )

    def copy(self) -> DeleteLog:
        self._sync()
        twin = DeleteLog()
        twin.seqs, twin.lams, twin.targets, twin.tseqs, twin.lens, twin.back = (
            array(column.typecode, column) for column in self._columns()
        )
        twin._agents, twin._index = list(self._agents), dict(self._index)
        twin._last = None if self._last is None else list(self._last)
        return twin


def _continues(last: Entry, row: Entry) -> bool:
    """Would :meth:`DeleteLog.add` merge ``row`` into the entry ``last`` (as ``add`` stored it)?"""
    d_seq, d_lam, d_target, d_tseq, m, d_back = last
    seq, lamport, target, tseq, n, back = row
    if d_seq + m != seq or d_lam + m != lamport or d_target != target:
        return False
    d_back = d_back and m > 1
    if not d_back and not (back and n > 1) and d_tseq + m == tseq:
        return True
    return n == 1 and (d_back or m == 1) and tseq + 1 == d_tseq
