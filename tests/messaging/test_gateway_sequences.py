"""The gateway on real loopback sockets under generated input: frames of every op with fields
of every wrong kind (each answered, or closed with an error frame and 4000, never an internal
error, and the gateway serves on), and many clients sending at once through the Redis store
(each shows every message once, in the log's order, and every message ends delivered)."""

from __future__ import annotations

import asyncio
import json
import random
import time
from typing import Any

from designpatterns_ref.messaging import RedisStore
from designpatterns_ref.messaging.client import Client
from designpatterns_ref.messaging.gateway import Gateway
from designpatterns_ref.messaging.token import make_token

SECRET = b"test-secret"
#: How long a wait may take before the test calls it a hang (not a speed claim).
BOUND = 60.0
VALUES: list[object] = [None, True, 0, -1, 1, 2**63, 1.5, float("nan"), "", "general", "x" * 200,
                        [], {}, ["general"], {"general": 1}, "\ud800", "online"]  # fmt: skip
OPS = ["send", "ack", "read", "fetch", "heartbeat", "hello", "nope"]
FIELDS = ["conv", "client_msg_id", "body", "seq", "first", "last", "status", "token", "device",
          "cursors"]  # fmt: skip


def token(user: str) -> str:
    return make_token(SECRET, user, expires=time.time() + 600)


async def answer(ws: Any) -> object:
    """``open`` when the heartbeat sent after the frame is answered, else the close code."""
    try:
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 2))
            if frame["op"] == "heartbeat_ack":
                return "open"
            if frame["op"] == "error":
                assert frame["code"] == 4000 and frame["reason"]
    except Exception as exc:  # the close, with its code
        return getattr(getattr(exc, "rcvd", None), "code", type(exc).__name__)


def test_generated_frames_are_answered_or_closed_with_4000_and_the_gateway_serves_on() -> None:
    from websockets.asyncio.client import connect

    async def main() -> None:
        rng = random.Random(7)
        async with Gateway("127.0.0.1", 0, secret=SECRET) as gw:
            gw.join("general", "ann")
            gw.join("general", "bob")
            seen: dict[object, int] = {}
            for _ in range(150):
                frame = {"op": rng.choice(OPS)}
                for field in rng.sample(FIELDS, rng.randint(0, 4)):
                    frame[field] = rng.choice(VALUES)
                async with connect(gw.url, ping_interval=None) as ws:
                    hello = {"op": "hello", "token": token("ann"), "device": "d", "cursors": {}}
                    await ws.send(json.dumps(hello))
                    while json.loads(await ws.recv())["op"] != "ready":
                        pass
                    await ws.send(json.dumps(frame))
                    await ws.send(json.dumps({"op": "heartbeat"}))
                    code = await answer(ws)
                seen[code] = seen.get(code, 0) + 1
                assert code in ("open", 4000), (frame, code)
            assert seen.get("open") and seen.get(4000)
            await asyncio.sleep(0.05)
            assert gw.conns == {}  # every connection forgotten
            async with Client(gw.url, token("bob"), "b1", seed=1) as bob:
                await bob.send("general", "still here")
                await bob.wait_sent()

    asyncio.run(main())


def test_many_clients_sending_at_once_through_redis_each_show_the_log_once_in_order(
    redis_url: str,
) -> None:
    users = [f"u{i}" for i in range(24)]

    async def main() -> None:
        gw = Gateway("127.0.0.1", 0, secret=SECRET, store=RedisStore(redis_url, prefix="many"))
        for user in users:
            gw.join("general", user)
        async with gw:
            clients = [
                Client(gw.url, token(u), "d", seed=i, heartbeat=0.05) for i, u in enumerate(users)
            ]
            for client in clients:
                await client.__aenter__()
            try:
                await asyncio.gather(*(
                    client.send("general", f"{users[i]} {k}", client_msg_id=f"m{k}")
                    for k in range(3) for i, client in enumerate(clients)
                ))  # fmt: skip
                # The bounds below only stop a hang: 24 clients on a loaded 2-core machine
                # have taken over 15 s to settle.
                for client in clients:
                    await client.wait_sent(timeout=BOUND)
                log = gw.server.store.read("general")
                assert len(log) == 3 * len(users)
                for client in clients:
                    shown = await client.wait_for("general", len(log), timeout=BOUND)
                    assert shown == log and client.inboxes["general"].buffered == 0
                    assert not client.resets  # the log was never reset: no late ack taken for one
                    mine = [m.seq for m in log if m.sender == users[clients.index(client)]]
                    assert sorted(client.seqs.values()) == mine
                # the last acks: stored in the gateway's reading thread, one after another; the
                # last message's sender is not among its recipients, so every message is waited
                # for, not only the last
                deadline = time.monotonic() + BOUND
                for seq in range(1, len(log) + 1):
                    while gw.server.receipt("general", seq).state != "delivered":
                        assert time.monotonic() < deadline, f"the acks of {seq} never arrived"
                        await asyncio.sleep(0.05)
            finally:
                for client in clients:
                    await client.close()

    asyncio.run(main())
