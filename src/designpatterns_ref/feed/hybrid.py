"""Hybrid fan-out: push for ordinary authors, pull for celebrities, skip the inactive.

Case study: Design a Social News Feed (Twitter / LinkedIn) (docs/case-studies/news-feed.md)

The approach Twitter described in 2012: posts by authors with fewer than ``threshold``
followers are pushed into their followers' timelines as in fan-out on write; posts by
celebrities (``threshold`` followers or more) are not pushed at all, and each reader merges
the few celebrities they follow into their precomputed timeline at read time. So no single
post costs more than ``threshold - 1`` writes, and a read costs one timeline plus one list
per celebrity followed (when the page is full, only celebrity posts newer than its oldest id
are fetched). The threshold is the knob: lower, and posts are cheap but readers merge more
celebrities; higher, and reads approach push's while the worst post grows.

Followers idle for longer than ``inactive_after`` seconds are skipped at write time and
marked stale; on their next read their timeline is rebuilt from the followees' posts, only
its newest ``rebuild_len`` ids (older pages are merged on demand, as for any trimmed
timeline), so a returning user waits for one page, not for ``max_len`` ids. With several
servers on one store, a post pushed between the rebuild's read and its clear, or a follow or
unfollow that skipped the still-stale timeline, is caught by a second pass once the flag is
clear (:meth:`HybridFanout._catch_up`).

When an author crosses the threshold the timelines are kept exact: going up, the author's
pushed posts are removed from the followers' timelines (they will be pulled instead); going
down, they are pushed back in, above each timeline's floor (a capped timeline the crossing up
emptied gets none back: its reads merge them). Each crossing costs up to ``threshold x max_len``
entries. Going up, the new follower first gets the author's posts as for any follow, then the
flag is set, then the pushed posts are taken out: cut short after the flag, posts are both
pushed and pulled, which reads drop as doubles; cut short before it, the author is still pushed
to every follower, and its next post (or follow) crosses instead of pushing, so no post is ever
pushed to ``threshold`` followers or more, even on a store whose graph was written directly.
Going down, the timelines change before the flag does, so a crossing cut short by an outage is
finished by retrying the unfollow that caused it. With several servers on
one store, a crossing down makes a second pass once its flag is clear (for posts and follows of
servers that still saw the flag), and a celebrity's unfollow removes the author's posts pushed
by a server that had not seen the crossing up. Those passes cannot cover every schedule: a
push that read the followers (or the flag) before another server's unfollow may land after that
unfollow took the author's posts out (a crossing down pushing back to a follower who has just
left; a post pushed after a crossing up it missed, to a follower whose unfollow then crosses
down; a crossing up between the flag reads of an unfollow). So a read checks the authors of its
page against the reader's followees: a post of an author no longer followed is not shown, is
taken out of the timeline, and the page is filled from below it. No read then shows a post of
an author the reader had unfollowed before it began, and once the servers are done every read
is the brute-force merge of the followees' live posts, crossings, rebuilds and servers
following and unfollowing the same pair at once or not (checked by tests/feed/test_threads.py,
and schedule by schedule by tests/feed/test_racing_pair.py); the price is one read of the
reader's followees per page read (not per post).

Complexity, with F followers, f followees, c of them celebrities: post O(min(F, threshold));
load O(f + log n + c log n + limit log limit); a rebuild O(f log n + rebuild_len log f).

>>> from designpatterns_ref.clock import ManualClock
>>> feed = HybridFanout(threshold=2, inactive_after=None, clock=ManualClock())
>>> feed.add_users(["star", "ann", "bo"])
>>> feed.follow("ann", "star")
True
>>> feed.post("star").id, feed.stats.post_writes
(1, 1)
>>> feed.follow("bo", "star")  # two followers: star is now pulled, not pushed
True
>>> feed.post("star").id, feed.stats.post_writes
(2, 1)
>>> list(p.id for p in feed.timeline("bo"))
[2, 1]
"""

from __future__ import annotations

import sys
from operator import attrgetter

from designpatterns_ref.clock import Clock, read_seconds
from designpatterns_ref.errors import shown
from designpatterns_ref.feed.base import (
    MAX_ID,
    MAX_LIMIT,
    FeedError,
    FeedStore,
    FeedTypeError,
    Post,
    _merge_newest,
)
from designpatterns_ref.feed.push import _TOP, FanoutOnWrite

__all__ = ["CELEBRITY", "STALE", "HybridFanout"]

#: Store flag of authors whose posts are pulled at read time.
CELEBRITY = "celebrity"
#: Store flag of users whose timeline missed pushes while they were idle.
STALE = "stale"

_author = attrgetter("author")


class HybridFanout(FanoutOnWrite):
    """Push below ``threshold`` followers, pull above it, rebuild idle users on return."""

    kind = "hybrid"

    def __init__(
        self,
        store: FeedStore | None = None,
        *,
        threshold: int = 10_000,
        inactive_after: float | None = 30 * 86_400.0,
        max_len: int = 800,
        rebuild_len: int = 100,
        clock: Clock | None = None,
    ) -> None:
        if isinstance(threshold, bool) or not isinstance(threshold, int):
            raise FeedTypeError(f"threshold={shown(threshold)} must be an int from 1 to 2**63 - 1")
        if not 1 <= threshold < MAX_ID:  # a follower count: a store keeps it in 64 bits
            raise FeedError(f"threshold={shown(threshold)} must be an int from 1 to 2**63 - 1")
        if inactive_after is not None and (
            isinstance(inactive_after, bool) or not isinstance(inactive_after, int | float)
        ):
            raise FeedTypeError(
                f"inactive_after={shown(inactive_after)} must be a number of seconds, "
                "or None to push to every follower"
            )
        if inactive_after is not None and not 0 <= inactive_after <= sys.float_info.max:
            raise FeedError(
                f"inactive_after={shown(inactive_after)} must be a finite number of seconds >= 0, "
                "or None to push to every follower"
            )
        if isinstance(rebuild_len, bool) or not isinstance(rebuild_len, int):
            raise FeedTypeError(
                f"rebuild_len={shown(rebuild_len)} must be an int from 1 to {MAX_LIMIT}"
            )
        if not 1 <= rebuild_len <= MAX_LIMIT:
            raise FeedError(
                f"rebuild_len={shown(rebuild_len)} must be an int from 1 to {MAX_LIMIT}"
            )
        self._threshold = threshold
        self.inactive_after = inactive_after
        super().__init__(store, max_len=max_len, clock=clock)
        self.rebuild_len = min(rebuild_len, self.max_len)

    @property
    def threshold(self) -> int:
        """Followers from which an author is pulled, not pushed (read-only: the celebrity
        flags in the store were set against it)."""
        return self._threshold

    @threshold.setter
    def threshold(self, value: object) -> None:
        raise FeedError(
            f"threshold={shown(value)}: a hybrid's threshold is read-only (its store's celebrity "
            f"flags and claim were set for {self._threshold}); make a new feed on a fresh store"
        )

    def _strategy(self) -> str:
        return f"{self.kind} threshold={self.threshold}"

    def _is_pushed(self, author: str) -> bool:
        return not self._store.has_flag(CELEBRITY, [author])[0]

    def _post_reads_clock(self) -> bool:
        return self.inactive_after is not None  # who is idle is measured from now

    def _push_targets(self, post: Post, now: float | None) -> list[str]:
        if not self._is_pushed(post.author):
            return []
        followers = self._store.followers(post.author)
        if len(followers) >= self.threshold:
            # a celebrity without its flag: a crossing up cut short before the flag, or a
            # graph written to the store directly; cross now, push nothing
            self._cross_up(post.author)
            return []
        if self.inactive_after is None or now is None or not followers:
            return followers
        cutoff = now - self.inactive_after
        seen = self._store.last_seen(followers)
        active = [f for f, t in zip(followers, seen, strict=True) if t >= cutoff]
        if len(active) < len(followers):
            idle = [f for f, t in zip(followers, seen, strict=True) if t < cutoff]
            self._store.set_flag(STALE, idle, True)
            self.stats.skipped += len(idle)
        return active

    def _pulled(self, user: str) -> list[str]:
        return self._store.followees_flagged(user, CELEBRITY)

    def _pushed_followees(self, user: str) -> list[str]:
        celebrities = set(self._pulled(user))
        return [f for f in self._store.followees(user) if f not in celebrities]

    def _maintained(self, users: list[str]) -> list[str]:
        stale = self._store.has_flag(STALE, users)
        return [u for u, s in zip(users, stale, strict=True) if not s]

    def _prepare(self, user: str) -> None:
        self._store.touch(user, read_seconds(self.clock, FeedError, "Hybrid.feed"))
        if self._store.has_flag(STALE, [user])[0]:
            self._rebuild(user)

    def _rebuild(self, user: str) -> None:
        """Recompute a stale timeline: merge the pushed followees' newest posts."""
        mark = self._store.post_mark()
        sources = self._pushed_followees(user)
        want = self.rebuild_len + 1  # one more than we keep tells whether the timeline is cut
        newest = _merge_newest(self._store.authored(sources, want, _TOP), want)
        self._store.home_clear(user)
        kept = newest[: self.rebuild_len]
        if kept:
            cut = len(newest) > self.rebuild_len
            self.stats.maintenance_writes += self._store.home_add(
                [user], kept[::-1], self.max_len, capped=cut
            )
        self._store.set_flag(STALE, [user], False)
        self.stats.rebuilds += 1
        self.stats.load_reads += len(sources)
        self._catch_up(user, sources, mark)

    def _catch_up(self, user: str, sources: list[str], mark: int | None) -> None:
        """The rebuild's second pass, once the timeline is no longer stale: what other servers
        sharing the store did between the rebuild's read and its clear.

        A post pushed in that window was wiped by the clear, and a follow or an unfollow made
        since the read skipped the stale timeline. With the flag clear, every later post,
        follow and unfollow maintains the timeline itself, so one more read of the followees
        covers the rest: the followees' posts it read go in again wherever they lie above the
        floor (adding an id twice is harmless), and the followees followed or unfollowed since
        are settled as their own follow or unfollow would have (see :meth:`_settle`). Not only
        the posts newer than the first read's newest: on a Redis Cluster a post takes its id in
        one round trip and is stored in a later one, so a post with a lower id can appear (and
        be pushed, and wiped) after the first read.

        Most rebuilds race nothing: when the store's post mark (read before the first read,
        and again now that the flag is clear) has not moved, no post appeared in between, so
        none was wiped and the posts are not read again; only the followees are.
        """
        unmoved = mark is not None and self._store.post_mark() == mark
        now = self._pushed_followees(user)
        known = set(sources)
        if not unmoved:
            kept = [f for f in now if f in known]
            lists = self._store.authored(kept, self.max_len + 1, _TOP)
            self.stats.load_reads += len(kept)
            (floor,) = self._store.home_floors([user])
            fresh = [i for i in _merge_newest(lists, self.max_len + 1) if i >= floor]
            if fresh:
                cut = len(fresh) > self.max_len
                self.stats.maintenance_writes += self._store.home_add(
                    [user], fresh[: self.max_len], self.max_len, capped=cut
                )
        for followee in now:
            if followee not in known:
                self._settle(user, followee, following=True)
        for followee in known.difference(now):
            self._settle(user, followee, following=False)

    def _strays(self, user: str, posts: list[Post]) -> set[int]:
        """Drop from the page, and from the timeline, the posts of authors ``user`` no longer
        follows: left there by a push that raced the unfollow across a crossing (see the module
        docstring). One read of the followees per page read; a stray is rare, and taken out."""
        if not posts:
            return set()
        # the page's few distinct authors, less the followees: empty on almost every read
        gone = set(map(_author, posts)).difference(self._store.followees(user))
        if not gone:
            return set()
        stray = [p for p in posts if p.author in gone]
        self.stats.removals += self._store.home_remove([user], [p.id for p in stray])
        # followed again since the read: that follow's backfill may have run before the removal
        back = [p for p in stray if self._store.follows(user, p.author)]
        back = [p for p in back if self._is_pushed(p.author)]
        if back and self._maintained([user]):
            for post in back:
                self.stats.maintenance_writes += self._push_above_floor([user], post)
        return {p.id for p in stray}

    def _on_follow(self, follower: str, followee: str) -> None:
        if self._is_pushed(followee) and self._store.follower_count(followee) >= self.threshold:
            # crossing up: first the follow an ordinary author gets (so that, cut short before
            # the flag, the author is still pushed everywhere, this follower included), then
            # the crossing
            super()._on_follow(follower, followee)
            self._cross_up(followee)
            return
        super()._on_follow(follower, followee)

    def _cross_up(self, author: str) -> None:
        """Flag ``author`` a celebrity, then take its pushed posts out of its followers'
        timelines. Flag first: cut short after it, the posts are both pushed and pulled, which
        reads drop as doubles (and a celebrity's unfollow removes); cut short before it, the
        author is still pushed, and its next post (:meth:`_push_targets`) or follow crosses
        again. So every read is exact either way, and no post is pushed to ``threshold`` or
        more followers."""
        self._store.set_flag(CELEBRITY, [author], True)
        (recent,) = self._store.authored([author], self.max_len, _TOP)
        followers = self._store.followers(author)
        self.stats.removals += self._store.home_remove(followers, recent)

    def _on_unfollow(self, follower: str, followee: str) -> None:
        if not self._is_pushed(followee) and self._store.follower_count(followee) < self.threshold:
            # crossing down: the followee is ordinary again, push its posts back in, then
            # clear the flag (cut short between the two, reads drop the doubles and a retry
            # of the unfollow crosses again)
            before = self._store.followers(followee)
            newest = self._backfill(before, followee)
            self._store.set_flag(CELEBRITY, [followee], False)
            # Another server that still saw the flag pushed nothing: a post it stored during
            # the backfill, a follow it made. With the flag clear, every later post and follow
            # is pushed by its own server, so one more pass covers those: the posts newer than
            # the first pass's for the followers it served, all of them for followers new since.
            known = set(before)
            now = self._store.followers(followee)
            self._backfill([u for u in now if u in known], followee, after=newest)
            self._backfill([u for u in now if u not in known], followee)
            return
        if not self._is_pushed(followee) and self._maintained([follower]):
            # a celebrity's posts are pulled, yet some may sit in this timeline: pushed by a
            # server that had not yet seen the crossing up (a post or a follow's backfill
            # running while it happened); reads merge them away, but an unfollow must take them
            # out, as it does for an ordinary author
            (recent,) = self._store.authored([followee], self.max_len, _TOP)
            self.stats.removals += self._store.home_remove([follower], recent)
            return
        super()._on_unfollow(follower, followee)
