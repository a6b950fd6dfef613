"""A conversation log wiped and regrown past what a reader saw, before any sign reached it.

Seqs alone cannot tell such a log from the old one (its end is past every end seen before,
and no seq a client showed need come back to it); the log's epoch can. Checked against a
model on every store (memory, SQLite, Redis): the server's receipts (a ChatServer's acks and
read markers start again with the new log, as the model's do), and a client connected
through the gateway, which must end every step showing exactly the log the store holds,
never the old log's head followed by the new log's tail."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from designpatterns_ref.messaging import ChatServer, MemoryStore, RedisStore, SQLiteStore, Store
from designpatterns_ref.messaging.client import Client
from designpatterns_ref.messaging.gateway import Gateway
from designpatterns_ref.messaging.token import make_token

SECRET = b"test-secret"
KINDS = ["memory", "sqlite", "redis"]


def token(user: str) -> str:
    return make_token(SECRET, user, expires=time.time() + 600)


class Backend:
    """One store of a kind, a second handle on the same log (another process's appends, never
    seen by the server under test) and a way to wipe a log under both, as a store reset does:
    its messages and idempotency keys go."""

    def __init__(self, kind: str, tmp_path: Path, redis_url: str | None) -> None:
        self.kind, self.name = kind, uuid.uuid4().hex
        if kind == "memory":
            self.store: Store = MemoryStore()
            self.other: Store = self.store
        elif kind == "sqlite":
            self.path = tmp_path / f"{self.name}.db"
            self.store, self.other = SQLiteStore(self.path), SQLiteStore(self.path)
        else:
            assert redis_url is not None
            self.url = redis_url
            self.store = RedisStore(redis_url, prefix=self.name)
            self.other = RedisStore(redis_url, prefix=self.name)

    def wipe(self, conv: str) -> None:
        """Wipe ``conv``'s log; in memory and SQLite the record of its epoch stays behind (the
        new log's first message must replace it)."""
        if self.kind == "memory":
            store: Any = self.store
            store._logs.pop(conv, None)
            store._ids = {k: v for k, v in store._ids.items() if k[0] != conv}
        elif self.kind == "sqlite":
            db = sqlite3.connect(self.path)
            with db:
                db.execute("DELETE FROM messages WHERE conv=?", (conv,))
            db.close()
        else:
            import redis

            raw = redis.Redis.from_url(self.url)
            raw.delete(f"{self.name}:log:{conv}", f"{self.name}:ids:{conv}")
            raw.close()

    def close(self) -> None:
        self.store.close()
        if self.other is not self.store:
            self.other.close()


@pytest.fixture(params=KINDS)
def backends(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], Backend]:
    """A factory of fresh backends of one kind."""
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    return lambda: Backend(request.param, tmp_path, url)


class ReceiptsOverAResetLog(RuleBasedStateMachine):
    """A ChatServer's receipts against a model: bob's ack cursor and read marker are the
    highest he sent of the log the store holds now, 0 once it was wiped, however far the new
    log then grew (by the server's sends or another process's appends) before the server next
    looked at it."""

    make: Callable[[], Backend]

    @initialize()
    def start(self) -> None:
        self.backend = self.make()
        self.server = ChatServer(self.backend.store)
        self.server.join("c", "ann")
        self.server.join("c", "bob")
        self.server.connect("bob", "phone", {})
        self.length = self.acked = self.marked = 0
        self.n = 0

    def teardown(self) -> None:
        if hasattr(self, "backend"):
            self.backend.close()

    def _id(self) -> str:
        self.n += 1
        return f"m{self.n}"

    @rule(k=st.integers(1, 3))
    def send(self, k: int) -> None:
        for _ in range(k):
            self.server.send("ann", "c", self._id(), "hi")
        self.length += k

    @rule(k=st.integers(1, 6))
    def another_process_appends(self, k: int) -> None:
        for _ in range(k):
            self.backend.other.append("c", "ann", self._id(), "hi")
        self.length += k

    @rule(k=st.integers(0, 6))
    def wipe(self, k: int) -> None:
        """The log wiped and regrown by ``k`` appends of another process, with no look of
        the server's in between."""
        self.backend.wipe("c")
        self.length = self.acked = self.marked = 0
        if k:
            self.another_process_appends(k)

    @rule(part=st.floats(0, 1))
    def ack(self, part: float) -> None:
        seq = int(part * self.length)
        self.server.ack("bob", "phone", "c", seq)
        self.acked = max(self.acked, seq)

    @rule(part=st.floats(0, 1))
    def read(self, part: float) -> None:
        seq = int(part * self.length)
        self.server.read("bob", "c", seq)
        self.marked = max(self.marked, seq)

    @invariant()
    def receipts_match(self) -> None:
        if not hasattr(self, "server"):
            return
        assert self.server.last_seq("c") == self.length
        assert self.server.receipts.acked("bob", "phone", "c") == self.acked
        assert self.server.receipts.read_marker("bob", "c") == self.marked


def test_receipts_start_again_when_the_log_is_wiped_and_regrown(
    backends: Callable[[], Backend],
) -> None:
    """Before epochs: bob read 3, the log was wiped and regrew to 5 through another process,
    and the server, seeing an end past 3, kept bob's marker: the new log's seq 3 read."""

    class Machine(ReceiptsOverAResetLog):
        make = staticmethod(backends)

    Machine.TestCase.settings = settings(
        max_examples=30, stateful_step_count=25, deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )  # fmt: skip
    Machine.TestCase().runTest()


async def until(condition: Callable[[], bool], limit: float, why: Callable[[], object]) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, why()
        await asyncio.sleep(0.02)


STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("send"), st.integers(1, 3)),
        st.tuples(st.just("other"), st.integers(1, 6)),
        st.tuples(st.just("wipe"), st.integers(0, 6)),
    ),
    min_size=1,
    max_size=6,
)


def test_a_client_shows_the_log_the_store_holds_after_every_step(
    backends: Callable[[], Backend],
) -> None:
    """ann sends through the gateway, another process appends to the same log (nothing
    pushed), the log is wiped; after each step bob's client, connected throughout, shows
    exactly the store's log, once and in order. Before epochs, a log wiped and regrown past
    bob's cursor by another process was fetched from the cursor on and shown after the old
    log's head (old 1..3, then new 4..5)."""

    @settings(max_examples=10, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
    @given(steps=STEPS)
    @example(steps=[("send", 3), ("wipe", 5)])  # regrown past bob's cursor, 3
    def run(steps: list[tuple[str, int]]) -> None:
        backend = backends()
        try:
            asyncio.run(steps_through_the_gateway(backend, steps))
        finally:
            backend.close()

    run()


def log(backend: Backend) -> list[tuple[int, str]]:
    return [(m.seq, m.body) for m in backend.store.read("c")]


def shown(client: Client) -> list[tuple[int, str]]:
    return [(m.seq, m.body) for m in client.shown("c")]


async def steps_through_the_gateway(backend: Backend, steps: list[tuple[str, int]]) -> None:
    gw = Gateway(secret=SECRET, store=backend.store)
    gw.join("c", "ann")
    gw.join("c", "bob")
    n = 0
    async with (
        gw,
        Client(gw.url, token("ann"), "a", seed=1, heartbeat=0.05) as ann,
        Client(gw.url, token("bob"), "b", seed=2, heartbeat=0.05) as bob,
    ):
        for op, k in steps:
            if op == "wipe":
                backend.wipe("c")
            for _ in range(k):
                n += 1
                if op == "send":
                    await ann.send("c", f"ann {n}")  # pushed to bob
                else:  # another process's appends (after a wipe: in the same step), not pushed
                    backend.other.append("c", "cy", f"o{n}", f"cy {n}")
            await ann.wait_sent()
            # the store's log when bob is checked: a retry of ann's that was on the wire when
            # the log was wiped (its idempotency key with it) is stored again, and may land late
            await until(lambda: shown(bob) == log(backend), 5.0,
                        lambda: (steps, shown(bob), log(backend)))  # fmt: skip


def test_the_edge_gateway_tells_a_connected_client_of_a_log_wiped_and_regrown(
    redis_url: str,
) -> None:
    """The same on the stateless edge gateway (log in Redis, fan-out over Pub/Sub): bob
    showed 1..3, the log is wiped and another process appends five; bob ends showing the
    five, not old 1..3 and new 4..5."""
    import redis

    from designpatterns_ref.messaging.channelserver import ChannelServer
    from designpatterns_ref.messaging.directory import Directory
    from designpatterns_ref.messaging.edge import EdgeGateway

    for user in ("ann", "bob"):
        Directory(redis_url).join("c", user)

    async def main() -> None:
        async with (
            ChannelServer(redis_url, name="cs-a") as cs,
            EdgeGateway(redis_url, {"cs-a": cs.address}, secret=SECRET) as gw,
            Client(gw.url, token("ann"), "a", seed=1, heartbeat=0.05) as ann,
            Client(gw.url, token("bob"), "b", seed=2, heartbeat=0.05) as bob,
        ):
            for i in range(3):
                await ann.send("c", f"old {i}")
            await ann.wait_sent()
            await bob.wait_for("c", 3)
            redis.Redis.from_url(redis_url).delete("dp:msg:log:c", "dp:msg:ids:c")
            other = RedisStore(redis_url)
            for i in range(5):
                other.append("c", "ann", f"n{i}", f"new {i}")
            # the store's log when bob is checked: a retry of ann's on the wire during the wipe
            # is stored again after the five
            log = lambda: [(m.seq, m.body) for m in other.read("c")]  # noqa: E731
            shown = lambda: [(m.seq, m.body) for m in bob.shown("c")]  # noqa: E731
            await until(lambda: shown() == log(), 5.0, lambda: (shown(), log()))
            assert [body for _, body in log()][:5] == [f"new {i}" for i in range(5)]
            assert bob.resets == ["c"]
            other.close()

    asyncio.run(main())


@pytest.mark.parametrize("edge", [False, True])
def test_a_hello_whose_cursor_counts_in_a_wiped_log_is_told_to_start_afresh(
    redis_url: str, edge: bool
) -> None:
    """A device that showed 1..3 of the old log says hello after the log was wiped and grew
    to 5: its cursor is within the new log, but its epoch is the old one's, so ``ready``
    names the reset and the replay starts at seq 1."""
    import redis
    from websockets.asyncio.client import connect

    from designpatterns_ref.messaging.channelserver import ChannelServer
    from designpatterns_ref.messaging.directory import Directory
    from designpatterns_ref.messaging.edge import EdgeGateway

    store = RedisStore(redis_url)
    old = [store.append("c", "ann", f"o{i}", "old")[0] for i in range(3)]
    redis.Redis.from_url(redis_url).delete("dp:msg:log:c", "dp:msg:ids:c")
    new = [store.append("c", "ann", f"n{i}", "new")[0] for i in range(5)]
    assert old[0].epoch != new[0].epoch
    Directory(redis_url).join("c", "ann")

    async def hello(url: str) -> None:
        async with connect(url, ping_interval=None) as ws:
            frame = {"op": "hello", "token": token("ann"), "device": "d",
                     "cursors": {"c": 3}, "epochs": {"c": old[0].epoch}}  # fmt: skip
            await ws.send(json.dumps(frame))
            ready = json.loads(await ws.recv())
            assert ready["op"] == "ready" and ready["reset"] == {"c": 5}
            first = json.loads(await ws.recv())
            assert (first["seq"], first["epoch"]) == (1, new[0].epoch)

    async def main() -> None:
        if edge:
            async with (
                ChannelServer(redis_url, name="cs-a") as cs,
                EdgeGateway(redis_url, {"cs-a": cs.address}, secret=SECRET) as gw,
            ):
                await hello(gw.url)
        else:
            gw = Gateway(secret=SECRET, store=store)
            gw.join("c", "ann")
            async with gw:
                await hello(gw.url)

    asyncio.run(main())
    store.close()


@pytest.mark.parametrize(
    "frame",
    [
        {"op": "hello", "epochs": 7},
        {"op": "hello", "epochs": {"c": 5}},
        {"op": "hello", "epochs": {"c": ""}},
        {"op": "hello", "epochs": {"c": "x" * 200}},
        {"op": "hello", "epochs": {"": "e"}},
        {"op": "ack", "conv": "c", "seq": 1, "epoch": 5},
        {"op": "ack", "conv": "c", "seq": 1, "epoch": "x" * 200},
        {"op": "read", "conv": "c", "seq": 1, "epoch": []},
    ],
    ids=repr,
)
def test_a_hostile_epoch_is_refused_with_4000_and_changes_nothing(frame: dict[str, Any]) -> None:
    from websockets.asyncio.client import connect

    async def main() -> None:
        gw = Gateway(secret=SECRET)
        gw.join("c", "ann")
        gw.server.send("ann", "c", "m1", "hi")
        async with gw, connect(gw.url, ping_interval=None) as ws:
            hello = {"op": "hello", "token": token("ann"), "device": "d", "cursors": {"c": 1}}
            if frame["op"] == "hello":
                await ws.send(json.dumps({**hello, **frame}))
            else:
                await ws.send(json.dumps(hello))
                assert json.loads(await ws.recv())["op"] == "ready"
                await ws.send(json.dumps(frame))
            while (reply := json.loads(await ws.recv()))["op"] != "error":
                pass
            assert reply["code"] == 4000 and (
                "epoch" in reply["reason"] or "conv=''" in reply["reason"]
            )
        assert gw.server.receipts.acked("ann", "d", "c") == 0
        assert gw.server.receipts.read_marker("ann", "c") == 0

    asyncio.run(main())


def test_an_ack_or_read_of_a_log_that_is_gone_vouches_for_nothing() -> None:
    """bob's device acked and read 2 of a log that was then wiped and regrew to 3: its late
    ack and read, naming the old epoch, move no cursor of the new log; ones naming the new
    epoch (or none) do."""
    backend = Backend("memory", Path("."), None)
    server = ChatServer(backend.store)
    server.join("c", "ann")
    server.join("c", "bob")
    server.connect("bob", "phone", {})
    old = [server.send("ann", "c", f"o{i}", "old")[0] for i in range(2)]
    backend.wipe("c")
    new = [server.send("ann", "c", f"n{i}", "new")[0] for i in range(3)]
    server.ack("bob", "phone", "c", 2, epoch=old[0].epoch)
    server.read("bob", "c", 2, epoch=old[0].epoch)
    assert server.receipts.acked("bob", "phone", "c") == 0
    assert server.receipts.read_marker("bob", "c") == 0
    assert server.receipt("c", 2).state == "sent"
    server.ack("bob", "phone", "c", 2, epoch=new[0].epoch)
    server.read("bob", "c", 1)
    assert server.receipt("c", 1).state == "read" and server.receipt("c", 2).state == "delivered"
