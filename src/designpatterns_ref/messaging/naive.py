"""The baseline the gateway is measured against: a chat server written the obvious way.

Case study: Slack's WebSocket Gateway: 1M Concurrent Connections
(docs/case-studies/slack-gateway.md)

:class:`NaiveGateway` speaks enough of :class:`~designpatterns_ref.messaging.gateway.Gateway`'s
protocol for the load generator (``hello`` with a token, ``ready``, ``send``, ``sent``,
``message``) and does what a first version does: ``websockets``' defaults (a 16-frame receive queue,
per-message deflate for clients that ask for it), one JSON encoding per recipient, and
``await ws.send(...)`` to each recipient in turn, so a message to 1,000 members waits on
1,000 sends one after another, each framed on its own. It keeps
the same log (:class:`~designpatterns_ref.messaging.server.ChatServer`), so only the gateway
work differs. ``dpref messaging serve --naive`` runs it; ``loadgen.measure_scale(...,
server="naive")`` measures it beside the gateway in the same run.

>>> NaiveGateway("127.0.0.1", 0, secret=b"abcd").url
'ws://127.0.0.1:0'
"""

from __future__ import annotations

import json
import time
from typing import Any

from designpatterns_ref.errors import shown
from designpatterns_ref.messaging.base import MessagingError, MessagingTypeError
from designpatterns_ref.messaging.server import ChatServer
from designpatterns_ref.messaging.token import verify_token

__all__ = ["NaiveGateway"]


class NaiveGateway:
    """``async with NaiveGateway("127.0.0.1", 0, secret=b"...") as gw:`` serves on ``gw.port``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, secret: bytes) -> None:
        if not isinstance(host, str) or not host:
            raise MessagingTypeError(f"host={shown(host, 80)} must be a non-empty string")
        if isinstance(port, bool) or not isinstance(port, int):
            raise MessagingTypeError(f"port={shown(port, 80)} must be an integer")
        if not 0 <= port <= 65535:
            raise MessagingError(f"port={shown(port, 80)} is out of range 0..65535")
        if not isinstance(secret, bytes) or len(secret) < 4:
            raise MessagingError("secret must be bytes, at least 4 of them")
        self.host, self.port, self.secret = host, port, secret
        self.server = ChatServer()
        self.sockets: dict[tuple[str, str], Any] = {}
        self._ws_server: Any = None

    def join(self, conv: str, user: str) -> None:
        """Make ``user`` a member of ``conv``."""
        self.server.join(conv, user)

    @property
    def url(self) -> str:
        """``ws://host:port``."""
        return f"ws://{self.host}:{self.port}"

    async def __aenter__(self) -> NaiveGateway:
        from websockets.asyncio.server import serve

        self._ws_server = await serve(self._handle, self.host, self.port)
        self.port = self._ws_server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._ws_server.close()
        await self._ws_server.wait_closed()

    async def _handle(self, ws: Any) -> None:
        from websockets.exceptions import ConnectionClosed

        key: tuple[str, str] | None = None
        try:
            async for raw in ws:
                try:
                    frame = json.loads(raw)
                    if key is None:
                        user = verify_token(self.secret, frame.get("token"), now=time.time())
                        key = (user, str(frame.get("device", "")))
                        self.server.connect(*key, {})
                        self.sockets[key] = ws
                        await ws.send(json.dumps({"op": "ready", "user": user}))
                    elif frame.get("op") == "send":
                        await self._send(key[0], ws, frame)
                except (MessagingError, ValueError, AttributeError) as exc:
                    await ws.close(4000, str(exc)[:100])
                    return
        except ConnectionClosed:
            pass
        finally:
            if key is not None and self.sockets.get(key) is ws:
                del self.sockets[key]
                self.server.disconnect(*key)

    async def _send(self, user: str, ws: Any, f: dict[str, Any]) -> None:
        from websockets.exceptions import ConnectionClosed

        conv, cmid = f.get("conv"), f.get("client_msg_id")
        msg, targets = self.server.send(user, conv, cmid, f.get("body"))  # type: ignore[arg-type]
        await ws.send(json.dumps({"op": "sent", "conv": msg.conv, "client_msg_id": cmid,
                                  "seq": msg.seq}))  # fmt: skip
        for target in targets:
            sock = self.sockets.get(target)
            if sock is None:
                continue
            frame = json.dumps({"op": "message", "conv": msg.conv, "seq": msg.seq,
                                "sender": msg.sender, "client_msg_id": msg.client_msg_id,
                                "body": msg.body})  # fmt: skip
            try:
                await sock.send(frame)
            except ConnectionClosed:
                continue
