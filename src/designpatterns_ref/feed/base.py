"""The news-feed interface: posts, the store protocol, the work counters and the checks.

Case study: Design a Social News Feed (Twitter / LinkedIn) (docs/case-studies/news-feed.md)

Every strategy answers the same five calls: ``follow(a, b)``, ``unfollow(a, b)``,
``post(author)``, ``delete(post_id)`` and ``timeline(user, limit=50, before=None)``. A timeline
is the followees' live posts, newest first. Posts are appended in time order (``at`` never goes
back), and their ids grow with every post, so "newest first, ties broken by post id" is simply
"highest id first": a page boundary is one id, and the next page is every id below it, so
paging never repeats or drops a post.

A post is stored once, in the store's post table and in its author's own list; timelines hold
post ids only. Where the ids and the graph live is the job of a :class:`FeedStore` (in memory,
or Redis sorted sets); what is precomputed and what is merged on read is the job of the
strategy (:class:`~designpatterns_ref.feed.strategy.Feed` holds what the strategies share).
Every strategy counts its work in a :class:`FeedStats`.

Complexity of the shared pieces: :func:`merge_newest` merges ``k`` newest-first lists in
O(k + limit log k) and stops after ``limit`` ids.

>>> merge_newest([[9, 4, 1], [8, 7], [6]], limit=4)
[9, 8, 7, 6]
>>> Post(id=3, author="ada", at=1.5)
Post(id=3, author='ada', at=1.5, body='')
"""

from __future__ import annotations

import heapq
import inspect
import itertools
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Protocol

from designpatterns_ref.clock import Clock, system_clock
from designpatterns_ref.errors import DesignPatternsError, shown

__all__ = [
    "COMPLETE",
    "MAX_ID",
    "MAX_KEY_LEN",
    "MAX_LIMIT",
    "FeedError",
    "FeedStats",
    "FeedStore",
    "FeedTypeError",
    "FeedUnavailable",
    "Post",
    "merge_newest",
]

#: The largest page (``timeline``'s ``limit``) or timeline length (``max_len``) accepted.
MAX_LIMIT = 1_000_000_000
#: The floor of a timeline that holds every post it should: no id is missing above 0.
COMPLETE = 0
#: The floor of a capped timeline that is empty: nothing in it can be trusted.
NOTHING = sys.maxsize
#: The longest idempotency ``key`` a post accepts.
MAX_KEY_LEN = 200
#: Post ids lie in [-MAX_ID, MAX_ID) (a store hands out 1, 2, ...; Redis keeps 64-bit ints):
#: every store treats an id outside it as absent, never converting it (Python cannot print an
#: int of more than 4,300 digits).
MAX_ID = 2**63


def id_in_range(post_id: int) -> bool:
    """Could a store hold a post with this id (see :data:`MAX_ID`)?"""
    return -MAX_ID <= post_id < MAX_ID


class FeedError(DesignPatternsError, ValueError):
    """A feed call had a bad value: unknown user, self-follow, bad limit or cursor, and so on."""


class FeedTypeError(FeedError, TypeError):
    """A feed call had an argument of the wrong type (a cursor that is not a Post, ...)."""


class FeedUnavailable(FeedError):
    """The feed's store did not answer in time (a Redis server down or frozen)."""


@dataclass(frozen=True, slots=True)
class Post:
    """One post: stored once, referenced by id from every timeline that shows it."""

    id: int
    author: str
    at: float
    body: str = ""


@dataclass
class FeedStats:
    """The work a strategy has done, counted in timeline entries and timeline reads.

    ``post_writes`` counts entries written into home timelines when posting (push writes one
    per follower); ``load_reads`` counts the timelines read to serve ``timeline()`` (pull reads
    one per followee). ``maintenance_writes`` and ``removals`` count the entries written and
    removed by follows, unfollows, deletes, rebuilds and celebrity crossings.
    """

    posts: int = 0
    post_writes: int = 0
    max_post_writes: int = 0
    loads: int = 0
    load_reads: int = 0
    maintenance_writes: int = 0
    removals: int = 0
    skipped: int = 0
    rebuilds: int = 0

    @property
    def writes_per_post(self) -> float:
        """Mean home-timeline entries written per post."""
        return self.post_writes / self.posts if self.posts else 0.0

    @property
    def reads_per_load(self) -> float:
        """Mean timelines read per timeline load."""
        return self.load_reads / self.loads if self.loads else 0.0

    @property
    def total_work(self) -> int:
        """Every entry written, removed or read: the cost of the whole mix in one number."""
        return self.post_writes + self.load_reads + self.maintenance_writes + self.removals

    def copy(self) -> FeedStats:
        """A snapshot of the counters."""
        return FeedStats(**{f.name: getattr(self, f.name) for f in fields(self)})

    def since(self, earlier: FeedStats) -> FeedStats:
        """The work done after the ``earlier`` snapshot (``max_post_writes`` kept as is)."""
        if not isinstance(earlier, FeedStats):
            raise FeedTypeError(
                f"earlier={type(earlier).__name__} must be a FeedStats (a snapshot from copy())"
            )
        out = FeedStats(**{f.name: getattr(self, f.name) - getattr(earlier, f.name)
                           for f in fields(self)})  # fmt: skip
        out.max_post_writes = self.max_post_writes
        return out


def merge_newest(lists: Sequence[Sequence[int]], limit: int) -> list[int]:
    """The ``limit`` highest ids of several newest-first, duplicate-free lists.

    A k-way heap merge: one heap entry per list, pop the newest, push that list's next id,
    stop as soon as ``limit`` ids are out. An id found in several lists comes out once.

    >>> merge_newest([[5, 2], [], [4, 3, 1]], limit=10)
    [5, 4, 3, 2, 1]
    >>> merge_newest([[5, 2], [5, 3]], limit=10)
    [5, 3, 2]

    The arguments are checked (lists of int ids, ``limit`` an int >= 0); the strategies call the
    unchecked ``_merge_newest`` on lists their store produced.
    """
    if isinstance(lists, str | bytes) or not isinstance(lists, Sequence):
        raise FeedTypeError(f"lists={shown(lists, 80)} must be a sequence of lists of post ids")
    for ids in lists:
        if isinstance(ids, str | bytes) or not isinstance(ids, Sequence):
            raise FeedTypeError(f"lists holds {shown(ids, 80)}, which is not a list of post ids")
        if not all(_is_id(i) for i in ids):
            raise FeedTypeError(f"lists holds {shown(ids, 80)}: post ids must be ints")
        if any(a <= b for a, b in itertools.pairwise(ids)):
            raise FeedError(f"lists holds {shown(ids, 80)}: each must be newest first, no repeats")
    if not _is_id(limit):
        raise FeedTypeError(f"limit={shown(limit)} must be an int")
    if limit < 0:
        raise FeedError(f"limit={shown(limit)} must be zero or more")
    return _merge_newest(lists, limit)


def _merge_newest(lists: Sequence[Sequence[int]], limit: int) -> list[int]:
    """:func:`merge_newest` without the checks."""
    heap = [(-ids[0], 0, ids) for ids in lists if ids]
    if len(heap) == 1:
        return list(heap[0][2][:limit])
    heapq.heapify(heap)
    out: list[int] = []
    while heap and len(out) < limit:
        neg, pos, ids = heap[0]
        if not out or out[-1] != -neg:  # the same id in two lists comes out once
            out.append(-neg)
        pos += 1
        if pos < len(ids):
            heapq.heapreplace(heap, (-ids[pos], pos, ids))
        else:
            heapq.heappop(heap)
    return out


class FeedStore(Protocol):
    """Where the users, the follow graph, the posts and the home timelines live.

    Home timelines are newest-first sets of post ids, trimmed to ``max_len`` on write. A
    timeline that has been trimmed is *capped*: its *floor* is its oldest id, and only ids at
    or above the floor are guaranteed to be all there (:data:`COMPLETE` when nothing was ever
    cut, ``sys.maxsize`` when a capped timeline is empty). The capped mark must never lag
    behind a trim: a store sets it before, or in the same transaction as, the cut. It is never
    taken off: ``home_clear`` empties a timeline and leaves it capped (floor ``sys.maxsize``,
    so its reads merge everything until it is refilled), and ``home_read`` returns a page with
    its timeline's floor, read in one step (on a Redis Cluster, the floor after the page), so a
    reader never takes a page cut by a trim or a clear for a complete one.

    ``new_post`` stores the post, marks it as the author's *pending* post and records its
    idempotency ``key`` as the author's last one, in one step; ``pending_post`` tells which post
    of an author is still being fanned out, ``clear_pending`` ends that once its fan-out is
    done, and ``last_key`` gives the id and key of the author's newest post. ``post_mark``
    is a number that changes whenever a post can newly be seen (``None`` when the store cannot
    tell that cheaply): equal readings mean no post appeared in between. ``claim`` records the
    strategy that fills the store (its kind, and the hybrid's threshold) the first time a feed
    is made on it, and returns the one recorded, so that a feed of another strategy refuses a
    store whose timelines it would misread. A ``shared``
    store (Redis) is read by several processes, so its feeds default to wall-clock time (see
    :class:`Feed`).
    """

    name: str

    def claim(self, strategy: str) -> str: ...

    # users and activity
    def add_user(self, user: str, now: float) -> None: ...
    def has_user(self, user: str) -> bool: ...
    def user_count(self) -> int: ...
    def touch(self, user: str, now: float) -> None: ...
    def last_seen(self, users: Sequence[str]) -> list[float]: ...

    # the follow graph
    def add_edge(self, follower: str, followee: str) -> bool: ...
    def remove_edge(self, follower: str, followee: str) -> bool: ...
    def follows(self, follower: str, followee: str) -> bool: ...
    def followers(self, user: str) -> list[str]: ...
    def followees(self, user: str) -> list[str]: ...
    def follower_count(self, user: str) -> int: ...
    def followees_flagged(self, user: str, kind: str) -> list[str]: ...

    # posts, stored once
    def new_post(self, author: str, at: float, body: str, key: str = "") -> Post: ...
    def latest_at(self) -> float: ...
    def post_mark(self) -> int | None: ...
    def pending_post(self, author: str) -> int | None: ...
    def last_key(self, author: str) -> tuple[int, str] | None: ...
    def clear_pending(self, author: str, post_id: int) -> None: ...
    def get_post(self, post_id: int) -> Post | None: ...
    def get_posts(self, ids: Sequence[int]) -> list[Post]: ...
    def drop_post(self, post: Post) -> None: ...
    def authored(
        self, authors: Sequence[str], limit: int, before: int, after: int = 0
    ) -> list[list[int]]: ...

    # home timelines
    def home_add(
        self, users: Sequence[str], ids: Sequence[int], max_len: int, *, capped: bool = False
    ) -> int: ...
    def home_remove(self, users: Sequence[str], ids: Sequence[int]) -> int: ...
    def home_page(self, user: str, limit: int, before: int) -> list[int]: ...
    def home_read(self, user: str, limit: int, before: int) -> tuple[list[int], int]: ...
    def home_floors(self, users: Sequence[str]) -> list[int]: ...
    def home_clear(self, user: str) -> None: ...
    def home_entries(self) -> int: ...
    def home_bytes(self) -> int: ...

    # flags: "celebrity", "stale"
    def set_flag(self, kind: str, users: Iterable[str], on: bool) -> None: ...
    def has_flag(self, kind: str, users: Sequence[str]) -> list[bool]: ...


def _check_user(field: str, user: object) -> str:
    if not isinstance(user, str):
        raise FeedTypeError(f"{field}={shown(user)} must be a user name (str)")
    _check_encodable(field, user)
    return user


def _check_encodable(field: str, text: str) -> None:
    # Every store must agree: Redis keeps UTF-8, which cannot carry a lone surrogate.
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise FeedError(
                f"{field}={shown(text[:80])} holds {shown(text[exc.start])} at position "
                f"{exc.start}, "
                "which UTF-8 cannot encode (a lone surrogate)"
            ) from None


#: What a store must provide (the methods of :class:`FeedStore`).
_STORE_METHODS = tuple(
    name for name in FeedStore.__dict__ if not name.startswith("_") and name != "name"
)


def check_store(store: object) -> FeedStore:
    """Return ``store`` if it has every :class:`FeedStore` method, else raise FeedTypeError."""
    missing = [m for m in _STORE_METHODS if not callable(getattr(store, m, None))]
    if isinstance(store, type):
        raise FeedTypeError(
            f"store={shown(store)} is a class; pass an instance, such as MemoryStore()"
        )
    if missing or not isinstance(getattr(store, "name", None), str):
        raise FeedTypeError(
            f"store={shown(store)} is not a FeedStore (a MemoryStore, a RedisStore or one with the "
            f"same methods); missing: {', '.join(missing) or 'name'}"
        )
    return store  # type: ignore[return-value]


def check_clock(clock: object, store: object = None) -> Clock:
    """Return ``clock`` if it is callable, else raise :class:`FeedTypeError`.

    ``None`` picks the default for ``store``: ``time.time`` (wall-clock seconds, the same in
    every process) when the store is ``shared`` between processes, as a Redis store is, else
    the process's own monotonic :func:`~designpatterns_ref.clock.system_clock`.
    """
    if clock is None:
        return time.time if getattr(store, "shared", False) else system_clock
    if not callable(clock):
        raise FeedTypeError(f"clock={shown(clock)} must be a callable returning seconds")
    try:
        inspect.signature(clock).bind()
    except TypeError:  # needs an argument: every reading would fail with a bare TypeError
        raise FeedTypeError(
            f"clock={shown(clock)} must be callable with no arguments, returning seconds"
        ) from None
    except ValueError:  # no signature to inspect (some builtins): take it as it is
        pass
    return clock


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
