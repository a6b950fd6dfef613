"""Delivery across a Redis server restart (no persistence: it comes back empty) under a
gateway whose clients stay connected: every device ends showing exactly the new log, once,
in order, and never a mix of the old log's head and the new log's tail."""

from __future__ import annotations

import asyncio
import time

from designpatterns_ref.messaging import Message, RedisStore
from designpatterns_ref.messaging.client import Client
from designpatterns_ref.messaging.gateway import Gateway
from designpatterns_ref.messaging.inbox import Inbox
from designpatterns_ref.messaging.token import make_token
from designpatterns_ref.testing import RedisServer

SECRET = b"test-secret"


def token(user: str) -> str:
    return make_token(SECRET, user, expires=time.time() + 600)


async def until(condition: object, limit: float) -> None:
    deadline = time.monotonic() + limit
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def test_connected_clients_show_the_new_log_after_redis_restarts_empty(
    own_redis: RedisServer,
) -> None:
    """Heartbeats are rare here (5 s), so no frame meets the outage and no connection is cut:
    the first sign of the restart is a ``message`` at seq 1 again, from another sender."""

    async def main() -> None:
        gw = Gateway("127.0.0.1", 0, secret=SECRET, store=RedisStore(own_redis.url, deadline=2))
        for user in ("ann", "bob"):
            gw.join("general", user)
        async with (
            gw,
            Client(gw.url, token("ann"), "a1", seed=1, heartbeat=5) as ann,
            Client(gw.url, token("bob"), "b1", seed=2, heartbeat=5) as bob,
        ):
            for i in range(3):
                await ann.send("general", f"old {i}")
            await bob.wait_for("general", 3)
            await until(lambda: gw.server.receipt("general", 3).state == "delivered", 3.0)
            own_redis.kill()
            own_redis.restart()
            for i in range(4):
                await ann.send("general", f"new {i}")
            await ann.wait_sent()
            log = [m.body for m in gw.server.store.read("general")]
            assert log == [f"new {i}" for i in range(4)]
            for client in (ann, bob):
                await until(lambda c=client: [m.body for m in c.shown("general")] == log, 3.0)
                assert [m.seq for m in client.shown("general")] == [1, 2, 3, 4]
            assert bob.resets == ["general"] and bob.closed_codes == []

    asyncio.run(main())


def test_an_inbox_tells_a_reused_seq_from_a_duplicate() -> None:
    box = Inbox("c", cursor=4)
    for seq in (5, 6):
        box.receive(Message("c", seq, "ann", f"m{seq}", "x"))
    assert not box.conflicts(Message("c", 5, "ann", "m5", "x"))  # the same message again
    assert box.conflicts(Message("c", 5, "bob", "m5", "x"))  # another sender at seq 5
    assert box.conflicts(Message("c", 6, "ann", "n1", "x"))  # another id at seq 6
    assert not box.conflicts(Message("c", 4, "bob", "z", "x"))  # before what it keeps
    assert not box.conflicts(Message("c", 7, "bob", "z", "x"))  # not shown yet


def test_a_malformed_message_never_conflicts() -> None:
    box = Inbox("c")
    box.receive(Message("c", 1, "ann", "m1", "x"))
    for seq in ("1", 1.0, True, None):
        assert not box.conflicts(Message("c", seq, "bob", "z", "x"))  # type: ignore[arg-type]
    for sender, cmid in ((None, "z"), ("bob", 42), ("", "z"), ("bob", "x" * 500)):
        assert not box.conflicts(Message("c", 1, sender, cmid, "x"))  # type: ignore[arg-type]


def test_a_malformed_message_at_a_shown_seq_resets_nothing() -> None:
    class Wire:
        async def send(self, frame: str) -> None:
            pass

    async def main() -> None:
        client = Client("ws://127.0.0.1:1", "t", "d")
        client.inbox("c").receive(Message("c", 1, "ann", "m1", "hi"))
        bad = {"op": "message", "conv": "c", "seq": 1, "sender": None, "client_msg_id": "z"}
        await client._on(Wire(), {**bad, "body": "x"})
        assert client.resets == [] and [m.body for m in client.shown("c")] == ["hi"]
        assert "malformed" in (client.error or "")

    asyncio.run(main())


def test_receipts_of_a_log_redis_lost_do_not_vouch_for_the_new_one(own_redis: RedisServer) -> None:
    """Bob read seqs 1..3; Redis restarts empty; ann's next message is seq 1 again, which no
    device of bob's has shown: it is sent, not read, until bob acks and reads the new log.
    Before, the old cursors (3) made it read at once."""
    from designpatterns_ref.messaging import ChatServer

    server = ChatServer(RedisStore(own_redis.url, deadline=2))
    server.join("c", "ann")
    server.join("c", "bob")
    server.connect("bob", "phone", {})
    for i in range(3):
        server.send("ann", "c", f"m{i}", "old")
    server.ack("bob", "phone", "c", 3)
    server.read("bob", "c", 3)
    assert server.receipt("c", 3).state == "read"
    own_redis.kill()
    own_redis.restart()
    msg, _ = server.send("ann", "c", "n0", "new")
    assert msg.seq == 1 and server.receipt("c", 1).state == "sent"
    assert server.receipts.acked("bob", "phone", "c") == 0
    server.ack("bob", "phone", "c", 1)
    assert server.receipt("c", 1).state == "delivered"
    server.store.close()


def test_a_log_seen_shorter_than_before_forgets_its_receipts(own_redis: RedisServer) -> None:
    """The reset is noticed by a read of the log's end too (an ack, a read, a receipt), not
    only by a send: here another process writes the new log."""
    from designpatterns_ref.messaging import ChatServer

    server = ChatServer(RedisStore(own_redis.url, deadline=2))
    server.join("c", "ann")
    server.join("c", "bob")
    server.connect("bob", "phone", {})
    for i in range(3):
        server.send("ann", "c", f"m{i}", "old")
    server.read("bob", "c", 3)
    own_redis.kill()
    own_redis.restart()
    RedisStore(own_redis.url).append("c", "ann", "n0", "new")  # another gateway's send
    assert server.receipt("c", 1).read_by == 0
    server.store.close()
