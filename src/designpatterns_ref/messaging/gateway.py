"""The asyncio WebSocket gateway: the JSON protocol, token check, fan-out, bounded write buffers.

Case study: Slack's WebSocket Gateway: 1M Concurrent Connections
(docs/case-studies/slack-gateway.md)

One event loop holds every socket. Frames are JSON objects with an ``op``:

- client → gateway: ``hello`` (``token``, ``device``, ``cursors``), ``send`` (``conv``,
  ``client_msg_id``, ``body``), ``ack`` / ``read`` (``conv``, ``seq``), ``fetch`` (``conv``,
  ``first``, ``last``), ``heartbeat`` (``status``: online or away);
- gateway → client: ``ready`` (``user``, ``convs``, ``reset``: conversation -> last seq, for
  each cursor of the hello past its log's end, so the log was reset (a store wiped, a
  gateway restarted on a memory store); the client starts those inboxes afresh and the
  replay is from seq 1), ``message`` (``conv``, ``seq``,
  ``sender``, ``client_msg_id``, ``body``), ``sent`` (``conv``, ``client_msg_id``, ``seq``),
  ``refused`` (``conv``, ``client_msg_id``, ``reason``: a send that can never be stored, to a
  conversation the user is not in; the connection stays open),
  ``heartbeat_ack`` (``last``: the last seq of each of the user's conversations, never
  below a seq already pushed to that connection, so a client that lost the tail of a
  conversation notices), ``presence`` (``user``, ``state``),
  ``error`` (``code``, ``reason``; with ``conv`` and ``client_msg_id`` and code 1013, "try
  again later", it answers one send the store could not take now, and the connection stays).

The first frame must be a valid ``hello`` (a cursor for a conversation the user is not in is
dropped, not refused), and must come within ``hello_timeout`` seconds (10 by default): a
socket that says nothing is closed with 4000 rather than held for ever. ``idle_timeout``
does the same for a connection silent that long after its hello (off by default: an idle
socket is what the gateway is built to hold cheaply, and the client's heartbeats keep its
own alive). A bad token (:class:`~designpatterns_ref.messaging.token.TokenError`)
closes with 4001, a malformed frame
(not JSON, not an object, unknown op, bad field) sends an ``error`` and closes with 4000
(a ``send`` with well-formed ids that cannot be stored is answered ``refused`` instead, so
one bad send does not cut the connection and every send queued behind it),
a frame over ``max_frame`` bytes closes with 1009. No bad input stops the server.

A store failure (:class:`~designpatterns_ref.messaging.base.StoreUnavailable`: unreachable,
past its deadline, locked) is not the client's fault and is not closed as one: a ``send``
is answered ``error`` 1013 on an open connection (above); a ``hello``, ``heartbeat``,
``ack``, ``read`` or ``fetch`` the store cannot serve now is answered an ``error`` naming
the store and closed with 1013, "try again later" (``CLOSE_CODES["store unavailable"]``),
and the client reconnects with backoff and resumes from its cursors once it is back. A store
that does I/O is never called on the event loop: appends run in one worker thread, every
other store call in a second one, both shared by every socket. A store call that stalls
holds up the frames queued behind it on its thread, whatever their socket (sends behind a
stalled append; hellos, acks, reads, fetches and heartbeats behind a stalled read), while
pings, presence and frames that need no store are answered at once (one frame in flight a
connection, answered in the order sent).

Fan-out encodes a message once (JSON, then UTF-8, then the WebSocket frame header) and
writes the same bytes to each target's transport without awaiting any socket (what
``websockets``' ``broadcast`` does, with the frame header also built once): no queue and no
task per connection, so an
idle connection costs only what ``websockets`` and the kernel need. A connection whose
unsent bytes exceed ``write_limit`` (a slow consumer) is closed with 4008: the client resumes
from its cursor later, and the gateway's memory stays bounded by about ``write_limit`` bytes a
socket. A user is one presence however many devices they connect: closing a device (or
dropping it as a slow consumer) marks the user offline only when none of their devices
remains connected. A resume or a fetch is answered ``page`` messages at a time, sent at the
pace the client reads them (a page is not held to ``write_limit``, so a fast client is
never closed over its own replay), and reads only those from the store (a client asking for
a whole long log costs one page per request); the client's next heartbeat sees the
conversation's last seq and asks for the next page.

The frames themselves, the WebSocket framing and the loop that serves one socket (its hello
and idle timeouts, the error frame and close code of a bad frame) are in
:mod:`~designpatterns_ref.messaging.frames`, shared with the edge gateway.

Measured (``dpref bench messaging``, gateway in its own process): see
docs/case-studies/slack-gateway.md for memory per idle connection and fan-out latency.

>>> Gateway.CLOSE_CODES["slow consumer"]
4008
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar, TypeVar

from designpatterns_ref.errors import shown
from designpatterns_ref.messaging.base import (
    Message,
    MessagingError,
    MessagingTypeError,
    Store,
    check_body,
    check_id,
)
from designpatterns_ref.messaging.frames import (
    CLOSE_CODES,
    RETRY_LATER,
    check_timeout,
    member_cursors,
    message_frame,
    refused_frame,
    serve_frames,
    text_frame,
)
from designpatterns_ref.messaging.memory import MemoryStore
from designpatterns_ref.messaging.presence import Presence
from designpatterns_ref.messaging.server import ChatServer
from designpatterns_ref.messaging.token import verify_token

__all__ = ["Gateway"]

R = TypeVar("R")


class _Conn:
    __slots__ = ("closing", "device", "pushed", "user", "ws")

    def __init__(self, ws: Any, user: str, device: str) -> None:
        self.ws, self.user, self.device = ws, user, device
        self.closing = False  # closed as a slow consumer: written to and counted no more
        self.pushed: dict[str, int] = {}  # conv -> the highest seq written to this socket


class Gateway:
    """``async with Gateway("127.0.0.1", 0, secret=b"...") as gw:`` serves on ``gw.port``."""

    CLOSE_CODES: ClassVar[dict[str, int]] = CLOSE_CODES
    #: The ``code`` of an ``error`` answering one send the store could not take now
    #: (:data:`~designpatterns_ref.messaging.frames.RETRY_LATER`, 1013).
    RETRY_LATER: ClassVar[int] = RETRY_LATER

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        secret: bytes,
        store: Store | None = None,
        clock: Callable[[], float] = time.time,
        max_frame: int = 65536,
        write_limit: int = 1 << 20,
        page: int = 500,
        presence_interval: float = 0.5,
        hello_timeout: float = 10.0,
        idle_timeout: float | None = None,
    ) -> None:
        if not isinstance(host, str) or not host:
            raise MessagingTypeError(f"host={shown(host, 80)} must be a non-empty string")
        for name, value, low in (("port", port, 0), ("max_frame", max_frame, 64),
                                 ("write_limit", write_limit, 1), ("page", page, 1)):  # fmt: skip
            if isinstance(value, bool) or not isinstance(value, int):
                raise MessagingTypeError(f"{name}={shown(value, 80)} must be an integer")
            if not low <= value <= (65535 if name == "port" else 2**30):
                raise MessagingError(f"{name}={shown(value, 80)} is out of range")
        if isinstance(presence_interval, bool) or not isinstance(presence_interval, int | float):
            raise MessagingTypeError(
                f"presence_interval={shown(presence_interval, 80)} must be seconds"
            )
        if not (0 < presence_interval <= 3600):
            raise MessagingError(
                f"presence_interval={shown(presence_interval, 80)} must be in (0, 3600]"
            )
        if not callable(clock):
            raise MessagingTypeError(f"clock={shown(clock, 80)} must be callable")
        if not isinstance(secret, bytes) or len(secret) < 4:
            raise MessagingError("secret must be bytes, at least 4 of them")
        self.host, self.port, self.secret, self.clock = host, port, secret, clock
        self.max_frame, self.write_limit = max_frame, write_limit
        #: At most this many messages answer one resume or fetch (the client asks for the rest).
        self.page = page
        self.server = ChatServer(store)
        self.presence = Presence(clock, ttl=30.0)
        self.presence_interval = presence_interval
        #: A socket that sends no ``hello`` within this many seconds is closed (4000).
        self.hello_timeout = check_timeout("hello_timeout", hello_timeout)
        #: A connection silent this many seconds after its hello is closed (4000); None: never.
        self.idle_timeout = check_timeout("idle_timeout", idle_timeout, optional=True)
        self.conns: dict[tuple[str, str], _Conn] = {}
        # A store that does I/O (SQLite, Redis) is never called on the event loop: appends go
        # to one worker thread, one at a time, and every other call that touches the store (a
        # hello's replay, an ack, a read, a fetch, a heartbeat's last seqs) to a second one,
        # so a read never waits behind an append stuck on a lock. The two threads share the
        # ChatServer, which keeps its log ends and receipts under one lock. There are two
        # threads whatever the number of sockets, so a call waiting for a lock or a server
        # delays every frame of every socket that needs the same thread (they queue behind
        # it); frames that need no store (presence, pings, a duplicated hello) are answered
        # at once. A connection has at most one frame in flight, so its frames are still
        # answered in the order sent.
        self._io: ThreadPoolExecutor | None = None
        self._reads: ThreadPoolExecutor | None = None
        if not isinstance(self.server.store, MemoryStore):
            self._io = ThreadPoolExecutor(1, thread_name_prefix="dp-messaging-store")
            self._reads = ThreadPoolExecutor(1, thread_name_prefix="dp-messaging-reads")
        self._inflight: set[tuple[str, str, str]] = set()  # (user, conv, cmid) being appended
        self.slow_disconnects = 0
        self._ws_server: Any = None
        self._tasks: set[asyncio.Task[None]] = set()

    #: Conversations up to this size subscribe their members to each other's presence; in a
    #: larger one that would be quadratic (1,000 members: a million subscriptions), so
    #: presence there is asked for explicitly (as Slack does for the users on screen).
    PRESENCE_GROUP_LIMIT: ClassVar[int] = 100

    def join(self, conv: str, user: str) -> None:
        """Make ``user`` a member of ``conv``; members of small ones see each other's presence."""
        members = self.server.members(conv)
        if len(members) >= self.PRESENCE_GROUP_LIMIT:
            self.server.join(conv, user)
            return
        for other in members:
            self.presence.subscribe(user, other)
            self.presence.subscribe(other, user)
        self.server.join(conv, user)

    async def __aenter__(self) -> Gateway:
        from websockets.asyncio.server import serve

        self._ws_server = await serve(
            self._handle,
            self.host,
            self.port,
            max_size=self.max_frame,
            ping_interval=None,
            close_timeout=1,
            compression=None,  # per-message deflate keeps a zlib context (~64 KB) a socket
            max_queue=4,  # frames buffered per socket before reading pauses (TCP pushes back)
        )
        self.port = self._ws_server.sockets[0].getsockname()[1]
        self._spawn(self._presence_loop())
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in list(self._tasks):
            task.cancel()
        self._ws_server.close()
        await self._ws_server.wait_closed()
        for pool in (self._io, self._reads):
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)

    @property
    def url(self) -> str:
        """``ws://host:port``."""
        return f"ws://{self.host}:{self.port}"

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _presence_loop(self) -> None:
        while True:
            await asyncio.sleep(self.presence_interval)
            events = self.presence.flush()
            if not events:
                continue
            by_user: dict[str, list[_Conn]] = {}
            for (u, _), conn in self.conns.items():
                by_user.setdefault(u, []).append(conn)
            for sub, user, state in events:
                if sub in by_user:
                    frame = json.dumps({"op": "presence", "user": user, "state": state})
                    self._fanout(by_user[sub], frame.encode())

    def _push(self, conn: _Conn, frame: str) -> None:
        self._fanout([conn], frame.encode())

    def _fanout(self, conns: list[_Conn], frame: bytes, msg: tuple[str, int] | None = None) -> None:
        """Write ``frame`` to each socket without awaiting; close the ones too far behind.

        The WebSocket framing is done once too (:func:`text_frame`), and the same bytes go to
        every transport: per socket, one state check and one ``transport.write``. ``msg``,
        the (conv, seq) of a message frame, is noted as pushed to each socket written to.
        """
        from websockets.protocol import OPEN

        data, limit = text_frame(frame), self.write_limit
        for conn in conns:
            ws = conn.ws
            if conn.closing or ws.protocol.state is not OPEN:
                continue
            transport = ws.transport
            if transport.get_write_buffer_size() <= limit:
                transport.write(data)
                if msg is not None and conn.pushed.get(msg[0], 0) < msg[1]:
                    conn.pushed[msg[0]] = msg[1]
            else:  # counted once: the close takes a while to change the socket's state
                conn.closing = True
                self.slow_disconnects += 1
                self._forget(conn)
                self._close(conn, self.CLOSE_CODES["slow consumer"], "slow consumer")

    async def _paced(self, conn: _Conn, msgs: list[Message]) -> None:
        """Send a replay or fetch page to one connection at the pace it reads: each send waits
        while the socket's unsent bytes are above ``websockets``' high-water mark. Written at
        once, a page bigger than ``write_limit`` (500 messages of 4,096 emoji are 24 MB of
        JSON) would make the gateway close a fast client as a slow consumer."""
        for msg in msgs:
            if conn.closing:
                return
            await conn.ws.send(message_frame(msg))
            if conn.pushed.get(msg.conv, 0) < msg.seq:
                conn.pushed[msg.conv] = msg.seq

    def _forget(self, conn: _Conn) -> None:
        """``conn``'s device is gone: the user goes offline only if no other device remains."""
        if self.conns.get((conn.user, conn.device)) is not conn:
            return  # already forgotten, or replaced by a newer connection of the same device
        del self.conns[(conn.user, conn.device)]
        self.server.disconnect(conn.user, conn.device)
        if not self.server.online(conn.user):
            self.presence.disconnect(conn.user)

    def _close(self, conn: _Conn, code: int, reason: str) -> None:
        self._spawn(conn.ws.close(code, reason))
        # a peer that stopped reading never answers the close: cut it after a second anyway
        if conn.ws.transport is not None:
            asyncio.get_running_loop().call_later(1.0, conn.ws.transport.abort)

    async def _handle(self, ws: Any) -> None:
        # websockets keeps the handshake's response (its headers, ~1 KB) for the application;
        # this one never reads it (the request stays: websockets uses it as "handshake done")
        ws.response = None
        await serve_frames(
            ws, self.hello_timeout, self.idle_timeout, self._open, self._frame, self._forget
        )

    async def _open(self, ws: Any, frame: dict[str, Any]) -> _Conn:
        if frame["op"] != "hello":
            raise MessagingError(f"the first frame must be 'hello', not {shown(frame['op'], 40)}")
        user = verify_token(self.secret, frame.get("token"), now=self.clock())
        device = check_id("device", frame.get("device"))
        cursors = member_cursors(frame.get("cursors", {}), set(self.server.conversations(user)))
        reset, replay = await self._stored(self._resume, user, cursors)
        conn = self._hello(ws, user, device, reset)
        await self._paced(conn, replay)  # one page; the rest is fetched
        return conn

    def _resume(self, user: str, cursors: dict[str, int]) -> tuple[dict[str, int], list[Message]]:
        """The store's part of a hello: the conversations whose log was reset (a cursor past
        its end: replayed from the start) and the replay's first page. The device is
        registered on the event loop afterwards (:meth:`_hello`), together with its socket:
        done here, an older socket of the same device closing in between would unregister
        it."""
        lasts = {conv: self.server.last_seq(conv) for conv in cursors}
        reset = {conv: lasts[conv] for conv, seq in cursors.items() if seq > lasts[conv]}
        cursors.update(dict.fromkeys(reset, 0))  # the log was reset: replay it from the start
        return reset, self.server.replay(user, cursors, limit=self.page)

    def _hello(self, ws: Any, user: str, device: str, reset: dict[str, int]) -> _Conn:
        old = self.conns.get((user, device))
        conn = _Conn(ws, user, device)
        self.server.attach(user, device)
        self.conns[(user, conn.device)] = conn
        if old is not None:
            self._close(old, self.CLOSE_CODES["protocol"], "replaced by a new connection")
        self.presence.heartbeat(user)
        self._push(conn, json.dumps({"op": "ready", "user": user, "reset": reset,
                                     "convs": self.server.conversations(user)}))  # fmt: skip
        return conn

    async def _send(self, conn: _Conn, f: dict[str, Any]) -> None:
        """Store a send and fan it out; a send that can never be stored (the user is not a
        member of its conversation) is answered ``refused`` and the connection stays open,
        so the sends behind it go on. One the store cannot take now (locked, unreachable) is
        answered an ``error`` with code :attr:`RETRY_LATER` and its ``conv`` and
        ``client_msg_id``: the client keeps it pending and retries. A retry that arrives
        while the first is still being appended is left to the first."""
        conv, cmid = (
            check_id("conv", f.get("conv")),
            check_id("client_msg_id", f.get("client_msg_id")),
        )
        body = check_body(f.get("body"))
        try:
            self.server.check_member(conv, conn.user)
        except MessagingError as exc:  # well formed, but never storable: refused, not closed
            self._push(conn, refused_frame(conv, cmid, str(exc)))
            return
        key = (conn.user, conv, cmid)
        if key in self._inflight:
            return
        self._inflight.add(key)
        try:
            msg = await self._append(conn.user, conv, cmid, body)
        except MessagingError as exc:  # the store failed, not the client: no close
            reason = f"store unavailable: {exc}"[:200]
            failed = {"op": "error", "code": self.RETRY_LATER, "conv": conv,
                      "client_msg_id": cmid, "reason": reason}  # fmt: skip
            self._push(conn, json.dumps(failed))
            return
        finally:
            self._inflight.discard(key)
        sent = {"op": "sent", "conv": msg.conv, "client_msg_id": msg.client_msg_id}
        self._push(conn, json.dumps({**sent, "seq": msg.seq}))
        conns = self.conns
        frame = message_frame(msg).encode()  # encoded once for every target
        targets = self.server.targets(conv)
        targets_ = [c for key in targets if (c := conns.get(key)) is not None]
        self._fanout(targets_, frame, (conv, msg.seq))

    async def _append(self, user: str, conv: str, cmid: str, body: str) -> Message:
        """:meth:`ChatServer.append` (which notes a reset of the log), in the append thread
        when the store does I/O."""
        append = self.server.append
        if self._io is None:
            return append(user, conv, cmid, body)[0]
        loop = asyncio.get_running_loop()
        msg, _ = await loop.run_in_executor(self._io, append, user, conv, cmid, body)
        return msg

    async def _stored(self, call: Callable[..., R], *args: Any) -> R:
        """``call(*args)``, a call that reads the store (and may change the server's state),
        in the reading thread when the store does I/O, so the event loop never waits for it."""
        if self._reads is None:
            return call(*args)
        return await asyncio.get_running_loop().run_in_executor(self._reads, call, *args)

    def _lasts(self, convs: list[str]) -> dict[str, int]:
        """The last seq of each of ``convs`` (noting a reset of its log)."""
        return {conv: self.server.last_seq(conv) for conv in convs}

    async def _heartbeat_lasts(self, conn: _Conn, convs: list[str]) -> dict[str, int]:
        """The ``last`` of a heartbeat_ack: each conversation's last seq, never below a seq
        already pushed to ``conn``. The read runs off the loop, and a message appended and
        pushed meanwhile would reach the client before an ack saying the log ends before
        it, which the client would take for a reset. A read below what was pushed before
        it started is a reset indeed (the log had that message, then lost it), and is
        reported as read."""
        before = {conv: conn.pushed.get(conv, 0) for conv in convs}
        read = await self._stored(self._lasts, convs)
        out = {}
        for conv, last in read.items():
            if last < before[conv]:  # the log is shorter than it was: reset
                out[conv] = conn.pushed[conv] = last
            else:
                out[conv] = max(last, conn.pushed.get(conv, 0))
        return out

    async def _frame(self, conn: _Conn, f: dict[str, Any]) -> None:
        op, srv = f["op"], self.server
        if op == "hello":
            return  # a duplicated hello changes nothing
        if op == "send":
            await self._send(conn, f)
        elif op == "ack":
            await self._stored(srv.ack, conn.user, conn.device, f.get("conv"), f.get("seq"))
        elif op == "read":
            await self._stored(srv.read, conn.user, f.get("conv"), f.get("seq"))
        elif op == "fetch":
            srv.check_member(f.get("conv"), conn.user)  # type: ignore[arg-type]
            fetch = functools.partial(srv.fetch, limit=self.page)
            await self._paced(
                conn, await self._stored(fetch, f["conv"], f.get("first"), f.get("last"))
            )
        elif op == "heartbeat":
            self.presence.heartbeat(conn.user, f.get("status", "online"))
            last = await self._heartbeat_lasts(conn, srv.conversations(conn.user))
            self._push(conn, json.dumps({"op": "heartbeat_ack", "last": last}))
        else:
            raise MessagingError(f"unknown op {shown(op, 40)}")
