"""The stores behind one interface (SQLite across a reopen, Redis for real), presence, receipts."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.messaging import (
    ChatServer,
    MemoryStore,
    Presence,
    RedisStore,
    SQLiteStore,
    Store,
)
from designpatterns_ref.messaging.base import Message, MessagingError
from designpatterns_ref.messaging.directory import Directory


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "memory":
        return MemoryStore()
    if request.param == "sqlite":
        return SQLiteStore(tmp_path / "chat.db")
    return RedisStore(request.getfixturevalue("redis_url"))


def test_every_store_gives_gap_free_seqs_and_idempotent_retries(store: Store) -> None:
    assert isinstance(store, Store)
    seqs = [store.append("c", "ann", f"m{i % 7}", f"b{i % 7}")[0].seq for i in range(20)]
    assert seqs == list(range(1, 8)) + [1 + i % 7 for i in range(7, 20)]
    assert store.append("c", "bob", "m0", "other sender")[0].seq == 8  # keys are per sender
    assert store.append("d", "ann", "m0", "x")[0].seq == 1  # sequences are per conversation
    assert [m.seq for m in store.read("c", 3, 2)] == [4, 5]
    assert store.read("c", 8) == [] and store.last_seq("c") == 8 and store.last_seq("zz") == 0
    assert store.append("c", "ann", "m3", "ignored")[0].body == "b3"  # the first body stays
    store.close()


def test_a_store_shared_by_threads_gives_each_append_its_own_seq(store: Store) -> None:
    # SQLiteStore opens its connection for use from any thread: its transactions must not
    # interleave ("cannot start a transaction within a transaction")
    results: list[tuple[tuple[str, str], int, bool]] = []
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        for i in range(100):
            # one message of its own, and one that all three threads send (retries of it)
            for sender, cmid in ((name, f"own{i}"), ("dan", f"shared{i}")):
                try:
                    msg, new = store.append("c", sender, cmid, "x")
                    results.append(((msg.sender, msg.client_msg_id), msg.seq, new))
                except BaseException as exc:
                    errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in ("ann", "bob", "cy")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == 600
    stored = store.read("c", 0, 10_000)
    first = {key: seq for key, seq, new in results if new}
    assert len(first) == sum(new for *_, new in results) == 400  # each message stored once
    assert sorted(first.values()) == [m.seq for m in stored] == list(range(1, 401))
    assert {(m.sender, m.client_msg_id): m.seq for m in stored} == first
    assert all(first[key] == seq for key, seq, _ in results)  # a retry gets the first seq
    store.close()


def test_sqlite_survives_a_restart_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "chat.db"
    first = SQLiteStore(path)
    for i in range(5):
        first.append("c", "ann", f"m{i}", f"hello {i}")
    first.close()
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    again = SQLiteStore(path)
    assert [m.body for m in again.read("c")] == [f"hello {i}" for i in range(5)]
    assert again.append("c", "ann", "m2", "retry after restart") == (
        again.read("c", 2, 1)[0],
        False,
    )
    assert again.append("c", "ann", "m5", "new")[0].seq == 6
    again.close()


def test_a_failed_sqlite_append_is_our_error_and_writes_nothing(tmp_path: Path) -> None:
    """Another process holds the write lock past the busy timeout, then the disk fills up
    mid-transaction: each append raises the family's error, rolls back, and the store stays
    usable with nothing half-written (the next message takes the next seq)."""
    from designpatterns_ref.messaging import MessagingError

    path = tmp_path / "chat.db"
    store = SQLiteStore(path)
    store._db.execute("PRAGMA busy_timeout=50")  # fail fast
    store.append("c", "ann", "m0", "first")
    other = sqlite3.connect(path, isolation_level=None)  # a second process writing
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(MessagingError, match="locked"):
        store.append("c", "ann", "m1", "while locked")
    other.execute("COMMIT")
    (pages,) = store._db.execute("PRAGMA page_count").fetchone()
    store._db.execute(f"PRAGMA max_page_count={pages}")  # the disk is full
    with pytest.raises(MessagingError, match="full"):
        store.append("c", "bob", "m1", "x" * 4000)
    store._db.execute("PRAGMA max_page_count=1073741823")
    assert store.append("c", "ann", "m1", "after")[0].seq == 2
    assert [(m.seq, m.body) for m in store.read("c")] == [(1, "first"), (2, "after")]
    store.close()
    assert other.execute("SELECT seq, body FROM messages").fetchall() == [
        (1, "first"),
        (2, "after"),
    ]
    other.close()


def test_redis_store_keeps_one_stream_per_conversation(redis_url: str) -> None:
    import redis

    store = RedisStore(redis_url, prefix="demo")
    store.append("general", "ann", "m1", "hi")
    store.append("general", "bob", "m1", "yo")
    raw = redis.Redis.from_url(redis_url, decode_responses=True)
    assert raw.type("demo:log:general") == "stream"
    assert [eid for eid, _ in raw.xrange("demo:log:general")] == ["1-0", "2-0"]
    assert sorted(raw.keys("demo:*")) == ["demo:ids:general", "demo:log:general"]
    other = RedisStore(redis_url, prefix="demo")  # a second gateway process sees the same log
    assert [m.body for m in other.read("general")] == ["hi", "yo"]


def test_redis_store_keeps_its_sequence_whatever_happens_to_keys_beside_the_log(
    redis_url: str,
) -> None:
    """The seq comes from the stream itself: deleting (or an eviction of) any key of the prefix
    that is not the log or the idempotency hash loses nothing and the next append goes on."""
    import redis

    store = RedisStore(redis_url, prefix="demo")
    for i in range(3):
        store.append("c", "ann", f"m{i}", "hi")
    raw = redis.Redis.from_url(redis_url, decode_responses=True)
    for key in raw.keys("demo:*"):
        if raw.type(key) not in ("stream", "hash"):
            raw.delete(key)  # a counter, were there one, evicted
    assert store.last_seq("c") == 3
    assert store.append("c", "bob", "x0", "yo") == (Message("c", 4, "bob", "x0", "yo"), True)
    assert [m.seq for m in store.read("c")] == [1, 2, 3, 4]


def test_a_redis_append_redis_refuses_is_our_error_and_writes_nothing(redis_url: str) -> None:
    """A command Redis refuses (here WRONGTYPE: the log's key holds a string) raises
    MessagingError, not redis-py's ResponseError, and leaves every key as it was, so the next
    append once the log is back takes the next seq."""
    import redis

    store = RedisStore(redis_url, prefix="demo")
    store.append("c", "ann", "m0", "hi")
    raw = redis.Redis.from_url(redis_url, decode_responses=True)
    (log,) = [k for k in raw.keys("demo:*") if raw.type(k) == "stream"]
    raw.rename(log, "elsewhere")
    raw.set(log, "not a stream")
    before = {k: raw.dump(k) for k in raw.keys("*")}
    for call in (
        lambda: store.append("c", "bob", "m1", "yo"),
        lambda: store.read("c"),
        lambda: store.last_seq("c"),
    ):
        with pytest.raises(MessagingError, match="WRONGTYPE"):
            call()
    assert {k: raw.dump(k) for k in raw.keys("*")} == before
    raw.delete(log)
    raw.rename("elsewhere", log)
    assert store.append("c", "bob", "m1", "yo")[0].seq == 2


def test_redis_keys_of_ids_holding_colons_never_meet(redis_url: str) -> None:
    """Conversation ``x:log`` (its members set) and conversation ``members:x`` (its log), or
    ``c:seq`` and ``c``, are different conversations: no key of one is a key of the other."""
    directory = Directory(redis_url)
    store = RedisStore(redis_url)
    directory.join("x:log", "ann")
    assert store.append("members:x", "ann", "m1", "hi")[0].seq == 1
    assert directory.members("x:log") == ["ann"]
    assert store.append("c:seq", "bob", "m1", "hi")[0].seq == 1
    assert store.last_seq("c") == 0
    assert store.append("c", "bob", "m1", "yo")[0].seq == 1
    assert [m.body for m in store.read("c")] == ["yo"]
    assert [m.body for m in store.read("c:seq")] == ["hi"]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(convs=st.lists(st.lists(st.sampled_from(["log", "ids", "seq", "members", "x", ""]),
                               min_size=1, max_size=4).map(":".join).filter(bool),
                      min_size=2, max_size=5, unique=True))  # fmt: skip
def test_redis_store_and_directory_against_one_dict_per_conversation(
    redis_url: str, convs: list[str]
) -> None:
    """Ids built of the key words and ``:``: every conversation keeps its own log and members,
    as a dict per conversation would."""
    prefix = f"p{uuid.uuid4().hex[:8]}"
    directory, store = Directory(redis_url, prefix=prefix), RedisStore(redis_url, prefix=prefix)
    for i, conv in enumerate(convs):
        directory.join(conv, f"u{i}")
        store.append(conv, f"u{i}", "m", conv)
    for i, conv in enumerate(convs):
        assert directory.members(conv) == [f"u{i}"]
        assert [(m.seq, m.body) for m in store.read(conv)] == [(1, conv)]
        assert store.last_seq(conv) == 1


def test_group_receipts_count_members_and_devices() -> None:
    server = ChatServer()
    for user in ("ann", "bob", "cy", "dee"):
        server.join("g", user)
    server.connect("bob", "phone", {}), server.connect("bob", "laptop", {})
    server.connect("cy", "phone", {}), server.connect("dee", "phone", {})
    _, targets = server.send("ann", "g", "m1", "lunch?")
    assert len(targets) == 4 and server.receipt("g", 1).state == "sent"
    for user, dev in [("bob", "phone"), ("cy", "phone"), ("dee", "phone")]:
        server.ack(user, dev, "g", 1)
    assert server.receipt("g", 1).delivered_to == 2  # bob's laptop has not acked
    server.ack("bob", "laptop", "g", 1)
    assert server.receipt("g", 1).state == "delivered"
    server.read("cy", "g", 1)
    r = server.receipt("g", 1)
    assert (r.state, r.read_by, r.recipients) == ("delivered", 1, 3)  # "read by 1 of 3"
    server.read("bob", "g", 1), server.read("dee", "g", 1)
    assert server.receipt("g", 1).state == "read"


def test_presence_coalesces_a_flapping_connection() -> None:
    clock = ManualClock()
    p = Presence(clock, ttl=10)
    p.subscribe("bob", "ann"), p.subscribe("cy", "ann")
    p.heartbeat("ann")
    assert p.flush() == [("bob", "ann", "online"), ("cy", "ann", "online")]
    for _ in range(10):  # flapping inside one coalescing window
        p.disconnect("ann")
        p.heartbeat("ann")
    assert p.flush() == []
    p.heartbeat("ann", "away")
    assert p.flush() == [("bob", "ann", "away"), ("cy", "ann", "away")]
    clock.advance(10.5)
    assert p.state("ann") == "offline" and p.last_seen("ann") == 0.0
    assert p.flush() == [("bob", "ann", "offline"), ("cy", "ann", "offline")]
    assert p.state("nobody") == "offline" and p.last_seen("nobody") is None
    assert p.flush() == [] and p.events_sent == 6
