"""The in-memory conversation log: a list per conversation and an idempotency map.

Case study: Design a Real-Time Chat App (WhatsApp / Messenger) (docs/case-studies/chat-app.md)

The sequence of a conversation is the length of its list: append gives ``len + 1``, so seqs
are gap-free by construction. A retried send (same sender, same ``client_msg_id``) finds its
seq in a dict and stores nothing. O(1) append, O(k) read of k messages (a list slice, since
seq ``s`` sits at index ``s - 1``).

>>> store = MemoryStore()
>>> store.append("c", "ann", "m1", "hi")
(Message(conv='c', seq=1, sender='ann', client_msg_id='m1', body='hi'), True)
>>> store.append("c", "ann", "m1", "hi")[1]   # the retry stores nothing
False
>>> len(store.read("c")), store.last_seq("c")
(1, 1)
"""

from __future__ import annotations

from designpatterns_ref.messaging.base import Message, check_body, check_id, check_seq

__all__ = ["MemoryStore"]


class MemoryStore:
    """Conversation logs in process memory (the default store)."""

    def __init__(self) -> None:
        self._logs: dict[str, list[Message]] = {}
        self._ids: dict[tuple[str, str, str], int] = {}

    def append(self, conv: str, sender: str, client_msg_id: str, body: str) -> tuple[Message, bool]:
        """Store a message, or return the one this ``(sender, client_msg_id)`` already stored."""
        check_id("conv", conv), check_id("sender", sender)
        check_id("client_msg_id", client_msg_id), check_body(body)
        log = self._logs.get(conv, [])
        seq = self._ids.get((conv, sender, client_msg_id))
        if seq is not None:
            return log[seq - 1], False
        msg = Message(conv, len(log) + 1, sender, client_msg_id, body)
        log.append(msg)
        self._logs[conv] = log
        self._ids[(conv, sender, client_msg_id)] = msg.seq
        return msg, True

    def read(self, conv: str, after: int = 0, limit: int = 1000) -> list[Message]:
        """The messages with seq > ``after``, in order, at most ``limit``."""
        check_id("conv", conv), check_seq("after", after), check_seq("limit", limit, low=1)
        return self._logs.get(conv, [])[after : after + limit]

    def last_seq(self, conv: str) -> int:
        """The highest seq of ``conv`` (0 when empty)."""
        return len(self._logs.get(check_id("conv", conv), ()))

    def close(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return f"MemoryStore(conversations={len(self._logs)})"
