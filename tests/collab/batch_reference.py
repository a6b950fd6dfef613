"""The check of a batch against everything at once: the readable reference the replica's
incremental check (:func:`designpatterns_ref.collab.batch._check_batch`, against an index of the
waiting operations) is tested against.

It checks the batch together with every operation still waiting, as the replica once did on
every ``apply_ops``: the ids they claim, gathered per agent and kind, may not be used for both
kinds or given two contents, and what they refer to must be characters. That re-checks every
waiting operation on every call, so delivering a document one operation at a time in reverse
causal order took quadratic time."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable

from designpatterns_ref.collab import CRDTError, Insert, Op, SequenceReplica
from designpatterns_ref.collab.batch import (
    _check_reused_ids,
    _check_same_claims,
    _claims,
    _hits,
)
from designpatterns_ref.collab.ops import check_op
from designpatterns_ref.errors import shown


def check_batch_whole(doc: SequenceReplica, new: Iterable[Op]) -> None:
    """Raise :class:`CRDTError` when the operations ``new`` (checked one by one here) could not
    be applied whole to ``doc`` together with its waiting operations; changes nothing."""
    batch = list(map(check_op, new))
    pending = doc._pending
    ops = [*pending, *batch] if pending else batch
    claimed, twice = _claims(ops)
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
                f"{shown(op, 200)} uses ids for {what} that are used for the other kind elsewhere"
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
            raise CRDTError(f"the waiting operations of {shown(agent)} use ids for both kinds")
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
                    f"{shown(op, 200)} refers to {shown((agent, seq))} (+{n - 1}), which is a "
                    "delete, "
                    f"not a character"
                )
    # an id used twice must mean the same thing: compared only where ids overlap
    if twice:
        _check_same_claims(ops)
    if known:
        reused = {  # agents whose batch ids start below the end of what the replica holds
            agent for (agent, _), b in claimed.items() if agent in known and b[0] < known[agent][-1]
        }
        if reused:
            _check_reused_ids(doc, [op for op in ops if op.agent in reused])
