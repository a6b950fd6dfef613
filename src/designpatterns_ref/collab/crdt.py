"""Sequence CRDTs: RGA and the YjsMod / FugueMax rule on one run-length-encoded core.

Case study: Design a Collaborative Document Editor (Google Docs) (docs/case-studies/collaborative-editor.md)

Every character gets an identity ``(agent, seq)`` that never changes, and remembers the
characters it was typed between: its left origin and its right origin. Deleting leaves a
tombstone. A remote insert is placed by scanning right from its left origin; the *ordering rule*
decides where among concurrent inserts at the same place it lands, the same at every replica,
so replicas that have seen the same operations hold the same text whatever the order they
arrived in. Two rules share the integration core here:

* :class:`RGAReplica` (Roh et al. 2011): siblings after the same left origin are ordered by
  Lamport timestamp, newest first. Two users who type *backwards* (each new character before
  the last, as in a right-to-left edit or repeated ``Home`` + type) see their runs interleave.
* :class:`FugueMaxReplica` (the YjsMod rule of diamond-types and Eg-walker; FugueMax in
  Weidner and Kleppmann's paper): the right origin also takes part, concurrent inserts at the
  same place are ordered by agent id compared as strings, and concurrently typed runs never
  interleave, forwards or backwards.

>>> alice, bob = RGAReplica("alice"), RGAReplica("bob")
>>> for ch in "ba": alice.insert(0, ch)     # typed backwards: "ab"
>>> for ch in "dc": bob.insert(0, ch)       # typed backwards: "cd"
>>> alice.merge(bob); alice.text()          # RGA interleaves the two runs
'cadb'
>>> alice, bob = FugueMaxReplica("alice"), FugueMaxReplica("bob")
>>> for ch in "ba": alice.insert(0, ch)
>>> for ch in "dc": bob.insert(0, ch)
>>> alice.merge(bob); alice.text()          # FugueMax keeps each run whole
'abcd'

Speed comes from the representation, not from tricks. A run of characters typed left to right
is one *item* (run-length encoding) until an edit splits it. Items live in a chunked list (each
chunk caches how many visible characters it holds) with a cursor at the last edit, so finding
a position costs O(distance in chunks + chunk size) and typing at the cursor costs O(1)
amortised. An index from ``(agent, seq)`` to items (a sorted list of runs per agent, each run
the list of items it was split into) finds an origin in O(log n). Operations travel as
:class:`Insert` (a whole run) and :class:`Delete` (a range of identities), are exported with
:meth:`SequenceReplica.ops_since` and applied with :meth:`SequenceReplica.apply_ops`;
duplicates are ignored and an operation that arrives before what it depends on waits.

Complexity: local edit O(chunks crossed + chunk size); remote insert O(log n + k) where k is
the number of concurrent items it is ordered against; memory O(items), not O(characters).
"""  # noqa: E501

from __future__ import annotations

from bisect import bisect_right, insort
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from operator import attrgetter, itemgetter
from typing import Any, ClassVar

from designpatterns_ref.collab.base import CRDTError

__all__ = [
    "RULES",
    "Delete",
    "FugueMaxReplica",
    "Id",
    "Insert",
    "Op",
    "RGAReplica",
    "SequenceReplica",
    "Version",
    "YjsModReplica",
]

Id = tuple[str, int]
"""A character's (or an operation's) identity: the agent that made it and its sequence number."""

MAX_CHUNK = 64  # items per chunk before it splits in two


@dataclass(frozen=True, slots=True)
class Insert:
    """Agent ``agent`` typed ``text`` between ``left`` and ``right``; its characters are
    ``(agent, seq)`` .. ``(agent, seq + len(text) - 1)`` with Lamport times from ``lamport``."""

    agent: str
    seq: int
    lamport: int
    text: str
    left: Id | None
    right: Id | None


@dataclass(frozen=True, slots=True)
class Delete:
    """Agent ``agent`` deleted characters ``target[1]`` .. ``target[1] + length - 1`` of agent
    ``target[0]``; the delete itself uses sequence numbers ``seq`` .. ``seq + length - 1``, the
    k-th of them for the k-th character, or for the k-th from the end when ``backwards`` (a run
    of backspaces), so that any part of the delete can be sent on its own."""

    agent: str
    seq: int
    lamport: int
    target: Id
    length: int
    backwards: bool = False


Op = Insert | Delete


# -- known ranges: a flat sorted list of boundaries [start0, end0, start1, end1, ...] -----------
def _gaps(bounds: list[int] | tuple[int, ...], start: int, end: int) -> list[tuple[int, int]]:
    """The parts of ``[start, end)`` not covered by ``bounds``."""
    out = []
    i = bisect_right(bounds, start)
    pos = start
    if i % 2:  # start is inside a covered range
        pos = bounds[i]
        i += 1
    while pos < end:
        stop = bounds[i] if i < len(bounds) else end
        if stop > pos:
            out.append((pos, min(stop, end)))
        if i + 1 >= len(bounds):
            break
        pos = bounds[i + 1]
        i += 2
    return out


def _add(bounds: list[int], start: int, end: int) -> None:
    """Mark ``[start, end)`` covered."""
    if bounds and bounds[-1] == start:
        bounds[-1] = end
        return
    if not bounds or bounds[-1] < start:
        bounds += [start, end]
        return
    pairs = [(bounds[i], bounds[i + 1]) for i in range(0, len(bounds), 2)] + [(start, end)]
    pairs.sort()
    merged: list[int] = []
    for s, e in pairs:
        if merged and s <= merged[-1]:
            merged[-1] = max(merged[-1], e)
        else:
            merged += [s, e]
    bounds[:] = merged


def _covers(bounds: list[int] | tuple[int, ...], seq: int) -> bool:
    return bisect_right(bounds, seq) % 2 == 1


class Version:
    """The set of operation identities a replica has seen: per agent, ranges of ``seq``.

    >>> v = Version({"alice": [(0, 5)]})
    >>> ("alice", 4) in v, ("alice", 5) in v, ("bob", 0) in v
    (True, False, False)
    """

    __slots__ = ("_bounds",)

    def __init__(self, ranges: Mapping[str, Iterable[tuple[int, int]]] | None = None) -> None:
        self._bounds: dict[str, tuple[int, ...]] = {}
        for agent, pairs in (ranges or {}).items():
            flat: list[int] = []
            for start, end in sorted(pairs):
                if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end):
                    raise CRDTError(
                        f"version range {(start, end)!r} of {agent!r} must be 0 <= a < b"
                    )
                _add(flat, start, end)
            if flat:
                self._bounds[agent] = tuple(flat)

    @classmethod
    def _from_bounds(cls, bounds: Mapping[str, list[int]]) -> Version:
        v = cls()
        v._bounds = {a: tuple(b) for a, b in bounds.items() if b}
        return v

    def __contains__(self, ident: object) -> bool:
        if not (isinstance(ident, tuple) and len(ident) == 2):
            return False
        bounds = self._bounds.get(ident[0])
        return bounds is not None and _covers(bounds, ident[1])

    def ranges(self) -> dict[str, list[tuple[int, int]]]:
        """``{agent: [(start, end), ...]}``, half-open ranges of ``seq``."""
        return {a: list(zip(b[::2], b[1::2], strict=True)) for a, b in self._bounds.items()}

    def __le__(self, other: Version) -> bool:
        """True when every identity in this version is in ``other``."""
        for agent, mine in self._bounds.items():
            theirs = other._bounds.get(agent, ())
            if any(_gaps(theirs, mine[k], mine[k + 1]) for k in range(0, len(mine), 2)):
                return False
        return True

    def __or__(self, other: Version) -> Version:
        """The union of two versions (what a replica has after merging both)."""
        merged = {a: list(b) for a, b in self._bounds.items()}
        for agent, bounds in other._bounds.items():
            mine = merged.setdefault(agent, [])
            for k in range(0, len(bounds), 2):
                _add(mine, bounds[k], bounds[k + 1])
        return Version._from_bounds(merged)

    def with_range(self, agent: str, start: int, end: int) -> Version:
        """This version plus ``agent``'s sequence numbers ``start`` .. ``end - 1``."""
        bounds = list(self._bounds.get(agent, ()))
        if start < end:
            _add(bounds, start, end)
        out = Version._from_bounds({})
        out._bounds = dict(self._bounds)
        out._bounds[agent] = tuple(bounds)
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and self._bounds == other._bounds

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._bounds.items())))

    def __repr__(self) -> str:
        return f"Version({self.ranges()!r})"


class _Item:
    """A run of characters typed left to right: ``(agent, seq)`` .. ``seq + len(content) - 1``."""

    __slots__ = ("agent", "chunk", "content", "deleted", "lamport", "left", "right", "run", "seq")

    agent: str
    seq: int
    lamport: int
    content: str
    deleted: bool
    left: Id | None  # origin of the first character; the others follow the one before
    right: Id | None  # shared by every character of the run
    run: list[_Item]  # every item the original insert was split into, in seq order
    chunk: _Chunk


class _Chunk:
    __slots__ = ("items", "next", "prev", "visible")

    def __init__(self) -> None:
        self.items: list[_Item] = []
        self.visible = 0
        self.next: _Chunk | None = None
        self.prev: _Chunk | None = None


_seq_of = attrgetter("seq")
_first = itemgetter(0)
_BREAK, _SKIP, _MAYBE = 0, 1, 2  # what the ordering rule says about one item while scanning


class SequenceReplica:
    """One replica of a text document; subclasses choose the ordering rule.

    ``insert`` / ``delete`` / ``text`` edit locally with code-point positions; ``merge``,
    ``ops_since`` / ``apply_ops`` and ``fork`` exchange work with other replicas.
    Not thread-safe: one replica belongs to one editor (or one thread).
    """

    rule: ClassVar[str] = ""

    def __init__(self, agent: str) -> None:
        if not self.rule:
            raise TypeError("SequenceReplica is abstract: use RGAReplica or FugueMaxReplica")
        _check_agent(agent)
        self._head = _Chunk()
        self._len = 0
        self._runs: dict[str, tuple[list[int], list[list[_Item]]]] = {}
        # per agent, its deletes as [seq, lamport, target agent, target seq, length, backwards]
        self._dels: dict[str, list[list[Any]]] = {}
        self._known: dict[str, list[int]] = {}
        self._lamport = -1
        self._pending: list[Op] = []
        self._agent = agent
        self._next_seq = 0
        self._tail = self._head
        # a chunk and the visible position it starts at (None: unknown since a remote edit)
        self._cursor: tuple[_Chunk, int] | None = (self._head, 0)
        self._hint: tuple[_Chunk, int, int, int] | None = None  # + an item index and its start
        self._last: _Item | None = None  # the item local typing may extend
        self._last_end = -1

    # -- identity -----------------------------------------------------------------------
    @property
    def agent(self) -> str:
        """The agent id this replica's local edits are made under."""
        return self._agent

    def set_agent(self, agent: str, next_seq: int | None = None) -> None:
        """Make later local edits as ``agent``, from sequence number ``next_seq`` (default: just
        past the highest one this replica has seen from that agent). A replay uses this to let
        one replica stand for different users in turn."""
        _check_agent(agent)
        known = self._known.get(agent)
        floor = known[-1] if known else 0
        if next_seq is None:
            next_seq = floor
        elif not isinstance(next_seq, int) or isinstance(next_seq, bool) or next_seq < floor:
            raise CRDTError(
                f"next_seq={next_seq!r} must be an int >= {floor}, past every seq of {agent!r} "
                f"this replica has seen"
            )
        self._agent, self._next_seq, self._last = agent, next_seq, None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(agent={self._agent!r}, length={self._len})"

    def __len__(self) -> int:
        return self._len

    def text(self) -> str:
        """The visible document."""
        return "".join(it.content for c in self._chunks() for it in c.items if not it.deleted)

    def version(self) -> Version:
        """Every operation identity this replica has applied."""
        return Version._from_bounds(self._known)

    def has(self, ident: Id) -> bool:
        """Has this replica applied the operation (or character) ``ident``?"""
        bounds = self._known.get(ident[0])
        return bounds is not None and _covers(bounds, ident[1])

    def is_within(self, version: Version) -> bool:
        """True when every operation this replica has applied is in ``version``."""
        for agent, mine in self._known.items():
            theirs = version._bounds.get(agent, ())
            if len(mine) == 2 and len(theirs) == 2:
                if mine[0] < theirs[0] or mine[1] > theirs[1]:
                    return False
            elif any(_gaps(theirs, mine[k], mine[k + 1]) for k in range(0, len(mine), 2)):
                return False
        return True

    def stats(self) -> dict[str, int]:
        """Sizes of the internal structure: characters, items, chunks, pending operations."""
        chunks = list(self._chunks())
        return {
            "length": self._len,
            "items": sum(len(c.items) for c in chunks),
            "chunks": len(chunks),
            "pending": len(self._pending),
        }

    # -- local edits ----------------------------------------------------------------------
    def insert(self, pos: int, text: str) -> None:
        """Insert ``text`` so that it starts at code point ``pos``."""
        if not isinstance(text, str):
            raise CRDTError(f"text={text!r} must be a str")
        if type(pos) is not int or not 0 <= pos <= self._len:
            raise CRDTError(f"pos={pos!r} must be an int within [0, {self._len}]")
        n = len(text)
        if not n:
            return
        last = self._last
        if last is not None and pos == self._last_end:  # typing on: extend the run
            last.content += text
            last.chunk.visible += n
            self._len += n
            self._next_seq += n
            self._lamport += n
            self._last_end += n
            self._known[self._agent][-1] += n
            return
        chunk, start, i, p = self._locate(pos)
        items = chunk.items
        if i < len(items) and pos > p:  # inside a visible item: split it
            self._split(items[i], pos - p, i)
            i += 1
        left = items[i - 1] if i else self._prev_item(chunk)
        right = items[i] if i < len(items) else self._next_item(chunk)
        item = self._new_item(
            self._agent,
            self._next_seq,
            self._lamport + 1,
            text,
            None if left is None else (left.agent, left.seq + len(left.content) - 1),
            None if right is None else (right.agent, right.seq),
        )
        items.insert(i, item)
        item.chunk = chunk
        chunk.visible += n
        self._len += n
        self._next_seq += n
        self._lamport += n
        self._last, self._last_end = item, pos + n
        self._cursor, self._hint = (chunk, start), (chunk, start, i, pos)
        if len(items) > MAX_CHUNK:
            self._split_chunk(chunk)

    def delete(self, pos: int, length: int) -> None:
        """Delete ``length`` code points starting at ``pos`` (they stay as tombstones)."""
        if type(pos) is not int or type(length) is not int or pos < 0 or length < 0:
            raise CRDTError(f"pos={pos!r} and length={length!r} must be non-negative ints")
        if pos + length > self._len:
            raise CRDTError(
                f"delete pos={pos}, length={length} reaches past the document's {self._len} "
                f"code points"
            )
        if not length:
            return
        self._last = None
        chunk, start, i, p = self._locate(pos)
        items = chunk.items
        self._cursor = (chunk, start)
        # items before i are not touched below, so the one just before is a safe hint
        if i:
            prev = items[i - 1]
            self._hint = (chunk, start, i - 1, p if prev.deleted else p - len(prev.content))
        else:
            self._hint = (chunk, start, 0, start)
        touched = [chunk]
        while length:
            if i == len(items):
                chunk = chunk.next  # type: ignore[assignment]
                items, i = chunk.items, 0
                touched.append(chunk)
                continue
            item = items[i]
            if item.deleted:
                i += 1
                continue
            n = len(item.content)
            if pos > p:  # the first item: its head stays
                off, p = pos - p, pos
                if length >= n - off and self._shift_tail(chunk, i, off):
                    length -= n - off
                    i += 1
                    continue
                item = self._split(item, off, i)
                i += 1
                n -= off
            if n > length:
                if self._shift_head(chunk, i, length):
                    break
                self._split(item, length, i)
                n = length
            item.deleted = True
            chunk.visible -= n
            self._len -= n
            self._record_delete(item.agent, item.seq, n)
            length -= n
            i = self._merge_left(chunk, i) + 1
        if i < len(items):
            self._merge_left(chunk, i)
        for c in touched:
            if len(c.items) > MAX_CHUNK:
                self._split_chunk(c)

    def _shift_tail(self, chunk: _Chunk, i: int, keep: int) -> bool:
        """Delete all but ``keep`` characters of visible item ``i`` by moving its tail into the
        tombstone after it, when that is the next piece of the same run (a backspace)."""
        items = chunk.items
        if i + 1 == len(items):
            return False
        item, nxt = items[i], items[i + 1]
        n = len(item.content)
        if not (nxt.deleted and nxt.run is item.run and item.seq + n == nxt.seq):
            return False
        k = n - keep
        nxt.content = item.content[keep:] + nxt.content
        item.content = item.content[:keep]
        nxt.seq -= k
        nxt.lamport -= k
        nxt.left = (item.agent, nxt.seq - 1)
        chunk.visible -= k
        self._len -= k
        self._record_delete(item.agent, nxt.seq, k)
        return True

    def _shift_head(self, chunk: _Chunk, i: int, k: int) -> bool:
        """Delete the first ``k`` characters of visible item ``i`` by moving them into the
        tombstone before it, when that is the previous piece of the same run."""
        if i == 0:
            return False
        prev, item = chunk.items[i - 1], chunk.items[i]
        if not (prev.deleted and prev.run is item.run and prev.seq + len(prev.content) == item.seq):
            return False
        prev.content += item.content[:k]
        item.content = item.content[k:]
        tseq = item.seq
        item.seq += k
        item.lamport += k
        item.left = (item.agent, item.seq - 1)
        chunk.visible -= k
        self._len -= k
        self._record_delete(item.agent, tseq, k)
        return True

    def _record_delete(self, tagent: str, tseq: int, n: int) -> None:
        """Log a local delete of ``n`` characters from ``(tagent, tseq)``."""
        seq = self._next_seq
        self._log_delete(self._agent, seq, self._lamport + 1, tagent, tseq, n)
        _add(self._known.setdefault(self._agent, []), seq, seq + n)
        self._next_seq = seq + n
        self._lamport += n

    # -- exchanging operations --------------------------------------------------------------
    def ops_since(self, version: Version | None = None) -> list[Op]:
        """Every operation this replica has that ``version`` lacks, in causal order."""
        theirs = version._bounds if version is not None else {}
        out: list[Op] = []
        for agent, mine in self._known.items():
            have = theirs.get(agent, ())
            if len(have) == len(mine) == 2 and have[0] <= mine[0] and mine[1] <= have[1]:
                continue
            wanted = [
                g for s, e in zip(mine[::2], mine[1::2], strict=True) for g in _gaps(have, s, e)
            ]
            if not wanted:
                continue
            starts, runs = self._runs.get(agent, ([], []))
            first = max(bisect_right(starts, wanted[0][0]) - 1, 0)
            for run in runs[first:]:
                head = run[0]
                text = "".join(it.content for it in run)
                end = head.seq + len(text)
                for s, e in _gaps(have, head.seq, end):
                    k = s - head.seq
                    left = head.left if k == 0 else (agent, s - 1)
                    out.append(
                        Insert(agent, s, head.lamport + k, text[k : e - head.seq], left, head.right)
                    )
            dels = self._dels.get(agent, [])
            for seq, lamport, tagent, tseq, n, backwards in dels[
                max(bisect_right(dels, wanted[0][0], key=_first) - 1, 0) :
            ]:
                for s, e in _gaps(have, seq, seq + n):
                    lo = tseq + (seq + n - e if backwards else s - seq)
                    out.append(Delete(agent, s, lamport + s - seq, (tagent, lo), e - s, backwards))
        out.sort(key=attrgetter("lamport"))
        return out

    def apply_ops(self, ops: Iterable[Op]) -> None:
        """Apply remote operations: duplicates are ignored, operations whose dependencies have
        not arrived wait until they do (see :meth:`stats`, ``pending``). A malformed operation
        (wrong types, empty text, bad ids, or a reference to a known delete as if it were a
        character) is refused before any of the batch is applied."""
        batch = list(ops)
        for op in batch:
            _check_op(op)
        for op in batch:  # references to what we already have must be characters
            if isinstance(op, Insert):
                refs = [op.left, op.right]
            else:
                refs = [op.target, (op.target[0], op.target[1] + op.length - 1)]
            for ref in refs:
                if ref is not None:
                    self._exists(ref, op)
        self._last = None
        self._cursor, self._hint = None, None
        waiting: list[Op] = []
        for op in batch:
            if not self._apply_one(op):
                waiting.append(op)
        progress = len(waiting) < len(batch)
        waiting = self._pending + waiting
        while waiting and progress:
            progress = False
            still = []
            for op in waiting:
                if self._apply_one(op):
                    progress = True
                else:
                    still.append(op)
            waiting = still
        self._pending = waiting

    def merge(self, other: SequenceReplica) -> None:
        """Apply every operation ``other`` has that this replica lacks."""
        if not isinstance(other, SequenceReplica):
            raise CRDTError(f"merge: other={other!r} is not a SequenceReplica")
        if other.rule != self.rule:
            raise CRDTError(f"merge: rule {other.rule!r} cannot merge into {self.rule!r}")
        self.apply_ops(other.ops_since(self.version()))

    def fork(self, agent: str) -> SequenceReplica:
        """A new replica with this one's state, editing as ``agent``."""
        _check_agent(agent)
        twin = type(self)(agent)
        copies: dict[int, _Item] = {}
        prev: _Chunk | None = None
        for chunk in self._chunks():
            c = _Chunk() if prev is not None else twin._head
            c.visible, c.prev = chunk.visible, prev
            if prev is not None:
                prev.next = c
            for it in chunk.items:
                new = _Item()
                new.agent, new.seq, new.lamport, new.content = (
                    it.agent,
                    it.seq,
                    it.lamport,
                    it.content,
                )
                new.deleted, new.left, new.right, new.chunk = it.deleted, it.left, it.right, c
                copies[id(it)] = new
                c.items.append(new)
            prev = c
        twin._tail = prev if prev is not None else twin._head
        for agent_, (starts, runs) in self._runs.items():
            new_runs = []
            for run in runs:
                new_run = [copies[id(it)] for it in run]
                for it in new_run:
                    it.run = new_run
                new_runs.append(new_run)
            twin._runs[agent_] = (list(starts), new_runs)
        twin._dels = {a: [list(d) for d in log] for a, log in self._dels.items()}
        twin._known = {a: list(b) for a, b in self._known.items()}
        twin._len, twin._lamport, twin._pending = self._len, self._lamport, list(self._pending)
        twin.set_agent(agent)
        return twin

    # -- the integration core -------------------------------------------------------------------
    def _order(self, new: _Item, other: _Item, right_cmp: int) -> int:
        """The ordering rule, asked about ``other``, an item with the same left origin as
        ``new``: ``_BREAK`` (insert before it), ``_SKIP`` (insert after it) or ``_MAYBE``
        (after it only if nothing later says before). ``right_cmp`` compares ``other``'s right
        origin with ``new``'s: -1 before, 0 same, 1 after (computed only when
        :attr:`uses_right`)."""
        raise NotImplementedError

    uses_right: ClassVar[bool] = False

    def _integrate(self, new: _Item) -> None:
        left, right = new.left, new.right
        if left is None:
            chunk, i = self._head, 0
        else:
            lit = self._find(left)
            assert lit is not None
            chunk = lit.chunk
            i = chunk.items.index(lit)
            if left[1] < lit.seq + len(lit.content) - 1:
                self._split(lit, left[1] - lit.seq + 1, i)
            i += 1
        stop: _Item | None = None
        if right is not None:
            stop = self._find(right)
            assert stop is not None
            if right[1] > stop.seq:
                c = stop.chunk
                stop = self._split(stop, right[1] - stop.seq, c.items.index(stop))
        while i == len(chunk.items) and chunk.next is not None:
            chunk, i = chunk.next, 0
        if i < len(chunk.items) and chunk.items[i] is not stop:
            chunk, i = self._scan(new, chunk, i, stop)
        chunk.items.insert(i, new)
        new.chunk = chunk
        chunk.visible += len(new.content)
        self._len += len(new.content)
        if len(chunk.items) > MAX_CHUNK:
            self._split_chunk(chunk)

    def _scan(self, new: _Item, chunk: _Chunk, i: int, stop: _Item | None) -> tuple[_Chunk, int]:
        """Walk right from the left origin over concurrent items, asking the rule where ``new``
        goes; returns the (chunk, index) to insert at. Stops at the right origin ``stop``."""
        seen: list[tuple[_Item, _Chunk, int]] = []  # items explored so far, in order
        rank: dict[int, int] = {}
        at_chunk, at = chunk, i  # the next item to explore

        def explore() -> bool:  # add the next item to `seen`; False at `stop` or the end
            nonlocal at_chunk, at
            while at == len(at_chunk.items):
                if at_chunk.next is None:
                    return False
                at_chunk, at = at_chunk.next, 0
            item = at_chunk.items[at]
            if item is stop:
                return False
            rank[id(item)] = len(seen)
            seen.append((item, at_chunk, at))
            at += 1
            return True

        def right_cmp(other: _Item) -> int:
            ro, rn = other.right, new.right
            if ro == rn:
                return 0
            if ro is None:
                return 1
            if rn is None:
                return -1
            found = self._find(ro)
            if found is stop:
                return 1
            while id(found) not in rank:
                if not explore():
                    return 1
            return -1

        k, dest, scanning = 0, 0, False
        while True:
            if not scanning:
                dest = k
            if k == len(seen) and not explore():
                break
            other = seen[k][0]
            if other.left == new.left:
                verdict = self._order(new, other, right_cmp(other) if self.uses_right else 0)
                if verdict == _BREAK:
                    break
                scanning = verdict == _MAYBE
            elif other.left is None or rank.get(id(self._find(other.left)), k) >= k:
                break  # other's left origin is before ours: we are past our siblings
            k += 1
        if dest < len(seen):
            return seen[dest][1], seen[dest][2]
        return at_chunk, at

    # -- applying one remote operation --------------------------------------------------------
    def _apply_one(self, op: Op) -> bool:
        known = self._known.get(op.agent, ())
        n = len(op.text) if isinstance(op, Insert) else op.length
        gaps = _gaps(known, op.seq, op.seq + n)
        if not gaps:
            return True  # a duplicate
        if isinstance(op, Insert):
            pieces = []
            for s, e in gaps:
                k = s - op.seq
                left = op.left if k == 0 else (op.agent, s - 1)
                for ref in (left, op.right):
                    if ref is not None and not self._exists(ref, op):
                        return False
                pieces.append((s, k, e - op.seq, left))
            for s, k, end, left in pieces:
                item = self._new_item(op.agent, s, op.lamport + k, op.text[k:end], left, op.right)
                self._integrate(item)
        else:
            tagent, tseq = op.target
            tbounds = self._known.get(tagent, ())
            if _gaps(tbounds, tseq, tseq + op.length):
                return False
            self._delete_ids(tagent, tseq, op.length)
            for s, e in gaps:
                _add(self._known.setdefault(op.agent, []), s, e)
                k = s - op.seq
                lo = tseq + (op.seq + op.length - e if op.backwards else k)
                self._log_delete(op.agent, s, op.lamport + k, tagent, lo, e - s, op.backwards)
        self._lamport = max(self._lamport, op.lamport + n - 1)
        return True

    def _exists(self, ref: Id, op: Op) -> bool:
        """Whether ``op``'s reference ``ref`` is a character this replica has (False while it
        has not arrived); CRDTError when ``ref`` names a delete."""
        if not _covers(self._known.get(ref[0], ()), ref[1]):
            return False
        if self._find(ref) is None:
            raise CRDTError(f"{op!r} refers to {ref!r}, which is a delete, not a character")
        return True

    def _delete_ids(self, agent: str, seq: int, length: int) -> None:
        end = seq + length
        while seq < end:
            item = self._find((agent, seq))
            if item is None:
                raise CRDTError(f"delete targets {(agent, seq)!r}, which is not a character")
            chunk = item.chunk
            if seq > item.seq:
                item = self._split(item, seq - item.seq, chunk.items.index(item))
            if item.seq + len(item.content) > end:
                self._split(item, end - item.seq, chunk.items.index(item))
            if not item.deleted:
                item.deleted = True
                chunk.visible -= len(item.content)
                self._len -= len(item.content)
            seq = item.seq + len(item.content)

    # -- the sequence of items ------------------------------------------------------------------
    def _chunks(self) -> Iterator[_Chunk]:
        c: _Chunk | None = self._head
        while c is not None:
            yield c
            c = c.next

    def _seek(self, pos: int) -> tuple[_Chunk, int]:
        """The chunk holding visible position ``pos`` (the last chunk for the end), and the
        visible position it starts at, walking from the cursor."""
        if self._cursor is None:  # start from whichever end is nearer
            if pos < self._len // 2:
                self._cursor = (self._head, 0)
            else:
                self._cursor = (self._tail, self._len - self._tail.visible)
        chunk, start = self._cursor
        while pos < start:
            chunk = chunk.prev  # type: ignore[assignment]
            start -= chunk.visible
        while pos >= start + chunk.visible and chunk.next is not None:
            start += chunk.visible
            chunk = chunk.next
        return chunk, start

    def _locate(self, pos: int) -> tuple[_Chunk, int, int, int]:
        """``(chunk, chunk start, index, item start)`` of the visible item holding ``pos``
        (past any tombstones before it; the index is ``len(items)`` at the end), scanning from
        the hint left by the last local edit when it is near."""
        hint = self._hint
        if hint is not None:
            chunk, start, i, p = hint
            items = chunk.items
            while pos < p and i > 0:
                i -= 1
                item = items[i]
                if not item.deleted:
                    p -= len(item.content)
            if p <= pos:
                count = len(items)
                while i < count:
                    item = items[i]
                    if not item.deleted:
                        n = len(item.content)
                        if pos < p + n:
                            return chunk, start, i, p
                        p += n
                    i += 1
                if chunk.next is None:
                    return chunk, start, i, p
            self._cursor = (chunk, start)
        chunk, start = self._seek(pos)
        i, p = self._index_in(chunk, start, pos)
        return chunk, start, i, p

    @staticmethod
    def _index_in(chunk: _Chunk, start: int, pos: int) -> tuple[int, int]:
        """Index of the visible item holding ``pos`` in ``chunk`` (past any tombstones before
        it) and that item's visible start; ``len(items)`` at the end of the document."""
        items = chunk.items
        p = start
        for i, item in enumerate(items):
            if not item.deleted:
                n = len(item.content)
                if pos < p + n:
                    return i, p
                p += n
        return len(items), p

    def _prev_item(self, chunk: _Chunk) -> _Item | None:
        c = chunk.prev
        while c is not None and not c.items:
            c = c.prev
        return c.items[-1] if c is not None else None

    def _next_item(self, chunk: _Chunk) -> _Item | None:
        c = chunk.next
        while c is not None and not c.items:
            c = c.next
        return c.items[0] if c is not None else None

    def _new_item(
        self, agent: str, seq: int, lamport: int, text: str, left: Id | None, right: Id | None
    ) -> _Item:
        item = _Item()
        item.agent, item.seq, item.lamport, item.content = agent, seq, lamport, text
        item.deleted, item.left, item.right = False, left, right
        run = [item]
        item.run = run
        starts, runs = self._runs.setdefault(agent, ([], []))
        if not starts or starts[-1] < seq:
            starts.append(seq)
            runs.append(run)
        else:
            at = bisect_right(starts, seq)
            starts.insert(at, seq)
            runs.insert(at, run)
        _add(self._known.setdefault(agent, []), seq, seq + len(text))
        return item

    def _find(self, ident: Id) -> _Item | None:
        """The item holding character ``ident``, or None."""
        entry = self._runs.get(ident[0])
        if entry is None:
            return None
        starts, runs = entry
        at = bisect_right(starts, ident[1]) - 1
        if at < 0:
            return None
        run = runs[at]
        item = run[bisect_right(run, ident[1], key=_seq_of) - 1] if len(run) > 1 else run[0]
        return item if ident[1] < item.seq + len(item.content) else None

    def _split(self, item: _Item, k: int, index: int) -> _Item:
        """Cut ``item`` (at ``index`` in its chunk) after ``k`` characters; returns the tail."""
        tail = _Item()
        tail.agent, tail.seq, tail.lamport = item.agent, item.seq + k, item.lamport + k
        tail.content, item.content = item.content[k:], item.content[:k]
        tail.deleted, tail.left, tail.right = (
            item.deleted,
            (item.agent, item.seq + k - 1),
            item.right,
        )
        tail.run, tail.chunk = item.run, item.chunk
        run = item.run
        run.insert(run.index(item) + 1, tail)
        item.chunk.items.insert(index + 1, tail)
        if self._last is item:
            self._last = None
        return tail

    def _merge_left(self, chunk: _Chunk, i: int) -> int:
        """Merge item ``i`` into item ``i - 1`` when they are adjacent pieces of one run in the
        same state; returns the index of the resulting item."""
        if i == 0:
            return i
        a, b = chunk.items[i - 1], chunk.items[i]
        if a.run is b.run and a.deleted == b.deleted and a.seq + len(a.content) == b.seq:
            a.content += b.content
            del chunk.items[i]
            b.run.remove(b)
            return i - 1
        return i

    def _split_chunk(self, chunk: _Chunk) -> None:
        self._hint = None
        half = len(chunk.items) // 2
        new = _Chunk()
        new.items = chunk.items[half:]
        del chunk.items[half:]
        for it in new.items:
            it.chunk = new
        new.visible = sum(len(it.content) for it in new.items if not it.deleted)
        chunk.visible -= new.visible
        new.prev, new.next = chunk, chunk.next
        if chunk.next is not None:
            chunk.next.prev = new
        else:
            self._tail = new
        chunk.next = new

    def _log_delete(
        self,
        agent: str,
        seq: int,
        lamport: int,
        tagent: str,
        tseq: int,
        n: int,
        backwards: bool = False,
    ) -> None:
        """Append a delete to ``agent``'s log, extending the last entry when it continues it
        (forward delete, or backspace one character at a time)."""
        log = self._dels.setdefault(agent, [])
        if log and log[-1][0] < seq:
            d = log[-1]
            if d[0] + d[4] == seq and d[1] + d[4] == lamport and d[2] == tagent:
                if not d[5] and not backwards and d[3] + d[4] == tseq:  # forward
                    d[4] += n
                    return
                if n == 1 and (d[5] or d[4] == 1) and tseq + 1 == d[3]:  # backspace
                    d[3], d[4], d[5] = tseq, d[4] + 1, True
                    return
            log.append([seq, lamport, tagent, tseq, n, backwards and n > 1])
        else:
            insort(log, [seq, lamport, tagent, tseq, n, backwards and n > 1], key=_first)


class RGAReplica(SequenceReplica):
    """RGA: items after the same left origin go newest (highest Lamport time) first; equal
    times go by agent id, then by sequence number (one agent on two concurrent branches)."""

    rule = "rga"

    def _order(self, new: _Item, other: _Item, right_cmp: int) -> int:
        if (new.lamport, new.agent, new.seq) > (other.lamport, other.agent, other.seq):
            return _BREAK
        return _SKIP


class FugueMaxReplica(SequenceReplica):
    """YjsMod / FugueMax: left and right origins decide, ties go to the smaller agent id
    (then the smaller sequence number, for one agent on two concurrent branches)."""

    rule = "fuguemax"
    uses_right = True

    def _order(self, new: _Item, other: _Item, right_cmp: int) -> int:
        if right_cmp < 0:  # other's right origin is nearer: it may belong inside our span
            return _MAYBE
        if right_cmp == 0 and (new.agent, new.seq) < (other.agent, other.seq):
            return _BREAK
        return _SKIP


YjsModReplica = FugueMaxReplica

#: The ordering rules by name.
RULES: dict[str, type[SequenceReplica]] = {"rga": RGAReplica, "fuguemax": FugueMaxReplica}


def _check_agent(agent: object) -> None:
    if not isinstance(agent, str) or not agent:
        raise CRDTError(f"agent={agent!r} must be a non-empty str")


def _check_op(op: object) -> None:
    cls = type(op)
    if cls is not Insert and cls is not Delete:
        raise CRDTError(f"op={op!r} must be an Insert or a Delete")
    assert isinstance(op, Insert | Delete)
    stamped = (  # what every op carries: who made it, its sequence number and Lamport time
        type(op.agent) is str
        and op.agent != ""
        and type(op.seq) is int
        and op.seq >= 0
        and type(op.lamport) is int
        and op.lamport >= 0
    )
    if isinstance(op, Insert):
        fine = stamped and type(op.text) is str and op.text != ""
        fine = fine and _is_ref(op.left) and _is_ref(op.right)
    else:
        fine = stamped and type(op.length) is int and op.length >= 1
        fine = fine and op.target is not None and _is_ref(op.target)
        fine = fine and type(op.backwards) is bool
    if not fine:
        raise CRDTError(
            f"malformed {op!r}: agents are non-empty str, seq and lamport ints >= 0, text "
            f"non-empty, length >= 1, origins and target (agent, seq) pairs"
        )


def _is_ref(ref: object) -> bool:
    return ref is None or (
        type(ref) is tuple
        and len(ref) == 2
        and type(ref[0]) is str
        and type(ref[1]) is int
        and ref[1] >= 0
    )
