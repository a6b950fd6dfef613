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

import asyncio
import contextlib
import time
from collections import deque
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
from designpatterns_ref.ratelimit.base import Decision, RateLimitError, RateLimitExceeded, exact

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
    return model, params, f"{exact(model.rate)}/{exact(model.per)}s:{model.burst}"


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
    return model, [model.rate, model.per], f"{model.rate}/{exact(model.per)}s"


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
    return model, [model.limit, model.lease], f"{model.limit}:{exact(model.lease)}s"


def _short(reply: bytes | str, key: object, cost: int) -> None:
    words = reply.split()
    if words[0] in (b"short", "short"):
        held = int(words[1])
        raise RateLimitError(
            f"ConcurrencyLimiter.release: key={shown(key)} holds {held} live units taken with "
            f"allow, cannot release cost={cost}"
        )


class _Concurrency(_Base):
    """What the sync and async concurrency caps share: the lease, and every step of ``release``
    and ``hold`` but the round trip itself.

    A hold's call that fails (a timeout, a connection lost) may still reach the server and
    take its holds there, so the hold gives them back at once, naming them by the call's token
    (harmless when they were never taken); when that cannot be sent either, the give-back is
    owed, and sent before this limiter's next call (or dropped once the lease has freed them).
    """

    _code = "conc"

    def __init__(
        self, client: Any, limit: int, *, lease: float = 60.0, **options: Unpack[RedisOptions]
    ) -> None:
        super().__init__(client, *_cc(limit, lease), **options)
        # (when the lease frees them, give-back): appended and taken one at a time, each step
        # atomic, so a give-back owed by one thread while another sends them is never lost
        self._owed: deque[tuple[float, _Call]] = deque()

    def _owe(self, call: _Call) -> None:
        assert self.model.lease is not None
        self._owed.append((time.monotonic() + self.model.lease, call))

    def _owed_now(self) -> list[_Call]:
        """The give-backs still owed (taken off the list: those that fail again go back)."""
        owed, take = [], self._owed.popleft
        while True:
            try:
                owed.append(take())
            except IndexError:
                break
        now = time.monotonic()
        return [call for until, call in owed if until > now]

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
        """Give back the ``cost`` oldest live units of ``key`` taken with :meth:`allow` (never a
        live hold's); RateLimitError, changing nothing, when it has fewer."""
        count, keys, argv = self._release_call(key, cost)
        if self._owed:
            self._pay()
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
        if self._owed:
            self._pay()
        try:
            reply, failure = _run(self._redis, keys, argv, self._code), None
        except _errors() as exc:
            reply, failure = None, exc
        except UnicodeEncodeError:
            raise _unencodable(self, key) from None
        except BaseException:  # interrupted: the call may still reach the server
            self._give_back(give_back, owe=True)
            raise
        if failure is not None:  # a call that failed may still be applied: undo it too
            self._give_back(give_back, owe=True)
        decision = self._entered(reply, failure)
        try:
            yield decision
        finally:
            self._give_back(give_back)

    def _give_back(self, call: _Call, owe: bool = False) -> None:
        """Remove the holds a hold's call took, if it took any (the call names them by its
        token, so sending it twice, or before they exist, is harmless); when it cannot be
        sent and ``owe``, send it before the next call."""
        try:
            _run(self._redis, *call, self._code)
        except _errors():
            if owe:
                self._owe(call)

    def _pay(self) -> None:
        """Send the give-backs owed, keeping those that fail again."""
        for call in self._owed_now():
            self._give_back(call, owe=True)

    def _decide(self, key: object, cost: object, mode: str) -> Decision:
        if self._owed:
            self._pay()
        return super()._decide(key, cost, mode)


class AsyncConcurrencyLimiter(_Concurrency, AsyncRedisLimiter):
    """:class:`ConcurrencyLimiter` for asyncio (``async with limiter.hold(key):``)."""

    async def release(self, key: str | int, cost: int = 1) -> None:
        """Give back the ``cost`` oldest live units of ``key`` taken with :meth:`allow` (never a
        live hold's); RateLimitError, changing nothing, when it has fewer."""
        count, keys, argv = self._release_call(key, cost)
        if self._owed:
            await self._pay()
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
        if self._owed:
            await self._pay()
        try:
            reply, failure = await _run_async(self._redis, keys, argv, self._code), None
        except _errors() as exc:
            reply, failure = None, exc
        except UnicodeEncodeError:
            raise _unencodable(self, key) from None
        except BaseException:  # cancelled: the call may still reach the server
            await self._give_back(give_back, owe=True)
            raise
        if failure is not None:  # a call that failed may still be applied: undo it too
            await self._give_back(give_back, owe=True)
        decision = self._entered(reply, failure)
        try:
            yield decision
        finally:
            await self._give_back(give_back)

    async def _give_back(self, call: _Call, owe: bool = False) -> None:
        """Remove the holds a hold's call took, as in the sync limiter; shielded, so that a
        task cancelled in its block (or while taking the hold) still gives them back."""
        try:
            await asyncio.shield(_run_async(self._redis, *call, self._code))
        except _errors():
            if owe:
                self._owe(call)

    async def _pay(self) -> None:
        """Send the give-backs owed, keeping those that fail again."""
        for call in self._owed_now():
            await self._give_back(call, owe=True)

    async def _decide(self, key: object, cost: object, mode: str) -> Decision:
        if self._owed:
            await self._pay()
        return await super()._decide(key, cost, mode)
