"""The frames both gateways speak and one socket's life on either of them.

Case study: Slack's WebSocket Gateway: 1M Concurrent Connections
(docs/case-studies/slack-gateway.md)

:class:`~designpatterns_ref.messaging.gateway.Gateway` (one process) and
:class:`~designpatterns_ref.messaging.edge.EdgeGateway` (stateless, over Redis) differ in
where the state lives, not in what a socket sees: the JSON frames built here
(:func:`message_frame`, :func:`refused_frame`), the WebSocket framing done once for a
fan-out (:func:`text_frame`), the checks of a ``hello``'s cursors (:func:`member_cursors`)
and of the timeouts (:func:`check_timeout`), and :func:`serve_frames`, the loop that reads
a socket's frames, hands the first to the gateway's ``hello`` and the rest to its frame
handler, and closes the socket with the code of :data:`CLOSE_CODES` for what went wrong:
a ``hello`` or a frame that does not come in time, malformed JSON, a refused frame
(``MessagingError``), a bad token, a store that cannot serve the frame now
(``StoreUnavailable``). Both gateways close a socket the same way because the
same function does it.

>>> text_frame(b"hi")
b'\\x81\\x02hi'
>>> CLOSE_CODES["auth"]
4001
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any, TypeVar

from designpatterns_ref.errors import shown
from designpatterns_ref.messaging.base import (
    Message,
    MessagingError,
    MessagingTypeError,
    StoreUnavailable,
    check_id,
    check_seq,
)
from designpatterns_ref.messaging.token import TokenError

__all__ = [
    "CLOSE_CODES",
    "RETRY_LATER",
    "check_timeout",
    "member_cursors",
    "message_frame",
    "next_frame",
    "refused_frame",
    "serve_frames",
    "text_frame",
]

#: The WebSocket close code for each kind of failure: a malformed or refused frame, a bad
#: token, a slow consumer (too many unsent bytes), a frame over ``max_frame`` bytes, and a
#: frame the store could not serve now (a ``StoreUnavailable``: RFC 6455's 1013, "try again
#: later"; not the client's fault, so it reconnects with backoff and resumes from its cursors).
CLOSE_CODES: dict[str, int] = {
    "protocol": 4000,
    "auth": 4001,
    "slow consumer": 4008,
    "too big": 1009,
    "store unavailable": 1013,
}
#: The ``code`` of an ``error`` answering one send the store could not take now (RFC 6455's
#: 1013, "try again later"): the connection stays open and the client's retry of the pending
#: send will do.
RETRY_LATER = 1013


def message_frame(msg: Message) -> str:
    """The JSON ``message`` frame of ``msg``."""
    return json.dumps(
        {"op": "message", "conv": msg.conv, "seq": msg.seq, "sender": msg.sender,
         "client_msg_id": msg.client_msg_id, "body": msg.body}
    )  # fmt: skip


def check_timeout(name: str, value: object, *, optional: bool = False) -> float | None:
    """``value`` as a number of seconds in ``(0, 3600]`` (None too when ``optional``)."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        allowed = "a number of seconds or None" if optional else "a number of seconds"
        raise MessagingTypeError(f"{name}={shown(value, 80)} must be {allowed}")
    if not (0 < value <= 3600):  # NaN fails this too
        raise MessagingError(f"{name}={shown(value, 80)} must be within (0, 3600] seconds")
    return float(value)


async def next_frame(ws: Any, timeout: float | None) -> str | bytes | None:
    """The socket's next frame, or None when none came within ``timeout`` seconds (the caller
    closes it: a socket that never says hello, or goes silent, would be held for ever)."""
    try:
        async with asyncio.timeout(timeout):
            return await ws.recv()  # type: ignore[no-any-return]
    except TimeoutError:
        return None


def member_cursors(cursors: object, convs: Collection[str]) -> dict[str, int]:
    """The cursors of a ``hello`` for the conversations in ``convs``: every cursor is checked
    (an id, a seq in ``[0, MAX_SEQ]``; :class:`MessagingError` otherwise), and one for a
    conversation the user is not in (a stale one, or a typo shown in a client) is dropped,
    not refused, so it cannot stop the device from ever connecting again."""
    if not isinstance(cursors, Mapping):
        raise MessagingTypeError(f"cursors={shown(cursors, 80)} must be a mapping conv -> seq")
    out = {}
    for conv, seq in cursors.items():
        check_id("conv", conv), check_seq(f"cursors[{conv!r:.40}]", seq)
        if conv in convs:
            out[conv] = seq
    return out


def refused_frame(conv: str, client_msg_id: str, reason: str) -> str:
    """The JSON ``refused`` frame: the send ``(conv, client_msg_id)`` will never be stored."""
    return json.dumps(
        {"op": "refused", "conv": conv, "client_msg_id": client_msg_id, "reason": reason[:200]}
    )


def text_frame(payload: bytes) -> bytes:
    """A final, unmasked WebSocket text frame (RFC 6455 section 5.2) around ``payload``: the
    header is 0x81 (FIN, opcode 1), then the length in 7 bits, or 126 and 16 bits, or 127 and
    64 bits. A server's frames are never masked."""
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 1 << 16:
        return bytes((0x81, 126)) + n.to_bytes(2, "big") + payload
    return bytes((0x81, 127)) + n.to_bytes(8, "big") + payload


#: The connection type of the gateway serving a socket.
C = TypeVar("C")


async def serve_frames(
    ws: Any,
    hello_timeout: float | None,
    idle_timeout: float | None,
    hello: Callable[[Any, dict[str, Any]], Awaitable[C]],
    frame: Callable[[C, dict[str, Any]], Awaitable[object]],
    forget: Callable[[C], object],
) -> None:
    """One socket's life on either gateway: its first frame goes to ``hello`` (which returns
    the connection), every later one to ``frame``, and ``forget`` runs once it ends.

    A frame is a JSON object with a string ``op``. A socket that sends no frame within
    ``hello_timeout`` (before its hello) or ``idle_timeout`` (after), a malformed frame or a
    refused one (``MessagingError``) is sent an error frame and closed with the code of
    :data:`CLOSE_CODES` for its kind (``auth`` for a ``TokenError``, ``store unavailable``,
    1013, for a :class:`~designpatterns_ref.messaging.base.StoreUnavailable`: the store
    failed, not the client).
    """
    from websockets.exceptions import ConnectionClosed

    async def fail(kind: str, reason: str) -> None:
        code = CLOSE_CODES[kind]
        with contextlib.suppress(Exception):
            await ws.send(json.dumps({"op": "error", "code": code, "reason": reason[:200]}))
        await ws.close(code, kind)

    conn: C | None = None
    try:
        while True:
            limit = hello_timeout if conn is None else idle_timeout
            raw = await next_frame(ws, limit)
            if raw is None:
                await fail("protocol", f"{'no hello' if conn is None else 'nothing'} received "
                           f"within {limit} s")  # fmt: skip
                return
            try:
                data = json.loads(raw)
                if not isinstance(data, dict) or not isinstance(data.get("op"), str):
                    raise MessagingError("a frame is a JSON object with a string 'op'")
                if conn is None:
                    conn = await hello(ws, data)
                else:
                    await frame(conn, data)
            except StoreUnavailable as exc:
                await fail("store unavailable", f"store unavailable: {exc}")
                return
            except MessagingError as exc:
                await fail("auth" if isinstance(exc, TokenError) else "protocol", str(exc))
                return
            except (ValueError, RecursionError) as exc:
                await fail("protocol", f"malformed JSON: {exc}")
                return
    except ConnectionClosed:
        pass
    finally:
        if conn is not None:
            forget(conn)
