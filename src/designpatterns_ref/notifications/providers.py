"""Simulated APNs, FCM and email: rate limits, payload limits, transient and permanent errors.

Case study: Design a Push Notification System (docs/case-studies/push-notifications.md)

Each :class:`SimulatedProvider` answers one message with one outcome, the way the real service
would: ``"ok"``; ``"too-large"`` above its payload limit (APNs and FCM take 4 KB); ``"throttled"``
past its own rate limit (a :class:`~designpatterns_ref.ratelimit.TokenBucket`, used through the
rate-limit family's public package); ``"transient"`` at random with probability ``transient``
(a 503, a timeout: try again later); ``"invalid-token"`` for a token the service no longer knows
(APNs 410 Unregistered, FCM UNREGISTERED: remove the device, never retry).

A delivery is guarded by a :class:`DedupWindow`, in three steps around the provider call:
:meth:`DedupWindow.claim` before it (``"delivered"`` if the id was delivered within ``window``
seconds: do not send; ``"busy"`` if another sender holds a live claim: try later; else
``"claimed"`` for ``lease`` seconds), :meth:`DedupWindow.confirm` after the provider's ok,
:meth:`DedupWindow.release` after a refusal. So a message served twice by an at-least-once queue
reaches the phone once. A sender that dies between claim and send loses nothing: its claim runs
out after ``lease`` and the replay sends. One window stays, as in every real system: a sender
that dies after the provider's ok and before ``confirm`` leaves a claim that runs out, and the
replay sends that message again (at least once: losing an alert is worse than repeating one).
The ``phone`` hook of :class:`SimulatedProvider` sees every message handed to a device, so tests
count what actually arrived.

Complexity: O(1) per message.

>>> from designpatterns_ref.clock import ManualClock
>>> apns = SimulatedProvider("apns", rate=1000, clock=ManualClock(), seed=1)
>>> apns.attempt("tok-1", "hello")
'ok'
>>> apns.invalidate("tok-1"); apns.attempt("tok-1", "hello")
'invalid-token'
>>> d = DedupWindow(clock=ManualClock())
>>> d.claim("n-1|tok-1"), d.claim("n-1|tok-1")
('claimed', 'busy')
>>> d.confirm("n-1|tok-1"); d.claim("n-1|tok-1")
'delivered'
"""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Callable

from designpatterns_ref.clock import Clock
from designpatterns_ref.notifications.base import (
    CHANNELS,
    NotificationError,
    check_callable,
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

    __slots__ = (
        "_bucket",
        "_rng",
        "channel",
        "invalid",
        "payload_limit",
        "phone",
        "sent",
        "transient",
    )

    def __init__(
        self,
        channel: str,
        *,
        rate: float = 1e9,
        transient: float = 0.0,
        payload_limit: int | None = None,
        clock: Clock | None = None,
        seed: int = 0,
        phone: Callable[[str, str], None] | None = None,
    ) -> None:
        if not isinstance(channel, str) or channel not in CHANNELS:
            raise NotificationError(f"SimulatedProvider: channel={channel!r} not in {CHANNELS}")
        if isinstance(transient, bool) or not isinstance(transient, int | float):
            raise NotificationError(f"SimulatedProvider: transient={transient!r} must be a number")
        if not 0.0 <= transient <= 1.0:
            raise NotificationError(f"SimulatedProvider: transient={transient!r} not in [0, 1]")
        check_seconds("SimulatedProvider", "rate", rate, high=1e12)
        check_seed("SimulatedProvider", seed)
        check_callable("SimulatedProvider", "clock", clock, optional=True)
        check_callable("SimulatedProvider", "phone", phone, optional=True)
        limit = PAYLOAD_LIMITS[channel] if payload_limit is None else payload_limit
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1 << 30:
            raise NotificationError(f"SimulatedProvider: payload_limit={limit!r} out of range")
        self.channel, self.transient, self.payload_limit = channel, float(transient), limit
        self._bucket = TokenBucket(rate, per=1.0, burst=max(1, int(min(rate, 1e9))), clock=clock)
        self._rng = random.Random(seed)
        self.invalid: set[str] = set()
        self.sent = 0
        #: Called with (token, body) for every message handed to a device (the phone's view).
        self.phone = phone

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
        if self.phone is not None:
            self.phone(token, body)
        return "ok"


def default_providers(
    clock: Clock | None = None,
    *,
    transient: float = 0.0,
    seed: int = 0,
    phone: Callable[[str, str], None] | None = None,
) -> dict[str, SimulatedProvider]:
    """APNs, FCM and email with their payload limits and generous rate limits.

    Channel ``i`` draws its failures from ``seed + i``; ``phone`` sees every message sent.
    """
    check_callable("default_providers", "clock", clock, optional=True)
    check_seed("default_providers", seed)
    if abs(seed) > 2**64 - len(CHANNELS):
        raise NotificationError(f"default_providers: seed={seed!r} must be within +-(2**64 - 3)")
    if isinstance(transient, bool) or not isinstance(transient, int | float):
        raise NotificationError(f"default_providers: transient={transient!r} must be a number")
    if not 0.0 <= transient <= 1.0:
        raise NotificationError(f"default_providers: transient={transient!r} not in [0, 1]")
    check_callable("default_providers", "phone", phone, optional=True)
    return {
        ch: SimulatedProvider(ch, transient=transient, clock=clock, seed=seed + i, phone=phone)
        for i, ch in enumerate(CHANNELS)
    }


class DedupWindow:
    """Message ids delivered in the last ``window`` seconds, and the claims of senders at work.

    ``claim`` before the provider call, ``confirm`` after its ok, ``release`` after a refusal;
    ``deliver`` is claim and confirm in one step. A claim lasts ``lease`` seconds.
    """

    __slots__ = ("_claims", "_seen", "clock", "lease", "window")

    def __init__(self, window: float = 86400.0, *, clock: Clock, lease: float = 30.0) -> None:
        self.window = check_seconds("DedupWindow", "window", window)
        self.lease = check_seconds("DedupWindow", "lease", lease, high=86400.0)
        check_callable("DedupWindow", "clock", clock)
        self.clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()  # id -> when confirmed
        self._claims: OrderedDict[str, float] = OrderedDict()  # id -> when the lease runs out

    def _now(self, where: str, message_id: object) -> float:
        if not isinstance(message_id, str) or not message_id:
            raise NotificationError(
                f"DedupWindow.{where}: message_id={message_id!r} must be a non-empty string"
            )
        now = self.clock()
        seen, claims, horizon = self._seen, self._claims, now - self.window
        while seen and next(iter(seen.values())) <= horizon:
            seen.popitem(last=False)
        while claims and next(iter(claims.values())) <= now:
            claims.popitem(last=False)
        return now

    def claim(self, message_id: str) -> str:
        """``"delivered"`` (within the window), ``"busy"`` (claimed by a live sender) or
        ``"claimed"`` (yours for ``lease`` seconds: send, then confirm or release)."""
        now = self._now("claim", message_id)
        if message_id in self._seen:
            return "delivered"
        if message_id in self._claims:
            return "busy"
        self._claims[message_id] = now + self.lease
        return "claimed"

    def confirm(self, message_id: str) -> None:
        """The provider said ok: ``message_id`` is delivered for ``window`` seconds."""
        now = self._now("confirm", message_id)
        self._claims.pop(message_id, None)
        self._seen.pop(message_id, None)
        self._seen[message_id] = now

    def release(self, message_id: str) -> None:
        """The provider refused: drop the claim so a retry can claim again."""
        self._now("release", message_id)
        self._claims.pop(message_id, None)

    def deliver(self, message_id: str) -> bool:
        """Claim and confirm in one step; False if delivered within the window or claimed."""
        if self.claim(message_id) != "claimed":
            return False
        self.confirm(message_id)
        return True

    def __len__(self) -> int:
        return len(self._seen)
