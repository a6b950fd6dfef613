"""The shared front of every feed strategy: each call's arguments checked, then the work.

Case study: Design a Social News Feed (Twitter / LinkedIn) (docs/case-studies/news-feed.md)

:class:`Feed` holds what push (:mod:`~designpatterns_ref.feed.push`), pull
(:mod:`~designpatterns_ref.feed.pull`) and the hybrid (:mod:`~designpatterns_ref.feed.hybrid`)
share: users and the follow graph, posting with an idempotency key, deleting, and paging a
timeline by a cursor (the last :class:`~designpatterns_ref.feed.base.Post` of the previous
page). Every public call checks all of its arguments before it changes anything; a strategy
supplies only what happens to the timelines on a post, a delete, a follow and a load. It calls
its store through :func:`~designpatterns_ref.feed.storecheck.unchecked`, since the store's own
checks would repeat the ones made here.
"""

from __future__ import annotations

import sys
from abc import ABC, abstractmethod
from collections.abc import Iterable

from designpatterns_ref.clock import Clock, read_seconds
from designpatterns_ref.errors import shown
from designpatterns_ref.feed.base import (
    MAX_KEY_LEN,
    MAX_LIMIT,
    FeedError,
    FeedStats,
    FeedStore,
    FeedTypeError,
    Post,
    _check_encodable,
    _check_user,
    _is_id,
    check_clock,
    check_store,
    id_in_range,
)
from designpatterns_ref.feed.storecheck import _time, unchecked

__all__ = ["Feed"]


class Feed(ABC):
    """The shared front of every strategy: validation first, then the strategy's own work.

    Each public call checks all of its arguments before it changes anything, so a call that
    raises :class:`FeedError` leaves the feed exactly as it was. A feed is not thread-safe:
    a call may span several store operations, so share one between threads behind a lock.
    """

    #: a short name for tables ("push", "pull", "hybrid")
    kind = "feed"

    def __init__(self, store: FeedStore | None = None, *, clock: Clock | None = None) -> None:
        if clock is not None:
            check_clock(clock)
        if store is None:
            from designpatterns_ref.feed.memory import MemoryStore

            store = MemoryStore()
        self.store: FeedStore = check_store(store)
        # What this strategy calls: it checks every argument users hand it, so its store's own
        # checks would run twice (a quarter of a simulated mix on the memory store).
        self._store: FeedStore = unchecked(self.store)
        self.clock = check_clock(clock, store)
        self.stats = FeedStats()
        # A store's timelines are what the strategy that filled them made (none for pull,
        # pushed ids for push, push below a threshold for the hybrid): another would misread
        # them (push finds a pull store's timelines empty and complete; a hybrid with a lower
        # threshold pushes to followers its flags say are too many).
        recorded = self._store.claim(self._strategy())
        if recorded != self._strategy():
            raise FeedError(
                f"store={shown(store)} is claimed by {shown(recorded)} (a feed of it was made "
                f"on the store, empty or not), not {shown(self._strategy())}: a store serves one "
                "strategy (and one hybrid threshold); use a fresh store (or clear() a RedisStore) "
                "and load the graph again"
            )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(store={self.store.name})"

    def _strategy(self) -> str:
        """What this strategy records in its store (see :meth:`FeedStore.claim`)."""
        return self.kind

    # -- validation helpers ------------------------------------------------------------

    def _known(self, field: str, user: object) -> str:
        name = _check_user(field, user)
        if not self._store.has_user(name):
            raise FeedError(
                f"{field}={shown(name)} is not a known user; add_user({shown(name)}) first"
            )
        return name

    def _pair(self, a: object, b: object) -> tuple[str, str]:
        follower, followee = self._known("a", a), self._known("b", b)
        if follower == followee:
            raise FeedError(f"a=b={shown(follower)}: a user cannot follow themselves")
        return follower, followee

    # -- the interface ------------------------------------------------------------------

    def add_user(self, user: str) -> None:
        """Register ``user``; a name that is already taken is refused."""
        name = _check_user("user", user)
        if not name:
            raise FeedError("user='' must be a non-empty name")
        if self._store.has_user(name):
            raise FeedError(f"user={shown(name)} already exists")
        now = read_seconds(self.clock, FeedError, f"{type(self).__name__}.add_user")
        self._store.add_user(name, now)

    def add_users(self, users: Iterable[str]) -> None:
        """Register several users, all checked (as :meth:`add_user` does, the clock read once
        for all of them) before any is added."""
        if isinstance(users, str) or not isinstance(users, Iterable):
            raise FeedTypeError(f"users={shown(users)} must be an iterable of user names")
        names = list(users)
        fresh: set[str] = set()
        for user in names:
            name = _check_user("user", user)
            if not name:
                raise FeedError("user='' must be a non-empty name")
            if name in fresh or self._store.has_user(name):
                raise FeedError(f"user={shown(name)} already exists")
            fresh.add(name)
        now = read_seconds(self.clock, FeedError, f"{type(self).__name__}.add_users")
        for name in names:
            self._store.add_user(name, now)

    def has_user(self, user: str) -> bool:
        """Whether ``user`` is registered (a name UTF-8 cannot encode never is)."""
        if not isinstance(user, str):
            return False
        try:
            _check_encodable("user", user)
        except FeedError:
            return False
        return self._store.has_user(user)

    def followers(self, user: str) -> list[str]:
        """The users following ``user``, sorted."""
        return sorted(self._store.followers(self._known("user", user)))

    def followees(self, user: str) -> list[str]:
        """The users ``user`` follows, sorted."""
        return sorted(self._store.followees(self._known("user", user)))

    def follow(self, a: str, b: str) -> bool:
        """``a`` follows ``b``; ``b``'s recent posts enter ``a``'s timeline. False if already.

        When ``a`` already follows ``b`` the timeline step runs again (it is idempotent), so
        retrying a follow that failed half-way (:class:`FeedUnavailable`) completes it; the
        retry returns False if the first attempt had stored the edge.
        """
        follower, followee = self._pair(a, b)
        added = self._store.add_edge(follower, followee)  # re-adds both halves if half there
        self._on_follow(follower, followee)
        return added

    def unfollow(self, a: str, b: str) -> bool:
        """``a`` stops following ``b``; ``b``'s posts leave ``a``'s timeline. False if not.

        As for :meth:`follow`, the timeline step runs even when the edge is already gone, so a
        retry after a failure completes the unfollow.
        """
        follower, followee = self._pair(a, b)
        removed = self._store.remove_edge(follower, followee)
        self._on_unfollow(follower, followee)
        return removed

    def post(
        self, author: str, *, at: float | None = None, body: str = "", key: str | None = None
    ) -> Post:
        """Publish a post by ``author`` at time ``at`` (default: the clock's now).

        Posts are appended in time order: an ``at`` before the latest post's is refused. With
        ``at=None`` a clock slightly behind the latest post (another server's, skewed by a few
        milliseconds) stamps the post at the latest post's time instead. Two servers posting at
        the same moment to one shared store both pass the check before either stores its post,
        so their two posts may hold ids and times in opposite orders (by at most the time
        between the check and the write); the store's latest time only moves forward, so every
        later post is stamped at or after both.

        **Retrying.** A post that raised :class:`FeedUnavailable` may already be stored, and
        shown to some readers, without having reached every follower's timeline. The store
        keeps it as the author's *pending* post, and the author's next call finishes its fan-out
        first, so the post is published either way. What a user retrying a failed post expects
        is the post published once, and only an idempotency ``key`` tells a retry from a new
        post: with a ``key`` (any string naming this one post, say a UUID the client made, at
        most ``MAX_KEY_LEN`` = 200 characters), a call whose key is the key of the author's
        newest post returns that post (same id and time) and makes no second one, even when
        the first attempt had finished and only its answer was lost, and even when others have
        posted since (the key is looked up before the time-order check, which applies to new
        posts only; ``at`` must still be a finite number, and an int a float holds exactly).

        Without a key every call is a new post, even with the body of the author's pending
        one: a pending post may be a failed attempt or one another server is still fanning
        out (the author posting the same words twice from two devices), and nothing in the
        store tells the two apart. So a retry without a key publishes a second post (delete
        the first to take it back).
        """
        name = self._known("author", author)
        # the one clock reading of the call, taken before anything changes: the post's time
        # when `at` is None, and the hybrid's cut between active and idle followers
        now = (
            read_seconds(self.clock, FeedError, f"{type(self).__name__}.post")
            if at is None or self._post_reads_clock()
            else None
        )
        # the stores' own check of a time: a finite number a float holds exactly
        when = _time("at", now if at is None else at)
        if not isinstance(body, str):
            raise FeedTypeError(f"body={shown(body)} must be a str")
        _check_encodable("body", body)
        if key is not None:
            if not isinstance(key, str):
                raise FeedTypeError(f"key={shown(key)} must be a str or None")
            if not 1 <= len(key) <= MAX_KEY_LEN:
                raise FeedError(f"key={shown(key[:80])} must be 1 to {MAX_KEY_LEN} characters")
            _check_encodable("key", key)
        keyed: Post | None = None  # the post this key names, looked up before the time check
        if key is not None:
            last = self._store.last_key(name)
            if last is not None and last[1] == key:
                keyed = self._store.get_post(last[0])  # None if deleted since: post anew
        if keyed is None:
            latest = self._store.latest_at()
            if at is None:
                when = max(when, latest)  # a clock a little behind another server's
            if when < latest:
                raise FeedError(
                    f"at={shown(when)} is before the latest post's time {shown(latest)}; "
                    "posts are appended in time order"
                )
        pending = self._store.pending_post(name)
        if pending is not None:  # an earlier post failed during its fan-out: finish it first
            earlier = self._store.get_post(pending)
            if earlier is not None:
                self._count_post(self._finish_post(earlier, now))
            self._store.clear_pending(name, pending)
        if keyed is not None:
            return keyed  # the retry of a post that was stored
        new = self._store.new_post(name, float(when), body, key or "")
        self._count_post(self._on_post(new, now))
        self._store.clear_pending(name, new.id)
        return new

    def _count_post(self, writes: int) -> None:
        self.stats.posts += 1
        self.stats.post_writes += writes
        self.stats.max_post_writes = max(self.stats.max_post_writes, writes)

    def get_post(self, post_id: int) -> Post | None:
        """The live post with this id, or None (an id that is not an int is refused; an int
        outside [-MAX_ID, MAX_ID) is no post's: None)."""
        if not _is_id(post_id):
            raise FeedTypeError(f"post_id={shown(post_id, 200)} must be a post id (int)")
        return self._store.get_post(post_id) if id_in_range(post_id) else None

    def delete(self, post: int | Post) -> Post:
        """Delete a post (by id or by the Post) from the store and from every timeline."""
        post_id = post.id if isinstance(post, Post) else post
        if not _is_id(post_id):
            raise FeedTypeError(f"post_id={shown(post_id, 200)} must be a post id (int) or a Post")
        found = self._store.get_post(post_id) if id_in_range(post_id) else None
        if found is None:
            label = repr(post_id) if id_in_range(post_id) else "(an int outside [-2**63, 2**63))"
            raise FeedError(f"post_id={label} is not a live post")
        self._on_delete(found)
        self._store.drop_post(found)
        return found

    def timeline(self, user: str, limit: int = 50, before: Post | None = None) -> list[Post]:
        """Up to ``limit`` posts of ``user``'s followees, newest first, older than ``before``.

        Pass the last post of a page as ``before`` to get the next page; a page shorter than
        ``limit`` is the last one. A timeline may hold the id of a post that is gone (deleted
        while another server sharing the store was still pushing it): such an id is removed
        from it, and the page is filled from below it. The hybrid's may also hold a post of an
        author the reader no longer follows (pushed by a server that raced the unfollow across
        a celebrity crossing): such a post is not shown either, and is taken out the same way.
        """
        name = self._known("user", user)
        if isinstance(limit, bool) or not isinstance(limit, int):
            raise FeedTypeError(f"limit={shown(limit)} must be an int")
        if limit < 1:
            raise FeedError(f"limit={shown(limit)} must be at least 1")
        if limit > MAX_LIMIT:
            raise FeedError(f"limit={shown(limit)} is over MAX_LIMIT={MAX_LIMIT}")
        if before is not None:
            _check_cursor(before)
        cursor = sys.maxsize if before is None else before.id
        self._prepare(name)  # may refuse (a bad clock): nothing changed, nothing counted
        ids = self._load(name, limit, cursor)
        self.stats.loads += 1
        page: list[Post] = []
        asked = limit
        while True:
            found = self._store.get_posts(ids)
            stray = self._strays(name, found)
            page += [p for p in found if p.id not in stray] if stray else found
            if len(found) == len(ids) and not stray:
                return page
            # An id without a post: deleted while another server was still fanning it out
            # (the delete's removal ran before that push). Forget it, and fill the page from
            # below it, since a short page means the end of the timeline. A stray (a post of
            # an author the reader no longer follows) leaves a gap filled the same way.
            live = {p.id for p in found}
            gone = [i for i in ids if i not in live]
            if gone:
                self._dangling(name, gone)
            if len(ids) < asked:  # that load reached the end already
                return page
            asked = limit - len(page)
            ids = self._load(name, asked, ids[-1])

    def entries_stored(self) -> int:
        """Post ids held in home timelines, over all users."""
        return self._store.home_entries()

    # -- what each strategy decides ----------------------------------------------------

    def _post_reads_clock(self) -> bool:
        """Whether a post needs the clock's now even when given its time ``at``."""
        return False

    @abstractmethod
    def _on_post(self, post: Post, now: float | None) -> int:
        """Distribute a new post; return the home-timeline entries written. ``now`` is the
        call's clock reading (None when it took none: ``at`` given and not
        :meth:`_post_reads_clock`)."""

    def _finish_post(self, post: Post, now: float | None) -> int:
        """Redo the fan-out of a pending post whose first fan-out failed (idempotent)."""
        return self._on_post(post, now)

    @abstractmethod
    def _on_delete(self, post: Post) -> None:
        """Take a post out of every timeline that holds it (the store drops it after)."""

    @abstractmethod
    def _on_follow(self, follower: str, followee: str) -> None:
        """The edge is already added; bring the followee's recent posts in if needed."""

    @abstractmethod
    def _on_unfollow(self, follower: str, followee: str) -> None:
        """The edge is already removed; take the followee's posts out if needed."""

    def _prepare(self, user: str) -> None:
        """Get ``user``'s timeline ready to read, once a read, before its first load (the
        hybrid reads the clock, and rebuilds a stale timeline); nothing to do here."""
        return None

    @abstractmethod
    def _load(self, user: str, limit: int, before: int) -> list[int]:
        """The ids of ``user``'s timeline page, newest first, all below ``before``."""

    def _strays(self, user: str, posts: list[Post]) -> set[int]:
        """The ids among ``posts`` (read from ``user``'s timeline) that ``user`` must not see:
        none here; the hybrid, whose crossings race other servers' unfollows, checks."""
        return set()

    def _dangling(self, user: str, ids: list[int]) -> None:
        """``_load`` gave ``user`` these ids of posts that are gone: drop what holds them
        (nothing here: a timeline merged on read holds no ids)."""
        return None


def _check_cursor(before: object) -> None:
    """Refuse a ``before`` that is not a Post with the field types every stored post has."""
    if not isinstance(before, Post):
        raise FeedTypeError(
            f"before={shown(before)} is not a post; pass the last Post of the previous page"
        )
    at = before.at
    if (
        not _is_id(before.id)
        or not isinstance(before.author, str)
        or isinstance(at, bool)
        or not isinstance(at, int | float)
    ):
        raise FeedTypeError(
            f"before={shown(before, 200)} is not a post of this feed: a cursor needs an int id, "
            "a str author and a number at; pass the last Post of the previous page"
        )
