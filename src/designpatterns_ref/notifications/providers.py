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
The send stage works a take at a time: :meth:`DedupWindow.claim_many`, :meth:`DedupWindow.extend`
and :meth:`DedupWindow.settle` answer as the one-id calls would, the same protocol
(:class:`~.base.Deliverer`) as :class:`~.redis_dedup.RedisDedup`; each claim has an owner, and
:meth:`DedupWindow.another_sender` is a second sender's handle on the same window.
The ``phone`` hook of :class:`SimulatedProvider` sees every message handed to a device, so tests
count what actually arrived.

Complexity: O(1) per message, O(ids) per take-at-a-time call.

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
>>> d.claim_many(["n-2|tok-1", "n-1|tok-1", "n-2|tok-1"])
['claimed', 'delivered', 'busy']
>>> d.another_sender().extend(["n-2|tok-1", "n-3|tok-1"])  # another owner's claim: busy
['busy', 'claimed']
"""

from __future__ import annotations

import itertools
import random
from collections import OrderedDict
from collections.abc import Callable, Sequence

from designpatterns_ref.clock import Clock, read_seconds
from designpatterns_ref.errors import shown
from designpatterns_ref.notifications.base import (
    CHANNELS,
    NotificationError,
    check_callable,
    check_name,
    check_seconds,
    check_seed,
)
from designpatterns_ref.ratelimit import RateLimitError, TokenBucket

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
            raise NotificationError(
                f"SimulatedProvider: channel={shown(channel)} not in {CHANNELS}"
            )
        if isinstance(transient, bool) or not isinstance(transient, int | float):
            raise NotificationError(
                f"SimulatedProvider: transient={shown(transient)} must be a number"
            )
        if not 0.0 <= transient <= 1.0:
            raise NotificationError(
                f"SimulatedProvider: transient={shown(transient)} not in [0, 1]"
            )
        check_seconds("SimulatedProvider", "rate", rate, high=1e12)
        check_seed("SimulatedProvider", seed)
        check_callable("SimulatedProvider", "clock", clock, optional=True)
        check_callable("SimulatedProvider", "phone", phone, optional=True)
        limit = PAYLOAD_LIMITS[channel] if payload_limit is None else payload_limit
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1 << 30:
            raise NotificationError(f"SimulatedProvider: payload_limit={shown(limit)} out of range")
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
        """The service's answer to one message: ok, too-large, throttled, transient, invalid.

        A body that is not valid UTF-8 (a lone surrogate) is refused with
        :class:`NotificationError` whatever its length: no service could be sent it.
        """
        if not isinstance(token, str) or not isinstance(body, str):
            raise NotificationError(
                f"{self.channel}: token={shown(token)} and body must be strings"
            )
        if not body.isascii():  # O(1) on the common ASCII body; else one encode
            try:
                body.encode("utf-8")
            except UnicodeEncodeError:
                raise NotificationError(
                    f"{self.channel}: body={shown(body[:40])} is not valid UTF-8"
                ) from None
        if token in self.invalid:
            return "invalid-token"
        if len(body) * 4 > self.payload_limit and len(body.encode()) > self.payload_limit:
            return "too-large"
        try:
            allowed = self._bucket.allow(self.channel)
        except RateLimitError as exc:  # only its clock can fail: the key and cost are fixed
            raise NotificationError(f"{self.channel}: {exc}") from None
        if not allowed:
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
        raise NotificationError(
            f"default_providers: seed={shown(seed)} must be within +-(2**64 - 3)"
        )
    if isinstance(transient, bool) or not isinstance(transient, int | float):
        raise NotificationError(f"default_providers: transient={shown(transient)} must be a number")
    if not 0.0 <= transient <= 1.0:
        raise NotificationError(f"default_providers: transient={shown(transient)} not in [0, 1]")
    check_callable("default_providers", "phone", phone, optional=True)
    return {
        ch: SimulatedProvider(ch, transient=transient, clock=clock, seed=seed + i, phone=phone)
        for i, ch in enumerate(CHANNELS)
    }


class DedupWindow:
    """Message ids delivered in the last ``window`` seconds, and the claims of senders at work.

    ``claim`` before the provider call, ``confirm`` after its ok, ``release`` after a refusal;
    ``deliver`` is claim and confirm in one step. A claim lasts ``lease`` seconds. A take at a
    time, :meth:`claim_many`, :meth:`extend` and :meth:`settle` do the same for many ids, with
    the answers of :class:`~.redis_dedup.RedisDedup` (the protocol is
    :class:`~.base.Deliverer`). Each claim belongs to an owner, this handle's ``owner``:
    :meth:`another_sender` gives a second sender its own handle on the same window, as a second
    ``RedisDedup`` on the same prefix would be (each releases and renews only its own claims).
    """

    __slots__ = ("_claims", "_seen", "clock", "lease", "owner", "window")

    def __init__(self, window: float = 86400.0, *, clock: Clock, lease: float = 30.0) -> None:
        self.window = check_seconds("DedupWindow", "window", window)
        self.lease = check_seconds("DedupWindow", "lease", lease, high=86400.0)
        check_callable("DedupWindow", "clock", clock)
        self.clock = clock
        self.owner = next(_OWNERS)
        self._seen: OrderedDict[str, float] = OrderedDict()  # id -> when confirmed
        # id -> (when the lease runs out, owner); in the order the leases run out
        self._claims: OrderedDict[str, tuple[float, int]] = OrderedDict()

    def another_sender(self) -> DedupWindow:
        """A handle on this same window (same deliveries, same claims) with its own owner."""
        other = DedupWindow(self.window, clock=self.clock, lease=self.lease)
        other._seen, other._claims = self._seen, self._claims
        return other

    @staticmethod
    def _check(where: str, label: str, message_id: object) -> str:
        if isinstance(message_id, str) and message_id.isascii() and message_id:
            return message_id  # the usual id: ASCII is valid UTF-8
        if not isinstance(message_id, str) or not message_id:
            raise NotificationError(
                f"DedupWindow.{where}: {label}={shown(message_id)} must be a non-empty string"
            )
        try:
            message_id.encode("utf-8")
        except UnicodeEncodeError:
            raise NotificationError(
                f"DedupWindow.{where}: {label}={shown(message_id)} is not valid UTF-8"
            ) from None
        return message_id

    def _ids(self, where: str, label: str, message_ids: object) -> list[str]:
        if not isinstance(message_ids, list | tuple):
            raise NotificationError(
                f"DedupWindow.{where}: {label}={shown(message_ids)} must be a list of ids"
            )
        return [self._check(where, f"{label}[{i}]", m) for i, m in enumerate(message_ids)]

    def _now(self) -> float:
        """The clock's time, after forgetting deliveries and claims that ran out."""
        now = read_seconds(self.clock, NotificationError, "DedupWindow")
        seen, claims, horizon = self._seen, self._claims, now - self.window
        while seen and next(iter(seen.values())) <= horizon:
            seen.popitem(last=False)
        while claims and next(iter(claims.values()))[0] <= now:
            claims.popitem(last=False)
        return now

    def _held(self, message_id: str, now: float) -> int | None:
        """The owner of a live claim on ``message_id``, or None."""
        held = self._claims.get(message_id)
        return held[1] if held is not None and held[0] > now else None

    def _claim(self, message_id: str, now: float) -> str:
        if message_id in self._seen:
            return "delivered"
        claims = self._claims
        held = claims.get(message_id)
        if held is not None:
            if held[0] > now:
                return "busy"
            del claims[message_id]  # ran out: claimed afresh, at the end of the lease order
        claims[message_id] = (now + self.lease, self.owner)
        return "claimed"

    def _confirm(self, message_id: str, now: float) -> None:
        self._claims.pop(message_id, None)
        self._seen.pop(message_id, None)
        self._seen[message_id] = now

    def _release(self, message_id: str, now: float) -> None:
        if self._held(message_id, now) == self.owner:
            del self._claims[message_id]

    def claim(self, message_id: str) -> str:
        """``"delivered"`` (within the window), ``"busy"`` (claimed by a live sender) or
        ``"claimed"`` (yours for ``lease`` seconds: send, then confirm or release)."""
        self._check("claim", "message_id", message_id)
        return self._claim(message_id, self._now())

    def confirm(self, message_id: str) -> None:
        """The provider said ok: ``message_id`` is delivered for ``window`` seconds."""
        self._check("confirm", "message_id", message_id)
        self._confirm(message_id, self._now())

    def release(self, message_id: str) -> None:
        """The provider refused: drop this owner's claim so a retry can claim again (never
        another owner's claim, never a delivery)."""
        self._check("release", "message_id", message_id)
        self._release(message_id, self._now())

    def claim_many(self, message_ids: Sequence[str]) -> list[str]:
        """:meth:`claim` on each id in order (an id twice: ``"busy"`` the second time)."""
        ids = self._ids("claim_many", "message_ids", message_ids)
        now = self._now()
        return [self._claim(i, now) for i in ids]

    def extend(self, message_ids: Sequence[str]) -> list[str]:
        """Renew this owner's claims on ``message_ids`` for another ``lease``: ``"claimed"``
        (still or again yours: a claim that ran out and that nobody took is made afresh),
        ``"busy"`` (another owner claimed it since) or ``"delivered"``."""
        ids = self._ids("extend", "message_ids", message_ids)
        now = self._now()
        out = []
        for i in ids:
            if i in self._seen:
                out.append("delivered")
            elif self._held(i, now) not in (None, self.owner):
                out.append("busy")
            else:  # moved to the end: the claims stay in the order their leases run out
                self._claims.pop(i, None)
                self._claims[i] = (now + self.lease, self.owner)
                out.append("claimed")
        return out

    def settle(self, confirmed: Sequence[str], released: Sequence[str]) -> None:
        """:meth:`confirm` each of ``confirmed``, then :meth:`release` each of ``released``."""
        sent = self._ids("settle", "confirmed", confirmed)
        dropped = self._ids("settle", "released", released)
        now = self._now()
        for i in sent:
            self._confirm(i, now)
        for i in dropped:
            self._release(i, now)

    def deliver(self, message_id: str) -> bool:
        """Claim and confirm in one step; False if delivered within the window or claimed."""
        if self.claim(message_id) != "claimed":
            return False
        self.confirm(message_id)
        return True

    def __len__(self) -> int:
        return len(self._seen)


_OWNERS = itertools.count(1)  # each DedupWindow handle's owner number
