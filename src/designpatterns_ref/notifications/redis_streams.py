"""A queue on Redis Streams with a consumer group: the engine several worker processes share.

Case study: Design a Push Notification System (docs/case-studies/push-notifications.md)

Each lane is a stream (``<name>:high``, ``<name>:normal``) read by one consumer group. A worker
takes messages with ``XREADGROUP ... >`` (new ones, each to exactly one consumer of the group);
a message stays in the group's pending list until the worker ``XACK``\\s it (and ``XDEL``\\s it,
so the stream holds only live work). When a worker dies (SIGKILL, a lost host), its pending
messages would wait forever; :meth:`RedisStreamQueue.take` first runs ``XAUTOCLAIM`` to move
messages idle longer than ``claim_idle`` seconds to itself. That is at-least-once delivery; the
send stage's dedup window (:class:`RedisDedup`: a Lua script claims the message's key for a lease
before the provider call, another marks it sent for the window after the provider's ok) keeps a
replay from reaching the phone again. A worker killed between claim and send loses nothing (the
lease runs out, the replay sends); one killed between the provider's ok and the mark leaves the
one window where the phone sees the message twice.

Streams have no delay, so a retry waits in a sorted set (``<name>:delayed``, scored by due time)
and a Lua script moves due entries into their stream atomically.

Complexity: O(1) per put; O(batch) per take plus O(log n) per delayed item.

>>> RedisStreamQueue.streams("push")
('push:high', 'push:normal')
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Hashable, Sequence
from typing import Any, cast

from designpatterns_ref.notifications.base import LANES, NotificationError, check_seconds
from designpatterns_ref.notifications.queues import Item, check_put, check_take
from designpatterns_ref.redisclient import bounded_client

__all__ = ["RedisDedup", "RedisStreamQueue"]

_MOVE_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, m in ipairs(due) do
  local lane, body = string.match(m, '^(%a+)\\n[^\\n]*\\n(.*)$')
  local stream = KEYS[3]
  if lane == 'high' then stream = KEYS[2] end
  redis.call('XADD', stream, '*', 'd', body)
  redis.call('ZREM', KEYS[1], m)
end
return #due
"""

_CLAIM = """
local v = redis.call('GET', KEYS[1])
if v == 'sent' then return 'delivered' end
if v then return 'busy' end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 'claimed'
"""

_CONFIRM = """
redis.call('SET', KEYS[1], 'sent', 'EX', ARGV[2])
redis.call('RPUSH', KEYS[2], ARGV[1])
return 1
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _client(redis: Any) -> Any:
    if isinstance(redis, str):
        return bounded_client(redis, deadline=5.0)
    return redis


class RedisStreamQueue:
    """Lanes as streams in one consumer group; retries in a sorted set; crashed work reclaimed."""

    def __init__(
        self,
        redis: Any,
        name: str,
        *,
        group: str = "senders",
        consumer: str = "c0",
        claim_idle: float = 30.0,
    ) -> None:
        for label, value in (("name", name), ("group", group), ("consumer", consumer)):
            if not isinstance(value, str) or not value or len(value) > 100:
                raise NotificationError(f"RedisStreamQueue: {label}={value!r} must be a name")
        self.claim_idle = check_seconds("RedisStreamQueue", "claim_idle", claim_idle, high=86400)
        self.r = _client(redis)
        self.name, self.group, self.consumer = name, group, consumer
        self.delayed = f"{name}:delayed"
        self._move = self.r.register_script(_MOVE_DUE)
        for stream in self.streams(name):
            try:
                self.r.xgroup_create(stream, group, id="0", mkstream=True)
            except Exception as exc:  # BUSYGROUP: another worker created it first
                if "BUSYGROUP" not in str(exc):
                    raise

    @staticmethod
    def streams(name: str) -> tuple[str, str]:
        """The stream of each lane, high first."""
        return tuple(f"{name}:{lane}" for lane in LANES)  # type: ignore[return-value]

    def put(self, item: Item, *, lane: str = "normal", at: float = 0.0) -> None:
        """XADD ``item`` to its lane's stream, or ZADD it to the delayed set until ``at``."""
        check_put("RedisStreamQueue.put", item, lane, at)
        body = json.dumps(item)
        if at:
            self.r.zadd(self.delayed, {f"{lane}\n{uuid.uuid4().hex}\n{body}": at})
        else:
            self.r.xadd(f"{self.name}:{lane}", {"d": body})

    def put_many(self, items: Sequence[Item], *, lane: str = "normal") -> None:
        """XADD several items in one round trip."""
        check_put("RedisStreamQueue.put_many", {}, lane, 0.0)
        pipe = self.r.pipeline(transaction=False)
        stream = f"{self.name}:{lane}"
        for item in items:
            pipe.xadd(stream, {"d": json.dumps(item)})
        pipe.execute()

    def take(self, n: int, now: float) -> list[tuple[Hashable, Item]]:
        """Move due retries, reclaim crashed consumers' messages, then read new ones."""
        check_take("RedisStreamQueue.take", n, now)
        keys = [self.delayed, *self.streams(self.name)]
        self._move(keys=keys, args=[now, n])
        out: list[tuple[Hashable, Item]] = []
        idle_ms = int(self.claim_idle * 1000)
        for stream in self.streams(self.name):
            if len(out) >= n:
                break
            claimed = self.r.xautoclaim(
                stream, self.group, self.consumer, idle_ms, "0-0", count=n - len(out)
            )
            for msg_id, fields in claimed[1]:
                if fields:  # a deleted entry comes back without fields
                    out.append(((stream, _s(msg_id)), json.loads(_s(fields[_key(fields)]))))
        for stream in self.streams(self.name):
            if len(out) >= n:
                break
            got = self.r.xreadgroup(self.group, self.consumer, {stream: ">"}, count=n - len(out))
            for _, entries in got or ():
                for msg_id, fields in entries:
                    out.append(((stream, _s(msg_id)), json.loads(_s(fields[_key(fields)]))))
        return out

    def ack(self, tickets: Sequence[Hashable]) -> None:
        """XACK and XDEL the taken messages in one round trip."""
        if not tickets:
            return
        pipe = self.r.pipeline(transaction=False)
        for ticket in tickets:
            stream, msg_id = cast(tuple[str, str], ticket)
            pipe.xack(stream, self.group, msg_id)
            pipe.xdel(stream, msg_id)
        pipe.execute()

    def pending(self) -> int:
        """Messages taken by some consumer and not acked."""
        return sum(int(self.r.xpending(s, self.group)["pending"]) for s in self.streams(self.name))

    def __len__(self) -> int:
        return sum(int(self.r.xlen(s)) for s in self.streams(self.name)) + int(
            self.r.zcard(self.delayed)
        )

    def next_due(self) -> float | None:
        """When the earliest delayed item falls due."""
        first = self.r.zrange(self.delayed, 0, 0, withscores=True)
        return float(first[0][1]) if first else None


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _key(fields: dict[Any, Any]) -> Any:
    return b"d" if b"d" in fields else "d"


class RedisDedup:
    """The dedup window on Redis: a claim with a lease before the send, ``sent`` after it.

    A message's key holds this instance's owner token for ``lease`` seconds while it sends, then
    ``sent`` for ``window`` seconds; each step is one Lua script. ``delivered()`` lists the
    confirmed ids (the dedup record; what reached the phone is counted at the provider).
    """

    def __init__(
        self, redis: Any, prefix: str, *, window: float = 86400.0, lease: float = 30.0
    ) -> None:
        if not isinstance(prefix, str) or not prefix:
            raise NotificationError(f"RedisDedup: prefix={prefix!r} must be a name")
        self.window = int(check_seconds("RedisDedup", "window", window))
        self.lease = check_seconds("RedisDedup", "lease", lease, high=86400.0)
        self.r = _client(redis)
        self.prefix = prefix
        self.owner = f"claim:{uuid.uuid4().hex}"
        self.deliveries = f"{prefix}:deliveries"
        self._claim = self.r.register_script(_CLAIM)
        self._confirm = self.r.register_script(_CONFIRM)
        self._release = self.r.register_script(_RELEASE)

    def _key(self, message_id: str) -> str:
        if not isinstance(message_id, str) or not message_id:
            raise NotificationError(f"RedisDedup: message_id={message_id!r} must be a string")
        return f"{self.prefix}:sent:{message_id}"

    def claim(self, message_id: str) -> str:
        """``"delivered"``, ``"busy"`` (another live claim) or ``"claimed"`` for ``lease``."""
        lease_ms = max(1, int(self.lease * 1000))
        return _s(self._claim(keys=[self._key(message_id)], args=[self.owner, lease_ms]))

    def confirm(self, message_id: str) -> None:
        """Mark ``message_id`` sent for ``window`` seconds and record the delivery."""
        key = self._key(message_id)
        self._confirm(keys=[key, self.deliveries], args=[message_id, self.window])

    def release(self, message_id: str) -> None:
        """Drop this instance's claim (never another's, never a ``sent`` mark)."""
        self._release(keys=[self._key(message_id)], args=[self.owner])

    def deliver(self, message_id: str) -> bool:
        """Claim and confirm in one call; False if delivered within the window or claimed."""
        if self.claim(message_id) != "claimed":
            return False
        self.confirm(message_id)
        return True

    def delivered(self) -> list[str]:
        """Every confirmed delivery, in order."""
        return [_s(v) for v in self.r.lrange(self.deliveries, 0, -1)]
