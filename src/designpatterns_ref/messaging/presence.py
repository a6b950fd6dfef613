"""Presence: heartbeats with a TTL, and coalesced fan-out of changes to subscribers only.

Case study: Design a Real-Time Chat App (WhatsApp / Messenger) (docs/case-studies/chat-app.md)

A client sends a heartbeat every few seconds saying ``online`` or ``away``; a user with no
heartbeat for ``ttl`` seconds is ``offline``, with ``last_seen`` the time of the last one.
Changes do not go out as they happen: :meth:`Presence.flush`, called every ``coalesce``
seconds, sends each subscriber only the users whose state differs from what that subscriber
was last told. A connection flapping online/offline ten times inside one window sends nothing
(it ends where it started) or one event, not twenty. Trade-off: a change reaches subscribers
up to ``coalesce`` seconds late.

A flush looks only at users that may have changed: those with a heartbeat, a disconnect or a
new subscriber since the last flush, and those whose last heartbeat has just aged past the
TTL (a heap of heartbeat times, oldest first). So it costs O((c + e) log h + t) for c changed
users, e expiries, h heartbeats in the heap and t subscribers told, not O(s) for every
(subscriber, user) pair: with 100 members watching each other that is a few pairs a flush,
not 10,000, and the event loop that calls it is not held up. The clock must not go backwards.
The property tests compare it with a flush that rescans every pair.

>>> from designpatterns_ref.clock import ManualClock
>>> clock = ManualClock()
>>> p = Presence(clock, ttl=30)
>>> p.subscribe("bob", "ann")
>>> p.heartbeat("ann")
>>> p.flush()
[('bob', 'ann', 'online')]
>>> clock.advance(31); p.state("ann"), p.flush()
('offline', [('bob', 'ann', 'offline')])
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Literal

from designpatterns_ref.clock import read_seconds
from designpatterns_ref.errors import shown
from designpatterns_ref.messaging.base import MessagingError, MessagingTypeError, check_id

__all__ = ["Presence", "PresenceState"]

PresenceState = Literal["online", "away", "offline"]


def _seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MessagingTypeError(f"{name}={shown(value, 80)} must be a number of seconds")
    if not (0 < value <= 86400):
        raise MessagingError(f"{name}={shown(value, 80)} must be within (0, 86400] seconds")
    return float(value)


class Presence:
    """Who is online, away or offline, told to subscribers in coalesced batches."""

    def __init__(self, clock: Callable[[], float], *, ttl: float = 30.0) -> None:
        if not callable(clock):
            raise MessagingTypeError(f"clock={shown(clock, 80)} must be callable")
        self.ttl = _seconds("ttl", ttl)
        self._clock = clock
        self._beat: dict[str, tuple[float, PresenceState]] = {}  # last beat, or clean close
        self._subs: dict[str, set[str]] = {}  # user -> subscribers
        self._told: dict[tuple[str, str], PresenceState] = {}
        self._changed: set[str] = set()  # users to look at in the next flush
        self._beats: list[tuple[float, str]] = []  # (heartbeat time, user), oldest first
        self.events_sent = 0

    def heartbeat(self, user: str, status: str = "online") -> None:
        """``user`` is connected and ``status`` (``online`` or ``away``)."""
        check_id("user", user)
        if status not in ("online", "away"):
            raise MessagingError(f"status={shown(status, 80)} must be 'online' or 'away'")
        now = read_seconds(self._clock, MessagingError, "Presence.heartbeat")
        self._beat[user] = (now, "online" if status == "online" else "away")
        self._changed.add(user)
        heapq.heappush(self._beats, (now, user))

    def disconnect(self, user: str) -> None:
        """``user`` closed the connection cleanly: offline now, last seen now."""
        check_id("user", user)
        now = read_seconds(self._clock, MessagingError, "Presence.disconnect")
        self._beat[user] = (now, "offline")
        self._changed.add(user)

    def state(self, user: str) -> PresenceState:
        """``online``, ``away`` or ``offline`` (no heartbeat for ``ttl`` seconds)."""
        beat = self._beat.get(check_id("user", user))
        return self._state(beat, read_seconds(self._clock, MessagingError, "Presence.state"))

    def _state(self, beat: tuple[float, PresenceState] | None, now: float) -> PresenceState:
        if beat is None or beat[1] == "offline" or now - beat[0] > self.ttl:
            return "offline"
        return beat[1]

    def last_seen(self, user: str) -> float | None:
        """The time of ``user``'s last heartbeat or clean disconnect (None if never seen)."""
        beat = self._beat.get(check_id("user", user))
        return None if beat is None else beat[0]

    def subscribe(self, subscriber: str, user: str) -> None:
        """``subscriber`` wants ``user``'s presence changes."""
        check_id("subscriber", subscriber), check_id("user", user)
        self._subs.setdefault(user, set()).add(subscriber)
        self._changed.add(user)

    def unsubscribe(self, subscriber: str, user: str) -> None:
        """Stop telling ``subscriber`` about ``user``."""
        check_id("subscriber", subscriber), check_id("user", user)
        self._subs.get(user, set()).discard(subscriber)
        self._told.pop((subscriber, user), None)

    def flush(self) -> list[tuple[str, str, PresenceState]]:
        """The coalesced events ``(subscriber, user, state)`` to send now, sorted."""
        out: list[tuple[str, str, PresenceState]] = []
        clock = read_seconds(self._clock, MessagingError, "Presence.flush")
        beats, changed = self._beats, self._changed
        while beats and clock - beats[0][0] > self.ttl:  # the same test as state()
            changed.add(heapq.heappop(beats)[1])
        self._changed = set()
        for user in changed:
            subs = self._subs.get(user)
            if not subs:
                continue
            now = self._state(self._beat.get(user), clock)
            for sub in subs:
                if self._told.get((sub, user), "offline") != now:
                    self._told[(sub, user)] = now
                    out.append((sub, user, now))
        out.sort()
        self.events_sent += len(out)
        return out
