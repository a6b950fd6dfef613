"""Membership in Redis, and the key names every process of the Slack-shaped cluster shares.

Case study: Slack's WebSocket Gateway: 1M Concurrent Connections
(docs/case-studies/slack-gateway.md)

Stateless gateways and channel servers keep no membership of their own: it lives in Redis,
two sets per relation (``<prefix>:members:<conv>`` and ``<prefix>:convs:<user>``), written
together in one ``MULTI`` so a reader never sees half a join. The conversation log is the
:class:`~designpatterns_ref.messaging.redis.RedisStore` layout under the same prefix
(``<prefix>:log:<conv>``, ``<prefix>:ids:<conv>``); a message's fan-out goes over Pub/Sub
channel ``<prefix>:fan:<conv>``; acks and read markers are hashes ``<prefix>:acks:<conv>`` /
``<prefix>:reads:<conv>``.

Every key is ``<prefix>:<kind>:<id>``, the kind a fixed word without ``:``: an id may hold
``:`` (conversation ``x:log`` and conversation ``members:x`` are both allowed), and still no
two keys of one prefix are the same, since the kind is read up to the first ``:`` after the
prefix and the id is all the rest.

Trade-off: every gateway reads a user's conversations from Redis once per connect (one round
trip), rather than caching membership that would then need invalidating.

>>> fan_channel("dp:msg", "general")
'dp:msg:fan:general'
"""

from __future__ import annotations

from typing import Any

from designpatterns_ref.errors import shown
from designpatterns_ref.messaging.base import MessagingError, MessagingTypeError, check_id
from designpatterns_ref.redisclient import DEFAULT_DEADLINE_S, bounded_client, check_deadline
from designpatterns_ref.redisclient import outages_as as _outages_as

__all__ = [
    "Directory",
    "check_redis",
    "convs_key",
    "fan_channel",
    "ids_key",
    "log_key",
    "members_key",
]


def members_key(prefix: str, conv: str) -> str:
    """The set of ``conv``'s members."""
    return f"{prefix}:members:{conv}"


def convs_key(prefix: str, user: str) -> str:
    """The set of ``user``'s conversations."""
    return f"{prefix}:convs:{user}"


def fan_channel(prefix: str, conv: str) -> str:
    """The Pub/Sub channel carrying ``conv``'s new messages to the gateways."""
    return f"{prefix}:fan:{conv}"


def log_key(prefix: str, conv: str) -> str:
    """The stream holding ``conv``'s log, entry ids ``<seq>-0`` (the RedisStore layout)."""
    return f"{prefix}:log:{conv}"


def ids_key(prefix: str, conv: str) -> str:
    """The hash ``sender NUL client_msg_id`` -> seq of ``conv`` (the RedisStore layout)."""
    return f"{prefix}:ids:{conv}"


def check_redis(client: object) -> object:
    """``client`` as a Redis target: a ``redis://`` (``rediss://``, ``unix://``) URL or a
    ``redis.Redis`` client; :class:`MessagingError` otherwise."""
    if isinstance(client, str):
        if not client.startswith(("redis://", "rediss://", "unix://")) or len(client) > 2048:
            raise MessagingError(f"client={shown(client, 80)} must be a redis:// URL")
        check_id("redis URL", client[:128])
        return client
    import redis

    if not isinstance(client, redis.Redis):
        raise MessagingTypeError(
            f"client={shown(client, 80)} must be a redis:// URL or redis.Redis"
        )
    return client


@_outages_as(MessagingError, "join", "members", "conversations")
class Directory:
    """``Directory(redis_url, prefix=...)``: who belongs to which conversation, in Redis."""

    def __init__(
        self, client: Any, *, prefix: str = "dp:msg", deadline: float = DEFAULT_DEADLINE_S
    ) -> None:
        check_redis(client)
        self.prefix = check_id("prefix", prefix)
        self.deadline = check_deadline("Directory", deadline, MessagingError)
        self._r = bounded_client(client, self.deadline, decode_responses=True)

    def join(self, conv: str, user: str) -> None:
        """Make ``user`` a member of ``conv`` (both sets, atomically)."""
        check_id("conv", conv), check_id("user", user)
        pipe = self._r.pipeline(transaction=True)
        pipe.sadd(members_key(self.prefix, conv), user)
        pipe.sadd(convs_key(self.prefix, user), conv)
        pipe.execute()

    def members(self, conv: str) -> list[str]:
        """The members of ``conv``, sorted."""
        return sorted(self._r.smembers(members_key(self.prefix, check_id("conv", conv))))

    def conversations(self, user: str) -> list[str]:
        """The conversations of ``user``, sorted."""
        return sorted(self._r.smembers(convs_key(self.prefix, check_id("user", user))))

    def close(self) -> None:
        """Close the connection pool made from a URL (on your client: a no-op, the shared twin
        stays for the other stores on it and goes with your client)."""
        self._r.close()

    def __repr__(self) -> str:
        return f"Directory(prefix={self.prefix!r})"
