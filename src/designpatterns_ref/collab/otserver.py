"""Operational transformation's protocol: a central server and the client state machine.

Case study: Design a Collaborative Document Editor (Google Docs) (docs/case-studies/collaborative-editor.md)

The server (:class:`OTServer`, the Jupiter design as simplified by Google Wave) keeps one linear
revision history. A client sends a :class:`Message` ``(client, seq, revision, op)``: the
:class:`~designpatterns_ref.collab.ot.TextOperation` was made against revision ``revision``, so
the server transforms it past every later :class:`Entry` of its history, appends it and
broadcasts it. Because every operation is transformed along that single history, the only
property needed is TP1 (:meth:`TextOperation.transform`); TP2 (transforming along two
different paths gives the same result), which peer-to-peer OT needs and which is hard to get
right, is not provided and not needed. The client (:class:`OTClient`) is a three-state machine:
*synchronised*, *awaiting* the acknowledgement of one operation, or awaiting *with a buffer* of
local edits composed into one operation to send next. The server remembers every
``(client, seq)``, so a retried message is acknowledged again and never applied twice.

**Empty edits.** A revision is an edit that reached the document, as users of a revision
history expect (ot.js and Google Docs number the changes, and a client that polls "anything
since revision r?" must not wake for nothing). So the client drops an edit that changes nothing
before it is sent (an empty insert, a delete of nothing, a buffer whose edits cancel out): it
never becomes a revision. The server, though, appends every message it receives, even one
whose operation is empty as sent (another client) or becomes empty once transformed (two users
deleted the same word at once): that entry is the sender's acknowledgement, which its state
machine waits for, and the revisions stay a gap-free count every client checks; dropping it
would need a second kind of reply.

Trade-off: every edit goes through one server, and a client may have only one operation in
flight; in exchange the server needs only TP1 and the document stays a plain string. CRDTs
(:mod:`designpatterns_ref.collab.crdt`) drop the server at the price of metadata per character
run.

Complexity: the server transforms an operation against the k entries it missed, O(k)
transforms; a client transforms each remote entry against at most two operations (the one in
flight and the buffer).

>>> server, alice, bob = OTServer("ab"), OTClient("alice", "ab"), OTClient("bob", "ab")
>>> to_alice = server.receive(alice.insert(2, "c")), server.receive(bob.insert(0, ">"))
>>> for entry in server.history:
...     _ = alice.receive(entry); _ = bob.receive(entry)
>>> server.document, alice.text(), bob.text()
('>abc', '>abc', '>abc')
"""  # noqa: E501

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar, overload

from designpatterns_ref.collab.base import OTError
from designpatterns_ref.collab.ot import (
    TextOperation,
    _check_client,
    _check_count,
    _check_op,
    _check_text,
    _make,
)
from designpatterns_ref.errors import shown

__all__ = ["Entry", "Message", "OTClient", "OTServer"]


def _own(op: TextOperation) -> TextOperation:
    """A copy of ``op`` (a builder its holder may go on extending): messages and entries keep
    their own, and the server and the client hand out copies of theirs (the entries of
    :attr:`OTServer.history`, the messages of :class:`OTClient`), so no caller can rewrite a
    history afterwards."""
    return _make(list(op.ops))


class _History(Sequence["Entry"]):
    """The server's history as its callers read it: each entry read is a copy, so extending
    its operation changes nothing the server holds."""

    __slots__ = ("_entries",)

    def __init__(self, entries: list[Entry]) -> None:
        self._entries = entries

    @overload
    def __getitem__(self, index: int) -> Entry: ...
    @overload
    def __getitem__(self, index: slice) -> list[Entry]: ...
    def __getitem__(self, index: int | slice) -> Entry | list[Entry]:
        if isinstance(index, slice):
            return [_copy(e) for e in self._entries[index]]
        return _copy(self._entries[index])

    def __len__(self) -> int:
        return len(self._entries)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _History):
            other = other._entries
        return isinstance(other, list | tuple) and self._entries == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._entries)


@dataclass(frozen=True, slots=True)
class Message:
    """What a client sends: its id, its sequence number, the revision the op is based on.
    It holds a copy of ``op``: the caller's builder stays the caller's."""

    client: str
    seq: int
    revision: int
    op: TextOperation

    def __post_init__(self) -> None:
        _check_client(self.client)
        _check_count("seq", self.seq)
        _check_count("revision", self.revision)
        _check_op("op", self.op)
        object.__setattr__(self, "op", _own(self.op))


@dataclass(frozen=True, slots=True)
class Entry:
    """One revision of the server's history: who sent the operation, its sequence number,
    the revision it made (1-based, its place in the history) and the operation. The revision
    lets a client recognise an entry delivered twice or one that went missing. It holds a
    copy of ``op``."""

    client: str
    seq: int
    revision: int
    op: TextOperation

    def __post_init__(self) -> None:
        _check_client(self.client)
        _check_count("seq", self.seq)
        _check_count("revision", self.revision)
        if self.revision == 0:
            raise OTError("revision=0 must be at least 1 (the first entry makes revision 1)")
        _check_op("op", self.op)
        object.__setattr__(self, "op", _own(self.op))


_Held = TypeVar("_Held", Message, Entry)


def _copy(held: _Held) -> _Held:
    """A copy of a message or entry, its operation copied too."""
    return type(held)(held.client, held.seq, held.revision, held.op)


class OTServer:
    """The central server: one document, one linear history, one rule (transform and append).

    Not thread-safe: a server shared by connection handlers must serialise :meth:`receive`
    (one lock, or one task owning the server), as the history is a single sequence.

    >>> server = OTServer("ab")
    >>> server.receive(Message("alice", 0, 0, TextOperation.from_patch(2, 2, 0, "c")))
    1
    >>> server.receive(Message("bob", 0, 0, TextOperation.from_patch(2, 0, 0, ">")))
    2
    >>> server.document
    '>abc'
    """

    def __init__(self, document: str = "") -> None:
        _check_text("document", document)
        self.document = document
        self._history: list[Entry] = []
        # (client, seq) -> (its revision here, the revision and op it was sent with)
        self._seen: dict[tuple[str, int], tuple[int, int, TextOperation]] = {}

    @property
    def history(self) -> Sequence[Entry]:
        """The revisions so far, oldest first; each entry read is a copy."""
        return _History(self._history)

    @property
    def revision(self) -> int:
        """The number of operations applied so far."""
        return len(self._history)

    def receive(self, message: Message) -> int:
        """Transform ``message.op`` past the history it missed, apply it and return its
        revision number (1-based). A message already received (a resend after a lost
        acknowledgement) returns its first revision; another operation under the same client
        and sequence number is refused, never dropped in silence (a client that reconnects
        under its old name must go on from its last sequence number)."""
        if not isinstance(message, Message):
            raise OTError(f"message={shown(message, 80)} must be a Message")
        key = (message.client, message.seq)
        seen = self._seen.get(key)
        if seen is not None:
            revision, based_on, op = seen
            if (based_on, op) != (message.revision, message.op):
                raise OTError(
                    f"client={shown(message.client, 80)} seq={shown(message.seq)} was received "
                    "before with another operation; a client that reconnects must continue its "
                    "sequence numbers, or use a new name"
                )
            return revision
        if not 0 <= message.revision <= len(self._history):
            raise OTError(
                f"revision={shown(message.revision)} must be within [0, {len(self._history)}]"
            )
        op = message.op
        for entry in self._history[message.revision :]:
            op, _ = TextOperation.transform(op, entry.op)
        document = op.apply(self.document)  # raises before anything changes
        self.document = document
        self._history.append(Entry(message.client, message.seq, len(self._history) + 1, op))
        self._seen[key] = (len(self._history), message.revision, _own(message.op))
        return len(self._history)


class OTClient:
    """One editor: its document and the three-state machine that talks to :class:`OTServer`.

    State is :attr:`state`: ``"synchronised"``, ``"awaiting"`` (one op in flight) or
    ``"buffering"`` (one op in flight, later edits composed in a buffer). Local edits return
    the :class:`Message` to send, or ``None`` while an op is in flight. Feed every server
    history entry, in order, to :meth:`receive` (a repeated one is ignored, a gap refused).

    >>> server, alice = OTServer(), OTClient("alice")
    >>> message = alice.insert(0, "hi")
    >>> alice.state, alice.insert(2, "!"), alice.state
    ('awaiting', None, 'buffering')
    >>> server.receive(message)
    1
    >>> alice.receive(server.history[0]) is not None   # the ack releases the buffer
    True
    """

    def __init__(self, client: str, document: str = "", revision: int = 0) -> None:
        self.client = _check_client(client)
        _check_text("document", document)
        _check_count("revision", revision)
        self.document = document
        self.revision = revision
        self._outstanding: Message | None = None
        self._inflight: TextOperation | None = None  # the outstanding op, transformed so far
        self._buffer: TextOperation | None = None
        self._seq = 0

    @property
    def outstanding(self) -> Message | None:
        """The message in flight (a copy), if any."""
        return None if self._outstanding is None else _copy(self._outstanding)

    @property
    def buffer(self) -> TextOperation | None:
        """The local edits made while a message is in flight, composed (a copy), if any."""
        return None if self._buffer is None else _own(self._buffer)

    @property
    def state(self) -> str:
        if self._outstanding is None:
            return "synchronised"
        return "awaiting" if self._buffer is None else "buffering"

    def text(self) -> str:
        return self.document

    def insert(self, pos: int, text: str) -> Message | None:
        """Insert ``text`` at code point ``pos`` locally; returns the message to send, if any."""
        return self.apply_local(TextOperation.from_patch(len(self.document), pos, 0, text))

    def delete(self, pos: int, length: int) -> Message | None:
        """Delete ``length`` code points at ``pos`` locally; returns the message to send."""
        return self.apply_local(TextOperation.from_patch(len(self.document), pos, length, ""))

    def apply_local(self, op: TextOperation) -> Message | None:
        """Apply a local edit and move the state machine; a message when one should be sent.

        An edit that changes nothing (an empty insert, a delete of nothing: only retains) is
        checked against the document and dropped: it sends nothing and takes no sequence
        number, so it never becomes a revision of the server. Edits buffered while one is in
        flight that cancel out (a character typed and erased) leave no buffer either.
        """
        _check_op("op", op)
        self.document = op.apply(self.document)
        op = _own(op)  # the caller may go on extending its builder
        if op.is_noop():
            return None
        if self._outstanding is None:
            self._outstanding = Message(self.client, self._seq, self.revision, op)
            self._inflight = op
            self._seq += 1
            return _copy(self._outstanding)
        buffer = op if self._buffer is None else self._buffer.compose(op)
        self._buffer = None if buffer.is_noop() else buffer
        return None

    def resend(self) -> Message | None:
        """The in-flight message again, unchanged (same ``seq`` and base revision), for a
        retry after a lost reply; the server recognises it and does not apply it twice. A
        copy, as every message the client returns: the one in flight stays the client's."""
        return self.outstanding

    def receive(self, entry: Entry) -> Message | None:
        """Take the server's next history entry: our own op is an acknowledgement (returns the
        buffered message to send, if any), anyone else's is transformed and applied. An entry
        already taken (a push delivered twice) is ignored and returns ``None``; one that skips
        a revision, or does not fit, raises :class:`OTError` and changes nothing."""
        if not isinstance(entry, Entry):
            raise OTError(f"entry={shown(entry, 80)} must be an Entry")
        if entry.revision <= self.revision:
            return None
        if entry.revision != self.revision + 1:
            raise OTError(
                f"entry revision={entry.revision} skips revisions: the client is at "
                f"{self.revision} and takes {self.revision + 1} next"
            )
        if entry.client == self.client:
            if self._outstanding is None or entry.seq != self._outstanding.seq:
                raise OTError(f"acknowledgement of seq={entry.seq} that is not in flight")
            self.revision += 1
            self._outstanding = self._inflight = None
            if self._buffer is not None:
                self._outstanding = Message(self.client, self._seq, self.revision, self._buffer)
                self._inflight = self._buffer
                self._seq += 1
                self._buffer = None
            return self.outstanding
        op, inflight, buffer = entry.op, self._inflight, self._buffer
        if inflight is not None:
            inflight, op = TextOperation.transform(inflight, op)
            if buffer is not None:
                buffer, op = TextOperation.transform(buffer, op)
                if buffer.is_noop():  # another user made the same change: nothing to send
                    buffer = None
        document = op.apply(self.document)  # raises before anything changes
        self.document, self._inflight, self._buffer = document, inflight, buffer
        self.revision += 1
        return None
