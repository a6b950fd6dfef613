"""Every dedup window and every queue has the take-at-a-time calls, so the Sender runs one path.

The in-memory ``DedupWindow``'s ``claim_many``, ``extend`` and ``settle`` against its
one-at-a-time calls (``claim``; ``release`` then ``claim``; ``confirm`` then ``release``) on a
second copy of the window, two owners (two senders) each, on generated sequences with the
clock moving; the queues' ``ack_settled`` against ``settle`` then ``ack``. The same comparison
of ``RedisDedup`` with ``DedupWindow``, two owners included, runs on real Redis in
``test_redis_dedup.py``.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.notifications import (
    DedupWindow,
    MemoryQueue,
    NotificationError,
    Receipt,
    Sender,
    SimulatedProvider,
    SQLiteQueue,
)

IDS = ["a", "b", "c", "d"]
LEASE, WINDOW = 5.0, 12.0

ids_st = st.lists(st.sampled_from(IDS), max_size=6)  # repeats inside one call
who_st = st.integers(0, 1)  # which sender (owner) makes the call
op_st = st.one_of(
    st.tuples(st.sampled_from(["claim_many", "extend"]), who_st, ids_st),
    st.tuples(st.just("settle"), who_st, st.tuples(ids_st, ids_st)),
    st.tuples(st.sampled_from(["claim", "confirm", "release"]), who_st, st.sampled_from(IDS)),
    st.tuples(st.just("wait"), st.just(0), st.sampled_from([1.0, 2.5, 5.0, 7.0, 12.0])),
)


def live(d: DedupWindow, owners: list[int]) -> object:
    """What the window holds now: live deliveries and live claims with their owner's index."""
    now = d.clock()
    seen = {i: t for i, t in d._seen.items() if t > now - d.window}
    claims = {i: (u, owners.index(o)) for i, (u, o) in d._claims.items() if u > now}
    return seen, claims


def release_then_claim(d: DedupWindow, message_id: str) -> str:
    """``extend`` one id at a time: drop this owner's claim (only its own), claim afresh."""
    d.release(message_id)
    return d.claim(message_id)


def replay(ops: list[tuple[str, int, Any]]) -> None:
    clock = ManualClock(100.0)
    first = DedupWindow(WINDOW, clock=clock, lease=LEASE)
    fast = [first, first.another_sender()]
    first = DedupWindow(WINDOW, clock=clock, lease=LEASE)
    slow = [first, first.another_sender()]  # the oracle: one id at a time
    fast_owners, slow_owners = [d.owner for d in fast], [d.owner for d in slow]
    for op, who, arg in [*ops, ("claim_many", 0, IDS), ("claim_many", 1, IDS)]:
        f, o = fast[who], slow[who]
        if op == "wait":
            clock.advance(arg)
            continue
        if op == "claim_many":
            got, want = f.claim_many(arg), [o.claim(i) for i in arg]
        elif op == "extend":
            got, want = f.extend(arg), [release_then_claim(o, i) for i in arg]
        elif op == "settle":
            got = want = f.settle(*arg)
            for i in arg[0]:
                o.confirm(i)
            for i in arg[1]:
                o.release(i)
        else:
            got, want = getattr(f, op)(arg), getattr(o, op)(arg)
        assert got == want, (op, who, arg, clock())
        assert live(fast[0], fast_owners) == live(slow[0], slow_owners), (op, who, arg, clock())
    assert len(fast[0]) == len(slow[0]) == len(fast[1])


@settings(max_examples=200, deadline=None)
@given(ops=st.lists(op_st, max_size=14))
@example(ops=[("claim_many", 0, ["a", "a", "b", "a"])])  # an id twice in one take: busy
@example(  # an expired claim renewed: claimed afresh, with a fresh lease
    ops=[("claim_many", 0, ["a", "b"]), ("wait", 0, 5.0), ("extend", 0, ["a", "b", "a"]),
         ("wait", 0, 2.5), ("claim_many", 1, ["a", "b"])]
)  # fmt: skip
@example(  # a claim taken by another owner meanwhile: busy to the first, never renewed by it
    ops=[("claim_many", 0, ["a", "b", "c"]), ("wait", 0, 7.0), ("claim_many", 1, ["a"]),
         ("settle", 1, (["b"], [])), ("extend", 0, ["a", "b", "c"]),
         ("release", 0, "a"), ("settle", 0, ([], ["a"])), ("claim_many", 0, ["a"])]
)  # fmt: skip
@example(  # settle of ids not claimed: a confirm marks it sent, a release drops nothing
    ops=[("claim", 1, "c"), ("settle", 0, (["a", "a"], ["b", "c", "a"])),
         ("claim_many", 0, ["a", "b", "c"]), ("wait", 0, 12.0), ("claim_many", 0, ["a"])]
)  # fmt: skip
def test_the_in_memory_take_at_a_time_calls_match_the_one_id_calls(
    ops: list[tuple[str, int, Any]],
) -> None:
    replay(ops)


def test_another_sender_shares_the_window_not_the_claims() -> None:
    clock = ManualClock()
    mine = DedupWindow(60.0, clock=clock, lease=10.0)
    other = mine.another_sender()
    assert mine.claim_many(["a", "b", "c"]) == ["claimed"] * 3
    mine.settle(["c"], [])
    assert other.claim_many(["a", "c", "d"]) == ["busy", "delivered", "claimed"]
    other.release("a")  # not its claim: nothing happens
    assert other.extend(["a", "d"]) == ["busy", "claimed"]
    clock.advance(10.0)  # every claim ran out
    assert other.claim_many(["b"]) == ["claimed"]
    assert mine.extend(["a", "b"]) == ["claimed", "busy"]  # "a" made afresh; "b" is other's
    assert len(mine) == len(other) == 1 and mine.owner != other.owner


def queues(folder: Path) -> list[Any]:
    folder.mkdir(parents=True, exist_ok=True)
    return [MemoryQueue(), SQLiteQueue(str(folder / "q.db"), name="q", lease=100.0)]


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(0, 5),
    held=st.lists(st.sampled_from(IDS), max_size=4),
    confirmed=ids_st,
    released=ids_st,
    acked=st.lists(st.integers(0, 4), max_size=5),
)
@example(n=2, held=["a"], confirmed=["b", "b"], released=["a", "c"], acked=[0, 0])
def test_ack_settled_is_settle_then_ack(
    tmp_path_factory: Any,
    n: int,
    held: list[str],
    confirmed: list[str],
    released: list[str],
    acked: list[int],
) -> None:
    folder = tmp_path_factory.mktemp("q")
    clock = ManualClock(100.0)
    one, two = DedupWindow(clock=clock, lease=5.0), DedupWindow(clock=clock, lease=5.0)
    for d in (one, two):
        d.claim_many(held)
    for fast, slow in zip(queues(folder / "1"), queues(folder / "2"), strict=True):
        for q in (fast, slow):
            for i in range(n):
                q.put({"i": i})
        got, want = fast.take(10, 1.0), slow.take(10, 1.0)
        assert [item for _, item in got] == [item for _, item in want]
        pick = [i for i in acked if i < len(got)]  # an index twice: a ticket acked twice
        fast.ack_settled([got[i][0] for i in pick], one, confirmed, released)
        two.settle(confirmed, released)
        slow.ack([want[i][0] for i in pick])
        assert live(one, [one.owner]) == live(two, [two.owner])
        assert len(fast) == len(slow) == n - len(set(pick))


BAD_IDS = [None, 1, "a", ["a", None], ("a", ""), ["\ud800"], [["a"]], {"a": 1}, [b"a"]]
BAD_TICKETS = [None, True, 1.5, 2**70, [1], b"x", ([1],), ("s", {"a": 1})]


@pytest.mark.parametrize(
    ("bad", "value"),
    [*(("ids", v) for v in BAD_IDS), *(("ticket", v) for v in BAD_TICKETS)],
    ids=repr,
)
def test_the_take_at_a_time_calls_refuse_bad_input_and_change_nothing(
    tmp_path: Path, bad: str, value: Any
) -> None:
    clock = ManualClock(100.0)
    d = DedupWindow(clock=clock, lease=5.0)
    d.claim_many(["held", "sent"])
    d.settle(["sent"], [])
    qs = queues(tmp_path)
    for q in qs:
        q.put({"i": 1})
    tickets = [q.take(1, 1.0)[0][0] for q in qs]

    def state() -> object:
        return live(d, [d.owner]), [len(q) for q in qs], dict(qs[0].in_flight)

    before = state()
    calls: list[tuple[str, Any]] = []  # (the error's first words, the call)
    if bad == "ids":
        calls += [
            ("DedupWindow.claim_many: message_ids", lambda: d.claim_many(value)),
            ("DedupWindow.extend: message_ids", lambda: d.extend(value)),
            ("DedupWindow.settle: confirmed", lambda: d.settle(value, ["held"])),
            ("DedupWindow.settle: released", lambda: d.settle(["held"], value)),
        ]
    for q, t in zip(qs, tickets, strict=True):
        name = type(q).__name__
        if bad == "ids":  # the window checks its ids before the queue acks anything
            calls += [
                (
                    "DedupWindow.settle: confirmed",
                    lambda q=q, t=t: q.ack_settled([t], d, value, []),
                ),
                ("DedupWindow.settle: released", lambda q=q, t=t: q.ack_settled([t], d, [], value)),
                (f"{name}.ack_settled: dedup", lambda q=q, t=t: q.ack_settled([t], value, [], [])),
            ]
        else:
            calls.append(
                (
                    f"{name}.ack_settled: ticket",
                    lambda q=q, t=t: q.ack_settled([t, value], d, ["held"], []),
                )
            )
    for words, call in calls:
        with pytest.raises(NotificationError, match=re.escape(words)):
            call()
        assert state() == before, words


def message(i: int, tok: str | None = None) -> dict[str, Any]:
    tok = tok or f"tok-{i}"
    return {"id": f"n-{i}|{tok}", "tok": tok, "key": f"n-{i}", "a": 0, "ck": None, "exp": 1e12,
            "ch": "apns", "body": f"hello {i}", "user": f"u{i}", "lane": "normal"}  # fmt: skip


class Recording:
    """A DedupWindow that counts the calls of each of its methods."""

    def __init__(self, inner: DedupWindow) -> None:
        self.inner, self.calls, self.lease = inner, Counter[str](), inner.lease

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)

        def call(*args: Any) -> Any:
            self.calls[name] += 1
            return method(*args)

        return call


def test_the_in_memory_sender_takes_the_batched_path() -> None:
    clock = ManualClock(0.0)
    dedup = Recording(DedupWindow(clock=clock, lease=5.0))
    phone: Counter[str] = Counter()
    apns = SimulatedProvider("apns", clock=clock, phone=lambda t, b: phone.update([t]))
    out, dead, receipts = MemoryQueue(), MemoryQueue(), []
    sender = Sender({"apns": apns}, dedup, out, dead, clock=clock, record=receipts.append)
    out.put_many([message(1), message(1), message(2)])
    sender.send_batch()
    assert [r.status for r in receipts] == ["delivered", "duplicate", "delivered"]
    assert phone == {"tok-1": 1, "tok-2": 1} and len(dedup.inner) == 2
    assert dedup.calls == {"claim_many": 1, "settle": 1}  # one take: no one-id call


class OneAtATime:
    """A window with only the one-id calls (what the Sender used to accept)."""

    lease = 30.0

    def claim(self, message_id: str) -> str:
        return "claimed"

    def confirm(self, message_id: str) -> None: ...

    def release(self, message_id: str) -> None: ...


class AckOnly(MemoryQueue):
    """A queue without ack_settled."""

    ack_settled = None


def test_the_sender_refuses_a_window_or_queue_without_the_take_at_a_time_calls() -> None:
    clock = ManualClock()
    kw: dict[str, Any] = {"clock": clock, "record": lambda r: None}
    apns = {"apns": SimulatedProvider("apns", clock=clock)}
    with pytest.raises(NotificationError, match=r"Sender: dedup=.* claim_many, extend and settle"):
        Sender(apns, OneAtATime(), MemoryQueue(), MemoryQueue(), **kw)
    with pytest.raises(NotificationError, match=r"Sender: outgoing=.* ack_settled"):
        Sender(apns, DedupWindow(clock=clock), AckOnly(), MemoryQueue(), **kw)


def test_an_in_memory_take_that_outlasts_the_lease_reaches_the_phone_once() -> None:
    """A window on real time, two senders on it: the first's take lasts past its claims'
    lease, each provider call well under half of it; it renews them, so the second sender,
    served the same messages meanwhile (at least once), finds them busy and never sends."""
    lease, calls = 1.0, 12  # each call a sixth of the lease: the take lasts twice the lease
    first_dedup = DedupWindow(3600.0, clock=time.monotonic, lease=lease)
    second_dedup = first_dedup.another_sender()
    phone: Counter[str] = Counter()
    inner = SimulatedProvider("apns", phone=lambda t, b: phone.update([t]))
    second_receipts: list[Receipt] = []
    second_out = MemoryQueue()
    second = Sender({"apns": inner}, second_dedup, second_out, MemoryQueue(), clock=time.monotonic,
                    record=second_receipts.append)  # fmt: skip

    class Slow:
        n = 0

        def attempt(self, token: str, body: str) -> str:
            Slow.n += 1
            time.sleep(lease / 6)
            if Slow.n in (4, calls - 1):  # the replays reach the other sender
                second_out.put_many([message(i) for i in range(calls)])
                second.send_batch(64)
            return inner.attempt(token, body)

    out, receipts = MemoryQueue(), []
    first = Sender({"apns": Slow()}, first_dedup, out, MemoryQueue(), clock=time.monotonic,
                   record=receipts.append)  # fmt: skip
    out.put_many([message(i) for i in range(calls)])
    assert first.send_batch(64) == calls
    assert [r.status for r in receipts] == ["delivered"] * calls
    assert phone == {f"tok-{i}": 1 for i in range(calls)}
    assert {r.status for r in second_receipts} <= {"retry", "duplicate"}
