"""A campaign on simulated users across time zones: what the tour, the plots and benchmarks run.

Case study: Design a Push Notification System (docs/case-studies/push-notifications.md)

:func:`campaign_pipeline` registers ``users`` users spread over a few time zones and locales,
each with one to three devices, on a pipeline with quiet hours (22:00 to 07:00 local), daily
caps and providers that fail transiently with probability ``transient``. :func:`send_campaign`
then accepts ``campaigns`` marketing notifications to everyone (plus a security alert on the
high lane) and runs the pipeline dry on its ManualClock. Deterministic for a given seed.

Complexity: O(users x devices x campaigns).

>>> p = send_campaign(campaign_pipeline(users=30, seed=1), campaigns=2)
>>> p.counts["delivered"] > 0 and len(p.outgoing) == 0
True
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

from designpatterns_ref.clock import Clock, ManualClock
from designpatterns_ref.errors import shown
from designpatterns_ref.notifications.base import Notification, NotificationError
from designpatterns_ref.notifications.pipeline import Pipeline
from designpatterns_ref.notifications.providers import default_providers
from designpatterns_ref.notifications.queues import Queue
from designpatterns_ref.notifications.quiet import QuietHours

__all__ = ["START", "ZONES", "campaign_pipeline", "send_campaign"]

#: Where the simulated clock starts: 2026-03-07 20:00 UTC, the evening before US DST begins.
START = datetime(2026, 3, 7, 20, 0, tzinfo=UTC).timestamp()
ZONES = ("America/New_York", "Europe/London", "Asia/Kolkata", "Australia/Sydney", "UTC")


def campaign_pipeline(
    *,
    users: int = 1000,
    transient: float = 0.05,
    cap: int = 2,
    quiet: bool = True,
    seed: int = 0,
    devices: int = 3,
    outgoing: Queue | None = None,
    accepted: Queue | None = None,
    keep_receipts: bool = True,
    clock: Clock | None = None,
) -> Pipeline:
    """A pipeline with ``users`` users, their devices, templates in two locales and caps
    (on a ManualClock at :data:`START` unless ``clock`` is given)."""
    if isinstance(users, bool) or not isinstance(users, int) or not 1 <= users <= 10_000_000:
        raise NotificationError(f"campaign_pipeline: users={shown(users)} must be 1..10**7")
    if isinstance(devices, bool) or not isinstance(devices, int) or not 1 <= devices <= 100:
        raise NotificationError(f"campaign_pipeline: devices={shown(devices, 40)} must be 1..100")
    clock = clock if clock is not None else ManualClock(START)
    p = Pipeline(
        clock=clock,
        providers=default_providers(clock, transient=transient, seed=seed),
        caps={"apns": cap, "fcm": cap, "email": cap},
        quiet=QuietHours("22:00", "07:00") if quiet else None,
        outgoing=outgoing,
        accepted=accepted,
        keep_receipts=keep_receipts,
        seed=seed,
    )
    p.templates.add("promo", "{name}, {pct}% off everything today")
    p.templates.add("promo", "{name}, -{pct} % sur tout aujourd'hui", locale="fr")
    p.templates.add("alert", "New sign-in to your account from {where}")
    rng = random.Random(seed)
    kinds = ("apns", "fcm", "email")
    for i in range(users):
        uid = f"user{i}"
        p.register_user(uid, tz=rng.choice(ZONES), locale=rng.choice(("en", "en", "fr")))
        for d in range(1 + rng.randrange(devices)):
            p.add_device(uid, kinds[d % 3], f"{uid}-{kinds[d % 3]}-{d}")
    return p


def send_campaign(p: Pipeline, *, campaigns: int = 3, alert: bool = True) -> Pipeline:
    """Accept ``campaigns`` promotions (1..100) to every user and one alert, then run the
    pipeline dry."""
    if not isinstance(p, Pipeline):
        raise NotificationError(f"send_campaign: p={shown(p, 60)} must be a Pipeline")
    if isinstance(campaigns, bool) or not isinstance(campaigns, int) or not 1 <= campaigns <= 100:
        raise NotificationError(
            f"send_campaign: campaigns={shown(campaigns, 40)} must be an int in 1..100"
        )
    if not isinstance(alert, bool):
        raise NotificationError(f"send_campaign: alert={shown(alert, 40)} must be a bool")
    everyone = tuple(p.users)
    for c in range(campaigns):
        p.accept(
            Notification(
                f"promo-{c}",
                "promo",
                everyone,
                {"name": "friend", "pct": str(10 + 5 * c)},
                ("apns", "fcm", "email"),
            )
        )
    if alert:
        p.accept(
            Notification(
                "alert-1",
                "alert",
                everyone[:1],
                {"where": "Lisbon"},
                ("apns", "fcm", "email"),
                lane="high",
                category="security",
            )
        )
    p.run()
    return p
