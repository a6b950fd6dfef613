"""The send stage: the dedup window is claimed for a whole take before the provider is called,
so a replayed message reaches the phone once; a crash between claim and send loses nothing (the
claims' leases run out and the replay sends), a crash between a provider's ok and the take's
settle repeats what the provider took in that take (the one documented window). The phone is
counted at the provider, not in the dedup record."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.notifications import (
    DedupWindow,
    MemoryQueue,
    Receipt,
    Sender,
    SimulatedProvider,
)


class Crash(BaseException):
    """The worker process dies here (no handler of the sender runs: not an ``Exception``)."""


class CrashingProvider:
    """A provider whose worker dies just before or just after chosen calls."""

    def __init__(self, inner: SimulatedProvider, crashes: dict[int, str]) -> None:
        self.inner, self.crashes, self.calls = inner, dict(crashes), 0

    def attempt(self, token: str, body: str) -> str:
        self.calls += 1
        where = self.crashes.pop(self.calls, None)
        if where == "before":
            raise Crash
        answer = self.inner.attempt(token, body)
        if where == "after":
            raise Crash
        return answer


def message(i: int) -> dict[str, Any]:
    return {"id": f"n-{i}|tok-{i}", "tok": f"tok-{i}", "key": f"n-{i}", "a": 0, "ck": None,
            "exp": 1e9, "ch": "apns", "body": f"hello {i}", "user": f"u{i}",
            "lane": "normal"}  # fmt: skip


def test_a_replayed_message_reaches_the_phone_once() -> None:
    clock = ManualClock()
    phone: Counter[str] = Counter()
    apns = SimulatedProvider(
        "apns", rate=1000, clock=clock, seed=1, phone=lambda t, b: phone.update([t])
    )
    out, dead, receipts = MemoryQueue(), MemoryQueue(), []
    sender = Sender({"apns": apns}, DedupWindow(clock=clock), out, dead, clock=clock,
                    record=receipts.append)  # fmt: skip
    out.put(message(1))
    out.put(message(1))  # the at-least-once queue serves it twice
    sender.send_batch()
    assert [r.status for r in receipts] == ["delivered", "duplicate"]
    assert apns.sent == 1 and phone == {"tok-1": 1}


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 8),
    replays=st.lists(st.integers(0, 7), max_size=6),
    crashes=st.dictionaries(st.integers(1, 20), st.sampled_from(["before", "after"]), max_size=4),
    transient=st.sampled_from([0.0, 0.4]),
    batch=st.integers(1, 5),
    seed=st.integers(0, 100),
)
# one replay of a batch of two
@example(n=1, replays=[0], crashes={}, transient=0.0, batch=2, seed=0)
@example(n=1, replays=[], crashes={1: "before"}, transient=0.0, batch=1, seed=0)
@example(n=1, replays=[], crashes={1: "after"}, transient=0.0, batch=1, seed=0)
@example(n=3, replays=[0, 1], crashes={2: "after", 3: "before"}, transient=0.0, batch=5, seed=0)
def test_crashes_and_replays_against_the_phone(
    n: int,
    replays: list[int],
    crashes: dict[int, str],
    transient: float,
    batch: int,
    seed: int,
) -> None:
    clock = ManualClock(1000.0)
    phone: Counter[str] = Counter()
    inner = SimulatedProvider("apns", transient=transient, clock=clock, seed=seed,
                              phone=lambda t, b: phone.update([t]))  # fmt: skip
    apns = CrashingProvider(inner, crashes)
    out, dead = MemoryQueue(), MemoryQueue()
    receipts: list[Receipt] = []
    dedup = DedupWindow(3600.0, clock=clock, lease=30.0)
    sender = Sender({"apns": apns}, dedup, out, dead, clock=clock, record=receipts.append,
                    max_attempts=50, seed=seed)  # fmt: skip
    for i in range(n):
        out.put(message(i))
    for i in replays:
        if i < n:
            out.put(message(i))
    lost: Counter[str] = Counter()  # reached the phone in a take that crashed before its settle
    for _ in range(10_000):
        before = phone.copy()
        try:
            taken = sender.send_batch(batch)
        except Crash:
            lost.update(phone - before)
            out.restore()  # the batch was not acked: all of it is served again
            continue
        if not taken:
            due = out.next_due()
            if due is None:
                break
            clock.set(max(clock(), due))
    assert len(out) == 0 and len(dead) == 0
    delivered = Counter(r.token for r in receipts if r.status == "delivered")
    for i in range(n):
        tok = f"tok-{i}"
        assert delivered[tok] == 1, (tok, delivered)  # nothing lost, recorded once
        # Once on the phone, plus once more per crash after its provider's ok, before the settle.
        assert phone[tok] == 1 + lost[tok], (tok, phone, lost)
    assert sum(phone.values()) == inner.sent


def test_dedup_window_claim_confirm_release() -> None:
    clock = ManualClock()
    d = DedupWindow(100.0, clock=clock, lease=10.0)
    assert d.claim("a") == "claimed"
    assert d.claim("a") == "busy"  # another worker holds it: do not send, do not drop
    clock.advance(10.0)
    assert d.claim("a") == "claimed"  # the holder died: its lease ran out
    d.release("a")  # the provider refused: a retry may claim again
    assert d.claim("a") == "claimed"
    d.confirm("a")
    assert d.claim("a") == "delivered" and len(d) == 1
    clock.advance(100.0)
    assert d.claim("a") == "claimed"  # outside the window
    assert d.deliver("b") and not d.deliver("b")


def test_redis_dedup_claim_lease_and_the_phone(redis_url: str) -> None:
    from designpatterns_ref.notifications.redis_dedup import RedisDedup

    name = f"d-{uuid.uuid4().hex[:8]}"
    one, two = RedisDedup(redis_url, name, lease=0.2), RedisDedup(redis_url, name, lease=0.2)
    assert one.claim("m") == "claimed"
    assert two.claim("m") == "busy"
    two.release("m")  # not its claim: nothing happens
    assert two.claim("m") == "busy"
    time.sleep(0.3)  # worker one died between claim and send
    assert two.claim("m") == "claimed"
    one.release("m")  # a stale worker cannot drop the new holder's claim
    assert one.claim("m") == "busy"
    two.confirm("m")
    assert one.claim("m") == "delivered" and two.delivered() == ["m"]

    clock = ManualClock()
    phone: Counter[str] = Counter()
    apns = SimulatedProvider("apns", clock=clock, phone=lambda t, b: phone.update([t]))
    out, dead, receipts = MemoryQueue(), MemoryQueue(), []
    sender = Sender({"apns": apns}, RedisDedup(redis_url, name), out, dead, clock=clock,
                    record=receipts.append)  # fmt: skip
    out.put(message(1))
    out.put(message(1))
    sender.send_batch()
    assert [r.status for r in receipts] == ["delivered", "duplicate"] and phone == {"tok-1": 1}


class Scripted:
    """A provider answering each call from ``script`` (then ``"ok"``): a word is the answer,
    ``"raise"`` an exception that is not a NotificationError (a client's connection error)."""

    def __init__(self, script: list[str], raises: bool) -> None:
        self.script, self.raises, self.phone = list(script), raises, Counter[str]()

    def attempt(self, token: str, body: str) -> str:
        answer = self.script.pop(0) if self.script else "ok"
        if answer == "raise":
            if self.raises:
                raise ConnectionError("reset by peer")
            answer = "transient"
        if answer == "ok":
            self.phone[token] += 1
        return answer


@settings(max_examples=60, deadline=None)
@given(
    script=st.lists(st.sampled_from(["ok", "transient", "throttled", "raise"]), max_size=30),
    n=st.integers(1, 6),
    take=st.integers(1, 8),
    max_attempts=st.integers(1, 4),
)
def test_a_provider_that_raises_is_a_transient_answer(
    script: list[str], n: int, take: int, max_attempts: int
) -> None:
    """Oracle: the same run with each raise replaced by a ``"transient"`` answer. The fates, the
    attempts, the phone and the dead letters agree (a dead letter's ``why`` says
    ``"provider-error"`` where the oracle's says ``"transient"``), and
    ``send_batch`` never raises."""
    runs = []
    for raises in (True, False):
        clock = ManualClock()
        provider = Scripted(script, raises)
        out, dead, receipts = MemoryQueue(), MemoryQueue(), []
        sender = Sender({"apns": provider}, DedupWindow(clock=clock), out, dead, clock=clock,
                        record=receipts.append, max_attempts=max_attempts, seed=3)  # fmt: skip
        out.put_many([message(i) for i in range(n)])
        for _ in range(200):
            if not sender.send_batch(take):
                due = out.next_due()
                if due is None:
                    break
                clock.set(max(clock(), due))
        why = {"provider-error": "transient"}  # the one difference: a raise is named as such
        letters = [(m["key"], m["a"], why.get(m["why"], m["why"])) for _, m in dead.take(99, 0)]
        runs.append(([(r.key, r.status, r.attempts, r.at) for r in receipts], provider.phone,
                     letters, len(out)))  # fmt: skip
    assert runs[0] == runs[1]
    assert runs[0][3] == 0  # every message reached its fate
