"""A store that fails at any write inside a take sends nothing twice and writes nothing twice.

One take holds a message of every fate that needs a write: one the provider takes (``t0``), one
it refuses for now (``t1``: a retry, put back in the queue), an invalid token (``t2``:
``on_invalid``), one too large (``t3``: a dead letter), one on a channel without a provider
(``t4``: a dead letter) and one another sender holds a claim on (``t5``: put back until that
claim's lease runs out). Its first provider call is slow, so the take also renews its claims
and the queue's hold on it mid-way. The store fails once, at one of those writes (on Redis the
server is paused past the client's deadline; on SQLite another writer holds the file; in memory
the write raises :class:`QueueUnavailable`), and the sender then runs on until its queue
drains. The oracle is what the take must end in whatever failed: each message reaches the
phone at most once, and each its one final fate (``t0``, ``t1`` and ``t5`` delivered, ``t2``
invalid, ``t3`` and ``t4`` dead letters), with ``on_invalid`` called once and one dead letter
each, no duplicate (a copy put back twice, or a delivered message served again), and nothing
left in the queue.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from designpatterns_ref.notifications import (
    DedupWindow,
    MemoryQueue,
    QueueUnavailable,
    Receipt,
    Sender,
    SQLiteQueue,
)

FINAL = {"k0": "delivered", "k1": "delivered", "k2": "invalid-token", "k3": "dead-letter",
         "k4": "dead-letter", "k5": "delivered"}  # fmt: skip
#: Every write of the take, in the order the sender makes them.
WRITES = ["claim_many", "extend", "renew", "on_invalid", "dead.put", "dead.put#2", "put",
          "put#2", "ack_settled"]  # fmt: skip
#: The writes a store of each kind can fail (an in-memory dedup window cannot).
BACKENDS = {
    "memory": WRITES,
    "sqlite": [w for w in WRITES if w not in ("claim_many", "extend")],
    "redis": WRITES,
}


def message(i: int) -> dict[str, Any]:
    return {"id": f"k{i}|t{i}", "key": f"k{i}", "user": "ada", "ch": "email" if i == 4 else "fcm",
            "tok": f"t{i}", "body": "hi", "lane": "normal", "ck": None, "exp": 1e12,
            "a": 0}  # fmt: skip


class Faults:
    """Counts the writes by name (``put``, ``put#2``, ...) and fails the one named ``target``,
    once, with ``fail()``."""

    def __init__(self, target: str | None, fail: Callable[[], None]) -> None:
        self.target, self.fail, self.seen = target, fail, Counter[str]()
        self.failed = False

    def hit(self, name: str) -> None:
        self.seen[name] += 1
        label = name if self.seen[name] == 1 else f"{name}#{self.seen[name]}"
        if label == self.target and not self.failed:
            self.failed = True
            self.fail()


class Provider:
    """``t0`` ok after a nap (the take renews its claims), ``t1`` transient the first time,
    ``t2`` an invalid token, ``t3`` too large, ``t5`` ok."""

    def __init__(self, nap: float) -> None:
        self.nap, self.phone, self.calls = nap, Counter[str](), Counter[str]()

    def attempt(self, token: str, body: str) -> str:
        self.calls[token] += 1
        if token == "t0" and self.calls[token] == 1:
            time.sleep(self.nap)
        if token == "t1" and self.calls[token] == 1:
            return "transient"
        answer = {"t2": "invalid-token", "t3": "too-large"}.get(token, "ok")
        if answer == "ok":
            self.phone[token] += 1
        return answer


def hooked(cls: type, faults: Faults, names: dict[str, str]) -> type:
    """``cls`` with ``faults.hit(label)`` before each method in ``names`` (method: label)."""

    def wrap(method: str, label: str) -> Any:
        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            faults.hit(label)
            return getattr(cls, method)(self, *args, **kwargs)

        return call

    return type(f"Hooked{cls.__name__}", (cls,), {m: wrap(m, n) for m, n in names.items()})


QUEUE_HOOKS = {"put": "put", "renew": "renew", "ack_settled": "ack_settled"}
DEDUP_HOOKS = {"claim_many": "claim_many", "extend": "extend"}


class Setup:
    """The sender of one backend, its phone, its receipts, and how to read what it wrote."""

    sender: Sender
    provider: Provider
    receipts: list[Receipt]
    dead_ids: Callable[[], list[str]]
    invalid: Callable[[], list[str]]
    pending: Callable[[], int]
    heal: Callable[[], None]  # end the failure (release the file; a pause ends by itself)


def _memory(faults: Faults, tmp_path: Path, url: str | None) -> Setup:
    def down() -> None:
        raise QueueUnavailable("the store is down")

    faults.fail = down
    st = Setup()
    out = hooked(MemoryQueue, faults, QUEUE_HOOKS)()
    dead = hooked(MemoryQueue, faults, {"put": "dead.put"})()
    window = hooked(DedupWindow, faults, DEDUP_HOOKS)(clock=time.time, lease=0.4)
    window.another_sender().claim("k5|t5")  # another sender holds t5
    invalid: list[str] = []

    def on_invalid(token: str) -> None:
        faults.hit("on_invalid")
        invalid.append(token)

    st.provider, st.receipts = Provider(nap=0.25), []
    st.sender = Sender({"fcm": st.provider}, window, out, dead, clock=time.time,
                       record=st.receipts.append, on_invalid=on_invalid, base=0.01,
                       cap=0.05)  # fmt: skip
    st.dead_ids = lambda: [item["id"] for _, item in dead.take(100, time.time())]
    st.invalid = lambda: invalid
    st.pending = lambda: len(out)
    st.heal = lambda: None
    return st


def _sqlite(faults: Faults, tmp_path: Path, url: str | None) -> Setup:
    path = str(tmp_path / "q.db")
    other = sqlite3.connect(path, isolation_level=None)

    def hold_the_file() -> None:
        other.execute("BEGIN IMMEDIATE")  # another writer holds the database

    faults.fail = hold_the_file
    st = Setup()
    out = hooked(SQLiteQueue, faults, QUEUE_HOOKS)(path, name="out", lease=0.3)
    dead = hooked(SQLiteQueue, faults, {"put": "dead.put"})(path, name="dead")
    invalid = SQLiteQueue(path, name="invalid")  # on_invalid writes to the same file
    for q in (out, dead, invalid):
        q._db.execute("PRAGMA busy_timeout=0")  # give up at once while the file is held
    window = DedupWindow(clock=time.time, lease=0.4)
    window.another_sender().claim("k5|t5")

    def on_invalid(token: str) -> None:
        faults.hit("on_invalid")
        invalid.put({"tok": token})

    st.provider, st.receipts = Provider(nap=0.2), []
    st.sender = Sender({"fcm": st.provider}, window, out, dead, clock=time.time,
                       record=st.receipts.append, on_invalid=on_invalid, base=0.01,
                       cap=0.05)  # fmt: skip
    st.dead_ids = lambda: [item["id"] for _, item in dead.take(100, time.time())]
    st.invalid = lambda: [item["tok"] for _, item in invalid.take(100, time.time())]
    st.pending = lambda: len(out)

    def heal() -> None:
        if other.in_transaction:
            other.execute("ROLLBACK")

    st.heal = heal
    return st


def _redis(faults: Faults, tmp_path: Path, url: str | None) -> Setup:
    import redis

    from designpatterns_ref.notifications.redis_dedup import RedisDedup
    from designpatterns_ref.notifications.redis_streams import RedisStreamQueue
    from designpatterns_ref.redisclient import bounded_client

    assert url is not None
    admin = redis.Redis.from_url(url)
    faults.fail = lambda: admin.client_pause(400, all=True)  # past the client's 0.2 s deadline
    name = f"o-{uuid.uuid4().hex[:8]}"
    r = bounded_client(url, deadline=0.2)
    st = Setup()
    out = hooked(RedisStreamQueue, faults, QUEUE_HOOKS)(r, f"{name}:out", claim_idle=0.3)
    dead = hooked(RedisStreamQueue, faults, {"put": "dead.put"})(r, f"{name}:dead")
    window = hooked(RedisDedup, faults, DEDUP_HOOKS)(r, name, lease=0.6)
    assert RedisDedup(url, name, lease=0.6).claim("k5|t5") == "claimed"  # another sender

    def on_invalid(token: str) -> None:  # as the worker's: a bare client error when down
        faults.hit("on_invalid")
        r.rpush(f"{name}:invalid", token)

    st.provider, st.receipts = Provider(nap=0.2), []
    st.sender = Sender({"fcm": st.provider}, window, out, dead, clock=time.time,
                       record=st.receipts.append, on_invalid=on_invalid, base=0.01,
                       cap=0.05)  # fmt: skip
    st.dead_ids = lambda: [item["id"] for _, item in dead.take(100, time.time())]
    st.invalid = lambda: [v.decode() for v in admin.lrange(f"{name}:invalid", 0, -1)]
    st.pending = lambda: int(out.pending()) + len(out)
    st.heal = lambda: time.sleep(0.45)  # the pause ends
    return st


MAKE = {"memory": _memory, "sqlite": _sqlite, "redis": _redis}


@pytest.fixture
def url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """A Redis server's URL for the Redis backend (flushed), None for the others."""
    if "redis" in request.node.callspec.id:
        yield request.getfixturevalue("redis_url")
    else:
        yield None


def _run(backend: str, target: str | None, tmp_path: Path, url: str | None) -> Setup:
    """The take with the store failing at ``target`` (None: never), then the sender until its
    queue drains and every message has its final fate."""
    faults = Faults(None, lambda: None)
    st = MAKE[backend](faults, tmp_path, url)
    out = st.sender.outgoing
    for i in range(6):
        out.put(message(i))
    faults.seen.clear()  # the writes of the take are counted from here
    faults.target = target
    try:
        st.sender.send_batch(64)
    except Exception:  # the failure asked for: QueueUnavailable, or on_invalid's own error
        assert target is not None and faults.failed
        st.heal()
    assert faults.failed == (target is not None), f"{target} is not a write of this take"
    deadline = time.monotonic() + 6.0
    while time.monotonic() < deadline:
        st.sender.send_batch(64)
        finals = {r.key: r.status for r in st.receipts if r.status != "retry"}
        if finals.keys() == FINAL.keys() and st.sender.unsettled is None and not st.pending():
            break
        time.sleep(0.02)
    time.sleep(0.7)  # past the claims' lease and claim_idle: a replayed take would be sent now
    while st.sender.send_batch(64):
        pass
    return st


@pytest.mark.parametrize(
    ("backend", "target"),
    [(b, w) for b, writes in BACKENDS.items() for w in [None, *writes]],
    ids=lambda v: str(v),
)
def test_a_store_failing_at_any_write_of_a_take_sends_and_writes_each_once(
    backend: str, target: str | None, tmp_path: Path, url: str | None
) -> None:
    st = _run(backend, target, tmp_path, url)
    assert st.provider.phone == {"t0": 1, "t1": 1, "t5": 1}
    finals = [(r.key, r.status) for r in st.receipts if r.status != "retry"]
    assert sorted(finals) == sorted(FINAL.items())  # one final fate each, no duplicate
    assert {r.key for r in st.receipts if r.status == "retry"} <= {"k1", "k5"}
    assert sorted(st.dead_ids()) == ["k3|t3", "k4|t4"]
    assert st.invalid() == ["t2"]
    assert st.sender.unsettled is None and st.pending() == 0
