"""``Pipeline.run`` on every queue kind: retries wait in the queue, and the run waits for them.

``run`` jumps a ManualClock to the earliest ``next_due`` of its queues when a round moves
nothing, so the delayed retries of a transient failure are sent on every queue kind, not only
on the in-memory one. The memory queue is the reference; SQLite and Redis Streams (on a real
server) must deliver the same messages and leave every queue empty.
"""

from __future__ import annotations

import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.notifications import (
    MemoryQueue,
    Notification,
    Pipeline,
    SQLiteQueue,
    default_providers,
)

T0 = 1_780_000_000.0
TERMINAL = {"delivered", "dead-letter", "invalid-token", "expired", "collapsed"}


def queues(kind: str, where: Path, redis_url: str | None) -> dict[str, Any]:
    if kind == "memory":
        return {}
    if kind == "sqlite":
        return {s: SQLiteQueue(str(where / f"{s}.db")) for s in ("accepted", "outgoing", "dead")}
    from designpatterns_ref.notifications.redis_streams import RedisStreamQueue

    name = f"run-{uuid.uuid4().hex[:10]}"
    return {s: RedisStreamQueue(redis_url, f"{name}:{s}") for s in ("accepted", "outgoing", "dead")}


def run(kind: str, where: Path, redis_url: str | None, users: int, transient: float,
        max_attempts: int, seed: int) -> tuple[Pipeline, set[tuple[str, str]]]:  # fmt: skip
    clock = ManualClock(T0)
    p = Pipeline(
        clock=clock,
        providers=default_providers(clock, transient=transient, seed=seed),
        max_attempts=max_attempts,
        **queues(kind, where, redis_url),
    )
    p.templates.add("t", "hi")
    for i in range(users):
        p.register_user(f"u{i}")
        p.add_device(f"u{i}", "fcm", f"tok{i}")
    p.accept(Notification("k", "t", users=tuple(f"u{i}" for i in range(users)), channels=("fcm",)))
    p.run(batch=64)
    delivered = {(r.key, r.token) for r in p.receipts if r.status == "delivered"}
    return p, delivered


def fates(p: Pipeline) -> Counter[str]:
    return Counter(r.status for r in p.receipts if r.status in TERMINAL)


KINDS = ["sqlite", "redis"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("transient", "max_attempts"),
    [(0.5, 60), (1.0, 3), (0.0, 5)],
    ids=["retries-then-delivered", "all-dead-lettered", "no-failure"],
)
def test_every_queue_kind_runs_to_the_same_end_as_the_memory_queue(
    tmp_path: Path, redis_url: str, kind: str, transient: float, max_attempts: int
) -> None:
    # 20 devices, half the provider calls fail; the SQLite run used to stop
    # at the first delayed retry with 12 messages left in its outgoing queue.
    ref, ref_delivered = run("memory", tmp_path, None, 20, transient, max_attempts, seed=3)
    p, delivered = run(kind, tmp_path, redis_url, 20, transient, max_attempts, seed=3)
    assert delivered == ref_delivered
    assert fates(p) == fates(ref)
    assert sum(fates(p).values()) == 20  # every message has exactly one final fate
    assert (len(p.accepted), len(p.outgoing)) == (0, 0)
    assert len(p.dead) == len(ref.dead) == fates(ref)["dead-letter"]
    if transient == 0.5:
        assert len(delivered) == 20  # 60 attempts at one half: none is left undelivered
        assert Counter(r.status for r in p.receipts)["retry"] > 0  # the run waited for retries


@settings(max_examples=15, deadline=None)
@given(users=st.integers(1, 12), transient=st.sampled_from([0.3, 0.7, 1.0]),
       seed=st.integers(0, 1000))  # fmt: skip
@example(users=1, transient=1.0, seed=0)
def test_sqlite_run_matches_the_memory_run(
    tmp_path_factory: pytest.TempPathFactory, users: int, transient: float, seed: int
) -> None:
    where = tmp_path_factory.mktemp("run")
    max_attempts = 3 if transient == 1.0 else 80
    ref, ref_delivered = run("memory", where, None, users, transient, max_attempts, seed)
    p, delivered = run("sqlite", where, None, users, transient, max_attempts, seed)
    assert delivered == ref_delivered
    assert fates(p) == fates(ref) and sum(fates(p).values()) == users
    assert (len(p.accepted), len(p.outgoing)) == (0, 0)


ops = st.lists(
    st.one_of(
        st.tuples(st.just("put"), st.sampled_from([0.0, 5.0, 9.0, 20.0])),
        st.tuples(st.just("take"), st.sampled_from([1.0, 6.0, 10.0, 25.0, 40.0])),
        st.tuples(st.just("ack"), st.just(0.0)),
    ),
    max_size=30,
)


@settings(max_examples=40, deadline=None)
@given(script=ops)
@example(script=[("put", 0.0), ("take", 1.0), ("put", 20.0)])  # a lease ends before the delay
def test_sqlite_next_due_is_when_a_take_first_gets_something(
    tmp_path_factory: pytest.TempPathFactory, script: list[tuple[str, float]]
) -> None:
    """Model: each unacked row is takeable from max(its due time, the end of its lease)."""
    q = SQLiteQueue(str(tmp_path_factory.mktemp("q") / "q.db"), lease=10.0)
    rows: dict[int, list[float]] = {}  # id -> [at, lease end]
    held: list[Any] = []
    now, seq = 0.0, 0
    for op, t in script:
        if op == "put":
            seq += 1
            q.put({"seq": seq}, at=t)
            rows[seq] = [t, 0.0]
        elif op == "take":
            now = max(now, t)
            for ticket, item in q.take(1, now):
                rows[item["seq"]][1] = now + 10.0
                held.append((ticket, item["seq"]))
        else:
            q.ack([ticket for ticket, _ in held])
            for _, s in held:
                del rows[s]
            held = []
        expected = min((max(at, end) for at, end in rows.values()), default=None)
        assert q.next_due() == expected
        if expected is not None and expected > now:
            assert q.take(1, now) == []  # nothing takeable before it ...
            assert len(q.take(1, expected)) == 1  # ... and something at it
            q.close()
            return  # the probe leased a row: the model ends here


def test_next_due_of_every_queue_kind(tmp_path: Path, redis_url: str) -> None:
    from designpatterns_ref.notifications.redis_streams import RedisStreamQueue

    for q in (
        MemoryQueue(),
        SQLiteQueue(str(tmp_path / "q.db"), lease=30.0),
        RedisStreamQueue(redis_url, f"nd-{uuid.uuid4().hex[:8]}"),
    ):
        assert q.next_due() is None  # empty
        q.put({"n": 1}, at=50.0)
        q.put({"n": 2}, at=20.0)
        assert q.next_due() == 20.0
        got = q.take(5, 25.0)
        assert [item["n"] for _, item in got] == [2]
        q.ack([t for t, _ in got])
        assert q.next_due() == 50.0


class NoNextDue:
    """A queue from before ``next_due`` joined the protocol: ``run`` could not wait for it."""

    def put(self, item: Any, *, lane: str = "normal", at: float = 0.0) -> None: ...
    def put_many(self, items: Any, *, lane: str = "normal") -> None: ...
    def take(self, n: int, now: float) -> list[Any]: return []  # fmt: skip

    def ack(self, tickets: Any) -> None: ...
    def ack_settled(self, tickets: Any, dedup: Any, confirmed: Any, released: Any) -> None: ...
    def __len__(self) -> int: return 0  # fmt: skip


@pytest.mark.parametrize("arg", ["accepted", "outgoing", "dead"])
@pytest.mark.parametrize("queue", [NoNextDue(), object(), "queue", MemoryQueue])
def test_pipeline_refuses_a_queue_without_the_whole_protocol(arg: str, queue: Any) -> None:
    from designpatterns_ref.notifications import NotificationError

    with pytest.raises(NotificationError, match=rf"Pipeline: {arg}=.* is not a queue"):
        Pipeline(**{arg: queue})
