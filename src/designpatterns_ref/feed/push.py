"""Fan-out on write: every post is pushed into each follower's home timeline.

Case study: Design a Social News Feed (Twitter / LinkedIn) (docs/case-studies/news-feed.md)

The read path is precomputed: a home timeline is a ready list of post ids, so a load is one
range read of the reader's own timeline. The price is paid on write: a post costs one
timeline write per follower, so an account with ten million followers costs ten million
writes per post (the celebrity problem), and users who never log in are written to anyway.
Timelines are trimmed to ``max_len`` ids (800 at Twitter in 2012); a page that reaches past a
trimmed timeline's oldest id is finished by merging the followees' own posts, so deep pages
stay exact.

Following someone inserts their newest posts; unfollowing removes them; deleting a post
removes it from every follower's timeline.

Complexity, with F followers and f followees: post O(F) writes; load O(log n + limit) from
one timeline; follow and unfollow O(max_len); delete O(F).

>>> feed = FanoutOnWrite(max_len=800)
>>> feed.add_users(["ada", "bob", "cy"])
>>> feed.follow("bob", "ada") and feed.follow("cy", "ada")
True
>>> first = feed.post("ada", at=1.0)
>>> feed.stats.post_writes, list(p.id for p in feed.timeline("bob"))
(2, [1])
"""

from __future__ import annotations

from itertools import chain

from designpatterns_ref.clock import Clock
from designpatterns_ref.errors import shown
from designpatterns_ref.feed.base import (
    COMPLETE,
    MAX_LIMIT,
    FeedError,
    FeedStore,
    FeedTypeError,
    Post,
    _merge_newest,
)
from designpatterns_ref.feed.strategy import Feed

__all__ = ["FanoutOnWrite"]


def _check_max_len(max_len: object) -> int:
    if isinstance(max_len, bool) or not isinstance(max_len, int):
        raise FeedTypeError(f"max_len={shown(max_len)} must be an int")
    if not 1 <= max_len <= MAX_LIMIT:
        raise FeedError(f"max_len={shown(max_len)} must be from 1 to MAX_LIMIT={MAX_LIMIT}")
    return max_len


class FanoutOnWrite(Feed):
    """Push each post into every follower's home timeline, trimmed to ``max_len`` ids."""

    kind = "push"

    def __init__(
        self, store: FeedStore | None = None, *, max_len: int = 800, clock: Clock | None = None
    ) -> None:
        self.max_len = _check_max_len(max_len)
        super().__init__(store, clock=clock)

    # -- hooks the hybrid overrides -----------------------------------------------------

    def _push_targets(self, post: Post, now: float | None) -> list[str]:
        """The followers whose timelines receive ``post``: all of them."""
        return self._store.followers(post.author)

    def _pulled(self, user: str) -> list[str]:
        """Followees merged at read time instead of pushed: none."""
        return []

    def _pushed_followees(self, user: str) -> list[str]:
        return self._store.followees(user)

    def _is_pushed(self, author: str) -> bool:
        return True

    def _maintained(self, users: list[str]) -> list[str]:
        """The users whose timelines are kept up to date (the hybrid skips stale ones)."""
        return users

    # -- the algorithm ------------------------------------------------------------------

    def _on_post(self, post: Post, now: float | None) -> int:
        targets = self._push_targets(post, now)
        if not targets:
            return 0
        writes = self._store.home_add(targets, [post.id], self.max_len)
        self._recheck(post, targets)
        return writes

    def _finish_post(self, post: Post, now: float | None) -> int:
        # Newer posts may have been pushed and trimmed since: a timeline whose floor is above
        # this post does not get it (that would hide the ids between), its reads merge it.
        targets = self._push_targets(post, now)
        if not targets:
            return 0
        writes = self._push_above_floor(targets, post)
        self._recheck(post, targets)
        return writes

    def _push_above_floor(self, users: list[str], post: Post) -> int:
        floors = self._store.home_floors(users)
        users = [u for u, floor in zip(users, floors, strict=True) if floor <= post.id]
        return self._store.home_add(users, [post.id], self.max_len) if users else 0

    def _recheck(self, post: Post, targets: list[str]) -> None:
        """Take ``post`` back out of the timelines of targets who unfollowed its author while
        it was being pushed (another server sharing the store ran the unfollow after the
        targets were read, and removed the author's posts before this one arrived).

        The followers are read again after the push: a target missing from them unfollowed
        before that read, so its unfollow's removal may have run before the push; one still
        there unfollows later, and its own removal finds the post. A target that follows again
        by the time the post is taken out gets it back (its follow's backfill may have run
        before the removal). One more read of the followers per post.
        """
        still = set(self._store.followers(post.author))
        gone = [u for u in targets if u not in still]
        if not gone:
            return
        self.stats.removals += self._store.home_remove(gone, [post.id])
        back = [u for u in gone if self._store.follows(u, post.author)]
        back = self._maintained(back) if back and self._is_pushed(post.author) else []
        if back:
            self.stats.maintenance_writes += self._push_above_floor(back, post)

    def _on_delete(self, post: Post) -> None:
        if self._is_pushed(post.author):
            followers = self._store.followers(post.author)
            self.stats.removals += self._store.home_remove(followers, [post.id])

    def _dangling(self, user: str, ids: list[int]) -> None:
        self.stats.removals += self._store.home_remove([user], ids)

    def _on_follow(self, follower: str, followee: str) -> None:
        if self._is_pushed(followee):
            self._settle(follower, followee, following=True)

    def _on_unfollow(self, follower: str, followee: str) -> None:
        if self._is_pushed(followee) and self._maintained([follower]):
            self._settle(follower, followee, following=False)

    def _settle(self, follower: str, followee: str, *, following: bool) -> None:
        """Bring ``followee``'s recent posts into ``follower``'s timeline (``following``) or
        take them out, then read the edge again, and do the other if it has changed meanwhile.

        Another server sharing the store may follow or unfollow the same pair at the same
        time: an unfollow whose removal runs after a re-follow's backfill would delete what
        the backfill put back, and a follow whose backfill runs after an unfollow's removal
        would leave the unfollowed author's posts behind. The edge read after the step tells:
        it changed after this call's own edge write, so the server that changed it runs its
        step later, but this step may have landed after it. Redoing the step the edge now
        asks for makes the last step on the pair, on every schedule, the one the final edge
        asks for (each server reads the edge again after each of its steps). A pair flipped
        back and forth by other servers for as long as this runs keeps it looping; each turn
        is one step.
        """
        while True:
            if following:
                self._backfill([follower], followee)
            else:
                (recent,) = self._store.authored([followee], self.max_len, _TOP)
                self.stats.removals += self._store.home_remove([follower], recent)
            now = self._store.follows(follower, followee)
            if now == following or not self._is_pushed(followee):
                return
            following = now

    def _backfill(self, users: list[str], author: str, after: int = 0) -> int:
        """Insert ``author``'s newest posts (those above ``after``) into each user's timeline,
        above its floor; return the newest id read (``after`` when none was)."""
        users = self._maintained(users)
        if not users:
            return after
        (recent,) = self._store.authored([author], self.max_len + 1, _TOP, after)
        for user, floor in zip(users, self._store.home_floors(users), strict=True):
            fresh = [i for i in recent if i >= floor]
            cut = len(fresh) > self.max_len
            if fresh:
                kept = fresh[: self.max_len]
                writes = self._store.home_add([user], kept, self.max_len, capped=cut)
                self.stats.maintenance_writes += writes
        return recent[0] if recent else after

    def _load(self, user: str, limit: int, before: int) -> list[int]:
        # the page and its timeline's floor in one read: read apart, another server's trim or
        # rebuild between the two could make the floor claim more, or less, than the page holds
        ids, floor = self._store.home_read(user, limit, before)
        reads = 1
        if len(ids) < limit and floor != COMPLETE:
            # Capped: posts below the page may be missing, merge them. A short page reaches the
            # bottom of the timeline it was read from, so the floor it was read under is its
            # last id (or ``before`` and above, when it is empty): merging below that, not
            # below the floor's value, never brings back an id the page holds, nor skips one,
            # even where the floor is read after the page (on a Redis Cluster).
            sources = self._pushed_followees(user)
            older = self._store.authored(sources, limit - len(ids), ids[-1] if ids else before)
            ids += _merge_newest(older, limit - len(ids))
            reads += len(sources)
        pulled = self._pulled(user)
        if pulled:
            # a full page already holds `limit` ids: only newer pulled posts can enter it
            after = ids[-1] if len(ids) == limit else 0
            lists = self._store.authored(pulled, limit, before, after)
            if any(lists):
                ids = _newest_of(ids, lists, limit)
            reads += len(pulled)
        self.stats.load_reads += reads
        return ids


def _newest_of(page: list[int], pulled: list[list[int]], limit: int) -> list[int]:
    """The ``limit`` highest ids of ``page`` and the ``pulled`` lists (each newest first),
    an id found in several of them once (pushed and pulled: a crossing cut short).

    The lists are few and short (a page, and the newest posts of each celebrity followed), so
    one sort of their concatenation in C beats a heap merge in Python: the sort finds the
    newest-first runs and merges them. An id repeats only after a crossing cut short, so the
    kept ids are checked for one, and only then deduplicated before the cut.

    >>> _newest_of([9, 4], [[7, 3], [9, 8]], 3)
    [9, 8, 7]
    """
    merged = list(chain(page, *pulled))
    merged.sort(reverse=True)
    top = merged[:limit]
    if len(set(top)) < len(top):
        top = sorted(set(merged), reverse=True)[:limit]
    return top


#: A cursor above every post id: "from the newest".
_TOP = 2**62
