"""The outbox: a notification goes out if and only if the producer's transaction committed."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.notifications import Notification, NotificationError, Outbox, Pipeline


@settings(max_examples=30, deadline=None)
@given(
    orders=st.lists(st.tuples(st.booleans(), st.integers(0, 5)), min_size=1, max_size=12),
    crash=st.integers(0, 12),
)
def test_committed_orders_notify_once_rolled_back_never(
    tmp_path_factory: pytest.TempPathFactory, orders: list[tuple[bool, int]], crash: int
) -> None:
    box = Outbox(str(tmp_path_factory.mktemp("o") / "shop.db"))
    with box.transaction() as tx:
        tx.execute("CREATE TABLE orders (id TEXT)")
    p = Pipeline()
    p.templates.add("ship", "order {id} shipped")
    p.register_user("ada")
    p.add_device("ada", "fcm", "tok")
    committed = []
    for i, (commits, _) in enumerate(orders):
        try:
            with box.transaction() as tx:
                tx.execute("INSERT INTO orders VALUES (?)", (str(i),))
                box.add(tx, key=f"ship-{i}", template="ship", users=("ada",), vars={"id": str(i)},
                        channels=("fcm",))  # fmt: skip
                if not commits:
                    raise RuntimeError("rolled back")
            committed.append(f"ship-{i}")
        except RuntimeError:
            pass
    if crash:
        with contextlib.suppress(RuntimeError):
            box.relay(p, crash_after_accept=crash)
    box.relay(p)
    p.run()
    delivered = [r.key for r in p.receipts if r.status == "delivered"]
    assert delivered == committed  # in order, each once, none of the rolled back
    rows = box.db.execute("SELECT count(*) FROM orders").fetchone()[0]
    assert rows == len(committed) and box.pending() == 0


def test_add_outside_a_transaction_is_refused(tmp_path: Path) -> None:
    box = Outbox(str(tmp_path / "x.db"))
    with pytest.raises(NotificationError):
        box.add(box.db, key="k", template="t", users=("a",))
    assert box.pending() == 0
    assert isinstance(Notification("k", "t", ("a",)), Notification)
