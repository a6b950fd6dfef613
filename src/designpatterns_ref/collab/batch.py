"""Checking a whole batch of remote operations before a replica applies any of it.

Case study: Design a Collaborative Document Editor (Google Docs) (docs/case-studies/collaborative-editor.md)

:meth:`SequenceReplica.apply_ops` is all or nothing: every operation of a batch, together with
the operations still waiting for their dependencies, is checked first. An identity
``(agent, seq)`` names either a character or a delete, never both, so the batch may not use
for one kind ids that the replica or the batch already uses for the other; and an operation
may refer (as an origin or a delete target) only to characters, never to a delete. An id used
again must mean the same thing: an insert the same characters, Lamport times and origins, a
delete the same targets (:func:`_check_reused_ids`, :func:`_check_same_claims`). An exact resend,
whole or in part, is a duplicate; the same id with other contents (two replicas editing as one
agent) is refused, naming the id and both contents.

The replica and the operations it holds waiting were checked together when they came, so only
the new operations are checked: against the replica, against the waiting ones and against
each other. The check collects, per agent and kind, the ids the new operations will use as a
flat sorted list of range boundaries (the batches a replica exports are sorted, so this is
one pass), then answers every question with a binary search: against those boundaries, against
the replica's own runs and delete log only for agents it already knows, and against
:class:`_Waiting`, the waiting operations indexed by the ids they claim and the ids they refer
to (a waiting operation must not refer to an id the batch uses for a delete). Contents are
compared only where ids overlap: a batch whose ids all lie past what the replica holds (the
usual case) costs one comparison per agent, and the operations of the batch are compared with
each other only when two of them claim one id. So delivering a document one operation at a
time in reverse causal order, every operation waiting until the first one comes, costs
O(log w) per operation against w waiting ones, not O(w) (the check of everything together,
which that made quadratic, is kept in the tests as the reference this one is tested against).

Complexity: O(k log k) for a batch of k operations plus O(k log n) against a replica of n runs
and O(k log w) against w waiting operations, plus O(overlap) to compare the contents of ids
used again.

>>> from designpatterns_ref.collab.fuguemax import FugueMaxReplica
>>> from designpatterns_ref.collab.ops import Delete, Insert
>>> doc = FugueMaxReplica("a")
>>> typed = [Insert("b", 0, 0, "x", None, None), Insert("c", 0, 0, "y", None, None)]
>>> check_batch(doc, [*typed, Delete("b", 0, 1, ("c", 0), 1)])  # b's id 0: a char and a delete
Traceback (most recent call last):
...
designpatterns_ref.collab.base.CRDTError: Insert(agent='b', seq=0, ...) uses ids for characters that are used for the other kind elsewhere
>>> doc.apply_ops([Insert("b", 0, 0, "xy", None, None)])
>>> check_batch(doc, [Insert("b", 1, 1, "z", ("b", 0), None)])
Traceback (most recent call last):
...
designpatterns_ref.collab.base.CRDTError: Insert(agent='b', seq=1, ...) reuses id ('b', 1) with other contents: ...
"""  # noqa: E501

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from typing import TYPE_CHECKING

from designpatterns_ref.collab._waiting import _Cover, _refs
from designpatterns_ref.collab.base import CRDTError
from designpatterns_ref.collab.dellog import MAX_ID
from designpatterns_ref.collab.ids import Id, _overlaps
from designpatterns_ref.collab.items import _Item, _origin
from designpatterns_ref.collab.ops import Delete, Insert, Op, check_op, span
from designpatterns_ref.errors import shown

if TYPE_CHECKING:
    from designpatterns_ref.collab.sequence import SequenceReplica

__all__ = ["check_batch"]

# What one id means, per run or range: an insert run is (seq, text, Lamport - seq, left origin of
# its first character, right origin); a delete range is (seq, length, Lamport - seq, target
# agent, target seq of its first id, backwards).
_Run = tuple[int, str, int, "Id | None", "Id | None"]
_Range = tuple[int, int, int, str, int, bool]
_NO_RUNS: tuple[list[int], list[_Item | list[_Item]]] = ([], [])


def _claims(ops: list[Op]) -> tuple[dict[tuple[str, bool], list[int]], bool]:
    """Per (agent, is-insert), the ids ``ops`` will use, as flat sorted range boundaries; and
    whether two of the operations claim one id (a resend, or a reuse to compare)."""
    raw: dict[tuple[str, bool], list[tuple[int, int]]] = {}
    for op in ops:
        is_insert = type(op) is Insert
        seq = op.seq
        end = seq + (len(op.text) if is_insert else op.length)  # type: ignore[union-attr]
        key = (op.agent, is_insert)
        ranges = raw.get(key)
        if ranges is None:
            raw[key] = [(seq, end)]
        else:
            ranges.append((seq, end))
    claimed: dict[tuple[str, bool], list[int]] = {}
    twice = False
    for key, ranges in raw.items():
        ranges.sort()  # already sorted for an exported batch: one linear pass
        bounds: list[int] = []
        for s, e in ranges:
            if bounds and s <= bounds[-1]:
                twice = twice or s < bounds[-1]
                if e > bounds[-1]:
                    bounds[-1] = e
            else:
                bounds += (s, e)
        claimed[key] = bounds
    return claimed, twice


def _hits(bounds: list[int], s: int, e: int) -> bool:
    """Do the ranges of ``bounds`` cover any id of ``[s, e)``?"""
    i = bisect_right(bounds, s)
    return i & 1 == 1 or (i < len(bounds) and bounds[i] < e)


def check_batch(doc: SequenceReplica, batch: Iterable[Op]) -> None:
    """Raise :class:`CRDTError` when ``batch`` could not be applied whole to ``doc`` together
    with its waiting operations (see :meth:`SequenceReplica.apply_ops`), or when ``doc`` is not
    a replica or an operation is malformed (:func:`~designpatterns_ref.collab.ops.check_op`).
    Changes nothing."""
    from designpatterns_ref.collab.sequence import SequenceReplica

    if not isinstance(doc, SequenceReplica):
        raise CRDTError(f"doc={shown(doc, 80)} must be a SequenceReplica")
    if isinstance(batch, str | bytes) or not isinstance(batch, Iterable):
        raise CRDTError(f"batch={shown(batch, 80)} must be an iterable of Insert and Delete")
    _check_batch(doc, list(map(check_op, batch)))


def _check_batch(doc: SequenceReplica, batch: list[Op]) -> None:
    """:func:`check_batch` for a replica and operations already checked one by one.

    The replica and its waiting operations are consistent with each other (every batch that
    made them was checked, and local edits take ids past every id held, waited for or referred
    to: :meth:`SequenceReplica._seq_floor`), so only the new operations are checked: against
    the replica, against the index of the waiting ones (:class:`_Waiting`) and against each
    other. ``tests/collab/batch_reference.py`` keeps the check of everything together, which
    this one is tested against."""
    waiting = doc._waiting
    claimed, twice = _claims(batch)
    runs, dels, known = doc._runs, doc._dels, doc._known
    claims = waiting.claims

    def used_as(agent: str, chars: bool, s: int, e: int) -> bool:
        """Do any of ``agent``'s ids [s, e) belong (or go) to a character / a delete?"""
        if agent in known:
            if chars:
                starts, pieces = runs.get(agent, ([], []))
                at = bisect_right(starts, e - 1) - 1
                entry = pieces[at] if at >= 0 else None
                last = entry[-1] if isinstance(entry, list) else entry
                if last is not None and last.seq + len(last.content) > s:
                    return True
            else:
                log = dels.get(agent)
                at = log.covering(e - 1) if log is not None else -1
                if at >= 0 and log is not None and log.end(at) > s:
                    return True
        cover = claims.get((agent, chars))
        if cover is not None and cover.hits(s, e):
            return True
        bounds = claimed.get((agent, chars))
        return bounds is not None and _hits(bounds, s, e)

    # ids of one kind that are (or go to) the other: in the replica, the waiting operations or
    # the batch
    for op in batch:
        is_insert = type(op) is Insert
        if used_as(op.agent, not is_insert, op.seq, op.seq + span(op)):
            what = "characters" if is_insert else "a delete"
            raise CRDTError(
                f"{shown(op, 200)} uses ids for {what} that are used for the other kind elsewhere"
            )
    # origins and targets must be characters: those of the batch ...
    for op in batch:
        for agent, seq, n in _refs(op):
            if used_as(agent, False, seq, seq + n):
                raise CRDTError(
                    f"{shown(op, 200)} refers to {shown((agent, seq))} (+{n - 1}), which is a "
                    "delete, not a character"
                )
    # ... and those of the waiting operations, which the batch may use for deletes
    for (agent, is_insert), bounds in claimed.items():
        cover = waiting.refs.get(agent)
        if is_insert or cover is None:
            continue
        for k in range(0, len(bounds), 2):
            for lo, _, op in cover.overlapping(bounds[k], bounds[k + 1]):
                raise CRDTError(
                    f"{shown(op, 200)} (waiting since an earlier batch) refers to "
                    f"{shown((agent, lo))}, which is a delete of this batch, not a character"
                )
    # an id used twice must mean the same thing: compared only where ids overlap
    if known:
        reused = {  # agents whose batch ids start below the end of what the replica holds
            agent for (agent, _), b in claimed.items() if agent in known and b[0] < known[agent][-1]
        }
        if reused:
            _check_reused_ids(doc, [op for op in batch if op.agent in reused])
    if claims:
        for op in batch:
            cover = claims.get((op.agent, type(op) is Insert))
            if cover is not None:
                _check_against_waiting(op, cover)
    if twice:
        _check_same_claims(batch)


def _check_against_waiting(op: Op, cover: _Cover) -> None:
    """Raise :class:`CRDTError` when ``op`` gives an id that a waiting operation of the same
    agent and kind (``cover``) claims other contents. Every waiting operation that claims an id
    gives it the same contents (and so does the replica, if it holds it), so one per stretch
    of ids is compared, on that stretch only."""
    agent = op.agent
    for lo, hi, held in cover.overlapping(op.seq, op.seq + span(op)):
        if type(op) is Insert:
            clash = _runs_clash(agent, _run_of(held), _run_of(op), lo, hi)  # type: ignore[arg-type]
        else:
            clash = _ranges_clash(_range_of(held), _range_of(op), lo, hi)  # type: ignore[arg-type]
        if clash is not None:
            _refuse_reuse(op, agent, clash, "a waiting operation")


def _run_of(op: Insert) -> _Run:
    return (op.seq, op.text, op.lamport - op.seq, op.left, op.right)


def _range_of(op: Delete) -> _Range:
    return (op.seq, op.length, op.lamport - op.seq, op.target[0], op.target[1], op.backwards)


def _char(agent: str, run: _Run, x: int) -> str:
    """Character ``x`` of ``run``: its text, Lamport time and origins."""
    seq, text, dl, left, right = run
    origin = left if x == seq else (agent, x - 1)
    return f"{text[x - seq]!r} (Lamport {x + dl}, left origin {origin!r}, right origin {right!r})"


def _target(rng: _Range, x: int) -> int:
    seq, n, _, _, tseq, back = rng
    return tseq + (seq + n - 1 - x if back else x - seq)


def _runs_clash(
    agent: str, a: _Run, b: _Run, lo: int = 0, hi: int = MAX_ID
) -> tuple[int, str, str] | None:
    """The first id two insert runs of ``agent`` give different contents, with both
    descriptions; None when they agree wherever they overlap (within ``[lo, hi)``)."""
    s, e = max(a[0], b[0], lo), min(a[0] + len(a[1]), b[0] + len(b[1]), hi)
    if s >= e:
        return None
    left_a = a[3] if s == a[0] else (agent, s - 1)  # past the first id both are chained
    left_b = b[3] if s == b[0] else (agent, s - 1)
    x = s
    if a[2] == b[2] and a[4] == b[4] and left_a == left_b:
        ta, tb = a[1][s - a[0] : e - a[0]], b[1][s - b[0] : e - b[0]]
        if ta == tb:
            return None
        x = s + next(k for k, (p, q) in enumerate(zip(ta, tb, strict=True)) if p != q)
    return x, _char(agent, a, x), _char(agent, b, x)


def _ranges_clash(
    a: _Range, b: _Range, lo: int = 0, hi: int = MAX_ID
) -> tuple[int, str, str] | None:
    """The first id two delete ranges of one agent give different contents, with both
    descriptions; None when they agree wherever they overlap (within ``[lo, hi)``)."""
    s, e = max(a[0], b[0], lo), min(a[0] + a[1], b[0] + b[1], hi)
    if s >= e:
        return None
    x = s
    if a[2] == b[2] and a[3] == b[3] and _target(a, s) == _target(b, s):
        if e - s == 1 or _target(a, s + 1) == _target(b, s + 1):
            return None  # the same first target and the same direction: the same delete
        x = s + 1

    def what(r: _Range) -> str:
        return f"a delete of {(r[3], _target(r, x))!r} (Lamport {x + r[2]})"

    return x, what(a), what(b)


def _refuse_reuse(op: Op, agent: str, clash: tuple[int, str, str], holder: str) -> None:
    x, held, brought = clash
    raise CRDTError(
        f"{shown(op, 200)} reuses id {shown((agent, x))} with other contents: {holder} "
        "holds "
        f"{held}, the operation brings {brought} (two replicas editing as one agent?)"
    )


def _check_reused_ids(doc: SequenceReplica, ops: list[Op]) -> None:
    """Raise :class:`CRDTError` when an operation of ``ops`` (checked operations, each using ids
    of one kind only) gives an id ``doc`` already holds other contents than ``doc`` holds: for
    an insert, the characters, their Lamport times and origins; for a delete, the character
    each id deletes and its Lamport time. A resend that agrees, whole or in part, passes.
    The waiting operations are compared through their index instead
    (:func:`_check_against_waiting`); local edits never take an id a waiting operation claims
    or refers to."""
    known, runs, dels = doc._known, doc._runs, doc._dels
    for op in ops:
        agent, seq = op.agent, op.seq
        bounds = known.get(agent)
        if type(op) is Insert:
            end = seq + len(op.text)
            if not bounds or seq >= bounds[-1] or not _overlaps(bounds, seq, end):
                continue
            mine = _run_of(op)
            starts, entries = runs.get(agent, _NO_RUNS)
            at = max(bisect_right(starts, seq) - 1, 0)
            stop = bisect_right(starts, end - 1, at)  # the runs that may hold ids of the op
            for entry in entries[at:stop]:
                for it in entry if isinstance(entry, list) else (entry,):
                    held = (it.seq, it.content, it.dl, _origin(it), it.right)
                    clash = _runs_clash(agent, held, mine)
                    if clash is not None:
                        _refuse_reuse(op, agent, clash, "this replica")
        else:
            assert type(op) is Delete
            if not bounds or seq >= bounds[-1] or not _overlaps(bounds, seq, seq + op.length):
                continue
            log = dels.get(agent)
            if log is None:
                continue
            theirs = _range_of(op)
            for eseq, elam, tagent, tseq, n, back in log.entries(log.covering(seq)):
                if eseq >= seq + op.length:
                    break
                clash = _ranges_clash((eseq, n, elam - eseq, tagent, tseq, back), theirs)
                if clash is not None:
                    _refuse_reuse(op, agent, clash, "this replica")


def _check_same_claims(ops: list[Op]) -> None:
    """Raise :class:`CRDTError` when two operations of ``ops`` (the new operations of a batch)
    give one id different contents. Per agent and kind, in order of ``seq``, each
    operation is compared with the one reaching furthest before it: that one covers every id
    the others before it share with it, and they agree with it there."""
    groups: dict[tuple[str, bool], list[Op]] = {}
    for op in ops:
        groups.setdefault((op.agent, type(op) is Insert), []).append(op)
    for (agent, is_insert), group in groups.items():
        group.sort(key=lambda op: op.seq)
        reach: Op | None = None
        for op in group:
            if is_insert:
                end = op.seq + len(op.text)  # type: ignore[union-attr]
                if reach is not None:
                    clash = _runs_clash(agent, _run_of(reach), _run_of(op))  # type: ignore[arg-type]
                    if clash is not None:
                        _refuse_reuse(op, agent, clash, "another operation of the batch")
                    if reach.seq + len(reach.text) >= end:  # type: ignore[union-attr]
                        continue
            else:
                end = op.seq + op.length  # type: ignore[union-attr]
                if reach is not None:
                    clash = _ranges_clash(_range_of(reach), _range_of(op))  # type: ignore[arg-type]
                    if clash is not None:
                        _refuse_reuse(op, agent, clash, "another operation of the batch")
                    if reach.seq + reach.length >= end:  # type: ignore[union-attr]
                        continue
            reach = op
