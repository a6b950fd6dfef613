"""Messages, the store interface, the family's errors and the argument checks.

Case study: Design a Real-Time Chat App (WhatsApp / Messenger) (docs/case-studies/chat-app.md)

A :class:`Message` is what a conversation log holds: the conversation, the gap-free sequence
number the server gave it, the sender, the sender's ``client_msg_id`` (the idempotency key)
and the body. Every store (:class:`~designpatterns_ref.messaging.memory.MemoryStore`,
:class:`~designpatterns_ref.messaging.sqlite.SQLiteStore`,
:class:`~designpatterns_ref.messaging.redis.RedisStore`) satisfies :class:`Store`.

Idempotency window: a store remembers every ``(sender, client_msg_id)`` of a conversation as
long as it keeps the conversation's log, so a retry at any time returns the first seq.

>>> check_id("conv", "general")
'general'
>>> check_id("conv", "")
Traceback (most recent call last):
...
designpatterns_ref.messaging.base.MessagingError: conv='' must be a non-empty string ...
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from designpatterns_ref.errors import DesignPatternsError, shown

__all__ = [
    "MAX_BODY",
    "MAX_ID",
    "MAX_SEQ",
    "Message",
    "MessagingError",
    "MessagingTypeError",
    "Store",
    "StoreUnavailable",
    "check_body",
    "check_id",
    "check_seq",
]

#: Longest id (conversation, user, device, client_msg_id), in characters.
MAX_ID = 128
#: Longest message body, in characters.
MAX_BODY = 4096
#: Largest sequence number accepted (a signed 64-bit integer, as SQLite and Redis store it).
MAX_SEQ = 2**63 - 1


class MessagingError(DesignPatternsError, ValueError):
    """A bad value given to the messaging family; the message names it and what is allowed."""


class MessagingTypeError(MessagingError, TypeError):
    """A value of the wrong type given to the messaging family."""


class StoreUnavailable(MessagingError):
    """The store could not serve the call now (Redis unreachable or past its deadline, a
    SQLite file locked or closed, a command the server refused): not the caller's fault, so
    the same call may succeed later. The gateways tell it apart from a bad frame: a ``send``
    is answered an ``error`` with code 1013 on an open connection, any other frame closes the
    socket with 1013 ("try again later") rather than 4000, and the client reconnects with
    backoff."""


@dataclass(frozen=True, slots=True)
class Message:
    """One message of a conversation log, with its server-assigned sequence number.

    A plain record: making one checks nothing. The stores make one per message they append
    (from values they checked) and per message they read back (from values they stored), and
    checking every field again would cost about 2 µs a message (measured: a SQLite read of
    1,000 messages, 3.1 ms, would take 65 % longer). Values from outside are checked where
    they come in: :meth:`~designpatterns_ref.messaging.inbox.Inbox.receive` refuses a message
    whose fields are not ids, a seq of at least 1 and a body as :func:`check_body` allows,
    and the client drops such a ``message`` frame rather than show it."""

    conv: str
    seq: int
    sender: str
    client_msg_id: str
    body: str


@runtime_checkable
class Store(Protocol):
    """A durable conversation log: gap-free seqs per conversation, idempotent appends."""

    def append(self, conv: str, sender: str, client_msg_id: str, body: str) -> tuple[Message, bool]:
        """Store a message (or find the one this retry already stored); ``(message, created)``."""
        ...

    def read(self, conv: str, after: int = 0, limit: int = 1000) -> list[Message]:
        """The messages of ``conv`` with seq > ``after``, in seq order, at most ``limit``."""
        ...

    def last_seq(self, conv: str) -> int:
        """The highest seq of ``conv`` (0 when empty)."""
        ...

    def close(self) -> None:
        """Release the store's resources."""
        ...


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_id(name: str, value: object) -> str:
    """``value`` as an id: a non-empty str of at most :data:`MAX_ID` characters, valid UTF-8."""
    if not isinstance(value, str):
        raise MessagingTypeError(f"{name}={shown(value, 80)} must be a string")
    if not value or len(value) > MAX_ID or not _encodable(value) or "\x00" in value:
        raise MessagingError(
            f"{name}={shown(value, 80)} must be a non-empty string of at most {MAX_ID} characters, "
            "valid UTF-8 without NUL"
        )
    return value


def check_body(value: object) -> str:
    """``value`` as a message body: a str of at most :data:`MAX_BODY` characters, valid UTF-8."""
    if not isinstance(value, str):
        raise MessagingTypeError(f"body={shown(value, 80)} must be a string")
    if len(value) > MAX_BODY or not _encodable(value):
        raise MessagingError(
            f"body of {len(value)} characters must be valid UTF-8 of at most {MAX_BODY} characters"
        )
    return value


def check_seq(name: str, value: object, *, low: int = 0, high: int = MAX_SEQ) -> int:
    """``value`` as an int in ``[low, high]`` (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise MessagingTypeError(f"{name}={shown(value, 80)} must be an integer")
    if not low <= value <= high:
        raise MessagingError(f"{name}={shown(value, 80)} must be within [{low}, {high}]")
    return value
