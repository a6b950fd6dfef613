"""A channel the pipeline (or a sender) has no provider for: refused at accept, a dead letter at
send, never a bare KeyError that leaves a take in flight. A message its provider refuses as
malformed is a dead letter too: one bad message never stops the take around it (on Redis it
would come back to every worker in turn and stop each)."""

from __future__ import annotations

import pytest

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.notifications import (
    DedupWindow,
    MemoryQueue,
    Notification,
    NotificationError,
    Pipeline,
    Receipt,
)
from designpatterns_ref.notifications.providers import SimulatedProvider
from designpatterns_ref.notifications.send import Sender


def test_accept_refuses_a_channel_without_a_provider() -> None:
    clock = ManualClock(1_780_000_000.0)
    p = Pipeline(clock=clock, providers={"fcm": SimulatedProvider("fcm", clock=clock)})
    p.templates.add("hi", "Hello")
    p.register_user("ada")
    p.add_device("ada", "apns", "t-apns")
    n = Notification("k1", "hi", users=("ada",), channels=("fcm", "apns"))
    with pytest.raises(NotificationError, match=r"channel='apns' has no provider.*\('fcm',\)"):
        p.accept(n)
    assert len(p.accepted) == 0 and p.keys == set()
    assert p.accept(Notification("k1", "hi", users=("ada",), channels=("fcm",)))


def test_a_message_for_a_channel_without_a_provider_is_a_dead_letter() -> None:
    clock = ManualClock(1000.0)
    phone: list[str] = []
    fcm = SimulatedProvider("fcm", clock=clock, phone=lambda t, b: phone.append(t))
    out, dead, receipts = MemoryQueue(), MemoryQueue(), []
    sender = Sender({"fcm": fcm}, DedupWindow(clock=clock), out, dead, clock=clock,
                    record=receipts.append)  # fmt: skip
    for ch in ("apns", "fcm"):
        out.put({"id": f"k|t-{ch}", "key": "k", "user": "ada", "ch": ch, "tok": f"t-{ch}",
                 "body": "hi", "lane": "normal", "ck": None, "exp": 1e9, "a": 0})  # fmt: skip
    assert sender.send_batch() == 2
    assert [(r.channel, r.status) for r in receipts] == [
        ("apns", "dead-letter"),
        ("fcm", "delivered"),
    ]
    assert all(isinstance(r, Receipt) for r in receipts)
    assert phone == ["t-fcm"] and len(out) == 0
    assert [(m["ch"], m["why"]) for _, m in dead.take(10, 1000.0)] == [("apns", "no-provider")]


def test_a_message_the_provider_refuses_as_malformed_is_a_dead_letter() -> None:
    # put in the outgoing queue by something else than the pipeline, which refuses such a body
    clock = ManualClock(1000.0)
    phone: list[str] = []
    fcm = SimulatedProvider("fcm", clock=clock, phone=lambda t, b: phone.append(b))
    out, dead, receipts = MemoryQueue(), MemoryQueue(), []
    dedup = DedupWindow(clock=clock)
    sender = Sender({"fcm": fcm}, dedup, out, dead, clock=clock, record=receipts.append)
    for i, body in enumerate(["bad \ud800", "fine"]):
        out.put({"id": f"k{i}|t", "key": f"k{i}", "user": "ada", "ch": "fcm", "tok": "t",
                 "body": body, "lane": "normal", "ck": None, "exp": 1e9, "a": 0})  # fmt: skip
    assert sender.send_batch() == 2
    assert [r.status for r in receipts] == ["dead-letter", "delivered"]
    assert phone == ["fine"] and len(out) == 0
    assert [m["why"] for _, m in dead.take(10, 1000.0)] == ["malformed"]
    assert dedup.claim("k0|t") == "claimed"  # its claim was released: a fixed copy may be sent
