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

Complexity: append or extend O(1); an out-of-order insert O(entries); find by seq O(log n).

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

    __slots__ = ("_agents", "_index", "back", "lams", "lens", "seqs", "targets", "tseqs")

    def __init__(self) -> None:
        self.seqs = array("q")
        self.lams = array("q")
        self.targets = array("l")  # index into _agents
        self.tseqs = array("q")
        self.lens = array("q")
        self.back = array("b")
        self._agents: list[str] = []
        self._index: dict[str, int] = {}

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
        seqs, lens = self.seqs, self.lens
        target = self._index.get(tagent)
        if target is None:
            target = self._agent_index(tagent)
        backwards = backwards and n > 1
        if seqs and seqs[-1] < seq:
            m = lens[-1]
            if seqs[-1] + m == seq and self.lams[-1] + m == lamport and self.targets[-1] == target:
                if not self.back[-1] and not backwards and self.tseqs[-1] + m == tseq:
                    lens[-1] = m + n  # forward
                    return
                if n == 1 and (self.back[-1] or m == 1) and tseq + 1 == self.tseqs[-1]:
                    self.tseqs[-1], lens[-1], self.back[-1] = tseq, m + 1, 1  # backspace
                    return
        elif seqs:  # out of order: insert where it belongs
            at = bisect_right(seqs, seq)
            values = (seq, lamport, target, tseq, n, int(backwards))
            for column, value in zip(self._columns(), values, strict=True):
                column.insert(at, value)
            return
        seqs.append(seq)
        self.lams.append(lamport)
        self.targets.append(target)
        self.tseqs.append(tseq)
        lens.append(n)
        self.back.append(backwards)

    def _columns(self) -> tuple[array[int], ...]:
        return (self.seqs, self.lams, self.targets, self.tseqs, self.lens, self.back)

    def covering(self, seq: int) -> int:
        """Index of the last entry that starts at or before ``seq`` (-1 if none)."""
        return bisect_right(self.seqs, seq) - 1

    def end(self, i: int) -> int:
        """One past the last sequence number entry ``i`` uses."""
        return self.seqs[i] + self.lens[i]

    def entries(self, start: int = 0) -> Iterator[Entry]:
        """``(seq, lamport, target agent, target seq, length, backwards)`` from entry ``start``."""
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
        twin = DeleteLog()
        twin.seqs, twin.lams, twin.targets, twin.tseqs, twin.lens, twin.back = (
            array(column.typecode, column) for column in self._columns()
        )
        twin._agents, twin._index = list(self._agents), dict(self._index)
        return twin
