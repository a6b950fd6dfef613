"""Snowflake: strictly increasing IDs, layouts, waiting on exhaustion, clocks going back."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.shortcode import (
    INSTAGRAM,
    INSTAGRAM_EPOCH_MS,
    TWITTER,
    TWITTER_EPOCH_MS,
    ClockMovedBackwards,
    Layout,
    ShortCodeError,
    Snowflake,
    SnowflakeParts,
    SpaceExhausted,
    decompose,
)

T0 = 1_700_000_000.0


def manual(start: float = T0) -> tuple[ManualClock, list[float]]:
    return ManualClock(start=start), []


def make(clock: ManualClock, slept: list[float], **kwargs: object) -> Snowflake:
    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(seconds)

    return Snowflake(clock=clock, sleep=sleep, **kwargs)  # type: ignore[arg-type]


def test_layouts() -> None:
    assert (TWITTER.time_bits, TWITTER.worker_bits, TWITTER.sequence_bits) == (41, 10, 12)
    assert (INSTAGRAM.time_bits, INSTAGRAM.worker_bits, INSTAGRAM.sequence_bits) == (41, 13, 10)
    assert INSTAGRAM.max_worker == 8191 and INSTAGRAM.ids_per_ms == 1024
    assert 69 < TWITTER.years < 70


def test_fields_land_where_the_layout_says() -> None:
    clock, slept = manual()
    gen = make(clock, slept, worker=5, layout=INSTAGRAM, epoch_ms=INSTAGRAM_EPOCH_MS)
    first = gen.next_id()
    elapsed = int(T0 * 1000) - INSTAGRAM_EPOCH_MS
    assert first == (elapsed << 23) | (5 << 10) | 0
    assert gen.decompose(first) == SnowflakeParts(int(T0 * 1000), 5, 0)
    assert gen() == first + 1


def test_sequence_restarts_each_millisecond() -> None:
    clock, slept = manual()
    gen = make(clock, slept, worker=1)
    a, b = gen.next_id(), gen.next_id()
    clock.advance(0.001)
    c = gen.next_id()
    assert [gen.decompose(i).sequence for i in (a, b, c)] == [0, 1, 0]
    assert a < b < c


def test_exhausted_sequence_waits_for_the_next_millisecond() -> None:
    clock, slept = manual()
    gen = make(clock, slept, worker=3, layout=Layout(41, 10, 2))  # 4 IDs per ms
    ids = [gen.next_id() for _ in range(9)]
    assert ids == sorted(set(ids))
    parts = [gen.decompose(i) for i in ids]
    assert [p.sequence for p in parts] == [0, 1, 2, 3, 0, 1, 2, 3, 0]
    assert parts[4].timestamp_ms == parts[0].timestamp_ms + 1
    assert len(slept) >= 2 and all(s > 0 for s in slept)  # float time may need extra naps


def test_small_backwards_jump_is_waited_out() -> None:
    clock, slept = manual()
    gen = make(clock, slept, worker=2, max_backwards=0.010)
    before = gen.next_id()
    clock.set(T0 - 0.005, allow_backwards=True)
    after = gen.next_id()
    assert after > before
    assert sum(slept) == pytest.approx(0.005, abs=1e-6)


def test_large_backwards_jump_raises_and_changes_nothing() -> None:
    clock, slept = manual()
    gen = make(clock, slept, worker=2, max_backwards=0.010)
    before = gen.next_id()
    clock.set(T0 - 5, allow_backwards=True)
    with pytest.raises(ClockMovedBackwards, match="5000 ms behind"):
        gen.next_id()
    assert slept == []
    clock.set(T0 + 1)
    assert gen.next_id() > before


def test_zero_tolerance_raises_on_any_backwards_step() -> None:
    clock, slept = manual()
    gen = make(clock, slept, worker=0, max_backwards=0)
    gen.next_id()
    clock.set(T0 - 0.001, allow_backwards=True)
    with pytest.raises(ClockMovedBackwards):
        gen.next_id()


@given(st.lists(st.integers(min_value=-20, max_value=20), min_size=1, max_size=200))
def test_strictly_increasing_under_a_jumpy_clock(steps_ms: list[int]) -> None:
    # The clock moves by the given milliseconds, backwards too; within the bound IDs keep
    # rising, and a jump past the bound raises rather than minting a smaller ID.
    clock, slept = manual()
    gen = make(clock, slept, worker=9, layout=Layout(41, 10, 3), max_backwards=0.015)
    last = gen.next_id()
    for step in steps_ms:
        clock.set(clock() + step / 1000, allow_backwards=True)
        try:
            new = gen.next_id()
        except ClockMovedBackwards:
            continue
        assert new > last
        last = new


def test_strictly_increasing_across_threads() -> None:
    gen = Snowflake(worker=11)
    results: list[list[int]] = [[] for _ in range(8)]
    barrier = threading.Barrier(8)

    def work(out: list[int]) -> None:
        barrier.wait()
        for _ in range(5000):
            out.append(gen.next_id())

    threads = [threading.Thread(target=work, args=(out,)) for out in results]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [i for out in results for i in out]
    assert len(set(every)) == len(every) == 40_000
    for out in results:  # each thread saw its own IDs rise
        assert out == sorted(out)
    assert all(gen.decompose(i).worker == 11 for i in every)


def test_strictly_increasing_across_threads_with_a_manual_clock() -> None:
    clock = ManualClock(start=T0)
    gen = Snowflake(worker=1, clock=clock, sleep=lambda s: clock.advance(0.001))
    seen: list[int] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(3000):
            i = gen.next_id()
            with lock:
                seen.append(i)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen)) == 24_000


def test_next_ids_batches_are_increasing_and_fill_milliseconds() -> None:
    clock, slept = manual()
    gen = make(clock, slept, worker=4, layout=Layout(41, 10, 4))  # 16 per ms
    single = gen.next_id()
    batch = gen.next_ids(40)
    assert len(batch) == 40 and batch == sorted(set(batch)) and batch[0] > single
    assert gen.next_id() > batch[-1]
    assert gen.next_ids(0) == []
    with pytest.raises(ShortCodeError, match="count=-1"):
        gen.next_ids(-1)


def test_real_clock_ids_decode_to_now() -> None:
    import time

    gen = Snowflake(worker=1)
    parts = gen.decompose(gen.next_id())
    assert abs(parts.timestamp_ms - time.time() * 1000) < 60_000
    assert decompose(gen.next_id()).worker == 1


def test_time_overflow_and_before_epoch_raise() -> None:
    clock, slept = manual(start=10.0)
    gen = make(clock, slept, worker=0, layout=Layout(4, 0, 1), epoch_ms=10_000)
    gen.next_id()
    clock.set(10.016)
    with pytest.raises(SpaceExhausted, match="no longer fits 4 time bits"):
        gen.next_id()
    early = make(*manual(start=1.0), worker=0, epoch_ms=TWITTER_EPOCH_MS)
    with pytest.raises(SpaceExhausted, match="before epoch_ms"):
        early.next_id()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"worker": 1024}, r"outside \[0, 1023\]"),
        ({"worker": -1}, "outside"),
        ({"worker": "1"}, "must be an int"),
        ({"worker": 0, "layout": (41, 10, 12)}, "must be a Layout"),
        ({"worker": 0, "epoch_ms": -5}, "epoch_ms=-5"),
        ({"worker": 0, "max_backwards": -1}, "max_backwards=-1"),
        ({"worker": 0, "max_backwards": float("inf")}, "finite"),
        ({"worker": 0, "clock": 5}, "callable"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ShortCodeError, match=message):
        Snowflake(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("bits", "message"),
    [((41, 13, 11), "65 bits"), ((0, 10, 12), "at least 1"), ((41, -1, 12), "worker_bits=-1")],
)
def test_bad_layouts(bits: tuple[int, int, int], message: str) -> None:
    with pytest.raises(ShortCodeError, match=message):
        Layout(*bits)


def test_decompose_checks_its_input() -> None:
    with pytest.raises(ShortCodeError, match="2\\*\\*63"):
        decompose(2**63)
    with pytest.raises(ShortCodeError):
        decompose(-1)


def test_one_millisecond_before_the_epoch_is_refused_on_the_first_call() -> None:
    clock, slept = manual(start=9.999)
    gen = make(clock, slept, worker=0, epoch_ms=10_000)
    with pytest.raises(SpaceExhausted, match="before epoch_ms"):
        gen.next_id()
    clock.set(10.0)
    assert gen.next_id() == 0


def test_clock_readings_within_a_millisecond_share_it_and_the_next_one_starts_over() -> None:
    clock, slept = manual(start=T0 + 0.0001)
    gen = make(clock, slept, worker=6)
    a = gen.next_id()
    clock.set(T0 + 0.0009)  # the same millisecond: the sequence goes on
    b = gen.next_id()
    clock.set(T0 + 0.0003, allow_backwards=True)  # back, but within that millisecond
    c = gen.next_id()
    clock.set(T0 + 0.0011)  # the next millisecond: the sequence starts again
    d = gen.next_id()
    parts = [gen.decompose(i) for i in (a, b, c, d)]
    assert [p.sequence for p in parts] == [0, 1, 2, 0]
    assert [p.timestamp_ms - parts[0].timestamp_ms for p in parts] == [0, 0, 0, 1]
    assert a < b < c < d and slept == []


def test_a_step_back_into_an_earlier_millisecond_leaves_the_fast_path() -> None:
    # The last millisecond still has free sequence numbers, yet a reading before it must
    # be waited out (or refused), never served from that millisecond's numbers.
    clock, slept = manual()
    gen = make(clock, slept, worker=2, max_backwards=0.010)
    before = gen.next_id()
    clock.set(T0 - 0.002, allow_backwards=True)
    after = gen.next_id()
    assert after > before and sum(slept) == pytest.approx(0.002, abs=1e-6)
    clock2 = ManualClock(start=T0)
    strict = make(clock2, [], worker=2, max_backwards=0)
    strict.next_id()
    clock2.set(T0 - 0.001, allow_backwards=True)
    with pytest.raises(ClockMovedBackwards, match="1 ms behind"):
        strict.next_id()


def test_next_id_after_a_batch_that_used_up_the_millisecond_waits() -> None:
    clock, slept = manual()
    gen = make(clock, slept, worker=1, layout=Layout(41, 10, 3))  # 8 per ms
    batch = gen.next_ids(8)
    assert slept == []
    after = gen.next_id()
    assert after > batch[-1] and slept
    assert gen.decompose(after).timestamp_ms == gen.decompose(batch[0]).timestamp_ms + 1
    assert gen.decompose(after).sequence == 0


def test_a_step_back_while_waiting_for_the_next_millisecond_is_bounded() -> None:
    # The third call finds its millisecond used up, and the clock steps back an hour between
    # its first reading and the next: that wait is a backwards wait like any other, refused
    # beyond max_backwards (not slept through, an hour with the lock held).
    now, reads, slept = [T0], [0], []

    def clock() -> float:
        reads[0] += 1
        if reads[0] == 4:
            now[0] -= 3600
        return now[0]

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    gen = Snowflake(1, layout=Layout(41, 10, 1), clock=clock, sleep=sleep, max_backwards=0.010)
    gen.next_id(), gen.next_id()  # 2 IDs per millisecond: this one is used up
    with pytest.raises(ClockMovedBackwards, match="3600000 ms behind"):
        gen.next_id()
    assert sum(slept) <= 0.010


def test_a_stopped_clock_is_refused_rather_than_waited_on_for_ever() -> None:
    clock = ManualClock(start=T0)
    gen = Snowflake(0, clock=clock, sleep=lambda seconds: None, layout=Layout(41, 10, 1))
    gen.next_id(), gen.next_id()
    with pytest.raises(ClockMovedBackwards, match="stayed at millisecond"):
        gen.next_id()
    clock.advance(0.001)
    assert gen.decompose(gen.next_id()).sequence == 0


def test_a_batch_that_fails_halfway_takes_none_of_its_ids() -> None:
    readings = iter([T0, T0 - 3600, T0, T0 + 0.001])
    gen = Snowflake(0, clock=lambda: next(readings), sleep=lambda s: None, layout=Layout(41, 10, 1))
    with pytest.raises(ClockMovedBackwards):
        gen.next_ids(5)
    first = gen.next_id()  # the IDs of the refused batch were never handed out: reissued
    assert gen.decompose(first) == SnowflakeParts(int(T0 * 1000), 0, 0)
