"""Every store (memory, SQLite on a file, Redis) and the receipts against a short model, under
random sequences of operations: appends, retries (with another body too), refused calls
(bad ids, bodies, cursors, limits), reads at and past the ends, reopening the SQLite file,
deleting a Redis log under its idempotency hash, and acks and read markers sent twice, late
or out of order.

The model of a store is a list of ``(sender, client_msg_id, body)`` per conversation and a
dict ``(conv, sender, client_msg_id) -> seq``: an append returns the seq the dict holds (with
the first body) or the list's new length; a read is a slice. The model of receipts is the
maximum of every cursor and marker, delivered replays the whole history of device
registrations, removals, acks and resets, and a message's state is the published formula."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from designpatterns_ref.messaging import (
    MemoryStore,
    Message,
    MessagingError,
    Receipts,
    RedisStore,
    SQLiteStore,
    Store,
)
from designpatterns_ref.messaging.base import MAX_BODY, MAX_ID, MAX_SEQ

CONVS = ["c", "d:1"]
SENDERS = ["ann", "bob"]
BAD_IDS: list[object] = ["", "x" * (MAX_ID + 1), "a\x00b", "\udc80", 7, None, b"ann"]
BAD_BODIES: list[object] = ["x" * (MAX_BODY + 1), "\ud800", 3, None]
BAD_SEQS: list[object] = [-1, MAX_SEQ + 1, True, 1.0, "1", None]

STATEFUL = settings(
    max_examples=25,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class StoreModel(RuleBasedStateMachine):
    """One store beside the model; a subclass says how to open it (``fresh``: a new, empty
    one for this example; otherwise the same one again, for a reopen)."""

    reopenable = False
    raw: Any = None  # a redis.Redis on the store's server, to delete a log under it
    prefix = ""

    def open_store(self, fresh: bool) -> Store:
        raise NotImplementedError

    @initialize()
    def start(self) -> None:
        self.store = self.open_store(fresh=True)
        self.logs: dict[str, list[tuple[str, str, str]]] = {c: [] for c in CONVS}
        self.ids: dict[tuple[str, str, str], int] = {}

    def teardown(self) -> None:
        if hasattr(self, "store"):
            self.store.close()

    @rule(
        conv=st.sampled_from(CONVS),
        sender=st.sampled_from(SENDERS),
        cmid=st.sampled_from(["m1", "m2", "m3", "m:4"]),
        body=st.sampled_from(["", "hi", "é ☃", "x" * MAX_BODY]),
    )
    def append(self, conv: str, sender: str, cmid: str, body: str) -> None:
        msg, created = self.store.append(conv, sender, cmid, body)
        seq = self.ids.get((conv, sender, cmid))
        assert created == (seq is None)
        if seq is None:
            self.logs[conv].append((sender, cmid, body))
            seq = self.ids[(conv, sender, cmid)] = len(self.logs[conv])
        assert msg == Message(conv, seq, sender, cmid, self.logs[conv][seq - 1][2])

    @rule(
        which=st.integers(0, 3),
        bad=st.sampled_from(BAD_IDS),
        body=st.sampled_from(BAD_BODIES),
    )
    def refused_append(self, which: int, bad: object, body: object) -> None:
        args: list[object] = ["c", "ann", "m9", "ok"]
        args[which] = body if which == 3 else bad
        with pytest.raises(MessagingError):
            self.store.append(*args)  # type: ignore[arg-type]

    @rule(conv=st.sampled_from(CONVS), after=st.integers(0, 8), limit=st.integers(1, 8))
    def read(self, conv: str, after: int, limit: int) -> None:
        got = [
            (m.seq, m.sender, m.client_msg_id, m.body) for m in self.store.read(conv, after, limit)
        ]
        log = self.logs[conv]
        want = [(s, *log[s - 1]) for s in range(after + 1, min(len(log), after + limit) + 1)]
        assert got == want

    @rule(conv=st.sampled_from(CONVS), after=st.sampled_from([*BAD_SEQS, MAX_SEQ]),
          limit=st.sampled_from([0, *BAD_SEQS, MAX_SEQ]))  # fmt: skip
    def read_at_the_bounds(self, conv: str, after: object, limit: object) -> None:
        ok = lambda v, low: type(v) is int and low <= v <= MAX_SEQ  # noqa: E731
        if ok(after, 0) and ok(limit, 1):
            assert self.store.read(conv, after, limit) == []  # type: ignore[arg-type]
        else:
            with pytest.raises(MessagingError):
                self.store.read(conv, after, limit)  # type: ignore[arg-type]

    @rule(bad=st.sampled_from(BAD_IDS))
    def refused_read(self, bad: object) -> None:
        with pytest.raises(MessagingError):
            self.store.read(bad)  # type: ignore[arg-type]
        with pytest.raises(MessagingError):
            self.store.last_seq(bad)  # type: ignore[arg-type]

    @rule()
    def reopen(self) -> None:
        if self.reopenable:
            self.store.close()
            self.store = self.open_store(fresh=False)

    @rule(conv=st.sampled_from(CONVS))
    def lose_the_log(self, conv: str) -> None:
        """The stream deleted (evicted) and its idempotency hash left behind: the store goes
        on as on a new conversation, and a retry is appended anew, never answered with
        another sender's message."""
        if self.raw is not None:
            self.raw.delete(f"{self.prefix}:log:{conv}")
            self.logs[conv] = []
            self.ids = {k: v for k, v in self.ids.items() if k[0] != conv}

    @invariant()
    def last_seqs_match(self) -> None:
        if hasattr(self, "store"):
            for conv in CONVS:
                assert self.store.last_seq(conv) == len(self.logs[conv])


def test_memory_store_against_the_model() -> None:
    class Machine(StoreModel):
        def open_store(self, fresh: bool) -> Store:
            return MemoryStore()

    run_state_machine_as_test(Machine, settings=STATEFUL)


def test_sqlite_store_against_the_model(tmp_path: Path) -> None:
    class Machine(StoreModel):
        reopenable = True

        def open_store(self, fresh: bool) -> Store:
            if fresh:
                self.path = tmp_path / f"chat-{uuid.uuid4().hex}.db"
            return SQLiteStore(self.path)

    run_state_machine_as_test(Machine, settings=STATEFUL)


def test_redis_store_against_the_model(redis_url: str) -> None:
    import redis

    raw = redis.Redis.from_url(redis_url)

    class Machine(StoreModel):
        def open_store(self, fresh: bool) -> Store:
            self.raw, self.prefix = raw, f"t{uuid.uuid4().hex}"
            return RedisStore(redis_url, prefix=self.prefix)

    run_state_machine_as_test(Machine, settings=STATEFUL)
    raw.close()


def test_a_redis_retry_after_its_log_was_lost_is_appended_anew(redis_url: str) -> None:
    """Before: the stale hash entry answered ann's retry with bob's message at the same seq,
    and, on an empty log, every retry failed with a script error for ever."""
    import redis

    store = RedisStore(redis_url, prefix="p")
    store.append("c", "ann", "m1", "hi")
    store.append("c", "ann", "m2", "there")
    raw = redis.Redis.from_url(redis_url)
    raw.delete("p:log:c")
    assert store.append("c", "ann", "m1", "hi") == (Message("c", 1, "ann", "m1", "hi"), True)
    store.append("c", "bob", "x", "new")
    assert store.append("c", "ann", "m2", "there") == (Message("c", 3, "ann", "m2", "there"), True)
    assert [m.client_msg_id for m in store.read("c")] == ["m1", "x", "m2"]
    raw.close()
    store.close()


def test_a_sqlite_append_that_fails_at_commit_leaves_the_file_as_before(tmp_path: Path) -> None:
    """A crash between the insert and the commit: the transaction is rolled back, and the file
    reopened holds the model's log without the failed message, whose retry then succeeds."""

    class FailAtCommit:
        def __init__(self, db: sqlite3.Connection) -> None:
            self.db = db

        def execute(self, sql: str, *args: Any) -> Any:
            if sql == "COMMIT":
                raise sqlite3.OperationalError("disk I/O error")
            return self.db.execute(sql, *args)

        def __getattr__(self, name: str) -> Any:
            return getattr(self.db, name)

    path = tmp_path / "chat.db"
    store = SQLiteStore(path)
    store.append("c", "ann", "m1", "first")
    real = store._db
    store._db = FailAtCommit(real)  # type: ignore[assignment]
    with pytest.raises(MessagingError, match="I/O"):
        store.append("c", "bob", "m2", "lost")
    store._db = real
    store.close()
    again = SQLiteStore(path)
    assert [(m.seq, m.client_msg_id) for m in again.read("c")] == [(1, "m1")]
    assert again.append("c", "bob", "m2", "lost") == (Message("c", 2, "bob", "m2", "lost"), True)
    again.close()


Event = tuple[str, ...]


def replay(history: list[Event], user: str, conv: str, seq: int) -> bool:
    """Whether message ``seq`` of ``conv`` is delivered to ``user``, by replaying
    ``history`` from the start: it is once, since ``conv`` was last forgotten, an ack of the
    user in ``conv`` or a removal of one of the user's devices left the user with at least one
    registered device and every registered device's cursor at ``seq`` or past it."""
    devices: set[str] = set()
    acked: dict[tuple[str, str], int] = {}  # (device, conv) -> cursor, of ``user`` only
    delivered = False
    for kind, *args in history:
        moment = False
        if kind == "add" and args[0] == user:
            devices.add(args[1])
        elif kind == "remove" and args[0] == user:
            devices.discard(args[1])
            acked = {k: v for k, v in acked.items() if k[0] != args[1]}
            moment = True
        elif kind == "ack" and args[0] == user:
            key = (args[1], args[2])
            acked[key] = max(acked.get(key, 0), int(args[3]))
            moment = args[2] == conv
        elif kind == "forget":
            acked = {k: v for k, v in acked.items() if k[1] != args[0]}
            delivered = delivered and args[0] != conv
        if moment and devices and all(acked.get((d, conv), 0) >= seq for d in devices):
            delivered = True
    return delivered


class ReceiptsModel(RuleBasedStateMachine):
    """Devices registered and removed, acks and read markers in any order, repeated, late:
    each cursor is the maximum sent, and delivered is replayed from the whole history."""

    DEVICES: ClassVar[dict[str, list[str]]] = {"ann": ["a1"], "bob": ["b1", "b2"], "cy": ["c1"]}

    def __init__(self) -> None:
        super().__init__()
        self.r = Receipts()
        self.acked: dict[tuple[str, str, str], int] = {}
        self.marks: dict[tuple[str, str], int] = {}
        self.registered: dict[str, set[str]] = {}
        self.history: list[Event] = []

    @initialize()
    def register_everyone(self) -> None:
        for user, devices in self.DEVICES.items():
            for i in range(len(devices)):
                self.add_device(user, i)

    def snapshot(self) -> object:
        return (
            dict(self.r._acked),
            dict(self.r._delivered),
            dict(self.r._read),
            {k: set(v) for k, v in self.r._devices.items()},
        )

    @rule(user=st.sampled_from(list(DEVICES)), i=st.integers(0, 1))
    def add_device(self, user: str, i: int) -> None:
        device = self.DEVICES[user][i % len(self.DEVICES[user])]
        self.r.add_device(user, device)
        self.registered.setdefault(user, set()).add(device)
        self.history.append(("add", user, device))

    @rule(user=st.sampled_from(list(DEVICES)), i=st.integers(0, 1))
    def remove_device(self, user: str, i: int) -> None:
        device = self.DEVICES[user][i % len(self.DEVICES[user])]
        if device not in self.registered.get(user, set()):
            before = self.snapshot()
            with pytest.raises(MessagingError, match=f"device='{device}'"):
                self.r.remove_device(user, device)
            assert self.snapshot() == before
            return
        self.r.remove_device(user, device)
        self.registered[user].discard(device)
        self.acked = {k: v for k, v in self.acked.items() if k[:2] != (user, device)}
        self.history.append(("remove", user, device))

    @rule(user=st.sampled_from(list(DEVICES)), i=st.integers(0, 1),
          conv=st.sampled_from(CONVS), seq=st.integers(0, 6))  # fmt: skip
    def ack(self, user: str, i: int, conv: str, seq: int) -> None:
        device = self.DEVICES[user][i % len(self.DEVICES[user])]
        self.r.ack(user, device, conv, seq)
        key = (user, device, conv)
        self.acked[key] = max(self.acked.get(key, 0), seq)
        self.history.append(("ack", user, device, conv, str(seq)))

    @rule(user=st.sampled_from(list(DEVICES)), conv=st.sampled_from(CONVS), seq=st.integers(0, 6))
    def read(self, user: str, conv: str, seq: int) -> None:
        self.r.read(user, conv, seq)
        self.marks[(user, conv)] = max(self.marks.get((user, conv), 0), seq)

    @rule(conv=st.sampled_from(CONVS))
    def forget(self, conv: str) -> None:
        self.r.forget(conv)
        self.acked = {k: v for k, v in self.acked.items() if k[2] != conv}
        self.marks = {k: v for k, v in self.marks.items() if k[1] != conv}
        self.history.append(("forget", conv))

    @rule(seq=st.sampled_from(BAD_SEQS), bad=st.sampled_from(BAD_IDS))
    def refused(self, seq: object, bad: object) -> None:
        before = self.snapshot()
        for call in (
            lambda: self.r.ack("ann", "a1", "c", seq),  # type: ignore[arg-type]
            lambda: self.r.read("ann", "c", seq),  # type: ignore[arg-type]
            lambda: self.r.ack(bad, "a1", "c", 1),  # type: ignore[arg-type]
            lambda: self.r.add_device("ann", bad),  # type: ignore[arg-type]
            lambda: self.r.remove_device("ann", bad),  # type: ignore[arg-type]
            lambda: self.r.remove_device(bad, "a1"),  # type: ignore[arg-type]
        ):
            with pytest.raises(MessagingError):
                call()
        assert self.snapshot() == before

    @invariant()
    def cursors_and_states_match(self) -> None:
        for user, devices in self.DEVICES.items():
            assert self.r.devices(user) == self.registered.get(user, set())
            for conv in CONVS:
                assert self.r.read_marker(user, conv) == self.marks.get((user, conv), 0)
                for device in devices:
                    want = self.acked.get((user, device, conv), 0)
                    assert self.r.acked(user, device, conv) == want
        members = list(self.DEVICES)
        for conv in CONVS:
            for seq in range(1, 7):
                got = self.r.status(conv, seq, sender="ann", members=members)
                recipients = ["bob", "cy"]
                delivered = sum(1 for u in recipients if replay(self.history, u, conv, seq))
                read = sum(1 for u in recipients if self.marks.get((u, conv), 0) >= seq)
                state = "read" if read == 2 else "delivered" if delivered == 2 else "sent"
                assert got.state == state and (got.delivered_to, got.read_by) == (delivered, read)
                assert got.recipients == 2
                for u in recipients:
                    mark = self.r.delivered(u, conv)
                    assert (mark >= seq) == replay(self.history, u, conv, seq)


TestReceiptsModel = ReceiptsModel.TestCase
TestReceiptsModel.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)


def test_sqlite_stores_shared_by_threads_and_opened_twice_stay_gap_free(tmp_path: Path) -> None:
    """Writers on one shared store and on a second store of the same file (a second process),
    readers beside them: every read is a gap-free prefix 1..k, k never falls, and the end holds
    every append once."""
    import threading

    path = tmp_path / "chat.db"
    shared, other = SQLiteStore(path), SQLiteStore(path)
    errors: list[BaseException] = []
    done = threading.Event()

    def write(store: SQLiteStore, name: str) -> None:
        try:
            for i in range(40):
                store.append("c", name, f"m{i}", name)
                store.append("c", name, f"m{i}", "a retry")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def read() -> None:
        try:
            last = 0
            while not done.is_set():
                seqs = [m.seq for m in shared.read("c")]
                assert seqs == list(range(1, len(seqs) + 1))
                assert len(seqs) >= last
                last = len(seqs)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    writers = [threading.Thread(target=write, args=(shared, f"w{i}")) for i in range(3)]
    writers += [threading.Thread(target=write, args=(other, f"o{i}")) for i in range(2)]
    readers = [threading.Thread(target=read) for _ in range(2)]
    for thread in writers + readers:
        thread.start()
    for thread in writers:
        thread.join()
    done.set()
    for thread in readers:
        thread.join()
    assert errors == []
    log = shared.read("c")
    assert [m.seq for m in log] == list(range(1, 201))
    assert sorted((m.sender, m.client_msg_id) for m in log) == sorted(
        (w, f"m{i}") for w in ("w0", "w1", "w2", "o0", "o1") for i in range(40)
    )
    shared.close()
    other.close()
