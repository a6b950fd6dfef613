"""In-memory feed store: dicts of sets for the graph, sorted lists of ids for timelines.

Case study: Design a Social News Feed (Twitter / LinkedIn) (docs/case-studies/news-feed.md)

The default store of every strategy. Each author's posts and each user's home timeline are
Python lists of post ids in ascending order; because ids grow with time, a new post is an
append, a page is a ``bisect`` plus a slice, and trimming to ``max_len`` deletes the oldest
ids from the front. The rarer inserts in the middle (a follow bringing old posts in) use
``bisect.insort``, a memmove over at most ``max_len`` ids. Posts live once in a dict by id.

Complexity: page of ``limit`` ids O(log n + limit); push of one id O(1) amortised (plus the
trim); removal of one id O(log n + n) memmove with n at most ``max_len``.
Not thread-safe: share a feed between threads only behind your own lock.

>>> store = MemoryStore()
>>> store.add_user("ada", 0.0)
>>> p = store.new_post("ada", 1.0, "hi")
>>> store.home_add(["bob"], [p.id], max_len=2)
1
>>> store.home_page("bob", 10, before=99)
[1]
"""

from __future__ import annotations

import sys
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Sequence

from designpatterns_ref.errors import shown
from designpatterns_ref.feed.base import COMPLETE, NOTHING, FeedError, Post, id_in_range
from designpatterns_ref.feed.storecheck import checked_store

__all__ = ["MemoryStore"]


@checked_store
class MemoryStore:
    """Users, follow graph, posts and home timelines in Python dicts, sets and lists.

    Every method checks its arguments (see :mod:`~designpatterns_ref.feed.storecheck`).
    """

    name = "memory"

    def __init__(self) -> None:
        self._users: set[str] = set()
        self._seen: dict[str, float] = {}
        self._followers: defaultdict[str, set[str]] = defaultdict(set)
        self._followees: defaultdict[str, set[str]] = defaultdict(set)
        self._posts: dict[int, Post] = {}
        self._by: defaultdict[str, list[int]] = defaultdict(list)
        self._home: defaultdict[str, list[int]] = defaultdict(list)
        self._flags: defaultdict[str, set[str]] = defaultdict(set)
        self._pending: dict[str, int] = {}
        self._keys: dict[str, tuple[int, str]] = {}
        self._next_id = 1
        self._latest_at = float("-inf")
        self._strategy: str | None = None

    def claim(self, strategy: str) -> str:
        """Record ``strategy`` as the one filling this store, unless one already is; return
        the one recorded."""
        if self._strategy is None:
            self._strategy = strategy
        return self._strategy

    # users and activity
    def add_user(self, user: str, now: float) -> None:
        self._users.add(user)
        self._seen[user] = now

    def has_user(self, user: str) -> bool:
        return user in self._users

    def user_count(self) -> int:
        return len(self._users)

    def touch(self, user: str, now: float) -> None:
        self._seen[user] = now

    def last_seen(self, users: Sequence[str]) -> list[float]:
        """When each of ``users`` last read their timeline; FeedError for one never added."""
        seen = self._seen
        try:
            return [seen[u] for u in users]
        except KeyError as exc:
            raise FeedError(f"user={shown(exc.args[0])} is not a user of this store") from None

    # the follow graph
    def add_edge(self, follower: str, followee: str) -> bool:
        mine = self._followees[follower]
        if followee in mine:
            return False
        mine.add(followee)
        self._followers[followee].add(follower)
        return True

    def remove_edge(self, follower: str, followee: str) -> bool:
        mine = self._followees[follower]
        if followee not in mine:
            return False
        mine.discard(followee)
        self._followers[followee].discard(follower)
        return True

    def follows(self, follower: str, followee: str) -> bool:
        return followee in self._followees[follower]

    def followers(self, user: str) -> list[str]:
        return list(self._followers[user])

    def followees(self, user: str) -> list[str]:
        return list(self._followees[user])

    def follower_count(self, user: str) -> int:
        return len(self._followers[user])

    def followees_flagged(self, user: str, kind: str) -> list[str]:
        flagged, mine = self._flags[kind], self._followees[user]
        small, big = (flagged, mine) if len(flagged) <= len(mine) else (mine, flagged)
        return [u for u in small if u in big]

    # posts
    def new_post(self, author: str, at: float, body: str, key: str = "") -> Post:
        post = Post(self._next_id, author, at, body)
        self._next_id += 1
        self._latest_at = max(self._latest_at, at)  # as on Redis: it never moves back
        self._posts[post.id] = post
        self._by[author].append(post.id)
        self._pending[author] = post.id
        self._keys[author] = (post.id, key)
        return post

    def last_key(self, author: str) -> tuple[int, str] | None:
        return self._keys.get(author)

    def pending_post(self, author: str) -> int | None:
        return self._pending.get(author)

    def clear_pending(self, author: str, post_id: int) -> None:
        if self._pending.get(author) == post_id:
            del self._pending[author]

    def latest_at(self) -> float:
        return self._latest_at

    def post_mark(self) -> int | None:
        """The next post's id: a post takes its id and is stored in one step."""
        return self._next_id

    def get_post(self, post_id: int) -> Post | None:
        return self._posts.get(post_id) if id_in_range(post_id) else None

    def get_posts(self, ids: Sequence[int]) -> list[Post]:
        """The live posts among ``ids``, in order; an id outside [-MAX_ID, MAX_ID) is absent."""
        posts = self._posts
        return [posts[i] for i in ids if i in posts and id_in_range(i)]

    def drop_post(self, post: Post) -> None:
        """Forget ``post`` (nothing to do for one not stored, as on Redis)."""
        if self._posts.pop(post.id, None) is not None:
            _remove(self._by[post.author], post.id)

    def authored(
        self, authors: Sequence[str], limit: int, before: int, after: int = 0
    ) -> list[list[int]]:
        by = self._by
        if before >= self._next_id and not after:  # from the newest: one slice per author
            stop = -limit - 1
            return [ids[:stop:-1] if ids else [] for ids in map(by.get, authors)]
        out: list[list[int]] = []
        for author in authors:
            ids = by.get(author)
            if not ids:
                out.append([])
            elif before > ids[-1] and not after:  # the common case: the newest `limit`
                out.append(ids[: -limit - 1 : -1])
            else:
                end = bisect_left(ids, before)
                start = max(end - limit, bisect_left(ids, after + 1, 0, end) if after else 0)
                out.append(_newest_first(ids, start, end))
        return out

    # home timelines
    def home_add(
        self, users: Sequence[str], ids: Sequence[int], max_len: int, *, capped: bool = False
    ) -> int:
        if not ids:  # nothing to add, nothing cut: no change (as on Redis)
            return 0
        home, capped_users = self._home, self._flags["capped"]
        for user in users:
            timeline = home[user]
            if len(ids) == 1:
                _insert(timeline, ids[0])
            else:
                timeline[:] = sorted(set(timeline).union(ids))
            if len(timeline) > max_len:
                del timeline[: len(timeline) - max_len]
                capped_users.add(user)
            elif capped:
                capped_users.add(user)
        return len(users) * len(ids)

    def home_remove(self, users: Sequence[str], ids: Sequence[int]) -> int:
        removed = 0
        home = self._home
        for user in users:
            timeline = home.get(user)
            if timeline:
                for post_id in ids:
                    removed += _remove(timeline, post_id)
        return removed

    def home_page(self, user: str, limit: int, before: int) -> list[int]:
        timeline = self._home.get(user)
        if not timeline:
            return []
        if before > timeline[-1]:
            return timeline[: -limit - 1 : -1]
        end = bisect_left(timeline, before)
        return _newest_first(timeline, max(0, end - limit), end)

    def home_read(self, user: str, limit: int, before: int) -> tuple[list[int], int]:
        """:meth:`home_page` and the timeline's floor (see :meth:`home_floors`), in one step."""
        return self.home_page(user, limit, before), self.home_floors([user])[0]

    def home_floors(self, users: Sequence[str]) -> list[int]:
        capped, home = self._flags["capped"], self._home
        out = []
        for user in users:
            if user not in capped:
                out.append(COMPLETE)
            else:
                timeline = home.get(user)
                out.append(timeline[0] if timeline else NOTHING)
        return out

    def home_clear(self, user: str) -> None:
        """Empty ``user``'s timeline and mark it capped: nothing in it can be trusted until it
        is refilled (the capped mark is never taken off, see :class:`FeedStore`)."""
        self._home.pop(user, None)
        self._flags["capped"].add(user)

    def home_entries(self) -> int:
        return sum(len(t) for t in self._home.values())

    def home_bytes(self) -> int:
        """Bytes held by the timeline lists themselves (ids are shared with the post table)."""
        return sum(sys.getsizeof(t) for t in self._home.values())

    # flags
    def set_flag(self, kind: str, users: Iterable[str], on: bool) -> None:
        flagged = self._flags[kind]
        if on:
            flagged.update(users)
        else:
            flagged.difference_update(users)

    def has_flag(self, kind: str, users: Sequence[str]) -> list[bool]:
        flagged = self._flags[kind]
        return [u in flagged for u in users]


def _newest_first(ids: list[int], start: int, end: int) -> list[int]:
    """``ids[start:end]`` reversed, in one slice."""
    return ids[end - 1 : start - 1 : -1] if start else ids[end - 1 :: -1] if end else []


def _insert(ids: list[int], post_id: int) -> None:
    if not ids or post_id > ids[-1]:
        ids.append(post_id)  # the common case: a new post is the newest id
    else:
        pos = bisect_left(ids, post_id)
        if pos == len(ids) or ids[pos] != post_id:
            ids.insert(pos, post_id)


def _remove(ids: list[int], post_id: int) -> int:
    pos = bisect_left(ids, post_id)
    if pos < len(ids) and ids[pos] == post_id:
        del ids[pos]
        return 1
    return 0
