"""A fault-injecting link: a WebSocket proxy on loopback that drops, duplicates, delays,
reorders and cuts frames between clients and a gateway.

Case study: Design a Real-Time Chat App (WhatsApp / Messenger) (docs/case-studies/chat-app.md)

Clients connect to the link's port; for each one the link opens its own connection to the
gateway and relays whole WebSocket frames both ways. Each frame, independently (a seeded
``random.Random``): dropped with ``drop``, sent twice with ``duplicate``, held back
``delay_s`` with ``delay`` (later frames overtake it: a reorder); with ``cut`` the link closes
both sides (a dead network: the client must reconnect and resume). The faults count what they
did in :attr:`FaultLink.stats`. A frame-level proxy rather than a byte-level one, because a
TCP stream with missing bytes is not a lossy network but a broken connection (which ``cut`` is).

>>> FaultLink("ws://127.0.0.1:1", drop=0.1).stats
{'relayed': 0, 'dropped': 0, 'duplicated': 0, 'delayed': 0, 'cut': 0}
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from typing import Any

from designpatterns_ref.errors import shown
from designpatterns_ref.messaging.base import MessagingError

__all__ = ["FaultLink"]


class FaultLink:
    """``async with FaultLink(gateway.url, drop=0.05, seed=1) as link:``; clients use its url."""

    def __init__(
        self,
        upstream: str,
        *,
        drop: float = 0.0,
        duplicate: float = 0.0,
        delay: float = 0.0,
        delay_s: float = 0.02,
        cut: float = 0.0,
        seed: int = 0,
    ) -> None:
        if not isinstance(upstream, str) or not upstream.startswith("ws://"):
            raise MessagingError(f"upstream={shown(upstream, 80)} must be a ws:// URL")
        for name, p in (("drop", drop), ("duplicate", duplicate), ("delay", delay), ("cut", cut)):
            if isinstance(p, bool) or not isinstance(p, int | float) or not 0 <= p <= 0.5:
                raise MessagingError(f"{name}={shown(p, 80)} must be a probability within [0, 0.5]")
        if isinstance(delay_s, bool) or not isinstance(delay_s, int | float):
            raise MessagingError(f"delay_s={shown(delay_s, 80)} must be a number of seconds")
        if not (0 <= delay_s <= 5):
            raise MessagingError(f"delay_s={shown(delay_s, 80)} must be within [0, 5] seconds")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise MessagingError(f"seed={shown(seed, 80)} must be an int")
        self.upstream = upstream
        self.p = {"drop": drop, "duplicate": duplicate, "delay": delay, "cut": cut}
        self.delay_s = float(delay_s)
        self.stats = {"relayed": 0, "dropped": 0, "duplicated": 0, "delayed": 0, "cut": 0}
        self._rng = random.Random(seed)
        self._server: Any = None
        self._late_tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def url(self) -> str:
        """Where clients connect."""
        return f"ws://127.0.0.1:{self.port}"

    async def __aenter__(self) -> FaultLink:
        from websockets.asyncio.server import serve

        self._server = await serve(
            self._relay, "127.0.0.1", 0, ping_interval=None, max_size=None, close_timeout=0.5
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()
        await self._server.wait_closed()

    async def _relay(self, client: Any) -> None:
        from websockets.asyncio.client import connect

        try:
            async with connect(
                self.upstream, ping_interval=None, max_size=None, open_timeout=2, close_timeout=0.5
            ) as gateway:
                pumps = [
                    asyncio.ensure_future(self._pump(client, gateway)),
                    asyncio.ensure_future(self._pump(gateway, client)),
                ]
                await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
                for task in pumps:
                    task.cancel()
                code = getattr(gateway.close_code, "real", None) or 1001
                await client.close(code if code >= 4000 or code == 1009 else 1001)
        except (OSError, TimeoutError):
            await client.close(1011)

    async def _pump(self, src: Any, dst: Any) -> None:
        rng, p = self._rng, self.p
        with contextlib.suppress(Exception):
            async for frame in src:
                roll = rng.random()
                if roll < p["cut"]:
                    self.stats["cut"] += 1
                    await src.close(1001)
                    await dst.close(1001)
                    return
                roll = rng.random()
                if roll < p["drop"]:
                    self.stats["dropped"] += 1
                    continue
                copies = 2 if rng.random() < p["duplicate"] else 1
                self.stats["duplicated"] += copies - 1
                self.stats["relayed"] += 1
                if rng.random() < p["delay"]:
                    self.stats["delayed"] += 1
                    asyncio.get_running_loop().call_later(
                        self.delay_s, self._late, dst, frame, copies
                    )
                    continue
                for _ in range(copies):
                    await dst.send(frame)

    def _late(self, dst: Any, frame: Any, copies: int) -> None:
        async def send() -> None:
            with contextlib.suppress(Exception):
                for _ in range(copies):
                    await dst.send(frame)

        task = asyncio.ensure_future(send())
        self._late_tasks.add(task)
        task.add_done_callback(self._late_tasks.discard)
