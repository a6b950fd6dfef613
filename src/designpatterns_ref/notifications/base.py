"""The notification family's vocabulary: notifications, users, devices, receipts, the error.

Case study: Design a Push Notification System (docs/case-studies/push-notifications.md)

A :class:`Notification` is what a producer asks for (one idempotency key, a template and its
variables, the users, the channels, a priority lane). The pipeline turns it into one message per
device and records one :class:`Receipt` per outcome. Every check that a producer can fail is
made here, at accept time, so a refused notification enqueues nothing.

Complexity: validation is O(size of the notification).

>>> n = Notification("promo-1", "sale", users=("ada",), vars={"pct": "20"}, channels=("fcm",))
>>> n.lane, n.category
('normal', 'marketing')
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from designpatterns_ref.errors import DesignPatternsError, shown

__all__ = [
    "CHANNELS",
    "LANES",
    "OUTCOMES",
    "Deliverer",
    "Device",
    "Notification",
    "NotificationError",
    "QueueUnavailable",
    "Receipt",
    "User",
    "check_callable",
    "check_name",
    "check_seconds",
    "check_seed",
]

#: The channels a notification can go out on (Apple push, Firebase push, email).
CHANNELS = ("apns", "fcm", "email")
#: Priority lanes, served in this order: a security alert is never behind a campaign.
LANES = ("high", "normal")
#: Every status a receipt can carry.
OUTCOMES = (
    "delivered",
    "duplicate",
    "muted",
    "capped",
    "deferred",
    "expired",
    "collapsed",
    "invalid-token",
    "no-device",
    "retry",
    "dead-letter",
)
MAX_NAME = 200
MAX_TTL = 28 * 86400.0  # APNs and FCM both keep a message at most four weeks


class NotificationError(DesignPatternsError, ValueError):
    """A notification, user, device, queue or provider argument is not allowed."""


class QueueUnavailable(DesignPatternsError, ConnectionError):
    """A queue's or a dedup window's store (a SQLite file another writer holds, a Redis server
    that is down) could not serve the call: nothing was changed, and the same call may be tried
    again later."""


def check_name(where: str, name: str, value: object) -> str:
    """``value`` as a non-empty identifier string of at most 200 characters, valid UTF-8."""
    if not isinstance(value, str):
        raise NotificationError(f"{where}: {name}={shown(value)} must be a string")
    if not value or len(value) > MAX_NAME:
        raise NotificationError(
            f"{where}: {name}={shown(value[:40])} must have 1 to {MAX_NAME} chars"
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise NotificationError(f"{where}: {name}={shown(value)} is not valid UTF-8") from None
    if "|" in value:
        raise NotificationError(f"{where}: {name}={shown(value)} must not contain '|'")
    return value


def check_seed(where: str, seed: object) -> int:
    """A random seed: a plain int."""
    if isinstance(seed, bool) or not isinstance(seed, int) or abs(seed) > 2**64:
        raise NotificationError(f"{where}: seed={shown(seed)} must be an int")
    return seed


def check_callable(where: str, name: str, value: object, *, optional: bool = False) -> None:
    """``value`` is callable (a clock, a hook), or None when ``optional``."""
    if value is None and optional:
        return
    if not callable(value):
        allowed = "a callable or None" if optional else "a callable"
        raise NotificationError(f"{where}: {name}={shown(value)} must be {allowed}")


def check_seconds(where: str, name: str, value: object, *, high: float = MAX_TTL) -> float:
    """``value`` as a finite number of seconds in (0, high]."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise NotificationError(f"{where}: {name}={shown(value)} must be a number of seconds")
    if not (isinstance(value, int) and 0 < value <= high) and not (
        isinstance(value, float) and math.isfinite(value) and 0 < value <= high
    ):
        raise NotificationError(f"{where}: {name}={shown(value)} must be within (0, {high:g}]")
    return float(value)


class Deliverer(Protocol):
    """The dedup window that guards each provider call: one id at a time, or a take at a time.

    One id: :meth:`claim` before the provider call (``"delivered"``: sent within the window, do
    not send; ``"busy"``: another owner's claim is live, try after ``lease``; ``"claimed"``: it
    is this owner's for ``lease`` seconds), :meth:`confirm` after the provider's ok (the id is
    delivered for the window, whoever held the claim), :meth:`release` after a refusal (drops
    this owner's claim only). These are the readable reference.

    A take: :meth:`claim_many` answers as :meth:`claim` on each id in order (an id twice gets
    ``"busy"`` the second time); :meth:`extend` renews this owner's claims, answering for each
    id as :meth:`release` then :meth:`claim` would (``"claimed"``: still or again this owner's,
    for a fresh lease; ``"busy"``: another owner took it since; ``"delivered"``); :meth:`settle`
    is :meth:`confirm` on each of ``confirmed`` then :meth:`release` on each of ``released``.
    Every method refuses a bad id (or list of ids) with :class:`NotificationError` before it
    changes anything; a store that is down raises :class:`QueueUnavailable`, changing nothing.
    :class:`~.providers.DedupWindow` (in memory) and :class:`~.redis_dedup.RedisDedup` both
    implement all of it, so the :class:`~.send.Sender` runs one path on either.
    """

    lease: float

    def claim(self, message_id: str) -> str: ...

    def confirm(self, message_id: str) -> None: ...

    def release(self, message_id: str) -> None: ...

    def claim_many(self, message_ids: Sequence[str]) -> list[str]: ...

    def extend(self, message_ids: Sequence[str]) -> list[str]: ...

    def settle(self, confirmed: Sequence[str], released: Sequence[str]) -> None: ...


@dataclass(frozen=True, slots=True)
class Notification:
    """What a producer sends: one key, one template, its variables, to users on channels.

    ``key`` is the idempotency key (the same key twice is accepted once); ``lane`` is
    ``"high"`` (security, transactional: bypasses quiet hours and caps) or ``"normal"``;
    ``collapse_key`` lets a newer message replace an older undelivered one on the same device;
    ``ttl`` is how long the message stays worth delivering.
    """

    key: str
    template: str
    users: tuple[str, ...]
    vars: Mapping[str, str] = field(default_factory=dict)
    channels: tuple[str, ...] = ("apns", "fcm")
    lane: str = "normal"
    category: str = "marketing"
    collapse_key: str | None = None
    ttl: float = 86400.0


@dataclass(frozen=True, slots=True)
class User:
    """A recipient: time zone (IANA name), locale and what they muted (channels, categories)."""

    user_id: str
    tz: str = "UTC"
    locale: str = "en"
    muted: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Device:
    """A device token registered by a user on one channel (an address for email)."""

    user_id: str
    channel: str
    token: str


class Receipt(NamedTuple):
    """One outcome of one notification for one user (and device, once expanded).

    A named tuple, not a dataclass: the pipeline makes one per message, so it must be cheap.
    """

    key: str
    user: str
    token: str
    channel: str
    status: str
    at: float
    attempts: int = 0
