"""Fugue: FugueMax's scan, but a right origin counts only when it shares the left origin.

Case study: Design a Collaborative Document Editor (Google Docs) (docs/case-studies/collaborative-editor.md)

Weidner and Kleppmann's Fugue places each character in a tree: a *right child* of the
character before it, unless that one already has right children, in which case a *left child*
of the item after it. In the list form used here every item keeps both origins, and the rule
compares *right parents* instead of right origins: an item's right parent is its right origin
only when that item has the same left origin (the new item was typed as a left child of it),
and the end of the document otherwise. Everything else is FugueMax's ordering. The two rules
agree on almost every history, and both keep concurrently typed runs whole. They differ when
a character's right origin was not typed after its left origin: Fugue then makes it a right
child of its left neighbour and orders it among that neighbour's other right children by agent
id, where FugueMax puts the one with the nearer right origin last. Below, Bob types ``y``
between ``x`` and a ``z`` that was typed concurrently with ``x``; Cy types ``!`` after ``x``:

>>> def story(cls):
...     ann, bob, cy = cls("ann"), cls("bob"), cls("cy")
...     ann.insert(0, "x")
...     bob.insert(0, "z"); bob.merge(ann); bob.insert(1, "y")   # "xyz"
...     cy.merge(ann); cy.insert(1, "!")                         # "x!"
...     bob.merge(cy)
...     return bob.text()
>>> from designpatterns_ref.collab.fuguemax import FugueMaxReplica
>>> story(FugueReplica), story(FugueMaxReplica)
('xy!z', 'x!yz')

Complexity: as FugueMax, plus one lookup of the right origin's own left origin per comparison.
"""  # noqa: E501

from __future__ import annotations

from designpatterns_ref.collab.ids import Id
from designpatterns_ref.collab.integration import _BREAK, _MAYBE, _SKIP
from designpatterns_ref.collab.items import _Item, _origin
from designpatterns_ref.collab.sequence import SequenceReplica

__all__ = ["FugueReplica"]


class FugueReplica(SequenceReplica):
    """Fugue: like FugueMax, comparing right parents (the right origin only when it shares
    the left origin, else the end); ties go to the smaller agent id, then sequence number."""

    rule = "fugue"
    uses_right = True

    def _right_ref(self, item: _Item) -> Id | None:
        right = super()._right_ref(item)  # none when it was disregarded on arrival
        if right is None or self._left_of(right) != _origin(item):
            return None  # a right child: its right parent is the end
        return right

    def _order(self, new: _Item, other: _Item, right_cmp: int) -> int:
        if right_cmp < 0:  # other's right parent is nearer: it may belong inside our span
            return _MAYBE
        if right_cmp == 0 and (new.agent, new.seq) < (other.agent, other.seq):
            return _BREAK
        return _SKIP
