"""Several servers (threads, each with its own feed) on one Redis store at once.

The Redis store says it may be shared when nothing else is: each thread here has its own feed
object over the one store, as separate servers would. Each thread follows and unfollows for its
own followers (or, in a second run, for every reader, so that servers race over the same pair),
posts, and deletes its own posts; once all threads are done every timeline must be the
brute-force merge of the final graph and live posts, read from the store, whatever the
interleaving was (a race may leave ids that reads drop, never a post missing
or one of an author no longer followed). The hybrid's threshold is 3 followers, so authors
cross it both ways while other servers post, follow and unfollow (a push racing an unfollow
across a crossing may leave a post of an author the reader left; reads drop it: see
tests/feed/test_crossings_racing_unfollows.py for the schedules, replayed). The hybrid gets more
seeds than the others, since only some interleavings cross at the wrong moment.
"""

from __future__ import annotations

import itertools
import random
import threading
from typing import Any

import pytest

from designpatterns_ref.feed import FanoutOnRead, FanoutOnWrite, Feed, HybridFanout, RedisStore

AUTHORS = ["a0", "a1", "a2", "a3"]
THREADS = 3
#: Round-trip deadline of each store: generous, since this test is about interleavings, not
#: timeouts (the default 0.25 s can pass on a loaded machine; tests/feed/test_outage_retry.py
#: covers the deadline itself).
DEADLINE = 10.0


def make(kind: str, store: RedisStore) -> Feed:
    if kind == "push":
        return FanoutOnWrite(store, max_len=4)
    if kind == "pull":
        return FanoutOnRead(store)
    # six readers over four authors: authors cross 3 followers up and down several times a run
    return HybridFanout(store, threshold=3, inactive_after=None, max_len=4, rebuild_len=2)


@pytest.mark.parametrize(
    ("kind", "seed", "same_pairs"),
    [(kind, seed, False) for kind in ("push", "pull", "hybrid") for seed in range(4)]
    + [("hybrid", seed, False) for seed in range(4, 12)]
    + [(kind, seed, True) for kind in ("push", "hybrid") for seed in range(4)],
)
def test_threads_sharing_a_redis_store_end_exact(
    redis_url: str, kind: str, seed: int, same_pairs: bool
) -> None:
    """With ``same_pairs`` every thread follows and unfollows for every reader, so several
    servers follow and unfollow the same pair at once (replayed schedule by schedule in
    tests/feed/test_racing_pair.py)."""
    prefix = f"th{seed}{kind}{'s' if same_pairs else ''}:"
    setup = RedisStore.from_url(redis_url, prefix=prefix, deadline=DEADLINE)
    readers = [f"r{t}{i}" for t in range(THREADS) for i in range(2)]
    make(kind, setup).add_users(AUTHORS + readers)
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def work(t: int) -> None:
        rng = random.Random(seed * 100 + t)
        feed = make(kind, RedisStore.from_url(redis_url, prefix=prefix, deadline=DEADLINE))
        mine = readers if same_pairs else [r for r in readers if r.startswith(f"r{t}")]
        posted: list[int] = []
        start.wait()
        try:
            for _ in range(60):
                step = rng.random()
                if step < 0.35:
                    feed.follow(rng.choice(mine), rng.choice(AUTHORS))
                elif step < 0.5:
                    feed.unfollow(rng.choice(mine), rng.choice(AUTHORS))
                elif step < 0.8:
                    # one body for all: two servers posting the same words at once make two
                    # posts (each thread deletes only what it made, so a post taken for
                    # another's retry would be deleted twice)
                    posted.append(feed.post(rng.choice(AUTHORS), body="same").id)
                elif step < 0.9 and posted:
                    feed.delete(posted.pop(rng.randrange(len(posted))))
                else:
                    feed.timeline(rng.choice(readers), rng.randint(1, 5))
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    check = make(kind, setup)
    by: dict[str, list[int]] = {a: [] for a in AUTHORS}
    for a, ids in zip(AUTHORS, setup.authored(AUTHORS, 10**6, 2**62), strict=True):
        by[a] = ids
    for reader in readers:
        want = sorted((i for a in check.followees(reader) for i in by[a]), reverse=True)
        got: list[Any] = [p.id for p in check.timeline(reader, 1000)]
        assert got == want, (reader, check.followees(reader))


@pytest.mark.parametrize(
    ("kind", "inactive_after", "seed"),
    [("push", None, s) for s in range(4)]
    + [("hybrid", ia, s) for ia in (None, 0.002) for s in range(4)],
)
def test_pages_read_while_other_servers_write_never_repeat_a_post(
    redis_url: str, kind: str, inactive_after: float | None, seed: int
) -> None:
    """A server walks timelines page by page while three others follow, unfollow, post and
    delete (with ``inactive_after`` a few milliseconds, the hybrid also rebuilds): every page,
    and every walk, is strictly newest first. A page read and its floor read apart let a trim
    in between make the merge repeat the posts of the page (tests/feed/test_read_races.py
    replays such schedules one store call at a time)."""
    prefix = f"rw{seed}{kind}{inactive_after}:"

    def feed() -> Feed:
        store = RedisStore.from_url(redis_url, prefix=prefix, deadline=DEADLINE)
        if kind == "push":
            return FanoutOnWrite(store, max_len=3)
        return HybridFanout(
            store, threshold=3, inactive_after=inactive_after, max_len=3, rebuild_len=2
        )

    readers = [f"r{i}" for i in range(4)]
    setup = feed()
    setup.add_users(AUTHORS + readers)
    start = threading.Barrier(THREADS + 1)
    done = threading.Event()
    errors: list[BaseException] = []
    walks: list[list[int]] = []

    def write(t: int) -> None:
        rng = random.Random(seed * 100 + t)
        mine, posted = feed(), []
        start.wait()
        try:
            for _ in range(80):
                step = rng.random()
                if step < 0.35:
                    mine.follow(rng.choice(readers), rng.choice(AUTHORS))
                elif step < 0.55:
                    mine.unfollow(rng.choice(readers), rng.choice(AUTHORS))
                elif step < 0.85:
                    posted.append(mine.post(rng.choice(AUTHORS)).id)
                elif posted:
                    mine.delete(posted.pop(rng.randrange(len(posted))))
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    def read() -> None:
        rng = random.Random(seed)
        mine = feed()
        start.wait()
        try:
            while not done.is_set():
                who, limit, cursor, walk = rng.choice(readers), rng.randint(1, 3), None, []
                while True:
                    page = mine.timeline(who, limit, before=cursor)
                    walk += [p.id for p in page]
                    if len(page) < limit:
                        break
                    cursor = page[-1]
                walks.append(walk)
        except BaseException as exc:
            errors.append(exc)

    writers = [threading.Thread(target=write, args=(t,)) for t in range(THREADS)]
    reader = threading.Thread(target=read)
    for th in [*writers, reader]:
        th.start()
    for th in writers:
        th.join()
    done.set()
    reader.join()
    setup.store.clear()  # type: ignore[attr-defined]
    assert not errors, errors
    assert walks
    for walk in walks:
        assert all(a > b for a, b in itertools.pairwise(walk)), walk
