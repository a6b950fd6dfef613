"""The Redis limiters' client side: bounded clients, the script's wire format, the round trip.

Case study: Design a Rate Limiter (docs/case-studies/rate-limiter.md)

Everything :mod:`designpatterns_ref.ratelimit.redis` does between a limiter and redis-py: the
bounded twin of a client (its own timeouts, no retries, so a decision meets its deadline),
the checks of a cluster client, key and option validation, the packed argument and reply of
the Lua scripts (:mod:`._lua`), and ``EVALSHA`` with one reload on ``NOSCRIPT``. redis-py is
imported lazily. Complexity: O(1) per call but the reply parsing, O(limiters).

>>> len(_spec("tb", [1.0, 2.0, 3.0]))
32
"""

from __future__ import annotations

import os
import random
import struct
import weakref
from collections.abc import Sequence
from typing import Any, TypedDict

from designpatterns_ref.clock import Clock
from designpatterns_ref.errors import shown
from designpatterns_ref.ratelimit._lua import SCRIPT, SCRIPT_SHA, SCRIPTS, SHAS
from designpatterns_ref.ratelimit.backend import OnError
from designpatterns_ref.ratelimit.base import Decision, RateLimitError, check_positive

#: Seconds a decision may take before ``on_error`` applies, unless ``deadline=`` says otherwise.
DEFAULT_DEADLINE = 0.05

#: The default ``ttl_slack`` of a limiter on the Redis server's clock or on one of yours.
DEFAULT_TTL_SLACK = 1.0
#: The default ``ttl_slack`` of a limiter on a ManualClock: an hour. A key's expiry runs in the
#: server's real time, which a simulated clock does not follow: with a slack of a second, a
#: test or notebook paused a little over a second (real time) would find state forgotten that
#: the simulated clock still counts. An hour keeps the state while the clock is advanced by
#: hand; pass ``ttl_slack=`` for anything else.
SIMULATED_TTL_SLACK = 3600.0


class RedisOptions(TypedDict, total=False):
    """Keyword options every Redis limiter takes."""

    clock: Clock | None
    prefix: str
    name: str | None
    on_error: OnError
    ttl_slack: float | None
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
#: name (``release`` gives back the oldest of them, and only them), so they share one that no
#: hold can draw.
_ANONYMOUS = b"-" * 32

#: The opening of the script's argument (see :mod:`._lua`): mode and reply form, then now,
#: cost and ttl_slack as doubles; and the packed reply, six doubles per limiter.
_HEAD = struct.Struct("<2s3d")
_REPLY = struct.Struct("<6d")
_MODES = {"allow": b"a", "peek": b"p", "release": b"r", "unhold": b"u"}

#: The keys and the arguments of one script call.
_Call = tuple[list[str], list[bytes]]


#: The algorithm's part of a key name, where it differs from the script's code: the sliding
#: log became a list (it was one string), and GCRA's TAT is two doubles, the last admission's
#: time and the units of per/rate the TAT runs after it (it was one, in seconds under ``gcra``
#: and then in units since time zero under ``gcra-units``); a new name keeps the forms apart.
_KEY_TAGS = {"swl": "swlist", "gcra": "gcra-lead"}

#: The bounded twins made so far: client -> {deadline: twin} (dropped with the client).
_TWINS: weakref.WeakKeyDictionary[Any, dict[float, Any]] = weakref.WeakKeyDictionary()


def _is_cluster(client: Any) -> bool:
    return type(client).__name__ == "RedisCluster"


def bounded(client: Any, deadline: float, owner: str = "RedisLimiter") -> Any:
    """A twin of ``client`` that gives up within ``deadline`` seconds: the same address and
    options, connect and read timeouts of ``deadline / 2`` each, and no retries.

    Works for ``redis.Redis`` and ``redis.asyncio.Redis`` (their connection pools are
    rebuilt from their own connection options); the twin is made once per client and deadline.
    A ``BlockingConnectionPool`` is rebuilt with a wait for a free connection of at most
    ``deadline / 2`` (yours, if shorter); a Sentinel client's pool (``master_for`` or
    ``slave_for``) on the same service and sentinels, which are asked for the address with your
    ``Sentinel``'s own settings. A pool of another kind that cannot be rebuilt from its settings
    raises RateLimitError: pass ``deadline=None`` to use such a client as it is.
    """
    from redis.backoff import NoBackoff

    if type(client).__module__.startswith("redis.asyncio"):
        from redis.asyncio import BlockingConnectionPool
        from redis.asyncio.retry import Retry
    else:
        from redis import BlockingConnectionPool  # type: ignore[assignment]
        from redis.retry import Retry  # type: ignore[assignment]

    made = _TWINS.setdefault(client, {})
    if deadline in made:
        return made[deadline]
    pool = client.connection_pool
    options = dict(pool.connection_kwargs)
    for per_pool in ("maint_notifications_pool_handler", "himport_registry", "connection_pool"):
        options.pop(per_pool, None)  # the new pool makes its own
    half = deadline / 2
    options.update(socket_timeout=half, socket_connect_timeout=half, retry=Retry(NoBackoff(), 0))
    options["retry_on_error"] = []
    for original in ("orig_socket_timeout", "orig_socket_connect_timeout"):
        if original in options:
            options[original] = half
    head: tuple[Any, ...] = ()
    if hasattr(pool, "sentinel_manager") and hasattr(pool, "service_name"):
        head = (pool.service_name, pool.sentinel_manager)
        options.update(is_master=pool.is_master, check_connection=pool.check_connection)
    if isinstance(pool, BlockingConnectionPool):
        waits = half if pool.timeout is None else min(pool.timeout, half)
        options["timeout"] = waits
    try:
        twin_pool = type(pool)(
            *head,
            connection_class=pool.connection_class,
            max_connections=pool.max_connections,
            **options,
        )
    except TypeError as exc:
        raise RateLimitError(
            f"{owner}: cannot bound client={type(client).__name__} on a "
            f"{type(pool).__name__} to deadline={shown(deadline)} (its pool cannot be rebuilt "
            f"from its settings: {exc}); pass deadline=None to use the client as it is, its own "
            "timeouts bounding a decision"
        ) from None
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
            f"{owner}: client={type(client).__name__} (socket_timeout={shown(timeouts[0])}, "
            f"socket_connect_timeout={shown(timeouts[1])}, {retries} retries) can take longer than "
            f"deadline={shown(deadline)}; a cluster client is used as given, so build it with both "
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
        raise RateLimitError(f"{owner}: deadline={shown(deadline)} must be at most 3600 seconds")
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
