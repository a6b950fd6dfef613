"""The operations sequence-CRDT replicas exchange: a typed run (Insert) and a deleted range (Delete).

Case study: Design a Collaborative Document Editor (Google Docs) (docs/case-studies/collaborative-editor.md)

An :class:`Insert` carries a whole run of characters typed left to right, with the two
characters it was typed between (its *origins*); a :class:`Delete` names a range of character
identities of one agent. Both carry the identity of the operation itself, ``(agent, seq)``, and a
Lamport time. They are plain frozen records: a replica checks them when they arrive
(:meth:`SequenceReplica.apply_ops`), with :func:`check_op` for the shape of one operation.

Complexity: O(1) per check.

>>> op = Insert("alice", 0, 0, "hi", None, None)
>>> check_op(op) is op
True
"""  # noqa: E501

from __future__ import annotations

from dataclasses import dataclass

from designpatterns_ref.collab.base import CRDTError
from designpatterns_ref.collab.dellog import MAX_ID
from designpatterns_ref.collab.ids import Id

__all__ = ["Delete", "Insert", "Op", "check_op"]


@dataclass(frozen=True, slots=True)
class Insert:
    """Agent ``agent`` typed ``text`` between ``left`` and ``right``; its characters are
    ``(agent, seq)`` .. ``(agent, seq + len(text) - 1)`` with Lamport times from ``lamport``.

    ``left`` is the visible character just before the insert position (None at the start) and
    ``right`` the item just after ``left`` at that moment, deleted or not (None at the end)."""

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


def span(op: Op) -> int:
    """How many identities ``op`` uses: its characters, or the characters it deletes."""
    return len(op.text) if type(op) is Insert else op.length  # type: ignore[union-attr]


def check_agent(agent: object, name: str = "agent") -> str:
    """``agent`` if it is a non-empty str, else :class:`CRDTError`."""
    if type(agent) is not str or not agent:
        raise CRDTError(f"{name}={agent!r:.80} must be a non-empty str")
    return agent


def _is_ref(ref: object) -> bool:
    return ref is None or (
        type(ref) is tuple
        and len(ref) == 2
        and type(ref[0]) is str
        and ref[0] != ""
        and type(ref[1]) is int
        and 0 <= ref[1] < MAX_ID
    )


def check_op(op: object) -> Op:
    """``op`` if it is a well-formed :class:`Insert` or :class:`Delete`, else :class:`CRDTError`
    naming what is wrong."""
    cls = type(op)
    if cls is not Insert and cls is not Delete:
        raise CRDTError(f"op={op!r:.80} must be an Insert or a Delete")
    assert isinstance(op, Insert | Delete)
    stamped = (  # what every op carries: who made it, its sequence number and Lamport time
        type(op.agent) is str
        and op.agent != ""
        and type(op.seq) is int
        and 0 <= op.seq < MAX_ID
        and type(op.lamport) is int
        and 0 <= op.lamport < MAX_ID
    )
    if isinstance(op, Insert):
        fine = stamped and type(op.text) is str and op.text != ""
        fine = fine and max(op.seq, op.lamport) + len(op.text) <= MAX_ID
        fine = fine and _is_ref(op.left) and _is_ref(op.right)
    else:
        fine = stamped and type(op.length) is int and 1 <= op.length <= MAX_ID
        fine = fine and op.target is not None and _is_ref(op.target)
        fine = fine and max(op.seq, op.lamport, op.target[1]) + op.length <= MAX_ID
        fine = fine and type(op.backwards) is bool
    if not fine:
        raise CRDTError(
            f"malformed {op!r:.200}: agents are non-empty str, seq and lamport ints >= 0, text "
            f"non-empty, length >= 1, origins and target (agent, seq) pairs, every id below "
            f"2**62"
        )
    if isinstance(op, Insert):
        refs = [op.left, op.right]
    else:
        refs = [op.target, (op.target[0], op.target[1] + op.length - 1)]
    for ref in refs:  # an operation can only refer to what existed before it
        if ref is not None and ref[0] == op.agent and ref[1] >= op.seq:
            raise CRDTError(
                f"{op!r:.200} refers to {ref!r}, which is not before the operation itself"
            )
    return op
