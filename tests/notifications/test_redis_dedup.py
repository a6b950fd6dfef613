"""RedisDedup a take at a time against the in-memory DedupWindow (two owners on each: two
senders), and takes that crash or are served twice by the stream, counted on the phone.

Redis times leases and windows with its own clock, so the oracle comparison runs in real time
(as the other Redis tests here do, with short leases and sleeps): every step happens at a whole
number of time units and every lease and window lasts a whole number and a half, so no expiry
falls near a step. When the loaded machine delays a step past a third of a unit, that step
cannot be compared: the whole example runs again from scratch with the unit doubled, and if
every unit is too short the test fails saying so (it never passes without comparing).
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.notifications import DedupWindow, Sender, SimulatedProvider

UNITS = (0.2, 0.4, 0.8)  # seconds of real time per step of the oracle's clock, tried in turn
SLACK = 1 / 3  # the most a step may run late, as a fraction of the unit
IDS = [f"n{i}|tok" for i in range(5)]

ids_st = st.lists(st.sampled_from(IDS), min_size=1, max_size=6)  # repeats inside one take
who_st = st.integers(0, 1)  # which of the two senders (owners) makes the call
op_st = st.one_of(
    st.tuples(st.just("claim_many"), who_st, ids_st),
    st.tuples(st.just("extend"), who_st, ids_st),
    st.tuples(st.just("settle"), who_st, st.tuples(st.lists(st.sampled_from(IDS), max_size=4),
                                                   st.lists(st.sampled_from(IDS), max_size=4))),
    st.tuples(st.sampled_from(["claim", "confirm", "release"]), who_st, st.sampled_from(IDS)),
    st.tuples(st.just("wait"), st.just(0), st.integers(1, 3)),
)  # fmt: skip


class Late(Exception):
    """A step ran too late to be compared with the oracle."""


def run_both(
    redis_url: str, lease: int, window: int, ops: list[tuple[str, int, Any]], unit: float = UNITS[0]
) -> None:
    """Run ``ops`` on both windows at whole units of ``unit`` seconds; raise Late if a step ran
    late, before comparing it."""
    from designpatterns_ref.notifications.redis_dedup import RedisDedup

    clock = ManualClock(0.0)
    first = DedupWindow(window + 0.5, clock=clock, lease=lease + 0.5)
    oracles = [first, first.another_sender()]  # two owners on one window
    prefix = f"o-{uuid.uuid4().hex[:8]}"  # a fresh prefix: each attempt starts from scratch
    fasts = [
        RedisDedup(redis_url, prefix, window=(window + 0.5) * unit, lease=(lease + 0.5) * unit)
        for _ in oracles
    ]
    confirmed: list[str] = []
    start = time.monotonic()
    for op, who, arg in [*ops, ("claim_many", 0, IDS), ("claim_many", 1, IDS)]:  # a last probe
        fast, oracle = fasts[who], oracles[who]
        if op == "wait":
            clock.advance(arg)
            continue
        due = start + clock() * unit
        time.sleep(max(0.0, due - time.monotonic()))
        if op == "claim_many":
            got, want = fast.claim_many(arg), [oracle.claim(i) for i in arg]
        elif op == "extend":  # renewing = dropping this owner's claim and claiming anew
            got = fast.extend(arg)
            want = [oracle.release(i) or oracle.claim(i) for i in arg]
        elif op == "settle":
            fast.settle(*arg)
            for i in arg[0]:
                oracle.confirm(i)
            for i in arg[1]:
                oracle.release(i)
            confirmed += arg[0]
            got = want = None
        else:
            got, want = getattr(fast, op)(arg), getattr(oracle, op)(arg)
            confirmed += [arg] if op == "confirm" else []
        late = time.monotonic() - due
        if not late < SLACK * unit:  # the server may have seen the step past an expiry
            raise Late(f"unit {unit} s: {op} at step {clock()} ran {late:.3f} s late")
        assert got == want, (op, who, arg, clock(), unit)
    assert fasts[0].delivered() == fasts[1].delivered() == confirmed


def compare(redis_url: str, lease: int, window: int, ops: list[tuple[str, int, Any]]) -> None:
    """run_both at the shortest unit that the machine keeps up with; fail if none."""
    late: list[str] = []
    for unit in UNITS:
        try:
            run_both(redis_url, lease, window, ops, unit)
            return
        except Late as exc:
            late.append(str(exc))
    pytest.fail(
        "the machine was too busy to compare RedisDedup with DedupWindow in real time: a step "
        f"ran more than {SLACK:.2f} of a unit late at every unit tried: {'; '.join(late)}"
    )


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lease=st.integers(1, 2), window=st.integers(1, 3), ops=st.lists(op_st, max_size=10))
@example(lease=1, window=2, ops=[("claim_many", 0, [IDS[0], IDS[0], IDS[1]])])  # twice in a take
@example(  # a take's leases run out (a crash between claim and send): claimed again
    lease=1, window=1, ops=[("claim_many", 0, IDS[:3]), ("wait", 0, 1), ("claim_many", 0, IDS[:3]),
                            ("wait", 0, 1), ("claim_many", 0, IDS[:3])]
)  # fmt: skip
@example(  # confirmed, then the window runs out; a release never drops a sent mark
    lease=2, window=1, ops=[("claim_many", 0, IDS[:2]),
                            ("settle", 0, ([IDS[0]], [IDS[1], IDS[0]])),
                            ("claim_many", 0, IDS[:2]), ("wait", 0, 2), ("claim_many", 0, IDS[:2])]
)  # fmt: skip
@example(  # a claim ran out and another owner took it: busy to the first, never renewed by it,
    lease=1, window=3, ops=[("claim_many", 0, IDS[:3]), ("wait", 0, 2),  # nor released by it
                            ("claim_many", 1, IDS[:1]), ("settle", 1, ([IDS[1]], [])),
                            ("extend", 0, IDS[:3]), ("settle", 0, ([], IDS[:3])),
                            ("claim_many", 0, IDS[:3])]
)  # fmt: skip
def test_batched_redis_dedup_matches_the_in_memory_window(
    redis_url: str, lease: int, window: int, ops: list[tuple[str, int, Any]]
) -> None:
    compare(redis_url, lease, window, ops)


def test_extend_renews_only_this_owners_claims(redis_url: str) -> None:
    from designpatterns_ref.notifications.redis_dedup import RedisDedup

    prefix = f"e-{uuid.uuid4().hex[:8]}"
    mine = RedisDedup(redis_url, prefix, lease=0.3)
    other = RedisDedup(redis_url, prefix, lease=0.3)
    assert mine.claim_many(["a", "b", "c"]) == ["claimed"] * 3
    mine.settle(["c"], [])
    time.sleep(0.2)
    assert mine.extend(["a", "c"]) == ["claimed", "delivered"]  # "b" is left to run out
    time.sleep(0.2)  # 0.4 s after the claims: "a" was renewed, "b" ran out
    assert other.claim_many(["a", "b"]) == ["busy", "claimed"]
    assert mine.extend(["a", "b", "d"]) == ["claimed", "busy", "claimed"]  # "d": a fresh claim
    assert other.extend(["a"]) == ["busy"] and mine.extend([]) == []
    assert mine.delivered() == ["c"]


def message(i: int) -> dict[str, Any]:
    return {"id": f"n-{i}|tok-{i}", "tok": f"tok-{i}", "key": f"n-{i}", "a": 0, "ck": None,
            "exp": 1e12, "ch": "apns", "body": f"hello {i}", "user": f"u{i}",
            "lane": "normal"}  # fmt: skip


class Crash(BaseException):
    """The worker process dies here (no handler of the sender runs: not an ``Exception``)."""


def worker(redis_url: str, name: str, consumer: str, phone: Counter[str], **kw: Any) -> Any:
    """A send-stage worker on Redis Streams: its queues, its dedup on the queue's client."""
    from designpatterns_ref.notifications.redis_dedup import RedisDedup
    from designpatterns_ref.notifications.redis_streams import RedisStreamQueue

    out = RedisStreamQueue(redis_url, f"{name}:out", consumer=consumer, claim_idle=0.1)
    dead = RedisStreamQueue(redis_url, f"{name}:dead", consumer=consumer, claim_idle=0.1)
    dedup = RedisDedup(out.r, name, lease=0.3)
    apns = kw.pop("provider", None) or SimulatedProvider(
        "apns", clock=time.time, phone=lambda t, b: phone.update([t])
    )
    receipts: list[Any] = []
    sender = Sender({"apns": apns}, dedup, out, dead, clock=time.time, record=receipts.append,
                    **kw)  # fmt: skip
    return sender, receipts


def drain(sender: Sender, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while len(sender.outgoing) and time.monotonic() < deadline:
        if not sender.send_batch(64):
            time.sleep(0.02)


def test_a_worker_killed_between_the_claims_and_the_sends_loses_nothing(redis_url: str) -> None:
    name = f"c-{uuid.uuid4().hex[:8]}"
    phone: Counter[str] = Counter()

    class DiesAtFirstSend:
        def attempt(self, token: str, body: str) -> str:
            raise Crash  # the claims of the whole take are made; nothing was sent

    first, _ = worker(redis_url, name, "a", phone, provider=DiesAtFirstSend())
    first.outgoing.put_many([message(i) for i in range(20)])
    first.outgoing.put(message(3))  # served twice by the stream, in the same take
    with contextlib.suppress(Crash):
        first.send_batch(64)
    ids = [message(i)["id"] for i in range(20)]
    assert set(first.dedup.claim_many(ids)) == {"busy"}  # the dead worker's claims are live
    second, receipts = worker(redis_url, name, "b", phone)
    drain(second)  # XAUTOCLAIM takes the take over; the sends wait for the leases to run out
    assert phone == {f"tok-{i}": 1 for i in range(20)}
    assert Counter(r.status for r in receipts)["delivered"] == 20
    assert second.outgoing.pending() == 0 and len(second.outgoing) == 0
    assert sorted(second.dedup.delivered()) == sorted(ids)


def test_a_take_served_twice_by_the_stream_reaches_the_phone_once(redis_url: str) -> None:
    name = f"r-{uuid.uuid4().hex[:8]}"
    phone: Counter[str] = Counter()
    second, second_receipts = worker(redis_url, name, "b", phone)
    inner = SimulatedProvider("apns", clock=time.time, phone=lambda t, b: phone.update([t]))

    class Slow:  # the first worker stalls past claim_idle at its first send
        calls = 0

        def attempt(self, token: str, body: str) -> str:
            Slow.calls += 1
            if Slow.calls == 1:
                time.sleep(0.15)
                assert second.send_batch(64) == 10  # the stream serves the take again: busy
            return inner.attempt(token, body)

    first, first_receipts = worker(redis_url, name, "a", phone, provider=Slow())
    first.outgoing.put_many([message(i) for i in range(10)])
    assert first.send_batch(64) == 10
    assert [r.status for r in second_receipts] == ["retry"] * 10  # it waits for the leases
    assert [r.status for r in first_receipts] == ["delivered"] * 10
    drain(second)  # the waiting copies come due: each is a duplicate
    assert phone == {f"tok-{i}": 1 for i in range(10)}
    assert [r.status for r in second_receipts[10:]] == ["duplicate"] * 10
    assert second.outgoing.pending() == 0 and len(second.outgoing) == 0


def test_an_id_twice_in_one_take_is_sent_once(redis_url: str) -> None:
    name = f"t-{uuid.uuid4().hex[:8]}"
    phone: Counter[str] = Counter()
    sender, receipts = worker(redis_url, name, "a", phone)
    sender.outgoing.put_many([message(1), message(2), message(1), message(1)])
    assert sender.send_batch(64) == 4
    assert [r.status for r in receipts] == ["delivered", "delivered", "duplicate", "duplicate"]
    assert phone == {"tok-1": 1, "tok-2": 1}
    assert sender.dedup.delivered() == ["n-1|tok-1", "n-2|tok-2"]
    assert sender.outgoing.pending() == 0 and len(sender.outgoing) == 0


def test_a_refused_message_and_its_twin_in_one_take(redis_url: str) -> None:
    name = f"f-{uuid.uuid4().hex[:8]}"
    phone: Counter[str] = Counter()
    inner = SimulatedProvider("apns", clock=time.time, phone=lambda t, b: phone.update([t]))

    class FailsOnce:
        calls = 0

        def attempt(self, token: str, body: str) -> str:
            FailsOnce.calls += 1
            return "transient" if FailsOnce.calls == 1 else inner.attempt(token, body)

    sender, receipts = worker(redis_url, name, "a", phone, provider=FailsOnce(), base=0.05)
    sender.outgoing.put_many([message(1), message(1)])
    assert sender.send_batch(64) == 2
    assert [r.status for r in receipts] == ["retry", "retry"]  # released; the twin waits
    drain(sender)
    assert phone == {"tok-1": 1}
    assert Counter(r.status for r in receipts) == {"retry": 2, "delivered": 1, "duplicate": 1}


def test_the_settle_survives_a_flushed_script_cache(redis_url: str) -> None:
    name = f"s-{uuid.uuid4().hex[:8]}"
    phone: Counter[str] = Counter()
    sender, _ = worker(redis_url, name, "a", phone)
    for i in (1, 2):
        sender.outgoing.put(message(i))
        assert sender.send_batch(64) == 1
        sender.dedup.r.script_flush()  # a restarted server forgot the scripts: NOSCRIPT
    assert sender.dedup.claim_many(["n-1|tok-1", "n-2|tok-2"]) == ["delivered", "delivered"]
    assert sender.dedup.delivered() == ["n-1|tok-1", "n-2|tok-2"]
    assert sender.outgoing.pending() == 0 and len(sender.outgoing) == 0


def test_a_take_that_outlasts_the_lease_reaches_the_phone_once(redis_url: str) -> None:
    """Sending the take takes twice the lease; each provider call stays under half of it."""
    name = f"l-{uuid.uuid4().hex[:8]}"
    phone: Counter[str] = Counter()
    second, second_receipts = worker(redis_url, name, "b", phone)
    inner = SimulatedProvider("apns", clock=time.time, phone=lambda t, b: phone.update([t]))

    class Slow:  # each call 0.1 s (lease 0.3 s); the worker stays alive throughout
        calls = 0

        def attempt(self, token: str, body: str) -> str:
            Slow.calls += 1
            time.sleep(0.1)
            if Slow.calls in (2, 4, 6):  # past claim_idle: the other worker takes the take too,
                second.send_batch(64)  # and its waiting copies come due while this one sends
            return inner.attempt(token, body)

    first, first_receipts = worker(redis_url, name, "a", phone, provider=Slow())
    first.outgoing.put_many([message(i) for i in range(6)])
    assert first.send_batch(64) == 6
    assert [r.status for r in first_receipts] == ["delivered"] * 6
    drain(second)
    assert phone == {f"tok-{i}": 1 for i in range(6)}
    assert {r.status for r in second_receipts} <= {"retry", "duplicate"}
    assert Counter(r.status for r in second_receipts)["duplicate"] == 6
    assert second.outgoing.pending() == 0 and len(second.outgoing) == 0


def test_a_claim_lost_mid_take_is_answered_as_a_fresh_claim(redis_url: str) -> None:
    """A provider call past the whole lease (outside the bound): the renewal finds one unsent
    message claimed by another owner and one delivered by it, and sends neither."""
    from designpatterns_ref.notifications.redis_dedup import RedisDedup

    name = f"m-{uuid.uuid4().hex[:8]}"
    phone: Counter[str] = Counter()
    inner = SimulatedProvider("apns", clock=time.time, phone=lambda t, b: phone.update([t]))
    other = RedisDedup(redis_url, name, lease=0.3)

    class Stalls:
        calls = 0

        def attempt(self, token: str, body: str) -> str:
            Stalls.calls += 1
            if Stalls.calls == 1:
                time.sleep(0.35)  # every claim of the take ran out
                assert other.claim_many(["n-2|tok-2", "n-3|tok-3"]) == ["claimed"] * 2
                other.settle(["n-3|tok-3"], [])
            return inner.attempt(token, body)

    sender, receipts = worker(redis_url, name, "a", phone, provider=Stalls())
    sender.outgoing.put_many([message(1), message(2), message(3)])
    assert sender.send_batch(64) == 3
    assert [r.status for r in receipts] == ["delivered", "retry", "duplicate"]
    assert Stalls.calls == 1 and phone == {"tok-1": 1}
    assert other.claim_many(["n-1|tok-1", "n-2|tok-2"]) == ["delivered", "busy"]


def test_the_deliveries_log_keeps_the_latest_only(redis_url: str) -> None:
    """The audit log is trimmed where it is appended to: it never outgrows ``keep``."""
    import redis

    from designpatterns_ref.notifications import NotificationError
    from designpatterns_ref.notifications.redis_dedup import RedisDedup

    prefix = f"keep-{uuid.uuid4().hex}"
    dedup = RedisDedup(redis_url, prefix, keep=3)
    for i in range(5):
        assert dedup.deliver(f"one-{i}")
    assert dedup.delivered() == ["one-2", "one-3", "one-4"]
    ids = [f"take-{i}" for i in range(4)]
    assert dedup.claim_many(ids) == ["claimed"] * 4
    dedup.settle(ids, [])
    assert dedup.delivered() == ids[1:]
    dedup.settle([], [])  # nothing confirmed: nothing trimmed
    assert redis.Redis.from_url(redis_url).llen(dedup.deliveries) == 3
    assert dedup.claim("one-0") == "delivered"  # the sent marks are not the log
    for bad in (0, -1, 2**31 + 1, True, 2.0, None):
        with pytest.raises(NotificationError, match="keep"):
            RedisDedup(redis_url, prefix, keep=bad)  # type: ignore[arg-type]
