"""The edge gateway and the channel server in one event loop on a real Redis: routing by the
ring, refusals (a non-owner, a non-member, malformed lines and frames), hostile frames that
change nothing, a slow consumer closed with 4008, and the Directory's bad input."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from typing import Any

import pytest

from designpatterns_ref.messaging import MessagingError, RedisStore
from designpatterns_ref.messaging.base import MAX_SEQ
from designpatterns_ref.messaging.channelserver import ChannelServer
from designpatterns_ref.messaging.client import Client
from designpatterns_ref.messaging.directory import Directory
from designpatterns_ref.messaging.edge import EdgeGateway
from designpatterns_ref.messaging.hashring import HashRing
from designpatterns_ref.messaging.token import make_token

SECRET = b"edge-secret"
HOSTILE = [None, True, 10**400, -1, "", "x" * 5000, "\ud800", [], {}]


def token(user: str) -> str:
    return make_token(SECRET, user, expires=time.time() + 600)


async def _line(port: int, payload: bytes) -> dict[str, Any]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(payload)
    reply = json.loads(await reader.readline())
    writer.close()
    return reply  # type: ignore[no-any-return]


def test_channel_server_serves_its_own_conversations_and_refuses_the_rest(redis_url: str) -> None:
    ring = HashRing(["cs-a", "cs-b"])
    mine = next(c for c in (f"c{i}" for i in range(100)) if ring.node_for(c) == "cs-a")
    other = next(c for c in (f"c{i}" for i in range(100)) if ring.node_for(c) == "cs-b")
    directory = Directory(redis_url)
    for conv in (mine, other):
        directory.join(conv, "ann")

    async def main() -> None:
        async with ChannelServer(redis_url, name="cs-a", ring=ring) as cs:
            send = {"op": "send", "user": "ann", "client_msg_id": "m1", "body": "hi"}
            ok = await _line(cs.port, (json.dumps({**send, "id": 1, "conv": mine}) + "\n").encode())
            again = await _line(
                cs.port, (json.dumps({**send, "id": 2, "conv": mine}) + "\n").encode()
            )
            assert ok == {"id": 1, "seq": 1} and again == {"id": 2, "seq": 1}  # a retry: same seq
            refused = [
                {**send, "id": 3, "conv": other},  # not this server's conversation
                {**send, "id": 4, "conv": mine, "user": "bob"},  # not a member
                {**send, "id": 5, "conv": mine, "op": "drop"},
                {**send, "id": 6, "conv": mine, "body": 7},
            ]
            for req in refused:
                reply = await _line(cs.port, (json.dumps(req) + "\n").encode())
                assert reply["id"] == req["id"] and "error" in reply
            huge = b'{"op": "send", "id": ' + b"9" * 5000 + b"}\n"  # past int()'s 4,300 digits
            for junk in (b"not json\n", b"[1]\n", b"\xff\xfe\n", huge):
                assert "error" in await _line(cs.port, junk)
            assert cs.refused == 1 and cs.appended == 1

    asyncio.run(main())
    store = RedisStore(redis_url)
    assert store.last_seq(mine) == 1 and store.last_seq(other) == 0


def test_edge_gateway_routes_fans_out_and_refuses_hostile_frames(redis_url: str) -> None:
    from websockets.asyncio.client import connect

    directory = Directory(redis_url)
    for user in ("ann", "bob"):
        directory.join("general", user)

    async def main() -> None:
        async with (
            ChannelServer(redis_url, name="cs-a", ring=HashRing(["cs-a"])) as cs,
            EdgeGateway(redis_url, {"cs-a": cs.address}, secret=SECRET, max_frame=16384) as gw,
        ):
            async with (
                Client(gw.url, token("ann"), "a1") as ann,
                Client(gw.url, token("bob"), "b1") as bob,
            ):
                for i in range(5):
                    await ann.send("general", f"hi {i}", client_msg_id=f"m{i}")
                await ann.wait_sent()
                got = await bob.wait_for("general", 5)
                assert [m.body for m in got] == [f"hi {i}" for i in range(5)]
            good = {"op": "send", "conv": "general", "client_msg_id": "x", "body": "b"}
            frames = [{**good, field: v} for field in ("conv", "client_msg_id", "body")
                      for v in HOSTILE if not (field == "body" and v == "")]  # fmt: skip
            frames += [{"op": "ack", "conv": "general", "seq": 99}, {"op": "nope"},
                       {"op": "fetch", "conv": "general", "first": 0}]  # fmt: skip
            for frame in frames:
                async with connect(gw.url, ping_interval=None) as ws:
                    await ws.send(json.dumps({"op": "hello", "token": token("ann"), "device": "d"}))
                    assert json.loads(await ws.recv())["op"] == "ready"
                    await ws.send(json.dumps(frame))
                    while (reply := json.loads(await ws.recv()))["op"] == "message":
                        pass  # the resume replays the log first
                    assert reply["op"] == "error" and reply["code"] == 4000, frame
                    await asyncio.sleep(0)
                assert ws.close_code == 4000
            for hello in ({"op": "hello", "token": "x.y.z", "device": "d"}, {"op": "send"},
                          {"op": "hello", "token": token("ann"), "device": "d",
                           "cursors": {"general": -1}}):  # fmt: skip
                async with connect(gw.url, ping_interval=None) as ws:
                    await ws.send(json.dumps(hello))
                    assert json.loads(await ws.recv())["op"] == "error"
            for elsewhere in ("elsewhere", "tokenomics"):  # not a member: dropped, not refused
                async with connect(gw.url, ping_interval=None) as ws:
                    hello = {"op": "hello", "token": token("ann"), "device": "d",
                             "cursors": {elsewhere: 0}}  # fmt: skip
                    await ws.send(json.dumps(hello))
                    assert json.loads(await ws.recv())["op"] == "ready"
            for tok in ("ann.1.\u00e9", "a.1.\ud800", "\ud800.1.00", token("ann")[:-1] + "\u00e9"):
                async with connect(gw.url, ping_interval=None) as ws:
                    await ws.send(json.dumps({"op": "hello", "token": tok, "device": "d"}))
                    assert json.loads(await ws.recv())["code"] == 4001, tok
                    await asyncio.sleep(0)
                assert ws.close_code == 4001
            assert RedisStore(redis_url).last_seq("general") == 5  # nothing stored by them

    asyncio.run(main())


def test_edge_gateway_takes_a_cursor_of_max_seq_as_nothing_to_replay(redis_url: str) -> None:
    from websockets.asyncio.client import connect

    Directory(redis_url).join("general", "ann")

    async def main() -> None:
        async with (
            ChannelServer(redis_url, name="cs-a") as cs,
            EdgeGateway(redis_url, {"cs-a": cs.address}, secret=SECRET) as gw,
        ):
            async with connect(gw.url, ping_interval=None) as ws:
                hello = {"op": "hello", "token": token("ann"), "device": "d",
                         "cursors": {"general": MAX_SEQ}}  # fmt: skip
                await ws.send(json.dumps(hello))
                assert json.loads(await ws.recv())["op"] == "ready"
                send = {"op": "send", "conv": "general", "client_msg_id": "m", "body": "b"}
                await ws.send(json.dumps(send))
                while (reply := json.loads(await ws.recv()))["op"] == "message":
                    pass  # its own message, fanned out
                assert reply["op"] == "sent" and reply["seq"] == 1
            while ("ann", "d") in gw.conns:  # the close is seen, the device forgotten
                await asyncio.sleep(0.01)

    asyncio.run(main())


def test_a_hello_whose_replay_fails_leaves_no_device_behind(redis_url: str) -> None:
    # The device is registered (and its conversations subscribed) before the replay is read;
    # a read that fails then (Redis gone mid-hello) must not leave it connected. The failure
    # is injected into the replay read of a real gateway on a real Redis.
    from websockets.asyncio.client import connect

    Directory(redis_url).join("general", "ann")

    async def main() -> None:
        async with (
            ChannelServer(redis_url, name="cs-a") as cs,
            EdgeGateway(redis_url, {"cs-a": cs.address}, secret=SECRET) as gw,
        ):

            async def gone(*args: object) -> None:
                raise ConnectionError("Redis went away")

            gw._send_range = gone  # type: ignore[method-assign]
            async with connect(gw.url, ping_interval=None) as ws:
                hello = {"op": "hello", "token": token("ann"), "device": "d"}
                await ws.send(json.dumps(hello))
                with contextlib.suppress(Exception):
                    while True:
                        await ws.recv()
            assert ("ann", "d") not in gw.conns
            assert "general" not in gw.local

    asyncio.run(main())


def test_edge_gateway_closes_a_slow_consumer_which_resumes(redis_url: str) -> None:
    from websockets.asyncio.client import connect

    directory = Directory(redis_url)
    for user in ("ann", "bob"):
        directory.join("general", user)

    async def main() -> None:
        async with (
            ChannelServer(redis_url, name="cs-a") as cs,
            EdgeGateway(redis_url, {"cs-a": cs.address}, secret=SECRET, write_limit=4096) as gw,
        ):
            ws = await connect(gw.url, ping_interval=None, max_queue=1)
            ws.transport.get_extra_info("socket").setsockopt(
                socket.SOL_SOCKET, socket.SO_RCVBUF, 4096
            )
            await ws.send(json.dumps({"op": "hello", "token": token("bob"), "device": "b1"}))
            await ws.recv()
            ws.transport.pause_reading()  # bob's phone stops reading: the kernel buffers fill
            conn = gw.conns[("bob", "b1")]
            conn.ws.transport.get_extra_info("socket").setsockopt(
                socket.SOL_SOCKET, socket.SO_SNDBUF, 4096
            )
            async with Client(gw.url, token("ann"), "a1") as ann:
                for i in range(60):
                    await ann.send("general", "x" * 4000, client_msg_id=f"m{i}")
                    await ann.wait_sent()
            assert gw.slow_disconnects == 1 and ("bob", "b1") not in gw.conns
            assert conn.ws.transport.get_write_buffer_size() < 4096 + 8192  # bounded
            async with Client(gw.url, token("bob"), "b1") as bob:
                got = await bob.wait_for("general", 60)  # resumed page by page
                assert [m.seq for m in got] == list(range(1, 61))

    asyncio.run(main())


@pytest.mark.parametrize("value", HOSTILE, ids=repr)
def test_directory_refuses_and_changes_nothing(redis_url: str, value: object) -> None:
    directory = Directory(redis_url)
    directory.join("c", "ann")
    before = (directory.members("c"), directory.conversations("ann"))
    for call in (lambda: directory.join(value, "bob"), lambda: directory.join("c", value),  # type: ignore[arg-type]
                 lambda: directory.members(value), lambda: directory.conversations(value)):  # type: ignore[arg-type]  # fmt: skip
        with pytest.raises(MessagingError):
            call()
    assert (directory.members("c"), directory.conversations("ann")) == before


def test_edge_gateway_refuses_a_send_outside_the_users_conversations_and_goes_on(
    redis_url: str,
) -> None:
    """As the gateway: a send to a conversation the user is not in is answered ``refused`` on
    an open connection, and the good send behind it is stored."""
    Directory(redis_url).join("general", "ann")

    async def main() -> None:
        async with (
            ChannelServer(redis_url, name="cs-a") as cs,
            EdgeGateway(redis_url, {"cs-a": cs.address}, secret=SECRET) as gw,
            Client(gw.url, token("ann"), "a1", seed=1) as ann,
        ):
            while ("ann", "a1") not in gw.conns:
                await asyncio.sleep(0.01)
            await ann.send("not-mine", "oops", client_msg_id="bad")
            await ann.send("general", "hello", client_msg_id="good")
            await ann.wait_sent(timeout=5)
            assert "not a member" in ann.refused["not-mine", "bad"] and ann.connects == 1
            assert [m.body for m in RedisStore(redis_url).read("general")] == ["hello"]
            assert RedisStore(redis_url).last_seq("not-mine") == 0

    asyncio.run(main())


def test_a_device_that_reconnects_keeps_getting_live_messages(redis_url: str) -> None:
    """The phone says hello again on a new socket (the old one half-open): the old connection
    is dropped, its conversations left without local members for a moment. The gateway must
    still be subscribed to them afterwards, so the new socket gets what bob sends live."""
    import redis
    from websockets.asyncio.client import connect

    directory = Directory(redis_url)
    for user in ("ann", "bob"):
        directory.join("general", user)
    raw = redis.Redis.from_url(redis_url, decode_responses=True)

    async def until_op(ws: Any, op: str) -> dict[str, Any]:
        async with asyncio.timeout(3):
            while (frame := json.loads(await ws.recv()))["op"] != op:
                pass
        return frame  # type: ignore[no-any-return]

    async def main() -> None:
        async with (
            ChannelServer(redis_url, name="cs-a") as cs,
            EdgeGateway(redis_url, {"cs-a": cs.address}, secret=SECRET) as gw,
            connect(gw.url, ping_interval=None) as bob,
        ):
            await bob.send(json.dumps({"op": "hello", "token": token("bob"), "device": "b"}))
            await until_op(bob, "ready")
            await bob.close()  # general has no local member now
            while gw.local:
                await asyncio.sleep(0.01)
            sockets = []
            for i in range(5):  # the phone comes back, again and again, on new sockets
                ws = await connect(gw.url, ping_interval=None)
                sockets.append(ws)
                await ws.send(json.dumps({"op": "hello", "token": token("ann"), "device": "p"}))
                await until_op(ws, "ready")
                await asyncio.sleep(0.2)  # any unsubscribe still pending lands
                assert raw.pubsub_channels("dp:msg:fan:*") == ["dp:msg:fan:general"], i
                async with connect(gw.url, ping_interval=None) as sender:
                    hello = {"op": "hello", "token": token("bob"), "device": f"s{i}"}
                    await sender.send(json.dumps(hello))
                    await until_op(sender, "ready")
                    send = {"op": "send", "conv": "general", "client_msg_id": f"m{i}",
                            "body": f"live {i}"}  # fmt: skip
                    await sender.send(json.dumps(send))
                    await until_op(sender, "sent")
                while (await until_op(ws, "message"))["body"] != f"live {i}":
                    pass  # the replay of the earlier ones comes first
            for ws in sockets:
                await ws.close()

    asyncio.run(main())


def test_edge_gateway_paces_a_replay_far_over_write_limit_and_counts_a_drop_once(
    redis_url: str,
) -> None:
    """60 messages of 1,000 emoji (730 KB of JSON, 44 times ``write_limit``) reach a fast
    client through the resume and the fetches without a close; a socket found full by
    several pushes in a row is dropped and counted once."""
    from websockets.asyncio.client import connect

    Directory(redis_url).join("general", "bob")
    store = RedisStore(redis_url)
    for i in range(60):
        store.append("general", "ann", f"m{i}", "\U0001f600" * 1000)

    async def main() -> None:
        async with (
            ChannelServer(redis_url, name="cs-a") as cs,
            EdgeGateway(
                redis_url, {"cs-a": cs.address}, secret=SECRET, write_limit=16384, page=25
            ) as gw,  # fmt: skip
        ):
            ws = await connect(gw.url, ping_interval=None)  # a fast reader, small buffers
            ws.transport.get_extra_info("socket").setsockopt(
                socket.SOL_SOCKET, socket.SO_RCVBUF, 32768
            )
            await ws.send(json.dumps({"op": "hello", "token": token("bob"), "device": "b0"}))
            assert json.loads(await ws.recv())["op"] == "ready"
            gw.conns[("bob", "b0")].ws.transport.get_extra_info("socket").setsockopt(
                socket.SOL_SOCKET, socket.SO_SNDBUF, 32768
            )
            seqs = [json.loads(await ws.recv())["seq"] for _ in range(25)]
            await ws.send(json.dumps({"op": "fetch", "conv": "general", "first": 26}))
            seqs += [json.loads(await ws.recv())["seq"] for _ in range(25)]
            assert seqs == list(range(1, 51)) and gw.slow_disconnects == 0
            await ws.close()
            async with Client(gw.url, token("bob"), "b1", seed=1) as bob:
                got = await bob.wait_for("general", 60, timeout=20)
                assert [m.seq for m in got] == list(range(1, 61))
                assert bob.connects == 1 and gw.slow_disconnects == 0
            ws = await connect(gw.url, ping_interval=None, max_queue=1)
            ws.transport.get_extra_info("socket").setsockopt(
                socket.SOL_SOCKET, socket.SO_RCVBUF, 4096
            )
            hello = {"op": "hello", "token": token("bob"), "device": "b2",
                     "cursors": {"general": 60}}  # fmt: skip
            await ws.send(json.dumps(hello))
            await ws.recv()
            ws.transport.pause_reading()
            conn = gw.conns[("bob", "b2")]
            conn.ws.transport.get_extra_info("socket").setsockopt(
                socket.SOL_SOCKET, socket.SO_SNDBUF, 4096
            )
            for _ in range(10):  # ten pushes in one go, before the close can run
                gw._push([conn], b"x" * 100_000)
            assert gw.slow_disconnects == 1

    asyncio.run(main())


def test_edge_gateway_closes_a_socket_that_never_says_hello(redis_url: str) -> None:
    from websockets.asyncio.client import connect

    async def main() -> None:
        async with (
            ChannelServer(redis_url, name="cs-a") as cs,
            EdgeGateway(redis_url, {"cs-a": cs.address}, secret=SECRET, hello_timeout=0.3) as gw,
        ):
            mute = [await connect(gw.url, ping_interval=None) for _ in range(10)]
            for ws in mute:
                reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
                assert reply["code"] == 4000 and "no hello" in reply["reason"]
                with contextlib.suppress(Exception):
                    await ws.recv()
                assert ws.close_code == 4000
            while gw._ws_server.connections:
                await asyncio.sleep(0.01)
        with pytest.raises(MessagingError, match="idle_timeout"):
            EdgeGateway(redis_url, {"cs-a": "127.0.0.1:1"}, secret=SECRET, idle_timeout=0)

    asyncio.run(main())


def test_edge_gateway_tells_a_client_whose_cursor_is_past_a_reset_log(redis_url: str) -> None:
    import redis
    from websockets.asyncio.client import connect

    Directory(redis_url).join("general", "ann")
    store = RedisStore(redis_url)
    for i in range(3):
        store.append("general", "ann", f"old{i}", "old")
    redis.Redis.from_url(redis_url).delete("dp:msg:log:general", "dp:msg:ids:general")
    store.append("general", "ann", "new0", "new")  # the log starts again at seq 1

    async def main() -> None:
        async with (
            ChannelServer(redis_url, name="cs-a") as cs,
            EdgeGateway(redis_url, {"cs-a": cs.address}, secret=SECRET) as gw,
            connect(gw.url, ping_interval=None) as ws,
        ):
            hello = {"op": "hello", "token": token("ann"), "device": "d",
                     "cursors": {"general": 3}}  # fmt: skip
            await ws.send(json.dumps(hello))
            ready = json.loads(await ws.recv())
            assert ready["op"] == "ready" and ready["reset"] == {"general": 1}
            replay = json.loads(await ws.recv())
            assert (replay["seq"], replay["body"]) == (1, "new")

    asyncio.run(main())


def test_edge_gateway_answers_a_send_its_owner_could_not_store_and_stays_open(
    redis_url: str,
) -> None:
    """The owner refuses the send (here its ring disagrees with the gateway's): the gateway
    answers ``error`` 1013 with the send's ids and keeps the connection, so the client's
    retry can land once the owner can take it, instead of closing it as a protocol error."""
    from websockets.asyncio.client import connect

    ring = HashRing(["cs-a", "cs-b"])
    conv = next(c for c in (f"room{i}" for i in range(100)) if ring.node_for(c) == "cs-b")
    Directory(redis_url).join(conv, "ann")

    async def main() -> None:
        async with ChannelServer(redis_url, name="cs-a", ring=ring) as cs:
            servers = {"cs-a": cs.address, "cs-b": cs.address}  # cs-b's requests reach cs-a
            async with (
                EdgeGateway(redis_url, servers, secret=SECRET) as gw,
                connect(gw.url, ping_interval=None) as ws,
            ):
                await ws.send(json.dumps({"op": "hello", "token": token("ann"), "device": "d"}))
                assert json.loads(await ws.recv())["op"] == "ready"
                send = {"op": "send", "conv": conv, "client_msg_id": "m1", "body": "hi"}
                await ws.send(json.dumps(send))
                reply = json.loads(await ws.recv())
                assert (reply["op"], reply["code"]) == ("error", 1013)
                assert (reply["conv"], reply["client_msg_id"]) == (conv, "m1")
                await ws.send(json.dumps({"op": "heartbeat"}))
                assert json.loads(await ws.recv())["op"] == "heartbeat_ack"  # still open
                assert cs.refused == 1

    asyncio.run(main())
