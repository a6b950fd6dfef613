"""How a take ends when its hooks or its queues do something unusual, on every backend.

An ``on_invalid`` hook with a fault of its own (an error that is not the store down) is logged
and that token skipped: it never keeps the take unsettled, so the other devices' messages still
go out. A queue written to the protocol before ``renew`` (put, take, ack, ack_settled, ...) is
still a queue: the sender and the pipeline take it, and a long take renews only the claims. A
refused ``send_batch`` (a bad ``n``) leaves a take left unsettled by an outage as it was. A late
``renew`` (its hold ran out and another taker took the take over) never takes work back. A
provider that keeps raising (a connection error) fails that message only, as a transient answer
would: retried, counted, dead-lettered, logged; the take goes on. An unsettled take still
unpacks as ``tickets, confirmed, released, receipts``.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from designpatterns_ref.notifications import (
    DedupWindow,
    MemoryQueue,
    NotificationError,
    QueueUnavailable,
    Sender,
    SQLiteQueue,
)
from designpatterns_ref.notifications.providers import SimulatedProvider
from designpatterns_ref.notifications.queues import check_queue

BACKENDS = ["memory", "sqlite", "redis"]


def message(i: int, tok: str | None = None) -> dict[str, Any]:
    return {"id": f"k{i}|t{i}", "key": f"k{i}", "user": "u", "ch": "fcm", "tok": tok or f"t{i}",
            "body": f"m{i}", "lane": "normal", "ck": None, "exp": 1e12, "a": 0}  # fmt: skip


def _queues(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> tuple[Any, Any]:
    """The outgoing and dead-letter queues of one backend (a taken item held 30 s)."""
    if backend == "memory":
        return MemoryQueue(), MemoryQueue()
    if backend == "sqlite":
        path = str(tmp_path / "q.db")
        return SQLiteQueue(path, name="out", lease=30.0), SQLiteQueue(path, name="dead")
    from designpatterns_ref.notifications.redis_streams import RedisStreamQueue

    url, name = request.getfixturevalue("redis_url"), f"s-{uuid.uuid4().hex[:8]}"
    return (RedisStreamQueue(url, f"{name}:out", claim_idle=30.0),
            RedisStreamQueue(url, f"{name}:dead"))  # fmt: skip


def _sender(out: Any, dead: Any, phone: Counter[str], **kw: Any) -> Sender:
    provider = SimulatedProvider("fcm", phone=lambda tok, body: phone.update([body]))
    provider.invalidate("legacy")
    return Sender({"fcm": provider}, DedupWindow(clock=time.time, lease=30.0), out, dead,
                  clock=time.time, record=lambda r: None, **kw)  # fmt: skip


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_on_invalid_that_fails_for_one_token_never_stops_the_others(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> None:
    out, dead = _queues(backend, tmp_path, request)
    calls: list[str] = []

    def on_invalid(token: str) -> None:  # a hook with a bug for one kind of token
        calls.append(token)
        raise KeyError(token)

    phone: Counter[str] = Counter()
    sender = _sender(out, dead, phone, on_invalid=on_invalid)
    out.put(message(1, "legacy"))
    for i in range(2, 6):
        out.put(message(i))
    with caplog.at_level(logging.ERROR, logger="designpatterns_ref.notifications"):
        taken = [sender.send_batch(1) for _ in range(6)]
    assert taken == [1, 1, 1, 1, 1, 0]
    assert phone == {f"m{i}": 1 for i in range(2, 6)}
    assert calls == ["legacy"] and sender.unsettled is None and len(out) == 0
    assert any("legacy" in r.getMessage() and r.exc_info for r in caplog.records)


class OldQueue:
    """A queue of the protocol before ``renew``: every other method, passed on to ``inner``."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        if name == "renew":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def __len__(self) -> int:
        return len(self.inner)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_queue_without_renew_is_still_a_queue(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    out, dead = (OldQueue(q) for q in _queues(backend, tmp_path, request))
    check_queue("Pipeline", "outgoing", out)
    phone: Counter[str] = Counter()
    provider = SimulatedProvider(
        "fcm", phone=lambda tok, body: (time.sleep(0.06), phone.update([body]))
    )
    sender = Sender({"fcm": provider}, DedupWindow(clock=time.time, lease=0.1), out, dead,
                    clock=time.time, record=lambda r: None)  # fmt: skip
    for i in range(4):  # 0.24 s of sends: the claims are renewed mid-take
        out.put(message(i))
    assert sender.send_batch(10) == 4
    assert phone == {f"m{i}": 1 for i in range(4)} and len(out) == 0


class Faulty:
    """``inner`` with ``ack_settled`` failing while ``down`` (the store down at the settle)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.down = inner, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def __len__(self) -> int:
        return len(self.inner)

    def ack_settled(self, *args: Any) -> None:
        if self.down:
            raise QueueUnavailable("the store is down")
        self.inner.ack_settled(*args)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n", [0, -1, 1.5, True, 10**7])
def test_a_refused_send_batch_leaves_the_unsettled_take_as_it_was(
    backend: str, n: Any, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    inner, dead = _queues(backend, tmp_path, request)
    out = Faulty(inner)
    phone: Counter[str] = Counter()
    sender = _sender(out, dead, phone)
    out.put(message(1))
    out.down = True
    with pytest.raises(QueueUnavailable):
        sender.send_batch(10)
    out.down = False
    before = sender.unsettled
    with pytest.raises(NotificationError, match=r"n=.* must be an int"):
        sender.send_batch(n)
    assert sender.unsettled is before and before is not None
    assert before.tickets and before.confirmed == ["k1|t1"]
    assert sender.send_batch(10) == 0 and sender.unsettled is None and phone == {"m1": 1}


def test_a_late_sqlite_renew_leaves_another_takers_lease_as_it_is(tmp_path: Path) -> None:
    path = str(tmp_path / "q.db")
    a, b = SQLiteQueue(path, lease=10.0), SQLiteQueue(path, lease=10.0)
    a.put({"n": 1})
    [(ticket, _)] = a.take(1, 100.0)
    a.renew([ticket], 105.0)  # its own lease: renewed, to 115
    assert a.take(1, 112.0) == [] and b.take(1, 112.0) == []
    assert [t for t, _ in b.take(1, 115.0)] == [ticket]  # a's lease ran out: b takes it, to 125
    a.renew([ticket], 118.0)  # a's late renewal
    assert b.next_due() == 125.0  # b's lease, not pushed out to 128
    b.put({"n": 2})
    [(other, _)] = b.take(1, 120.0)
    a.renew([other], 121.0)  # a ticket a never had
    assert [t for t, _ in a.take(5, 125.0)] == [ticket]  # only the row whose lease ran out
    assert [t for t, _ in a.take(5, 130.0)] == [other]


def test_a_late_redis_renew_leaves_another_consumers_entries_as_they_are(
    redis_url: str,
) -> None:
    from designpatterns_ref.notifications.redis_streams import RedisStreamQueue

    name = f"r-{uuid.uuid4().hex[:8]}"
    a, b = (RedisStreamQueue(redis_url, name, consumer=c, claim_idle=0.2) for c in ("a", "b"))

    def owners() -> list[str]:
        return sorted(
            p["consumer"].decode()
            for s in RedisStreamQueue.streams(name)
            for p in a.r.xpending_range(s, a.group, "-", "+", 10)
        )

    a.put({"n": 1})
    [(ticket, _)] = a.take(1, time.time())
    a.renew([ticket], time.time())  # its own entry: renewed, still a's
    assert owners() == ["a"]
    time.sleep(0.3)
    assert [t for t, _ in b.take(1, time.time())] == [ticket]  # idle past claim_idle: b's now
    a.renew([ticket], time.time())  # a's late renewal
    assert owners() == ["b"]
    b.put({"n": 2})
    [(other, _)] = b.take(1, time.time())
    a.renew([other], time.time())  # an entry a never had
    assert owners() == ["b", "b"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_provider_that_keeps_raising_never_stops_the_take(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> None:
    """A provider call that raises (a client's connection error, a bug) is a transient failure
    of that message: retried with backoff, counted, dead-lettered after ``max_attempts``, and
    logged with its traceback; the take goes on and ``send_batch`` never raises it."""
    out, dead = _queues(backend, tmp_path, request)
    dedup: Any = DedupWindow(clock=time.time, lease=30.0)
    if backend == "redis":
        from designpatterns_ref.notifications.redis_dedup import RedisDedup

        dedup = RedisDedup(out.r, f"d-{uuid.uuid4().hex[:8]}", lease=30.0)
    phone: Counter[str] = Counter()

    class Broken(SimulatedProvider):
        def attempt(self, token: str, body: str) -> str:
            if token == "t2":  # a client that always fails on this device
                raise ConnectionError("the provider's socket is gone")
            return super().attempt(token, body)

    receipts: list[Any] = []
    provider = Broken("fcm", phone=lambda tok, body: phone.update([body]))
    sender = Sender({"fcm": provider}, dedup, out, dead, clock=time.time, record=receipts.append,
                    max_attempts=3, base=0.01, cap=0.01)  # fmt: skip
    for i in range(1, 4):
        out.put(message(i))
    with caplog.at_level(logging.ERROR, logger="designpatterns_ref.notifications"):
        assert sender.send_batch(10) == 3  # m2 fails; m1 and m3 go out in the same take
        deadline = time.monotonic() + 10
        while len(receipts) < 5 and time.monotonic() < deadline:
            sender.send_batch(10)
            time.sleep(0.005)
    assert sender.unsettled is None and len(out) == 0
    assert phone == {"m1": 1, "m3": 1}
    assert sorted((r.key, r.status, r.attempts) for r in receipts) == [
        ("k1", "delivered", 1), ("k2", "dead-letter", 3), ("k2", "retry", 1), ("k2", "retry", 2),
        ("k3", "delivered", 1)]  # fmt: skip
    [(_, letter)] = dead.take(10, time.time())
    assert (letter["key"], letter["a"], letter["why"]) == ("k2", 3, "provider-error")
    failures = [r for r in caplog.records if "k2|t2" in r.getMessage()]
    assert len(failures) == 3 and all(r.exc_info for r in failures)
    assert all(isinstance(r.exc_info[1], ConnectionError) for r in failures if r.exc_info)
    assert dedup.claim_many(["k2|t2"]) == ["claimed"]  # its claims were released each time


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_unsettled_take_unpacks_as_the_four_tuple_it_was(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    inner, dead = _queues(backend, tmp_path, request)
    out = Faulty(inner)
    sender = _sender(out, dead, Counter())
    out.put(message(1))
    out.down = True
    with pytest.raises(QueueUnavailable):
        sender.send_batch(10)
    assert sender.unsettled is not None
    tickets, confirmed, released, receipts = sender.unsettled
    assert tickets == sender.unsettled.tickets and len(tickets) == 1
    assert (confirmed, released) == (["k1|t1"], [])
    assert [(r.key, r.status) for r in receipts] == [("k1", "delivered")]
