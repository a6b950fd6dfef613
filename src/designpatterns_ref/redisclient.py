"""Redis clients with a deadline: a call to a dead or frozen server fails fast, with your error.

Case study: shared by the Redis backends of the families (feed, geo, shortcode).

redis-py's defaults suit a server that is briefly unreachable: no socket timeout, and a retry
policy with exponential backoff. For a backend that must answer or fail quickly, that turns an
outage into seconds of blocking per call (a frozen server, stopped with SIGSTOP, blocks a read
forever without a timeout). :func:`bounded_client` builds the client a backend talks through:

- every socket operation (connect, send, each read) waits at most ``deadline`` seconds;
- no retries at all, so nothing multiplies that wait; health checks are off;
- from a URL it makes a new client, which the backend owns (and closes, where it has a
  ``close``); from a ``redis.Redis`` it copies the connection settings (host, port, database,
  credentials, ``decode_responses``, ...) into a new pool with those limits, and from a
  ``RedisCluster`` it makes a cluster client on the same nodes with the same connection
  settings (credentials, TLS), leaving your client untouched. The deadline wins over a URL's
  own options (``?socket_timeout=3``) and your client's settings. That bounded twin is made
  once per client, deadline and ``decode_responses``: every backend built on your client with
  the same deadline shares it, so many stores on one client hold one pool (one cluster
  client), not one each. It is kept while your client lives and goes, closing
  its connections, once your client and the backends on it are garbage collected; do not close
  it yourself (your client stays yours to close). Any other object is used as it is (the
  backend's docstring says what it needs); no deadline can be promised for it.

:func:`outages_as` then turns redis-py's ``ConnectionError`` and ``TimeoutError`` from a
backend's public methods into the family's own error (a refused password is that error too, and
says so: it is no outage). So with a dead or frozen server each call
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
import threading
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from designpatterns_ref.errors import DesignPatternsError, InvalidArgument, shown

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
        raise make(f"{where}: deadline={shown(deadline)} must be a number of seconds")
    if not 0 < deadline <= MAX_DEADLINE_S:  # refuses NaN, inf and huge ints
        raise make(
            f"{where}: deadline={shown(deadline)} must be within (0, {MAX_DEADLINE_S}] seconds"
        )
    return float(deadline)


class _DeadlineError(DesignPatternsError, ValueError):
    pass


def bounded_client(client: Any, deadline: float, *, decode_responses: bool | None = None) -> Any:
    """A redis-py client whose every socket operation waits at most ``deadline``, no retries.

    ``client`` is a ``redis://`` URL (a new client each call, the caller's to close), a
    ``redis.Redis`` (its settings are copied into a new pool) or a ``redis.cluster.RedisCluster``
    (a cluster client on the same nodes, with the same limits on every node's connections); any
    other object is returned as it is. ``decode_responses`` overrides the setting when not None.

    The twin of a ``Redis`` or ``RedisCluster`` is made once per client, deadline and
    ``decode_responses`` and shared by every caller asking for the same: it is weakly keyed on
    ``client`` (dropped with it) and must not be closed by one of them (closing a cluster
    client ends it for all). A cluster twin found closed is replaced.
    """
    if isinstance(client, str):
        import redis

        base: dict[str, Any] = {}
        if decode_responses is not None:
            base["decode_responses"] = decode_responses
        try:
            fresh = redis.Redis.from_url(client, **base, **_limits(deadline))
        except ValueError as exc:  # a scheme, port or host redis-py cannot read
            raise InvalidArgument(f"url={shown(client, 200)} is not a Redis URL ({exc})") from None
        # from_url lets the URL's options (?socket_timeout=3) win over these keywords: set the
        # limits again on the pool, before it makes its first connection, so the deadline holds
        fresh.connection_pool.connection_kwargs.update(_limits(deadline))
        return fresh
    redis_mod = sys.modules.get("redis")
    if redis_mod is None:
        return client
    cluster = is_cluster(client)
    if not cluster and not isinstance(client, redis_mod.Redis):
        return client
    decode = bool(
        client.get_connection_kwargs().get("decode_responses", False)
        if decode_responses is None
        else decode_responses
    )
    key = (float(deadline), decode)
    with _TWINS_LOCK:
        try:
            made = _TWINS.setdefault(client, {})
        except TypeError:  # not weakly referenceable (a subclass with __slots__): not shared
            return _cluster_twin(client, deadline, decode) if cluster else _twin(client, *key)
        twin = made.get(key)
        if twin is None or (cluster and _closed_cluster(twin)):
            twin = _cluster_twin(client, deadline, decode) if cluster else _twin(client, *key)
            made[key] = twin
        return twin


#: The bounded twins made so far: your client -> {(deadline, decode_responses): twin}. Weak
#: keys: an entry goes with the client it was made from. The lock makes look-up and making one
#: step, so two threads building stores on one client get one twin.
_TWINS: weakref.WeakKeyDictionary[Any, dict[tuple[float, bool], Any]] = weakref.WeakKeyDictionary()
_TWINS_LOCK = threading.Lock()


def _twin(client: Any, deadline: float, decode: bool) -> Any:
    """A ``redis.Redis`` on a new pool with ``client``'s connection settings and the limits."""
    import redis

    pool = client.connection_pool
    kwargs = dict(pool.connection_kwargs)
    for per_pool in ("maint_notifications_pool_handler", "himport_registry"):
        kwargs.pop(per_pool, None)  # tied to your pool: the new pool makes its own
    kwargs.update(_limits(deadline))
    for original in ("orig_socket_timeout", "orig_socket_connect_timeout"):
        if original in kwargs:  # what a connection returns to after a maintenance window
            kwargs[original] = deadline
    kwargs["decode_responses"] = decode
    new_pool = redis.ConnectionPool(connection_class=pool.connection_class, **kwargs)
    return redis.Redis(connection_pool=new_pool)


#: Connection settings of a cluster client tied to that client (its own callbacks and
#: handlers): the twin makes its own. ``retry`` is the twin's own, set apart (redis-py refuses
#: it among the connection settings of a cluster).
_CLUSTER_OWN = (
    "redis_connect_func",
    "oss_cluster_maint_notifications_handler",
    "maint_notifications_pool_handler",
    "himport_registry",
    "retry",
)


def _cluster_twin(client: Any, deadline: float, decode: bool) -> Any:
    """A new ``RedisCluster`` on ``client``'s primaries with ``client``'s connection settings
    (credentials, TLS, ...) and the limits on every node."""
    from redis.cluster import ClusterNode, RedisCluster

    nodes = [ClusterNode(n.host, n.port) for n in client.get_primaries()]  # type: ignore[no-untyped-call]
    kwargs = dict(client.nodes_manager.connection_kwargs)
    for own in _CLUSTER_OWN:
        kwargs.pop(own, None)
    user_on_connect = getattr(client, "user_on_connect_func", None)
    if user_on_connect is not None:  # a callback of yours, which the twin runs too
        kwargs["redis_connect_func"] = user_on_connect
    limits = _limits(deadline)
    kwargs.update(limits, decode_responses=decode)
    return RedisCluster(startup_nodes=nodes, retry=kwargs.pop("retry"), **kwargs)


def _closed_cluster(twin: Any) -> bool:
    """Whether a cluster client was closed (it then has no default node and refuses commands)."""
    return getattr(getattr(twin, "nodes_manager", None), "default_node", None) is None


def is_cluster(client: object) -> bool:
    """Whether ``client`` is a redis-py ``RedisCluster`` client."""
    cluster = sys.modules.get("redis.cluster")
    return cluster is not None and isinstance(client, cluster.RedisCluster)


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
    """Whether ``exc`` is redis-py's sign that the server did not answer (refused, timed out).

    A refused password or username (redis-py's ``AuthenticationError``, a ``ConnectionError``)
    is no outage: the server answered, with a no (:func:`is_auth_failure`)."""
    redis_mod = sys.modules.get("redis")
    if redis_mod is None:
        return False
    errors = redis_mod.exceptions
    return isinstance(exc, errors.ConnectionError | errors.TimeoutError) and not is_auth_failure(
        exc
    )


def is_auth_failure(exc: BaseException) -> bool:
    """Whether ``exc`` is redis-py's sign that the server refused the credentials (a wrong or
    missing password or username)."""
    redis_mod = sys.modules.get("redis")
    return redis_mod is not None and isinstance(exc, redis_mod.exceptions.AuthenticationError)


def outages_as(error: Callable[[str], BaseException], *names: str) -> Callable[[type[T]], type[T]]:
    """A class decorator: the methods ``names`` raise ``error`` when Redis does not answer,
    and when it refuses the credentials (the message then says so).

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
            if is_auth_failure(exc):
                raise error(
                    f"{where}: Redis refused the credentials (a wrong or missing password or "
                    f"username): {type(exc).__name__}: {exc}"
                ) from exc
            if not is_outage(exc):
                raise
            deadline = getattr(self, "deadline", None)
            raise error(
                f"{where}: Redis did not answer within the deadline ({deadline} s per round "
                f"trip): {type(exc).__name__}: {exc}"
            ) from exc

    return call
