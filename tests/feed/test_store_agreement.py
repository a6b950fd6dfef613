"""The memory and Redis stores give the same answers to the same calls.

Random sequences of store calls (posts at any time, timeline writes with and without the capped
mark, removals, clears, flags) run on a MemoryStore and on a RedisStore side by side; after each
call the answers and what the store then shows (latest time, pages, floors, author lists) must
be equal. The two used to differ: the memory store's latest time followed the last post back,
and a write of no ids with ``capped=True`` marked a memory timeline capped but not a Redis one.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.feed import MemoryStore, RedisStore

USERS = ["a", "b", "c"]
TOP = 2**62
_prefixes = itertools.count()

users = st.lists(st.sampled_from(USERS), min_size=1, max_size=3, unique=True)
ids = st.lists(st.integers(1, 12), max_size=5, unique=True)
calls = st.one_of(
    st.tuples(st.just("new_post"), st.sampled_from(USERS), st.integers(-5, 5).map(float)),
    st.tuples(st.just("home_add"), users, ids, st.integers(1, 4), st.booleans()),
    st.tuples(st.just("home_remove"), users, ids),
    st.tuples(st.just("home_clear"), st.sampled_from(USERS)),
    st.tuples(st.just("set_flag"), users, st.booleans()),
)


def run(store: Any, call: tuple[Any, ...]) -> object:
    name, *args = call
    if name == "new_post":
        return store.new_post(args[0], args[1], "x")
    if name == "home_add":
        return store.home_add(args[0], args[1], args[2], capped=args[3])
    if name == "set_flag":
        return store.set_flag("celebrity", args[0], args[1])
    return getattr(store, name)(*args)


def seen(store: Any) -> object:
    return (
        store.latest_at(),
        [store.home_page(u, 100, TOP) for u in USERS],
        store.home_floors(USERS),
        [store.home_read(u, n, before) for u in USERS for n in (1, 3) for before in (2, 5, TOP)],
        store.claim("push"),
        store.authored(USERS, 100, TOP),
        store.has_flag("celebrity", USERS),
        store.home_entries(),
    )


@pytest.fixture
def client(redis_url: str) -> Any:
    c = redis.Redis.from_url(redis_url, decode_responses=True)
    yield c
    c.close()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(calls, max_size=12))
@example(steps=[("new_post", "a", 1.0), ("new_post", "a", 0.0)])
@example(steps=[("home_add", ["a"], [], 3, True)])
@example(steps=[("new_post", "a", 2**53)])  # an int time: the memory store kept the int
def test_memory_and_redis_stores_agree(client: Any, steps: list[tuple[Any, ...]]) -> None:
    memory = MemoryStore()
    store = RedisStore(client, prefix=f"agree{next(_prefixes)}:")
    try:
        for s in (memory, store):
            for u in USERS:
                s.add_user(u, 0.0)
        for step in steps:
            assert run(memory, step) == run(store, step), step
            assert seen(memory) == seen(store), step
    finally:
        store.clear()
