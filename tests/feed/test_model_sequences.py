"""Random sequences against a short model, refused calls included, on every store.

The model is a dict of posts and a dict of followee sets: a timeline is every live post of the
followees, highest id first, and the page after a cursor is the same list below the cursor's id
(the cursor may be a post deleted since). Each sequence mixes follows and unfollows (repeated,
and of pairs just removed), posts at the latest time (ties) or before it (refused), keyed
retries, deletes (by id or by Post, of posts just deleted: refused), self-follows and unknown
users (refused), and reads that walk pages with a cursor kept across the other steps. Every
answer is compared, and a refused call must leave every timeline as the model has it. The hybrid
runs with its threshold at 1, 2 or 3 followers, so authors cross it both ways at its boundary,
and no post of a pushed author may cost ``threshold`` writes or more.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.feed import (
    FanoutOnRead,
    FanoutOnWrite,
    Feed,
    FeedError,
    HybridFanout,
    Post,
)

from .conftest import StoreFactory

USERS = ["a", "b", "c", "d"]
user = st.sampled_from(USERS)
op = st.one_of(
    st.tuples(st.just("follow"), user, user),
    st.tuples(st.just("follow"), user, user),
    st.tuples(st.just("unfollow"), user, user),
    st.tuples(st.just("post"), user, st.sampled_from(["tie", "later", "earlier"]),
              st.sampled_from([None, "k1", "k2"])),
    st.tuples(st.just("post"), user, st.sampled_from(["tie", "later"]), st.just(None)),
    st.tuples(st.just("delete"), st.integers(0, 30), st.booleans()),
    st.tuples(st.just("delete_again"),),
    st.tuples(st.just("read"), user, st.integers(1, 4)),
    st.tuples(st.just("next_page"), user, st.integers(1, 4)),
    st.tuples(st.just("unknown"), st.sampled_from(["follow", "post", "read"])),
)  # fmt: skip


class Model:
    """Posts by id, followee sets, each author's last (id, key), the latest post time."""

    def __init__(self) -> None:
        self.posts: dict[int, Post] = {}
        self.followees: dict[str, set[str]] = {u: set() for u in USERS}
        self.keys: dict[str, tuple[int, str]] = {}
        self.next_id = 1
        self.latest = float("-inf")  # no post yet: any time is accepted

    def timeline(self, user: str, limit: int = 10**9, before: int = 2**62) -> list[Post]:
        mine = self.followees[user]
        live = [p for i, p in self.posts.items() if p.author in mine and i < before]
        return sorted(live, key=lambda p: -p.id)[:limit]


def make(kind: str, store: Any, clock: ManualClock, threshold: int, max_len: int) -> Feed:
    if kind == "push":
        return FanoutOnWrite(store, max_len=max_len, clock=clock)
    if kind == "pull":
        return FanoutOnRead(store, clock=clock)
    return HybridFanout(
        store, threshold=threshold, inactive_after=None, max_len=max_len, rebuild_len=1,
        clock=clock,
    )  # fmt: skip


def refused(feeds: dict[str, Feed], call: str, *args: Any, **kwargs: Any) -> None:
    for kind, f in feeds.items():
        with pytest.raises(FeedError):
            getattr(f, call)(*args, **kwargs)
            pytest.fail(f"{kind}.{call}{args} was not refused")


def run(stores: StoreFactory, kind: str, ops: list[tuple[Any, ...]], threshold: int,
        max_len: int) -> None:  # fmt: skip
    clock = ManualClock()
    feeds = {kind: make(kind, stores(), clock, threshold, max_len)}
    m = Model()
    cursors: dict[str, Post | None] = {}
    deleted: list[Post] = []
    for f in feeds.values():
        f.add_users(USERS)
    for step in ops:
        match step:
            case ("follow", a, b) if a == b:
                refused(feeds, "follow", a, b)
            case ("follow", a, b):
                expect = b not in m.followees[a]
                m.followees[a].add(b)
                assert all(f.follow(a, b) is expect for f in feeds.values())
            case ("unfollow", a, b) if a == b:
                refused(feeds, "unfollow", a, b)
            case ("unfollow", a, b):
                expect = b in m.followees[a]
                m.followees[a].discard(b)
                assert all(f.unfollow(a, b) is expect for f in feeds.values())
            case ("post", a, when, key):
                base = max(m.latest, 0.0)
                at = {"tie": base, "later": base + 1.0, "earlier": base - 1.0}[when]
                last = m.keys.get(a)
                if key is not None and last is not None and last[1] == key and last[0] in m.posts:
                    want = m.posts[last[0]]  # a keyed retry: the same post, whatever ``at``
                elif at < m.latest:
                    refused(feeds, "post", a, at=at, key=key)
                    continue
                else:
                    want = Post(m.next_id, a, at, f"body {m.next_id}")
                    m.posts[want.id] = want
                    m.keys[a] = (want.id, key or "")
                    m.next_id += 1
                    m.latest = at
                for f in feeds.values():
                    assert f.post(a, at=at, body=f"body {want.id}", key=key) == want
            case ("delete", k, by_post) if m.posts:
                live = sorted(m.posts)
                gone = m.posts.pop(live[k % len(live)])
                deleted.append(gone)
                for f in feeds.values():
                    assert f.delete(gone if by_post else gone.id) == gone
                    assert f.get_post(gone.id) is None
            case ("delete_again",) if deleted:
                refused(feeds, "delete", deleted[-1].id)
            case ("read", a, limit):
                want = m.timeline(a, limit)
                for f in feeds.values():
                    assert f.timeline(a, limit) == want
                cursors[a] = want[-1] if len(want) == limit else None
            case ("next_page", a, limit) if cursors.get(a) is not None:
                cursor = cursors[a]
                assert cursor is not None
                want = m.timeline(a, limit, before=cursor.id)
                for f in feeds.values():
                    assert f.timeline(a, limit, before=cursor) == want
                cursors[a] = want[-1] if len(want) == limit else None
            case ("unknown", call):
                args = {"follow": ("a", "zed"), "post": ("zed",), "read": ("zed",)}[call]
                refused(feeds, "timeline" if call == "read" else call, *args)
            case _:
                pass
    for name in USERS:
        want = m.timeline(name)
        for f in feeds.values():
            assert f.timeline(name, 1000) == want
            seen: list[Post] = []
            cursor: Post | None = None
            while True:  # walk it one small page at a time
                page = f.timeline(name, 2, before=cursor)
                seen += page
                if len(page) < 2:
                    break
                cursor = page[-1]
            assert seen == want
    hybrid = feeds.get("hybrid")
    if isinstance(hybrid, HybridFanout):
        assert hybrid.stats.max_post_writes <= threshold - 1


@pytest.mark.parametrize("kind", ["push", "pull", "hybrid"])
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    ops=st.lists(op, min_size=5, max_size=60),
    threshold=st.integers(1, 3),
    max_len=st.integers(1, 3),
)
def test_sequences_match_the_model(
    stores: StoreFactory, kind: str, ops: list[tuple[Any, ...]], threshold: int, max_len: int
) -> None:
    try:
        run(stores, kind, ops, threshold, max_len)
    finally:
        stores.cleanup()
