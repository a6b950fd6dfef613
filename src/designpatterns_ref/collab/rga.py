"""RGA: concurrent inserts after the same character go newest first (Roh et al. 2011).

Case study: Design a Collaborative Document Editor (Google Docs) (docs/case-studies/collaborative-editor.md)

The rule of Replicated Growable Arrays, as in Automerge: items typed after the same left
origin are siblings, ordered by Lamport time, newest first (equal times by agent id, then by
sequence number, for one agent editing on two concurrent branches); each sibling comes with
everything typed after it. Only the left origin matters. Forward typing stays whole, but two
people typing *backwards* at one place (each character before the last) see their runs
interleave, because every new character is a fresh sibling of the same left origin.

Complexity: O(1) per comparison; the core's scan visits the concurrent items.

>>> alice, bob = RGAReplica("alice"), RGAReplica("bob")
>>> for ch in "ba": alice.insert(0, ch)     # typed backwards: "ab"
>>> for ch in "dc": bob.insert(0, ch)       # typed backwards: "cd"
>>> alice.merge(bob); alice.text()          # RGA interleaves the two runs
'cadb'
"""  # noqa: E501

from __future__ import annotations

from designpatterns_ref.collab.integration import _BREAK, _SKIP
from designpatterns_ref.collab.items import _Item
from designpatterns_ref.collab.sequence import SequenceReplica

__all__ = ["RGAReplica"]


class RGAReplica(SequenceReplica):
    """RGA: items after the same left origin go newest (highest Lamport time) first; equal
    times go by agent id, then by sequence number (one agent on two concurrent branches)."""

    rule = "rga"

    def _order(self, new: _Item, other: _Item, right_cmp: int) -> int:
        if (new.lamport, new.agent, new.seq) > (other.lamport, other.agent, other.seq):
            return _BREAK
        return _SKIP
