"""``dpref tour notifications``: a campaign through quiet hours, caps and a flaky provider; a
repeated request; a dead letter replayed; a transactional outbox that survives a crash."""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime

from designpatterns_ref.notifications.base import Notification
from designpatterns_ref.notifications.outbox import Outbox
from designpatterns_ref.notifications.pipeline import Pipeline
from designpatterns_ref.notifications.providers import default_providers
from designpatterns_ref.notifications.simulate import START, ZONES, campaign_pipeline, send_campaign

__all__ = ["tour"]


def tour(out: Callable[[str], None]) -> None:
    """Print the push-notification story in a few seconds."""
    start = datetime.fromtimestamp(START, UTC)
    out(f"It is {start:%Y-%m-%d %H:%M} UTC. 500 users in 5 time zones, quiet hours 22:00-07:00")
    out("local, at most 2 marketing messages per user, channel and day; providers fail 5%.")
    p = send_campaign(campaign_pipeline(users=500, seed=4), campaigns=3)
    for status in ("delivered", "deferred", "capped", "retry", "no-device", "dead-letter"):
        out(f"  {status:12} {p.counts[status]:5}")
    once = {(r.key, r.token) for r in p.receipts if r.status == "delivered"}
    total = sum(1 for r in p.receipts if r.status == "delivered")
    out(f"  {total} deliveries, {len(once)} distinct (notification, device): never twice.")
    assert p.quiet is not None
    asleep = [z for z in ZONES if p.quiet.is_quiet(START, z)]
    out(f"  Asleep at the start: {', '.join(asleep)}; their promotions waited for 07:00 there;")
    out("  the security alert (high lane) skipped quiet hours and caps.")

    out("The same request sent twice (a client retry) is accepted once:")
    again = Notification("promo-0", "promo", ("user0",), {"name": "a", "pct": "1"})
    out(f"  accept again -> {p.accept(again)}")

    out("A provider down for good: every attempt fails, backoff doubles, then a dead letter.")
    q = Pipeline(providers=default_providers(transient=1.0), max_attempts=4)
    q.templates.add("hi", "hi {name}")
    q.register_user("ada")
    q.add_device("ada", "fcm", "tok-ada")
    q.accept(Notification("n1", "hi", ("ada",), {"name": "Ada"}, ("fcm",)))
    q.run()
    times = [r.at for r in q.receipts]
    gaps = ", ".join(f"{b - a:.2f}s" for a, b in itertools.pairwise(times))
    out(f"  {[r.status for r in q.receipts]}, waits {gaps}")
    for prov in q.providers.values():
        prov.transient = 0.0
    out(f"  provider back; replay {q.replay_dead_letters()} dead letter(s) ->")
    q.run()
    out(f"  {q.receipts[-1].status}")

    out("The outbox: the order and its notification commit together, or neither does.")
    box = Outbox(os.path.join(tempfile.mkdtemp(prefix="dpref-outbox-"), "shop.db"))
    with box.transaction() as tx:
        tx.execute("CREATE TABLE orders (id TEXT)")
    try:
        with box.transaction() as tx:
            tx.execute("INSERT INTO orders VALUES ('o1')")
            box.add(tx, key="ship-o1", template="hi", users=("ada",), vars={"name": "Ada"})
            raise RuntimeError("payment declined")
    except RuntimeError:
        pass
    with box.transaction() as tx:
        tx.execute("INSERT INTO orders VALUES ('o2')")
        box.add(tx, key="ship-o2", template="hi", users=("ada",), vars={"name": "Ada"})
    out(f"  rolled-back order o1 and committed o2: {box.pending()} notification pending")
    try:
        box.relay(q, crash_after_accept=1)
    except RuntimeError as exc:
        out(f"  relay: {exc}; run it again ->")
    box.relay(q)
    q.run()
    sent = [r.key for r in q.receipts if r.key == "ship-o2" and r.status == "delivered"]
    out(f"  ship-o2 delivered {len(sent)} time(s)")
    box.close()
