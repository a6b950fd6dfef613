"""A log reset is told from a late answer: a heartbeat whose read of the log's end trails a
message pushed meanwhile is no reset (neither to the gateway, which never reports an end
below what it pushed, nor to the client, which confirms before it starts an inbox afresh);
a sender thread and a reading thread never make the server forget the receipts of a log
that never shrank; and the gateway's sends, like ChatServer.send, notice a log that was
reset and regrew."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from designpatterns_ref.messaging import ChatServer, Message, RedisStore
from designpatterns_ref.messaging.client import Client
from designpatterns_ref.messaging.gateway import Gateway
from designpatterns_ref.messaging.memory import MemoryStore
from designpatterns_ref.messaging.sqlite import SQLiteStore
from designpatterns_ref.messaging.token import make_token

SECRET = b"test-secret"


def token(user: str) -> str:
    return make_token(SECRET, user, expires=time.time() + 600)


class HeldStore(SQLiteStore):
    """A SQLite store whose ``last_seq``, once armed, reads the end and then waits for
    ``release`` before answering: a store slow to answer a heartbeat's read."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.armed, self.entered, self.release = False, threading.Event(), threading.Event()

    def last_seq(self, conv: str) -> int:
        last = super().last_seq(conv)
        if self.armed and threading.current_thread().name.startswith("dp-messaging-reads"):
            self.armed = False
            self.entered.set()
            self.release.wait(5)
        return last


async def next_frame(ws: Any, op: str) -> dict[str, Any]:
    while (frame := json.loads(await asyncio.wait_for(ws.recv(), 5)))["op"] != op:
        pass
    return frame


async def hello(url: str, user: str) -> Any:
    from websockets.asyncio.client import connect

    ws = await connect(url, ping_interval=None)
    await ws.send(json.dumps({"op": "hello", "token": token(user), "device": "d", "cursors": {}}))
    assert (await next_frame(ws, "ready"))["user"] == user
    return ws


def test_a_heartbeat_ack_is_never_below_a_message_pushed_before_it(tmp_path: Path) -> None:
    """ann's heartbeat reads the log's end (1); bob's message 2 is appended and pushed to ann
    while that read waits; the ack that follows says 2, not 1 (which ann would take for a
    log reset)."""

    async def main() -> None:
        store = HeldStore(str(tmp_path / "m.db"))
        async with Gateway(secret=SECRET, store=store) as gw:
            gw.join("c", "ann")
            gw.join("c", "bob")
            ann, bob = await hello(gw.url, "ann"), await hello(gw.url, "bob")
            send = {"op": "send", "conv": "c", "body": "hi"}
            await bob.send(json.dumps({**send, "client_msg_id": "m1"}))
            assert (await next_frame(ann, "message"))["seq"] == 1
            store.armed = True
            await ann.send(json.dumps({"op": "heartbeat"}))
            assert await asyncio.to_thread(store.entered.wait, 5)  # the read saw 1, and waits
            await bob.send(json.dumps({**send, "client_msg_id": "m2"}))
            assert (await next_frame(ann, "message"))["seq"] == 2
            store.release.set()
            assert (await next_frame(ann, "heartbeat_ack"))["last"] == {"c": 2}
            await ann.close()
            await bob.close()
        store.close()

    asyncio.run(main())


class Wire:
    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []

    async def send(self, frame: str) -> None:
        self.frames.append(json.loads(frame))


def shown_three() -> Client:
    client = Client("ws://127.0.0.1:1", "t", "d")
    for seq in (1, 2, 3):
        client.inbox("c").receive(Message("c", seq, "ann", f"m{seq}", "old"))
    return client


def test_a_late_heartbeat_ack_below_the_cursor_is_no_reset() -> None:
    """Messages 1..3 shown, then an ack saying 2 (read before message 3 was pushed): the
    client fetches seq 3 and heartbeats; message 3 comes back as shown, so the next ack
    below the cursor starts a new check, and nothing is ever reset."""

    async def main() -> None:
        client, wire = shown_three(), Wire()
        await client._on(wire, {"op": "heartbeat_ack", "last": {"c": 2}})
        assert client.resets == [] and [m.seq for m in client.shown("c")] == [1, 2, 3]
        assert wire.frames == [
            {"op": "fetch", "conv": "c", "first": 3, "last": 3},
            {"op": "heartbeat", "status": "online"},
        ]
        again = {"op": "message", "conv": "c", "seq": 3, "sender": "ann", "client_msg_id": "m3"}
        await client._on(wire, {**again, "body": "old"})
        await client._on(wire, {"op": "heartbeat_ack", "last": {"c": 2}})
        assert client.resets == [] and [m.seq for m in client.shown("c")] == [1, 2, 3]
        await client._on(wire, {"op": "heartbeat_ack", "last": {"c": 3}})
        assert client.resets == []

    asyncio.run(main())


def test_a_heartbeat_ack_below_the_cursor_starts_the_inbox_afresh_once_confirmed() -> None:
    """The log was reset and its first new message lost on the way: the heartbeat's ``last``
    (1, below the cursor 3) is the only sign. The fetch of seq 3 brings nothing, so the ack
    of the heartbeat sent after it, still below, starts the inbox afresh and fetches."""

    async def main() -> None:
        client, wire = shown_three(), Wire()
        await client._on(wire, {"op": "heartbeat_ack", "last": {"c": 1}})
        assert client.resets == []
        wire.frames.clear()
        await client._on(wire, {"op": "heartbeat_ack", "last": {"c": 1}})
        assert client.resets == ["c"] and client.inboxes["c"].cursor == 0
        assert wire.frames == [{"op": "fetch", "conv": "c", "first": 1, "last": 1}]

    asyncio.run(main())


def test_a_reset_confirmed_by_another_message_at_the_cursor() -> None:
    async def main() -> None:
        client, wire = shown_three(), Wire()
        await client._on(wire, {"op": "heartbeat_ack", "last": {"c": 2}})
        other = {"op": "message", "conv": "c", "seq": 3, "sender": "bob", "client_msg_id": "n3"}
        await client._on(wire, {**other, "body": "new"})
        assert client.resets == ["c"]

    asyncio.run(main())


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_sender_and_a_reader_never_forget_the_receipts_of_a_log_that_never_shrank(
    kind: str, tmp_path: Path
) -> None:
    """One thread sends, another acks and reads up to the end it reads: a read that started
    before a send finished notes its (lower) end after the send did. The server confirms
    before it forgets; it used to forget dozens of times in 1,000 SQLite sends."""
    store = MemoryStore() if kind == "memory" else SQLiteStore(str(tmp_path / "m.db"))
    sends = 5000 if kind == "memory" else 1000  # the memory store's window is narrow
    server = ChatServer(store)
    server.join("c", "ann")
    server.join("c", "bob")
    server.connect("bob", "phone", {})
    forgotten: list[int] = []
    forget = server.receipts.forget
    server.receipts.forget = lambda conv: (forgotten.append(store.last_seq(conv)), forget(conv))  # type: ignore[method-assign]
    done = threading.Event()

    def sender() -> None:
        for i in range(sends):
            server.send("ann", "c", f"m{i}", "hi")
        done.set()

    def reader() -> None:
        while not done.is_set():
            if last := store.last_seq("c"):
                server.ack("bob", "phone", "c", last)
                server.read("bob", "c", last)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        threads = [threading.Thread(target=sender), threading.Thread(target=reader)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert forgotten == []
    server.read("bob", "c", sends)
    assert server.receipt("c", sends).state == "read"


def test_a_send_through_the_gateway_notices_a_log_reset_under_it(redis_url: str) -> None:
    """Bob read seqs 1..3; Redis is wiped; ann's three new sends go through the gateway (not
    ChatServer.send). Seq 3 is a new message no device of bob's has shown: not read."""
    import redis

    async def main() -> None:
        gw = Gateway(secret=SECRET, store=RedisStore(redis_url, deadline=2))
        gw.join("c", "ann")
        gw.join("c", "bob")
        async with gw, Client(gw.url, token("ann"), "a", seed=1) as ann:
            async with Client(gw.url, token("bob"), "b", seed=2) as bob:
                for i in range(3):
                    await ann.send("c", f"old {i}")
                await bob.wait_for("c", 3)
                await bob.read("c", 3)
                deadline = time.monotonic() + 5
                while gw.server.receipt("c", 3).state != "read":
                    assert time.monotonic() < deadline
                    await asyncio.sleep(0.02)
            redis.Redis.from_url(redis_url).flushall()
            for i in range(3):
                await ann.send("c", f"new {i}")
            await ann.wait_sent()
            assert [m.body for m in gw.server.store.read("c")] == [f"new {i}" for i in range(3)]
            assert gw.server.receipt("c", 3).state == "sent"
            assert gw.server.receipts.read_marker("bob", "c") == 0

    asyncio.run(main())


def test_a_read_that_trails_a_send_is_no_reset() -> None:
    """The forced order of the race above, on one thread: an ack reads the log's end (1),
    a send appends and notes 2, then the ack notes its 1. The server re-reads the log (2
    long, message 2 the one it noted) and keeps the receipts."""
    server: ChatServer

    class Trailing(MemoryStore):
        armed = False

        def last_seq(self, conv: str) -> int:
            last = super().last_seq(conv)
            if self.armed:
                self.armed = False
                server.send("ann", "c", "m2", "between the read and its note")
            return last

    store = Trailing()
    server = ChatServer(store)
    server.join("c", "ann")
    server.join("c", "bob")
    server.connect("bob", "phone", {})
    server.send("ann", "c", "m1", "hi")
    server.read("bob", "c", 1)
    store.armed = True
    server.ack("bob", "phone", "c", 1)
    assert store.last_seq("c") == 2
    assert server.receipts.read_marker("bob", "c") == 1  # not forgotten
    assert server.receipt("c", 1).state == "read"


class WipedBetweenReads(MemoryStore):
    """A memory store whose log is wiped, as a store reset does, right after the server has
    read its end: between the two store calls of ``ChatServer.receipt``."""

    def last_seq(self, conv: str) -> int:
        last = super().last_seq(conv)
        self._logs.pop(conv, None)
        return last


def test_a_receipt_of_a_log_wiped_between_its_two_reads_is_the_familys_error() -> None:
    from designpatterns_ref.messaging import MessagingError

    store = WipedBetweenReads()
    server = ChatServer(store)
    server.join("c", "ann"), server.join("c", "bob")
    server.send("ann", "c", "m1", "hi")
    with pytest.raises(MessagingError, match="seq=1 is no longer in conversation"):
        server.receipt("c", 1)
