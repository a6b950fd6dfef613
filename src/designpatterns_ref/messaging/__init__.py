"""Messaging: ordered, exactly-once chat delivery, presence, receipts, a WebSocket gateway.

Case study: Design a Real-Time Chat App (WhatsApp / Messenger) (docs/case-studies/chat-app.md)

Each conversation has a gap-free sequence (the store assigns 1, 2, 3, ...); a send carries a
``client_msg_id`` so a retry stores nothing twice; each device keeps an :class:`Inbox` per
conversation that drops duplicates, buffers gaps and resumes from its cursor, so at-least-once
frames on the wire become exactly-once, in-order messages on the screen. :class:`ChatServer`
is the logic without I/O; the stores (:class:`MemoryStore`, :class:`SQLiteStore`,
:class:`RedisStore`) share the :class:`Store` interface; :class:`Receipts` and
:class:`Presence` give sent / delivered / read and online / away / offline. Slack's shape
(:class:`HashRing` picks each conversation's channel server; ``messaging.channelserver``,
``messaging.edge`` and ``messaging.cluster`` run it as processes over Redis) and Discord's
read states (``messaging.readstates``, written back to :class:`SQLiteReadStore` or
:class:`RedisReadStore`) live in their own modules.

>>> import designpatterns_ref as dp
>>> server = dp.messaging.ChatServer()
>>> server.join("c", "ann")
>>> server.send("ann", "c", "m1", "hi")[0].seq, server.send("ann", "c", "m1", "hi")[0].seq
(1, 1)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from designpatterns_ref.errors import shown
from designpatterns_ref.messaging.base import (
    Message,
    MessagingError,
    MessagingTypeError,
    Store,
    StoreUnavailable,
)
from designpatterns_ref.messaging.hashring import HashRing
from designpatterns_ref.messaging.inbox import Inbox
from designpatterns_ref.messaging.memory import MemoryStore
from designpatterns_ref.messaging.presence import Presence
from designpatterns_ref.messaging.readstore import ReadStateStore, RedisReadStore, SQLiteReadStore
from designpatterns_ref.messaging.receipts import Receipt, Receipts
from designpatterns_ref.messaging.server import ChatServer
from designpatterns_ref.messaging.sqlite import SQLiteStore

if TYPE_CHECKING:  # pragma: no cover
    from designpatterns_ref.messaging.redis import RedisStore

__all__ = [
    "ChatServer",
    "HashRing",
    "Inbox",
    "MemoryStore",
    "Message",
    "MessagingError",
    "MessagingTypeError",
    "Presence",
    "ReadStateStore",
    "Receipt",
    "Receipts",
    "RedisReadStore",
    "RedisStore",
    "SQLiteReadStore",
    "SQLiteStore",
    "Store",
    "StoreUnavailable",
]


def __getattr__(name: str) -> Any:
    """Load the Redis store (and its redis-py import) on first use."""
    if name == "RedisStore":
        from designpatterns_ref.messaging.redis import RedisStore

        return RedisStore
    raise AttributeError(f"module {shown(__name__)} has no attribute {shown(name)}")
