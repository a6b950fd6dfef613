"""Redis counter: the ticket server as one ``INCRBY`` on a Redis shared by the fleet.

Case study: Design a URL Shortener (bit.ly) (docs/case-studies/url-shortener.md)

``INCRBY key n`` is atomic on the server and returns the new value, so the block just taken
is ``[value - n, value)``: no two app servers can ever receive overlapping blocks, whatever
their number. A reservation below a bound (``reserve(n, limit=L)``, which a
:class:`~designpatterns_ref.shortcode.ranges.RangeAllocator` with a fixed ``width`` makes) runs
as one Lua script instead, so the check against ``L`` and the move are one atomic step.
Put a :class:`RedisCounter` behind a
:class:`~designpatterns_ref.shortcode.ranges.RangeAllocator` and each server pays one round
trip per block of codes. Durability is Redis's: with AOF ``appendfsync always`` the counter
survives a crash; with weaker settings a restarted Redis could hand out numbers again, which
is why a production counter either persists strictly or starts above the highest code stored.

redis-py is imported only when a URL is given (the ``redis`` extra). A redis-py client keeps a
connection pool, so one counter may be shared between threads.

Failure time: the counter talks through its own client made from the URL, or a twin of your
client with its settings (shared by every counter on that client with the same deadline), built
so that a round trip waits at most ``deadline`` seconds (default 0.25) with
no retries; with the server down or frozen, ``reserve`` raises
:class:`~designpatterns_ref.shortcode.base.ShortCodeUnavailable` within about ``deadline``
(see :mod:`designpatterns_ref.redisclient`). Like every counter it stops at ``COUNTER_MAX``
(2**63 - 1, where Redis's ``INCRBY`` stops too): a reservation past it raises
:class:`~designpatterns_ref.shortcode.base.SpaceExhausted` and changes nothing.

Complexity: O(1) per block, one round trip.

>>> class FakeClient:  # any object with incrby(key, n) works; tests use a real server
...     value = 0
...     def incrby(self, key, n):
...         self.value += n
...         return self.value
>>> counter = RedisCounter(FakeClient(), key="links")
>>> counter.reserve(100), counter.reserve(100)
(0, 100)
"""

from __future__ import annotations

import sys
from typing import Any

from designpatterns_ref.errors import shown
from designpatterns_ref.redisclient import (
    DEFAULT_DEADLINE_S,
    bounded_client,
    check_deadline,
    is_cluster,
    outages_as,
)
from designpatterns_ref.shortcode.base import (
    ShortCodeError,
    ShortCodeUnavailable,
    SpaceExhausted,
)
from designpatterns_ref.shortcode.ranges import COUNTER_MAX, _check_limit, _check_n
from designpatterns_ref.shortcode.store import check_code

__all__ = ["RedisCounter"]


@outages_as(ShortCodeUnavailable, "reserve")
class RedisCounter:
    """A :class:`~designpatterns_ref.shortcode.base.Counter` kept in Redis under ``key``.

    ``client`` is a redis-py client (or anything with ``incrby``), or a ``redis://`` URL; a
    redis-py client or URL gets the ``deadline`` (seconds per round trip, no retries).
    """

    def __init__(
        self, client: Any, key: str = "shortcode:counter", *, deadline: float = DEFAULT_DEADLINE_S
    ) -> None:
        self.deadline = check_deadline("RedisCounter", deadline, ShortCodeError)
        if not isinstance(key, str) or not key:
            raise ShortCodeError(f"RedisCounter: key={shown(key)} must be a non-empty str")
        check_code("RedisCounter", key)  # a key Redis can store (no lone surrogate)
        if isinstance(client, str):
            try:
                client = bounded_client(client, self.deadline)
            except ValueError as exc:
                raise ShortCodeError(
                    f"RedisCounter: client={shown(client)} is not a Redis URL: {exc}"
                ) from None
        elif "redis" in sys.modules and (
            isinstance(client, sys.modules["redis"].Redis) or is_cluster(client)
        ):
            client = bounded_client(client, self.deadline)
        if not callable(getattr(client, "incrby", None)):
            raise ShortCodeError(f"RedisCounter: client={shown(client)} has no incrby method")
        self.client = client
        self.key = key

    def __repr__(self) -> str:
        return f"RedisCounter(key={self.key!r})"

    def reserve(self, n: int, limit: int | None = None) -> int:
        """Take up to ``n`` numbers, all below ``limit``; return the first.

        Without a bound: one ``INCRBY``. With one: one Lua script (atomic on the server) that
        reads the counter, refuses when it is at ``limit`` or past it, and otherwise moves it
        to ``min(first + n, limit)``; the script compares the numbers as decimal strings, since
        Lua's numbers are doubles and a counter may pass 2**53.
        """
        _check_n("RedisCounter.reserve", n)
        bound = _check_limit("RedisCounter.reserve", limit)
        if bound is not None:
            return self._reserve_below(n, bound)
        try:
            value = int(self.client.incrby(self.key, n))
        except Exception as exc:
            # INCRBY refuses, and changes nothing, when the result would pass 2**63 - 1.
            if type(exc).__name__ == "ResponseError" and "overflow" in str(exc):
                raise SpaceExhausted(
                    f"RedisCounter.reserve: n={n} would pass the counter's maximum COUNTER_MAX "
                    f"({COUNTER_MAX}); the counter is unchanged"
                ) from None
            raise
        return value - n

    def _reserve_below(self, n: int, limit: int) -> int:
        if not callable(getattr(self.client, "eval", None)):
            raise ShortCodeError(
                f"RedisCounter.reserve: limit={limit} needs a client with eval (a Lua script "
                f"keeps the bound atomic); client={shown(self.client, 80)} has none"
            )
        taken, first = self.client.eval(_RESERVE_BELOW, 1, self.key, str(n), str(limit))
        first = int(first)
        if not int(taken):
            raise SpaceExhausted(
                f"RedisCounter.reserve: the counter is at {first}, so no number is below "
                f"limit={limit}; the counter is unchanged"
            )
        return first


# KEYS[1] the counter; ARGV[1] n, ARGV[2] limit (decimal, limit <= COUNTER_MAX). Returns
# {0, first} when first >= limit (nothing changed), else {1, first} after moving the counter
# to min(first + n, limit). Numbers stay strings: below() compares non-negative decimals
# (a counter set negative by hand is below any limit); INCRBY's own overflow check covers
# first + n > 2**63 - 1, which with limit <= COUNTER_MAX means the block is cut to limit.
_RESERVE_BELOW = """
local function below(x, limit)
  if string.sub(x, 1, 1) == '-' then return true end
  if #x ~= #limit then return #x < #limit end
  return x < limit
end
local first = redis.call('GET', KEYS[1]) or '0'
if not string.match(first, '^%-?%d+$') then
  return redis.error_reply('ERR value is not an integer or out of range')
end
if not below(first, ARGV[2]) then return {0, first} end
local moved = redis.pcall('INCRBY', KEYS[1], ARGV[1])
if type(moved) == 'table' and moved.err then
  if not string.find(moved.err, 'overflow') then return moved end
  redis.call('SET', KEYS[1], ARGV[2])
  return {1, first}
end
if not below(redis.call('GET', KEYS[1]), ARGV[2]) then redis.call('SET', KEYS[1], ARGV[2]) end
return {1, first}
"""
