"""A queue on Redis Streams with a consumer group: the engine several worker processes share.

Case study: Design a Push Notification System (docs/case-studies/push-notifications.md)

Each lane is a stream (``<name>:high``, ``<name>:normal``) read by one consumer group. A worker
takes messages with ``XREADGROUP ... >`` (new ones, each to exactly one consumer of the group);
a message stays in the group's pending list until the worker ``XACK``\\s it (and ``XDEL``\\s it,
so the stream holds only live work). When a worker dies (SIGKILL, a lost host), its pending
messages would wait forever; :meth:`RedisStreamQueue.take` first runs ``XAUTOCLAIM`` to move
messages idle longer than ``claim_idle`` seconds to itself. That is at-least-once delivery; the
send stage's dedup window (:class:`RedisDedup`, one Lua script that sets the message's key with
``NX`` and records the delivery) makes it at most once as the user sees it.

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

_DELIVER = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[2]) then
  redis.call('RPUSH', KEYS[2], ARGV[1])
  return 1
end
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
    """The dedup window on Redis: ``SET key NX EX window`` and the delivery record, atomically.

    ``deliveries`` is the list the simulated providers hand messages to (the users' phones, as
    far as the simulation goes): one Lua script checks and records, so no crash can split them.
    """

    def __init__(self, redis: Any, prefix: str, *, window: float = 86400.0) -> None:
        if not isinstance(prefix, str) or not prefix:
            raise NotificationError(f"RedisDedup: prefix={prefix!r} must be a name")
        self.window = int(check_seconds("RedisDedup", "window", window))
        self.r = _client(redis)
        self.prefix = prefix
        self.deliveries = f"{prefix}:deliveries"
        self._deliver = self.r.register_script(_DELIVER)

    def deliver(self, message_id: str) -> bool:
        """Record ``message_id`` as delivered; False if it was within the window."""
        key = f"{self.prefix}:sent:{message_id}"
        return bool(self._deliver(keys=[key, self.deliveries], args=[message_id, self.window]))

    def delivered(self) -> list[str]:
        """Every delivery recorded, in order (with duplicates, if there ever were any)."""
        return [_s(v) for v in self.r.lrange(self.deliveries, 0, -1)]
