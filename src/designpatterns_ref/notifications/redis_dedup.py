"""The dedup window on Redis: a claim with a lease before each send, a ``sent`` mark after it.

Case study: Design a Push Notification System (docs/case-studies/push-notifications.md)

The queue (:class:`~designpatterns_ref.notifications.redis_streams.RedisStreamQueue`) delivers
at least once: a message a crashed worker had taken comes back. The send stage's window keeps
such a replay from reaching the phone again. A message's key holds the sending worker's owner
token for ``lease`` seconds while it sends, then ``sent`` for ``window`` seconds, both timed by
the server; every step is one Lua script, which checks its keys' types before its first write
(Redis does not undo the writes of a script that fails midway), so it runs whole or not at all.
For a take of many messages, one script call claims them all before the provider calls
(:meth:`RedisDedup.claim_many`), one renews them when the take outlasts half the lease
(:meth:`RedisDedup.extend`: only keys still holding the owner's token), and one settles them
after (:meth:`RedisDedup.settle`), which the queue folds into the same MULTI/EXEC as its ack
(:meth:`~designpatterns_ref.notifications.redis_streams.RedisStreamQueue.ack_settled`).

Trade-off: a worker killed between the first provider ok of a take and the settle leaves the
one window where the phone sees messages twice (at most the take's size); a lease shorter than
a provider call lets two workers send one message.

Complexity: O(1) per message and one round trip per step; O(take) in one round trip per take.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Sequence
from typing import Any, cast

from designpatterns_ref.errors import shown
from designpatterns_ref.notifications.base import (
    NotificationError,
    QueueUnavailable,
    check_seconds,
)
from designpatterns_ref.redisclient import bounded_client

__all__ = ["RedisDedup"]

# Redis does not undo a script's earlier writes when a later command fails, so a script that
# writes checks first that each of its keys is free or holds the type it uses (a wrong type is
# refused with a WRONGTYPE error before any write). ``wrong_type(first, want)`` checks
# ``KEYS[first..#KEYS]``; ``wrong_type(first, want, last)`` stops at ``last``.
_TYPES = """
local function wrong_type(first, want, last)
  for i = first, last or #KEYS do
    local t = redis.call('TYPE', KEYS[i])['ok']
    if t ~= 'none' and t ~= want then
      return redis.error_reply('WRONGTYPE ' .. KEYS[i] .. ' holds a ' .. t .. ', not a ' .. want)
    end
  end
end
"""

_CLAIM = """
local v = redis.call('GET', KEYS[1])
if v == 'sent' then return 'delivered' end
if v then return 'busy' end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 'claimed'
"""

_CONFIRM = (
    _TYPES
    + """
local e = wrong_type(1, 'string', 1) or wrong_type(2, 'list')
if e then return e end
redis.call('SET', KEYS[1], 'sent', 'PX', ARGV[2])
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[3]), -1)
return 1
"""
)

# The claim of every message of one take, in take order: an id twice in the take sees its own
# first claim and is "b" (busy), so it is never sent twice. One letter per key: d, b or c.
# ARGV: the owner, the lease in ms, and "renew" to renew instead: a take that outlasts half the
# lease renews its claims, so a key still holding this owner's token gets a fresh lease
# (PEXPIRE) and is "c"; a key whose claim ran out is claimed again either way.
_CLAIM_MANY = (
    _TYPES
    + """
local e = wrong_type(1, 'string')
if e then return e end
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
)

# KEYS: the deliveries list, the keys to confirm, then the keys to release. ARGV: the owner, the
# window in ms, how many to confirm, how many deliveries the list keeps, then the ids to confirm.
# Confirms first, then releases (a release never drops a sent mark, nor another owner's claim).
_SETTLE = (
    _TYPES
    + """
local e = wrong_type(1, 'list', 1) or wrong_type(2, 'string')
if e then return e end
local n = tonumber(ARGV[3])
for i = 2, n + 1 do
  redis.call('SET', KEYS[i], 'sent', 'PX', ARGV[2])
end
for i = 5, n + 4, 1000 do  -- RPUSH in slices: unpack has a stack limit
  redis.call('RPUSH', KEYS[1], unpack(ARGV, i, math.min(i + 999, n + 4)))
end
if n > 0 then redis.call('LTRIM', KEYS[1], -tonumber(ARGV[4]), -1) end
for i = n + 2, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then redis.call('DEL', KEYS[i]) end
end
return n
"""
)

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _store_failure(exc: Exception) -> bool:
    """Is ``exc`` the server failing (down, timing out, refusing a write), not a bad call?"""
    from redis.exceptions import RedisError

    return isinstance(exc, RedisError | OSError)


def _wrong_type(exc: Exception) -> bool:
    """Is ``exc`` the server refusing a command on a key that holds another type of value?"""
    from redis.exceptions import ResponseError

    return isinstance(exc, ResponseError) and "WRONGTYPE" in str(exc)


@contextlib.contextmanager
def _unavailable(where: str, name: str) -> Iterator[None]:
    """Raise the server failing in the block as :class:`~.base.QueueUnavailable`, and a key of
    the wrong type (WRONGTYPE: a misconfiguration, which waiting does not mend) as
    :class:`~.base.NotificationError`."""
    try:
        yield
    except Exception as exc:
        if _wrong_type(exc):
            raise NotificationError(
                f"{where}: {shown(name)}: a key holds the wrong type of value: {exc}"
            ) from exc
        if _store_failure(exc):
            raise QueueUnavailable(f"{where}: {shown(name)}: {exc}") from exc
        raise


def _client(redis: Any) -> Any:
    if isinstance(redis, str):
        return bounded_client(redis, deadline=5.0)
    return redis


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


_CLAIM_WORDS = {"d": "delivered", "b": "busy", "c": "claimed"}


class RedisDedup:
    """The dedup window on Redis: a claim with a lease before the send, ``sent`` after it.

    A message's key holds this instance's owner token for ``lease`` seconds while it sends, then
    ``sent`` for ``window`` seconds (both timed by the server, in milliseconds). One message at a
    time, each step is one Lua script: :meth:`claim`, :meth:`confirm`, :meth:`release` (the
    readable reference). A take at a time, :meth:`claim_many` claims every id in one script call
    with the same answers as calling :meth:`claim` on each in order, :meth:`settle` confirms
    and releases them all in another, and :meth:`extend` renews the claims of a slow take.
    ``delivered()`` lists the latest ``keep`` confirmed ids (an audit log beside the dedup
    record, trimmed in the script that appends to it, so it never grows past ``keep``; what
    reached the phone is counted at the provider). While the server is down every method raises
    :class:`~designpatterns_ref.notifications.QueueUnavailable` and changes nothing (each step is
    one script call), as the queues do. A key of the wrong type (the deliveries list, or a
    message's key, holding another type of value: a misconfiguration) raises
    :class:`~designpatterns_ref.notifications.NotificationError` and changes nothing either:
    Redis does not undo a script's earlier writes when a later command fails, so each script
    that writes checks the types of all its keys before its first write.
    """

    def __init__(
        self,
        redis: Any,
        prefix: str,
        *,
        window: float = 86400.0,
        lease: float = 30.0,
        keep: int = 100_000,
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
        if isinstance(keep, bool) or not isinstance(keep, int) or not 1 <= keep <= 2**31:
            raise NotificationError(
                f"RedisDedup: keep={shown(keep)} must be an int in [1, 2**31] (the deliveries "
                "the log keeps)"
            )
        self.keep = keep
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
            self._confirm(
                keys=[key, self.deliveries], args=[message_id, self._window_ms, self.keep]
            )

    def _settle_call(
        self, where: str, confirmed: object, released: object
    ) -> tuple[list[str], list[object]]:
        sent = self._keys(where, "confirmed", confirmed)
        dropped = self._keys(where, "released", released)
        ids = list(cast(Sequence[str], confirmed))
        args = [self.owner, self._window_ms, len(ids), self.keep, *ids]
        return [self.deliveries, *sent, *dropped], args

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
        """The latest confirmed deliveries (at most ``keep``), oldest first."""
        with _unavailable("RedisDedup.delivered", self.prefix):
            return [_s(v) for v in self.r.lrange(self.deliveries, 0, -1)]
