"""The Redis Streams conversation log: one stream per conversation, XADD and XRANGE.

Case study: Design a Real-Time Chat App (WhatsApp / Messenger) (docs/case-studies/chat-app.md)

The shared store when several gateway processes run. Each conversation has a stream
``<prefix>:log:<conv>`` whose entry ids are ``<seq>-0``, so ``XRANGE`` by seq is a range
query; a hash ``<prefix>:ids:<conv>`` maps ``sender NUL client_msg_id`` to the seq it got (the
kind of key before the id, so ids holding ``:`` never make two keys meet: see
:mod:`~designpatterns_ref.messaging.directory`). One Lua script does the lookup, reads the
stream's last entry, and ``XADD`` and ``HSET`` seq + 1, atomically on the server, so two
gateways never take the same seq and a retry returns the first seq. The log is its own
counter: no separate key to lose (evicted, deleted) and fall behind the stream, and every
check (the two keys' types) runs before the first write, so a refused append writes nothing.
The hash is trusted only where the stream agrees: a seq it names whose entry is gone or is
another message (the log deleted or evicted, the hash left behind) is stale, and the send is
appended anew rather than answered with another sender's message or an error.
Every round trip has a deadline (:func:`designpatterns_ref.redisclient.bounded_client`); an
unreachable server, or one that refuses a command (a key of another type under the
prefix, a full memory), raises :class:`~designpatterns_ref.messaging.base.StoreUnavailable`
(a :class:`~designpatterns_ref.messaging.base.MessagingError`).

Trade-off: one round trip per append (the script) and per read; the stream keeps the whole
log (no ``MAXLEN`` trimming, so the idempotency window is the whole log, as in the other stores).

>>> RedisStore.SCRIPT.count("XADD")
1
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from designpatterns_ref.messaging.base import (
    Message,
    MessagingError,
    StoreUnavailable,
    check_body,
    check_id,
    check_seq,
)
from designpatterns_ref.messaging.directory import check_redis, ids_key, log_key
from designpatterns_ref.redisclient import DEFAULT_DEADLINE_S, bounded_client, check_deadline
from designpatterns_ref.redisclient import outages_as as _outages_as

__all__ = ["RedisStore"]


@contextlib.contextmanager
def _refusals_as_ours(where: str) -> Iterator[None]:
    """A command Redis refuses (``WRONGTYPE``, ``OOM``, a failing script) as StoreUnavailable."""
    import redis

    try:
        yield
    except redis.ResponseError as exc:
        raise StoreUnavailable(f"RedisStore.{where}: Redis refused it: {exc}") from exc


@_outages_as(StoreUnavailable, "append", "read", "last_seq")
class RedisStore:
    """Conversation logs in Redis Streams (``client``: a ``redis://`` URL or a ``redis.Redis``;
    anything else raises :class:`~designpatterns_ref.messaging.base.MessagingError`)."""

    SCRIPT = """
local seq = redis.call('HGET', KEYS[2], ARGV[1])
if seq then
  local e = redis.call('XRANGE', KEYS[1], seq .. '-0', seq .. '-0')[1]
  if e and e[2][2] == ARGV[2] and e[2][4] == ARGV[3] then return {tonumber(seq), 0, e[2][6]} end
end
local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
seq = 1
if top[1] then seq = tonumber(string.match(top[1][1], '^%d+')) + 1 end
redis.call('XADD', KEYS[1], seq .. '-0', 's', ARGV[2], 'c', ARGV[3], 'b', ARGV[4])
redis.call('HSET', KEYS[2], ARGV[1], seq)
return {seq, 1, ARGV[4]}
"""

    def __init__(
        self, client: Any, *, prefix: str = "dp:msg", deadline: float = DEFAULT_DEADLINE_S
    ) -> None:
        check_redis(client)
        self.prefix = check_id("prefix", prefix)
        self.deadline = check_deadline("RedisStore", deadline, MessagingError)
        self._r = bounded_client(client, self.deadline, decode_responses=True)
        self._append = self._r.register_script(self.SCRIPT)

    def _keys(self, conv: str) -> list[str]:
        return [log_key(self.prefix, conv), ids_key(self.prefix, conv)]

    def append(self, conv: str, sender: str, client_msg_id: str, body: str) -> tuple[Message, bool]:
        """Store a message, or return the one this ``(sender, client_msg_id)`` already stored."""
        check_id("conv", conv), check_id("sender", sender)
        check_id("client_msg_id", client_msg_id), check_body(body)
        with _refusals_as_ours("append"):
            seq, created, stored = self._append(
                keys=self._keys(conv),
                args=[f"{sender}\x00{client_msg_id}", sender, client_msg_id, body],
            )
        return Message(conv, int(seq), sender, client_msg_id, stored), bool(created)

    def read(self, conv: str, after: int = 0, limit: int = 1000) -> list[Message]:
        """The messages with seq > ``after``, in order, at most ``limit``."""
        check_id("conv", conv), check_seq("after", after), check_seq("limit", limit, low=1)
        with _refusals_as_ours("read"):
            entries = self._r.xrange(log_key(self.prefix, conv), f"({after}-0", "+", count=limit)
        return [Message(conv, int(eid.split("-")[0]), f["s"], f["c"], f["b"]) for eid, f in entries]

    def last_seq(self, conv: str) -> int:
        """The highest seq of ``conv`` (0 when empty)."""
        with _refusals_as_ours("last_seq"):
            top = self._r.xrevrange(log_key(self.prefix, check_id("conv", conv)), count=1)
        return int(top[0][0].split("-")[0]) if top else 0

    def close(self) -> None:
        """Close the connection pool made from a URL (on your client: a no-op, the shared twin
        stays for the other stores on it and goes with your client)."""
        self._r.close()

    def __repr__(self) -> str:
        return f"RedisStore(prefix={self.prefix!r})"
