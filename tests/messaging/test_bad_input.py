"""Bad input: the family's error naming the value, the object unchanged; over the wire, hostile
field values in every frame get an error frame and close code 4000, the log unchanged and the
gateway still serving. (Every public entry point is also run against the fuzz suite's hostile
values: tests/fuzz/families/messaging.py.)"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.messaging import (
    ChatServer,
    MessagingError,
    Receipts,
    RedisStore,
    SQLiteStore,
)
from designpatterns_ref.messaging.base import MAX_SEQ
from designpatterns_ref.messaging.gateway import Gateway
from designpatterns_ref.messaging.token import make_token, verify_token
from tests.fuzz.spec import Opaque

HOSTILE = [None, True, float("nan"), float("inf"), 10**400, -1, "", "x" * 5000, "\ud800", [], {}]


@pytest.mark.parametrize("value", HOSTILE, ids=repr)
def test_server_refuses_and_changes_nothing(value: object) -> None:
    server = ChatServer(SQLiteStore(":memory:"))
    server.join("c", "ann")
    server.send("ann", "c", "m1", "hi")
    before = (server.fetch("c", 1), server.members("c"), server.receipts._acked.copy())
    calls = [
        lambda: server.send("ann", "c", value, "x"),  # type: ignore[arg-type]
        lambda: server.send("ann", value, "m2", "x"),  # type: ignore[arg-type]
        lambda: server.ack("ann", "d", "c", value),  # type: ignore[arg-type]
        lambda: server.read("ann", "c", value),  # type: ignore[arg-type]
        lambda: server.connect("ann", value, {}),  # type: ignore[arg-type]
    ]
    if value != "":  # an empty body is allowed
        calls.append(lambda: server.send("ann", "c", "m2", value))  # type: ignore[arg-type]
    for call in calls:
        with pytest.raises(MessagingError, match=r"must"):
            call()
    assert (server.fetch("c", 1), server.members("c"), server.receipts._acked) == before


@pytest.mark.parametrize("value", [[], {}, [1, 2], None, 10**400, "", "\ud800"], ids=repr)
def test_receipt_cursors_refuse_a_hostile_id_by_name(value: Any) -> None:
    receipts = Receipts()
    receipts.ack("bob", "phone", "c", 2), receipts.read("bob", "c", 1)
    calls = [
        ("user", lambda: receipts.acked(value, "phone", "c")),
        ("device", lambda: receipts.acked("bob", value, "c")),
        ("conv", lambda: receipts.acked("bob", "phone", value)),
        ("user", lambda: receipts.read_marker(value, "c")),
        ("conv", lambda: receipts.read_marker("bob", value)),
    ]
    for name, lookup in calls:
        with pytest.raises(MessagingError, match=rf"^{name}=.* must"):
            lookup()
    assert (receipts.acked("bob", "phone", "c"), receipts.read_marker("bob", "c")) == (2, 1)


def test_hostile_frames_over_the_wire() -> None:
    from websockets.asyncio.client import connect

    secret = b"secret"

    async def main() -> None:
        async with Gateway(secret=secret, max_frame=16384) as gw:
            gw.join("c", "ann")
            tok = make_token(secret, "ann", expires=time.time() + 60)
            good = {"op": "send", "conv": "c", "client_msg_id": "m", "body": "b"}
            for field in ("conv", "client_msg_id", "body"):
                for value in [None, True, 10**400, -1, "", "x" * 5000, "\ud800", [], {}]:
                    if field == "body" and value == "":
                        continue  # an empty body is allowed
                    async with connect(gw.url, ping_interval=None) as ws:
                        await ws.send(json.dumps({"op": "hello", "token": tok, "device": "d"}))
                        await ws.recv()
                        await ws.send(json.dumps({**good, field: value}))
                        reply = json.loads(await ws.recv())
                        assert reply["op"] == "error" and reply["code"] == 4000, (field, value)
                        await asyncio.sleep(0)
                    assert ws.close_code == 4000
            assert gw.server.store.last_seq("c") == 0
            async with connect(gw.url, ping_interval=None) as ws:  # still serving
                await ws.send(json.dumps({"op": "hello", "token": tok, "device": "d"}))
                assert json.loads(await ws.recv())["op"] == "ready"

    asyncio.run(main())


@pytest.mark.parametrize("value", HOSTILE, ids=repr)
def test_redis_read_store_refuses_and_changes_nothing(redis_url: str, value: object) -> None:
    from designpatterns_ref.messaging.readstore import RedisReadStore

    store = RedisReadStore(redis_url)
    store.write([("ann", "c", 5, 2)])
    before = (store.load("ann", "c"), store.unread("ann"))
    calls = [
        lambda: store.load(value, "c"),  # type: ignore[arg-type]
        lambda: store.load("ann", value),  # type: ignore[arg-type]
        lambda: store.unread(value),  # type: ignore[arg-type]
        lambda: store.write([("ann", "c", 9, 0), ("ann", value, 1, 1)]),  # type: ignore[list-item]
        lambda: store.write([("ann", "c", value, 0)]),  # type: ignore[list-item]
        lambda: store.write(value),  # type: ignore[arg-type]
    ]
    for call in calls:
        if call is calls[-1] and value in ([], {}):
            continue  # an empty batch is allowed (and writes nothing)
        with pytest.raises(MessagingError):
            call()
    assert (store.load("ann", "c"), store.unread("ann")) == before


@pytest.mark.parametrize("value", [*HOSTILE, 0, 10**6], ids=repr)
def test_load_generators_refuse_before_starting_anything(value: object) -> None:
    from designpatterns_ref.messaging.loadgen import measure_cluster, measure_scale

    for call in (
        lambda: measure_scale(value),  # type: ignore[arg-type]
        lambda: measure_scale(10, members=value),  # type: ignore[arg-type]
        lambda: measure_scale(10, members=5, rounds=value),  # type: ignore[arg-type]
        lambda: measure_scale(10, members=5, receivers=value),  # type: ignore[arg-type]
        lambda: measure_scale(10, members=5, server=value),  # type: ignore[arg-type]
        lambda: measure_cluster("redis://127.0.0.1:1", members=value),  # type: ignore[arg-type]
        lambda: measure_cluster("redis://127.0.0.1:1", members=5, rounds=value),  # type: ignore[arg-type]
    ):
        with pytest.raises(MessagingError):
            call()


@pytest.mark.parametrize("value", [*HOSTILE, 0, 10**6, [], ["a,b"]], ids=repr)
def test_receivers_refuse_before_starting_a_process(value: object) -> None:
    from designpatterns_ref.messaging.receivers import Receivers

    for call in (
        lambda: Receivers(value, b"secret", ["u0"]),  # type: ignore[arg-type]
        lambda: Receivers(1, value, ["u0"]),  # type: ignore[arg-type]
        lambda: Receivers(1, b"secret", value),  # type: ignore[arg-type]
        lambda: Receivers(1, b"secret", [value]),  # type: ignore[list-item]
        lambda: Receivers(1, b"secret", ["u0"], value),  # type: ignore[arg-type]
    ):
        with pytest.raises(MessagingError):
            call()


def _server_state(server: ChatServer) -> object:
    """Everything a connect could change: logs, members, online devices, receipt devices."""
    users = ("ann", "bob", "cy")
    return (
        {c: server.fetch(c, 1) for c in ("c", "d", "e")},
        {c: server.members(c) for c in ("c", "d", "e")},
        {u: server.online(u) for u in users},
        {u: server.receipts.devices(u) for u in users},
        dict(server.receipts._acked),
        dict(server.receipts._read),
    )


_cursor = st.one_of(st.integers(0, MAX_SEQ), st.sampled_from([MAX_SEQ, MAX_SEQ + 1, -1, 10**400]))


@settings(max_examples=60)
@given(st.dictionaries(st.sampled_from(["c", "d", "e"]), _cursor, max_size=3), st.integers(0, 3))
@example({"c": MAX_SEQ}, 2)  # past the last seq: nothing to replay, no first=MAX_SEQ+1 fetch
@example({"c": 0, "d": MAX_SEQ + 1}, 2)
@example({"c": 1, "e": 0}, 1)  # e is not bob's conversation
def test_connect_replays_after_the_cursors_or_refuses_and_changes_nothing(
    cursors: dict[str, int], sends: int
) -> None:
    server = ChatServer()
    for conv in ("c", "d"):
        server.join(conv, "ann"), server.join(conv, "bob")
    server.join("e", "ann")
    log = {c: [server.send("ann", c, f"m{i}", "hi")[0] for i in range(sends)] for c in "cd"}
    before = _server_state(server)
    valid = all(0 <= s <= MAX_SEQ and c in log for c, s in cursors.items())
    if not valid:
        with pytest.raises(MessagingError):
            server.connect("bob", "phone", cursors)
        assert _server_state(server) == before
        return
    replay = server.connect("bob", "phone", cursors)
    assert replay == [m for c in sorted(log) for m in log[c] if m.seq > cursors.get(c, 0)]
    assert server.online("bob") == ["phone"] and server.receipts.devices("bob") == {"phone"}


def test_connect_refused_by_an_unreachable_store_registers_nothing() -> None:
    server = ChatServer(RedisStore("redis://127.0.0.1:1", deadline=0.1))
    server.join("c", "ann"), server.join("c", "bob")
    with pytest.raises(MessagingError):
        server.connect("bob", "phone", {})  # the replay's read fails
    assert server.online("bob") == [] and server.receipts.devices("bob") == frozenset()


_GOOD = make_token(b"secret", "ann", expires=100.0)
#: Tokens of three dot-separated parts that are not ASCII, not hex where the format says hex,
#: or not decimal digits where it says digits: each must get the family's token error.
DOTTED = [
    "a.1.\u00e9",
    "a.1.\ud800",
    "\ud800.1.00",
    _GOOD[:-1] + "\u00e9",
    _GOOD[:-1] + "\ud800",
    "\u00e9" + _GOOD[1:],
    _GOOD.replace(".100.", ".\uff11\uff10\uff10."),  # fullwidth digits
    _GOOD.replace(".100.", ".\u00b9\u00b2."),  # superscript digits: str.isdigit() says yes
    _GOOD.replace(".100.", ".-1."),
    _GOOD.replace(".100.", ".."),
    "zz" + _GOOD[2:],
    "..",
    ".".join(["\x00"] * 3),
]


@pytest.mark.parametrize("token", DOTTED, ids=repr)
def test_verify_token_refuses_hostile_dotted_tokens(token: str) -> None:
    with pytest.raises(MessagingError, match="token"):  # the gateways answer "token" with 4001
        verify_token(b"secret", token, now=50.0)


_part = st.text(max_size=70) | st.text("0123456789abcdefABCDEF", max_size=70)


@given(st.tuples(_part, _part, _part).map(".".join))
@example(_GOOD[:-1] + "\u00e9")
@example(_GOOD.upper())
def test_verify_token_accepts_only_what_make_token_made(token: str) -> None:
    try:
        user = verify_token(b"secret", token, now=50.0)
    except MessagingError as exc:
        assert "token" in str(exc)
        return
    expiry = token.split(".")[1]
    assert token == make_token(b"secret", user, expires=float(expiry)) and int(expiry) >= 50


def test_a_gateway_answers_a_hostile_token_with_the_auth_error() -> None:
    from websockets.asyncio.client import connect

    async def main() -> None:
        async with Gateway(secret=b"secret") as gw:
            gw.join("c", "ann")
            for tok in DOTTED:
                async with connect(gw.url, ping_interval=None) as ws:
                    await ws.send(json.dumps({"op": "hello", "token": tok, "device": "d"}))
                    reply = json.loads(await ws.recv())
                    assert reply["op"] == "error" and reply["code"] == 4001, tok
                    await asyncio.sleep(0)
                assert ws.close_code == 4001
            async with connect(gw.url, ping_interval=None) as ws:  # still serving
                good = make_token(b"secret", "ann", expires=time.time() + 60)
                await ws.send(json.dumps({"op": "hello", "token": good, "device": "d"}))
                assert json.loads(await ws.recv())["op"] == "ready"
            assert gw.server.online("ann") == ["d"]

    asyncio.run(main())


@pytest.mark.parametrize(
    "client",
    [*HOSTILE, 123, b"redis://localhost", "not a url", "http://127.0.0.1:6379", Opaque()],
    ids=repr,
)
def test_redis_store_refuses_a_client_that_is_no_redis_url_or_client(client: object) -> None:
    with pytest.raises(MessagingError, match="client"):
        RedisStore(client)


def test_redis_store_takes_a_url_or_a_redis_client(redis_url: str) -> None:
    import redis

    by_url = RedisStore(redis_url, prefix="t")
    by_url.append("c", "ann", "m1", "hi")
    by_client = RedisStore(redis.Redis.from_url(redis_url), prefix="t")
    assert [m.body for m in by_client.read("c")] == ["hi"]  # decoded, whatever the client said
    by_url.close(), by_client.close()


_CAPACITY = {"connections": 1000, "bytes_per_conn": 1e4, "fanout_frames_per_s": 1e4,
             "messages_per_s": 10, "members": 10}  # fmt: skip


@pytest.mark.parametrize(
    "name", [*_CAPACITY, "memory_per_gateway", "conns_per_gateway_limit", "frame_bytes"]
)
@pytest.mark.parametrize("value", [5e-324, 1.1125369292536007e-308, 1e-12, 0.0, -1.0], ids=repr)
def test_capacity_refuses_a_figure_too_small_to_divide_by(name: str, value: float) -> None:
    # a subnormal rate made gateways = ceil(inf): OverflowError instead of the family's error
    from designpatterns_ref.messaging.capacity import capacity

    with pytest.raises(MessagingError, match=name):
        capacity(**{**_CAPACITY, name: value})  # type: ignore[arg-type]


@pytest.mark.parametrize("field", ["sender", "client_msg_id", "body", "seq"])
@pytest.mark.parametrize("value", HOSTILE, ids=repr)
def test_an_inbox_refuses_a_message_with_a_hostile_field_and_shows_nothing(
    field: str, value: object
) -> None:
    from designpatterns_ref.messaging import Inbox, Message

    if field == "body" and value == "":
        return  # an empty body is a body
    box = Inbox("c")
    box.receive(Message("c", 2, "ann", "m2", "later"))
    before = (box.cursor, list(box.shown), box.buffered, box.duplicates)
    fields: dict[str, Any] = {"conv": "c", "seq": 1, "sender": "ann", "client_msg_id": "m1",
                              "body": "hi", field: value}  # fmt: skip
    with pytest.raises(MessagingError, match=field):
        box.receive(Message(**fields))
    assert (box.cursor, list(box.shown), box.buffered, box.duplicates) == before


def test_the_client_drops_a_malformed_message_frame_and_stays_connected() -> None:
    """A gateway (here a bare WebSocket server on loopback) sends a ``message`` frame whose
    fields are not a message's: the client shows none of it, keeps the connection, and shows
    the good frame that follows."""
    from websockets.asyncio.server import serve

    from designpatterns_ref.messaging.client import Client

    good = {"op": "message", "conv": "c", "seq": 1, "sender": "ann", "client_msg_id": "m1",
            "body": "hi"}  # fmt: skip
    bad = [{**good, "sender": None}, {**good, "client_msg_id": 42}, {**good, "body": ["x"]},
           {**good, "conv": ["c"]}, {**good, "seq": "1"},
           {"op": "message", "conv": "c"}]  # fmt: skip

    async def handler(ws: Any) -> None:
        await ws.recv()  # the hello
        await ws.send(json.dumps({"op": "ready", "user": "bob", "convs": ["c"]}))
        for frame in [*bad, good]:
            await ws.send(json.dumps(frame))
        await ws.wait_closed()

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            async with Client(f"ws://127.0.0.1:{port}", "t", "b1", seed=1) as bob:
                got = await bob.wait_for("c", 1, timeout=5)
                assert [(m.sender, m.body) for m in got] == [("ann", "hi")]
                assert bob.connects == 1 and "malformed" in (bob.error or "")
                assert list(bob.inboxes) == ["c"]

    asyncio.run(main())
