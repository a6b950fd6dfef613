"""Simulated APNs, FCM and email: rate limits, payload limits, transient and permanent errors.

Case study: Design a Push Notification System (docs/case-studies/push-notifications.md)

Each :class:`SimulatedProvider` answers one message with one outcome, the way the real service
would: ``"ok"``; ``"too-large"`` above its payload limit (APNs and FCM take 4 KB); ``"throttled"``
past its own rate limit (a :class:`~designpatterns_ref.ratelimit.TokenBucket`, used through the
rate-limit family's public package); ``"transient"`` at random with probability ``transient``
(a 503, a timeout: try again later); ``"invalid-token"`` for a token the service no longer knows
(APNs 410 Unregistered, FCM UNREGISTERED: remove the device, never retry).

A delivery is recorded by a :class:`DedupWindow`: :meth:`DedupWindow.deliver` checks that the
message id was not delivered within ``window`` seconds and records it in the same step, so a
message served twice by an at-least-once queue reaches the phone once.

Complexity: O(1) per message.

>>> from designpatterns_ref.clock import ManualClock
>>> apns = SimulatedProvider("apns", rate=1000, clock=ManualClock(), seed=1)
>>> apns.attempt("tok-1", "hello")
'ok'
>>> apns.invalidate("tok-1"); apns.attempt("tok-1", "hello")
'invalid-token'
"""

from __future__ import annotations

import random
from collections import OrderedDict

from designpatterns_ref.clock import Clock
from designpatterns_ref.notifications.base import (
    CHANNELS,
    NotificationError,
    check_name,
    check_seconds,
    check_seed,
)
from designpatterns_ref.ratelimit import TokenBucket

__all__ = ["PAYLOAD_LIMITS", "DedupWindow", "SimulatedProvider", "default_providers"]

#: Largest payload per channel, in bytes (APNs: 4 KB; FCM: 4 KB of data; email: generous).
PAYLOAD_LIMITS = {"apns": 4096, "fcm": 4096, "email": 10 * 1024 * 1024}


class SimulatedProvider:
    """One push or email service: its rate limit, payload limit and failure modes."""

    __slots__ = ("_bucket", "_rng", "channel", "invalid", "payload_limit", "sent", "transient")

    def __init__(
        self,
        channel: str,
        *,
        rate: float = 1e9,
        transient: float = 0.0,
        payload_limit: int | None = None,
        clock: Clock | None = None,
        seed: int = 0,
    ) -> None:
        if channel not in CHANNELS:
            raise NotificationError(f"SimulatedProvider: channel={channel!r} not in {CHANNELS}")
        if isinstance(transient, bool) or not isinstance(transient, int | float):
            raise NotificationError(f"SimulatedProvider: transient={transient!r} must be a number")
        if not 0.0 <= transient <= 1.0:
            raise NotificationError(f"SimulatedProvider: transient={transient!r} not in [0, 1]")
        check_seconds("SimulatedProvider", "rate", rate, high=1e12)
        check_seed("SimulatedProvider", seed)
        limit = PAYLOAD_LIMITS[channel] if payload_limit is None else payload_limit
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1 << 30:
            raise NotificationError(f"SimulatedProvider: payload_limit={limit!r} out of range")
        self.channel, self.transient, self.payload_limit = channel, float(transient), limit
        self._bucket = TokenBucket(rate, per=1.0, burst=max(1, int(min(rate, 1e9))), clock=clock)
        self._rng = random.Random(seed)
        self.invalid: set[str] = set()
        self.sent = 0

    def invalidate(self, token: str) -> None:
        """From now on ``token`` is unknown to the service (the app was uninstalled)."""
        check_name("SimulatedProvider.invalidate", "token", token)
        self.invalid.add(token)

    def attempt(self, token: str, body: str) -> str:
        """The service's answer to one message: ok, too-large, throttled, transient, invalid."""
        if not isinstance(token, str) or not isinstance(body, str):
            raise NotificationError(f"{self.channel}: token={token!r} and body must be strings")
        if token in self.invalid:
            return "invalid-token"
        if len(body) * 4 > self.payload_limit and len(body.encode()) > self.payload_limit:
            return "too-large"
        if not self._bucket.allow(self.channel):
            return "throttled"
        if self.transient and self._rng.random() < self.transient:
            return "transient"
        self.sent += 1
        return "ok"


def default_providers(
    clock: Clock | None = None, *, transient: float = 0.0, seed: int = 0
) -> dict[str, SimulatedProvider]:
    """APNs, FCM and email with their payload limits and generous rate limits."""
    return {
        ch: SimulatedProvider(ch, transient=transient, clock=clock, seed=seed + i)
        for i, ch in enumerate(CHANNELS)
    }


class DedupWindow:
    """Message ids delivered in the last ``window`` seconds; check and record in one step."""

    __slots__ = ("_seen", "clock", "window")

    def __init__(self, window: float = 86400.0, *, clock: Clock) -> None:
        self.window = check_seconds("DedupWindow", "window", window)
        self.clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    def deliver(self, message_id: str) -> bool:
        """Record ``message_id`` as delivered; False if it already was within the window."""
        if not isinstance(message_id, str) or not message_id:
            raise NotificationError(f"DedupWindow: message_id={message_id!r} must be a string")
        now = self.clock()
        seen = self._seen
        if message_id in seen:
            if now - seen[message_id] < self.window:
                return False
            del seen[message_id]
        seen[message_id] = now
        horizon = now - self.window
        while seen:
            first = next(iter(seen.values()))
            if first > horizon:
                break
            seen.popitem(last=False)
        return True

    def __len__(self) -> int:
        return len(self._seen)
