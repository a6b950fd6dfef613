"""The algorithms on Redis: the token bucket, GCRA, the leaky bucket, the windows, the cap.

Case study: Design a Rate Limiter (docs/case-studies/rate-limiter.md)

Each class is the Redis twin of the in-memory limiter of the same name, which it builds as
its ``model`` to check the arguments and to compute the constants its script reads; the
``Async*`` classes run the same scripts on ``redis.asyncio``. Complexity: see
:mod:`designpatterns_ref.ratelimit.redis`.

>>> TokenBucket._code, SlidingWindowLog._code
('tb', 'swl')
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any, Unpack

from designpatterns_ref.errors import shown
from designpatterns_ref.ratelimit import concurrency as _concurrency
from designpatterns_ref.ratelimit import fixed_window as _fixed
from designpatterns_ref.ratelimit import gcra as _gcra
from designpatterns_ref.ratelimit import leaky_bucket as _leaky
from designpatterns_ref.ratelimit import sliding_counter as _counter
from designpatterns_ref.ratelimit import sliding_log as _log
from designpatterns_ref.ratelimit import token_bucket as _bucket
from designpatterns_ref.ratelimit._redis_base import AsyncRedisLimiter, RedisLimiter, _args, _Base
from designpatterns_ref.ratelimit._redis_client import (
    RedisOptions,
    _Call,
    _errors,
    _parse,
    _run,
    _run_async,
    _token,
    _unencodable,
)
from designpatterns_ref.ratelimit.backend import BackendUnavailable
from designpatterns_ref.ratelimit.base import Decision, RateLimitError, RateLimitExceeded

__all__ = [
    "GCRA",
    "AsyncConcurrencyLimiter",
    "AsyncFixedWindow",
    "AsyncGCRA",
    "AsyncLeakyBucket",
    "AsyncSlidingWindowCounter",
    "AsyncSlidingWindowLog",
    "AsyncTokenBucket",
    "ConcurrencyLimiter",
    "FixedWindow",
    "LeakyBucket",
    "SlidingWindowCounter",
    "SlidingWindowLog",
    "TokenBucket",
]


#: Per script code, the in-memory algorithm the script mirrors (which checks the arguments)
#: and the names of the two constants its script reads, before the limit.
_BUCKET_MODELS: dict[str, tuple[type[Any], str, str]] = {
    "tb": (_bucket.TokenBucket, "_fill", "_burst"),
    "gcra": (_gcra.GCRA, "_speed", "_interval"),
    "leaky": (_leaky.LeakyBucket, "_leak", "_burst"),
}


def _bucket_spec(
    code: str, rate: float, per: float, burst: int | None
) -> tuple[Any, list[float], str]:
    cls, first, second = _BUCKET_MODELS[code]
    model = cls(rate, per, burst)
    params = [getattr(model, first), getattr(model, second), model.limit]
    return model, params, f"{rate:g}/{per:g}s:{model.burst}"


class _BucketShaped(_Base):
    """A limiter set by ``rate`` units per ``per`` seconds with bursts up to ``burst``."""

    def __init__(
        self,
        client: Any,
        rate: float,
        per: float = 1.0,
        burst: int | None = None,
        **options: Unpack[RedisOptions],
    ) -> None:
        super().__init__(client, *_bucket_spec(self._code, rate, per, burst), **options)


class _WindowShaped(_Base):
    """A limiter set by at most ``rate`` units per window of ``per`` seconds."""

    def __init__(
        self, client: Any, rate: int, per: float = 1.0, **options: Unpack[RedisOptions]
    ) -> None:
        super().__init__(client, *_window(_WINDOW_MODELS[self._code], rate, per), **options)


class TokenBucket(_BucketShaped, RedisLimiter):
    """:class:`~designpatterns_ref.ratelimit.token_bucket.TokenBucket` on Redis."""

    _code = "tb"


class AsyncTokenBucket(_BucketShaped, AsyncRedisLimiter):
    """:class:`TokenBucket` for asyncio."""

    _code = "tb"


class GCRA(_BucketShaped, RedisLimiter):
    """:class:`~designpatterns_ref.ratelimit.gcra.GCRA` on Redis (what redis-cell does)."""

    _code = "gcra"


class AsyncGCRA(_BucketShaped, AsyncRedisLimiter):
    """:class:`GCRA` for asyncio."""

    _code = "gcra"


class LeakyBucket(_BucketShaped, RedisLimiter):
    """:class:`~designpatterns_ref.ratelimit.leaky_bucket.LeakyBucket` on Redis."""

    _code = "leaky"


class AsyncLeakyBucket(_BucketShaped, AsyncRedisLimiter):
    """:class:`LeakyBucket` for asyncio."""

    _code = "leaky"


def _window(cls: Any, rate: int, per: float) -> tuple[Any, list[float], str]:
    model = cls(rate, per)
    return model, [model.rate, model.per], f"{rate}/{per:g}s"


#: Per script code, the in-memory algorithm the script mirrors.
_WINDOW_MODELS: dict[str, type[Any]] = {
    "fw": _fixed.FixedWindow,
    "swl": _log.SlidingWindowLog,
    "swc": _counter.SlidingWindowCounter,
}


class FixedWindow(_WindowShaped, RedisLimiter):
    """:class:`~designpatterns_ref.ratelimit.fixed_window.FixedWindow` on Redis."""

    _code = "fw"


class AsyncFixedWindow(_WindowShaped, AsyncRedisLimiter):
    """:class:`FixedWindow` for asyncio."""

    _code = "fw"


class SlidingWindowLog(_WindowShaped, RedisLimiter):
    """:class:`~designpatterns_ref.ratelimit.sliding_log.SlidingWindowLog` on Redis.

    The log is a Redis list of packed times, appended to on the right (``RPUSH``) and trimmed
    on the left (``LTRIM``), so an admitted request never copies it; a refusal reads a few
    entries with ``LINDEX``.
    """

    _code = "swl"


class AsyncSlidingWindowLog(_WindowShaped, AsyncRedisLimiter):
    """:class:`SlidingWindowLog` for asyncio."""

    _code = "swl"


class SlidingWindowCounter(_WindowShaped, RedisLimiter):
    """:class:`~designpatterns_ref.ratelimit.sliding_counter.SlidingWindowCounter` on Redis."""

    _code = "swc"


class AsyncSlidingWindowCounter(_WindowShaped, AsyncRedisLimiter):
    """:class:`SlidingWindowCounter` for asyncio."""

    _code = "swc"


def _cc(limit: int, lease: float) -> tuple[Any, list[float], str]:
    if lease is None:
        raise RateLimitError("ConcurrencyLimiter: lease=None is not allowed on Redis")
    model = _concurrency.ConcurrencyLimiter(limit, lease=lease)
    assert model.lease is not None
    return model, [model.limit, model.lease], f"{limit}:{lease:g}s"


def _short(reply: bytes | str, key: object, cost: int) -> None:
    words = reply.split()
    if words[0] in (b"short", "short"):
        held = int(words[1])
        raise RateLimitError(
            f"ConcurrencyLimiter.release: key={shown(key)} holds {held} live units, "
            f"cannot release cost={cost}"
        )


class _Concurrency(_Base):
    """What the sync and async concurrency caps share: the lease, and every step of ``release``
    and ``hold`` but the round trip itself."""

    _code = "conc"

    def __init__(
        self, client: Any, limit: int, *, lease: float = 60.0, **options: Unpack[RedisOptions]
    ) -> None:
        super().__init__(client, *_cc(limit, lease), **options)

    def _release_call(self, key: object, cost: object) -> tuple[int, list[str], list[bytes]]:
        """The units to give back, and the keys and arguments of the call that does it."""
        count = self._cost(cost)
        return (count, *_args([self], key, "release", count))

    def _release_failed(self, exc: BaseException) -> None:
        if self.on_error == "raise":
            raise BackendUnavailable(f"Redis unreachable: {exc}") from exc
        # otherwise the lease will free the hold

    def _hold_calls(self, key: object, cost: object) -> tuple[_Call, _Call]:
        """The arguments that take ``cost`` named holds of ``key``, and those that return them."""
        count, token = self._cost(cost), _token().encode()
        return _args([self], key, "allow", count, token), _args([self], key, "unhold", count, token)

    def _entered(self, reply: Any, exc: BaseException | None) -> Decision:
        """The hold's decision (from the reply, or the fallback); raise when it is refused."""
        decision = self._fallback(exc) if exc is not None else _parse(reply, 1, self._packed)[0]
        if not decision:
            raise RateLimitExceeded(decision)
        return decision


class ConcurrencyLimiter(_Concurrency, RedisLimiter):
    """:class:`~designpatterns_ref.ratelimit.concurrency.ConcurrencyLimiter` on Redis.

    The holds of a key live in one string, each hold its expiry and the token of the call that
    took it, in expiry order (40 bytes a hold; a sorted set would spend several times that and
    four commands a decision where this spends a ``GET`` and a ``SET``). ``lease`` is required
    here, because a process that dies holding a unit must not hold it forever.
    """

    def release(self, key: str | int, cost: int = 1) -> None:
        """Give back the ``cost`` oldest live holds of ``key`` (taken with :meth:`allow`)."""
        count, keys, argv = self._release_call(key, cost)
        try:
            raw = _run(self._redis, keys, argv, self._code)
        except _errors() as exc:
            return self._release_failed(exc)
        except UnicodeEncodeError:
            raise _unencodable(self, key) from None
        _short(raw, key, count)

    @contextlib.contextmanager
    def hold(self, key: str | int, cost: int = 1) -> Iterator[Decision]:
        """Hold ``cost`` units of ``key`` for the block; raise RateLimitExceeded if full."""
        (keys, argv), give_back = self._hold_calls(key, cost)
        try:
            reply, failure = _run(self._redis, keys, argv, self._code), None
        except _errors() as exc:
            reply, failure = None, exc
        except UnicodeEncodeError:
            raise _unencodable(self, key) from None
        decision = self._entered(reply, failure)
        try:
            yield decision
        finally:
            with contextlib.suppress(*_errors()):
                _run(self._redis, *give_back, self._code)


class AsyncConcurrencyLimiter(_Concurrency, AsyncRedisLimiter):
    """:class:`ConcurrencyLimiter` for asyncio (``async with limiter.hold(key):``)."""

    async def release(self, key: str | int, cost: int = 1) -> None:
        """Give back the ``cost`` oldest live holds of ``key`` (taken with :meth:`allow`)."""
        count, keys, argv = self._release_call(key, cost)
        try:
            raw = await _run_async(self._redis, keys, argv, self._code)
        except _errors() as exc:
            return self._release_failed(exc)
        except UnicodeEncodeError:
            raise _unencodable(self, key) from None
        _short(raw, key, count)

    @contextlib.asynccontextmanager
    async def hold(self, key: str | int, cost: int = 1) -> AsyncIterator[Decision]:
        """Hold ``cost`` units of ``key`` for the block; raise RateLimitExceeded if full."""
        (keys, argv), give_back = self._hold_calls(key, cost)
        try:
            reply, failure = await _run_async(self._redis, keys, argv, self._code), None
        except _errors() as exc:
            reply, failure = None, exc
        except UnicodeEncodeError:
            raise _unencodable(self, key) from None
        decision = self._entered(reply, failure)
        try:
            yield decision
        finally:
            with contextlib.suppress(*_errors()):
                await _run_async(self._redis, *give_back, self._code)
