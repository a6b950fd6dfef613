"""The asyncio chat client: reconnect with backoff and jitter, resume, dedup, acks, retries.

Case study: Design a Real-Time Chat App (WhatsApp / Messenger) (docs/case-studies/chat-app.md)

The client keeps one :class:`~designpatterns_ref.messaging.inbox.Inbox` per conversation,
so the user sees each message once, in order, whatever the network does. Its loop:
connect, say ``hello`` with the cursors (a resume), then for each ``message`` frame feed the
inbox, ack the cursor, and ask for a gap's missing range. Every ``heartbeat`` seconds it
re-sends the sends not yet confirmed (safe: the ``client_msg_id`` makes them idempotent),
and compares the gateway's ``last`` seqs with its cursors to fetch a lost tail. A send the
gateway ``refused`` (one it can never store) moves from ``pending`` to ``refused`` and is
not retried, so it cannot hold up the sends behind it; one answered ``error`` (code 1013:
the store could not take it now) stays pending and is retried. A ``ready`` whose ``reset`` names
a conversation (the cursor sent was past the end of its log: the log was wiped) starts that
inbox afresh, so the new log's messages are not dropped as duplicates of the old; so does,
on a connection that stays open while the log is wiped (a Redis store restarted empty), a
``message`` at a seq already shown but with another sender or ``client_msg_id``
(:meth:`~designpatterns_ref.messaging.inbox.Inbox.conflicts`), or a ``heartbeat_ack`` whose
``last`` is below the cursor, once confirmed: the client fetches the message at its cursor,
then heartbeats, and starts afresh only if that fetch brought no message (the log is
shorter) or another one (a conflict), so an ack that was merely late is no reset. When the
connection drops (or stays silent for ten heartbeats) it waits
``min(cap, base * 2**attempt)`` times a random factor in ``[0.5, 1]`` (jitter, so a
thousand clients cut at once do not return at once) and resumes; ``attempt`` starts again
from 0 only once the gateway sends a frame other than ``error``, so a gateway that closes
every hello (1013 while its store is unavailable) is retried ever more slowly, up to
``cap``. Given several gateway URLs (a list), it moves to the next one after each failed
connection, so the clients of a gateway that dies resume on another.

>>> Client.backoff(3, base=0.1, cap=1.0, u=0.0), Client.backoff(9, base=0.1, cap=1.0, u=1.0)
(0.8, 0.5)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import uuid
from collections.abc import Sequence
from typing import Any

from designpatterns_ref.errors import shown
from designpatterns_ref.messaging.base import (
    Message,
    MessagingError,
    MessagingTypeError,
    check_body,
    check_id,
)
from designpatterns_ref.messaging.inbox import Inbox

__all__ = ["Client"]


class Client:
    """``async with Client(url, token, "phone") as c: await c.send("general", "hi")``."""

    def __init__(
        self,
        url: str | Sequence[str],
        token: str,
        device: str,
        *,
        heartbeat: float = 0.2,
        base: float = 0.05,
        cap: float = 1.0,
        seed: int | None = None,
    ) -> None:
        urls = [url] if isinstance(url, str) else url
        if not isinstance(urls, list | tuple) or not urls or len(urls) > 1000:
            raise MessagingError(f"url={shown(url, 80)} must be a ws:// URL or a list of 1 to 1000")
        for u in urls:
            if not isinstance(u, str) or not u.startswith(("ws://", "wss://")) or len(u) > 2048:
                raise MessagingError(f"url={shown(u, 80)} must be a ws:// or wss:// URL")
        if not isinstance(token, str):
            raise MessagingError("token must be a string")
        for name, value in (("heartbeat", heartbeat), ("base", base), ("cap", cap)):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise MessagingTypeError(f"{name}={shown(value, 80)} must be a number of seconds")
            if not (0 < value <= 60):
                raise MessagingError(f"{name}={shown(value, 80)} must be within (0, 60] seconds")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise MessagingTypeError(f"seed={shown(seed, 80)} must be an int or None")
        self.urls: list[str] = list(urls)
        self.url, self.token, self.device = self.urls[0], token, check_id("device", device)
        self.heartbeat, self.base, self.cap = heartbeat, base, cap
        self.inboxes: dict[str, Inbox] = {}
        # Sends are keyed by (conv, client_msg_id), as the stores dedupe them (per conversation
        # and sender): the same client_msg_id in two conversations is two sends.
        self.pending: dict[tuple[str, str], str] = {}  # (conv, client_msg_id) -> body
        self.seqs: dict[tuple[str, str], int] = {}  # (conv, client_msg_id) -> seq, confirmed
        #: (conv, client_msg_id) -> the gateway's reason, for the sends it will never store (to
        #: a conversation the user is not in): dropped from ``pending``, never retried.
        self.refused: dict[tuple[str, str], str] = {}
        self.presence: dict[str, str] = {}
        #: The conversations the last ``ready`` named (None before the first): a resume sends
        #: cursors for these only.
        self.convs: frozenset[str] | None = None
        #: The conversations whose inbox was started afresh because their log had been reset
        #: (a ``ready`` said so, a new message came at a seq already shown, or a
        #: ``heartbeat_ack`` below the cursor was confirmed), in order.
        self.resets: list[str] = []
        self.connects = 0
        self.closed_codes: list[int] = []
        self._rng = random.Random(seed)
        self._failures = 0
        self._ws: Any = None
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self.error: str | None = None
        # On the current connection: heartbeats sent, heartbeat_acks received, and per
        # conversation a reset being confirmed: [its cursor, the heartbeat sent after the
        # fetch of that seq, whether the fetch brought the message shown there].
        self._beats = self._acks = 0
        self._confirming: dict[str, list[Any]] = {}

    @staticmethod
    def backoff(attempt: int, *, base: float, cap: float, u: float) -> float:
        """The wait before reconnect ``attempt``: ``min(cap, base * 2**attempt) * (1 - u/2)``."""
        return round(float(min(cap, base * 2 ** min(attempt, 30)) * (1 - u / 2)), 9)

    async def __aenter__(self) -> Client:
        self._task = asyncio.ensure_future(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop reconnecting and close the socket."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._ws is not None:
            await self._ws.close()

    def inbox(self, conv: str) -> Inbox:
        """The inbox of ``conv`` (made on first use)."""
        if conv not in self.inboxes:
            self.inboxes[conv] = Inbox(conv)
        return self.inboxes[conv]

    def shown(self, conv: str) -> list[Message]:
        """What the user sees of ``conv``: each message once, in seq order (looking makes no
        inbox, so a conversation the user is not in never reaches the next ``hello``)."""
        box = self.inboxes.get(check_id("conv", conv))
        return [] if box is None else list(box.shown)

    async def send(self, conv: str, body: str, client_msg_id: str | None = None) -> str:
        """Queue a message (sent now if connected, retried until confirmed); its id."""
        cmid = client_msg_id or uuid.UUID(int=self._rng.getrandbits(128)).hex
        key = (check_id("conv", conv), check_id("client_msg_id", cmid))
        self.pending[key] = check_body(body)
        await self._try_send({"op": "send", "conv": conv, "client_msg_id": cmid, "body": body})
        return cmid

    async def read(self, conv: str, seq: int) -> None:
        """Tell the gateway the user has read ``conv`` up to ``seq``."""
        await self._try_send({"op": "read", "conv": conv, "seq": seq})

    async def wait_for(self, conv: str, count: int, timeout: float = 10.0) -> list[Message]:
        """Wait until ``count`` messages of ``conv`` are shown (TimeoutError otherwise)."""
        async with asyncio.timeout(timeout):
            while len(self.shown(conv)) < count:
                self._changed.clear()
                await self._changed.wait()
        return self.shown(conv)

    async def wait_sent(self, timeout: float = 10.0) -> None:
        """Wait until every send is confirmed with a seq or refused (see :attr:`refused`)."""
        async with asyncio.timeout(timeout):
            while self.pending:
                self._changed.clear()
                await self._changed.wait()

    async def _try_send(self, frame: dict[str, Any]) -> None:
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.send(json.dumps(frame))

    async def _run(self) -> None:
        from websockets.asyncio.client import connect

        attempt = 0
        while True:
            beat: asyncio.Task[None] | None = None
            try:
                self.url = self.urls[self._failures % len(self.urls)]
                async with connect(
                    self.url, ping_interval=None, open_timeout=2, close_timeout=0.5
                ) as ws:
                    self._ws = ws
                    self.connects += 1
                    self._beats = self._acks = 0
                    self._confirming.clear()
                    cursors = {c: box.cursor for c, box in self.inboxes.items()
                               if self.convs is None or c in self.convs}  # fmt: skip
                    hello = {"op": "hello", "token": self.token, "device": self.device}
                    await ws.send(json.dumps({**hello, "cursors": cursors}))
                    beat = asyncio.ensure_future(self._beat(ws))
                    while True:  # a silent link (no heartbeat_ack for long) counts as cut
                        async with asyncio.timeout(self.heartbeat * 10 + 0.5):
                            raw = await ws.recv()
                        frame = json.loads(raw)
                        if frame.get("op") != "error":  # an error before a close is no progress
                            attempt = 0
                        await self._on(ws, frame)
            except Exception as exc:  # any failure of this connection: back off and resume
                self._failures += 1  # the next attempt tries the next gateway
                code = getattr(getattr(exc, "rcvd", None), "code", None)
                if code is not None:
                    self.closed_codes.append(code)
                if code == 4001:
                    self.error = "the gateway refused the token"
                    self._changed.set()
                    return
            finally:
                self._ws = None
                if beat is not None:
                    beat.cancel()
            await asyncio.sleep(self.backoff(attempt, base=self.base, cap=self.cap,
                                             u=self._rng.random()))  # fmt: skip
            attempt += 1

    async def _beat(self, ws: Any) -> None:
        while True:
            for (conv, cmid), body in list(self.pending.items()):
                await ws.send(json.dumps({"op": "send", "conv": conv, "client_msg_id": cmid,
                                          "body": body}))  # fmt: skip
            await ws.send(json.dumps({"op": "heartbeat", "status": "online"}))
            self._beats += 1
            await asyncio.sleep(self.heartbeat)

    async def _log_is_shorter(self, ws: Any, box: Inbox) -> bool:
        """A heartbeat_ack said ``box``'s log ends before its cursor: whether that is so.

        An ack can be late (its read of the log done before a message it then trails), so
        one is not taken on trust: the client fetches the message at its cursor and sends a
        heartbeat (answered after the fetch, as a connection's frames are answered in
        order). When that heartbeat's ack also comes below the cursor, the fetch is looked
        at: no message means the log is shorter (a message that conflicts has already reset
        the inbox on arrival); the message shown there means it is not, and another fetch
        is sent."""
        pending = self._confirming.get(box.conv)
        if pending is not None and pending[1] <= self._acks:
            del self._confirming[box.conv]
            if not pending[2]:
                return True
            pending = None
        if pending is None:
            await ws.send(json.dumps({"op": "fetch", "conv": box.conv, "first": box.cursor,
                                      "last": box.cursor}))  # fmt: skip
            await ws.send(json.dumps({"op": "heartbeat", "status": "online"}))
            self._beats += 1
            self._confirming[box.conv] = [box.cursor, self._beats, False]
        return False

    def _reset(self, conv: str) -> Inbox:
        """Start ``conv``'s inbox afresh: its log was reset, so what was shown is gone too."""
        self.inboxes[conv] = box = Inbox(conv)
        self.resets.append(conv)
        self._confirming.pop(conv, None)
        return box

    async def _on(self, ws: Any, f: dict[str, Any]) -> None:
        op = f.get("op")
        if op == "message":
            try:
                box = self.inbox(check_id("conv", f["conv"]))
                msg = Message(f["conv"], f["seq"], f["sender"], f["client_msg_id"], f["body"])
                if box.conflicts(msg):  # a new message at a shown seq: the log was reset
                    box = self._reset(box.conv)
                elif (pending := self._confirming.get(box.conv)) and pending[0] == msg.seq:
                    pending[2] = True  # the message at the cursor is still there
                shown = box.receive(msg)
            except (KeyError, MessagingError) as exc:  # a malformed frame: dropped, not shown
                self.error = f"malformed message frame dropped: {exc}"
                return
            if shown:
                await ws.send(json.dumps({"op": "ack", "conv": box.conv, "seq": box.cursor}))
            gap = box.missing()
            if gap is not None:
                await ws.send(json.dumps({"op": "fetch", "conv": box.conv, "first": gap[0],
                                          "last": gap[1]}))  # fmt: skip
        elif op == "sent":
            key = (f["conv"], f["client_msg_id"])
            self.seqs[key] = f["seq"]
            self.pending.pop(key, None)
        elif op == "refused":
            key = (f["conv"], f["client_msg_id"])
            if self.pending.pop(key, None) is not None:
                self.refused[key] = self.error = f["reason"]
        elif op == "heartbeat_ack":
            self._acks += 1
            for conv, last in f["last"].items():
                box = self.inbox(conv)
                if last < box.cursor:  # the log may be shorter than what was shown: reset?
                    if not await self._log_is_shorter(ws, box):
                        continue
                    box = self._reset(conv)
                if last > box.cursor and box.missing() is None:
                    await ws.send(json.dumps({"op": "fetch", "conv": conv,
                                              "first": box.cursor + 1, "last": last}))  # fmt: skip
                elif box.missing() is not None:
                    first, end = box.missing()  # type: ignore[misc]
                    await ws.send(json.dumps({"op": "fetch", "conv": conv, "first": first,
                                              "last": end}))  # fmt: skip
        elif op == "ready":
            self.convs = frozenset(f["convs"])
            for conv in f.get("reset", {}):  # its log was reset: what was shown is gone too
                if conv in self.inboxes:
                    self._reset(conv)
        elif op == "presence":
            self.presence[f["user"]] = f["state"]
        elif op == "error":
            self.error = f.get("reason")
        self._changed.set()
