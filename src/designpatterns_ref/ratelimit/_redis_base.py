"""The Redis limiters' shared base: validation, keys, one script call per decision.

Case study: Design a Rate Limiter (docs/case-studies/rate-limiter.md)

:class:`RedisLimiter` (for ``redis.Redis``) and :class:`AsyncRedisLimiter` (for
``redis.asyncio.Redis``) hold no mutable state of their own: each decision packs its
arguments, runs the algorithm's Lua script once and unpacks the reply (see
:mod:`designpatterns_ref.ratelimit.redis`). Complexity: one round trip per decision.

>>> RedisLimiter.allow.__doc__.split(",")[0]
'Admit or deny a request of ``cost`` units for ``key``'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from designpatterns_ref.clock import Clock, ManualClock, read_seconds
from designpatterns_ref.errors import shown
from designpatterns_ref.ratelimit._redis_client import (
    _ANONYMOUS,
    _HEAD,
    _KEY_TAGS,
    _MODES,
    _REPLY,
    DEFAULT_DEADLINE,
    DEFAULT_TTL_SLACK,
    SIMULATED_TTL_SLACK,
    _Call,
    _check_cluster,
    _check_deadline,
    _clean_text,
    _errors,
    _is_cluster,
    _packed_replies,
    _parse,
    _run,
    _run_async,
    _spec,
    _unencodable,
    bounded,
)
from designpatterns_ref.ratelimit.backend import OnError, check_on_error, fallback
from designpatterns_ref.ratelimit.base import (
    Decision,
    RateLimitError,
    check_cost,
    check_positive,
    new_decision,
    plain_key,
)
from designpatterns_ref.ratelimit.blocking import AcquiringAsync
from designpatterns_ref.ratelimit.memory import Acquiring

__all__ = ["AsyncRedisLimiter", "RedisLimiter"]


class _Base:
    """What the sync and async limiters share: validation, keys, arguments, parsing."""

    _code = ""

    def __init__(
        self,
        client: Any,
        model: Any,
        params: Sequence[float],
        default_name: str,
        *,
        clock: Clock | None = None,
        prefix: str = "ratelimit",
        name: str | None = None,
        on_error: OnError = "deny",
        ttl_slack: float | None = None,
        deadline: float | None = DEFAULT_DEADLINE,
    ) -> None:
        owner = type(self).__name__
        on_error = check_on_error(owner, on_error)
        for label, text in (("prefix", prefix), ("name", "-" if name is None else name)):
            if not _clean_text(text):
                raise RateLimitError(
                    f"{owner}: {label}={shown(text, 80)} must be a string of 1 to 200 characters, "
                    "valid text without braces"
                )
        if clock is not None and not callable(clock):
            raise RateLimitError(f"{owner}: clock={shown(clock)} must be callable or None")
        if ttl_slack is None:  # an expiry runs in real time, which a ManualClock does not follow
            ttl_slack = SIMULATED_TTL_SLACK if isinstance(clock, ManualClock) else DEFAULT_TTL_SLACK
        if not (ttl_slack.__class__ in (int, float) and ttl_slack == 0):
            ttl_slack = check_positive(owner, "ttl_slack", ttl_slack)
        self.deadline = _check_deadline(owner, deadline)
        if not hasattr(client, "evalsha") or not hasattr(client, "delete"):
            raise RateLimitError(
                f"{owner}: client={shown(client, 80)} must be a redis-py client (redis.Redis, "
                "redis.asyncio.Redis or a RedisCluster)"
            )
        if self.deadline is None:
            self._redis = client
        elif _is_cluster(client):
            _check_cluster(owner, client, self.deadline)
            self._redis = client
        else:
            self._redis = bounded(client, self.deadline, owner)
        self.client = client
        self.model = model
        self.clock = clock
        self.limit: int = model.limit
        self.name = name if name is not None else default_name
        self.prefix = prefix
        self.on_error: OnError = on_error
        self.ttl_slack = float(ttl_slack)
        self._spec = _spec(self._code, params)
        self._key_tag = _KEY_TAGS.get(self._code, self._code)
        self._packed = _packed_replies(self._redis)
        self._form = {
            mode: code + (b"b" if self._packed else b"t") for mode, code in _MODES.items()
        }

    def key_for(self, key: object) -> str:
        """The Redis key holding ``key``'s state: ``prefix:{key}:algorithm:name``.

        A key that is empty or starts with ``}`` is ``prefix:"{"key}:algorithm:name``: in
        ``{}`` or ``{}...}`` Redis Cluster finds no hash tag (the first ``}`` closes an empty
        one), so it would hash each whole name and scatter one client's limits over several
        slots; ``"`` is their tag instead, and as no other key's name starts ``prefix:"``,
        each such key still has names of its own. An int key is ``prefix:#{key}:...``, so that
        ``7`` and ``"7"`` are two keys, as in memory and on SQLite (no str key's name starts
        ``prefix:#``), in the same slot. A key of a str or int subclass (an enum member) is
        its plain value's key, as in memory.
        """
        if key.__class__ is not str:
            key = plain_key(key)
        if key.__class__ is not str and (
            isinstance(key, bool) or not isinstance(key, str | int) or not -(2**63) <= key < 2**64  # type: ignore[operator]
        ):
            raise RateLimitError(
                f"{type(self).__name__}: key={shown(key, 80)} must be a str or an int (64 bits) on "
                "Redis"
            )
        if key.__class__ is not str:  # an int
            return f"{self.prefix}:#{{{key}}}:{self._key_tag}:{self.name}"
        if key == "" or key[0] == "}":
            return f'{self.prefix}:"{{"{key}}}:{self._key_tag}:{self.name}'
        return f"{self.prefix}:{{{key}}}:{self._key_tag}:{self.name}"

    def _cost(self, cost: object) -> int:
        if cost.__class__ is int and 1 <= cost <= self.model._max_cost:
            return cost
        return check_cost(type(self).__name__, cost, self.model._max_cost)

    def _now(self) -> float:
        """The caller's clock, or NaN: the script then reads the server's."""
        if self.clock is None:
            return math.nan
        return read_seconds(self.clock, RateLimitError, type(self).__name__)

    def _head(self, mode: str, cost: int, token: bytes = _ANONYMOUS) -> bytes:
        return _HEAD.pack(self._form[mode], self._now(), cost, self.ttl_slack) + token

    def _call(self, key: object, cost: object, mode: str) -> _Call:
        """The keys and arguments of one single-limiter call (what :func:`_args` builds for
        one limiter, without its loops: this is every decision's path)."""
        return [self.key_for(key)], [self._head(mode, self._cost(cost)) + self._spec]

    def _answer(self, reply: bytes | str) -> Decision:
        """The Decision in a single-limiter reply (limit and delay are known here)."""
        if self._packed:
            allowed, _, left, retry, reset, _ = _REPLY.unpack(reply)  # type: ignore[arg-type]
            return new_decision(
                Decision, (allowed == 1.0, self.limit, int(left), retry, reset, 0.0)
            )
        return _parse(reply, 1, False)[0]

    def _reset_failed(self, exc: BaseException) -> None:
        """A reset that could not reach Redis: raise for ``"raise"``, else skip it (the key
        expires on its own)."""
        if self.on_error == "raise":
            fallback("raise", self.limit, exc, "Redis")

    def _fallback(self, exc: BaseException) -> Decision:
        return fallback(self.on_error, self.limit, exc, "Redis")

    def __repr__(self) -> str:
        return f"<redis {self.model!r} name={self.name!r}>"


def _args(
    limiters: Sequence[_Base], key: object, mode: str, cost: int, token: bytes = _ANONYMOUS
) -> _Call:
    keys = [part.key_for(key) for part in limiters]
    head = limiters[0]._head(mode, cost, token)
    return keys, [head + b"".join(part._spec for part in limiters)]


class RedisLimiter(_Base, Acquiring):
    """Base of the synchronous Redis limiters (give it a ``redis.Redis``)."""

    def _decide(self, key: object, cost: object, mode: str) -> Decision:
        keys, argv = self._call(key, cost, mode)
        try:
            reply = _run(self._redis, keys, argv, self._code)
        except _errors() as exc:
            return self._fallback(exc)
        except UnicodeEncodeError:
            raise _unencodable(self, key) from None
        return self._answer(reply)

    def allow(self, key: str | int, cost: int = 1) -> Decision:
        """Admit or deny a request of ``cost`` units for ``key``, consuming on admission."""
        return self._decide(key, cost, "allow")

    def peek(self, key: str | int, cost: int = 1) -> Decision:
        """What :meth:`allow` would answer now, consuming nothing."""
        return self._decide(key, cost, "peek")

    def reset(self, key: str | int) -> None:
        """Forget ``key``: delete its Redis key (``on_error`` decides when Redis is away)."""
        name = self.key_for(key)
        try:
            self._redis.delete(name)
        except _errors() as exc:
            self._reset_failed(exc)
        except UnicodeEncodeError:
            raise _unencodable(self, key) from None


class AsyncRedisLimiter(_Base, AcquiringAsync):
    """Base of the asyncio Redis limiters (give it a ``redis.asyncio.Redis``)."""

    async def _decide(self, key: object, cost: object, mode: str) -> Decision:
        keys, argv = self._call(key, cost, mode)
        try:
            reply = await _run_async(self._redis, keys, argv, self._code)
        except _errors() as exc:
            return self._fallback(exc)
        except UnicodeEncodeError:
            raise _unencodable(self, key) from None
        return self._answer(reply)

    async def allow(self, key: str | int, cost: int = 1) -> Decision:
        """Admit or deny a request of ``cost`` units for ``key``, consuming on admission."""
        return await self._decide(key, cost, "allow")

    async def peek(self, key: str | int, cost: int = 1) -> Decision:
        """What :meth:`allow` would answer now, consuming nothing."""
        return await self._decide(key, cost, "peek")

    async def reset(self, key: str | int) -> None:
        """Forget ``key``: delete its Redis key (``on_error`` decides when Redis is away)."""
        name = self.key_for(key)
        try:
            await self._redis.delete(name)
        except _errors() as exc:
            self._reset_failed(exc)
        except UnicodeEncodeError:
            raise _unencodable(self, key) from None
