"""Loading a whole history into an empty replica in one pass: whole runs, cut where asked.

Case study: Design a Collaborative Document Editor (Google Docs) (docs/case-studies/collaborative-editor.md)

A replica that starts empty and receives another replica's history (``ops_since()``: every
operation in causal order, each a whole run) would integrate it one run at a time: find the
left origin, maybe split its item, find the right origin, maybe split it, put the run in
between, mark and log the deletes. Most of that work can be done for the whole batch at once,
because of two facts:

* The remote path never merges pieces again, and cuts commute: the pieces a run ends up cut
  into are exactly the points the operations ask for (after a left origin, at a right origin,
  at both ends of a deleted range), in whatever order the cuts are made. So each run is placed
  whole, as one piece, and a piece is cut only when a later operation asks for a point inside
  it: the piece is found with two binary searches (the agent's runs, then the pieces of the
  run) and cut in two. Every piece start and end is in a dictionary, so an origin that is
  already the end (or start) of a piece, the usual case, costs one lookup.
* When an operation was made on a replica holding exactly what this one holds when it arrives
  (a sequential history: the usual case), its left origin is immediately followed by its right
  origin, and the ordering rule has nothing to decide, whichever rule it is: the run goes
  between the two. With the pieces in a linked list of integers that is two assignments.

:func:`plan_load` builds that state on its own structures, without touching the replica, in one
pass over the batch, which also checks each operation's shape; it stops at the first operation
it cannot take this way: a malformed one, sequence numbers that do not continue (a duplicate, a
gap), a reference to an operation not seen yet or to a delete, or origins that are no longer
adjacent (a run typed concurrently lies between them). The deletes are collected per agent and
each agent's log is built from them at the end, column by column (``DeleteLog._of``, rather
than one ``add`` a delete). The plan's ``_commit`` then gives the replica its chunks, index,
versions and logs in one pass, and the rest of the batch goes through the ordinary integration
(:meth:`SequenceReplica._apply_each`). That is the reference this module is tested against:
same text, items, pieces, index, logs, versions and clock. The plan is exactly the state of the
operations it took: an operation's origins (or its whole deleted range) are found before
anything is cut, and cut only when the operation is taken, so the one the load stops at has
cut nothing. The hand-over is exact because cuts commute: the operations after it that ask
for cuts make them in the ordinary integration. When the load takes the whole batch it has
also checked it (sequence numbers continue, every reference is to a character), so
:func:`~designpatterns_ref.collab.batch.check_batch` is not needed; otherwise it runs before
anything changes. ``_load`` does all of this for :meth:`SequenceReplica.apply_ops` and
``apply_update`` when the replica is empty.

Trade-off: only for an empty replica, and only the sequential prefix of a batch is fast.
Complexity: one pass, O(1) per run placed and O(log r + log p) per cut, plus moving up to p
pointers to make room in the run's list of pieces (r runs of the agent, p pieces in the run
cut), against O(log n + chunk size) per operation one at a time.

>>> from designpatterns_ref.collab.fuguemax import FugueMaxReplica
>>> author = FugueMaxReplica("a")
>>> author.insert(0, "held"); author.insert(2, "l"); author.delete(4, 1)
>>> plan = plan_load(author.ops_since())
>>> plan.count, [(it.seq, it.content, it.deleted) for it in plan.order()]
(3, [(0, 'he', False), (4, 'l', False), (2, 'l', False), (3, 'd', True)])
"""  # noqa: E501

from __future__ import annotations

import gc
from bisect import bisect_right
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from designpatterns_ref.collab.base import CRDTError
from designpatterns_ref.collab.batch import _check_batch
from designpatterns_ref.collab.dellog import MAX_ID, DeleteLog, Entry
from designpatterns_ref.collab.items import MAX_CHUNK, _Chunk, _Item, _seq_of
from designpatterns_ref.collab.ops import Delete, Insert, Op, check_op
from designpatterns_ref.errors import shown

if TYPE_CHECKING:
    from designpatterns_ref.collab.items import ItemList
    from designpatterns_ref.collab.sequence import SequenceReplica

__all__ = ["LoadPlan", "plan_load"]

_END = -1  # "no next piece": the end of the document
_NONE = (None, -1)  # the slots of an origin that is the start or the end of the document
_FILL = MAX_CHUNK // 2  # items per chunk when building: room to grow before a chunk splits


class LoadPlan:
    """The state an empty replica reaches by applying ``batch[:count]``, built off the replica.

    ``pieces[0]`` is a sentinel for the start of the document; ``nxt[i]`` is the index of the
    piece after piece ``i`` in document order (tombstones included)."""

    def __init__(self) -> None:
        self.count = 0  # operations taken
        self.pieces: list[_Item] = [_Item()]
        self.nxt: list[int] = [_END]
        # per agent: the first seq of each placed run and the run (an item, or its pieces)
        self.runs: dict[str, tuple[list[int], list[_Item | list[_Item]]]] = {}
        self.known: dict[str, list[int]] = {}
        self.dels: dict[str, DeleteLog] = {}
        self.lamport = -1

    def order(self) -> list[_Item]:
        """The placed pieces in document order."""
        pieces, nxt = self.pieces, self.nxt
        out = []
        i = nxt[0]
        while i != _END:
            out.append(pieces[i])
            i = nxt[i]
        return out

    def _commit(self, doc: ItemList) -> int:
        """Make the empty ``doc`` hold this state: chunks of ``_FILL`` items, the index from
        identities to runs, versions and delete logs. Returns the Lamport time reached."""
        order = self.order()
        chunk, prev = doc._head, None
        total = 0
        for k in range(0, len(order), _FILL):
            if prev is not None:
                chunk = _Chunk()
                chunk.prev, prev.next = prev, chunk
            group = order[k : k + _FILL]
            chunk.items = group
            visible = 0
            for it in group:
                it.chunk = chunk
                if not it.deleted:
                    visible += len(it.content)
            chunk.visible = visible
            total += visible
            prev = chunk
        doc._tail = chunk
        doc._len = total
        doc._runs.update(self.runs)
        doc._known.update(self.known)
        doc._dels.update(self.dels)
        return self.lamport


def _load(doc: SequenceReplica, batch: list[Any]) -> list[Op]:
    """Apply the longest prefix of ``batch`` that the one-pass load can take to the empty
    replica ``doc``; return the rest, checked, for the ordinary integration.

    ``batch`` need not be checked: the load checks what it takes (:func:`_plan`), and the
    rest goes through :func:`~designpatterns_ref.collab.ops.check_op` and, with the whole
    batch, :func:`~designpatterns_ref.collab.batch.check_batch` before anything changes, so a
    refused batch leaves ``doc`` empty. The cyclic garbage collector is paused meanwhile: the
    load allocates tens of thousands of objects and frees none, so collections would scan them
    for nothing."""
    paused = gc.isenabled()
    gc.disable()
    try:
        plan = _plan(batch)
        rest: list[Op] = []
        if plan.count < len(batch):
            rest = list(map(check_op, batch[plan.count :]))
            _check_batch(doc, batch[: plan.count] + rest)
        if plan.count:
            doc._lamport = max(doc._lamport, plan._commit(doc))
    finally:
        if paused:
            gc.enable()
    return rest


def plan_load(batch: Iterable[Op]) -> LoadPlan:
    """The state an empty replica reaches by applying the longest prefix of ``batch`` that can
    be placed in one pass, each run between its two adjacent origins; see the module
    docstring. Each operation is checked (:func:`~designpatterns_ref.collab.ops.check_op`); a
    malformed one raises :class:`~designpatterns_ref.collab.base.CRDTError`."""
    if isinstance(batch, str | bytes) or not isinstance(batch, Iterable):
        raise CRDTError(f"batch={shown(batch, 80)} must be an iterable of Insert and Delete")
    return _plan(list(map(check_op, batch)))


def _plan(batch: list[Any]) -> LoadPlan:
    """:func:`plan_load` for a batch not checked yet, in one pass.

    Each operation is checked here as :func:`~designpatterns_ref.collab.ops.check_op` checks
    it (exact types, non-empty agents and texts, every id below ``MAX_ID``), and the plan stops
    at the first one it would refuse, so a batch is read once rather than once more to check
    it. Most of ``check_op`` holds by construction: a sequence number that continues its
    agent's, or a reference inside a range of ids already taken, is an int in range and not a
    forward reference. An operation is taken when its sequence numbers continue its agent's,
    its references are to characters taken before it, and (an insert) its origins are next to
    each other once cut. Both origins (or the whole deleted range) are found before any piece
    is cut (:func:`_piece`, :func:`_split`), so only an operation the plan takes cuts."""
    plan = LoadPlan()
    pieces, nxt, runs = plan.pieces, plan.nxt, plan.runs
    # per agent: [first seq, one past the last, pieces by first seq, by last seq, run starts, runs]
    agents: dict[str, list[Any]] = {}
    deletes: dict[str, list[Entry]] = {}
    lamport = plan.lamport
    taken = 0
    for op in batch:
        kind = type(op)
        if kind is not Insert and kind is not Delete:
            break
        agent, seq, lam = op.agent, op.seq, op.lamport
        if type(agent) is not str or type(seq) is not int or type(lam) is not int or lam < 0:
            break
        mine = agents.get(agent)
        if mine is None:
            if not agent or seq < 0:
                break
        elif mine[1] != seq:
            break
        if kind is Insert:
            left, right, text = op.left, op.right, op.text
            if type(text) is not str or not text:
                break
            n = len(text)
            if (seq if seq > lam else lam) + n > MAX_ID:
                break
            lb = rb = None
            if left is not None:
                if type(left) is not tuple or len(left) != 2 or type(left[0]) is not str:
                    break
                lb = agents.get(left[0])
                at = left[1]
                if lb is None or type(at) is not int or not lb[0] <= at < lb[1]:
                    break
            if right is not None:
                if type(right) is not tuple or len(right) != 2 or type(right[0]) is not str:
                    break
                rb = agents.get(right[0])
                at = right[1]
                if rb is None or type(at) is not int or not rb[0] <= at < rb[1]:
                    break
            # taken if its origins are characters next to each other, once cut: an origin
            # inside a piece is next to the other only when both are in it, one apart
            before = 0 if lb is None else lb[3].get(left[1])
            after = _END if rb is None else rb[2].get(right[1])
            if before is None or after is None:  # an origin inside a piece, or a delete's id
                if before is not None or after is not None or lb is None or rb is not lb:
                    break  # a character lies between the origins, or a delete's id
                if right[1] != left[1] + 1:
                    break
                before = _piece(plan, lb, left[1])
                if before < 0:
                    break  # a delete's id
                if lam <= right[1] + pieces[before].dl:
                    break  # a Lamport time not past the right origin's: the integration's
                after = _split(plan, lb, pieces[before], before, right[1])
            elif nxt[before] != after:
                break  # a run typed concurrently lies between the origins
            elif after != _END and lam <= right[1] + pieces[after].dl:
                break  # a Lamport time not past the right origin's: the integration's
            if mine is None:
                mine = agents[agent] = [seq, seq, {}, {}, [], []]
            run_starts = mine[4]
            if not run_starts:  # the agent's first run: the index lists it in this order
                runs[agent] = (run_starts, mine[5])
            head = len(pieces)
            nxt[before] = head
            item = _Item()
            item.agent = agent
            item.seq = seq
            item.dl = lam - seq
            item.content = text
            item.deleted = False
            item.la, item.ls = left if left is not None else _NONE
            item.ra, item.rs = right if right is not None else _NONE
            item.run = None
            mine[2][seq] = mine[3][seq + n - 1] = head
            pieces.append(item)
            nxt.append(after)
            run_starts.append(seq)
            mine[5].append(item)
        else:
            target, n = op.target, op.length
            if type(target) is not tuple or len(target) != 2 or type(target[0]) is not str:
                break
            if type(n) is not int or n < 1 or type(op.backwards) is not bool:
                break
            if (seq if seq > lam else lam) + n > MAX_ID:
                break
            tagent, tseq = target
            b = agents.get(tagent)
            if b is None or type(tseq) is not int or not b[0] <= tseq or tseq + n > b[1]:
                break
            found = b[2].get(tseq)
            if found is None:
                found = _piece(plan, b, tseq)
                if found < 0:
                    break  # not characters
            item = pieces[found]
            if item.seq + len(item.content) >= tseq + n:  # the usual case: inside one piece
                if item.seq < tseq:
                    found = _split(plan, b, item, found, tseq)
                    item = pieces[found]
                if tseq + n < item.seq + len(item.content):
                    _split(plan, b, item, found, tseq + n)
                item.deleted = True
            elif not _delete_range(plan, b, found, tseq, n):
                break
            rows = deletes.get(agent)
            if rows is None:
                rows = deletes[agent] = []
            rows.append((seq, lam, tagent, tseq, n, op.backwards))
            if mine is None:
                mine = agents[agent] = [seq, seq, {}, {}, [], []]
        mine[1] = seq + n
        if lam + n > lamport:
            lamport = lam + n
        taken += 1
    plan.count = taken
    plan.lamport = lamport - 1
    plan.known = {agent: [first, end] for agent, (first, end, *_) in agents.items()}
    plan.dels = {agent: DeleteLog._of(rows) for agent, rows in deletes.items()}
    return plan


def _piece(plan: LoadPlan, mine: list[Any], at: int) -> int:
    """The index of the piece holding id ``at`` of the agent whose entry is ``mine``, or -1
    when ``at`` is not a character placed yet: the agent's run that starts at or before it
    (a binary search), then the piece of that run (another, when the run has been cut)."""
    r = bisect_right(mine[4], at) - 1
    if r < 0:
        return -1
    entry = mine[5][r]
    item = entry[bisect_right(entry, at, key=_seq_of) - 1] if type(entry) is list else entry
    if at >= item.seq + len(item.content):
        return -1
    found: int = mine[2][item.seq]
    return found


def _split(plan: LoadPlan, mine: list[Any], item: _Item, head: int, at: int) -> int:
    """Cut ``item`` (piece ``head``, of the agent whose entry is ``mine``) before id ``at``;
    returns the index of the new piece, linked after it. The tail is chained to the piece
    before it, as :meth:`~designpatterns_ref.collab.items.ItemList._split` does."""
    pieces, nxt = plan.pieces, plan.nxt
    seq = item.seq
    content = item.content
    t = len(pieces)
    tail = _Item()
    tail.agent = item.agent
    tail.seq = at
    tail.dl = item.dl
    tail.content = content[at - seq :]
    item.content = content[: at - seq]
    tail.deleted = item.deleted
    tail.la = ""
    tail.ls = -1
    tail.ra = item.ra
    tail.rs = item.rs
    run = item.run
    if run is None:
        run = item.run = [item, tail]
        mine[5][bisect_right(mine[4], seq) - 1] = run
    else:
        run.insert(bisect_right(run, seq, key=_seq_of), tail)
    tail.run = run
    pieces.append(tail)
    nxt.append(nxt[head])
    nxt[head] = t
    mine[2][at] = t
    ends = mine[3]
    ends[at - 1] = head
    ends[seq + len(content) - 1] = t
    return t


def _delete_range(plan: LoadPlan, b: list[Any], first: int, seq: int, n: int) -> bool:
    """Mark deleted ``seq`` .. ``seq + n - 1`` of the agent whose entry is ``b``: consecutive
    pieces from piece ``first`` (which holds ``seq``) on, cut at both ends of the range; False
    (nothing cut or marked) when some of the range is not characters."""
    pieces, starts = plan.pieces, b[2]
    end = seq + n
    hit = [first]
    at = pieces[first].seq + len(pieces[first].content)
    while at < end:
        found = starts.get(at)
        if found is None:
            return False
        hit.append(found)
        at += len(pieces[found].content)
    last = pieces[hit[-1]]
    if end < last.seq + len(last.content):
        _split(plan, b, last, hit[-1], end)
    item = pieces[first]
    if item.seq < seq:
        hit[0] = _split(plan, b, item, first, seq)
    for found in hit:
        pieces[found].deleted = True
    return True
