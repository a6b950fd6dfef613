"""The gateway on real loopback sockets: the protocol, bad input, slow consumers, and clients
that show every message once, in order, through a link that drops, duplicates, delays,
reorders and cuts frames."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from designpatterns_ref.messaging import MemoryStore, MessagingError, SQLiteStore
from designpatterns_ref.messaging.client import Client
from designpatterns_ref.messaging.faults import FaultLink
from designpatterns_ref.messaging.gateway import Gateway
from designpatterns_ref.messaging.token import make_token

SECRET = b"test-secret"


def token(user: str, expires: float | None = None) -> str:
    return make_token(SECRET, user, expires=expires or time.time() + 600)


def gateway(port: int = 0, **kw: object) -> Gateway:
    gw = Gateway("127.0.0.1", port, secret=SECRET, **kw)  # type: ignore[arg-type]
    for user in ("ann", "bob", "cy"):
        gw.join("general", user)
    return gw


async def raw(url: str) -> object:
    from websockets.asyncio.client import connect

    return await connect(url, ping_interval=None)


def test_two_clients_chat_and_resume(tmp_path: Path) -> None:
    async def main() -> None:
        async with gateway(store=SQLiteStore(tmp_path / "chat.db")) as gw:
            async with Client(gw.url, token("ann"), "a1", seed=1) as ann:
                async with Client(gw.url, token("bob"), "b1", seed=2) as bob:
                    for i in range(5):
                        await ann.send("general", f"hello {i}", client_msg_id=f"m{i}")
                    await ann.wait_sent()
                    got = await bob.wait_for("general", 5)
                    assert [m.body for m in got] == [f"hello {i}" for i in range(5)]
                    await bob.read("general", 5)
                    await asyncio.sleep(0.1)
                    assert gw.server.receipt("general", 5).read_by == 1
                # bob is away while ann sends 3 more; his new connection resumes from cursor 0
                for i in range(5, 8):
                    await ann.send("general", f"hello {i}", client_msg_id=f"m{i}")
                await ann.wait_sent()
            async with Client(gw.url, token("bob"), "b2", seed=3) as later:
                got = await later.wait_for("general", 8)
                assert [m.seq for m in got] == list(range(1, 9))

    asyncio.run(main())


@pytest.mark.parametrize("seed", [1, 2])
def test_every_device_sees_everything_once_in_order_through_a_faulty_link(seed: int) -> None:
    async def main() -> None:
        async with (
            gateway() as gw,
            FaultLink(
                gw.url, drop=0.1, duplicate=0.1, delay=0.1, delay_s=0.03, cut=0.01, seed=seed
            ) as link,
        ):
            clients = [
                Client(
                    link.url, token(u), d, seed=seed * 10 + i, heartbeat=0.05, base=0.01, cap=0.1
                )
                for i, (u, d) in enumerate(
                    [("ann", "a1"), ("bob", "b1"), ("bob", "b2"), ("cy", "c1")]
                )
            ]
            for c in clients:
                await c.__aenter__()
            for i in range(40):
                await clients[i % 4].send("general", f"m{i}", client_msg_id=f"id{i}")
                await asyncio.sleep(0.005)
            for c in clients:
                await c.wait_sent(timeout=30)
            for c in clients:
                got = await c.wait_for("general", 40, timeout=30)
                assert [m.seq for m in got] == list(range(1, 41))
                assert sorted(m.body for m in got) == sorted(f"m{i}" for i in range(40))
            assert gw.server.store.last_seq("general") == 40  # retries stored nothing twice
            for c in clients:
                await c.close()
            assert link.stats["dropped"] and link.stats["duplicated"] and link.stats["delayed"]

    asyncio.run(main())


def test_a_frame_with_a_number_of_too_many_digits_is_a_protocol_error() -> None:
    """json.loads raises ValueError for a number of more than 4,300 digits: close code 4000."""

    async def main() -> None:
        async with gateway(max_frame=65536) as gw:
            for frame in ('{"op": "hello", "device": ' + "9" * 5000 + "}", "[-" + "9" * 5000 + "]"):
                ws = await raw(gw.url)
                await ws.send(frame)  # type: ignore[attr-defined]
                reply = json.loads(await ws.recv())  # type: ignore[attr-defined]
                assert reply["op"] == "error" and reply["code"] == 4000
                with pytest.raises(Exception):  # noqa: B017 - the close, whatever its class
                    await ws.recv()  # type: ignore[attr-defined]
                assert ws.close_code == 4000  # type: ignore[attr-defined]

    asyncio.run(main())


def test_bad_frames_get_an_error_and_a_close_code_and_the_server_lives_on() -> None:
    async def main() -> None:
        async with gateway(max_frame=1024) as gw:
            cases = [
                ("not json", 4000),
                (json.dumps([1, 2]), 4000),
                (json.dumps({"op": "send"}), 4000),  # before hello
                (json.dumps({"op": "hello", "token": "x.y.z", "device": "d"}), 4001),
                (json.dumps({"op": "hello", "token": token("ann", 1.0), "device": "d"}), 4001),
                ("x" * 5000, 1009),
            ]
            for frame, code in cases:
                ws = await raw(gw.url)
                await ws.send(frame)  # type: ignore[attr-defined]
                with pytest.raises(Exception):  # noqa: B017 - the close, whatever its class
                    while True:
                        reply = await ws.recv()  # type: ignore[attr-defined]
                        if code != 1009:
                            assert json.loads(reply)["code"] == code
                assert ws.close_code == code  # type: ignore[attr-defined]
            ws = await raw(gw.url)
            await ws.send(json.dumps({"op": "hello", "token": token("ann"), "device": "d"}))  # type: ignore[attr-defined]
            assert json.loads(await ws.recv())["op"] == "ready"  # type: ignore[attr-defined]
            for bad in ({"op": "send", "conv": "general", "client_msg_id": "a", "body": 7},
                        {"op": "ack", "conv": "general", "seq": 99}):  # fmt: skip
                await ws.send(json.dumps(bad))  # type: ignore[attr-defined]
                assert json.loads(await ws.recv())["code"] == 4000  # type: ignore[attr-defined]
                ws = await raw(gw.url)
                await ws.send(json.dumps({"op": "hello", "token": token("ann"), "device": "d"}))  # type: ignore[attr-defined]
                await ws.recv()  # type: ignore[attr-defined]
            assert (
                gw.server.store.last_seq("general") == 0 and gw.server.store.last_seq("nope") == 0
            )

    asyncio.run(main())


def test_a_refused_send_does_not_stop_the_sends_behind_it() -> None:
    """A send to a conversation the user is not in is answered ``refused`` on an open
    connection: the client drops it from ``pending`` and the good send behind it is stored."""

    async def main() -> None:
        async with gateway() as gw, Client(gw.url, token("ann"), "a1", seed=1) as ann:
            await until(lambda: ("ann", "a1") in gw.conns)
            await ann.send("not-mine", "oops", client_msg_id="bad")
            await ann.send("general", "hello bob", client_msg_id="good")
            await ann.wait_sent(timeout=5)
            assert [m.body for m in gw.server.store.read("general")] == ["hello bob"]
            assert ann.seqs == {("general", "good"): 1} and ann.pending == {}
            assert "not a member" in ann.refused["not-mine", "bad"] and ann.connects == 1
            assert gw.server.store.last_seq("not-mine") == 0
            ws = await raw(gw.url)  # on the wire: a refused frame, and the socket stays open
            await ws.send(json.dumps({"op": "hello", "token": token("bob"), "device": "b9"}))  # type: ignore[attr-defined]
            await ws.send(
                json.dumps({"op": "send", "conv": "nope", "client_msg_id": "z", "body": "b"})
            )  # type: ignore[attr-defined]
            await ws.send(
                json.dumps({"op": "send", "conv": "general", "client_msg_id": "z", "body": "b"})
            )  # type: ignore[attr-defined]
            ops = [json.loads(await ws.recv()) for _ in range(4)]  # type: ignore[attr-defined]
            assert [f["op"] for f in ops] == ["ready", "message", "refused", "sent"]
            assert ops[2]["conv"] == "nope" and ops[2]["client_msg_id"] == "z"
            await ws.close()  # type: ignore[attr-defined]

    asyncio.run(main())


def test_one_client_msg_id_in_two_conversations_is_two_sends() -> None:
    """The stores dedupe a send per (conversation, sender, client_msg_id): a client that
    numbers its sends per conversation must get both stored and confirmed, each with its seq."""

    async def main() -> None:
        gw = gateway()
        gw.join("random", "ann")
        async with gw, Client(gw.url, token("ann"), "a1", seed=1) as ann:
            await ann.send("general", "hello general", client_msg_id="1")  # queued offline
            await ann.send("random", "hello random", client_msg_id="1")
            assert len(ann.pending) == 2
            await ann.wait_sent(timeout=5)
            assert [m.body for m in gw.server.store.read("general")] == ["hello general"]
            assert [m.body for m in gw.server.store.read("random")] == ["hello random"]
            assert ann.seqs == {("general", "1"): 1, ("random", "1"): 1}

    asyncio.run(main())


@pytest.mark.parametrize("peek", ["typo", "tokenomics"])
def test_looking_at_a_conversation_one_is_not_in_does_not_break_the_next_reconnect(
    peek: str,
) -> None:
    """The UI shows a conversation the user is not in; the connection is then cut. The client
    resumes (the look made no inbox, and no cursor for it is sent), and a cursor for a
    conversation the user is not in, even one whose name says "token", is dropped by the
    gateway rather than answered with a close (4000, or 4001 as though the token were bad)."""

    async def main() -> None:
        async with gateway() as gw, Client(gw.url, token("ann"), "a1", seed=1) as ann:
            await until(lambda: ("ann", "a1") in gw.conns)
            assert ann.shown(peek) == [] and peek not in ann.inboxes
            gw.conns[("ann", "a1")].ws.transport.abort()  # a network blip
            await until(lambda: ann.connects == 2 and ("ann", "a1") in gw.conns)
            assert ann.closed_codes == [] and ann.error is None
            ws = await raw(gw.url)
            hello = {"op": "hello", "token": token("bob"), "device": "b1",
                     "cursors": {peek: 3, "general": 0}}  # fmt: skip
            await ws.send(json.dumps(hello))  # type: ignore[attr-defined]
            ready = json.loads(await ws.recv())  # type: ignore[attr-defined]
            assert ready["op"] == "ready" and ready["convs"] == ["general"]
            await ws.close()  # type: ignore[attr-defined]

    asyncio.run(main())


def test_a_fast_client_gets_a_replay_far_over_write_limit_without_being_cut() -> None:
    """100 messages of 1,000 emoji are 1.2 MB of JSON, 74 times ``write_limit``: the resume
    page and a fetched page go at the pace the client reads (small kernel buffers, so the
    gateway cannot hand them all to the kernel at once), and it is never taken for a slow
    consumer."""

    async def main() -> None:
        store = MemoryStore()
        for i in range(100):
            store.append("general", "ann", f"m{i}", "\U0001f600" * 1000)
        async with gateway(store=store, write_limit=16384, page=50) as gw:
            ws = await raw(gw.url)
            sock = ws.transport.get_extra_info("socket")  # type: ignore[attr-defined]
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
            await ws.send(json.dumps({"op": "hello", "token": token("bob"), "device": "b1"}))  # type: ignore[attr-defined]
            assert json.loads(await ws.recv())["op"] == "ready"  # type: ignore[attr-defined]
            conn = gw.conns[("bob", "b1")]
            conn.ws.transport.get_extra_info("socket").setsockopt(
                socket.SOL_SOCKET, socket.SO_SNDBUF, 32768
            )
            seqs = [json.loads(await ws.recv())["seq"] for _ in range(50)]  # type: ignore[attr-defined]
            await ws.send(json.dumps({"op": "fetch", "conv": "general", "first": 51}))  # type: ignore[attr-defined]
            seqs += [json.loads(await ws.recv())["seq"] for _ in range(50)]  # type: ignore[attr-defined]
            assert seqs == list(range(1, 101)) and gw.slow_disconnects == 0
            await ws.close()  # type: ignore[attr-defined]
        async with (
            gateway(store=store, write_limit=16384, page=40) as gw,
            Client(gw.url, token("bob"), "b1", seed=1) as bob,
        ):  # and the client, which fetches what is left after each page by itself
            got = await bob.wait_for("general", 100, timeout=20)
            assert [m.seq for m in got] == list(range(1, 101))
            assert bob.connects == 1 and bob.closed_codes == [] and gw.slow_disconnects == 0

    asyncio.run(main())


def test_a_slow_consumer_is_counted_once_however_many_frames_find_it_full() -> None:
    async def main() -> None:
        async with gateway(write_limit=4096) as gw:
            ws = await raw(gw.url)
            sock = ws.transport.get_extra_info("socket")  # type: ignore[attr-defined]
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            await ws.send(json.dumps({"op": "hello", "token": token("bob"), "device": "b1"}))  # type: ignore[attr-defined]
            await ws.recv()  # type: ignore[attr-defined]
            ws.transport.pause_reading()  # type: ignore[attr-defined]  # bob stops reading
            conn = gw.conns[("bob", "b1")]
            conn.ws.transport.get_extra_info("socket").setsockopt(
                socket.SOL_SOCKET, socket.SO_SNDBUF, 4096
            )
            big = ("x" * 100_000).encode()
            for _ in range(10):  # ten fan-outs in one go, before the close can run
                gw._fanout([conn], big)
            assert gw.slow_disconnects == 1

    asyncio.run(main())


def test_a_socket_that_never_says_hello_or_falls_silent_is_closed() -> None:
    """No hello within ``hello_timeout``: an error frame and close 4000, nothing held. With an
    ``idle_timeout``, a connection silent that long after its hello is closed and forgotten,
    while a client that heartbeats stays."""

    async def main() -> None:
        async with gateway(hello_timeout=0.3, idle_timeout=1.5) as gw:
            mute = [await raw(gw.url) for _ in range(20)]
            for ws in mute:
                reply = json.loads(await asyncio.wait_for(ws.recv(), 5))  # type: ignore[attr-defined]
                assert reply["code"] == 4000 and "no hello" in reply["reason"]
                with pytest.raises(Exception):  # noqa: B017 - the close, whatever its class
                    await ws.recv()  # type: ignore[attr-defined]
                assert ws.close_code == 4000  # type: ignore[attr-defined]
            await until(lambda: not gw._ws_server.connections)
            silent = await raw(gw.url)
            await silent.send(json.dumps({"op": "hello", "token": token("bob"), "device": "b"}))  # type: ignore[attr-defined]
            async with Client(gw.url, token("ann"), "a1", seed=1, heartbeat=0.05) as ann:
                await until(lambda: ("bob", "b") in gw.conns and ("ann", "a1") in gw.conns)
                await until(lambda: ("bob", "b") not in gw.conns)  # silent: closed
                assert silent.close_code == 4000  # type: ignore[attr-defined]
                await asyncio.sleep(2.0)  # past idle_timeout: 40 heartbeats apart at 0.05 s
                assert ("ann", "a1") in gw.conns and ann.connects == 1  # heartbeats: kept

    asyncio.run(main())


@pytest.mark.parametrize(
    ("name", "value"),
    [("hello_timeout", 0), ("hello_timeout", float("nan")), ("hello_timeout", None),
     ("hello_timeout", True), ("idle_timeout", -1.0), ("idle_timeout", "5"),
     ("idle_timeout", 3601)],
)  # fmt: skip
def test_timeouts_are_refused_by_name_unless_seconds_in_range(name: str, value: object) -> None:
    with pytest.raises(MessagingError, match=name):
        Gateway(secret=SECRET, **{name: value})  # type: ignore[arg-type]


def test_a_client_whose_cursor_is_past_a_reset_log_starts_that_inbox_afresh() -> None:
    """The gateway restarts on a fresh memory store, on the same port: bob's cursor (3) is past
    the new log's end. The ready says so, bob's inbox starts again, and the new messages (seqs
    1 and 2 again) are shown, not dropped as duplicates of the old ones."""

    async def main() -> None:
        first = await gateway().__aenter__()  # stopped by hand below, mid-test
        async with Client(first.url, token("bob"), "b1", seed=2, cap=0.1) as bob:
            async with Client(first.url, token("ann"), "a1", seed=1) as ann:
                for i in range(3):
                    await ann.send("general", f"old {i}")
                await bob.wait_for("general", 3)
            await first.__aexit__(None, None, None)
            async with gateway(port=first.port) as second:
                async with Client(second.url, token("ann"), "a2", seed=3) as ann:
                    for i in range(2):
                        await ann.send("general", f"new {i}")
                    await ann.wait_sent()
                await until(lambda: [m.body for m in bob.shown("general")] == ["new 0", "new 1"])
                assert bob.resets == ["general"] and bob.inboxes["general"].duplicates == 0

    asyncio.run(main())


async def next_op(ws: object, op: str) -> dict[str, Any]:
    """The next frame of ``ws`` whose op is ``op`` (presence and messages are passed over);
    a test waits at most 10 s for it, so a frame that never comes fails rather than hangs."""
    async with asyncio.timeout(10):
        while (frame := json.loads(await ws.recv()))["op"] != op:  # type: ignore[attr-defined]
            pass
    return frame  # type: ignore[no-any-return]


def test_a_locked_store_stalls_no_socket_and_its_send_is_retried_not_closed(
    tmp_path: Path,
) -> None:
    """Another process holds the SQLite file's write lock: the append waits in the store's
    worker thread while the gateway keeps answering (a heartbeat, at once), then the send is
    answered ``error`` 1013 with its ids on an open connection, not closed as a protocol
    error; the client's retry stores it once the lock is free."""
    import sqlite3

    async def main() -> None:
        path = tmp_path / "chat.db"
        store = SQLiteStore(path)
        store._db.execute("PRAGMA busy_timeout=1500")
        other = sqlite3.connect(path, isolation_level=None)  # a second writer, or a backup

        async with gateway(store=store) as gw:
            ws, cy = await raw(gw.url), await raw(gw.url)
            for sock, user in ((ws, "ann"), (cy, "cy")):
                await sock.send(json.dumps({"op": "hello", "token": token(user), "device": "d"}))  # type: ignore[attr-defined]
                assert json.loads(await sock.recv())["op"] == "ready"  # type: ignore[attr-defined]
            other.execute("BEGIN IMMEDIATE")
            send = {"op": "send", "conv": "general", "client_msg_id": "m1", "body": "hi"}
            await ws.send(json.dumps(send))  # type: ignore[attr-defined]
            await asyncio.sleep(0.1)
            await cy.send(json.dumps({"op": "heartbeat"}))  # type: ignore[attr-defined]
            acked = asyncio.ensure_future(next_op(cy, "heartbeat_ack"))
            refused = asyncio.ensure_future(next_op(ws, "error"))
            done, _ = await asyncio.wait({acked, refused}, return_when=asyncio.FIRST_COMPLETED)
            assert done == {acked}  # another socket, answered while ann's append still waits
            assert acked.result()["last"] == {"general": 0}
            reply = await refused
            assert reply["op"] == "error" and reply["code"] == 1013  # try again later
            assert (reply["conv"], reply["client_msg_id"]) == ("general", "m1")
            async with Client(gw.url, token("bob"), "b1", seed=1) as bob:
                await until(lambda: ("bob", "b1") in gw.conns)
                await bob.send("general", "queued while locked", client_msg_id="b1")
                await asyncio.sleep(0.5)
                assert bob.pending and bob.connects == 1
                other.execute("ROLLBACK")
                await bob.wait_sent(timeout=10)
                assert bob.connects == 1 and bob.closed_codes == []
            await ws.send(json.dumps(send))  # type: ignore[attr-defined]  # ann's retry
            assert (await next_op(ws, "sent"))["seq"] == 2
            assert [m.body for m in store.read("general")] == ["queued while locked", "hi"]
            await ws.close(), await cy.close()  # type: ignore[attr-defined]
        other.close()

    asyncio.run(main())


def test_a_slow_consumer_is_disconnected_and_resumes() -> None:
    async def main() -> None:
        async with gateway(write_limit=4096) as gw:
            ws = await raw(gw.url)
            sock = ws.transport.get_extra_info("socket")  # type: ignore[attr-defined]
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            await ws.send(json.dumps({"op": "hello", "token": token("bob"), "device": "b1"}))  # type: ignore[attr-defined]
            await ws.recv()  # type: ignore[attr-defined]
            ws.transport.pause_reading()  # type: ignore[attr-defined]  # bob's phone stops reading
            conn = gw.conns[("bob", "b1")]
            server_sock = conn.ws.transport.get_extra_info("socket")
            server_sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
            async with Client(gw.url, token("ann"), "a1", seed=1) as ann:
                for i in range(40):
                    await ann.send("general", "x" * 4000, client_msg_id=f"m{i}")
                    await ann.wait_sent()
            assert gw.slow_disconnects == 1 and ("bob", "b1") not in gw.conns
            # the server and presence know the device is gone (bob had no other)
            assert gw.server.online("bob") == [] and gw.presence.state("bob") == "offline"
            # bounded: the gateway held at most write_limit bytes plus the frame that tipped it
            assert conn.ws.transport.get_write_buffer_size() <= 4096 + 4100
            await asyncio.sleep(1.2)
            assert conn.ws.transport.is_closing()  # cut, even though the peer never read
            async with Client(gw.url, token("bob"), "b1", seed=2) as bob:
                got = await bob.wait_for("general", 40)  # resumed page by page
                assert [m.seq for m in got] == list(range(1, 41))

    asyncio.run(main())


async def presence_frames(ws: object, quiet: float = 1.0) -> list[tuple[str, str]]:
    """The ``presence`` frames ``ws`` receives until it has been quiet ``quiet`` seconds."""
    out: list[tuple[str, str]] = []
    while True:
        try:
            frame = json.loads(await asyncio.wait_for(ws.recv(), quiet))  # type: ignore[attr-defined]
        except TimeoutError:
            return out
        if frame["op"] == "presence":
            out.append((frame["user"], frame["state"]))


async def until(condition: Callable[[], bool], limit: float = 10.0) -> None:
    """Wait for the gateway to handle what the test just did (a close, say)."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "the gateway did not get there"
        await asyncio.sleep(0.01)


def test_a_user_stays_online_while_one_of_their_devices_is_connected() -> None:
    async def hello(url: str, user: str, device: str) -> object:
        ws = await raw(url)
        hello = {"op": "hello", "token": token(user), "device": device, "cursors": {}}
        await ws.send(json.dumps(hello))  # type: ignore[attr-defined]
        assert json.loads(await ws.recv())["op"] == "ready"  # type: ignore[attr-defined]
        return ws

    async def main() -> None:
        async with gateway(presence_interval=0.05) as gw:
            bob = await hello(gw.url, "bob", "b1")
            phone = await hello(gw.url, "ann", "phone")
            laptop = await hello(gw.url, "ann", "laptop")
            # the second device changes nothing bob sees: ann was already online
            assert await presence_frames(bob) == [("ann", "online")]
            assert gw.server.online("ann") == ["laptop", "phone"]
            await phone.close()  # type: ignore[attr-defined]
            await until(lambda: gw.server.online("ann") == ["laptop"])
            assert await presence_frames(bob) == []  # the laptop is still there
            assert gw.presence.state("ann") == "online"
            await laptop.close()  # type: ignore[attr-defined]
            await until(lambda: gw.server.online("ann") == [])
            assert await presence_frames(bob) == [("ann", "offline")]
            assert gw.server.online("ann") == [] and gw.presence.state("ann") == "offline"
            await bob.close()  # type: ignore[attr-defined]

    asyncio.run(main())
