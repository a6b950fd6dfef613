"""A stateless edge gateway: it terminates sockets; Redis and the channel servers hold the state.

Case study: Slack's WebSocket Gateway: 1M Concurrent Connections
(docs/case-studies/slack-gateway.md)

It speaks the same frames as :class:`~designpatterns_ref.messaging.gateway.Gateway` (so the
same :class:`~designpatterns_ref.messaging.client.Client` connects), but keeps nothing a
restart would lose: on ``hello`` it reads the user's conversations from Redis
(:class:`~designpatterns_ref.messaging.directory.Directory`), subscribes to their Pub/Sub
channels (once per conversation per gateway, however many local members; every subscribe
and unsubscribe is decided under one lock from the local members at that moment, so a late
unsubscribe never undoes a newer hello's subscription), then replays the
log after the client's cursors from the Redis stream. A ``send`` goes to the conversation's
owner, the channel server a :class:`~designpatterns_ref.messaging.hashring.HashRing` names;
the owner appends and publishes the encoded frame once, and each subscribed gateway writes
those same bytes to its local members' sockets (``websockets``' ``broadcast``: a write to
each transport, no await per socket). A socket whose unsent bytes exceed ``write_limit`` is
a slow consumer: closed with 4008, and it resumes from its cursor later. Every Redis call is
awaited (``redis.asyncio``), so one that waits delays only its own socket; a frame Redis
cannot serve (down, past the 2 s deadline) is answered ``error`` and closed with 1013,
"try again later", as on the gateway.

Kill a gateway (SIGKILL) and nothing is lost: its clients reconnect to another gateway with
their cursors, a send that was in flight is retried with the same ``client_msg_id`` (stored
once), and anything published while they were away is in the stream.

Subscribing happens before the replay read, so a message published in between arrives twice
at worst (the inbox drops the copy); and the ``heartbeat_ack`` carries each conversation's
last seq, which closes any window that remains (a publish lost with a dying channel server).

>>> EdgeGateway.ACK_SCRIPT.count("HSET")
1
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from designpatterns_ref.errors import shown
from designpatterns_ref.messaging.base import (
    Message,
    MessagingError,
    MessagingTypeError,
    StoreUnavailable,
    check_body,
    check_id,
    check_seq,
)
from designpatterns_ref.messaging.directory import check_redis, convs_key, fan_channel, log_key
from designpatterns_ref.messaging.frames import (
    CLOSE_CODES,
    RETRY_LATER,
    check_timeout,
    member_cursors,
    message_frame,
    refused_frame,
    serve_frames,
)
from designpatterns_ref.messaging.hashring import HashRing
from designpatterns_ref.messaging.token import verify_token

__all__ = ["EdgeGateway"]


@contextlib.contextmanager
def _redis_outage() -> Iterator[None]:
    """A Redis failure under a frame (down, past its 2 s deadline, refusing a command) as
    :class:`~designpatterns_ref.messaging.base.StoreUnavailable`: the socket is closed with
    1013, "try again later", as the gateway does, not 1011 as an internal error."""
    import redis

    try:
        yield
    except redis.RedisError as exc:
        raise StoreUnavailable(f"Redis: {type(exc).__name__}: {exc}"[:300]) from exc


class _Conn:
    __slots__ = ("closing", "convs", "device", "pushed", "user", "ws")

    def __init__(self, ws: Any, user: str, device: str, convs: set[str]) -> None:
        self.ws, self.user, self.device, self.convs = ws, user, device, convs
        self.closing = False  # dropped: written to and counted no more
        self.pushed: dict[str, int] = {}  # conv -> the highest seq written to this socket


class _Link:
    """The gateway's connection to one channel server: requests matched to replies by id."""

    def __init__(self, address: str) -> None:
        host, _, port = address.rpartition(":")
        self.host, self.port = host, int(port)
        self.writer: asyncio.StreamWriter | None = None
        self.reader_task: asyncio.Task[None] | None = None
        self.waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.next_id = 0
        self._lock = asyncio.Lock()

    async def _connect(self) -> asyncio.StreamWriter:
        async with self._lock:
            if self.writer is None or self.writer.is_closing():
                reader, self.writer = await asyncio.open_connection(self.host, self.port)
                self.reader_task = asyncio.ensure_future(self._read(reader, self.writer))
            return self.writer

    async def _read(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                reply = json.loads(line)
                fut = self.waiting.pop(reply.get("id"), None)
                if fut is not None and not fut.done():
                    fut.set_result(reply)
        except (ConnectionError, ValueError):
            pass
        finally:
            writer.close()
            for fut in self.waiting.values():
                if not fut.done():
                    fut.set_exception(ConnectionError("channel server link lost"))
            self.waiting.clear()

    async def request(self, req: dict[str, Any], timeout: float) -> dict[str, Any]:
        writer = await self._connect()
        self.next_id += 1
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiting[self.next_id] = fut
        request_id = self.next_id
        writer.write((json.dumps({**req, "id": request_id}) + "\n").encode())
        try:
            async with asyncio.timeout(timeout):
                return await fut
        finally:
            self.waiting.pop(request_id, None)  # answered, or given up on: never kept


class EdgeGateway:
    """``async with EdgeGateway(redis_url, {"cs-a": "127.0.0.1:7001"}, secret=b"...")``."""

    CLOSE_CODES: ClassVar[dict[str, int]] = CLOSE_CODES
    ACK_SCRIPT = """
local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) > cur then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return cur
"""

    def __init__(
        self,
        redis_url: str,
        channel_servers: Mapping[str, str],
        *,
        secret: bytes,
        host: str = "127.0.0.1",
        port: int = 0,
        prefix: str = "dp:msg",
        max_frame: int = 65536,
        write_limit: int = 1 << 20,
        page: int = 500,
        vnodes: int = 64,
        hello_timeout: float = 10.0,
        idle_timeout: float | None = None,
    ) -> None:
        if not isinstance(redis_url, str):
            raise MessagingTypeError(f"redis_url={shown(redis_url, 80)} must be a redis:// URL")
        check_redis(redis_url)
        if not isinstance(channel_servers, Mapping) or not channel_servers:
            raise MessagingTypeError(
                "channel_servers must be a non-empty mapping name -> host:port"
            )
        for name, address in channel_servers.items():
            check_id("channel server name", name)
            port_text = address.rpartition(":")[2] if isinstance(address, str) else ""
            if not port_text.isdigit() or not 0 < int(port_text) < 65536:
                raise MessagingError(
                    f"channel server {shown(name, 40)}: {shown(address, 80)} is not host:port"
                )
        if not isinstance(secret, bytes) or len(secret) < 4:
            raise MessagingError("secret must be bytes, at least 4 of them")
        if not isinstance(host, str) or not host:
            raise MessagingError(f"host={shown(host, 80)} must be a non-empty string")
        limits = [("port", port, 0, 65535), ("max_frame", max_frame, 64, 2**30),
                  ("write_limit", write_limit, 1, 2**40), ("page", page, 1, 100_000)]  # fmt: skip
        for name, value, low, high in limits:
            check_seq(name, value, low=low, high=high)
        self.redis_url, self.prefix = redis_url, check_id("prefix", prefix)
        self.secret, self.host, self.port = secret, host, port
        self.max_frame, self.write_limit, self.page = max_frame, write_limit, page
        #: No ``hello`` within this many seconds, or (when not None) nothing for
        #: ``idle_timeout`` seconds after it: the socket is closed with 4000, as in the gateway.
        self.hello_timeout = check_timeout("hello_timeout", hello_timeout)
        self.idle_timeout = check_timeout("idle_timeout", idle_timeout, optional=True)
        self.ring = HashRing(channel_servers, vnodes=vnodes)
        self.links = {name: _Link(address) for name, address in channel_servers.items()}
        self.conns: dict[tuple[str, str], _Conn] = {}
        self.local: dict[str, set[_Conn]] = {}  # conv -> this gateway's connections in it
        self._subscribed: set[str] = set()  # the conversations whose channel is subscribed
        self._sub_lock = asyncio.Lock()  # one subscription change at a time, in order
        self.slow_disconnects = 0
        self._r: Any = None
        self._ps: Any = None
        self._ws_server: Any = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        """``ws://host:port``."""
        return f"ws://{self.host}:{self.port}"

    async def __aenter__(self) -> EdgeGateway:
        import redis.asyncio
        from websockets.asyncio.server import serve

        self._r = redis.asyncio.Redis.from_url(
            self.redis_url, decode_responses=True, socket_timeout=2.0, socket_connect_timeout=2.0
        )
        self._ack = self._r.register_script(self.ACK_SCRIPT)
        self._ps = self._r.pubsub(ignore_subscribe_messages=True)
        await self._ps.subscribe(f"{self.prefix}:control")  # so listen() has a channel
        self._spawn(self._listen())
        self._ws_server = await serve(self._handle, self.host, self.port, max_size=self.max_frame,
                                      ping_interval=None, close_timeout=1, compression=None,
                                      max_queue=4)  # fmt: skip
        self.port = self._ws_server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in list(self._tasks):
            task.cancel()
        self._ws_server.close()
        await self._ws_server.wait_closed()
        for link in self.links.values():
            if link.writer is not None:
                link.writer.close()
        with contextlib.suppress(Exception):
            await self._ps.aclose()
        await self._r.aclose()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _listen(self) -> None:
        start = len(self.prefix) + len(":fan:")
        async for m in self._ps.listen():
            if m.get("type") != "message" or not m["channel"].startswith(f"{self.prefix}:fan:"):
                continue
            conv = m["channel"][start:]
            conns = self.local.get(conv)
            if conns:
                targets = list(conns)
                self._push(targets, m["data"].encode())
                seq = json.loads(m["data"]).get("seq")
                for c in targets:  # noted, so a heartbeat never reports less (_heartbeat_lasts)
                    if isinstance(seq, int) and c.pushed.get(conv, 0) < seq:
                        c.pushed[conv] = seq

    def _push(self, conns: list[_Conn], frame: bytes) -> None:
        """Write ``frame`` to each socket without awaiting; close the ones too far behind."""
        from websockets.asyncio.server import broadcast

        ready = []
        for c in conns:
            if c.closing:
                continue
            if c.ws.transport.get_write_buffer_size() > self.write_limit:
                self._drop(c, "slow consumer")
            else:
                ready.append(c.ws)
        broadcast(ready, frame, text=True)

    def _drop(self, conn: _Conn, kind: str) -> None:
        if conn.closing:
            return  # counted and closed once
        conn.closing = True
        if kind == "slow consumer":
            self.slow_disconnects += 1
        self._forget(conn)
        code = self.CLOSE_CODES["protocol" if kind == "replaced" else "slow consumer"]
        self._spawn(conn.ws.close(code, kind))
        # a peer that stopped reading never answers the close: cut it after a second anyway
        asyncio.get_running_loop().call_later(1.0, conn.ws.transport.abort)

    def _forget(self, conn: _Conn) -> None:
        if self.conns.get((conn.user, conn.device)) is not conn:
            return
        del self.conns[(conn.user, conn.device)]
        for conv in conn.convs:
            members = self.local.get(conv)
            if members is not None:
                members.discard(conn)
                if not members:
                    del self.local[conv]
                    self._spawn(self._follow([conv]))

    async def _follow(self, convs: list[str]) -> None:
        """Make the subscriptions of ``convs`` match ``local``: subscribed while the
        conversation has a local member, not after. Each call decides under one lock, from
        ``local`` as it is when its turn comes, so an unsubscribe spawned when the last member
        left does nothing once a new hello has brought a member back (the two used to race,
        and a late unsubscribe cut live delivery to the new socket)."""
        async with self._sub_lock:
            wanted = [c for c in convs if c in self.local and c not in self._subscribed]
            unwanted = [c for c in convs if c not in self.local and c in self._subscribed]
            if wanted:
                await self._ps.subscribe(*[fan_channel(self.prefix, c) for c in wanted])
                self._subscribed.update(wanted)
            if unwanted:
                self._subscribed.difference_update(unwanted)
                await self._ps.unsubscribe(*[fan_channel(self.prefix, c) for c in unwanted])

    async def _handle(self, ws: Any) -> None:
        await serve_frames(
            ws, self.hello_timeout, self.idle_timeout, self._open, self._served, self._forget
        )

    async def _open(self, ws: Any, frame: dict[str, Any]) -> _Conn:
        with _redis_outage():
            return await self._hello(ws, frame)

    async def _served(self, conn: _Conn, frame: dict[str, Any]) -> None:
        with _redis_outage():
            await self._frame(conn, frame)

    async def _hello(self, ws: Any, frame: dict[str, Any]) -> _Conn:
        if frame["op"] != "hello":
            raise MessagingError(f"the first frame must be 'hello', not {shown(frame['op'], 40)}")
        user = verify_token(self.secret, frame.get("token"), now=time.time())
        device = check_id("device", frame.get("device"))
        convs = set(await self._r.smembers(convs_key(self.prefix, user)))
        cursors = member_cursors(frame.get("cursors", {}), convs)
        lasts = dict(zip(cursors, await self._lasts(list(cursors)), strict=True))
        reset = {conv: lasts[conv] for conv, seq in cursors.items() if seq > lasts[conv]}
        cursors.update(dict.fromkeys(reset, 0))  # the log was reset: replay it from the start
        conn = _Conn(ws, user, device, convs)
        old = self.conns.get((user, device))
        if old is not None:
            self._drop(old, "replaced")
        self.conns[(user, device)] = conn
        for conv in convs:
            self.local.setdefault(conv, set()).add(conn)
        try:
            await self._follow(sorted(convs))  # before the replay read: nothing falls between
            ready = {"op": "ready", "user": user, "convs": sorted(convs), "reset": reset}
            self._push([conn], json.dumps(ready).encode())
            for conv in sorted(convs):
                await self._send_range(conn, conv, cursors.get(conv, 0) + 1, None)
        except BaseException:  # Redis went away mid-hello: the device is not connected
            self._forget(conn)
            raise
        return conn

    async def _send_range(self, conn: _Conn, conv: str, first: int, last: int | None) -> None:
        """At most ``page`` messages ``first..last`` (the client asks for the rest), sent at
        the pace the client reads them (see the gateway's ``_paced``)."""
        end = "+" if last is None else f"{last}-0"
        entries = await self._r.xrange(log_key(self.prefix, conv), f"{first}-0", end,
                                       count=self.page)  # fmt: skip
        for eid, f in entries:
            if conn.closing:
                return
            msg = Message(conv, int(eid.split("-")[0]), f["s"], f["c"], f["b"])
            await conn.ws.send(message_frame(msg))
            if conn.pushed.get(conv, 0) < msg.seq:
                conn.pushed[conv] = msg.seq

    def _member(self, conn: _Conn, conv: object) -> str:
        if check_id("conv", conv) not in conn.convs:
            raise MessagingError(
                f"user={shown(conn.user, 80)} is not a member of conv={shown(conv, 80)}"
            )
        return conv  # type: ignore[return-value]

    async def _lasts(self, convs: list[str]) -> list[int]:
        """The last seq of each of ``convs`` (0 when empty): their streams' last entries, in
        one round trip."""
        pipe = self._r.pipeline(transaction=False)
        for conv in convs:
            pipe.xrevrange(log_key(self.prefix, conv), count=1)
        tops = await pipe.execute() if convs else []
        return [int(top[0][0].split("-")[0]) if top else 0 for top in tops]

    async def _heartbeat_lasts(self, conn: _Conn, convs: list[str]) -> dict[str, int]:
        """The ``last`` of a heartbeat_ack: each conversation's last seq, never below a seq
        already pushed to ``conn``: a message published while the read is awaited reaches
        the client before the ack, which must not say the log ends before it (the client
        would take that for a reset). A read below what was pushed before it started is a
        reset indeed, and is reported as read."""
        before = {conv: conn.pushed.get(conv, 0) for conv in convs}
        out = {}
        for conv, last in zip(convs, await self._lasts(convs), strict=True):
            if last < before[conv]:  # the stream is shorter than it was: reset
                out[conv] = conn.pushed[conv] = last
            else:
                out[conv] = max(last, conn.pushed.get(conv, 0))
        return out

    async def _send(self, conn: _Conn, f: dict[str, Any]) -> None:
        """Hand a send to its conversation's owner; one that can never be stored (the user is
        not a member of its conversation) is answered ``refused`` and the connection stays,
        as in the gateway."""
        conv = check_id("conv", f.get("conv"))
        cmid = check_id("client_msg_id", f.get("client_msg_id"))
        body = check_body(f.get("body"))
        if conv not in conn.convs:  # well formed, but never storable: refused, not closed
            reason = f"user={shown(conn.user, 80)} is not a member of conv={shown(conv, 80)}"
            self._push([conn], refused_frame(conv, cmid, reason).encode())
            return
        req = {"op": "send", "user": conn.user, "conv": conv, "client_msg_id": cmid,
               "body": body}  # fmt: skip
        try:
            reply = await self.links[self.ring.node_for(conv)].request(req, timeout=2.0)
        except (OSError, TimeoutError):
            return  # the owner is unreachable: the client retries the pending send
        if "error" in reply:  # the owner could not store it (its Redis, its ring): retried
            failed = {"op": "error", "code": RETRY_LATER, "conv": conv,
                      "client_msg_id": cmid, "reason": str(reply["error"])[:200]}  # fmt: skip
            self._push([conn], json.dumps(failed).encode())
            return
        sent = {"op": "sent", "conv": conv, "client_msg_id": cmid, "seq": reply["seq"]}
        self._push([conn], json.dumps(sent).encode())

    async def _frame(self, conn: _Conn, f: dict[str, Any]) -> None:
        op = f["op"]
        if op == "hello":
            return
        if op == "send":
            await self._send(conn, f)
        elif op in ("ack", "read"):
            conv = self._member(conn, f.get("conv"))
            seq = check_seq("seq", f.get("seq"), high=(await self._lasts([conv]))[0])
            field = f"{conn.user}\x00{conn.device}" if op == "ack" else conn.user
            await self._ack(keys=[f"{self.prefix}:{op}s:{conv}"], args=[field, seq])
        elif op == "fetch":
            conv = self._member(conn, f.get("conv"))
            first = check_seq("first", f.get("first"), low=1)
            last = None if f.get("last") is None else check_seq("last", f.get("last"))
            await self._send_range(conn, conv, first, last)
        elif op == "heartbeat":
            lasts = await self._heartbeat_lasts(conn, sorted(conn.convs))
            self._push([conn], json.dumps({"op": "heartbeat_ack", "last": lasts}).encode())
        else:
            raise MessagingError(f"unknown op {shown(op, 40)}")
