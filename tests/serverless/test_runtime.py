"""The scheduler, queue, function and object store against their stated semantics."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.serverless import Queue, Scheduler
from designpatterns_ref.serverless.base import ServerlessError
from designpatterns_ref.serverless.breaker import Breaker, EhrGate
from designpatterns_ref.serverless.function import Function, Outcome
from designpatterns_ref.serverless.objectstore import ObjectStore
from designpatterns_ref.serverless.queue import Message


@given(st.lists(st.floats(0, 100, allow_nan=False), max_size=30))
def test_scheduler_runs_in_time_order_ties_in_schedule_order(times: list[float]) -> None:
    s = Scheduler()
    seen: list[tuple[float, int]] = []
    for i, t in enumerate(times):
        s.at(t, lambda i=i, t=t: seen.append((s(), i)))
    assert s.run() == len(times)
    assert seen == sorted(((t, i) for i, t in enumerate(times)))


queue_ops = st.lists(
    st.one_of(
        st.just(("send",)),
        st.tuples(st.just("receive"), st.integers(1, 3)),
        st.tuples(st.just("delete"), st.integers(0, 20)),
        st.tuples(st.just("wait"), st.sampled_from([1.0, 9.999, 10.0, 25.0])),
    ),
    max_size=60,
)


@pytest.mark.parametrize("timeout", [10.0, 0.0, 1e-300])
@settings(max_examples=60, deadline=None)
@given(ops=queue_ops)
@example(ops=[("send",), ("receive", 3)])
@example(ops=[("send",), ("send",), ("receive", 3), ("receive", 3), ("receive", 3)])
# a slow consumer's late delete, after the message was redelivered to another one
@example(ops=[("send",), ("receive", 1), ("wait", 10.0), ("receive", 1), ("delete", 0),
              ("delete", 1)])  # fmt: skip
def test_queue_loses_nothing_and_redelivers_after_the_visibility_timeout(
    timeout: float, ops: list[tuple[Any, ...]]
) -> None:
    s = Scheduler()
    dlq = Queue(s)
    q = Queue(s, visibility_timeout=timeout, max_receives=2, dead_letter=dlq)
    sent: list[int] = []
    deleted: set[int] = set()
    dead: set[int] = set()
    hidden_until: dict[int, float] = {}
    receives: dict[int, int] = {}  # the reference count of receives per message
    latest: dict[int, str] = {}  # the receipt of each message's latest receive: the valid one
    seen: set[str] = set()  # every receipt handed out: a receipt is never handed out twice
    held: list[tuple[Message, str, int]] = []  # what each consumer holds: message, its receipt
    sent_at: list[float] = []  # when each message was sent
    moved_at: dict[int, float] = {}  # when each dead letter was moved
    for op in ops:
        if op[0] == "send":
            q.send({"n": len(sent)})
            sent.append(len(sent))
            sent_at.append(s())
        elif op[0] == "receive":
            visible = [
                n for n in sent if n not in deleted | dead and hidden_until.get(n, 0.0) <= s()
            ]
            deliverable = [n for n in visible if receives.get(n, 0) < 2]
            got = q.receive(op[1])
            numbers = [m.body["n"] for m in got]
            assert len(set(numbers)) == len(numbers)  # one call never returns a message twice
            assert len(got) == min(op[1], len(deliverable))
            for m in got:
                n = m.body["n"]
                assert n in deliverable  # never handed out while invisible, deleted or dead
                receives[n] = receives.get(n, 0) + 1
                assert m.receive_count == receives[n] <= 2
                hidden_until[n] = s() + timeout
                assert m.receipt not in seen
                seen.add(m.receipt)
                latest[n] = m.receipt
                held.append((m, m.receipt, n))
            moved = {m.body["n"] for m in dlq.peek()} - dead
            assert moved <= set(visible) - set(deliverable)  # only after max_receives
            dead |= moved
            moved_at.update(dict.fromkeys(moved, s()))
        elif op[0] == "delete" and held:
            m, receipt, n = held[op[1] % len(held)]
            assert m.receipt == receipt  # a later receive does not rewrite what a consumer holds
            valid = n not in deleted | dead and latest[n] == receipt
            assert q.delete(m.receipt) == valid
            if valid:
                deleted.add(n)
        elif op[0] == "wait":
            s.run(until=s() + op[1])
    in_queue = {m.body["n"] for m in q.peek()}
    assert dead == {m.body["n"] for m in dlq.peek()}
    # a dead letter keeps when it was sent; it entered the dead-letter queue when it moved
    for m in q.peek():
        assert m.sent_at == m.enqueued_at == sent_at[m.body["n"]]
    for m in dlq.peek():
        assert (m.sent_at, m.enqueued_at) == (sent_at[m.body["n"]], moved_at[m.body["n"]])
    assert q.oldest_age() == (s() - min(sent_at[n] for n in in_queue) if in_queue else 0.0)
    assert dlq.oldest_age() == (s() - min(moved_at.values()) if dead else 0.0)
    assert in_queue | dead | deleted == set(sent)  # at least once: nothing lost
    assert not (in_queue & dead) and not (in_queue & deleted) and not (dead & deleted)


def test_a_dead_letter_keeps_when_the_call_was_sent() -> None:
    """A patient's call sent at t=0, received and never deleted, moves to the dead-letter
    queue at t=500: the dead letter still says it was sent at 0 (SQS keeps a standard queue's
    enqueue timestamp on the move); the dead-letter queue's age counts from the move."""
    s = Scheduler()
    dlq = Queue(s)
    q = Queue(s, visibility_timeout=100, max_receives=1, dead_letter=dlq)
    q.send({"patient": "p1"})
    q.receive()
    s.run(until=500)
    assert q.receive() == [] and len(dlq) == 1
    s.run(until=530)
    (letter,) = dlq.peek()
    assert (letter.sent_at, letter.enqueued_at) == (0.0, 500.0)
    assert dlq.oldest_age() == 30.0
    assert dlq.receive()[0].sent_at == 0.0


def test_a_dead_letter_move_that_fails_loses_and_hides_nothing() -> None:
    """The move to the dead-letter queue is refused (its clock fails) after another message
    was picked in the same call: both stay in the queue as they were, visible, and the next
    receive moves the exhausted one and hands out the other."""
    from designpatterns_ref.serverless import ServerlessError

    s = Scheduler()
    broken = False
    dlq = Queue(lambda: math.nan if broken else s())
    q = Queue(s, visibility_timeout=1, max_receives=1, dead_letter=dlq)
    q.send({"a": 1})
    q.receive()  # a: received once, visible again at t=1, dead-lettered on its next receive
    q.send({"b": 2})  # b: visible at t=0, so the next receive picks it before a
    s.run(until=2)
    before = q.peek()
    broken = True
    with pytest.raises(ServerlessError):
        q.receive(2)
    assert q.peek() == before and len(dlq) == 0 and q.visible() == 1  # b; a is due to move
    assert (q.sent, q.received, q.redelivered) == (2, 1, 0)
    broken = False
    assert [m.body for m in q.receive(2)] == [{"b": 2}]
    assert [m.body for m in dlq.peek()] == [{"a": 1}] and len(q) == 1


@settings(max_examples=200, deadline=None)
@given(
    st.text(
        st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters='"\\'),
        max_size=40,
    )
)
def test_a_payload_is_measured_in_utf8_bytes_as_sqs_counts_them(note: str) -> None:
    """SQS (256 KiB) and DynamoDB (400 KB) count a message's or item's UTF-8 bytes; the
    escaped ASCII text would count 'å' as six bytes, not two, and an emoji as twelve."""
    from designpatterns_ref.serverless import ServerlessError
    from designpatterns_ref.serverless.base import check_payload

    size = len('{"note":""}') + len(note.encode("utf-8"))  # nothing in the note is escaped
    if size <= 64:
        check_payload("body", {"note": note}, max_bytes=64)
    else:
        with pytest.raises(ServerlessError, match=f"is {size} bytes"):
            check_payload("body", {"note": note}, max_bytes=64)


def test_a_queue_takes_a_body_of_256_kib_in_utf8() -> None:
    q = Queue(Scheduler())
    note = "å" * 120_000 + "😀" * 5_000  # 260,000 bytes in UTF-8; 780,000 escaped
    q.send({"n": note})
    assert q.peek()[0].body == {"n": note}
    from designpatterns_ref.serverless import ServerlessError

    with pytest.raises(ServerlessError, match="262152 bytes"):
        q.send({"n": note + "åå" * 536})  # 262,144 bytes of text and 8 of JSON around it
    assert len(q) == 1


def test_visible_counts_what_a_receive_would_hand_out() -> None:
    s = Scheduler()
    dlq = Queue(s)
    q = Queue(s, visibility_timeout=10, max_receives=1, dead_letter=dlq)
    q.send({"call": 1})
    q.receive()
    q.send({"call": 2})
    s.run(until=10)  # call 1 is visible again, but due for the dead-letter queue
    assert q.visible() == 1
    assert [m.body for m in q.receive(10)] == [{"call": 2}] and len(dlq) == 1
    assert q.visible() == 0


def test_a_receipt_deletes_only_in_the_queue_that_gave_it() -> None:
    """Message ids repeat across queues (each starts at m1), as a redriven message's id does
    in its dead-letter queue: a receipt of one queue must not delete another's message."""
    s = Scheduler()
    a, b = Queue(s), Queue(s)
    a.send({"to": "a"})
    b.send({"to": "b"})
    [from_a] = a.receive()
    [from_b] = b.receive()
    assert from_a.id == from_b.id and from_a.receipt != from_b.receipt
    assert b.delete(from_a.receipt) is False and len(b) == 1
    assert b.delete(from_b.receipt) is True and a.delete(from_a.receipt) is True


@pytest.mark.parametrize("warm", [False, True])
def test_an_interrupted_handler_gives_its_instance_back(warm: bool) -> None:
    """A KeyboardInterrupt in the handler propagates, and the function is as it was: its
    instance is neither left busy (which would lower the concurrency for good) nor lost."""
    s = Scheduler()
    f = Function(s, lambda e: _interrupt() if e.get("stop") else 1.0, concurrency=1)
    if warm:
        f.invoke({}, lambda o: None)
        s.run()
    before = (f.busy, list(f._idle), f.invocations, f.cold_starts, f.errors)
    with pytest.raises(KeyboardInterrupt):
        f.invoke({"stop": True}, lambda o: None)
    assert (f.busy, list(f._idle), f.invocations, f.cold_starts, f.errors) == before
    done: list[Outcome] = []
    assert f.invoke({}, done.append) is True
    s.run()
    assert [(o.ok, o.cold) for o in done] == [(True, not warm)]


def _interrupt() -> float:
    raise KeyboardInterrupt


@settings(max_examples=60, deadline=None)
@given(
    start=st.sampled_from([0.0, 1e300, 1.7e308, 1.79e308]),
    cold_start=st.sampled_from([0.0, 0.5, 1e300, 1e308]),
    timeout=st.sampled_from([1.0, 30.0, 1e308]),
    work=st.lists(st.floats(0, 60), min_size=1, max_size=4),
)
def test_a_call_that_would_end_past_the_largest_time_is_refused_and_changes_nothing(
    start: float, cold_start: float, timeout: float, work: list[float]
) -> None:
    """Oracle: a call runs iff now + its cold start + the timeout is finite (the latest it can
    end); a refused one runs no handler, moves no counter and leaves no instance busy, so the
    function is not throttled by it afterwards."""
    s = Scheduler(start=start)
    ran: list[float] = []
    f = Function(
        s,
        lambda e: ran.append(e["w"]) or e["w"],
        concurrency=1,
        cold_start=cold_start,
        timeout=timeout,
    )
    for w in work:
        now = s()
        cold = not any(now - t <= f.keep_warm for t in f._idle)
        calls = len(ran)
        fits = math.isfinite(now + (cold_start if cold else 0.0) + timeout)
        before = (f.busy, list(f._idle), f.invocations, f.cold_starts, f.throttles, s.pending)
        if fits:
            assert f.invoke({"w": w}, lambda o: None) is True
            assert ran[-1] == w and f.busy == 1
            s.run()
            assert f.busy == 0
        else:
            with pytest.raises(ServerlessError, match="largest time"):
                f.invoke({"w": w}, lambda o: None)
            assert len(ran) == calls  # the handler did not run
            after = (f.busy, list(f._idle), f.invocations, f.cold_starts, f.throttles, s.pending)
            assert after == before
    assert f.busy == 0 and len(ran) == f.invocations


def test_a_received_message_is_the_consumers_copy() -> None:
    clock = ManualClock()
    q = Queue(clock, visibility_timeout=30)
    q.send({"job": 1})
    [a] = q.receive()
    a.body["job"] = 2  # a consumer scribbling on its copy
    clock.advance(31)  # A is slow: the message is redelivered to B
    [b] = q.receive()
    assert a is not b and a.receipt != b.receipt and b.body == {"job": 1}
    assert q.delete(a.receipt) is False  # A's late delete: stale
    assert len(q) == 1
    assert q.delete(b.receipt) is True and len(q) == 0


def test_a_zero_visibility_timeout_returns_each_message_once_per_receive() -> None:
    s = Scheduler()
    dlq = Queue(s)
    q = Queue(s, visibility_timeout=0, max_receives=2, dead_letter=dlq)
    q.send({"call": 1})
    (only,) = q.receive(10)
    assert only.receive_count == 1 and len(dlq) == 0
    assert [m.receive_count for m in q.receive(10)] == [2]  # visible again at once, as in SQS
    assert q.receive(10) == [] and len(dlq) == 1


def test_function_concurrency_cold_starts_and_timeouts() -> None:
    s = Scheduler()
    done: list[Outcome] = []
    f = Function(s, lambda e: e["work"], concurrency=2, cold_start=1.0, timeout=5, keep_warm=60)
    assert f.invoke({"work": 2.0}, done.append)
    assert f.started_at == 1.0  # the work begins after the cold start
    assert f.invoke({"work": 9.0}, done.append)
    assert not f.invoke({"work": 1.0}, done.append)  # throttled: nothing ran
    s.run()
    assert [(o.ok, o.cold, o.finished, o.error) for o in done] == [
        (True, True, 3.0, ""),
        (False, True, 6.0, "timeout"),
    ]
    assert f.invoke({"work": 1.0}, done.append)  # a warm instance: no cold start
    s.run()
    assert done[-1].cold is False and done[-1].finished == 7.0
    assert (f.throttles, f.cold_starts, f.timeouts) == (1, 2, 1)
    s.run(until=200.0)
    assert f.invoke({"work": 1.0}, done.append)
    s.run()
    assert done[-1].cold is True  # idle past keep_warm: cold again


def test_a_crashing_handler_is_an_error_outcome() -> None:
    s = Scheduler()
    done: list[Outcome] = []
    f = Function(s, lambda e: 1 / 0, concurrency=1)
    assert f.invoke({}, done.append)
    s.run()
    assert not done[0].ok and "ZeroDivisionError" in done[0].error and f.busy == 0


def test_breaker_and_gate() -> None:
    s = Scheduler()
    gate = EhrGate(Breaker(s, threshold=2, cool_down=10), cap=1)
    assert gate.enter() == "ok"
    assert gate.enter() == "capped"
    gate.leave(False)
    assert gate.enter() == "ok"
    gate.leave(False)
    assert gate.breaker.state == "open" and gate.enter() == "open"
    s.run(until=10)
    assert gate.enter() == "ok"  # the half-open trial
    assert gate.enter() == "capped"
    gate.leave(True)
    assert gate.breaker.state == "closed"


class RefBreaker:
    """The breaker as its docstring states it, written plainly: closed until ``threshold``
    consecutive failures; then open, refusing every call for ``cool_down`` seconds, whatever
    calls let through before it opened report meanwhile; then half-open, one trial call let
    through: a success closes it, a failure opens it again."""

    def __init__(self, threshold: int, cool_down: float) -> None:
        self.threshold, self.cool_down = threshold, cool_down
        self.state, self.failures, self.opened_at, self.opens = "closed", 0, 0.0, 0
        self.trial_given = False

    def allow(self, now: float) -> bool:
        if self.state == "open" and now >= self.opened_at + self.cool_down:
            self.state, self.trial_given = "half-open", False
        if self.state == "closed":
            return True
        if self.state == "half-open" and not self.trial_given:
            self.trial_given = True
            return True
        return False

    def report(self, ok: bool, now: float) -> None:
        if self.state == "open":
            return  # a late answer from a call let through before it opened: no say
        if ok:
            self.state, self.failures = "closed", 0
            return
        self.failures += 1
        if self.state == "half-open" or self.failures >= self.threshold:
            self.state, self.opened_at, self.opens = "open", now, self.opens + 1


breaker_ops = st.lists(
    st.one_of(
        st.just(("allow",)),
        st.tuples(st.just("report"), st.booleans()),
        st.tuples(st.just("wait"), st.sampled_from([0.0, 1.0, 9.999, 10.0, 25.0])),
    ),
    max_size=50,
)


@settings(max_examples=100, deadline=None)
@given(threshold=st.integers(1, 3), ops=breaker_ops)
# three calls let through; two fail and open it; the third answers ok late: still open
@example(threshold=2, ops=[("allow",)] * 3 + [("report", False)] * 2 + [("report", True),
                                                                        ("allow",)])  # fmt: skip
@example(threshold=1, ops=[("allow",), ("allow",), ("report", False), ("wait", 9.999),
                           ("report", False), ("wait", 0.001), ("allow",)])  # fmt: skip
def test_breaker_matches_its_stated_state_machine(
    threshold: int, ops: list[tuple[Any, ...]]
) -> None:
    clock = ManualClock()
    breaker = Breaker(clock, threshold=threshold, cool_down=10)
    ref = RefBreaker(threshold, 10.0)
    for op in ops:
        if op[0] == "allow":
            assert breaker.allow() == ref.allow(clock())
        elif op[0] == "report":
            (breaker.success if op[1] else breaker.failure)()
            ref.report(op[1], clock())
        else:
            clock.advance(op[1])
        assert (breaker.state, breaker.opens) == (ref.state, ref.opens)


def test_a_late_success_does_not_close_an_open_breaker() -> None:
    clock = ManualClock()
    gate = EhrGate(Breaker(clock, threshold=2, cool_down=30), cap=10)
    assert [gate.enter() for _ in range(3)] == ["ok"] * 3  # three calls to a dying EHR
    gate.leave(False)
    gate.leave(False)
    assert gate.breaker.state == "open"
    gate.leave(True)  # the slow third call, let through before it opened, answers ok
    assert gate.breaker.state == "open" and gate.enter() == "open"
    clock.advance(30)
    assert gate.enter() == "ok" and gate.enter() == "open"  # one trial
    gate.leave(True)
    assert gate.breaker.state == "closed"


def test_object_store() -> None:
    store = ObjectStore()
    e1 = store.put("a/1", b"x")
    assert store.put("a/1", b"y") != e1 and store.get("a/1") == b"y"
    store.put("b/1", b"z")
    assert store.list("a/") == ["a/1"] and store.list() == ["a/1", "b/1"]
    with pytest.raises(Exception, match="exists"):
        store.put("b/1", b"w", if_none_match=True)
    assert store.get("b/1") == b"z"
