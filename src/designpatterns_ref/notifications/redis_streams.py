"""A queue on Redis Streams with a consumer group: the engine several worker processes share.

Case study: Design a Push Notification System (docs/case-studies/push-notifications.md)

Each lane is a stream (``<name>:high``, ``<name>:normal``) read by one consumer group. A worker
takes messages with ``XREADGROUP ... >`` (new ones, each to exactly one consumer of the group);
a message stays in the group's pending list until the worker ``XACK``\\s it (and ``XDEL``\\s it,
so the stream holds only live work). When a worker dies (SIGKILL, a lost host), its pending
messages would wait forever; :meth:`RedisStreamQueue.take` first runs ``XAUTOCLAIM`` to move
messages idle at least ``claim_idle`` seconds to itself. A take is one Lua script call (one
round trip): it moves the due retries into their streams, ``XAUTOCLAIM``\\s each lane (high
first; one call scans at most ten times its ``COUNT`` pending entries, so a take makes up to
:data:`CLAIM_CALLS` of them, following the cursor each returns, and leaves the cursor in
``<name>:claimed`` for the next take to go on from: an idle entry behind many fresh ones is
reached within a few takes, and no take scans a long pending list while the server waits
on it), then reads new messages of
each lane with a non-blocking ``XREADGROUP``, each command asking for what is still missing of
``n``. :meth:`RedisStreamQueue._take_reference` makes the same calls one round trip each (up to
five a take): the readable reference the tests compare it with. That is at-least-once delivery;
the send stage's dedup window (:class:`~.redis_dedup.RedisDedup`) keeps a replay from reaching
the phone again: one Lua script call claims the keys of every message of a take for a lease
before the provider calls (:meth:`~.redis_dedup.RedisDedup.claim_many`), and one MULTI/EXEC
after them marks the sent ones, drops the claims of the refused ones and acks the take
(:meth:`RedisStreamQueue.ack_settled`): two round trips a take instead of two a message. A
worker killed between claim and send loses nothing (the leases run out, ``XAUTOCLAIM`` serves
the take again, the replay sends); one killed between the first provider ok of a take and the
settle leaves the one window where the phone sees messages twice: every message of that take the
provider took (at most the take's size). A take that outlasts half the lease renews the claims
it still needs in one more script call (:meth:`~.redis_dedup.RedisDedup.extend`: only keys still
holding its owner token get a new lease), so the claims stay live until the settle while each
provider call takes under half the lease.

Streams have no delay, so a retry waits in a sorted set (``<name>:delayed``, scored by due time)
and the take's script moves due entries into their stream first (at most ``n``, earliest first;
entries due at the same time in the order of their members: lane name, then the put's number
from a counter on the server, so in put order, as the in-memory and SQLite queues serve them).

Complexity: O(1) per put; O(batch) per take plus O(log n) per delayed item; three round trips
per take of the send stage: the take, the dedup claim and the settle.

>>> RedisStreamQueue.streams("push")
('push:high', 'push:normal')
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar, cast

from designpatterns_ref.errors import shown
from designpatterns_ref.notifications.base import (
    LANES,
    Deliverer,
    NotificationError,
    check_seconds,
)
from designpatterns_ref.notifications.queues import (
    Item,
    check_dedup,
    check_many,
    check_now,
    check_put,
    check_take,
    check_tickets,
    encode,
)
from designpatterns_ref.notifications.redis_dedup import (
    _SETTLE,
    _TYPES,
    RedisDedup,
    _client,
    _s,
    _unavailable,
)

__all__ = ["CLAIM_CALLS", "RedisStreamQueue"]

_T = TypeVar("_T")

CLAIM_CALLS = 2
"""The most ``XAUTOCLAIM`` calls a take makes on each lane (each scans at most ten times the
take's size of pending entries), so one take never scans a long pending list at once."""

# KEYS: the delayed set, the high stream, the normal stream (and, for a take, the cursors' hash).
# ARGV: now, n. Moves the first n due entries (by due time, ties by member: lane name, then put
# number) to the end of their stream. A key of the wrong type is refused before any write (Redis
# keeps a failing script's earlier writes).
_CHECK = """
local e = wrong_type(1, 'zset', 1) or wrong_type(2, 'stream', 3) or wrong_type(4, 'hash')
if e then return e end
"""
_MOVE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, m in ipairs(due) do
  local lane, body = string.match(m, '^(%a+)\\n[^\\n]*\\n(.*)$')
  local stream = KEYS[3]
  if lane == 'high' then stream = KEYS[2] end
  redis.call('XADD', stream, '*', 'd', body)
  redis.call('ZREM', KEYS[1], m)
end
"""
_PROMOTE = _TYPES + _CHECK + _MOVE

_MOVE_DUE = _PROMOTE + "return #due\n"

# KEYS: the delayed set, its put counter. ARGV: due time, lane, body. The member is the lane,
# the put's number (16 hex digits: their order is the numbers'), then the body: members due at
# one time sort high lane first, then in put order, and two equal bodies stay two members.
_PUT_DELAYED = (
    _TYPES
    + """
local e = wrong_type(1, 'zset', 1) or wrong_type(2, 'string', 2)
if e then return e end
local n = redis.call('INCR', KEYS[2])
local member = ARGV[2] .. '\\n' .. string.format('%016x', n) .. '\\n' .. ARGV[3]
redis.call('ZADD', KEYS[1], ARGV[1], member)
return n
"""
)

# A whole take in one call: promote due retries, then XAUTOCLAIM each lane (high first) for
# entries idle at least ARGV[5] ms, then XREADGROUP each lane for new ones, asking each command
# for what is still missing of n. One XAUTOCLAIM scans at most 10 x COUNT pending entries; it
# is called again from the cursor it returns, at most ARGV[6] times a lane, and the cursor is
# kept in KEYS[4] (a hash, field: the lane's key index) for the next take to go on from (an idle
# entry may lie behind many fresh ones). ARGV: now, n, group, consumer, idle ms. Returns a flat
# list: lane index (0 high, 1 normal), entry id, body, ... in take order. A deleted entry (no
# fields, or listed apart by XAUTOCLAIM since Redis 7) is not served and does not count towards n.
#: Reset the idle time of those of ARGV[3..] still pending for this consumer (ARGV[2]) in the
#: group ARGV[1] of the stream KEYS[1]; an entry another consumer has taken over, or acked, is
#: left as it is. Returns how many were renewed.
_RENEW = """
local renewed = 0
for i = 3, #ARGV do
  local mine = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1, ARGV[2])
  if #mine > 0 then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    renewed = renewed + 1
  end
end
return renewed
"""

_TAKE = (
    _TYPES
    + _CHECK
    + """
-- Each lane's group must be there before the first write: a NOGROUP midway would leave the
-- writes before it done (an XAUTOCLAIM that took entries over, their cursor moved past them)
-- and lost with the aborted reply, and the caller's retry would not serve those entries.
for lane = 2, 3 do
  local p = redis.pcall('XPENDING', KEYS[lane], ARGV[3])
  if type(p) == 'table' and p.err then return p end
end
"""
    + _MOVE
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
  local cursor = redis.call('HGET', KEYS[4], lane) or '0-0'
  local calls, wrapped = 0, cursor == '0-0'
  while got < n and calls < tonumber(ARGV[6]) do
    local r = redis.call('XAUTOCLAIM', KEYS[lane], ARGV[3], ARGV[4], ARGV[5], cursor,
                         'COUNT', n - got)
    keep(lane, r[2])
    cursor, calls = r[1], calls + 1
    if cursor == '0-0' then
      if wrapped then break end
      wrapped = true  -- began mid-list: go on from the start, once
    end
  end
  redis.call('HSET', KEYS[4], lane, cursor)
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
        self.cursors = f"{name}:claimed"  # where each lane's XAUTOCLAIM scan goes on from
        self._seq = f"{name}:delayed:seq"
        self._put_delayed = self.r.register_script(_PUT_DELAYED)
        self._move = self.r.register_script(_MOVE_DUE)
        self._take = self.r.register_script(_TAKE)
        self._renew = self.r.register_script(_RENEW)
        with _unavailable("RedisStreamQueue", self.name):
            self._make_group()

    def _make_group(self) -> None:
        """``XGROUP CREATE ... MKSTREAM`` on each lane (a group that exists already: nothing).

        A lane's key that holds another type (WRONGTYPE) is a misconfiguration and raises
        :class:`~designpatterns_ref.notifications.NotificationError`; a server that is down
        raises :class:`~designpatterns_ref.notifications.QueueUnavailable` (through the
        caller's ``_unavailable``), which a worker waits out."""
        for stream in self.streams(self.name):
            try:
                self.r.xgroup_create(stream, self.group, id="0", mkstream=True)
            except Exception as exc:  # BUSYGROUP: another worker created it first
                if "BUSYGROUP" not in str(exc):
                    raise

    def _regrouped(self, call: Callable[[], _T], *, then: Callable[[], _T] | None = None) -> _T:
        """``call()``; if it fails with NOGROUP (a server restarted without its data, or a
        lane's stream deleted: the group is gone), make the group again, once, and run ``then``
        (``call`` again unless given); what was pending in the lost group went with it. Only a
        call that wrote nothing before the NOGROUP is run again (the take's script looks for
        both groups first; ``pending`` only reads): ``renew``'s pipeline without MULTI ran every
        command, so it passes a ``then`` that does not."""
        from redis.exceptions import ResponseError

        try:
            return call()
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
        self._make_group()
        return (call if then is None else then)()

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
        with _unavailable("RedisStreamQueue.put", self.name):
            if at:
                self._put_delayed(keys=[self.delayed, self._seq], args=[at, lane, body])
            else:
                self.r.xadd(f"{self.name}:{lane}", {"d": body})

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
                    keys=[self.delayed, *streams, self.cursors],
                    args=[now, n, self.group, self.consumer, idle_ms, CLAIM_CALLS],
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
        for lane, stream in enumerate(self.streams(self.name), start=2):
            # one call scans at most 10 x COUNT pending entries; a take makes CLAIM_CALLS of
            # them at most, and the next take goes on from where this one stopped
            cursor = _s(self.r.hget(self.cursors, lane) or b"0-0")
            calls, wrapped = 0, cursor == "0-0"
            while len(out) < n and calls < CLAIM_CALLS:
                claimed = self.r.xautoclaim(
                    stream, self.group, self.consumer, idle_ms, cursor, count=n - len(out)
                )
                for msg_id, fields in claimed[1]:
                    if fields:  # a deleted entry comes back without fields
                        out.append(((stream, _s(msg_id)), json.loads(_s(fields[_key(fields)]))))
                cursor, calls = _s(claimed[0]), calls + 1
                if cursor == "0-0":
                    if wrapped:
                        break
                    wrapped = True  # began mid-list: go on from the start, once
            self.r.hset(self.cursors, lane, cursor)
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

    def renew(self, tickets: Sequence[Hashable], now: float) -> None:
        """Reset the idle time of the taken messages still pending for this consumer
        (``XCLAIM ... 0 ... JUSTID`` of each one ``XPENDING`` still lists under this consumer:
        one script call per stream, in one round trip), so a take that lasts longer than
        ``claim_idle`` is not reclaimed by another consumer while this one is still at it
        (``now`` is checked, not used: the idle time is the server's). A message acked, or
        taken over by another consumer meanwhile (a renewal that came too late), is left as it
        is: a late renewal never takes work back from the consumer now at it. A server that is
        down raises :class:`~designpatterns_ref.notifications.QueueUnavailable`."""
        where = "RedisStreamQueue.renew"
        checked = self._tickets(where, tickets)
        check_now(where, now)
        per_stream: dict[str, list[str]] = {}
        for stream, msg_id in checked:
            per_stream.setdefault(stream, []).append(msg_id)
        if not per_stream:
            return

        def run() -> list[Any]:
            pipe = self.r.pipeline(transaction=False)
            for stream, ids in per_stream.items():
                self._renew(keys=[stream], args=[self.group, self.consumer, *ids], client=pipe)
            return cast(list[Any], pipe.execute())

        with _unavailable(where, self.name):
            self._regrouped(run, then=list)  # a group made anew has nothing pending

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

        When ``dedup`` is a :class:`~.redis_dedup.RedisDedup` on this queue's client, both go in one
        MULTI/EXEC: one round trip, and the sent marks and the ack land together. Any other
        window is settled first, then the take is acked (two calls). Everything is checked
        before anything is sent, so a refused call settles and acks nothing; a server that is
        down raises :class:`~designpatterns_ref.notifications.QueueUnavailable`. A MULTI/EXEC
        does not roll back: a server out of memory refuses the settle script inside it while
        the XACK and XDEL (which free memory) still run, and that raises ``QueueUnavailable``
        too, with the take acked and not settled. Calling ``ack_settled`` again settles it (the
        acks are no-ops by then): the :class:`~.send.Sender` does, before its next take. A key
        of the wrong type refuses the settle script the same way (it writes nothing) and raises
        :class:`~designpatterns_ref.notifications.NotificationError`: a misconfiguration,
        which waiting does not mend.
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


def _key(fields: dict[Any, Any]) -> Any:
    return b"d" if b"d" in fields else "d"
