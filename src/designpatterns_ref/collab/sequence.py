"""The sequence-CRDT replica: local edits, integration of remote runs, and sync.

Case study: Design a Collaborative Document Editor (Google Docs) (docs/case-studies/collaborative-editor.md)

Every character gets an identity ``(agent, seq)`` that never changes, and remembers the two
items it was typed between: its *left origin*, the visible character just before the insert
position (none at the start), and its *right origin*, the item right after that one at that
moment, **deleted or not** (none at the end). Deleting leaves a tombstone. A remote insert is
placed by scanning right from its left origin up to its right origin; an *ordering rule*
decides where it lands among concurrent inserts at the same place, the same way at every
replica, so replicas that have seen the same operations hold the same text whatever the order
they arrived in. :class:`SequenceReplica` is everything but the rule; the rules are a few
lines each (:mod:`~designpatterns_ref.collab.rga`, :mod:`~designpatterns_ref.collab.fugue`,
:mod:`~designpatterns_ref.collab.fuguemax`) and differ only in :meth:`SequenceReplica._order`
(and, for Fugue, which right origin it compares); the placement itself is
:mod:`~designpatterns_ref.collab.integration`.

Operations travel as :class:`~designpatterns_ref.collab.ops.Insert` (a whole run) and
:class:`~designpatterns_ref.collab.ops.Delete` (a range of identities), exported with
:meth:`SequenceReplica.ops_since` and applied with :meth:`SequenceReplica.apply_ops`: a batch is
checked whole before any of it is applied, an exact resend is ignored (an id that arrives again
with other contents is refused), and an operation that arrives before what it depends on waits
until the id it waits for comes (checked once, when it arrives, and tried again only then).

Complexity: local edit O(chunks crossed + chunk size); remote insert O(log n + k) where k is
the number of concurrent items it is ordered against; memory O(items), not O(characters).

>>> from designpatterns_ref.collab.fuguemax import FugueMaxReplica
>>> doc = FugueMaxReplica("alice")
>>> doc.insert(0, "Z"); doc.delete(0, 1); doc.insert(0, "S")
>>> doc.ops_since()[-1]        # S was typed before the tombstone Z, not after it
Insert(agent='alice', seq=2, lamport=2, text='S', left=None, right=('alice', 0))
"""  # noqa: E501

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from operator import attrgetter
from typing import Any, ClassVar

from designpatterns_ref.collab._waiting import _Waiting
from designpatterns_ref.collab.base import CRDTError
from designpatterns_ref.collab.batch import _check_batch
from designpatterns_ref.collab.bulk import _load
from designpatterns_ref.collab.dellog import MAX_ID, DeleteLog
from designpatterns_ref.collab.ids import (
    Id,
    Version,
    _add,
    _check_version,
    _covers,
    _first_gap,
    _gaps,
    check_id,
)
from designpatterns_ref.collab.integration import Integrator
from designpatterns_ref.collab.items import MAX_CHUNK, MAX_RUN
from designpatterns_ref.collab.ops import Delete, Insert, Op, check_agent, check_op, span
from designpatterns_ref.errors import shown

__all__ = ["SequenceReplica"]

# Below this, a local edit cannot bring its ids or Lamport times near 2**62: its sequence
# number, Lamport time and length are each below 2**60, so they end below 2**61, and typing on
# adds at most MAX_RUN. At or past it, the edit is checked exactly and typing may not extend it.
_NEAR = 2**60


class SequenceReplica(Integrator):
    """One replica of a text document; subclasses choose the ordering rule.

    ``insert`` / ``delete`` / ``text`` edit locally with code-point positions; ``merge``,
    ``ops_since`` / ``apply_ops`` and ``fork`` exchange work with other replicas.
    Not thread-safe: one replica belongs to one editor (or one thread).
    """

    rule: ClassVar[str] = ""

    def __init__(self, agent: str) -> None:
        if not self.rule:
            raise TypeError(
                "SequenceReplica is abstract: use RGAReplica, FugueReplica or FugueMaxReplica"
            )
        check_agent(agent)
        super().__init__()
        self._lamport = -1
        self._waiting = _Waiting()  # operations waiting for their dependencies
        self._agent = agent
        self._next_seq = 0
        self._last_end = -1

    # -- identity -----------------------------------------------------------------------
    @property
    def agent(self) -> str:
        """The agent id this replica's local edits are made under."""
        return self._agent

    def set_agent(self, agent: str, next_seq: int | None = None) -> None:
        """Make later local edits as ``agent``, from sequence number ``next_seq`` (default: just
        past the highest one this replica has seen from that agent, applied, waiting or referred
        to by a waiting operation). A replay uses this to let one replica stand for different
        users in turn."""
        check_agent(agent)
        floor = self._seq_floor(agent)
        if next_seq is None:
            next_seq = floor
        elif type(next_seq) is not int or not floor <= next_seq < MAX_ID:
            raise CRDTError(
                f"next_seq={shown(next_seq, 80)} must be an int >= {floor}, past every seq of "
                f"{shown(agent)} this replica has seen, and below 2**62"
            )
        self._agent, self._next_seq, self._last = agent, next_seq, None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(agent={self._agent!r}, length={self._len})"

    def __len__(self) -> int:
        return self._len

    def version(self) -> Version:
        """Every operation identity this replica has applied."""
        return Version._from_bounds(self._known)

    def has(self, ident: Id) -> bool:
        """Has this replica applied the operation (or character) ``ident``?"""
        agent, seq = check_id(ident)
        bounds = self._known.get(agent)
        return bounds is not None and _covers(bounds, seq)

    def is_within(self, version: Version) -> bool:
        """True when every operation this replica has applied is in ``version``."""
        _check_version(version, "version")
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
        return {**super().stats(), "pending": len(self._waiting)}

    @property
    def _pending(self) -> list[Op]:
        """The operations waiting for their dependencies, in the order they came."""
        return list(self._waiting)

    # -- local edits ----------------------------------------------------------------------
    def insert(self, pos: int, text: str) -> None:
        """Insert ``text`` so that it starts at code point ``pos``.

        The new run's left origin is the visible character at ``pos - 1`` and its right origin
        the item right after that one, deleted or not; it goes between the two, so it lands
        before any tombstones that follow its left neighbour, as the published rules place it.
        """
        if type(text) is not str:
            raise CRDTError(f"text={shown(text, 80)} must be a str")
        if type(pos) is not int or not 0 <= pos <= self._len:
            raise CRDTError(f"pos={shown(pos, 80)} must be an int within [0, {self._len}]")
        n = len(text)
        if not n:
            return
        last = self._last
        if last is not None and pos == self._last_end and len(last.content) + n <= MAX_RUN:
            # typing on: extend the run, a copy of its text, so up to MAX_RUN code points (the
            # run was started only with room for that many more ids and Lamport times)
            last.content += text
            last.chunk.visible += n
            self._len += n
            self._next_seq += n
            self._lamport += n
            self._last_end += n
            self._known[self._agent][-1] += n
            return
        seq, lamport = self._next_seq, self._lamport  # the clocks before this edit
        # near 2**62: refuse a run past it; typing on may extend the run only with room left
        tight = (seq | n) >= _NEAR or lamport >= _NEAR  # (lamport is -1 before any edit)
        if tight:
            self._check_limit(n)
        if pos == 0:
            chunk, start, i = self._head, 0, 0
            left: Id | None = None
        else:  # just after the visible character at pos - 1, before any tombstone after it
            chunk, start, i, p = self._locate(pos - 1)
            holder = chunk.items[i]
            if pos - p < len(holder.content):  # pos - 1 is inside the item: split after it
                self._split(holder, pos - p, i)
            left = (holder.agent, holder.seq + len(holder.content) - 1)
            i += 1
        items = chunk.items
        right = items[i] if i < len(items) else self._next_item(chunk)
        item = self._new_item(
            self._agent,
            seq,
            lamport + 1,
            text,
            left,
            None if right is None else (right.agent, right.seq),
        )
        items.insert(i, item)
        item.chunk = chunk
        chunk.visible += n
        self._len += n
        self._next_seq, self._lamport = seq + n, lamport + n
        self._last, self._last_end = None if tight else item, pos + n
        self._cursor, self._hint = (chunk, start), (chunk, start, i, pos)
        if len(items) > MAX_CHUNK:
            self._split_chunk(chunk)

    def delete(self, pos: int, length: int) -> None:
        """Delete ``length`` code points starting at ``pos`` (they stay as tombstones)."""
        if type(pos) is not int or type(length) is not int or pos < 0 or length < 0:
            raise CRDTError(
                f"pos={shown(pos, 80)} and length={shown(length, 80)} must be non-negative ints"
            )
        if pos + length > self._len:
            raise CRDTError(
                f"delete pos={shown(pos)}, length={shown(length)} reaches past the document's "
                f"{self._len} code points"
            )
        if not length:
            return
        if (self._next_seq | length) >= _NEAR or self._lamport >= _NEAR:
            self._check_limit(length)
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

    def _check_limit(self, n: int) -> None:
        """Refuse a local edit of ``n`` code points whose ids or Lamport times would reach
        2**62, before anything changes (``insert`` and ``delete`` call this only near the
        limit): every peer, and this replica, refuses such an operation
        (:func:`~designpatterns_ref.collab.ops.check_op`), so making it would leave an edit no
        one can receive and stop every later exchange."""
        top = max(self._next_seq, self._lamport + 1) + n
        if top > MAX_ID:
            raise CRDTError(
                f"an edit of {n} code points would use ids or Lamport times up to {top - 1}: agent "
                f"{shown(self._agent)} is at seq {self._next_seq} and Lamport time "
                f"{self._lamport + 1}, and ids and Lamport times must stay below 2**62"
            )

    def _record_delete(self, tagent: str, tseq: int, n: int) -> None:
        """Log a local delete of ``n`` characters from ``(tagent, tseq)``."""
        seq = self._next_seq
        log = self._dels.get(self._agent)
        if log is None:
            log = self._dels[self._agent] = DeleteLog()
        log.add(seq, self._lamport + 1, tagent, tseq, n, False)
        _add(self._known.setdefault(self._agent, []), seq, seq + n)
        self._next_seq = seq + n
        self._lamport += n

    # -- exchanging operations --------------------------------------------------------------
    def ops_since(self, version: Version | None = None) -> list[Op]:
        """Every operation this replica has that ``version`` lacks, in causal order."""
        if version is not None:
            _check_version(version, "version")
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
                if isinstance(run, list):
                    head, text = run[0], "".join(it.content for it in run)
                else:
                    head, text = run, run.content
                end = head.seq + len(text)
                for s, e in _gaps(have, head.seq, end):
                    k = s - head.seq
                    left = head.left if k == 0 else (agent, s - 1)
                    out.append(
                        Insert(agent, s, head.lamport + k, text[k : e - head.seq], left, head.right)
                    )
            dels = self._dels.get(agent)
            if dels is None:
                continue
            for seq, lamport, tagent, tseq, n, backwards in dels.entries(
                dels.covering(wanted[0][0])
            ):
                for s, e in _gaps(have, seq, seq + n):
                    lo = tseq + (seq + n - e if backwards else s - seq)
                    out.append(Delete(agent, s, lamport + s - seq, (tagent, lo), e - s, backwards))
        out.sort(key=attrgetter("lamport"))
        return out

    def _outgoing(self, version: Version | None = None) -> list[Op]:
        """What a peer at ``version`` lacks: :meth:`ops_since`, then the operations waiting
        here for a dependency that ``version`` does not hold whole. The sync and :meth:`merge`
        send both, as Yjs sends its pending structs with an update: a peer that holds the
        dependency can apply a waiting operation that this replica cannot yet, and after a
        two-way exchange both sides hold the same operations."""
        out = self.ops_since(version)
        if self._waiting:
            theirs = version._bounds if version is not None else {}
            out += [
                op
                for op in self._waiting
                if _gaps(theirs.get(op.agent, ()), op.seq, op.seq + span(op))
            ]
        return out

    def apply_ops(self, ops: Iterable[Op]) -> None:
        """Apply remote operations: exact resends (whole or in part) are ignored, operations
        whose dependencies have not arrived wait until they do (see :meth:`stats`, ``pending``).

        The whole batch is checked before any of it is applied, together with the operations
        still waiting: each must be well formed, may refer only to characters (a known
        delete, or an id that an operation of the batch uses for a delete, is refused), may
        not reuse ids that are already, or in the same batch, of the other kind, and may not
        give an id the replica holds (or another operation of the batch uses) other contents:
        other characters, Lamport times or origins for an insert, other targets for a delete
        (:func:`~designpatterns_ref.collab.batch.check_batch`). A refused batch raises
        :class:`CRDTError` and leaves the replica exactly as it was."""
        if isinstance(ops, str | bytes) or not isinstance(ops, Iterable):
            raise CRDTError(f"ops={shown(ops, 80)} must be an iterable of Insert and Delete")
        self._apply_batch(list(ops), checked=False)

    def _apply_batch(self, batch: list[Any], checked: bool = True) -> None:
        """:meth:`apply_ops` for a list of operations, already checked one by one
        (``check_op``) when ``checked``.

        An empty replica takes the sequential prefix of the batch in one pass
        (:mod:`~designpatterns_ref.collab.bulk`, whole runs, no search), which checks what it
        takes, and the rest one operation at a time; a prefix that covers the whole batch has
        checked it too."""
        if self._known or self._waiting:
            if not checked:
                batch = list(map(check_op, batch))
            _check_batch(self, batch)
            self._apply_each(batch)
        else:
            self._apply_each(_load(self, batch))

    def _apply_each(self, batch: list[Op]) -> None:
        """Integrate checked operations one at a time, in order, keeping those that wait for
        a dependency (the reference the one-pass load is tested against); a waiting operation
        is tried again each time the id it waits for comes (an applied operation brings its
        own ids), so each costs one try per dependency, not one per batch."""
        self._last = None
        self._cursor, self._hint = None, None
        waiting = self._waiting
        woken: list[Op] = []
        for op in batch:
            if self._apply_one(op):
                if waiting:
                    woken += waiting.woken(op.agent, op.seq, op.seq + span(op))
            elif op not in waiting.ops:  # one already waiting, sent again (a sync sends what
                waiting.add(op, self._missing(op))  # waits), waits once
        for op in woken:  # grows as woken operations apply and wake others
            if self._apply_one(op):
                waiting.remove(op)
                woken += waiting.woken(op.agent, op.seq, op.seq + span(op))
            else:
                waiting.wait_for(op, self._missing(op))
        self._skip_own_ids()

    def _missing(self, op: Op) -> Id:
        """The first id that ``op``, which :meth:`_apply_one` could not apply, waits for: the
        right origin, else the left one, of an insert; the first of a delete's targets that has
        not come."""
        known = self._known
        if type(op) is Insert:
            right = op.right
            if right is not None and not _covers(known.get(right[0], ()), right[1]):
                return right
            assert op.left is not None
            return op.left
        assert type(op) is Delete
        tagent, tseq = op.target
        first = _first_gap(known.get(tagent, ()), tseq, tseq + op.length)
        assert first is not None  # a delete waits only while part of its target is missing
        return (tagent, first)

    def _skip_own_ids(self) -> None:
        """Move the next local sequence number past every id of this replica's own agent that
        it holds, holds waiting or that a waiting operation refers to. A replica reopened under
        its agent's name and given the document, or the original of a ``fork`` under its own
        name that merges the copy's edits, receives operations under its own agent: its next
        edits must not reuse their ids (the edit would be taken for one already held, and never
        sent)."""
        floor = self._seq_floor(self._agent)
        if floor > self._next_seq:
            self._next_seq = floor

    def _seq_floor(self, agent: str) -> int:
        """One past the highest sequence number of ``agent`` this replica holds, holds waiting
        or that a waiting operation refers to (the character it refers to exists elsewhere:
        an edit that took its id would give the waiting operation another origin or target)."""
        known = self._known.get(agent)
        return max(known[-1] if known else 0, self._waiting.floor(agent))

    def merge(self, other: SequenceReplica) -> None:
        """Apply every operation ``other`` has that this replica lacks, including those
        ``other`` holds waiting for a dependency (this replica may hold it)."""
        if not isinstance(other, SequenceReplica):
            raise CRDTError(f"merge: other={shown(other, 80)} is not a SequenceReplica")
        if other.rule != self.rule:
            raise CRDTError(f"merge: rule {shown(other.rule)} cannot merge into {shown(self.rule)}")
        self.apply_ops(other._outgoing(self.version()))

    def fork(self, agent: str) -> SequenceReplica:
        """A new replica with this one's state, editing as ``agent``.

        Forking under this replica's own agent is allowed, to make a copy to go on with: the
        original stops editing and only receives (a fork is not refused, which would break
        that use); once it has received the copy's edits it may edit again, numbering its
        edits past theirs. If both edit before they exchange, they give the same ids to
        different characters; a replica compares the contents of an id it already holds, so
        the first exchange of those operations (``apply_ops``, ``apply_update``) raises
        :class:`CRDTError` naming the id and both contents, and changes nothing. A
        version-based exchange (:meth:`merge`, ``sync_step2``) sends only ids the other side
        lacks, so it sends neither edit and cannot notice: give each editing replica its own
        agent."""
        check_agent(agent)
        twin = type(self)(agent)
        self._copy_into(twin)
        twin._lamport, twin._waiting = self._lamport, self._waiting.copy()
        twin.set_agent(agent)
        return twin
