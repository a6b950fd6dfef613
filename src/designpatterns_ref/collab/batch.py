"""Checking a whole batch of remote operations before a replica applies any of it.

Case study: Design a Collaborative Document Editor (Google Docs) (docs/case-studies/collaborative-editor.md)

:meth:`SequenceReplica.apply_ops` is all or nothing: every operation of a batch, together with
the operations still waiting for their dependencies, is checked first. An identity
``(agent, seq)`` names either a character or a delete, never both, so the batch may not use
for one kind ids that the replica or the batch already uses for the other; and an operation
may refer (as an origin or a delete target) only to characters, never to a delete.

The check collects, per agent and kind, the ids the waiting and new operations will use as a
flat sorted list of range boundaries (the batches a replica exports are sorted, so this is
one pass), then answers every question with a binary search: against those boundaries, and
against the replica's own runs and delete log only for agents it already knows.

Complexity: O(k log k) for a batch of k operations plus O(k log n) against a replica of n runs.

>>> from designpatterns_ref.collab.fuguemax import FugueMaxReplica
>>> from designpatterns_ref.collab.ops import Delete, Insert
>>> doc = FugueMaxReplica("a")
>>> check_batch(doc, [Insert("b", 0, 0, "x", None, None), Delete("b", 0, 1, ("b", 0), 1)])
Traceback (most recent call last):
...
designpatterns_ref.collab.base.CRDTError: Insert(agent='b', seq=0, ...) uses ids for characters that are used for the other kind elsewhere
"""  # noqa: E501

from __future__ import annotations

from bisect import bisect_right
from typing import TYPE_CHECKING

from designpatterns_ref.collab.base import CRDTError
from designpatterns_ref.collab.ops import Insert, Op

if TYPE_CHECKING:
    from designpatterns_ref.collab.sequence import SequenceReplica

__all__ = ["check_batch"]


def _claims(ops: list[Op]) -> dict[tuple[str, bool], list[int]]:
    """Per (agent, is-insert), the ids ``ops`` will use, as flat sorted range boundaries."""
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
    for key, ranges in raw.items():
        ranges.sort()  # already sorted for an exported batch: one linear pass
        bounds: list[int] = []
        for s, e in ranges:
            if bounds and s <= bounds[-1]:
                if e > bounds[-1]:
                    bounds[-1] = e
            else:
                bounds += (s, e)
        claimed[key] = bounds
    return claimed


def _hits(bounds: list[int], s: int, e: int) -> bool:
    """Do the ranges of ``bounds`` cover any id of ``[s, e)``?"""
    i = bisect_right(bounds, s)
    return i & 1 == 1 or (i < len(bounds) and bounds[i] < e)


def check_batch(doc: SequenceReplica, batch: list[Op]) -> None:
    """Raise :class:`CRDTError` when ``batch`` (checked operations) could not be applied whole
    to ``doc`` together with its waiting operations; see :meth:`SequenceReplica.apply_ops`."""
    pending = doc._pending
    ops = [*pending, *batch] if pending else batch
    claimed = _claims(ops)
    runs, dels, known = doc._runs, doc._dels, doc._known

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
        bounds = claimed.get((agent, chars))
        return bounds is not None and _hits(bounds, s, e)

    def refuse_kind(op: Op) -> None:
        is_insert = type(op) is Insert
        end = op.seq + (len(op.text) if is_insert else op.length)  # type: ignore[union-attr]
        if used_as(op.agent, not is_insert, op.seq, end):
            what = "characters" if is_insert else "a delete"
            raise CRDTError(
                f"{op!r:.200} uses ids for {what} that are used for the other kind elsewhere"
            )

    # ids of one kind that are (or go to) the other: within the batch and waiting operations,
    # one pass per agent over the smaller of its two claims
    for (agent, is_insert), mine in claimed.items():
        theirs = claimed.get((agent, not is_insert))
        if not is_insert or theirs is None:
            continue
        small, large = (mine, theirs) if len(mine) <= len(theirs) else (theirs, mine)
        if any(_hits(large, small[k], small[k + 1]) for k in range(0, len(small), 2)):
            for op in batch:
                refuse_kind(op)
            raise CRDTError(f"the waiting operations of {agent!r} use ids for both kinds")
    for op in batch:  # ... and against what the replica holds, for agents it knows
        if op.agent in known:
            refuse_kind(op)
    # origins and targets must be characters
    targets = {agent: bounds for (agent, ins), bounds in claimed.items() if not ins}
    for op in ops:
        if type(op) is Insert:
            refs = [(r, 1) for r in (op.left, op.right) if r is not None]
        else:
            refs = [(op.target, op.length)]  # type: ignore[union-attr]
        for (agent, seq), n in refs:
            bounds = targets.get(agent)
            if bounds is not None:  # inlined _hits: a delete of the batch covers an id?
                i = bisect_right(bounds, seq)
                hit = i & 1 == 1 or (i < len(bounds) and bounds[i] < seq + n)
            else:
                hit = False
            if hit or (agent in dels and used_as(agent, False, seq, seq + n)):
                raise CRDTError(
                    f"{op!r:.200} refers to {(agent, seq)!r} (+{n - 1}), which is a delete, "
                    f"not a character"
                )
