"""Collaborative editing: operational transformation and sequence CRDTs, proven on real traces.

Case study: Design a Collaborative Document Editor (Google Docs) (docs/case-studies/collaborative-editor.md)

Two answers to "two users edit the same paragraph at once": transform concurrent operations
through a central server (:mod:`~designpatterns_ref.collab.ot`,
:mod:`~designpatterns_ref.collab.otserver`), or give every character an
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
    WireError,
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
from designpatterns_ref.collab.ot import TextOperation
from designpatterns_ref.collab.otserver import Entry, Message, OTClient, OTServer
from designpatterns_ref.collab.sync import (
    SyncReport,
    apply_update,
    encode_update,
    sync_socket,
    sync_step1,
    sync_step2,
)
from designpatterns_ref.collab.wire import decode_ops, decode_version, encode_ops, encode_version

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
    "SyncReport",
    "TextOperation",
    "TextReplica",
    "Version",
    "WireError",
    "YjsModReplica",
    "apply_update",
    "decode_ops",
    "decode_version",
    "encode_ops",
    "encode_update",
    "encode_version",
    "from_utf16",
    "sync_socket",
    "sync_step1",
    "sync_step2",
    "to_utf16",
]
