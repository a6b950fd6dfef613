"""FugueMax, the YjsMod rule: left and right origins decide, and concurrent runs never interleave.

Case study: Design a Collaborative Document Editor (Google Docs) (docs/case-studies/collaborative-editor.md)

The rule of diamond-types and Eg-walker (Gentle's YjsMod), which Weidner and Kleppmann prove
equal to FugueMax. Among items with the same left origin, one whose right origin lies *before*
the new item's right origin may belong inside the new item's span, so the scan keeps looking
(``_MAYBE``); one with the same right origin is a true tie, broken by agent id compared as
strings (then sequence number, for one agent on two concurrent branches); one whose right
origin lies further right is passed. Concurrently typed runs never interleave, forwards or
backwards (maximal non-interleaving).

Complexity: O(1) per comparison, plus locating a right origin among the items already scanned.

>>> alice, bob = FugueMaxReplica("alice"), FugueMaxReplica("bob")
>>> for ch in "ba": alice.insert(0, ch)
>>> for ch in "dc": bob.insert(0, ch)
>>> alice.merge(bob); alice.text()          # each run stays whole
'abcd'
"""  # noqa: E501

from __future__ import annotations

from designpatterns_ref.collab.integration import _BREAK, _MAYBE, _SKIP
from designpatterns_ref.collab.items import _Item
from designpatterns_ref.collab.sequence import SequenceReplica

__all__ = ["FugueMaxReplica", "YjsModReplica"]


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
"""The same rule under the name diamond-types and Eg-walker give it."""
