"""Composites on Redis: several limiters decided by one script, all-or-nothing.

Case study: Design a Rate Limiter (docs/case-studies/rate-limiter.md)

:func:`all_of` over Redis limiters that share a client runs the composite script once per
decision: every part admits and consumes, or none does, across every process that shares
the keys (their ``{hash tag}`` puts them in one Cluster slot). Complexity: one round trip,
the sum of the parts on the server.

>>> all_of.__name__
'all_of'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from designpatterns_ref.errors import shown
from designpatterns_ref.ratelimit._redis_base import AsyncRedisLimiter, RedisLimiter, _args, _Base
from designpatterns_ref.ratelimit._redis_client import (
    _Call,
    _errors,
    _parse,
    _run,
    _run_async,
    _unencodable,
)
from designpatterns_ref.ratelimit.base import Decision, RateLimitError, check_cost
from designpatterns_ref.ratelimit.blocking import AcquiringAsync
from designpatterns_ref.ratelimit.composite import combine, flatten
from designpatterns_ref.ratelimit.memory import Acquiring
from designpatterns_ref.ratelimit.notation import (
    distinct_limits,
    parse_limits,
    resolve_algorithm,
    spec_args,
)

__all__ = ["AsyncAllOf", "RedisAllOf", "all_of", "limiter_from_text"]


class _Composite:
    def __init__(self, parts: Sequence[_Base], kind: type[_Base]) -> None:
        flat: list[_Base] = flatten(
            parts, _Composite, kind, f"a {kind.__name__}; an all-or-nothing composite needs "
            "every limiter in the same store (memory, Redis or asyncio Redis)",
        )  # fmt: skip
        first = flat[0]
        for part in flat[1:]:
            if part.client is not first.client or part.deadline != first.deadline:
                raise RateLimitError(
                    "all_of: every Redis limiter must share one client and one deadline"
                )
            if part.clock is not first.clock or part.ttl_slack != first.ttl_slack:
                raise RateLimitError("all_of: every Redis limiter must share clock and ttl_slack")
        names = [part.key_for("k") for part in flat]
        if len(set(names)) != len(names):
            raise RateLimitError("all_of: two limiters share a name; give each its own name=")
        self.limiters: tuple[Any, ...] = tuple(flat)
        self.limit = min(part.limit for part in flat)
        self._max_cost: int = min(part.model._max_cost for part in flat)
        self.clock = first.clock

    def _call(self, key: str | int, cost: object, mode: str) -> _Call:
        return _args(self.limiters, key, mode, check_cost("all_of", cost, self._max_cost))

    def _answer(self, reply: bytes | str) -> Decision:
        return combine(_parse(reply, len(self.limiters), self.limiters[0]._packed))

    def _fallback(self, exc: BaseException) -> Decision:
        return combine([part._fallback(exc) for part in self.limiters])

    def __repr__(self) -> str:
        return "redis.all_of(" + ", ".join(repr(p) for p in self.limiters) + ")"


class RedisAllOf(_Composite, Acquiring):
    """Several Redis limiters as one, decided by one script: all consume, or none does."""

    def __init__(self, *limiters: RedisLimiter | RedisAllOf) -> None:
        super().__init__(limiters, RedisLimiter)  # type: ignore[arg-type]

    def _decide(self, key: str | int, cost: int, mode: str) -> Decision:
        keys, argv = self._call(key, cost, mode)
        try:
            raw = _run(self.limiters[0]._redis, keys, argv)
        except _errors() as exc:
            return self._fallback(exc)
        except UnicodeEncodeError:
            raise _unencodable(self, key) from None
        return self._answer(raw)

    def allow(self, key: str | int, cost: int = 1) -> Decision:
        """Admit when every part admits, consuming from all; otherwise consume from none."""
        return self._decide(key, cost, "allow")

    def peek(self, key: str | int, cost: int = 1) -> Decision:
        """What :meth:`allow` would answer now, consuming nothing."""
        return self._decide(key, cost, "peek")

    def reset(self, key: str | int) -> None:
        """Forget ``key`` in every part (``on_error`` decides when Redis is away)."""
        names = [part.key_for(key) for part in self.limiters]
        try:
            self.limiters[0]._redis.delete(*names)
        except _errors() as exc:
            self.limiters[0]._reset_failed(exc)
        except UnicodeEncodeError:
            raise _unencodable(self, key) from None


class AsyncAllOf(_Composite, AcquiringAsync):
    """:class:`RedisAllOf` for asyncio."""

    def __init__(self, *limiters: AsyncRedisLimiter | AsyncAllOf) -> None:
        super().__init__(limiters, AsyncRedisLimiter)  # type: ignore[arg-type]

    async def _decide(self, key: str | int, cost: int, mode: str) -> Decision:
        keys, argv = self._call(key, cost, mode)
        try:
            raw = await _run_async(self.limiters[0]._redis, keys, argv)
        except _errors() as exc:
            return self._fallback(exc)
        except UnicodeEncodeError:
            raise _unencodable(self, key) from None
        return self._answer(raw)

    async def allow(self, key: str | int, cost: int = 1) -> Decision:
        """Admit when every part admits, consuming from all; otherwise consume from none."""
        return await self._decide(key, cost, "allow")

    async def peek(self, key: str | int, cost: int = 1) -> Decision:
        """What :meth:`allow` would answer now, consuming nothing."""
        return await self._decide(key, cost, "peek")

    async def reset(self, key: str | int) -> None:
        """Forget ``key`` in every part (``on_error`` decides when Redis is away)."""
        names = [part.key_for(key) for part in self.limiters]
        try:
            await self.limiters[0]._redis.delete(*names)
        except _errors() as exc:
            self.limiters[0]._reset_failed(exc)
        except UnicodeEncodeError:
            raise _unencodable(self, key) from None


def all_of(*limiters: Any) -> RedisAllOf | AsyncAllOf:
    """One Redis limiter, run as one script, that admits only when every part admits."""
    if limiters and all(isinstance(p, AsyncRedisLimiter | AsyncAllOf) for p in limiters):
        return AsyncAllOf(*limiters)
    return RedisAllOf(*limiters)


#: The Redis classes :func:`limiter_from_text` builds, by algorithm (the queue has no twin).
_CLASSES = {
    "token_bucket": "TokenBucket",
    "gcra": "GCRA",
    "leaky_bucket": "LeakyBucket",
    "fixed_window": "FixedWindow",
    "sliding_log": "SlidingWindowLog",
    "sliding_counter": "SlidingWindowCounter",
}


def limiter_from_text(
    client: Any, text: str, algorithm: str | type, *, name: str | None = None, **options: Any
) -> RedisAllOf | AsyncAllOf:
    """:func:`~designpatterns_ref.ratelimit.notation.limiter_from_text` on Redis: every limit in
    ``text`` as one script-decided limiter on ``client`` (``redis.Redis`` or
    ``redis.asyncio.Redis``). Each part is named ``name`` (default the algorithm) and its
    spec, e.g. ``"gcra 10/second"`` (a limit written twice is one part); ``options`` are the
    Redis limiters' (``clock``, ``prefix``, ``on_error``, ``ttl_slack``, ``deadline``)."""
    from designpatterns_ref.ratelimit import _redis_limiters

    chosen = resolve_algorithm("redis.limiter_from_text", algorithm)
    if chosen not in _CLASSES:
        raise RateLimitError(
            f"redis.limiter_from_text: algorithm={shown(algorithm)} has no Redis twin; choose one "
            f"of {', '.join(_CLASSES)}"
        )
    specs = distinct_limits(parse_limits(text))  # equal parts would share one name
    asynchronous = type(client).__module__.startswith("redis.asyncio")
    cls = getattr(_redis_limiters, ("Async" if asynchronous else "") + _CLASSES[chosen])
    base = chosen if name is None else name
    parts = [cls(client, *spec_args(chosen, s), name=f"{base} {s}", **options) for s in specs]
    return AsyncAllOf(*parts) if asynchronous else RedisAllOf(*parts)
