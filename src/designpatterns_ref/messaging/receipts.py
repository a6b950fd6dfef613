"""Receipts: sent, delivered to every recipient device, read by every member; group counts.

Case study: Design a Real-Time Chat App (WhatsApp / Messenger) (docs/case-studies/chat-app.md)

Acks and read markers are cursors, not per-message flags: a device acks "everything up to
seq n" (its inbox cursor) and a user's read marker says "read up to n". Both only move
forward (within one log: when a conversation's log is reset, :meth:`Receipts.forget` starts
its cursors again). So a message's state is a comparison: *sent* once it has a seq, *delivered* when
every recipient device's ack cursor reaches it, *read* when every recipient's read marker
does; a group shows "read by k of n".

Delivered never goes back. Each (user, conversation) keeps a delivered mark, raised on every
ack to the lowest ack cursor of the user's devices registered at that moment (and when a
device is removed, as the lagging device no longer counts); a message is delivered to the
user once its seq is at or below the mark. So signing in on a new device leaves what was
delivered delivered, and later messages wait for every device, the new one included; a
device that is gone for good (logged out, expired) is dropped with
:meth:`Receipts.remove_device` rather than holding every later message at "sent".
O(r) per query (r recipients), O(k) per ack (k devices of the user).

>>> r = Receipts()
>>> r.add_device("bob", "phone"); r.add_device("cy", "laptop")
>>> r.ack("bob", "phone", "c", 3); r.read("bob", "c", 2)
>>> r.status("c", 2, sender="ann", members=["ann", "bob", "cy"])
Receipt(seq=2, state='sent', delivered_to=1, read_by=1, recipients=2)
>>> r.add_device("bob", "tablet")  # seq 1..3 stay delivered to bob; seq 4 waits for both
>>> r.ack("bob", "phone", "c", 4); r.status("c", 4, sender="ann", members=["ann", "bob"])
Receipt(seq=4, state='sent', delivered_to=0, read_by=0, recipients=1)
>>> r.remove_device("bob", "tablet"); r.status("c", 4, sender="ann", members=["ann", "bob"])
Receipt(seq=4, state='delivered', delivered_to=1, read_by=0, recipients=1)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from designpatterns_ref.errors import shown
from designpatterns_ref.messaging.base import (
    MessagingError,
    MessagingTypeError,
    check_id,
    check_seq,
)

__all__ = ["Receipt", "Receipts", "State"]

State = Literal["sent", "delivered", "read"]


@dataclass(frozen=True, slots=True)
class Receipt:
    """The state of one message, with the group's counts (recipient users)."""

    seq: int
    state: State
    delivered_to: int
    read_by: int
    recipients: int


class Receipts:
    """Per-device ack cursors, per-user delivered marks and read markers, per conversation."""

    def __init__(self) -> None:
        self._devices: dict[str, set[str]] = {}
        self._acked: dict[tuple[str, str, str], int] = {}
        self._delivered: dict[tuple[str, str], int] = {}  # (user, conv) -> delivered mark
        self._read: dict[tuple[str, str], int] = {}

    def add_device(self, user: str, device: str) -> None:
        """Register a device of ``user``: messages not yet delivered to the user wait for its
        acks too; those already delivered stay delivered."""
        check_id("user", user), check_id("device", device)
        self._devices.setdefault(user, set()).add(device)

    def remove_device(self, user: str, device: str) -> None:
        """Drop a registered device of ``user`` (logged out, expired) and its ack cursors; the
        user's delivered marks may rise, as delivered no longer waits for it. An unknown
        device is refused and nothing changes."""
        check_id("user", user), check_id("device", device)
        devices = self._devices.get(user, set())
        if device not in devices:
            raise MessagingError(
                f"device={shown(device, 80)} is not a registered device of user={shown(user, 80)}"
            )
        devices.discard(device)
        if not devices:
            del self._devices[user]
        convs = {k[2] for k in self._acked if k[0] == user}
        self._acked = {k: v for k, v in self._acked.items() if k[:2] != (user, device)}
        for conv in convs:
            self._raise_mark(user, conv)

    def _raise_mark(self, user: str, conv: str) -> None:
        """Raise the delivered mark of ``(user, conv)`` to the lowest ack cursor of the user's
        registered devices (none registered: unchanged)."""
        devices = self._devices.get(user)
        if devices:
            low = min(self._acked.get((user, d, conv), 0) for d in devices)
            if low > self._delivered.get((user, conv), 0):
                self._delivered[(user, conv)] = low

    def devices(self, user: str) -> frozenset[str]:
        """The registered devices of ``user``."""
        return frozenset(self._devices.get(check_id("user", user), ()))

    def ack(self, user: str, device: str, conv: str, seq: int) -> None:
        """The device has shown everything of ``conv`` up to ``seq`` (cursors only grow);
        the user's delivered mark rises to the lowest cursor of its registered devices."""
        check_id("user", user), check_id("device", device), check_id("conv", conv)
        check_seq("seq", seq)
        key = (user, device, conv)
        if seq > self._acked.get(key, 0):
            self._acked[key] = seq
        self._raise_mark(user, conv)

    def acked(self, user: str, device: str, conv: str) -> int:
        """The device's ack cursor in ``conv``."""
        check_id("user", user), check_id("device", device), check_id("conv", conv)
        return self._acked.get((user, device, conv), 0)

    def read(self, user: str, conv: str, seq: int) -> None:
        """``user`` has read ``conv`` up to ``seq`` (markers only grow)."""
        check_id("user", user), check_id("conv", conv), check_seq("seq", seq)
        if seq > self._read.get((user, conv), 0):
            self._read[(user, conv)] = seq

    def delivered(self, user: str, conv: str) -> int:
        """The delivered mark of ``user`` in ``conv``: its messages up to it are delivered."""
        check_id("user", user), check_id("conv", conv)
        return self._delivered.get((user, conv), 0)

    def forget(self, conv: str) -> None:
        """Drop every ack cursor, delivered mark and read marker of ``conv``: its log was
        reset (wiped, then written again from seq 1), so the cursors count messages that no
        longer exist, and kept they would call the new log's messages delivered and read
        before any device showed them. The registered devices stay."""
        check_id("conv", conv)
        self._acked = {k: v for k, v in self._acked.items() if k[2] != conv}
        self._delivered = {k: v for k, v in self._delivered.items() if k[1] != conv}
        self._read = {k: v for k, v in self._read.items() if k[1] != conv}

    def read_marker(self, user: str, conv: str) -> int:
        """How far ``user`` has read ``conv``."""
        check_id("user", user), check_id("conv", conv)
        return self._read.get((user, conv), 0)

    def status(self, conv: str, seq: int, *, sender: str, members: list[str]) -> Receipt:
        """The receipt of message ``seq`` sent by ``sender`` to ``members``."""
        check_id("conv", conv), check_seq("seq", seq, low=1), check_id("sender", sender)
        if not isinstance(members, list | tuple | set | frozenset):
            raise MessagingTypeError(f"members={shown(members, 80)} must be a list of user ids")
        recipients = sorted({check_id("member", m) for m in members} - {sender})
        got, marker = self._delivered, self._read  # ids checked above: no re-check per user
        delivered = sum(1 for u in recipients if got.get((u, conv), 0) >= seq)
        read = sum(1 for u in recipients if marker.get((u, conv), 0) >= seq)
        n = len(recipients)
        state: State = "sent"
        if n and read == n:
            state = "read"
        elif n and delivered == n:
            state = "delivered"
        return Receipt(seq, state, delivered, read, n)
