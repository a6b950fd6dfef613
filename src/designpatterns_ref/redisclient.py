"""Redis clients with a deadline: a call to a dead or frozen server fails fast, with your error.

Case study: shared by the Redis backends of the families (feed, geo, shortcode).

redis-py's defaults suit a server that is briefly unreachable: no socket timeout, and a retry
policy with exponential backoff. For a backend that must answer or fail quickly, that turns an
outage into seconds of blocking per call (a frozen server, stopped with SIGSTOP, blocks a read
forever without a timeout). :func:`bounded_client` builds the client a backend talks through:

- every socket operation (connect, send, each read) waits at most ``deadline`` seconds;
- no retries at all, so nothing multiplies that wait; health checks are off;
- from a URL it makes a new client; from a ``redis.Redis`` it copies the connection settings
  (host, port, database, credentials, ``decode_responses``, ...) into a new pool with those
  limits, leaving your client untouched. Any other object is used as it is (the backend's
  docstring says what it needs); no deadline can be promised for it.

:func:`outages_as` then turns redis-py's ``ConnectionError`` and ``TimeoutError`` from a
backend's public methods into the family's own error. So with a dead or frozen server each call
raises the family's error within about ``deadline`` seconds: a call fails at its first round
trip that gets no answer (a call of several round trips to a slow but live server may take up
to ``deadline`` for each).

Trade-off: a deadline too tight turns a slow answer (a big pipeline on a loaded machine) into
an error; the default, :data:`DEFAULT_DEADLINE_S` (0.25 s), is hundreds of times a loopback
round trip and well under a second.

>>> DEFAULT_DEADLINE_S
0.25
>>> check_deadline("RedisStore", 0.05)
0.05
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from designpatterns_ref.errors import DesignPatternsError

__all__ = ["DEFAULT_DEADLINE_S", "MAX_DEADLINE_S", "bounded_client", "check_deadline", "outages_as"]

#: The default deadline of one round trip to Redis, in seconds.
DEFAULT_DEADLINE_S = 0.25
#: The largest deadline accepted, in seconds.
MAX_DEADLINE_S = 60.0

T = TypeVar("T")


def check_deadline(
    where: str, deadline: object, error: type[DesignPatternsError] | None = None
) -> float:
    """Return ``deadline`` as seconds in (0, :data:`MAX_DEADLINE_S`], or raise ``error``."""
    make = error or _DeadlineError
    if isinstance(deadline, bool) or not isinstance(deadline, int | float):
        raise make(f"{where}: deadline={deadline!r} must be a number of seconds")
    if not 0 < deadline <= MAX_DEADLINE_S:  # refuses NaN, inf and huge ints
        raise make(f"{where}: deadline={deadline!r} must be within (0, {MAX_DEADLINE_S}] seconds")
    return float(deadline)


class _DeadlineError(DesignPatternsError, ValueError):
    pass


def bounded_client(client: Any, deadline: float, *, decode_responses: bool | None = None) -> Any:
    """A redis-py client whose every socket operation waits at most ``deadline``, no retries.

    ``client`` is a ``redis://`` URL or a ``redis.Redis`` (its settings are copied into a new
    pool); any other object is returned as it is. ``decode_responses`` overrides the setting
    when not None.
    """
    if isinstance(client, str):
        import redis

        base: dict[str, Any] = {}
        if decode_responses is not None:
            base["decode_responses"] = decode_responses
        return redis.Redis.from_url(client, **base, **_limits(deadline))
    redis_mod = sys.modules.get("redis")
    if redis_mod is None or not isinstance(client, redis_mod.Redis):
        return client
    pool = client.connection_pool
    kwargs = dict(pool.connection_kwargs)
    kwargs.update(_limits(deadline))
    if decode_responses is not None:
        kwargs["decode_responses"] = decode_responses
    new_pool = redis_mod.ConnectionPool(connection_class=pool.connection_class, **kwargs)
    return redis_mod.Redis(connection_pool=new_pool)


def _limits(deadline: float) -> dict[str, Any]:
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return {
        "socket_timeout": deadline,
        "socket_connect_timeout": deadline,
        "retry": Retry(NoBackoff(), 0),
        "retry_on_error": [],
        "health_check_interval": 0,
    }


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` is redis-py's sign that the server did not answer (refused, timed out)."""
    redis_mod = sys.modules.get("redis")
    if redis_mod is None:
        return False
    errors = redis_mod.exceptions
    return isinstance(exc, errors.ConnectionError | errors.TimeoutError)


def outages_as(error: Callable[[str], BaseException], *names: str) -> Callable[[type[T]], type[T]]:
    """A class decorator: the methods ``names`` raise ``error`` when Redis does not answer.

    Without ``names``, every public method the class defines, and ``__len__``/``__contains__``.
    The message names the method and the deadline (the instance's ``deadline`` attribute);
    redis-py's exception is kept as the cause.
    """

    def decorate(cls: type[T]) -> type[T]:
        chosen = names or [
            name
            for name, value in vars(cls).items()
            if inspect.isfunction(value)
            and (not name.startswith("_") or name in ("__len__", "__contains__"))
        ]
        for name in chosen:
            setattr(cls, name, _guarded(getattr(cls, name), error, f"{cls.__name__}.{name}"))
        return cls

    return decorate


def _guarded(
    method: Callable[..., Any], error: Callable[[str], BaseException], where: str
) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:
            if not is_outage(exc):
                raise
            deadline = getattr(self, "deadline", None)
            raise error(
                f"{where}: Redis did not answer within the deadline ({deadline} s per round "
                f"trip): {type(exc).__name__}: {exc}"
            ) from exc

    return call
