"""A queue on Redis Streams with a consumer group: the engine several worker processes share.

Case study: Design a Push Notification System (docs/case-studies/push-notifications.md)

Each lane is a stream (``<name>:high``, ``<name>:normal``) read by one consumer group. A worker
takes messages with ``XREADGROUP ... >`` (new ones, each to exactly one consumer of the group);
a message stays in the group's pending list until the worker ``XACK``\\s it (and ``XDEL``\\s it,
so the stream holds only live work). When a worker dies (SIGKILL, a lost host), its pending
messages would wait forever; :meth:`RedisStreamQueue.take` first runs ``XAUTOCLAIM`` to move
messages idle at least ``claim_idle`` seconds to itself. A take is one Lua script call (one
round trip): it moves the due retries into their streams, ``XAUTOCLAIM``\\s each lane (high
first), then reads new messages of each lane with a non-blocking ``XREADGROUP``, each command
asking for what is still missing of ``n``. :meth:`RedisStreamQueue._take_reference` makes the
same calls one round trip each (up to five a take): the readable reference the tests compare it
with. That is at-least-once delivery; the send stage's dedup window (:class:`RedisDedup`) keeps
a replay from reaching the phone again: one Lua script call claims the keys of every message of
a take for a lease before the provider calls (:meth:`RedisDedup.claim_many`), and one MULTI/EXEC
after them marks the sent ones, drops the claims of the refused ones and acks the take
(:meth:`RedisStreamQueue.ack_settled`): two round trips a take instead of two a message. A
worker killed between claim and send loses nothing (the leases run out, ``XAUTOCLAIM`` serves
the take again, the replay sends); one killed between the first provider ok of a take and the
settle leaves the one window where the phone sees messages twice: every message of that take the
provider took (at most the take's size). A take that outlasts half the lease renews the claims
it still needs in one more script call (:meth:`RedisDedup.extend`: only keys still holding its
owner token get a new lease), so the claims stay live until the settle while each provider call
takes under half the lease.

Streams have no delay, so a retry waits in a sorted set (``<name>:delayed``, scored by due time)
and the take's script moves due entries into their stream first (at most ``n``, earliest first;
entries due at the same time in the order of their members: lane name, then a random hex).

Complexity: O(1) per put; O(batch) per take plus O(log n) per delayed item; three round trips
per take of the send stage: the take, the dedup claim and the settle.

>>> RedisStreamQueue.streams("push")
('push:high', 'push:normal')
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import Any, TypeVar, cast

from designpatterns_ref.errors import shown
from designpatterns_ref.notifications.base import (
    LANES,
    Deliverer,
    NotificationError,
    QueueUnavailable,
    check_seconds,
)
from designpatterns_ref.notifications.queues import (
    Item,
    check_dedup,
    check_many,
    check_put,
    check_take,
    check_tickets,
    encode,
)
from designpatterns_ref.redisclient import bounded_client

__all__ = ["RedisDedup", "RedisStreamQueue"]

_T = TypeVar("_T")

# KEYS: the delayed set, the high stream, the normal stream. ARGV: now, n. Moves the first n due
# entries (by due time, ties by member: lane name, then a random hex) to the end of their stream.
_PROMOTE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, m in ipairs(due) do
  local lane, body = string.match(m, '^(%a+)\\n[^\\n]*\\n(.*)$')
  local stream = KEYS[3]
  if lane == 'high' then stream = KEYS[2] end
  redis.call('XADD', stream, '*', 'd', body)
  redis.call('ZREM', KEYS[1], m)
end
"""

_MOVE_DUE = _PROMOTE + "return #due\n"

# A whole take in one call: promote due retries, then XAUTOCLAIM each lane (high first) for
# entries idle at least ARGV[5] ms, then XREADGROUP each lane for new ones, asking each command
# for what is still missing of n. ARGV: now, n, group, consumer, idle ms. Returns a flat list:
# lane index (0 high, 1 normal), entry id, body, ... in take order. A deleted entry (no fields,
# or listed apart by XAUTOCLAIM since Redis 7) is not served and does not count towards n.
_TAKE = (
    _PROMOTE
    + """
local n, got, out = tonumber(ARGV[2]), 0, {}
local function keep(lane, entries)
  for _, e in ipairs(entries) do
    local f = e[2]
    if type(f) == 'table' and #f > 0 then
      for i = 1, #f, 2 do
        if f[i] == 'd' then
          out[#out + 1] = lane - 2
          out[#out + 1] = e[1]
          out[#out + 1] = f[i + 1]
          got = got + 1
          break
        end
      end
    end
  end
end
for lane = 2, 3 do
  if got >= n then break end
  local r = redis.call('XAUTOCLAIM', KEYS[lane], ARGV[3], ARGV[4], ARGV[5], '0-0',
                       'COUNT', n - got)
  keep(lane, r[2])
end
for lane = 2, 3 do
  if got >= n then break end
  local r = redis.call('XREADGROUP', 'GROUP', ARGV[3], ARGV[4], 'COUNT', n - got,
                       'STREAMS', KEYS[lane], '>')
  if r then keep(lane, r[1][2]) end
end
return out
"""
)

_CLAIM = """
local v = redis.call('GET', KEYS[1])
if v == 'sent' then return 'delivered' end
if v then return 'busy' end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 'claimed'
"""

_CONFIRM = """
redis.call('SET', KEYS[1], 'sent', 'PX', ARGV[2])
redis.call('RPUSH', KEYS[2], ARGV[1])
return 1
"""

# The claim of every message of one take, in take order: an id twice in the take sees its own
# first claim and is "b" (busy), so it is never sent twice. One letter per key: d, b or c.
# ARGV: the owner, the lease in ms, and "renew" to renew instead: a take that outlasts half the
# lease renews its claims, so a key still holding this owner's token gets a fresh lease
# (PEXPIRE) and is "c"; a key whose claim ran out is claimed again either way.
_CLAIM_MANY = """
local out = {}
for i, key in ipairs(KEYS) do
  local v = redis.call('GET', key)
  if v == 'sent' then
    out[i] = 'd'
  elseif v == ARGV[1] and ARGV[3] == 'renew' then
    redis.call('PEXPIRE', key, ARGV[2])
    out[i] = 'c'
  elseif v then
    out[i] = 'b'
  else
    redis.call('SET', key, ARGV[1], 'PX', ARGV[2])
    out[i] = 'c'
  end
end
return table.concat(out)
"""

# KEYS: the deliveries list, the keys to confirm, then the keys to release. ARGV: the owner, the
# window in ms, how many to confirm, then their ids. Confirms first, then releases (a release
# never drops a sent mark, nor another owner's claim).
_SETTLE = """
local n = tonumber(ARGV[3])
for i = 2, n + 1 do
  redis.call('SET', KEYS[i], 'sent', 'PX', ARGV[2])
end
for i = 4, n + 3, 1000 do  -- RPUSH in slices: unpack has a stack limit
  redis.call('RPUSH', KEYS[1], unpack(ARGV, i, math.min(i + 999, n + 3)))
end
for i = n + 2, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then redis.call('DEL', KEYS[i]) end
end
return n
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _store_failure(exc: Exception) -> bool:
    """Is ``exc`` the server failing (down, timing out, refusing a write), not a bad call?"""
    from redis.exceptions import RedisError

    return isinstance(exc, RedisError | OSError)


@contextlib.contextmanager
def _unavailable(where: str, name: str) -> Iterator[None]:
    """Raise the server failing in the block as :class:`~.base.QueueUnavailable`."""
    try:
        yield
    except Exception as exc:
        if _store_failure(exc):
            raise QueueUnavailable(f"{where}: {shown(name)}: {exc}") from exc
        raise


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
                raise NotificationError(f"RedisStreamQueue: {label}={shown(value)} must be a name")
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise NotificationError(
                    f"RedisStreamQueue: {label}={shown(value)} is not valid UTF-8"
                ) from None
        self.claim_idle = check_seconds("RedisStreamQueue", "claim_idle", claim_idle, high=86400)
        self.r = _client(redis)
        self.name, self.group, self.consumer = name, group, consumer
        self.delayed = f"{name}:delayed"
        self._move = self.r.register_script(_MOVE_DUE)
        self._take = self.r.register_script(_TAKE)
        self._make_group()

    def _make_group(self) -> None:
        """``XGROUP CREATE ... MKSTREAM`` on each lane (a group that exists already: nothing)."""
        for stream in self.streams(self.name):
            try:
                self.r.xgroup_create(stream, self.group, id="0", mkstream=True)
            except Exception as exc:  # BUSYGROUP: another worker created it first
                if "BUSYGROUP" not in str(exc):
                    raise

    def _regrouped(self, call: Callable[[], _T]) -> _T:
        """``call()``; if it fails with NOGROUP (a server restarted without its data, or
        flushed: the group is gone), make the group again, once, and run ``call`` again.
        Whatever was pending in the lost group went with the data; new work flows again."""
        from redis.exceptions import ResponseError

        try:
            return call()
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
        self._make_group()
        return call()

    @staticmethod
    def streams(name: str) -> tuple[str, str]:
        """The stream of each lane, high first."""
        return tuple(f"{name}:{lane}" for lane in LANES)  # type: ignore[return-value]

    def put(self, item: Item, *, lane: str = "normal", at: float = 0.0) -> None:
        """XADD ``item`` to its lane's stream, or ZADD it to the delayed set until ``at``.

        A server that is down or refuses the write raises
        :class:`~designpatterns_ref.notifications.QueueUnavailable` (nothing added)."""
        check_put("RedisStreamQueue.put", item, lane, at)
        body = encode("RedisStreamQueue.put", item)
        try:
            if at:
                self.r.zadd(self.delayed, {f"{lane}\n{uuid.uuid4().hex}\n{body}": at})
            else:
                self.r.xadd(f"{self.name}:{lane}", {"d": body})
        except Exception as exc:
            if _store_failure(exc):
                raise QueueUnavailable(f"RedisStreamQueue.put: {shown(self.name)}: {exc}") from exc
            raise

    def put_many(self, items: Sequence[Item], *, lane: str = "normal") -> None:
        """XADD several items in one MULTI/EXEC (one round trip): all of them or none.

        Every item is checked and encoded first, so a refused batch adds nothing; a server that
        is down, or refuses a write midway (out of memory), raises
        :class:`~designpatterns_ref.notifications.QueueUnavailable` with nothing added: the
        transaction runs whole or not at all, so a retry adds each item once."""
        where = "RedisStreamQueue.put_many"
        bodies = [encode(where, item) for item in check_many(where, items, lane)]
        if not bodies:
            return
        pipe = self.r.pipeline(transaction=True)
        stream = f"{self.name}:{lane}"
        for body in bodies:
            pipe.xadd(stream, {"d": body})
        with _unavailable(where, self.name):
            pipe.execute()

    def take(self, n: int, now: float) -> list[tuple[Hashable, Item]]:
        """Move due retries, reclaim crashed consumers' messages, then read new ones: one script
        call (one round trip) doing what :meth:`_take_reference` does in five. A server that
        is down raises :class:`~designpatterns_ref.notifications.QueueUnavailable`."""
        check_take("RedisStreamQueue.take", n, now)
        streams = self.streams(self.name)
        idle_ms = int(self.claim_idle * 1000)
        with _unavailable("RedisStreamQueue.take", self.name):
            flat = self._regrouped(
                lambda: self._take(
                    keys=[self.delayed, *streams],
                    args=[now, n, self.group, self.consumer, idle_ms],
                )
            )
        return [
            ((streams[int(flat[i])], _s(flat[i + 1])), json.loads(flat[i + 2]))
            for i in range(0, len(flat), 3)
        ]

    def _take_reference(self, n: int, now: float) -> list[tuple[Hashable, Item]]:
        """:meth:`take` one command at a time (the readable reference): the promotion script,
        then ``XAUTOCLAIM`` on each lane, then ``XREADGROUP`` on each, high lane first."""
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

    def _tickets(self, where: str, tickets: object) -> list[tuple[str, str]]:
        check_tickets(where, tickets)
        streams = self.streams(self.name)
        for t in cast(Sequence[object], tickets):
            if not (
                isinstance(t, tuple)
                and len(t) == 2
                and t[0] in streams
                and isinstance(t[1], str)
                and _STREAM_ID.fullmatch(t[1])
            ):
                raise NotificationError(
                    f"{where}: ticket={shown(t)} is not one this queue gave out"
                )
        return cast(list[tuple[str, str]], list(cast(Sequence[object], tickets)))

    def _ack_into(self, pipe: Any, tickets: list[tuple[str, str]]) -> None:
        """One XACK and one XDEL per stream, each naming all of its ids."""
        per_stream: dict[str, list[str]] = {}
        for stream, msg_id in tickets:
            per_stream.setdefault(stream, []).append(msg_id)
        for stream, ids in per_stream.items():
            pipe.xack(stream, self.group, *ids)
            pipe.xdel(stream, *ids)

    def ack(self, tickets: Sequence[Hashable]) -> None:
        """XACK and XDEL the taken messages in one round trip (an unknown ticket: nothing)."""
        checked = self._tickets("RedisStreamQueue.ack", tickets)
        if not checked:
            return
        pipe = self.r.pipeline(transaction=False)
        self._ack_into(pipe, checked)
        with _unavailable("RedisStreamQueue.ack", self.name):
            pipe.execute()

    def ack_settled(
        self,
        tickets: Sequence[Hashable],
        dedup: Deliverer,
        confirmed: Sequence[str],
        released: Sequence[str],
    ) -> None:
        """Settle ``dedup``'s claims (``dedup.settle(confirmed, released)``) and ack ``tickets``.

        When ``dedup`` is a :class:`RedisDedup` on this queue's client, both go in one
        MULTI/EXEC: one round trip, and the sent marks and the ack land together. Any other
        window is settled first, then the take is acked (two calls). Everything is checked
        before anything is sent, so a refused call settles and acks nothing; a server that is
        down raises :class:`~designpatterns_ref.notifications.QueueUnavailable`.
        """
        where = "RedisStreamQueue.ack_settled"
        checked = self._tickets(where, tickets)
        if not isinstance(dedup, RedisDedup) or dedup.r is not self.r:
            check_dedup(where, dedup)
            dedup.settle(confirmed, released)
            self.ack(checked)
            return
        keys, args = dedup._settle_call(where, confirmed, released)
        from redis.exceptions import NoScriptError

        with _unavailable(where, self.name):
            if not dedup._settle_loaded:  # once: EVALSHA inside MULTI cannot load it
                self.r.script_load(_SETTLE)
                dedup._settle_loaded = True
            pipe = self.r.pipeline(transaction=True)
            if len(keys) > 1:
                pipe.evalsha(dedup._settle.sha, len(keys), *keys, *args)
            self._ack_into(pipe, checked)
            try:
                pipe.execute()
            except NoScriptError:  # the server lost its script cache (a restart, SCRIPT FLUSH)
                dedup._settle(keys=keys, args=args)  # loads the script and runs it; acks ran

    def pending(self) -> int:
        """Messages taken by some consumer and not acked. A server that is down raises
        :class:`~designpatterns_ref.notifications.QueueUnavailable`, as for ``len`` and
        :meth:`next_due`."""
        with _unavailable("RedisStreamQueue.pending", self.name):
            return self._regrouped(
                lambda: sum(
                    int(self.r.xpending(s, self.group)["pending"]) for s in self.streams(self.name)
                )
            )

    def __len__(self) -> int:
        with _unavailable("RedisStreamQueue.__len__", self.name):
            return sum(int(self.r.xlen(s)) for s in self.streams(self.name)) + int(
                self.r.zcard(self.delayed)
            )

    def next_due(self) -> float | None:
        """When the earliest delayed item (a retry in the sorted set) falls due; None: none.

        A message a crashed consumer left pending comes back after ``claim_idle`` seconds of
        the server's own time, not of the caller's clock, so it is not counted here."""
        with _unavailable("RedisStreamQueue.next_due", self.name):
            first = self.r.zrange(self.delayed, 0, 0, withscores=True)
        return float(first[0][1]) if first else None


_STREAM_ID = re.compile(r"[0-9]{1,20}-[0-9]{1,20}")


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _key(fields: dict[Any, Any]) -> Any:
    return b"d" if b"d" in fields else "d"


_CLAIM_WORDS = {"d": "delivered", "b": "busy", "c": "claimed"}


class RedisDedup:
    """The dedup window on Redis: a claim with a lease before the send, ``sent`` after it.

    A message's key holds this instance's owner token for ``lease`` seconds while it sends, then
    ``sent`` for ``window`` seconds (both timed by the server, in milliseconds). One message at a
    time, each step is one Lua script: :meth:`claim`, :meth:`confirm`, :meth:`release` (the
    readable reference). A take at a time, :meth:`claim_many` claims every id in one script call
    with the same answers as calling :meth:`claim` on each in order, :meth:`settle` confirms
    and releases them all in another, and :meth:`extend` renews the claims of a slow take.
    ``delivered()`` lists the confirmed ids (the dedup record; what reached the phone is counted
    at the provider). While the server is down every method raises
    :class:`~designpatterns_ref.notifications.QueueUnavailable` and changes nothing (each step is
    one script call, run whole or not at all), as the queues do.
    """

    def __init__(
        self, redis: Any, prefix: str, *, window: float = 86400.0, lease: float = 30.0
    ) -> None:
        if not isinstance(prefix, str) or not prefix:
            raise NotificationError(f"RedisDedup: prefix={shown(prefix)} must be a name")
        try:
            prefix.encode("utf-8")
        except UnicodeEncodeError:
            raise NotificationError(
                f"RedisDedup: prefix={shown(prefix)} is not valid UTF-8"
            ) from None
        self.window = check_seconds("RedisDedup", "window", window)
        self.lease = check_seconds("RedisDedup", "lease", lease, high=86400.0)
        self.r = _client(redis)
        self.prefix = prefix
        self.owner = f"claim:{uuid.uuid4().hex}"
        self.deliveries = f"{prefix}:deliveries"
        self._claim = self.r.register_script(_CLAIM)
        self._confirm = self.r.register_script(_CONFIRM)
        self._release = self.r.register_script(_RELEASE)
        self._claim_many = self.r.register_script(_CLAIM_MANY)
        self._settle = self.r.register_script(_SETTLE)
        self._settle_loaded = False
        self._lease_ms = max(1, round(self.lease * 1000))
        self._window_ms = max(1, round(self.window * 1000))

    def _key(self, message_id: str, where: str = "RedisDedup", label: str = "message_id") -> str:
        if not isinstance(message_id, str) or not message_id:
            raise NotificationError(
                f"{where}: {label}={shown(message_id)} must be a non-empty string"
            )
        try:
            message_id.encode("utf-8")
        except UnicodeEncodeError:
            raise NotificationError(
                f"{where}: {label}={shown(message_id)} is not valid UTF-8"
            ) from None
        return f"{self.prefix}:sent:{message_id}"

    def _keys(self, where: str, label: str, message_ids: object) -> list[str]:
        if not isinstance(message_ids, list | tuple):
            raise NotificationError(f"{where}: {label}={shown(message_ids)} must be a list of ids")
        return [self._key(m, where, f"{label}[{i}]") for i, m in enumerate(message_ids)]

    def claim(self, message_id: str) -> str:
        """``"delivered"``, ``"busy"`` (another live claim) or ``"claimed"`` for ``lease``."""
        key = self._key(message_id)
        with _unavailable("RedisDedup.claim", self.prefix):
            return _s(self._claim(keys=[key], args=[self.owner, self._lease_ms]))

    def claim_many(self, message_ids: Sequence[str]) -> list[str]:
        """:meth:`claim` for each id in order, in one script call (an id twice: ``"busy"``)."""
        keys = self._keys("RedisDedup.claim_many", "message_ids", message_ids)
        if not keys:
            return []
        with _unavailable("RedisDedup.claim_many", self.prefix):
            letters = _s(self._claim_many(keys=keys, args=[self.owner, self._lease_ms, ""]))
        return [_CLAIM_WORDS[c] for c in letters]

    def extend(self, message_ids: Sequence[str]) -> list[str]:
        """Renew this instance's claims on ``message_ids`` for another ``lease``, in one script
        call: ``"claimed"`` (still or again yours: a claim that ran out and that nobody took is
        made afresh), ``"busy"`` (another owner claimed it since) or ``"delivered"``."""
        keys = self._keys("RedisDedup.extend", "message_ids", message_ids)
        if not keys:
            return []
        with _unavailable("RedisDedup.extend", self.prefix):
            letters = _s(self._claim_many(keys=keys, args=[self.owner, self._lease_ms, "renew"]))
        return [_CLAIM_WORDS[c] for c in letters]

    def confirm(self, message_id: str) -> None:
        """Mark ``message_id`` sent for ``window`` seconds and record the delivery."""
        key = self._key(message_id)
        with _unavailable("RedisDedup.confirm", self.prefix):
            self._confirm(keys=[key, self.deliveries], args=[message_id, self._window_ms])

    def _settle_call(
        self, where: str, confirmed: object, released: object
    ) -> tuple[list[str], list[object]]:
        sent = self._keys(where, "confirmed", confirmed)
        dropped = self._keys(where, "released", released)
        ids = list(cast(Sequence[str], confirmed))
        return [self.deliveries, *sent, *dropped], [self.owner, self._window_ms, len(ids), *ids]

    def settle(self, confirmed: Sequence[str], released: Sequence[str]) -> None:
        """:meth:`confirm` each of ``confirmed``, then :meth:`release` each of ``released``,
        in one script call."""
        keys, args = self._settle_call("RedisDedup.settle", confirmed, released)
        if len(keys) > 1:
            with _unavailable("RedisDedup.settle", self.prefix):
                self._settle(keys=keys, args=args)

    def release(self, message_id: str) -> None:
        """Drop this instance's claim (never another's, never a ``sent`` mark)."""
        key = self._key(message_id)
        with _unavailable("RedisDedup.release", self.prefix):
            self._release(keys=[key], args=[self.owner])

    def deliver(self, message_id: str) -> bool:
        """Claim and confirm in one call; False if delivered within the window or claimed.

        Two script calls: a server that fails between them leaves the claim until its lease
        runs out (then the id may be claimed again), never a ``sent`` mark."""
        if self.claim(message_id) != "claimed":
            return False
        self.confirm(message_id)
        return True

    def delivered(self) -> list[str]:
        """Every confirmed delivery, in order."""
        with _unavailable("RedisDedup.delivered", self.prefix):
            return [_s(v) for v in self.r.lrange(self.deliveries, 0, -1)]
