"""A device's inbox for one conversation: drop duplicates, buffer gaps, resume from a cursor.

Case study: Design a Real-Time Chat App (WhatsApp / Messenger) (docs/case-studies/chat-app.md)

The wire delivers at least once, in any order; the user must see each message exactly once,
in seq order. The inbox keeps a ``cursor`` (the highest seq shown, all below it shown too).
A frame with ``seq <= cursor`` or already buffered is a duplicate and is dropped; a frame
beyond ``cursor + 1`` waits in a buffer, and :meth:`Inbox.missing` names the range to ask
for; when the gap fills, the buffered run is shown at once. On reconnect the device sends its
cursor (a RESUME) and the server replays everything after it. The ack the device sends is
always its cursor, so the server never believes more was delivered than was shown.
O(1) per frame (the buffer is a dict by seq), plus O(1) for each message it makes showable;
:meth:`Inbox.missing` scans the buffer, O(b) for b buffered frames (few in practice).

>>> from designpatterns_ref.messaging.base import Message
>>> box = Inbox("c")
>>> [m.seq for m in box.receive(Message("c", 2, "a", "x2", "b"))], box.missing()
([], (1, 1))
>>> [m.seq for m in box.receive(Message("c", 1, "a", "x1", "a"))], box.cursor
([1, 2], 2)
>>> box.receive(Message("c", 1, "a", "x1", "a")), box.duplicates
([], 1)
"""

from __future__ import annotations

from designpatterns_ref.errors import shown
from designpatterns_ref.messaging.base import (
    Message,
    MessagingError,
    MessagingTypeError,
    check_body,
    check_id,
    check_seq,
)

__all__ = ["Inbox"]


class Inbox:
    """What one device has shown of one conversation."""

    def __init__(self, conv: str, cursor: int = 0) -> None:
        self.conv = check_id("conv", conv)
        self.cursor = check_seq("cursor", cursor)
        self.shown: list[Message] = []
        self.duplicates = 0
        self._buffer: dict[int, Message] = {}

    def receive(self, msg: Message) -> list[Message]:
        """Take one frame; return the messages it makes showable, in seq order. Every field is
        checked (ids, a seq of at least 1, a body as :func:`check_body` allows) before the
        inbox changes: a malformed one raises MessagingError and is not shown."""
        if not isinstance(msg, Message):
            raise MessagingTypeError(f"msg={shown(msg, 80)} must be a Message")
        if msg.conv != self.conv:
            raise MessagingError(
                f"msg.conv={shown(msg.conv, 80)} is not this inbox's {shown(self.conv)}"
            )
        check_seq("msg.seq", msg.seq, low=1)
        check_id("msg.sender", msg.sender), check_id("msg.client_msg_id", msg.client_msg_id)
        check_body(msg.body)
        if msg.seq <= self.cursor or msg.seq in self._buffer:
            self.duplicates += 1
            return []
        self._buffer[msg.seq] = msg
        out: list[Message] = []
        while self.cursor + 1 in self._buffer:
            self.cursor += 1
            out.append(self._buffer.pop(self.cursor))
        self.shown.extend(out)
        return out

    def conflicts(self, msg: Message) -> bool:
        """True when ``msg`` has the seq of a message this inbox showed but is another message
        (another sender or ``client_msg_id``): seqs are never reused, so the conversation's
        log was reset (a store wiped, a Redis server restarted empty) under a connected
        device, and the inbox must start afresh rather than drop the new log as duplicates.
        False for a message it has not shown (a seq past the cursor, or before what it keeps),
        and for a malformed one (which :meth:`receive` refuses)."""
        first = self.cursor - len(self.shown) + 1  # the seq of shown[0]
        if not isinstance(msg, Message) or type(msg.seq) is not int:
            return False  # a malformed one is for receive() to refuse
        if not first <= msg.seq <= self.cursor:
            return False
        try:
            ids = (
                check_id("msg.sender", msg.sender),
                check_id("msg.client_msg_id", msg.client_msg_id),
            )
        except MessagingError:
            return False
        old = self.shown[msg.seq - first]
        return (old.sender, old.client_msg_id) != ids

    def missing(self) -> tuple[int, int] | None:
        """The seq range ``(first, last)`` to ask the server for, or None without a gap."""
        if not self._buffer:
            return None
        return self.cursor + 1, min(self._buffer) - 1

    @property
    def buffered(self) -> int:
        """How many frames wait for a gap to fill."""
        return len(self._buffer)

    def __repr__(self) -> str:
        return f"Inbox({self.conv!r}, cursor={self.cursor}, buffered={len(self._buffer)})"
