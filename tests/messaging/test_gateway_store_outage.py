"""A Redis store that stops answering under a gateway: only the connection whose frame waits
for it waits. The gateway runs on its own event loop in its own thread, so a store call made
on its loop would show as a late pong here; the clients are real sockets on loopback."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from designpatterns_ref.messaging import RedisStore, StoreUnavailable
from designpatterns_ref.messaging.frames import CLOSE_CODES
from designpatterns_ref.messaging.gateway import Gateway
from designpatterns_ref.messaging.token import make_token
from designpatterns_ref.testing import RedisServer

SECRET = b"test-secret"
#: Far below the store's deadline (2 s): an answer this late waited for the store.
PROMPT = 0.5


def token(user: str) -> str:
    return make_token(SECRET, user, expires=time.time() + 600)


@pytest.fixture
def gateway_url(own_redis: RedisServer) -> Iterator[str]:
    """A gateway on a Redis store (2 s deadline), served by its own loop in its own thread."""
    urls: list[str] = []
    stop = threading.Event()

    async def serve() -> None:
        gw = Gateway(secret=SECRET, store=RedisStore(own_redis.url, deadline=2.0))
        for user in ("ann", "cy"):
            gw.join("general", user)
        async with gw:
            urls.append(gw.url)
            while not stop.is_set():
                await asyncio.sleep(0.02)

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not urls:
        assert thread.is_alive() and time.monotonic() < deadline, "the gateway did not start"
        time.sleep(0.02)
    yield urls[0]
    stop.set()
    thread.join(10)


async def hello(url: str, user: str, cursors: dict[str, int] | None = None) -> Any:
    from websockets.asyncio.client import connect

    ws = await connect(url, ping_interval=None)
    await ws.send(json.dumps({"op": "hello", "token": token(user), "device": "d",
                              "cursors": cursors or {}}))  # fmt: skip
    assert json.loads(await ws.recv())["op"] == "ready"
    return ws


async def next_op(ws: Any, op: str, limit: float) -> dict[str, Any]:
    async with asyncio.timeout(limit):
        while (frame := json.loads(await ws.recv()))["op"] != op:
            pass
    return frame  # type: ignore[no-any-return]


def test_a_stalled_store_delays_only_the_connection_waiting_for_it(
    own_redis: RedisServer, gateway_url: str
) -> None:
    """Redis frozen (SIGSTOP): ann's fetch waits for it, and meanwhile cy's ping and a send of
    cy's that needs no store (to a conversation cy is not in: ``refused``) are answered at
    once. Past the store's deadline ann is closed with 1013, "store unavailable, try again
    later" (not 4000, a malformed frame). With Redis back, cy's heartbeat is answered and
    ann reconnects and gets the message cy sent before the outage."""

    async def main() -> None:
        ann, cy = await hello(gateway_url, "ann"), await hello(gateway_url, "cy")
        await cy.send(json.dumps({"op": "send", "conv": "general", "client_msg_id": "m1",
                                  "body": "before"}))  # fmt: skip
        assert (await next_op(cy, "sent", 5))["seq"] == 1
        with own_redis.paused():
            await ann.send(json.dumps({"op": "fetch", "conv": "general", "first": 1}))
            await asyncio.sleep(0.2)  # ann's fetch is now waiting for the store
            started = time.monotonic()
            await asyncio.wait_for(await cy.ping(), PROMPT)
            send = {"op": "send", "conv": "elsewhere", "client_msg_id": "x", "body": "hi"}
            await cy.send(json.dumps(send))
            assert (await next_op(cy, "refused", PROMPT))["client_msg_id"] == "x"
            assert time.monotonic() - started < PROMPT
            error = await next_op(ann, "error", 5)
        assert error["code"] == CLOSE_CODES["store unavailable"] == 1013
        assert "store unavailable" in error["reason"]
        await ann.wait_closed()
        assert ann.close_code == 1013
        await cy.send(json.dumps({"op": "heartbeat"}))
        assert (await next_op(cy, "heartbeat_ack", 5))["last"] == {"general": 1}
        again = await hello(gateway_url, "ann")
        assert (await next_op(again, "message", 5))["body"] == "before"
        for ws in (again, cy):
            await ws.close()

    asyncio.run(main())


def test_a_hello_the_store_cannot_serve_is_closed_with_1013_and_the_next_one_works(
    own_redis: RedisServer, gateway_url: str
) -> None:
    """A hello while Redis is frozen cannot be answered ``ready`` (its replay needs the store):
    an ``error`` 1013 and close 1013, the device not registered; the next hello resumes."""
    from websockets.asyncio.client import connect

    async def main() -> None:
        with own_redis.paused():
            ws = await connect(gateway_url, ping_interval=None)
            await ws.send(json.dumps({"op": "hello", "token": token("ann"), "device": "d",
                                      "cursors": {"general": 0}}))  # fmt: skip
            error = await next_op(ws, "error", 5)
            await ws.wait_closed()
        assert (error["code"], ws.close_code) == (1013, 1013)
        again = await hello(gateway_url, "ann", {"general": 0})
        await again.send(json.dumps({"op": "heartbeat"}))
        assert (await next_op(again, "heartbeat_ack", 5))["last"] == {"general": 0}
        await again.close()

    asyncio.run(main())


def test_store_unavailable_is_a_messaging_error_the_redis_store_raises(
    own_redis: RedisServer,
) -> None:
    store = RedisStore(own_redis.url, deadline=0.3)
    with own_redis.paused(), pytest.raises(StoreUnavailable, match="deadline"):
        store.last_seq("general")
    store.close()


def test_a_client_closed_with_1013_on_every_hello_backs_off(own_redis: RedisServer) -> None:
    """Redis down (killed: every store call fails at once): each hello is closed with 1013,
    and the client waits longer after each (base 0.05 s doubling to cap 1 s: about 7 tries
    in 2 s, not one every 50 ms); once Redis is back it connects and is ``ready``."""
    from designpatterns_ref.messaging.client import Client

    async def main() -> None:
        gw = Gateway(secret=SECRET, store=RedisStore(own_redis.url, deadline=1.0))
        gw.join("general", "ann")
        async with gw:
            own_redis.kill()
            try:
                async with Client(gw.url, token("ann"), "a1", base=0.05, cap=1.0, seed=1) as ann:
                    await asyncio.sleep(2.0)
                    tries = ann.connects
                    assert 3 <= tries <= 10, tries
                    assert set(ann.closed_codes) == {1013}
                    own_redis.restart()
                    deadline = time.monotonic() + 10
                    while ann.convs is None:
                        assert time.monotonic() < deadline, "never ready after the outage"
                        await asyncio.sleep(0.05)
                    assert ann.convs == {"general"}
            finally:
                if not own_redis.alive:
                    own_redis.restart()

    asyncio.run(main())


def test_the_edge_gateway_closes_a_frame_its_redis_cannot_serve_with_1013(
    own_redis: RedisServer,
) -> None:
    """Redis frozen under the edge gateway: a heartbeat (its last seqs are read from Redis)
    is answered ``error`` 1013 and closed with 1013 after the 2 s deadline, not an internal
    error (1011) without a word; with Redis back the device says hello again and is served."""
    from designpatterns_ref.messaging.channelserver import ChannelServer
    from designpatterns_ref.messaging.directory import Directory
    from designpatterns_ref.messaging.edge import EdgeGateway

    Directory(own_redis.url).join("general", "ann")

    async def main() -> None:
        async with (
            ChannelServer(own_redis.url, name="cs-a") as cs,
            EdgeGateway(own_redis.url, {"cs-a": cs.address}, secret=SECRET) as gw,
        ):
            ws = await hello(gw.url, "ann")
            with own_redis.paused():
                await ws.send(json.dumps({"op": "heartbeat"}))
                error = await next_op(ws, "error", 5)
                await ws.wait_closed()
            assert (error["code"], ws.close_code) == (1013, 1013)
            assert "store unavailable" in error["reason"]
            again = await hello(gw.url, "ann")
            await again.send(json.dumps({"op": "heartbeat"}))
            assert (await next_op(again, "heartbeat_ack", 5))["last"] == {"general": 0}
            await again.close()

    asyncio.run(main())


def test_a_channel_server_answers_other_links_while_one_request_waits_for_redis(
    own_redis: RedisServer,
) -> None:
    """The channel server on its own loop, Redis frozen: one gateway link's send waits for
    Redis, and another link's malformed line is answered at once (the request that needs
    Redis is served in a worker thread, one at a time, in the order they came); past the
    deadline the send is answered ``error``, and with Redis back the retry is stored."""
    from designpatterns_ref.messaging.channelserver import ChannelServer
    from designpatterns_ref.messaging.directory import Directory

    Directory(own_redis.url).join("general", "ann")
    ports: list[int] = []
    stop = threading.Event()

    async def serve() -> None:
        async with ChannelServer(own_redis.url, name="cs-a") as cs:
            ports.append(cs.port)
            while not stop.is_set():
                await asyncio.sleep(0.02)

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    while not ports:
        assert thread.is_alive()
        time.sleep(0.02)
    send = {"op": "send", "user": "ann", "conv": "general", "client_msg_id": "m1", "body": "x"}

    async def main() -> None:
        a = await asyncio.open_connection("127.0.0.1", ports[0])
        b = await asyncio.open_connection("127.0.0.1", ports[0])
        with own_redis.paused():
            a[1].write((json.dumps({**send, "id": 1}) + "\n").encode())
            await asyncio.sleep(0.2)  # the send is waiting for Redis
            started = time.monotonic()
            b[1].write(b"not json\n")
            reply = json.loads(await asyncio.wait_for(b[0].readline(), PROMPT))
            assert "malformed" in reply["error"] and time.monotonic() - started < PROMPT
            failed = json.loads(await asyncio.wait_for(a[0].readline(), 5))
        assert failed["id"] == 1 and "error" in failed
        a[1].write((json.dumps({**send, "id": 2}) + "\n").encode())
        assert json.loads(await asyncio.wait_for(a[0].readline(), 5)) == {"id": 2, "seq": 1}
        for _, writer in (a, b):
            writer.close()

    try:
        asyncio.run(main())
    finally:
        stop.set()
        thread.join(10)
