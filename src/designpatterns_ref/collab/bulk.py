"""Loading a whole history into an empty replica in linear time: whole runs, no search.

Case study: Design a Collaborative Document Editor (Google Docs) (docs/case-studies/collaborative-editor.md)

A replica that starts empty and receives another replica's history (``ops_since()``: every
operation in causal order, each a whole run) would integrate it one run at a time: find the
left origin, maybe split its item, find the right origin, maybe split it, put the run in
between, mark and log the deletes. Most of that work can be done for the whole batch at once,
because of two facts:

* The remote path never merges pieces again, so the pieces a run ends up cut into are exactly
  the *cut points* the operations ask for: after a left origin, at a right origin, at both ends
  of a deleted range. A first pass over the batch collects them per agent (and checks that each
  operation is well formed, that each agent's sequence numbers continue and that every
  reference is to an earlier operation, so the batch needs no separate check pass); each run is
  then cut once, when it is placed. Every origin is the end (or start) of a piece, found
  with one dictionary lookup instead of a binary search and a split.
* When an operation was made on a replica holding exactly what this one holds when it arrives
  (a sequential history: the usual case), its left origin is immediately followed by its right
  origin, and the ordering rule has nothing to decide, whichever rule it is: the run goes
  between the two. With the pieces in a linked list of integers that is two assignments.

:func:`plan_load` builds that state on its own structures, without touching the replica, up to
the first operation it cannot take this way: sequence numbers that do not continue (a duplicate,
a gap), a reference to an operation not seen yet or to a delete, or origins that are no longer
adjacent (a run typed concurrently lies between them). The deletes are collected per agent and
each agent's log is built from them at the end, column by column (``DeleteLog._of``, rather
than one ``add`` a delete). The plan's ``_commit`` then gives the
replica its chunks, index, versions and logs in one pass, and the rest of the batch goes
through the ordinary integration (:meth:`SequenceReplica._apply_each`). That is the reference
this module is tested against: same text, items, pieces, index, logs, versions and clock. The
hand-over is exact because cuts commute: the operations after it that asked for cuts are all
ready, so the ordinary integration makes those cuts itself, and making one twice is a no-op.
When the load takes the whole batch it has also checked it (sequence numbers continue, every
reference is to a character), so :func:`~designpatterns_ref.collab.batch.check_batch` is not
needed; otherwise it runs before anything changes. ``_load`` does all of this for
:meth:`SequenceReplica.apply_ops` and ``apply_update`` when the replica is empty.

Trade-off: only for an empty replica, and only the sequential prefix of a batch is fast; the
batch is walked twice. Complexity: O(k log k) for k operations (sorting the cut points) and
O(1) per run placed, against O(log n + chunk size) per operation one at a time.

>>> from designpatterns_ref.collab.fuguemax import FugueMaxReplica
>>> author = FugueMaxReplica("a")
>>> author.insert(0, "held"); author.insert(2, "l"); author.delete(4, 1)
>>> plan = plan_load(author.ops_since())
>>> plan.count, [(it.seq, it.content, it.deleted) for it in plan.order()]
(3, [(0, 'he', False), (4, 'l', False), (2, 'l', False), (3, 'd', True)])
"""  # noqa: E501

from __future__ import annotations

import gc
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from designpatterns_ref.collab.base import CRDTError
from designpatterns_ref.collab.batch import _check_batch
from designpatterns_ref.collab.dellog import MAX_ID, DeleteLog, Entry
from designpatterns_ref.collab.items import MAX_CHUNK, _Chunk, _Item
from designpatterns_ref.collab.ops import Delete, Insert, Op, check_op

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

    ``batch`` need not be checked: the load checks what it takes (:func:`_cut_points`), and the
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


def _cut_points(batch: list[Any], plan: LoadPlan) -> tuple[int, dict[str, list[int]]]:
    """How many operations, from the start, are well formed, continue their agent's sequence
    numbers and refer only to identities used before them; per agent the sorted points its
    runs are cut at. Sets ``plan.known`` and ``plan.lamport`` to what those operations make
    them.

    ``batch`` need not be checked: this pass also checks the shape of each operation it takes,
    as :func:`~designpatterns_ref.collab.ops.check_op` does (exact types, non-empty agents and
    texts, every id below ``MAX_ID``), and stops at the first it would refuse, so a batch is
    read once here rather than once more to check it. Most of ``check_op`` holds here by
    construction: a known sequence number or reference lies in a range of ids already taken,
    so it is an int in range and not a forward reference. What remains is checked below."""
    # per agent: [first seq, one past the last, the points its runs are cut at]
    agents: dict[str, list[Any]] = {}
    lamport = plan.lamport
    count = 0
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
            # taken: the cut points it asks for (none for an operation refused above)
            if lb is not None:
                lb[2].append(left[1] + 1)
            if rb is not None:
                rb[2].append(right[1])
        else:
            target, n = op.target, op.length
            if type(target) is not tuple or len(target) != 2 or type(target[0]) is not str:
                break
            if type(n) is not int or n < 1 or type(op.backwards) is not bool:
                break
            if (seq if seq > lam else lam) + n > MAX_ID:
                break
            tseq = target[1]
            b = agents.get(target[0])
            if b is None or type(tseq) is not int or not b[0] <= tseq or tseq + n > b[1]:
                break
            b[2] += (tseq, tseq + n)
        if mine is None:
            agents[agent] = [seq, seq + n, []]
        else:
            mine[1] = seq + n
        if lam + n > lamport:
            lamport = lam + n
        count += 1
    plan.lamport = lamport - 1
    plan.known = {agent: [first, end] for agent, (first, end, _) in agents.items()}
    return count, {agent: sorted(set(points)) for agent, (_, _, points) in agents.items()}


def plan_load(batch: Iterable[Op]) -> LoadPlan:
    """The state an empty replica reaches by applying the longest prefix of ``batch`` that can
    be placed without a search; see the module docstring. Each operation is checked
    (:func:`~designpatterns_ref.collab.ops.check_op`); a malformed one raises
    :class:`~designpatterns_ref.collab.base.CRDTError`."""
    if isinstance(batch, str | bytes) or not isinstance(batch, Iterable):
        raise CRDTError(f"batch={batch!r:.80} must be an iterable of Insert and Delete")
    return _plan(list(map(check_op, batch)))


def _plan(batch: list[Any]) -> LoadPlan:
    """:func:`plan_load` for a batch not checked yet: the first pass (:func:`_cut_points`)
    checks every operation the plan takes, and the plan stops at the first malformed one."""
    plan = LoadPlan()
    count, cuts = _cut_points(batch, plan)
    pieces, nxt, runs = plan.pieces, plan.nxt, plan.runs
    deletes: dict[str, list[Entry]] = {}  # per agent, its deletes: logged at the end
    # per agent: its pieces by first seq, by last seq, and the points its runs are cut at
    index: dict[str, tuple[dict[int, int], dict[int, int], list[int], list[int], list[Any]]] = {
        agent: ({}, {}, cuts.get(agent, []), [], []) for agent in plan.known
    }
    taken = 0
    for op in batch[:count]:
        agent = op.agent
        if type(op) is Insert:
            left, right = op.left, op.right
            before = 0 if left is None else index[left[0]][1].get(left[1])
            after = _END if right is None else index[right[0]][0].get(right[1])
            if before is None or after is None or nxt[before] != after:
                break  # an origin is a delete's id, or a run typed concurrently lies between
            seq, text = op.seq, op.text
            end = seq + len(text)
            starts, ends, points, run_starts, run_list = index[agent]
            if not run_starts:  # the agent's first run: the index lists it in this order
                runs[agent] = (run_starts, run_list)
            run_starts.append(seq)
            lo = bisect_right(points, seq)
            head = len(pieces)
            nxt[before] = head
            if lo == len(points) or points[lo] >= end:  # the run stays whole
                item = _Item()
                item.agent = agent
                item.seq = seq
                item.dl = op.lamport - seq
                item.content = text
                item.deleted = False
                item.la, item.ls = left if left is not None else _NONE
                item.ra, item.rs = right if right is not None else _NONE
                item.run = None
                starts[seq] = ends[end - 1] = head
                pieces.append(item)
                nxt.append(after)
                run_list.append(item)
            else:
                hi = bisect_left(points, end, lo)
                run_list.append(_cut_run(plan, op, points[lo:hi], starts, ends, after))
        else:
            tagent, tseq = op.target
            n = op.length
            starts = index[tagent][0]
            found = starts.get(tseq)
            if found is None:
                break  # not characters
            item = pieces[found]
            if len(item.content) == n:  # the usual case: one piece
                item.deleted = True
            elif not _delete_range(pieces, starts, tseq, n):
                break
            rows = deletes.get(agent)
            if rows is None:
                rows = deletes[agent] = []
            rows.append((op.seq, op.lamport, tagent, tseq, n, op.backwards))
        taken += 1
    plan.count = taken
    plan.dels = {agent: DeleteLog._of(rows) for agent, rows in deletes.items()}
    if taken < count:  # stopped early: versions and clock as of the operations taken
        plan.known, plan.lamport = {}, -1
        _cut_points(batch[:taken], plan)
    return plan


def _delete_range(pieces: list[_Item], starts: dict[int, int], seq: int, n: int) -> bool:
    """Mark deleted the pieces holding ``seq`` .. ``seq + n - 1``, consecutive pieces of one
    agent; False (and nothing marked) when some of the range is not characters."""
    hit = []
    at, end = seq, seq + n
    while at < end:
        found = starts.get(at)
        if found is None:
            return False
        hit.append(pieces[found])
        at += len(pieces[found].content)
    if at != end:
        return False
    for item in hit:
        item.deleted = True
    return True


def _cut_run(
    plan: LoadPlan,
    op: Insert,
    points: list[int],
    starts: dict[int, int],
    ends: dict[int, int],
    after: int,
) -> list[_Item]:
    """Add the run of ``op`` as pieces cut at ``points``, linked to each other and to piece
    ``after``; returns the pieces."""
    pieces, nxt = plan.pieces, plan.nxt
    agent, seq, text = op.agent, op.seq, op.text
    dl = op.lamport - seq
    la, ls = op.left if op.left is not None else _NONE
    ra, rs = op.right if op.right is not None else _NONE
    run: list[_Item] = []
    at = seq
    k = len(pieces)
    for cut in (*points, seq + len(text)):
        item = _Item()
        item.agent = agent
        item.seq = at
        item.dl = dl
        item.content = text[at - seq : cut - seq]
        item.deleted = False
        item.la = la
        item.ls = ls
        item.ra = ra
        item.rs = rs
        item.run = run
        la, ls = "", -1  # every piece after the first is chained to the one before
        starts[at] = ends[cut - 1] = k
        k += 1
        nxt.append(k)
        pieces.append(item)
        run.append(item)
        at = cut
    nxt[-1] = after
    return run
