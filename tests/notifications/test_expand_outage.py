"""The expand stage after an outage: a retry neither spends a frequency cap twice nor gives one
message two fates.

A take of the accepted queue expands item after item; when the outgoing queue refuses an item's
messages (:class:`QueueUnavailable`: here a SQLite file that is full), the items expanded before
it are acked (their messages are queued) and the failed item has spent nothing: its cap units
and receipts count only once its messages are in. The retry, once the lease of the take runs
out, expands the failed item alone.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.notifications import (
    Notification,
    Pipeline,
    QueueUnavailable,
    SQLiteQueue,
)


def test_a_put_many_that_fails_midway_through_a_take_spends_no_cap_twice(tmp_path: Path) -> None:
    clock = ManualClock(1_780_000_000.0)
    accepted = SQLiteQueue(str(tmp_path / "accepted.db"), lease=30.0)
    out = SQLiteQueue(str(tmp_path / "out.db"))
    p = Pipeline(clock=clock, accepted=accepted, outgoing=out, caps={"fcm": 2})
    p.templates.add("hi", "Hello {x}")
    p.register_user("ada")
    p.add_device("ada", "fcm", "t-ada")
    p.register_user("bob")
    for i in range(30):
        p.add_device("bob", "fcm", f"t-bob-{i}")
    p.register_user("cy", muted=("fcm",))
    p.accept(Notification("k1", "hi", users=("ada",), vars={"x": "1"}, channels=("fcm",)))
    p.accept(
        Notification("k2", "hi", users=("ada", "bob", "cy"), vars={"x": "y" * 3000},
                     channels=("fcm",))
    )  # fmt: skip
    pages = int(out._db.execute("PRAGMA page_count").fetchone()[0])
    out._db.execute(f"PRAGMA max_page_count = {pages + 3}")  # room for k1's message only
    with pytest.raises(QueueUnavailable, match="full"):
        p.expand_batch()
    out._db.execute("PRAGMA max_page_count = 1073741823")
    p.run()  # k2 comes back once its lease runs out
    fates = Counter((r.key, r.user, r.status) for r in p.receipts)
    assert fates[("k1", "ada", "delivered")] == 1
    assert fates[("k2", "ada", "delivered")] == 1  # ada's cap is 2: both reach her
    assert fates[("k2", "cy", "muted")] == 1
    assert sum(fates.values()) == 1 + 1 + 30 + 1  # one fate each, none twice
    assert not p.limiters["fcm"].peek("ada")  # exactly two units spent: the cap is used up
    assert p.limiters["fcm"].peek("bob", 1) and not p.limiters["fcm"].peek("bob", 2)
