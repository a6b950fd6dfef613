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
from designpatterns_ref.errors import shown

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
        raise CRDTError(f"{name}={shown(agent, 80)} must be a non-empty str")
    return agent


def check_op(op: object) -> Op:
    """``op`` if it is a well-formed :class:`Insert` or :class:`Delete`, else :class:`CRDTError`
    naming what is wrong."""
    if type(op) is Insert:
        agent = op.agent
        seq = op.seq
        lamport = op.lamport
        text = op.text
        left = op.left
        right = op.right
        fine = (  # every op: who made it, its sequence number and Lamport time
            type(agent) is str
            and agent
            and type(seq) is int
            and type(lamport) is int
            and seq >= 0
            and lamport >= 0
            # ... and an insert: its text, its origins
            and type(text) is str
            and text
            and (seq if seq > lamport else lamport) + len(text) <= MAX_ID
            and (  # origins: None or (agent, seq) pairs, written out (this runs per operation)
                left is None
                or (
                    type(left) is tuple
                    and len(left) == 2
                    and type(left[0]) is str
                    and left[0]
                    and type(left[1]) is int
                    and 0 <= left[1] < MAX_ID
                )
            )
            and (
                right is None
                or (
                    type(right) is tuple
                    and len(right) == 2
                    and type(right[0]) is str
                    and right[0]
                    and type(right[1]) is int
                    and 0 <= right[1] < MAX_ID
                )
            )
        )
        # an operation can only refer to what existed before it
        if fine and left is not None and left[0] == agent and left[1] >= seq:
            _refuse_forward(op, left)
        if fine and right is not None and right[0] == agent and right[1] >= seq:
            _refuse_forward(op, right)
    elif type(op) is Delete:
        agent = op.agent
        seq = op.seq
        lamport = op.lamport
        target = op.target
        length = op.length
        fine = (
            type(agent) is str
            and agent
            and type(seq) is int
            and type(lamport) is int
            and seq >= 0
            and lamport >= 0
            # ... and a delete: its length and target range
            and type(length) is int
            and 1 <= length <= MAX_ID
            and type(target) is tuple
            and len(target) == 2
            and type(target[0]) is str
            and target[0]
            and type(target[1]) is int
            and target[1] >= 0
            and seq + length <= MAX_ID
            and lamport + length <= MAX_ID
            and target[1] + length <= MAX_ID
            and type(op.backwards) is bool
        )
        if fine and target[0] == agent and target[1] + length - 1 >= seq:
            _refuse_forward(op, target if target[1] >= seq else (agent, target[1] + length - 1))
    else:
        raise CRDTError(f"op={shown(op, 80)} must be an Insert or a Delete")
    if not fine:
        raise CRDTError(
            f"malformed {shown(op, 200)}: agents are non-empty str, seq and lamport ints >= 0, "
            "text non-empty, length >= 1, origins and target (agent, seq) pairs, every id below "
            "2**62"
        )
    return op


def _refuse_forward(op: Op, ref: Id) -> None:
    raise CRDTError(
        f"{shown(op, 200)} refers to {shown(ref)}, which is not before the operation itself"
    )
