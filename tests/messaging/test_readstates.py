"""Read states against a replay of the acks and mentions, over SQLite and over a real Redis:
the same answers (a late ack changes nothing), a reload after close gives everything, a crash
loses at most the unflushed window; a batch is written all or none; the GC lab's layouts agree
on the states."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.messaging import MessagingError
from designpatterns_ref.messaging.gclab import measure, percentile
from designpatterns_ref.messaging.readstates import ReadStates
from designpatterns_ref.messaging.readstore import ReadStateStore, RedisReadStore, SQLiteReadStore

ops = st.lists(
    st.tuples(
        st.sampled_from(["ack", "mention", "get", "crash", "tick"]),
        st.sampled_from(["ann", "bob"]),
        st.sampled_from(["c1", "c2", "c3", "c4"]),
        st.integers(1, 50),
    ),
    max_size=60,
)


@pytest.fixture(params=["sqlite", "redis"])
def backend(request: pytest.FixtureRequest) -> Callable[[], Callable[[], ReadStateStore]]:
    """A factory of fresh durable places; each returns a connector (called again on reload)."""
    if request.param == "sqlite":
        factory = request.getfixturevalue("tmp_path_factory")

        def sqlite_place() -> Callable[[], ReadStateStore]:
            path = Path(factory.mktemp("rs")) / "rs.db"
            return lambda: SQLiteReadStore(path)

        return sqlite_place
    url = request.getfixturevalue("live_redis_url")()

    def redis_place() -> Callable[[], ReadStateStore]:
        prefix = f"rs{uuid.uuid4().hex}"
        return lambda: RedisReadStore(url, prefix=prefix)

    return redis_place


def _expected(base: tuple[int, int], events: list[tuple[str, int]]) -> tuple[int, int]:
    """The record after ``events`` from ``base``, by replay: the marker is the highest ack seen;
    the mentions are those since the marker last moved (the ack that first reached it), all of
    them and ``base``'s when no ack moved it. A late ack, at or behind the marker, counts for
    nothing."""
    last = max([base[0]] + [n for kind, n in events if kind == "ack"])
    since, mentions = events, base[1]
    if last > base[0]:
        moved = next(i for i, (kind, n) in enumerate(events) if kind == "ack" and n == last)
        since, mentions = events[moved + 1 :], 0
    return last, mentions + sum(n for kind, n in since if kind == "mention")


def test_read_states_match_a_replay_and_a_crash_loses_only_the_window(
    backend: Callable[[], Callable[[], ReadStateStore]],
) -> None:
    late_ack = [
        ("ack", "ann", "c1", 42),
        ("mention", "ann", "c1", 2),
        ("ack", "ann", "c1", 10),
        ("get", "ann", "c1", 0),
        ("ack", "ann", "c1", 42),
        ("get", "ann", "c1", 0),
    ]

    @settings(max_examples=30, deadline=None)
    @given(ops, st.integers(1, 3), st.integers(1, 4))
    @example(late_ack, 1, 4)  # a laptop's late ack behind the phone's must keep the mentions
    @example([*late_ack, ("crash", "ann", "c1", 0), ("get", "ann", "c1", 0)], 3, 1)
    def check(schedule: list[tuple[str, str, str, int]], cap: int, batch: int) -> None:
        _check(backend(), schedule, cap, batch)

    check()


def test_a_late_ack_behind_the_marker_changes_nothing() -> None:
    rs = ReadStates(":memory:", flush_entries=1)
    rs.ack("ann", "general", 1042)  # the phone read up to 1042
    rs.mention("ann", "general", 2)  # two later messages mention ann
    flushes = rs.flushes
    for late in (1000, 1042):  # the laptop's ack arrives late, or repeats the phone's
        rs.ack("ann", "general", late)
        assert rs.get("ann", "general") == (1042, 2) and rs.unread("ann") == {"general": 2}
    assert rs.flushes == flushes and rs.dirty == 0  # nothing was written
    rs.ack("ann", "general", 1050)  # reading on past the mentions clears them
    assert rs.get("ann", "general") == (1050, 0) and rs.unread("ann") == {}


def _check(
    connect: Callable[[], ReadStateStore],
    schedule: list[tuple[str, str, str, int]],
    cap: int,
    batch: int,
) -> None:
    clock = ManualClock()
    kw = {"capacity": cap, "flush_entries": batch, "flush_interval": 1.0, "clock": clock}
    rs = ReadStates(store=connect(), **kw)  # type: ignore[arg-type]
    base: dict[tuple[str, str], tuple[int, int]] = {}  # what a reload gave
    events: dict[tuple[str, str], list[tuple[str, int]]] = {}  # what happened since
    model: dict[tuple[str, str], tuple[int, int]] = {}
    for kind, user, channel, n in schedule:
        key = (user, channel)
        if kind in ("ack", "mention"):
            getattr(rs, kind)(user, channel, n)
            events.setdefault(key, []).append((kind, n))
            model[key] = _expected(base.get(key, (0, 0)), events[key])
        elif kind == "get":
            assert rs.get(user, channel) == model.get(key, (0, 0))
        elif kind == "tick":
            clock.advance(0.6)
        if kind == "crash":
            unflushed = rs.dirty
            assert unflushed < batch
            rs.crash()
            rs = ReadStates(store=connect(), **kw)  # type: ignore[arg-type]
            reloaded = {k: rs.get(*k) for k in model}
            lost = [k for k in model if reloaded[k] != model[k]]
            assert len(lost) <= unflushed  # only the unflushed records are lost
            model, base, events = reloaded, dict(reloaded), {}
    rs.close()
    again = ReadStates(store=connect())
    for (user, channel), value in model.items():
        assert again.get(user, channel) == value
    unread = {c: v[1] for (u, c), v in model.items() if u == "ann" and v[1]}
    assert again.unread("ann") == unread


big = st.sampled_from([0, 1, 9, 10, 2**53, 2**53 + 1, 2**63 - 1])  # past a Lua number's 2**53
rows = st.tuples(st.sampled_from(["ann", "bob"]), st.sampled_from(["c1", "c2"]), big, big)


def test_a_write_merges_so_no_order_of_batches_moves_a_marker_back(
    backend: Callable[[], Callable[[], ReadStateStore]],
) -> None:
    """Batches from several writers, in any order, any of them repeated: each record ends as
    the greatest row written for it (marker first, then mentions), as a dict would keep it."""

    @settings(max_examples=30, deadline=None)
    @given(st.lists(st.lists(rows, max_size=4), max_size=6))
    def check(batches: list[list[tuple[str, str, int, int]]]) -> None:
        store = backend()()
        oracle: dict[tuple[str, str], tuple[int, int]] = {}
        for batch in batches:
            store.write(batch)
            for user, channel, last, mentions in batch:
                key = (user, channel)
                oracle[key] = max(oracle.get(key, (0, 0)), (last, mentions))
            for key in (("ann", "c1"), ("ann", "c2"), ("bob", "c1"), ("bob", "c2")):
                assert (store.load(*key) or (0, 0)) == oracle.get(key, (0, 0))
        store.close()

    check()


def test_two_caches_on_one_store_never_move_a_marker_back(
    backend: Callable[[], Callable[[], ReadStateStore]],
) -> None:
    """Two processes' caches share a store (write-through): the stored marker is always the
    highest ack either has written, and a late ack from the one whose copy is behind clears no
    stored mention."""

    @settings(max_examples=25, deadline=None)
    @given(st.lists(st.tuples(st.sampled_from(["ack", "mention", "get"]), st.integers(0, 1),
                              st.integers(1, 30)), max_size=30))  # fmt: skip
    def check(schedule: list[tuple[str, int, int]]) -> None:
        connect = backend()
        caches = [ReadStates(store=connect(), flush_entries=1) for _ in range(2)]
        probe = connect()
        highest, before = 0, (0, 0)
        for kind, who, n in schedule:
            getattr(caches[who], kind)("ann", "general", *([n] if kind != "get" else []))
            if kind == "ack":
                highest = max(highest, n)
            stored = probe.load("ann", "general") or (0, 0)
            assert stored[0] == highest and stored >= before
            before = stored
        for cache in caches:
            cache.close()
        probe.close()

    check()
    # two caches, one record: A acks 500; B (its copy still at 0) counts a mention, then acks 300
    connect = backend()
    a, b = (ReadStates(store=connect(), flush_entries=1) for _ in range(2))
    b.get("ann", "general")
    a.ack("ann", "general", 500)
    a.mention("ann", "general")
    b.mention("ann", "general")
    b.ack("ann", "general", 300)
    probe = connect()
    assert probe.load("ann", "general") == (500, 1)
    for closing in (a, b, probe):
        closing.close()


def test_crash_window_is_bounded_by_entries_and_time() -> None:
    clock = ManualClock()
    rs = ReadStates(":memory:", flush_entries=3, flush_interval=0.5, clock=clock)
    rs.ack("ann", "a", 1), rs.ack("ann", "b", 1)
    assert rs.dirty == 2 and rs.flushes == 0
    rs.ack("ann", "c", 1)
    assert rs.dirty == 0 and rs.flushes == 1  # M entries
    rs.mention("ann", "a")
    clock.advance(0.5)
    rs.mention("ann", "b")
    assert rs.dirty == 0 and rs.flushes == 2  # N seconds


def test_the_interval_is_checked_on_calls_that_change_nothing(tmp_path: Path) -> None:
    """A minute of cache hits and acks behind the marker: each is a call, so the ack made
    before them is flushed once ``flush_interval`` has passed, and a crash keeps it."""
    clock = ManualClock()
    path = tmp_path / "rs.db"
    rs = ReadStates(path, flush_interval=0.5, clock=clock)
    rs.ack("ann", "general", 1042)
    clock.advance(1.0)
    rs.get("ann", "general")  # a cache hit
    assert rs.dirty == 0 and rs.flushes == 1
    rs.ack("ann", "general", 1050)
    clock.advance(1.0)
    rs.ack("ann", "general", 1000)  # behind the marker: changes nothing, but flushes
    assert rs.dirty == 0 and rs.flushes == 2
    rs.crash()
    assert ReadStates(path).get("ann", "general") == (1050, 0)


def test_an_ack_clears_every_mention_counted_so_far_as_documented() -> None:
    """A mention records no message id: an ack past the marker clears all of them, even one
    in a message after the acked id (the docs say so, and say to ack the newest shown)."""
    rs = ReadStates(":memory:")
    rs.ack("ann", "general", 100)
    rs.mention("ann", "general")  # in message 150
    rs.ack("ann", "general", 120)
    assert rs.get("ann", "general") == (120, 0) and rs.unread("ann") == {}


def test_gc_lab_layouts_hold_the_same_states() -> None:
    naive = measure("naive", entries=2000, ops=3000, seed=4)
    aware = measure("gc_aware", entries=2000, ops=3000, seed=4)
    assert naive.final == aware.final and len(naive.latencies_ns) == 3000
    assert percentile([5, 1, 3], 50) == 3.0 and percentile([5, 1, 3], 100) == 5.0


def test_redis_batch_is_all_or_none_and_a_dead_server_is_our_error(redis_url: str) -> None:
    store = RedisReadStore(redis_url, prefix="p")
    store.write([("ann", "a", 5, 0), ("ann", "b", 0, 3), ("bob", "a", 1, 1)])
    assert store.load("ann", "a") == (5, 0) and store.load("nobody", "a") is None
    assert store.unread("ann") == {"b": 3}
    rs = ReadStates(store=RedisReadStore("redis://127.0.0.1:1", deadline=0.1), flush_entries=1)
    with pytest.raises(MessagingError):
        rs.ack("ann", "a", 3)


def test_a_locked_sqlite_file_fails_the_flush_and_the_next_flush_writes(tmp_path: Path) -> None:
    """Another process holds the write lock past the busy timeout: the flush raises the
    family's error, rolls its transaction back and keeps the records dirty; once the lock is
    free the next flush writes them, and unrelated acks and close() work."""
    import sqlite3

    path = tmp_path / "rs.db"
    rs = ReadStates(path, flush_entries=1000)
    rs.store._db.execute("PRAGMA busy_timeout=50")  # type: ignore[attr-defined]  # fail fast
    rs.ack("ann", "general", 5)
    rs.mention("bob", "general", 2)
    other = sqlite3.connect(path, isolation_level=None)  # a second process writing
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(MessagingError, match="locked"):
        rs.flush()
    assert rs.dirty == 2 and rs.get("ann", "general") == (5, 0) and rs.flushes == 0
    with pytest.raises(MessagingError):
        rs.close()  # still locked: close flushes first, and refuses
    other.execute("COMMIT")  # the lock is free again
    assert rs.flush() == 2 and rs.dirty == 0
    rs.ack("ann", "random", 7)
    rs.close()
    on_disk = other.execute("SELECT * FROM read_states ORDER BY user, channel").fetchall()
    assert on_disk == [("ann", "general", 5, 0), ("ann", "random", 7, 0), ("bob", "general", 0, 2)]
    other.close()


class _Outage:
    """A real store whose writes fail for a while: writes number ``first`` to
    ``first + length - 1`` (counting from 1) raise MessagingError, before the real write
    (nothing lands) or after it (it landed but the answer was lost)."""

    def __init__(self, store: ReadStateStore, first: int, length: int, landed: bool) -> None:
        self.store, self.first, self.length, self.landed = store, first, length, landed
        self.writes = 0

    def load(self, user: str, channel: str) -> tuple[int, int] | None:
        return self.store.load(user, channel)

    def write(self, rows: Sequence[tuple[str, str, int, int]]) -> None:
        self.writes += 1
        failing = self.first <= self.writes < self.first + self.length
        if failing and not self.landed:
            raise MessagingError("store unreachable (before the write)")
        self.store.write(rows)
        if failing:
            raise MessagingError("store unreachable (the write landed, its answer was lost)")

    def unread(self, user: str) -> dict[str, int]:
        return self.store.unread(user)

    def close(self) -> None:
        self.store.close()


def _run_with_retries(
    store: ReadStateStore, schedule: list[tuple[str, str, str, int]], cap: int, batch: int
) -> tuple[ReadStates, dict[tuple[str, str], tuple[int, int]], int]:
    """Every call of ``schedule`` retried until it succeeds; the cache, the replay's records
    and how many calls were refused."""
    clock = ManualClock()
    rs = ReadStates(store=store, capacity=cap, flush_entries=batch, flush_interval=1.0,
                    clock=clock)  # fmt: skip
    events: dict[tuple[str, str], list[tuple[str, int]]] = {}
    refused = 0
    for kind, user, channel, n in schedule:
        key = (user, channel)
        if kind in ("tick", "crash"):  # no crash here: the outage is the fault
            clock.advance(0.6)
            continue
        for _ in range(20):
            before = (dict(rs._cache), set(rs._dirty), rs.flushes)
            try:
                got = rs.get(user, channel) if kind == "get" else getattr(rs, kind)(*key, n)
            except MessagingError:
                refused += 1
                # a refused call changes no record: every value still cached is the one it
                # had, the dirty ones are still dirty, no flush is counted (a clean copy may
                # have been loaded from the store, or a clean one dropped: both invisible)
                assert all(before[0].get(k, v) == v for k, v in rs._cache.items())
                assert rs._dirty == before[1] and rs.flushes == before[2]
                assert all(k in rs._cache for k in before[1])
                continue
            break
        else:
            raise AssertionError("the outage never ended")
        if kind in ("ack", "mention"):
            events.setdefault(key, []).append((kind, n))
        elif kind == "get":
            assert got == _expected((0, 0), events.get(key, []))
    model = {key: _expected((0, 0), ev) for key, ev in events.items()}
    return rs, model, refused


@settings(max_examples=25, deadline=None)
@given(
    ops.filter(lambda s: any(k in ("ack", "mention") for k, *_ in s)),
    st.integers(1, 3),
    st.integers(1, 4),
    st.integers(1, 3),
    st.booleans(),
)
@example(  # one mention, its write-back fails, the caller retries
    [("get", "ann", "c1", 0), ("mention", "ann", "c1", 1)], 3, 1, 1, False
)
@example([("ack", "ann", "c1", 5), ("mention", "ann", "c2", 1)], 1, 4, 2, True)  # on eviction
def test_a_call_whose_write_back_fails_changes_nothing_so_a_retry_counts_once(
    schedule: list[tuple[str, str, str, int]], cap: int, batch: int, length: int, landed: bool
) -> None:
    """For every k, the store fails from its k-th write on for ``length`` writes; each call is
    retried until it succeeds. The records (cache, then the store after close) are those of a
    replay that applies each call once."""
    clean, _, _ = _run_with_retries(SQLiteReadStore(), schedule, cap, batch)
    writes_without_faults = clean.flushes + 1  # the close's flush may write once more
    for k in range(1, writes_without_faults + 1):
        real = SQLiteReadStore()
        outage = _Outage(real, k, length, landed)
        rs, model, refused = _run_with_retries(outage, schedule, cap, batch)
        for key, value in rs._cache.items():
            assert value == model.get(key, (0, 0))
        rs.store.close = lambda: None  # type: ignore[method-assign]  # keep the file to check
        for _ in range(length + 1):
            try:
                rs.close()
                break
            except MessagingError:
                refused += 1
        for key, value in model.items():
            assert (real.load(*key) or (0, 0)) == value  # written once, counted once
        assert refused <= length
        real.close()


def test_a_mention_refused_while_redis_is_down_counts_once_when_retried(own_redis: Any) -> None:
    """Redis is killed: the mention's write-back fails and the mention is refused (not
    counted); the caller's retry after the restart counts it once, in the cache and in Redis."""
    rs = ReadStates(store=RedisReadStore(own_redis.url, deadline=0.5), flush_entries=1)
    assert rs.get("ann", "general") == (0, 0)
    own_redis.kill()
    for _ in range(2):
        with pytest.raises(MessagingError):
            rs.mention("ann", "general")
        assert rs.get("ann", "general") == (0, 0) and rs.dirty == 0
    own_redis.restart()
    rs.mention("ann", "general")
    assert rs.get("ann", "general") == (0, 1)
    assert RedisReadStore(own_redis.url).load("ann", "general") == (0, 1)
    rs.close()
