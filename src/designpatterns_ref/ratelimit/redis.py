"""The rate limiters on Redis: the counter lives where every server sees it.

Case study: Design a Rate Limiter (docs/case-studies/rate-limiter.md)

Each class here is the Redis twin of the in-memory limiter of the same name (all but the
queue), with the same constructor arguments after the client and the same
``allow`` / ``peek`` / ``reset`` interface. Every decision is one ``EVALSHA`` of a Lua
script (:mod:`._lua`: one per algorithm, one for composites): atomic on the server, one
round trip, and loaded on first use (a ``NOSCRIPT`` reply after a restart or failover
reloads it and retries once).

- **Keys** are ``prefix:{key}:algorithm:name``: the ``{hash tag}`` puts every limit of one
  client in the same Redis Cluster slot, so :func:`all_of` can run them in one script. Every
  key expires once its state is back to "never seen" (plus ``ttl_slack`` seconds).
- **Time** comes from the Redis server (``TIME``) by default, so application servers with
  skewed clocks still agree; pass ``clock=`` to use the limiter's own clock instead (for
  deterministic tests, or to keep ``retry_after`` in the caller's time).
- **Failure**: when Redis cannot be reached, ``on_error`` decides: ``"deny"`` (fail closed:
  protect the backend, refuse everyone), ``"allow"`` (fail open: keep serving, unlimited) or
  ``"raise"`` (:class:`BackendUnavailable`; the caller decides). ``reset`` follows it too
  (with ``"deny"`` or ``"allow"`` a reset that cannot reach Redis is skipped: the key
  expires on its own).
- **Deadline**: each decision has one of its own, ``deadline`` seconds (default
  :data:`DEFAULT_DEADLINE`, 50 ms). A limiter does not use the client it is given as it
  is: redis-py retries a failed command with backoff (seconds per decision when the server
  is down or frozen), so the limiter talks through a bounded twin of that client, with the
  same address and options, connect and read timeouts of half the deadline each, and no
  retries (limiters given the same client and deadline share one twin and its pool). A
  killed or frozen server then reaches ``on_error`` within about the deadline. A cluster
  client (``RedisCluster``) cannot be twinned: it is checked instead, and refused unless its
  timeouts fit the deadline and it does not retry. ``deadline=None`` opts out: the client is
  used as given and its own settings bound the failure time.
- **asyncio**: the ``Async*`` classes take a ``redis.asyncio.Redis`` and run the same script.
- **Threads and processes**: a limiter holds no mutable state of its own, so one instance may
  be shared between threads (redis-py pools its connections), and any number of processes
  may share a key: the server serialises the scripts.

redis-py is imported lazily, so ``import designpatterns_ref.ratelimit`` needs no optional
package.

Complexity: one round trip per decision; on the server, O(1) per decision for every
algorithm but the log and the concurrency cap, which read O(log k) of their n entries (a
galloping search from the oldest, k the number that expired). The log is a list that the
script appends to and trims, so nothing is copied; the concurrency cap copies its string of
holds (40 bytes a hold, at most ``limit`` of them) when it admits.

Usage, with a Redis server at hand (the contract tests run every limiter against a real one)::

    import redis
    limiter = TokenBucket(redis.Redis(), rate=5, per=1.0, burst=10)
    limiter.allow("alice").allowed   # True
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import struct
import weakref
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, Literal, TypedDict, Unpack

from designpatterns_ref.clock import Clock
from designpatterns_ref.errors import DesignPatternsError
from designpatterns_ref.ratelimit import concurrency as _concurrency
from designpatterns_ref.ratelimit import fixed_window as _fixed
from designpatterns_ref.ratelimit import gcra as _gcra
from designpatterns_ref.ratelimit import leaky_bucket as _leaky
from designpatterns_ref.ratelimit import sliding_counter as _counter
from designpatterns_ref.ratelimit import sliding_log as _log
from designpatterns_ref.ratelimit import token_bucket as _bucket
from designpatterns_ref.ratelimit._lua import SCRIPT, SCRIPT_SHA, SCRIPTS, SHAS
from designpatterns_ref.ratelimit.base import (
    Decision,
    RateLimitError,
    RateLimitExceeded,
    check_cost,
    check_positive,
    new_decision,
)
from designpatterns_ref.ratelimit.composite import combine, flatten

__all__ = [
    "DEFAULT_DEADLINE",
    "GCRA",
    "AsyncAllOf",
    "AsyncConcurrencyLimiter",
    "AsyncFixedWindow",
    "AsyncGCRA",
    "AsyncLeakyBucket",
    "AsyncRedisLimiter",
    "AsyncSlidingWindowCounter",
    "AsyncSlidingWindowLog",
    "AsyncTokenBucket",
    "BackendUnavailable",
    "ConcurrencyLimiter",
    "FixedWindow",
    "LeakyBucket",
    "OnError",
    "RedisAllOf",
    "RedisLimiter",
    "RedisOptions",
    "SlidingWindowCounter",
    "SlidingWindowLog",
    "TokenBucket",
    "all_of",
]

OnError = Literal["deny", "allow", "raise"]

#: Seconds a decision may take before ``on_error`` applies, unless ``deadline=`` says otherwise.
DEFAULT_DEADLINE = 0.05

#: Seconds a fail-closed decision tells the client to wait.
FAIL_CLOSED_RETRY = 1.0


class BackendUnavailable(DesignPatternsError, ConnectionError):
    """Redis could not be reached and the limiter was built with ``on_error="raise"``."""


class RedisOptions(TypedDict, total=False):
    """Keyword options every Redis limiter takes."""

    clock: Clock | None
    prefix: str
    name: str | None
    on_error: OnError
    ttl_slack: float
    deadline: float | None


def _errors() -> tuple[type[BaseException], ...]:
    from redis import exceptions

    return (exceptions.ConnectionError, exceptions.TimeoutError, OSError)


#: Names for holds: 128 random bits from a generator seeded by the OS (``uuid4`` reads the OS
#: source on every call, a few microseconds each) and reseeded in every forked child.
_TOKENS = random.Random()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_TOKENS.seed)


#: The token of holds taken by ``allow`` rather than ``hold``: nothing will ``unhold`` them by
#: name (``release`` gives back the oldest), so they share one that no hold can draw.
_ANONYMOUS = b"-" * 32

#: The opening of the script's argument (see :mod:`._lua`): mode and reply form, then now,
#: cost and ttl_slack as doubles; and the packed reply, six doubles per limiter.
_HEAD = struct.Struct("<2s3d")
_REPLY = struct.Struct("<6d")
_MODES = {"allow": b"a", "peek": b"p", "release": b"r", "unhold": b"u"}

#: The keys and the arguments of one script call.
_Call = tuple[list[str], list[bytes]]


#: The algorithm's part of a key name, where it differs from the script's code: the sliding
#: log became a list (it was one string), and a new name keeps the two forms apart.
_KEY_TAGS = {"swl": "swlist"}

#: The bounded twins made so far: client -> {deadline: twin} (dropped with the client).
_TWINS: weakref.WeakKeyDictionary[Any, dict[float, Any]] = weakref.WeakKeyDictionary()


def _is_cluster(client: Any) -> bool:
    return type(client).__name__ == "RedisCluster"


def bounded(client: Any, deadline: float) -> Any:
    """A twin of ``client`` that gives up within ``deadline`` seconds: the same address and
    options, connect and read timeouts of ``deadline / 2`` each, and no retries.

    Works for ``redis.Redis`` and ``redis.asyncio.Redis`` (their connection pools are
    rebuilt from their own connection options); the twin is made once per client and deadline.
    """
    from redis.backoff import NoBackoff

    if type(client).__module__.startswith("redis.asyncio"):
        from redis.asyncio.retry import Retry
    else:
        from redis.retry import Retry  # type: ignore[assignment]

    made = _TWINS.setdefault(client, {})
    if deadline in made:
        return made[deadline]
    pool = client.connection_pool
    options = dict(pool.connection_kwargs)
    for per_pool in ("maint_notifications_pool_handler", "himport_registry"):
        options.pop(per_pool, None)  # the new pool makes its own
    half = deadline / 2
    options.update(socket_timeout=half, socket_connect_timeout=half, retry=Retry(NoBackoff(), 0))
    options["retry_on_error"] = []
    for original in ("orig_socket_timeout", "orig_socket_connect_timeout"):
        if original in options:
            options[original] = half
    twin_pool = type(pool)(
        connection_class=pool.connection_class, max_connections=pool.max_connections, **options
    )
    twin = type(client)(connection_pool=twin_pool)
    made[deadline] = twin
    return twin


def _check_cluster(owner: str, client: Any, deadline: float) -> None:
    """RateLimitError unless a cluster client's own settings keep a decision within
    ``deadline``: read and connect timeouts set and at most ``deadline / 2``, no retries."""
    options = getattr(getattr(client, "nodes_manager", None), "connection_kwargs", None)
    if options is None:
        options = getattr(client, "connection_kwargs", {})
    retry = getattr(client, "retry", None)
    retries = retry.get_retries() if retry is not None and hasattr(retry, "get_retries") else 0
    timeouts = [options.get("socket_timeout"), options.get("socket_connect_timeout")]
    if retries or any(t is None or t > deadline / 2 for t in timeouts):
        raise RateLimitError(
            f"{owner}: client={type(client).__name__} (socket_timeout={timeouts[0]!r}, "
            f"socket_connect_timeout={timeouts[1]!r}, {retries} retries) can take longer than "
            f"deadline={deadline!r}; a cluster client is used as given, so build it with both "
            f"timeouts at most {deadline / 2:g} s and retry=Retry(NoBackoff(), 0), or pass "
            "deadline=None to let the client's settings bound the failure time"
        )


def _clean_text(text: object) -> bool:
    """Whether ``text`` may go into a Redis key name: 1 to 200 characters of valid text (no
    lone surrogate), without the braces of a hash tag."""
    if not isinstance(text, str) or not 1 <= len(text) <= 200 or "{" in text or "}" in text:
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _check_deadline(owner: str, deadline: object) -> float | None:
    if deadline is None:
        return None
    checked = check_positive(owner, "deadline", deadline)
    if checked > 3600:
        raise RateLimitError(f"{owner}: deadline={deadline!r} must be at most 3600 seconds")
    return checked


def _packed_replies(client: Any) -> bool:
    """Whether ``client`` hands replies back as bytes, so the script may answer packed doubles.

    A client built with ``decode_responses=True`` would try to decode them as text; it gets the
    text form (the same numbers, exact, at a few microseconds more per decision on the server).
    """
    try:
        return not client.get_encoder().decode_responses
    except AttributeError:  # not a redis-py client we know: text is always safe
        return False


def _token() -> str:
    """A fresh name for the holds of one call."""
    return f"{_TOKENS.getrandbits(128):032x}"


def _spec(code: str, params: Sequence[float]) -> bytes:
    """A limiter's 32 bytes of the script's argument: three packed doubles, then its code."""
    numbers = [float(p) for p in params] + [0.0] * (3 - len(params))
    return struct.pack("<3d", *numbers) + code.encode().ljust(8)


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
        ttl_slack: float = 1.0,
        deadline: float | None = DEFAULT_DEADLINE,
    ) -> None:
        owner = type(self).__name__
        if on_error not in ("deny", "allow", "raise"):
            raise RateLimitError(
                f"{owner}: on_error={on_error!r} must be 'deny', 'allow' or 'raise'"
            )
        for label, text in (("prefix", prefix), ("name", "-" if name is None else name)):
            if not _clean_text(text):
                raise RateLimitError(
                    f"{owner}: {label}={text!r:.80} must be a string of 1 to 200 characters, "
                    "valid text without braces"
                )
        if clock is not None and not callable(clock):
            raise RateLimitError(f"{owner}: clock={clock!r} must be callable or None")
        if not (ttl_slack.__class__ in (int, float) and ttl_slack == 0):
            ttl_slack = check_positive(owner, "ttl_slack", ttl_slack)
        self.deadline = _check_deadline(owner, deadline)
        if not hasattr(client, "evalsha") or not hasattr(client, "delete"):
            raise RateLimitError(
                f"{owner}: client={client!r:.80} must be a redis-py client (redis.Redis, "
                "redis.asyncio.Redis or a RedisCluster)"
            )
        if self.deadline is None:
            self._redis = client
        elif _is_cluster(client):
            _check_cluster(owner, client, self.deadline)
            self._redis = client
        else:
            self._redis = bounded(client, self.deadline)
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
        """The Redis key holding ``key``'s state: ``prefix:{key}:algorithm:name``."""
        if key.__class__ is not str and (
            isinstance(key, bool) or not isinstance(key, str | int) or not -(2**63) <= key < 2**64  # type: ignore[operator]
        ):
            raise RateLimitError(
                f"{type(self).__name__}: key={key!r:.80} must be a str or an int (64 bits) on Redis"
            )
        return f"{self.prefix}:{{{key}}}:{self._key_tag}:{self.name}"

    def _cost(self, cost: object) -> int:
        if cost.__class__ is int and 1 <= cost <= self.limit:
            return cost
        return check_cost(type(self).__name__, cost, self.limit)

    def _now(self) -> float:
        """The caller's clock, or NaN: the script then reads the server's."""
        if self.clock is None:
            return math.nan
        now = float(self.clock())
        if not math.isfinite(now):
            raise RateLimitError(f"{type(self).__name__}: clock() returned {now!r}; need finite")
        return now

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
            raise BackendUnavailable(f"Redis unreachable: {exc}") from exc

    def _fallback(self, exc: BaseException) -> Decision:
        if self.on_error == "raise":
            raise BackendUnavailable(f"Redis unreachable: {exc}") from exc
        if self.on_error == "allow":
            return Decision(True, self.limit, 0, 0.0, 0.0, 0.0)
        return Decision(False, self.limit, 0, FAIL_CLOSED_RETRY, FAIL_CLOSED_RETRY, 0.0)

    def __repr__(self) -> str:
        return f"<redis {self.model!r} name={self.name!r}>"


def _unencodable(limiter: Any, key: object) -> RateLimitError:
    return RateLimitError(
        f"{type(limiter).__name__}: key={key!r:.80} cannot be encoded for Redis (a lone "
        "surrogate?); keys must be valid text"
    )


def _parse(reply: bytes | str, count: int, packed: bool) -> list[Decision]:
    """The Decisions in a reply for ``count`` limiters, packed or as text."""
    if packed:
        assert isinstance(reply, bytes)
        return [
            Decision(v[0] == 1.0, int(v[1]), int(v[2]), v[3], v[4], v[5])
            for v in _REPLY.iter_unpack(reply)
        ]
    raw = reply.split()
    out = []
    for i in range(count):
        v = raw[6 * i : 6 + 6 * i]
        out.append(
            Decision(
                float(v[0]) == 1.0,
                int(float(v[1])),
                int(float(v[2])),
                float(v[3]),
                float(v[4]),
                float(v[5]),
            )
        )
    return out


def _args(
    limiters: Sequence[_Base], key: object, mode: str, cost: int, token: bytes = _ANONYMOUS
) -> _Call:
    keys = [part.key_for(key) for part in limiters]
    head = limiters[0]._head(mode, cost, token)
    return keys, [head + b"".join(part._spec for part in limiters)]


def _noscript() -> type[BaseException]:
    from redis.exceptions import NoScriptError

    return NoScriptError


def _run(client: Any, keys: list[str], argv: list[bytes], code: str = "") -> Any:
    sha = SHAS[code] if code else SCRIPT_SHA
    try:
        return client.evalsha(sha, len(keys), *keys, *argv)
    except _noscript():  # evaluated only when the call failed: the hot path imports nothing
        client.script_load(SCRIPTS[code] if code else SCRIPT)
        return client.evalsha(sha, len(keys), *keys, *argv)


async def _run_async(client: Any, keys: list[str], argv: list[bytes], code: str = "") -> Any:
    sha = SHAS[code] if code else SCRIPT_SHA
    try:
        return await client.evalsha(sha, len(keys), *keys, *argv)
    except _noscript():
        await client.script_load(SCRIPTS[code] if code else SCRIPT)
        return await client.evalsha(sha, len(keys), *keys, *argv)


class RedisLimiter(_Base):
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


class AsyncRedisLimiter(_Base):
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


# --------------------------------------------------------------------------- the algorithms


#: Per script code, the in-memory algorithm the script mirrors (which checks the arguments)
#: and the names of the two constants its script reads, before the limit.
_BUCKET_MODELS: dict[str, tuple[type[Any], str, str]] = {
    "tb": (_bucket.TokenBucket, "_fill", "_burst"),
    "gcra": (_gcra.GCRA, "_interval", "_window"),
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
            f"ConcurrencyLimiter.release: key={key!r} holds {held} live units, "
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


# --------------------------------------------------------------------------- composites


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
        self.clock = first.clock

    def _call(self, key: str | int, cost: object, mode: str) -> _Call:
        return _args(self.limiters, key, mode, check_cost("all_of", cost, self.limit))

    def _answer(self, reply: bytes | str) -> Decision:
        return combine(_parse(reply, len(self.limiters), self.limiters[0]._packed))

    def _fallback(self, exc: BaseException) -> Decision:
        return combine([part._fallback(exc) for part in self.limiters])

    def __repr__(self) -> str:
        return "redis.all_of(" + ", ".join(repr(p) for p in self.limiters) + ")"


class RedisAllOf(_Composite):
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


class AsyncAllOf(_Composite):
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
