"""Push notifications: a staged pipeline that never sends twice and respects every cap.

Case study: Design a Push Notification System (docs/case-studies/push-notifications.md)

Accept (validation, idempotency key) -> expand (users, devices) -> filter (preferences, quiet
hours in the user's time zone, frequency caps) -> render (templates, locales) -> send (simulated
APNs, FCM and email with their own rate limits, payload limits and errors) -> record (receipts).
Queues between the stages share one interface: :class:`MemoryQueue`, :class:`SQLiteQueue` and
:class:`~designpatterns_ref.notifications.redis_streams.RedisStreamQueue` (Redis Streams with
consumer groups, imported lazily: it needs ``redis``). The frequency caps are limiters of
:mod:`designpatterns_ref.ratelimit`, used through its public package: this family uses another
on purpose. :class:`Outbox` enqueues a notification if and only if the producer's transaction
committed.

>>> from designpatterns_ref import notifications as nt
>>> p = nt.Pipeline()
>>> p.templates.add("otp", "Your code is {code}")
>>> p.register_user("bo"); p.add_device("bo", "apns", "t-bo")
>>> p.accept(nt.Notification("otp-1", "otp", ("bo",), {"code": "4711"}, ("apns",), lane="high"))
True
>>> p.run(); p.receipts[0].status
'delivered'
"""

from __future__ import annotations

from designpatterns_ref.notifications.base import (
    CHANNELS,
    LANES,
    OUTCOMES,
    Device,
    Notification,
    NotificationError,
    QueueUnavailable,
    Receipt,
    User,
)
from designpatterns_ref.notifications.outbox import Outbox
from designpatterns_ref.notifications.pipeline import Pipeline
from designpatterns_ref.notifications.providers import (
    PAYLOAD_LIMITS,
    DedupWindow,
    SimulatedProvider,
    default_providers,
)
from designpatterns_ref.notifications.queues import MemoryQueue, Queue, SQLiteQueue
from designpatterns_ref.notifications.quiet import QuietHours
from designpatterns_ref.notifications.send import Sender, backoff
from designpatterns_ref.notifications.templates import Templates

__all__ = [
    "CHANNELS",
    "LANES",
    "OUTCOMES",
    "PAYLOAD_LIMITS",
    "DedupWindow",
    "Device",
    "MemoryQueue",
    "Notification",
    "NotificationError",
    "Outbox",
    "Pipeline",
    "Queue",
    "QueueUnavailable",
    "QuietHours",
    "Receipt",
    "SQLiteQueue",
    "Sender",
    "SimulatedProvider",
    "Templates",
    "User",
    "backoff",
    "default_providers",
]
