"""The chat server's logic without I/O: membership, sends, resume, acks, reads, receipts.

Case study: Design a Real-Time Chat App (WhatsApp / Messenger) (docs/case-studies/chat-app.md)

:class:`ChatServer` is what the WebSocket gateway calls for every frame, and what the property
tests drive directly. A send appends to the store (which gives the seq and makes retries
idempotent) and returns the connected devices to push the message to; a (re)connecting device
hands in its cursors and gets back everything after them (Discord's RESUME); a gap request
is a range read. Both take a ``limit``: the store is asked for at most that many messages, so
a gateway that answers a page at a time reads a page at a time. Acks and read markers are
checked against the log: a device cannot ack a seq that does not exist yet, so receipts never
run ahead of the log. When the log is reset under the server (a store wiped, a Redis server
restarted empty), which it sees as an end below one it saw before or a new message at a seq
it saw given, the conversation's receipts start again, so acks of the old log never vouch
for the new one's messages. A device stays registered (delivered waits for it) across
disconnects until it logs out: :meth:`ChatServer.detach`.

>>> server = ChatServer()
>>> server.join("c", "ann"); server.join("c", "bob")
>>> server.connect("bob", "phone", {})
[]
>>> msg, targets = server.send("ann", "c", "m1", "hi")
>>> msg.seq, targets
(1, [('bob', 'phone')])
>>> server.ack("bob", "phone", "c", 1); server.receipt("c", 1).state
'delivered'
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from designpatterns_ref.errors import shown
from designpatterns_ref.messaging.base import (
    MAX_SEQ,
    Message,
    MessagingError,
    MessagingTypeError,
    Store,
    check_id,
    check_seq,
)
from designpatterns_ref.messaging.memory import MemoryStore
from designpatterns_ref.messaging.receipts import Receipt, Receipts

__all__ = ["ChatServer"]


class ChatServer:
    """Conversations, their members and devices, over one :class:`Store`."""

    def __init__(self, store: Store | None = None) -> None:
        if store is not None and not isinstance(store, Store):
            raise MessagingTypeError(f"store={shown(store, 80)} must satisfy messaging.Store")
        self.store: Store = store if store is not None else MemoryStore()
        self.receipts = Receipts()
        self._members: dict[str, set[str]] = {}
        self._convs: dict[str, set[str]] = {}  # user -> conversations
        self._online: dict[str, set[str]] = {}  # user -> connected devices
        # conv -> the highest seq seen of its log, with the (sender, client_msg_id) of the
        # message there when an append of this server gave it (None when a read saw it)
        self._ends: dict[str, tuple[int, tuple[str, str] | None]] = {}
        self._appending: dict[str, int] = {}  # conv -> appends of this server in flight
        # One lock for the ends, the appends in flight and the receipts: a gateway appends in
        # one thread and reads (acks, read markers, last seqs) in another. The store is not
        # called under it, except to confirm a suspected reset.
        self._lock = threading.RLock()

    def _log_end(self, conv: str, last: int, *, appended: Message | None = None) -> int:
        """Note that ``conv``'s log ends at ``last`` (``appended``: the new message the store
        just gave that seq); the end to use, ``last`` or a higher one already seen.

        A log only grows and never gives a seq twice, so an end below one seen before, or a
        new message at a seq seen before, means it was reset (a store wiped, a Redis server
        restarted empty): its receipts are forgotten, or they would call the new log's
        messages delivered and read on the strength of acks of the old one. Both are only
        suspicions when threads share the server: a read that started before an append
        finished may note its end after the append did. So a suspicion is confirmed under
        the lock before anything is forgotten (:meth:`_confirm_reset`), and a read never
        notes an end while an append of the same conversation is in flight (the end it saw
        may be that append's, and the append notes it with its message)."""
        with self._lock:
            end, mark = self._ends.get(conv, (0, None))
            ident = None if appended is None else (appended.sender, appended.client_msg_id)
            if last > end:
                if appended is not None or not self._appending.get(conv):
                    self._ends[conv] = (last, ident)
                return last
            if appended is None and last == end:
                return last
            if not self._confirm_reset(conv, end, mark, ident, last):
                return end  # a stale read, or appends finishing out of order
            self.receipts.forget(conv)
            self._ends[conv] = (last, ident)
            return last

    def _confirm_reset(
        self, conv: str, end: int, mark: tuple[str, str] | None, ident: tuple[str, str] | None,
        last: int,
    ) -> bool:  # fmt: skip
        """Whether ``conv``'s log was reset since its end ``end`` (message ``mark``) was noted;
        ``last`` is a seq just read or given (``ident``: the message an append gave it)."""
        if ident is not None and last == end:
            # a new message at the noted end: a reset, unless the noted one is this very
            # message; an end noted by a read (mark None) was never this append's, as a
            # read notes nothing while an append is in flight
            return mark != ident
        if self.store.last_seq(conv) < end:  # read now, after the end was noted: shorter
            return True
        if mark is None:
            return False  # as long as it was: no sign of a reset
        (msg,) = self.store.read(conv, end - 1, 1) or (None,)
        return msg is None or (msg.sender, msg.client_msg_id) != mark

    def last_seq(self, conv: str) -> int:
        """The last seq of ``conv``'s log, as the store says, noting a reset of the log (its
        receipts start again); never below an end this server has confirmed."""
        check_id("conv", conv)
        return self._log_end(conv, self.store.last_seq(conv))

    def append(self, user: str, conv: str, client_msg_id: str, body: str) -> tuple[Message, bool]:
        """Append (idempotently) ``user``'s message to ``conv``: the message, and whether it is
        new (False for a retry). A new message at a seq seen before resets the
        conversation's receipts (see :meth:`last_seq`). Safe from any thread."""
        self.check_member(conv, user)
        with self._lock:
            self._appending[conv] = self._appending.get(conv, 0) + 1
        created = False
        try:
            msg, created = self.store.append(conv, user, client_msg_id, body)
        finally:
            with self._lock:
                left = self._appending[conv] - 1
                if left:
                    self._appending[conv] = left
                else:
                    del self._appending[conv]
                if created:
                    self._log_end(conv, msg.seq, appended=msg)
        return msg, created

    def join(self, conv: str, user: str) -> None:
        """Make ``user`` a member of ``conv``."""
        check_id("conv", conv), check_id("user", user)
        self._members.setdefault(conv, set()).add(user)
        self._convs.setdefault(user, set()).add(conv)

    def members(self, conv: str) -> list[str]:
        """The members of ``conv``, sorted."""
        return sorted(self._members.get(check_id("conv", conv), ()))

    def conversations(self, user: str) -> list[str]:
        """The conversations ``user`` belongs to, sorted."""
        return sorted(self._convs.get(check_id("user", user), ()))

    def check_member(self, conv: str, user: str) -> None:
        """Raise :class:`MessagingError` unless ``user`` is a member of ``conv``."""
        check_id("conv", conv), check_id("user", user)
        if user not in self._members.get(conv, ()):
            raise MessagingError(
                f"user={shown(user, 80)} is not a member of conv={shown(conv, 80)}"
            )

    def connect(
        self, user: str, device: str, cursors: Mapping[str, int], *, limit: int | None = None
    ) -> list[Message]:
        """Connect (or resume) a device: everything after its ``cursors``, per conversation in
        name order, at most ``limit`` messages in all (all of them when None; the device
        fetches the rest). The store is asked for no more than ``limit`` messages.

        A cursor is a seq in ``[0, MAX_SEQ]``; one at or past the log's end replays nothing.
        Every cursor is checked and the replay read before the device is registered, so a
        refused connect (bad cursor or limit, not a member, store unreachable) changes nothing.
        It is :meth:`replay`, then :meth:`attach`.
        """
        check_id("user", user), check_id("device", device)
        out = self.replay(user, cursors, limit=limit)
        self.attach(user, device)
        return out

    def replay(
        self, user: str, cursors: Mapping[str, int], *, limit: int | None = None
    ) -> list[Message]:
        """What :meth:`connect` returns, without registering a device: the part that reads
        the store, which a gateway runs off its event loop; it then calls :meth:`attach` on
        the loop, with the device's socket."""
        check_id("user", user)
        if not isinstance(cursors, Mapping):
            raise MessagingTypeError(f"cursors={shown(cursors, 80)} must be a mapping conv -> seq")
        mine = self._convs.get(user, set())
        for conv, seq in cursors.items():
            check_id("conv", conv), check_seq(f"cursors[{conv!r:.40}]", seq)
            if conv not in mine:
                raise MessagingError(
                    f"user={shown(user, 80)} is not a member of conv={shown(conv, 80)}"
                )
        left = MAX_SEQ if limit is None else check_seq("limit", limit, low=1)
        out: list[Message] = []
        for conv in sorted(mine):
            cursor = cursors.get(conv, 0)
            if cursor < MAX_SEQ and left > 0:  # nothing can come after MAX_SEQ
                page = self.fetch(conv, cursor + 1, limit=left)
                out += page
                left -= len(page)
        return out

    def attach(self, user: str, device: str) -> None:
        """Register ``user``'s connected ``device``: new messages of its conversations are
        pushed to it, and messages not yet delivered to the user wait for its acks too
        (those already delivered stay delivered). It stays registered across disconnects,
        until :meth:`detach`."""
        check_id("user", user), check_id("device", device)
        with self._lock:  # an ack in another thread reads the user's devices
            self.receipts.add_device(user, device)
        self._online.setdefault(user, set()).add(device)

    def disconnect(self, user: str, device: str) -> None:
        """The device's connection is gone (it will resume from its cursors)."""
        check_id("user", user), check_id("device", device)
        self._online.get(user, set()).discard(device)

    def detach(self, user: str, device: str) -> None:
        """Log ``user``'s ``device`` out for good: :meth:`disconnect` it and drop it from the
        receipts (:meth:`Receipts.remove_device`), so delivered no longer waits for it. A
        device never attached is refused with :class:`MessagingError` and nothing changes."""
        check_id("user", user), check_id("device", device)
        with self._lock:
            self.receipts.remove_device(user, device)
        self._online.get(user, set()).discard(device)

    def online(self, user: str) -> list[str]:
        """The connected devices of ``user``, sorted."""
        return sorted(self._online.get(check_id("user", user), ()))

    def send(
        self, user: str, conv: str, client_msg_id: str, body: str
    ) -> tuple[Message, list[tuple[str, str]]]:
        """Append (idempotently) and return the message and the devices to push it to."""
        msg, _ = self.append(user, conv, client_msg_id, body)
        return msg, self.targets(conv)

    def targets(self, conv: str) -> list[tuple[str, str]]:
        """The connected devices of ``conv``'s members: where a new message of it is pushed."""
        members = sorted(self._members.get(check_id("conv", conv), ()))
        return [(u, d) for u in members for d in sorted(self._online.get(u, ()))]

    def fetch(
        self, conv: str, first: int, last: int | None = None, *, limit: int | None = None
    ) -> list[Message]:
        """The messages ``first..last`` of ``conv`` (to the end when ``last`` is None), at most
        ``limit`` of them (all when None): the store is asked for no more than ``limit``, so
        a page costs a page however long the range."""
        check_id("conv", conv), check_seq("first", first, low=1)
        end = self.last_seq(conv) if last is None else check_seq("last", last)
        left = MAX_SEQ if limit is None else check_seq("limit", limit, low=1)
        out: list[Message] = []
        while first <= end and left > 0:
            page = self.store.read(conv, first - 1, min(1000, end - first + 1, left))
            if not page:
                break
            out += page
            left -= len(page)
            first = page[-1].seq + 1
        return out

    def ack(self, user: str, device: str, conv: str, seq: int) -> None:
        """The device has shown ``conv`` up to ``seq`` (at most the log's last seq)."""
        self.check_member(conv, user)
        check_id("device", device)
        last = self.store.last_seq(conv)
        with self._lock:  # the check and the cursor it moves: no reset noted in between
            seq = check_seq("seq", seq, high=self._log_end(conv, last))
            self.receipts.ack(user, device, conv, seq)

    def read(self, user: str, conv: str, seq: int) -> None:
        """``user`` has read ``conv`` up to ``seq`` (at most the log's last seq)."""
        self.check_member(conv, user)
        last = self.store.last_seq(conv)
        with self._lock:
            seq = check_seq("seq", seq, high=self._log_end(conv, last))
            self.receipts.read(user, conv, seq)

    def receipt(self, conv: str, seq: int) -> Receipt:
        """Sent / delivered / read of message ``seq``, with the group's counts."""
        check_id("conv", conv)
        check_seq("seq", seq, low=1, high=self.last_seq(conv))
        found = self.store.read(conv, seq - 1, 1)
        if not found:  # the log was wiped (a store reset) between the two reads
            raise MessagingError(f"seq={seq} is no longer in conversation {shown(conv, 80)}")
        msg = found[0]
        return self.receipts.status(conv, seq, sender=msg.sender, members=self.members(conv))
