"""Redis counter: the ticket server as one ``INCRBY`` on a Redis shared by the fleet.

Case study: Design a URL Shortener (bit.ly) (docs/case-studies/url-shortener.md)

``INCRBY key n`` is atomic on the server and returns the new value, so the block just taken
is ``[value - n, value)``: no two app servers can ever receive overlapping blocks, whatever
their number. Put a :class:`RedisCounter` behind a
:class:`~designpatterns_ref.shortcode.ranges.RangeAllocator` and each server pays one round
trip per block of codes. Durability is Redis's: with AOF ``appendfsync always`` the counter
survives a crash; with weaker settings a restarted Redis could hand out numbers again, which
is why a production counter either persists strictly or starts above the highest code stored.

redis-py is imported only when a URL is given (the ``redis`` extra). A redis-py client keeps a
connection pool, so one counter may be shared between threads.

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

from typing import Any

from designpatterns_ref.shortcode.base import ShortCodeError

__all__ = ["RedisCounter"]


class RedisCounter:
    """A :class:`~designpatterns_ref.shortcode.base.Counter` kept in Redis under ``key``.

    ``client`` is a redis-py client (or anything with ``incrby``), or a ``redis://`` URL.
    """

    def __init__(self, client: Any, key: str = "shortcode:counter") -> None:
        if isinstance(client, str):
            import redis

            client = redis.Redis.from_url(client)
        if not callable(getattr(client, "incrby", None)):
            raise ShortCodeError(f"RedisCounter: client={client!r} has no incrby method")
        if not isinstance(key, str) or not key:
            raise ShortCodeError(f"RedisCounter: key={key!r} must be a non-empty str")
        self.client = client
        self.key = key

    def __repr__(self) -> str:
        return f"RedisCounter(key={self.key!r})"

    def reserve(self, n: int) -> int:
        """Take ``n`` numbers with one ``INCRBY``; return the first."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ShortCodeError(f"RedisCounter.reserve: n={n!r} must be an int >= 1")
        return int(self.client.incrby(self.key, n)) - n
