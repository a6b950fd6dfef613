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
for the new one's messages.

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
        self._ends: dict[str, int] = {}  # conv -> the highest seq seen of its log

    def _log_end(self, conv: str, last: int, *, appended: bool = False) -> int:
        """Note that ``conv``'s log ends at ``last`` (returned; ``appended``: a seq the store
        just gave a new message). A log only grows and never gives a seq twice, so an end
        below one seen before, or a new message at a seq seen before, means it was reset (a
        store wiped, a Redis server restarted empty): its receipts are forgotten, or they
        would call the new log's messages delivered and read on the strength of acks of the
        old one."""
        end = self._ends.get(conv, 0)
        if last < end or (appended and last == end):
            self.receipts.forget(conv)
        if last != end:
            self._ends[conv] = last
        return last

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
        pushed to it, and delivered waits for its acks."""
        check_id("user", user), check_id("device", device)
        self.receipts.add_device(user, device)
        self._online.setdefault(user, set()).add(device)

    def disconnect(self, user: str, device: str) -> None:
        """The device's connection is gone (it will resume from its cursors)."""
        check_id("user", user), check_id("device", device)
        self._online.get(user, set()).discard(device)

    def online(self, user: str) -> list[str]:
        """The connected devices of ``user``, sorted."""
        return sorted(self._online.get(check_id("user", user), ()))

    def send(
        self, user: str, conv: str, client_msg_id: str, body: str
    ) -> tuple[Message, list[tuple[str, str]]]:
        """Append (idempotently) and return the message and the devices to push it to."""
        self.check_member(conv, user)
        msg, created = self.store.append(conv, user, client_msg_id, body)
        if created:
            self._log_end(conv, msg.seq, appended=True)
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
        end = (
            self._log_end(conv, self.store.last_seq(conv))
            if last is None
            else check_seq("last", last)
        )
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

    def _check_known(self, conv: str, seq: object) -> int:
        return check_seq("seq", seq, high=self._log_end(conv, self.store.last_seq(conv)))

    def ack(self, user: str, device: str, conv: str, seq: int) -> None:
        """The device has shown ``conv`` up to ``seq`` (at most the log's last seq)."""
        self.check_member(conv, user)
        check_id("device", device)
        self.receipts.ack(user, device, conv, self._check_known(conv, seq))

    def read(self, user: str, conv: str, seq: int) -> None:
        """``user`` has read ``conv`` up to ``seq`` (at most the log's last seq)."""
        self.check_member(conv, user)
        self.receipts.read(user, conv, self._check_known(conv, seq))

    def receipt(self, conv: str, seq: int) -> Receipt:
        """Sent / delivered / read of message ``seq``, with the group's counts."""
        check_id("conv", conv)
        check_seq("seq", seq, low=1, high=self._log_end(conv, self.store.last_seq(conv)))
        (msg,) = self.store.read(conv, seq - 1, 1)
        return self.receipts.status(conv, seq, sender=msg.sender, members=self.members(conv))
