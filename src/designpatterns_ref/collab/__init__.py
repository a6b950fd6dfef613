"""Collaborative editing: operational transformation and sequence CRDTs, proven on real traces.

Case study: Design a Collaborative Document Editor (Google Docs) (docs/case-studies/collaborative-editor.md)

Two answers to "two users edit the same paragraph at once": transform concurrent operations
through a central server (:mod:`~designpatterns_ref.collab.ot`), or give every character an
identity so replicas merge in any order (:mod:`~designpatterns_ref.collab.crdt`).
:mod:`~designpatterns_ref.collab.traces` replays real recorded editing sessions through both.

>>> from designpatterns_ref.collab import FugueMaxReplica
>>> doc = FugueMaxReplica("alice")
>>> doc.insert(0, "hello")
>>> doc.text()
'hello'
"""  # noqa: E501

from designpatterns_ref.collab.base import (
    CollabError,
    CRDTError,
    OTError,
    TextReplica,
    from_utf16,
    to_utf16,
)
from designpatterns_ref.collab.crdt import (
    RULES,
    Delete,
    FugueMaxReplica,
    FugueReplica,
    Id,
    Insert,
    Op,
    RGAReplica,
    SequenceReplica,
    Version,
    YjsModReplica,
)
from designpatterns_ref.collab.ot import Entry, Message, OTClient, OTServer, TextOperation

__all__ = [
    "RULES",
    "CRDTError",
    "CollabError",
    "Delete",
    "Entry",
    "FugueMaxReplica",
    "FugueReplica",
    "Id",
    "Insert",
    "Message",
    "OTClient",
    "OTError",
    "OTServer",
    "Op",
    "RGAReplica",
    "SequenceReplica",
    "TextOperation",
    "TextReplica",
    "Version",
    "YjsModReplica",
    "from_utf16",
    "to_utf16",
]
