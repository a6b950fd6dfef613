"""Every queue against a plain model; SQLite across a reopen; Redis Streams on a real server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.notifications import MemoryQueue, NotificationError, SQLiteQueue

ops = st.lists(
    st.one_of(
        st.tuples(
            st.just("put"), st.sampled_from(["high", "normal"]), st.sampled_from([0.0, 5.0, 9.0])
        ),
        st.tuples(st.just("take"), st.integers(1, 4), st.sampled_from([1.0, 6.0, 10.0])),
        st.tuples(st.just("ack"), st.just(0), st.just(0.0)),
    ),
    max_size=40,
)  # fmt: skip


def check_against_model(q: Any, script: list[tuple[str, Any, float]]) -> None:
    """Model: a take returns only due items, as many as asked, high lane first; taken items
    leave until acked (no lease expiry within these times)."""
    model: list[tuple[int, int, float]] = []  # (lane rank, seq, at)
    held: list[Any] = []
    now, seq = 0.0, 0
    for op, a, b in script:
        if op == "put":
            seq += 1
            q.put({"seq": seq}, lane=a, at=b)
            model.append((0 if a == "high" else 1, seq, b))
        elif op == "take":
            now = max(now, b)
            got = q.take(a, now)
            due = [m for m in model if m[2] <= now]
            taken = [m for m in due if m[1] in {item["seq"] for _, item in got}]
            assert len(taken) == len(got) == min(a, len(due))  # only due items, as many as asked
            if any(m[0] == 1 for m in taken):  # a normal one only when no due high one is left
                assert all(m in taken for m in due if m[0] == 0)
            model = [m for m in model if m not in taken]
            held.extend(t for t, _ in got)
        else:
            q.ack(held)
            held = []
    assert len(q) == len(model) + len(held)


@settings(max_examples=60, deadline=None)
@given(script=ops)
def test_memory_queue_matches_the_model(script: list[tuple[str, Any, float]]) -> None:
    check_against_model(MemoryQueue(), script)


@settings(max_examples=30, deadline=None)
@given(script=ops)
def test_sqlite_queue_matches_the_model(tmp_path_factory: Any, script: list[Any]) -> None:
    path = tmp_path_factory.mktemp("q") / "q.db"
    check_against_model(SQLiteQueue(str(path), lease=1000.0), script)


def test_sqlite_queue_survives_a_reopen_and_redelivers_an_expired_lease(tmp_path: Path) -> None:
    path = str(tmp_path / "q.db")
    q = SQLiteQueue(path, lease=10.0)
    for i in range(3):
        q.put({"i": i})
    taken = q.take(2, now=100.0)
    q.ack([taken[0][0]])
    q.close()  # the process dies holding item 1
    again = SQLiteQueue(path, lease=10.0)
    assert len(again) == 2
    assert [it["i"] for _, it in again.take(5, now=101.0)] == [2]  # item 1 is still leased
    assert [it["i"] for _, it in again.take(5, now=111.0)] == [1, 2]  # both leases ran out


def test_redis_stream_queue_lanes_delays_and_a_crashed_consumer(redis_url: str) -> None:
    from designpatterns_ref.notifications.redis_streams import RedisStreamQueue

    a = RedisStreamQueue(redis_url, "q", consumer="a", claim_idle=0.05)
    b = RedisStreamQueue(redis_url, "q", consumer="b", claim_idle=0.05)
    a.put({"n": 1})
    a.put({"n": 2}, lane="high")
    a.put({"n": 3}, at=50.0)
    assert [it["n"] for _, it in a.take(10, now=10.0)] == [2, 1]  # a dies without acking
    assert b.pending() == 2 and len(b) == 3
    import time

    time.sleep(0.1)
    got = b.take(10, now=60.0)  # XAUTOCLAIM takes a's two, the delayed one is now due
    assert sorted(it["n"] for _, it in got) == [1, 2, 3]
    b.ack([t for t, _ in got])
    assert len(b) == 0 and b.pending() == 0


@pytest.mark.parametrize(
    "make", [MemoryQueue, lambda: SQLiteQueue(":memory:")], ids=["memory", "sqlite"]
)
@pytest.mark.parametrize(
    "call",
    [
        lambda q: q.put(None),
        lambda q: q.put({}, lane="urgent"),
        lambda q: q.put({}, at=float("nan")),
        lambda q: q.put({}, at=10**400),
        lambda q: q.take(0, 0.0),
        lambda q: q.take(True, 0.0),
        lambda q: q.take(1, -1.0),
        lambda q: q.take(1, False),  # a bool is not a time (Redis refused it with DataError)
        lambda q: q.put({}, at=False),
        lambda q: q.ack([2**63]),  # past SQLite's INTEGER: was a bare OverflowError
    ],
)
def test_bad_queue_calls_change_nothing(
    make: Callable[[], Any], call: Callable[[Any], Any]
) -> None:
    q = make()
    q.put({"x": 1})
    with pytest.raises(NotificationError):
        call(q)
    assert len(q) == 1


@pytest.mark.parametrize("name", ["NULL", "select", "order", "queue", "été"])
def test_a_queue_name_that_is_an_sql_keyword_works(tmp_path: Path, name: str) -> None:
    # Any Python identifier is a valid name, SQL keywords among them: the table name is quoted.
    path = str(tmp_path / "q.db")
    q = SQLiteQueue(path, name=name, lease=10.0)
    q.put({"n": 1})
    assert len(q) == 1
    assert len(SQLiteQueue(path, name=name, lease=10.0)) == 1  # reopened: the same table
