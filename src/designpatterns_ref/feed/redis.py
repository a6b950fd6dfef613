"""Redis feed store: sorted sets of post ids, written in pipelines and trimmed on write.

Case study: Design a Social News Feed (Twitter / LinkedIn) (docs/case-studies/news-feed.md)

The layout Twitter described for its timeline cache, on one Redis server. Every key starts
with ``prefix`` (default ``"feed:"``):

=====================  ==========  ===============================================
key                    type        holds
=====================  ==========  ===============================================
``users``              set         the registered users
``seen``               hash        user -> last time they read their timeline
``followers:{u}``      set         who follows ``u``
``followees:{u}``      set         whom ``u`` follows
``posts``              hash        post id -> ``[author, at, body]`` (JSON), stored once
``by:{u}``             sorted set  ``u``'s own post ids (score = id)
``home:{u}``           sorted set  ``u``'s home timeline (score = id), at most ``max_len``
``flag:{kind}``        set         users flagged ``capped``, ``celebrity`` or ``stale``
``pending``            hash        author -> id of their post still being fanned out
``keys``               hash        author -> ``"{id} {key}"`` of their newest post
``meta``               hash        ``next_id``, ``latest_at`` and ``strategy``
=====================  ==========  ===============================================

:meth:`RedisStore.clear` deletes these keys only (it scans ``prefix`` plus each family's name),
so a store nested under another's prefix (``feed:eu:`` under ``feed:``) survives the outer
store's clear, and the other way round. A prefix holding a family's name and colon past its
first character (``feed:home:``, ``lobby:``) is refused: its keys would be the keys of the
store whose prefix ends just before that name (``feed:home:users`` is the home timeline of
user ``users`` under ``feed:``). So two stores never share a key unless their prefixes are
equal.

A new post is one Lua script (``EVAL``): it takes the next id, stores the post, appends it to
the author's list, marks it pending and records its idempotency key, all or nothing, so an
outage never leaves half a post or skips an id. The ``capped`` flag of a timeline is set
before (in the same ``MULTI`` as) the trim that cuts it, so a floor never claims a cut
timeline is complete.

Clock readings (``seen``, ``latest_at``) are shared by every process using the store, so
feeds on a Redis store default to wall-clock time (``time.time``): the monotonic clock
restarts with each process and would not compare across servers.

Post ids grow with time, so the id itself is the score: "newest first" is ``ZREVRANGEBYSCORE``
and a page cursor is the exclusive bound ``(id``. A fan-out is one pipeline (``MULTI``/``EXEC``)
holding a ``ZADD`` and a ``ZCARD`` per follower; when some timelines grew past ``max_len``, a
second ``MULTI`` flags them capped and trims them. Reads of many authors' lists are one
pipeline too.

On a Redis Cluster (pass a redis-py ``RedisCluster`` client) the same keys spread over the
slots: each user's timeline, sets and post list live wherever their key hashes. A ``MULTI``
cannot span slots, so there the pipelines run without a transaction (redis-py groups them per
node): every command stays atomic on its own key, but a fan-out is no longer all-or-nothing
across followers, which is also how Twitter's timeline cache behaves;
:meth:`~RedisStore.followees_flagged` intersects on the client instead of with ``SINTER``;
a new post is three round trips (id, pending and key marks, the rest), so an outage may skip
an id; a new user is two (its ``seen`` time, then the user, so a cut-short add leaves no user);
and the capped flags are set in a round trip of their own before the trims.

Complexity: fan-out to F followers is 2F commands in one round trip (two once timelines are
full), O(F log max_len) on the server; a page is O(log n + limit) plus one ``HMGET`` for the posts.
Share one store between threads only if you share nothing else: each call is atomic on the
server, but a strategy's call may span several round trips.

>>> store = RedisStore.from_url("redis://127.0.0.1:1/0")  # connects on first use
>>> store.prefix, store.cluster
('feed:', False)
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from designpatterns_ref.errors import shown
from designpatterns_ref.feed.base import (
    COMPLETE,
    NOTHING,
    FeedError,
    FeedTypeError,
    FeedUnavailable,
    Post,
    _check_encodable,
    id_in_range,
)
from designpatterns_ref.feed.storecheck import checked_store
from designpatterns_ref.redisclient import (
    DEFAULT_DEADLINE_S,
    bounded_client,
    check_deadline,
    is_cluster,
    outages_as,
)

__all__ = ["RedisStore"]

#: The ``last_seen`` of a user without a recorded time: never.
NEVER = float("-inf")
_MAX_EXACT = 2**53  # ids at or above this are "from the top": no double holds them exactly


def _bound(before: int) -> str:
    """The exclusive upper score of ids below ``before`` (any int: no id lies past 2**53)."""
    if before >= _MAX_EXACT:
        return "+inf"
    return f"({max(before, -_MAX_EXACT)}"


def _above(after: int) -> str:
    """The exclusive lower score of ids above ``after`` (0: every id)."""
    if not after or after <= -_MAX_EXACT:
        return "-inf"
    return f"({min(after, _MAX_EXACT)}"


#: The keys of a store that are one key each, and the families of one key per user or kind.
_SINGLE_KEYS = ("users", "seen", "posts", "pending", "keys", "meta")
_KEY_FAMILIES = ("followers", "followees", "by", "home", "flag")
#: What a prefix may not hold past its first character: with one of these, its keys would be
#: keys of the store whose prefix ends just before it (``feed:home:users`` is the home timeline
#: of user ``users`` under ``feed:``), and the outer store's scans would reach them.
_FAMILY_MARKS = tuple(f"{family}:" for family in _KEY_FAMILIES)


def _floor(capped: object, oldest: list[str]) -> int:
    """A timeline's floor from its capped flag and its oldest member (a list of 0 or 1)."""
    if not capped:
        return COMPLETE
    return int(oldest[0]) if oldest else NOTHING


def _glob_escape(text: str) -> str:
    """``text`` as a literal inside a ``SCAN MATCH`` pattern: ``*?[]\\`` escaped."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


# KEYS: meta, posts, by:{author}, pending, keys; ARGV: author, post JSON, at, idempotency key
_NEW_POST = """
local id = redis.call('HINCRBY', KEYS[1], 'next_id', 1)
redis.call('HSET', KEYS[2], id, ARGV[2])
redis.call('ZADD', KEYS[3], id, id)
local latest = redis.call('HGET', KEYS[1], 'latest_at')
if not latest or tonumber(ARGV[3]) > tonumber(latest) then
  redis.call('HSET', KEYS[1], 'latest_at', ARGV[3])
end
redis.call('HSET', KEYS[4], ARGV[1], id)
redis.call('HSET', KEYS[5], ARGV[1], id .. ' ' .. ARGV[4])
return id
"""
# KEYS: meta; ARGV: at -- the latest post's time only ever moves forward (two servers posting
# at once may finish in either order)
_RAISE_LATEST = """
local latest = redis.call('HGET', KEYS[1], 'latest_at')
if not latest or tonumber(ARGV[1]) > tonumber(latest) then
  redis.call('HSET', KEYS[1], 'latest_at', ARGV[1])
end
return 0
"""
# KEYS: pending; ARGV: author, post id -- clear the mark only if it is still that post's
_CLEAR_PENDING = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
"""


@checked_store  # outermost: unchecked() hands the strategies the guarded methods
@outages_as(FeedUnavailable)
class RedisStore:
    """Feed state in Redis: sets for the graph, a hash of posts, sorted sets for timelines.

    ``client`` is a ``redis.Redis`` made with ``decode_responses=True``. The store talks through
    a twin of it with the same settings, built so that each round trip waits at most
    ``deadline`` seconds (default 0.25) with no retries: with the server down or frozen, every
    call raises :class:`~designpatterns_ref.feed.base.FeedUnavailable` within about ``deadline``
    (see :mod:`designpatterns_ref.redisclient`). Stores built on one client with one deadline
    share that twin (one pool, or one cluster client), so a store per tenant or prefix costs no
    connections of its own.
    """

    name = "redis"
    #: Several processes may share the state: feeds default to wall-clock time on it.
    shared = True

    def __init__(
        self, client: Any, *, prefix: str = "feed:", deadline: float = DEFAULT_DEADLINE_S
    ) -> None:
        self.deadline = check_deadline("RedisStore", deadline, FeedError)
        if not isinstance(prefix, str) or not prefix:
            raise FeedTypeError(f"prefix={shown(prefix)} must be a non-empty str")
        _check_encodable("prefix", prefix)  # every key holds it, and Redis keeps UTF-8
        for mark in _FAMILY_MARKS:
            at = prefix.find(mark, 1)
            if at > 0:
                raise FeedError(
                    f"prefix={shown(prefix, 80)} holds {shown(mark)} after its start, so its keys "
                    f"could be another store's (the {shown(mark[:-1])} keys of prefix "
                    f"{shown(prefix[:at], 80)}); "
                    f"a prefix may hold {', '.join(_FAMILY_MARKS)} only at its start"
                )
        redis_mod = sys.modules.get("redis")
        if redis_mod is None or not (isinstance(client, redis_mod.Redis) or is_cluster(client)):
            raise FeedTypeError(
                f"client={shown(client)} must be a redis.Redis or RedisCluster "
                "(or use RedisStore.from_url(url))"
            )
        if not client.get_connection_kwargs().get("decode_responses"):
            raise FeedError("client must be created with decode_responses=True")
        self.r = bounded_client(client, self.deadline)
        self.prefix = prefix
        #: True on a Redis Cluster client: no cross-slot MULTI or SINTER.
        self.cluster = is_cluster(client)

    def _pipe(self) -> Any:
        """A MULTI/EXEC pipeline on one server; on a cluster, a per-node batch (no MULTI)."""
        return self.r.pipeline(transaction=not self.cluster)

    @classmethod
    def from_url(
        cls, url: str, *, prefix: str = "feed:", deadline: float = DEFAULT_DEADLINE_S
    ) -> RedisStore:
        """A store on a new client for ``url`` (``redis://host:port/db``)."""
        import redis

        if not isinstance(url, str):
            raise FeedTypeError(f"url={shown(url)} must be a redis:// URL")
        try:
            client = redis.Redis.from_url(url, decode_responses=True)
        except ValueError as exc:
            raise FeedError(f"url={shown(url)} is not a Redis URL: {exc}") from None
        return cls(client, prefix=prefix, deadline=deadline)

    def _k(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def _match(self, *parts: str) -> str:
        """A ``SCAN MATCH`` pattern: this store's keys ``parts`` then anything (prefix escaped,
        so ``feed-?u:`` never matches ``feed-eu:``'s keys)."""
        return _glob_escape(self._k(*parts)) + "*"

    def clear(self) -> int:
        """Delete every key of this store (its own key families, see the module's table);
        return how many.

        The scans match ``prefix`` followed by a family's name (``feed:home:*``), never
        ``prefix`` then anything: a store nested under this one (prefix ``feed:eu:`` under
        ``feed:``) keeps its keys. A nested prefix that starts with a family's name
        (``feed:home:x:``) would share keys with this store, and is refused when its store is
        made.
        """
        deleted = sum(int(self.r.delete(self._k(name))) for name in _SINGLE_KEYS)
        for family in _KEY_FAMILIES:
            keys = list(self.r.scan_iter(match=self._match(family, ""), count=1000))
            for i in range(0, len(keys), 1000):
                deleted += int(self.r.delete(*keys[i : i + 1000]))
        return deleted

    def claim(self, strategy: str) -> str:
        """Record ``strategy`` in ``meta`` unless one already is (``HSETNX``, so two servers
        claiming at once agree), and return the one recorded."""
        pipe = self._pipe()  # one key: on a cluster too, its node runs the two in order
        pipe.hsetnx(self._k("meta"), "strategy", strategy)
        pipe.hget(self._k("meta"), "strategy")
        return str(pipe.execute()[1])

    # users and activity
    def add_user(self, user: str, now: float) -> None:
        """Register ``user``, last seen ``now``: one ``MULTI``; on a cluster, where the two
        keys may sit on two nodes, the ``seen`` time first, then the user, so an add cut short
        between them leaves no user (its retry adds it), never a user without a time."""
        if self.cluster:
            self.r.hset(self._k("seen"), user, repr(now))
            self.r.sadd(self._k("users"), user)
            return
        pipe = self._pipe()
        pipe.sadd(self._k("users"), user)
        pipe.hset(self._k("seen"), user, repr(now))
        pipe.execute()

    def has_user(self, user: str) -> bool:
        return bool(self.r.sismember(self._k("users"), user))

    def user_count(self) -> int:
        return int(self.r.scard(self._k("users")))

    def touch(self, user: str, now: float) -> None:
        self.r.hset(self._k("seen"), user, repr(now))

    def last_seen(self, users: Sequence[str]) -> list[float]:
        """When each of ``users`` last read their timeline; FeedError for one never added.

        The membership is checked for every name, in the same round trip as the times: a
        cluster add cut short after the time and before the user leaves a time for a name that
        is not a user. A user without a time (added by an older version whose cluster add was
        cut short after the user and before the time) was never seen: ``-inf``.
        """
        if not users:
            return []
        names = list(users)
        pipe = self._pipe()
        pipe.hmget(self._k("seen"), names)
        pipe.smismember(self._k("users"), names)
        seen, known = pipe.execute()
        for user, is_user in zip(names, known, strict=True):
            if not is_user:
                raise FeedError(f"user={shown(user)} is not a user of this store")
        return [NEVER if t is None else float(t) for t in seen]

    # the follow graph
    def add_edge(self, follower: str, followee: str) -> bool:
        pipe = self._pipe()
        pipe.sadd(self._k("followees", follower), followee)
        pipe.sadd(self._k("followers", followee), follower)
        return bool(pipe.execute()[0])

    def remove_edge(self, follower: str, followee: str) -> bool:
        pipe = self._pipe()
        pipe.srem(self._k("followees", follower), followee)
        pipe.srem(self._k("followers", followee), follower)
        return bool(pipe.execute()[0])

    def follows(self, follower: str, followee: str) -> bool:
        return bool(self.r.sismember(self._k("followees", follower), followee))

    def followers(self, user: str) -> list[str]:
        return list(self.r.smembers(self._k("followers", user)))

    def followees(self, user: str) -> list[str]:
        return list(self.r.smembers(self._k("followees", user)))

    def follower_count(self, user: str) -> int:
        return int(self.r.scard(self._k("followers", user)))

    def followees_flagged(self, user: str, kind: str) -> list[str]:
        if not self.cluster:
            return list(self.r.sinter(self._k("followees", user), self._k("flag", kind)))
        followees = list(self.r.smembers(self._k("followees", user)))
        flagged = self.has_flag(kind, followees)
        return [name for name, on in zip(followees, flagged, strict=True) if on]

    # posts
    def new_post(self, author: str, at: float, body: str, key: str = "") -> Post:
        blob = json.dumps([author, at, body])
        if not self.cluster:
            keys = [self._k(k) for k in ("meta", "posts", "by:" + author, "pending", "keys")]
            post_id = int(self.r.eval(_NEW_POST, len(keys), *keys, author, blob, repr(at), key))
            return Post(post_id, author, at, body)
        post = Post(int(self.r.hincrby(self._k("meta"), "next_id", 1)), author, at, body)
        pipe = self._pipe()  # the marks before the post can be seen
        pipe.hset(self._k("pending"), author, str(post.id))
        pipe.hset(self._k("keys"), author, f"{post.id} {key}")
        pipe.execute()
        pipe = self._pipe()
        pipe.hset(self._k("posts"), str(post.id), blob)
        pipe.zadd(self._k("by", author), {str(post.id): post.id})
        pipe.execute()
        self.r.eval(_RAISE_LATEST, 1, self._k("meta"), repr(at))
        return post

    def pending_post(self, author: str) -> int | None:
        pending = self.r.hget(self._k("pending"), author)
        return None if pending is None else int(pending)

    def last_key(self, author: str) -> tuple[int, str] | None:
        last = self.r.hget(self._k("keys"), author)
        if last is None:
            return None
        post_id, key = last.split(" ", 1)
        return int(post_id), key

    def clear_pending(self, author: str, post_id: int) -> None:
        self.r.eval(_CLEAR_PENDING, 1, self._k("pending"), author, str(post_id))

    def latest_at(self) -> float:
        latest = self.r.hget(self._k("meta"), "latest_at")
        return float("-inf") if latest is None else float(latest)

    def post_mark(self) -> int | None:
        """The last id handed out, on one server (a post takes its id and is stored in one
        script); ``None`` on a cluster, where a post is stored a round trip after its id, so
        a post with an id below the mark may still appear."""
        if self.cluster:
            return None
        return int(self.r.hget(self._k("meta"), "next_id") or 0)

    def get_post(self, post_id: int) -> Post | None:
        posts = self.get_posts([post_id])
        return posts[0] if posts else None

    def get_posts(self, ids: Sequence[int]) -> list[Post]:
        """The live posts among ``ids``, in order; an id outside [-MAX_ID, MAX_ID) is absent
        (never sent: ``str`` of an int past 4,300 digits raises)."""
        if not all(map(id_in_range, ids)):
            ids = [i for i in ids if id_in_range(i)]
        if not ids:
            return []
        raw = self.r.hmget(self._k("posts"), [str(i) for i in ids])
        out = []
        for post_id, blob in zip(ids, raw, strict=True):
            if blob is not None:
                author, at, body = json.loads(blob)
                out.append(Post(post_id, author, at, body))
        return out

    def drop_post(self, post: Post) -> None:
        pipe = self._pipe()
        pipe.hdel(self._k("posts"), str(post.id))
        pipe.zrem(self._k("by", post.author), str(post.id))
        pipe.execute()

    def authored(
        self, authors: Sequence[str], limit: int, before: int, after: int = 0
    ) -> list[list[int]]:
        if not authors:
            return []
        low = _above(after)
        pipe = self.r.pipeline(transaction=False)
        for author in authors:
            pipe.zrevrangebyscore(self._k("by", author), _bound(before), low, 0, limit)
        return [[int(i) for i in ids] for ids in pipe.execute()]

    # home timelines
    def home_add(
        self, users: Sequence[str], ids: Sequence[int], max_len: int, *, capped: bool = False
    ) -> int:
        if not users or not ids:
            return 0
        mapping = {str(i): i for i in ids}
        pipe = self._pipe()
        for user in users:
            key = self._k("home", user)
            pipe.zadd(key, mapping)
            pipe.zcard(key)
        sizes = pipe.execute()[1::2]
        over = [u for u, n in zip(users, sizes, strict=True) if n > max_len]
        cut = list(users) if capped else over
        if cut:
            # the capped flag before (or in the same MULTI as) the trim: an outage between
            # leaves a flagged timeline that is not yet cut (exact, merely merged on deep
            # reads), never a cut one that claims to be complete
            pipe = self._pipe()
            pipe.sadd(self._k("flag", "capped"), *cut)
            if self.cluster:  # no MULTI across slots: the flags in a round trip of their own
                pipe.execute()
                pipe = self._pipe()
            for user in over:  # trim on write: keep the newest
                pipe.zremrangebyrank(self._k("home", user), 0, -(max_len + 1))
            pipe.execute()
        return len(users) * len(ids)

    def home_remove(self, users: Sequence[str], ids: Sequence[int]) -> int:
        if not users or not ids:
            return 0
        members = [str(i) for i in ids]
        pipe = self._pipe()
        for user in users:
            pipe.zrem(self._k("home", user), *members)
        return sum(pipe.execute())

    def home_page(self, user: str, limit: int, before: int) -> list[int]:
        key = self._k("home", user)
        return [int(i) for i in self.r.zrevrangebyscore(key, _bound(before), "-inf", 0, limit)]

    def home_floors(self, users: Sequence[str]) -> list[int]:
        pipe = self.r.pipeline(transaction=False)
        for user in users:
            pipe.sismember(self._k("flag", "capped"), user)
            pipe.zrange(self._k("home", user), 0, 0)
        res = pipe.execute()
        return [_floor(c, o) for c, o in zip(res[0::2], res[1::2], strict=True)]

    def home_read(self, user: str, limit: int, before: int) -> tuple[list[int], int]:
        """:meth:`home_page` and the timeline's floor: one ``MULTI`` on one server.

        On a cluster the timeline and the capped flags hash to different slots, so no
        ``MULTI`` (nor script) holds both: the page and the oldest id go first, the capped
        flag in a round trip after them. The capped mark is never taken off, so the flag read
        after the page is at least the one the page was read under; the oldest id may be older
        than the timeline's by then (trimmed since), which is why a reader bounds what it
        merges by the page it got, not by the floor (see ``FanoutOnWrite._load``).
        """
        key, capped = self._k("home", user), self._k("flag", "capped")
        pipe = self._pipe()
        pipe.zrevrangebyscore(key, _bound(before), "-inf", 0, limit)
        pipe.zrange(key, 0, 0)
        if self.cluster:
            page, oldest = pipe.execute()
            is_capped = self.r.sismember(capped, user)
        else:
            pipe.sismember(capped, user)
            page, oldest, is_capped = pipe.execute()
        return [int(i) for i in page], _floor(is_capped, oldest)

    def home_clear(self, user: str) -> None:
        """Empty ``user``'s timeline and mark it capped (the mark is never taken off, see
        :class:`~designpatterns_ref.feed.FeedStore`): one ``MULTI``; on a cluster the mark
        first, in a round trip of its own, so no reader finds the emptied timeline complete."""
        pipe = self._pipe()
        pipe.sadd(self._k("flag", "capped"), user)
        if self.cluster:
            pipe.execute()
            pipe = self._pipe()
        pipe.delete(self._k("home", user))
        pipe.execute()

    def home_entries(self) -> int:
        """Entries over all home timelines: a scan of the ``home:*`` keys, O(users)."""
        keys = list(self.r.scan_iter(match=self._match("home", ""), count=1000))
        pipe = self.r.pipeline(transaction=False)
        for key in keys:
            pipe.zcard(key)
        return sum(pipe.execute()) if keys else 0

    def home_bytes(self) -> int:
        """Bytes Redis reports (``MEMORY USAGE``) for all home timelines, O(users)."""
        keys = list(self.r.scan_iter(match=self._match("home", ""), count=1000))
        pipe = self.r.pipeline(transaction=False)
        for key in keys:
            pipe.memory_usage(key, samples=0)
        return sum(n or 0 for n in pipe.execute()) if keys else 0

    # flags
    def set_flag(self, kind: str, users: Iterable[str], on: bool) -> None:
        names = list(users)
        if names:
            key = self._k("flag", kind)
            if on:
                self.r.sadd(key, *names)
            else:
                self.r.srem(key, *names)

    def has_flag(self, kind: str, users: Sequence[str]) -> list[bool]:
        if not users:
            return []
        return [bool(x) for x in self.r.smismember(self._k("flag", kind), list(users))]
