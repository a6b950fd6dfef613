"""Sequence CRDTs: three ordering rules (RGA, Fugue, FugueMax / YjsMod) on one core.

Case study: Design a Collaborative Document Editor (Google Docs) (docs/case-studies/collaborative-editor.md)

Every character gets an identity ``(agent, seq)`` and remembers the two items it was typed
between; replicas that have seen the same operations hold the same text, whatever the order
the operations arrived in. The pieces, one a module:

* :mod:`~designpatterns_ref.collab.ids`: identities and :class:`Version` (what a replica has seen);
* :mod:`~designpatterns_ref.collab.ops`: the :class:`Insert` and :class:`Delete` operations;
* :mod:`~designpatterns_ref.collab.items`: the chunked, run-length-encoded list of items;
* :mod:`~designpatterns_ref.collab.sequence`: :class:`SequenceReplica`, local edits,
  integration and sync, everything but the ordering rule;
* :mod:`~designpatterns_ref.collab.bulk`: loading a whole history into an empty replica in
  one pass, whole runs, no search;
* the rules, a few lines each: :mod:`~designpatterns_ref.collab.rga` (newest first, Roh et al.
  2011), :mod:`~designpatterns_ref.collab.fugue` (Weidner and Kleppmann) and
  :mod:`~designpatterns_ref.collab.fuguemax` (FugueMax, the YjsMod rule of diamond-types and
  Eg-walker).

Trade-off: RGA needs only the left origin but interleaves text typed backwards concurrently;
Fugue and FugueMax keep concurrently typed runs whole, at the price of a right origin per run.

Complexity: local edit O(chunks crossed + chunk size); remote insert O(log n + k) for k
concurrent items; memory O(items), not O(characters).

>>> alice, bob = RGAReplica("alice"), RGAReplica("bob")
>>> for ch in "ba": alice.insert(0, ch)     # typed backwards: "ab"
>>> for ch in "dc": bob.insert(0, ch)       # typed backwards: "cd"
>>> alice.merge(bob); alice.text()          # RGA interleaves the two runs
'cadb'
>>> sorted(RULES)
['fugue', 'fuguemax', 'rga']
"""  # noqa: E501

from __future__ import annotations

from designpatterns_ref.collab.fugue import FugueReplica
from designpatterns_ref.collab.fuguemax import FugueMaxReplica, YjsModReplica
from designpatterns_ref.collab.ids import Id, Version
from designpatterns_ref.collab.ops import Delete, Insert, Op
from designpatterns_ref.collab.rga import RGAReplica
from designpatterns_ref.collab.sequence import SequenceReplica

__all__ = [
    "RULES",
    "Delete",
    "FugueMaxReplica",
    "FugueReplica",
    "Id",
    "Insert",
    "Op",
    "RGAReplica",
    "SequenceReplica",
    "Version",
    "YjsModReplica",
]

#: The ordering rules by name.
RULES: dict[str, type[SequenceReplica]] = {
    "rga": RGAReplica,
    "fugue": FugueReplica,
    "fuguemax": FugueMaxReplica,
}
