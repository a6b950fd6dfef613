"""Delivered never goes back when a user signs in on another device, later messages wait
for every device, and a device logged out for good stops holding them at "sent"."""

from __future__ import annotations

import pytest

from designpatterns_ref.messaging import ChatServer, MessagingError, Receipts
from designpatterns_ref.messaging.base import MessagingTypeError


def test_a_new_device_keeps_delivered_and_detach_releases_the_next_message() -> None:
    s = ChatServer()
    s.join("trip", "ann"), s.join("trip", "bob")
    s.connect("bob", "phone", {})
    m1, _ = s.send("ann", "trip", "m1", "Train at 9?")
    s.ack("bob", "phone", "trip", m1.seq)
    assert s.receipt("trip", m1.seq).state == "delivered"
    s.connect("bob", "old-tablet", {}), s.disconnect("bob", "old-tablet")  # signs in once
    assert s.receipt("trip", m1.seq).state == "delivered"  # stays delivered
    m2, _ = s.send("ann", "trip", "m2", "ok?")
    s.ack("bob", "phone", "trip", m2.seq)
    assert s.receipt("trip", m2.seq).state == "sent"  # waits for the tablet too
    s.detach("bob", "old-tablet")  # logged out: no longer waited for
    assert s.receipt("trip", m2.seq).state == "delivered"
    assert s.receipts.devices("bob") == {"phone"} and s.online("bob") == ["phone"]
    assert s.receipts.acked("bob", "old-tablet", "trip") == 0  # its cursors are dropped


def test_a_device_registered_again_lowers_no_mark() -> None:
    r = Receipts()
    r.add_device("bob", "b1"), r.add_device("bob", "b2")
    r.ack("bob", "b1", "c", 3), r.ack("bob", "b2", "c", 3)
    r.remove_device("bob", "b2"), r.add_device("bob", "b2")  # back with no cursor
    r.ack("bob", "b1", "c", 4)
    assert r.delivered("bob", "c") == 3
    assert r.status("c", 3, sender="ann", members=["ann", "bob"]).state == "delivered"
    assert r.status("c", 4, sender="ann", members=["ann", "bob"]).state == "sent"
    r.ack("bob", "b2", "c", 5)
    assert r.delivered("bob", "c") == 4
    r.forget("c")
    assert r.delivered("bob", "c") == 0


def test_detach_refuses_unknown_devices_and_bad_ids_changing_nothing() -> None:
    s = ChatServer()
    s.join("c", "bob")
    s.connect("bob", "phone", {})
    before = (s.receipts.devices("bob"), s.online("bob"), dict(s.receipts._delivered))
    with pytest.raises(MessagingError, match=r"device='tablet'.*user='bob'"):
        s.detach("bob", "tablet")
    with pytest.raises(MessagingError, match=r"device='phone'.*user='cy'"):
        s.detach("cy", "phone")
    with pytest.raises(MessagingTypeError, match="device=7"):
        s.detach("bob", 7)  # type: ignore[arg-type]
    with pytest.raises(MessagingError, match="user=''"):
        s.detach("", "phone")
    assert (s.receipts.devices("bob"), s.online("bob"), dict(s.receipts._delivered)) == before
    s.detach("bob", "phone")
    with pytest.raises(MessagingError, match="device='phone'"):
        s.detach("bob", "phone")  # detached once: unknown now
