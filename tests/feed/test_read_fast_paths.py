"""The hybrid's read shortcuts against the plain computations they replace.

``_newest_of`` (one sort of the page and the pulled lists, deduplicated only when the kept ids
repeat) must equal the plain set-union-and-sort; the stray check (the page's distinct authors
less the reader's followees) must hide and take out exactly the posts of authors the reader
does not follow, on every store, with the page filled from below.
"""

from __future__ import annotations

from collections import Counter
from itertools import chain
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.feed import HybridFanout
from designpatterns_ref.feed.push import _TOP, _newest_of

from .conftest import Oracle, StoreFactory
from .test_oracle import pages

newest_first = st.sets(st.integers(1, 60), max_size=25).map(lambda s: sorted(s, reverse=True))


@given(page=newest_first, pulled=st.lists(newest_first, max_size=6), limit=st.integers(1, 40))
def test_newest_of_is_the_plain_union_sorted(
    page: list[int], pulled: list[list[int]], limit: int
) -> None:
    plain = sorted(set(page).union(*pulled), reverse=True)[:limit]
    assert _newest_of(page, pulled, limit) == plain


def test_newest_of_keeps_one_copy_of_an_id_pushed_and_pulled() -> None:
    assert _newest_of([9, 5, 4], [[9, 8], [5]], 4) == [9, 8, 5, 4]


USERS = ["a", "b", "c", "d", "e", "f"]
user = st.sampled_from(USERS)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60)
@given(
    follows=st.lists(st.tuples(user, user), max_size=20),
    authors=st.lists(user, min_size=1, max_size=25),
    planted=st.lists(st.tuples(user, st.integers(0, 24)), max_size=30),
    size=st.integers(1, 6),
)
def test_hybrid_read_hides_and_removes_exactly_the_strays(
    stores: StoreFactory,
    follows: list[tuple[str, str]],
    authors: list[str],
    planted: list[tuple[str, int]],
    size: int,
) -> None:
    """Ids planted in home timelines, as a push racing an unfollow leaves them: of authors
    not followed (strays), of followed celebrities (pushed and pulled), of followed authors."""
    try:
        feed = HybridFanout(
            stores(), threshold=2, inactive_after=None, max_len=100, clock=ManualClock()
        )
        oracle = Oracle()
        feed.add_users(USERS)
        for name in USERS:
            oracle.add_user(name)
        for a, b in follows:
            if a != b:
                feed.follow(a, b)
                oracle.followees[a].add(b)
        for author in authors:
            assert feed.post(author).id == oracle.post(author)
        by_user: dict[str, set[int]] = {}
        for name, k in planted:
            by_user.setdefault(name, set()).add(k % len(authors) + 1)
        for name, ids in by_user.items():
            feed.store.home_add([name], sorted(ids), feed.max_len)
        for name in USERS:
            assert pages(feed, name, size) == oracle.timeline(name), name
            kept = feed.store.home_page(name, 1000, _TOP)
            assert all(oracle.posts[i] in oracle.followees[name] for i in kept), name
    finally:
        stores.cleanup()


class Counted:
    """A store that counts the calls made to each of its methods."""

    def __init__(self, store: Any) -> None:
        self._store, self.name, self.calls = store, store.name, Counter[str]()

    def __getattr__(self, attr: str) -> Any:
        real = getattr(self._store, attr)
        if not callable(real):
            return real

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls[attr] += 1
            return real(*args, **kwargs)

        return call


def test_a_rebuild_that_races_nothing_reads_the_posts_once(stores: StoreFactory) -> None:
    """The rebuild's second pass reads the followees' posts again only when a post appeared
    since its first read (the store's post mark moved); a Redis Cluster cannot tell cheaply
    (a post is stored a round trip after its id), so there it always reads them again."""
    store = Counted(stores())
    clock = ManualClock(1.0)
    feed = HybridFanout(
        store, threshold=100, inactive_after=5.0, max_len=10, rebuild_len=3, clock=clock
    )
    feed.add_users(["fan", "x", "y"])
    feed.follow("fan", "x")
    feed.follow("fan", "y")
    clock.advance(10.0)
    for n in range(5):
        feed.post("x" if n % 2 else "y", body=str(n))  # fan is idle: skipped, flagged stale
    store.calls.clear()
    got = [p.id for p in feed.timeline("fan")]
    assert feed.stats.rebuilds == 1
    want = sorted(chain.from_iterable(store.authored(["x", "y"], 100, _TOP)), reverse=True)
    assert got == want
    cluster = getattr(store._store, "cluster", False)
    # + the page's read of the pulled lists (none here), + the oracle's
    assert store.calls["authored"] == (2 if cluster else 1) + 2, store.calls
