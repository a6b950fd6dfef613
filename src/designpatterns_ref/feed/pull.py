"""Fan-out on read: nothing is precomputed; a timeline is merged from the followees' posts.

Case study: Design a Social News Feed (Twitter / LinkedIn) (docs/case-studies/news-feed.md)

A post costs one append to its author's own list and nothing else, however many followers the
author has, and no storage is spent on users who never log in. The price is paid on read:
a load reads the newest ``limit`` ids of every followee and merges them with a k-way heap
merge that stops after ``limit`` ids. Following and unfollowing cost nothing beyond the edge,
and a deleted post simply disappears from its author's list.

Complexity, with f followees: post O(1); load O(f log n + limit log f) with f timeline reads;
follow, unfollow and delete O(1) plus the graph and post-table updates.

>>> feed = FanoutOnRead()
>>> feed.add_users(["ada", "bob", "cy"])
>>> feed.follow("cy", "ada") and feed.follow("cy", "bob")
True
>>> _ = feed.post("ada", at=1.0), feed.post("bob", at=2.0)
>>> [p.author for p in feed.timeline("cy")], feed.stats.load_reads
(['bob', 'ada'], 2)
"""

from __future__ import annotations

from designpatterns_ref.feed.base import Post, _merge_newest
from designpatterns_ref.feed.strategy import Feed

__all__ = ["FanoutOnRead"]


class FanoutOnRead(Feed):
    """Merge each timeline at read time from the followees' own post lists."""

    kind = "pull"

    def _on_post(self, post: Post, now: float | None) -> int:
        return 0  # the store already appended it to the author's own list

    def _on_delete(self, post: Post) -> None:
        pass  # held only in the author's list, which the store updates

    def _on_follow(self, follower: str, followee: str) -> None:
        pass

    def _on_unfollow(self, follower: str, followee: str) -> None:
        pass

    def _load(self, user: str, limit: int, before: int) -> list[int]:
        sources = self._store.followees(user)
        self.stats.load_reads += len(sources)
        return _merge_newest(self._store.authored(sources, limit, before), limit)
