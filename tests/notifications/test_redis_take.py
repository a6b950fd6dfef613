"""RedisStreamQueue.take (one script call) against _take_reference (the promotion script, then
XAUTOCLAIM and XREADGROUP one lane at a time) on generated sequences, on a real server.

Two queues with the same operations side by side, each with two consumers: puts (due now,
delayed, with ties in due time), takes of up to n (often more than is there), acks, crashes (a
consumer forgets what it took, never acks it, and its pending entries are aged past
``claim_idle``, so the next take of any consumer reclaims them) and entries deleted from the
stream while pending. Every take must return the same lanes and items in the same order, and
after every step both queues must hold the same streams, pending lists (owner and delivery
count of each entry) and delayed sets.

Aging is done with ``XCLAIM ... IDLE ... JUSTID`` to the same owner (which changes neither the
owner nor the delivery count), so no step waits on the clock: ``claim_idle`` is a minute and
only the aged entries are ever that idle. One test waits for real idle time instead.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.notifications import redis_streams
from designpatterns_ref.notifications.redis_streams import CLAIM_CALLS, RedisStreamQueue

WHO = st.integers(0, 1)
ops_st = st.lists(
    st.one_of(
        # lane, due time (0: now), and a number the queues ignore
        st.tuples(st.just("put"), st.sampled_from(["high", "normal"]),
                  st.sampled_from([0.0, 0.0, 1.0, 1.5, 2.0, 2.0, 5.0]), st.integers(0, 3)),
        st.tuples(st.just("put_many"), st.sampled_from(["high", "normal"]), st.integers(0, 3),
                  st.just(0)),
        st.tuples(st.just("take"), WHO, st.integers(1, 8),
                  st.sampled_from([0.0, 1.0, 1.5, 2.0, 6.0])),
        st.tuples(st.just("ack"), WHO, st.integers(0, 5), st.just(0)),
        st.tuples(st.just("crash"), WHO, st.just(0), st.just(0)),
        st.tuples(st.just("xdel"), WHO, st.integers(0, 5), st.just(0)),
    ),
    max_size=30,
)  # fmt: skip


class Side:
    """One queue (two consumers) and what each consumer holds, taken with ``take`` or the
    reference."""

    def __init__(self, url: str, name: str, reference: bool) -> None:
        self.qs = [RedisStreamQueue(url, name, consumer=c, claim_idle=60.0) for c in ("c0", "c1")]
        self.name, self.reference = name, reference
        self.held: list[list[Any]] = [[], []]
        self.r = self.qs[0].r

    def take(self, who: int, n: int, now: float) -> list[tuple[str, Any]]:
        q = self.qs[who]
        got = q._take_reference(n, now) if self.reference else q.take(n, now)
        self.held[who].extend(t for t, _ in got)
        out = []
        for ticket, item in got:
            assert isinstance(ticket, tuple) and len(ticket) == 2
            stream, msg_id = ticket
            assert stream in q.streams(self.name) and redis_streams._STREAM_ID.fullmatch(msg_id)
            entry = self.r.xrange(stream, msg_id, msg_id)  # the ticket names this very entry
            assert json.loads(entry[0][1][b"d"]) == item
            out.append((stream.rsplit(":", 1)[1], item))
        return out

    def crash(self, who: int) -> None:
        """Consumer ``who`` dies: its entries stay pending, long idle; it forgets them."""
        consumer = self.qs[who].consumer
        for stream in self.qs[who].streams(self.name):
            ids = [p["message_id"] for p in self.r.xpending_range(stream, "senders", "-", "+",
                                                                  1000, consumer)]  # fmt: skip
            if ids:
                self.r.xclaim(stream, "senders", consumer, 0, ids, idle=10**9, justid=True)
        self.held[who] = []

    def state(self) -> Any:
        """Streams (bodies in order), pending entries (body, owner, deliveries), delayed set."""
        out: list[Any] = []
        for stream in self.qs[0].streams(self.name):
            bodies = {i: f[b"d"] for i, f in self.r.xrange(stream)}
            out.append(list(bodies.values()))
            pending = self.r.xpending_range(stream, "senders", "-", "+", 1000)
            out.append([(bodies.get(p["message_id"]), p["consumer"], p["times_delivered"])
                        for p in pending])  # fmt: skip
        out.append(self.r.zrange(f"{self.name}:delayed", 0, -1, withscores=True))
        return out


def run_both(url: str, script: list[tuple[str, Any, Any, Any]]) -> None:
    tag = uuid.uuid4().hex[:8]
    sides = [Side(url, f"take-{tag}:new", False), Side(url, f"take-{tag}:ref", True)]
    seq = 0
    for op, a, b, c in script:
        if op == "put":
            seq += 1
            for s in sides:
                s.qs[0].put({"seq": seq}, lane=a, at=b)
        elif op == "put_many":
            items = [{"seq": seq + 1 + i} for i in range(b)]
            seq += b
            for s in sides:
                s.qs[1].put_many(items, lane=a)
        elif op == "take":
            new, ref = (s.take(a, b, c) for s in sides)
            assert new == ref
            assert len(new) <= b
        elif op == "ack":
            for s in sides:
                s.qs[a].ack(s.held[a][:b])
                del s.held[a][:b]
        elif op == "crash":
            for s in sides:
                s.crash(a)
        else:  # an entry deleted from its stream while still pending (a trim, an operator)
            for s in sides:
                if s.held[a]:
                    stream, msg_id = s.held[a][b % len(s.held[a])]
                    s.r.xdel(stream, msg_id)
        assert sides[0].state() == sides[1].state(), (op, a, b, c)
    # drain: everything left comes out the same way, a crash at a time
    for _ in range(3):
        for s in sides:
            s.crash(0)
            s.crash(1)
        assert sides[0].take(0, 1000, 10.0) == sides[1].take(0, 1000, 10.0)
    assert sides[0].state() == sides[1].state()


P, H, N = "put", "high", "normal"


@settings(max_examples=60, deadline=None)
@given(script=ops_st)
@example(  # ties in due time across lanes and within one, n past the end;
    # due exactly now is due, half a second later is not
    script=[(P, N, 2.0, 3), (P, N, 2.0, 0), (P, H, 2.0, 2), (P, N, 0.0, 0), (P, H, 1.5, 0),
            ("take", 0, 8, 1.5), ("take", 1, 8, 2.0), ("take", 1, 8, 6.0)]
)  # fmt: skip
@example(  # a consumer takes and dies; the other reclaims (high lane first), then reads new ones
    script=[(P, N, 0.0, 0), (P, H, 0.0, 0), (P, N, 1.0, 1), ("take", 0, 2, 0.0),
            ("crash", 0, 0, 0), (P, H, 0.0, 0), ("take", 1, 3, 1.0), ("take", 1, 8, 1.0)]
)  # fmt: skip
@example(  # reclaimed entries fill the take: no new ones read, none promoted past n
    script=[("put_many", N, 3, 0), ("put_many", H, 2, 0), ("take", 0, 5, 0.0),
            ("crash", 0, 0, 0), (P, H, 1.0, 0), (P, H, 1.0, 1), ("take", 1, 4, 1.0),
            ("take", 1, 1, 1.0), ("crash", 1, 0, 0), ("take", 0, 8, 1.0)]
)  # fmt: skip
@example(  # an entry deleted while pending: the reclaim skips it and it does not count
    script=[("put_many", H, 3, 0), ("take", 0, 3, 0.0), ("xdel", 0, 1, 0), ("crash", 0, 0, 0),
            ("put_many", N, 2, 0), ("take", 1, 3, 0.0)]
)  # fmt: skip
def test_take_matches_the_reference(live_redis_url: Callable[[], str], script: list[Any]) -> None:
    run_both(live_redis_url(), script)


def test_take_reclaims_after_real_idle_time_like_the_reference(redis_url: str) -> None:
    """No aging trick: a consumer takes and dies, the other waits out ``claim_idle``."""
    got: list[Any] = []
    for name, fast in (("new", True), ("ref", False)):
        a = RedisStreamQueue(redis_url, name, consumer="a", claim_idle=0.05)
        b = RedisStreamQueue(redis_url, name, consumer="b", claim_idle=0.05)
        a.put({"n": 1})
        a.put({"n": 2}, lane="high")
        a.put({"n": 3}, at=5.0)
        first = a.take(1, 0.0)
        time.sleep(0.2)  # a's entry is idle past claim_idle; a never acks it
        a.put({"n": 4}, lane="high")
        second = b.take(10, 5.0) if fast else b._take_reference(10, 5.0)
        got.append(([it for _, it in first], [(t[0], it) for t, it in second]))
        pending = b.r.xpending_range(f"{name}:high", "senders", "-", "+", 10)
        assert [(p["consumer"], p["times_delivered"]) for p in pending] == [
            (b"b", 2),  # taken by a, reclaimed by b: delivered twice
            (b"b", 1),
        ]
    (new_first, new_second), (ref_first, ref_second) = got
    assert new_first == ref_first == [{"n": 2}]
    assert [it for _, it in new_second] == [it for _, it in ref_second]
    assert [it["n"] for _, it in new_second] == [2, 4, 1, 3]  # reclaimed, then high, then normal


def test_take_is_one_round_trip_and_survives_a_script_flush(redis_url: str) -> None:
    q = RedisStreamQueue(redis_url, "q", consumer="a")
    q.put({"n": 1})
    q.put({"n": 2}, lane="high")
    q.put({"n": 3}, at=1.0)
    calls: list[Any] = []
    real = q.r.execute_command

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[0])
        return real(*args, **kwargs)

    q.take(1, 0.0)  # the script is loaded by now
    with mock.patch.object(q.r, "execute_command", counted):
        got = q.take(10, 2.0)
    assert calls == ["EVALSHA"]
    assert [it["n"] for _, it in got] == [1, 3]  # 2 went to the first take
    q.ack([t for t, _ in got])
    q.r.script_flush()  # the server forgets its scripts (a restart): take loads it again
    q.put({"n": 5}, lane="high")
    assert [it for _, it in q.take(5, 2.0)] == [{"n": 5}]


@pytest.mark.parametrize("n", [1, 2, 1000])
def test_take_on_an_empty_queue_is_empty(redis_url: str, n: int) -> None:
    q = RedisStreamQueue(redis_url, "empty", consumer="a")
    assert q.take(n, 0.0) == [] == q._take_reference(n, 0.0)


@pytest.mark.parametrize("fast", [True, False], ids=["take", "reference"])
def test_an_idle_entry_behind_many_fresh_ones_is_reclaimed(redis_url: str, fast: bool) -> None:
    """One XAUTOCLAIM scans at most ten times its COUNT pending entries, and a take makes at
    most CLAIM_CALLS of them: a dead consumer's idle entry behind many fresh ones is reached
    by a later take going on from where the one before stopped (a take that started over each
    time would never reach it)."""
    name = f"behind-{fast}"
    busy, dead, poll = (RedisStreamQueue(redis_url, name, consumer=c, claim_idle=60.0)
                        for c in ("busy", "dead", "poll"))  # fmt: skip
    fresh = 10 * CLAIM_CALLS * 3  # three takes of one to scan past them
    busy.put_many([{"n": i} for i in range(fresh)])
    dead.put({"n": "dead's"})
    assert len(busy.take(fresh, 0.0)) == fresh and len(dead.take(1, 0.0)) == 1
    stream = busy.streams(name)[1]
    (entry,) = busy.r.xpending_range(stream, busy.group, "-", "+", 1, "dead")
    # dead's entry idle for two minutes, busy's fresh ones in front of it: set, not slept, so
    # a slow machine cannot let busy's entries go idle too while the takes run
    busy.r.xclaim(stream, busy.group, "dead", 0, [entry["message_id"]], idle=120_000)
    takes = [poll.take(1, 0.0) if fast else poll._take_reference(1, 0.0) for _ in range(5)]
    assert [it for got in takes for _, it in got] == [{"n": "dead's"}]  # reached, once


def test_items_due_at_one_instant_come_out_in_put_order_as_on_the_other_queues(
    redis_url: str, tmp_path: Any
) -> None:
    """A user's notifications deferred to the end of quiet hours fall due at one instant: every
    queue serves them as they were put (high lane first), two equal bodies twice."""
    from designpatterns_ref.notifications import MemoryQueue, SQLiteQueue

    queues = [MemoryQueue(), SQLiteQueue(str(tmp_path / "q.db")),
              RedisStreamQueue(redis_url, "ties")]  # fmt: skip
    puts = [("normal", f"n{i}") for i in range(12)] + [("high", "h0"), ("normal", "n0")]
    got = []
    for q in queues:
        for lane, n in puts:
            q.put({"n": n}, lane=lane, at=7.0)
        got.append([it["n"] for _, it in q.take(100, 7.0)])
    assert got[0] == got[1] == got[2] == ["h0", *(f"n{i}" for i in range(12)), "n0"]


def test_a_take_scans_a_bounded_part_of_a_long_pending_list(redis_url: str) -> None:
    """With thousands of fresh pending entries and nothing idle, a take of one makes at most
    CLAIM_CALLS scans of ten entries each and leaves its cursor mid-list for the next take
    (it does not walk the whole list while the server serves no one else)."""
    busy = RedisStreamQueue(redis_url, "long-pel", consumer="busy", claim_idle=60.0)
    poll = RedisStreamQueue(redis_url, "long-pel", consumer="poll", claim_idle=60.0)
    busy.put_many([{"n": i} for i in range(2_000)])
    assert len(busy.take(2_000, 0.0)) == 2_000
    assert poll.take(1, 0.0) == []
    cursor = poll.r.hget(poll.cursors, 3)  # the normal lane (key index 3)
    assert cursor not in (None, b"0-0")
    ids = [
        e["message_id"]
        for e in poll.r.xpending_range(poll.streams("long-pel")[1], poll.group, "-", "+", 2_000)
    ]
    assert 0 < ids.index(cursor) <= 10 * CLAIM_CALLS  # stopped after 10 x CLAIM_CALLS entries
