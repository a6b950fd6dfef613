"""A channel server: the one process that appends to, and publishes, the conversations it owns.

Case study: Slack's WebSocket Gateway: 1M Concurrent Connections
(docs/case-studies/slack-gateway.md)

Gateways route each ``send`` to the channel server that a
:class:`~designpatterns_ref.messaging.hashring.HashRing` names for the conversation. The
server checks membership (Redis set), appends through
:class:`~designpatterns_ref.messaging.redis.RedisStore` (an atomic script: the seq and the
``client_msg_id`` dedup), then publishes the encoded ``message`` frame once on
``<prefix>:fan:<conv>``; every gateway with a member of the conversation connected is
subscribed there and writes the same bytes to its sockets. One owner per conversation, one
request at a time, means the frames are published in seq order. Requests are served in one
worker thread, in the order they came, so one waiting for Redis never stalls the event loop
that reads the links.

The link from a gateway is TCP on loopback, one JSON object a line:
``{"id": 7, "op": "send", "user", "conv", "client_msg_id", "body"}`` is answered with
``{"id": 7, "seq": 42}`` or ``{"id": 7, "error": "..."}``. A request for a conversation this
server does not own (the gateway's ring disagrees with ``ring``) is refused, not served.

Trade-off: correctness does not rest on ownership. The seq comes from Redis' atomic script,
so even two servers that both believe they own a conversation (a ring change in flight)
never give two messages one seq; they only lose the "published in seq order" nicety, which
the clients' inboxes absorb anyway. A crash between the append and the publish leaves a
message stored but not pushed: the client's next heartbeat sees the conversation's last seq
and fetches it.

>>> ChannelServer.reply(7, seq=3)
b'{"id": 7, "seq": 3}\\n'
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from designpatterns_ref.errors import shown
from designpatterns_ref.messaging.base import MessagingError, MessagingTypeError, check_id
from designpatterns_ref.messaging.directory import check_redis, fan_channel, members_key
from designpatterns_ref.messaging.frames import message_frame
from designpatterns_ref.messaging.hashring import HashRing
from designpatterns_ref.messaging.redis import RedisStore
from designpatterns_ref.redisclient import bounded_client

__all__ = ["ChannelServer"]


class ChannelServer:
    """``async with ChannelServer(redis_url, name="cs-a") as cs:`` serves on ``cs.port``."""

    def __init__(
        self,
        redis_url: str,
        *,
        name: str,
        ring: HashRing | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        prefix: str = "dp:msg",
    ) -> None:
        if not isinstance(redis_url, str):
            raise MessagingTypeError(f"redis_url={shown(redis_url, 80)} must be a redis:// URL")
        check_redis(redis_url)
        self.name, self.prefix = check_id("name", name), check_id("prefix", prefix)
        if ring is not None and not isinstance(ring, HashRing):
            raise MessagingError(f"ring={shown(ring, 80)} must be a HashRing or None")
        if ring is not None and name not in ring.nodes:
            raise MessagingError(
                f"name={shown(name, 80)} is not on the ring {shown(ring.nodes, 80)}"
            )
        if not isinstance(host, str) or not host:
            raise MessagingError(f"host={shown(host, 80)} must be a non-empty string")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise MessagingError(f"port={shown(port, 80)} must be an integer in [0, 65535]")
        self.ring, self.host, self.port = ring, host, port
        self.store = RedisStore(redis_url, prefix=prefix, deadline=2.0)
        self._r = bounded_client(redis_url, 2.0, decode_responses=True)
        self.appended = 0
        self.refused = 0
        self._server: asyncio.Server | None = None
        # Requests are served (Redis calls, blocking) in one worker thread, in the order they
        # came: one at a time keeps the publishes in seq order, and a request waiting for
        # Redis never stops the event loop from reading the other links (a malformed line is
        # still answered at once, a new link still accepted).
        self._io = ThreadPoolExecutor(1, thread_name_prefix="dp-channel-server")

    @staticmethod
    def reply(request_id: object, **fields: object) -> bytes:
        """One encoded reply line."""
        return (json.dumps({"id": request_id, **fields}) + "\n").encode()

    def handle(self, req: dict[str, Any]) -> dict[str, object]:
        """Serve one request (a dict parsed from a line): ``{"seq": n}`` or ``{"error": ...}``
        (also when Redis fails under the membership check or the publish: the gateway answers
        the send ``error`` 1013 and the client's retry is stored once, not the link cut)."""
        import redis

        try:
            if req.get("op") != "send":
                raise MessagingError(f"unknown op {shown(req.get('op'), 40)}")
            conv, user = check_id("conv", req.get("conv")), check_id("user", req.get("user"))
            if self.ring is not None and self.ring.node_for(conv) != self.name:
                self.refused += 1
                raise MessagingError(f"conv={shown(conv, 80)} is not owned by {shown(self.name)}")
            if not self._r.sismember(members_key(self.prefix, conv), user):
                raise MessagingError(
                    f"user={shown(user, 80)} is not a member of conv={shown(conv, 80)}"
                )
            msg, created = self.store.append(conv, user, req.get("client_msg_id"), req.get("body"))  # type: ignore[arg-type]
            if created:
                self.appended += 1
                self._r.publish(fan_channel(self.prefix, conv), message_frame(msg))
            return {"seq": msg.seq}
        except MessagingError as exc:
            return {"error": str(exc)[:300]}
        except redis.RedisError as exc:
            return {"error": f"Redis: {type(exc).__name__}: {exc}"[:300]}

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                try:
                    req = json.loads(line)
                    if not isinstance(req, dict):
                        raise ValueError("a request is a JSON object")
                except (ValueError, RecursionError) as exc:
                    writer.write(self.reply(None, error=f"malformed request: {exc}"[:300]))
                    continue
                loop = asyncio.get_running_loop()
                answer = await loop.run_in_executor(self._io, self.handle, req)
                writer.write(self.reply(req.get("id"), **answer))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass  # the gateway went away (or sent a line over the stream limit)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def __aenter__(self) -> ChannelServer:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        self._io.shutdown(wait=False, cancel_futures=True)
        self.store.close()
        self._r.close()

    @property
    def address(self) -> str:
        """``host:port``."""
        return f"{self.host}:{self.port}"
