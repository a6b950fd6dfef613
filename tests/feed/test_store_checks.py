"""The stores' own methods check their arguments: the family's error, and the store unchanged.

A store is public (users build one, fill it and read it), but its methods took whatever they
were given: a list as a user name failed as ``TypeError: unhashable type`` on memory and as
``DataError`` on Redis, ``None`` as a time broke the Redis post script, an unknown user made
``last_seen`` raise ``KeyError``, dropping a post the memory store did not hold ``KeyError``.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from designpatterns_ref.feed import FeedError, FeedStats, FeedTypeError, Post
from tests.feed.conftest import StoreFactory
from tests.fuzz.families.feed import _STORE_CALLS, _small_store
from tests.fuzz.spec import Opaque
from tests.fuzz.test_fuzz import state_of

HOSTILE: tuple[Any, ...] = (
    None, True, 1.5, math.nan, math.inf, 10**400, -(10**5000), "", "\ud800", b"bytes", [],
    [1, "x"], {"a": 1}, Opaque(), Post(1, None, 2.0),  # type: ignore[arg-type]
)  # fmt: skip


def _state(store: Any) -> object:
    if store.name == "memory":
        return state_of(store)
    keys = sorted(store.r.scan_iter(match=store.prefix + "*", count=1000))
    return [(key, store.r.dump(key)) for key in keys]


@pytest.mark.parametrize("method", sorted(_STORE_CALLS))
def test_every_store_method_refuses_bad_arguments_and_changes_nothing(
    stores: StoreFactory, method: str
) -> None:
    store = _small_store(stores())
    for arg in _STORE_CALLS[method]:
        for value in HOSTILE:
            before = _state(store)
            try:
                getattr(store, method)(**{**_STORE_CALLS[method], arg: value})
            except FeedError as exc:
                assert str(exc), f"{method}({arg}={value!r:.40}): empty message"
                assert _state(store) == before, f"{method}({arg}={value!r:.40}) changed the store"


def test_last_seen_of_an_unknown_user_is_refused_on_every_store(stores: StoreFactory) -> None:
    store = _small_store(stores())
    assert store.last_seen(["ann"]) == [1.0]
    with pytest.raises(FeedError, match="'zed' is not a user"):
        store.last_seen(["ann", "zed"])


@pytest.mark.parametrize("at", [2**53 + 1, 2**60 + 1, -(2**53) - 1])
def test_an_int_time_a_float_cannot_hold_is_refused_on_every_store(
    stores: StoreFactory, at: int
) -> None:
    """Every store keeps times as floats: 2**60 + 1 would be kept as 2**60, and a later time
    could compare equal to an earlier one."""
    store = _small_store(stores())
    before = _state(store)
    for call in (
        lambda: store.add_user("dee", at),
        lambda: store.touch("ann", at),
        lambda: store.new_post("ann", at, "x"),
    ):
        with pytest.raises(FeedError, match=f"={at} is an int a float cannot hold exactly"):
            call()
    assert _state(store) == before
    store.add_user("dee", 2**53)  # a float holds it exactly
    assert store.last_seen(["dee"]) == [2.0**53]


def test_dropping_a_post_the_store_does_not_hold_does_nothing(stores: StoreFactory) -> None:
    store = _small_store(stores())
    before = _state(store)
    store.drop_post(Post(99, "bob", 2.0))
    assert _state(store) == before


def test_a_generator_of_users_is_read_once(stores: StoreFactory) -> None:
    store = _small_store(stores())
    store.set_flag("stale", (u for u in ["ann", "cy"]), True)
    assert store.has_flag("stale", ["ann", "bob", "cy"]) == [True, False, True]


def test_stats_since_refuses_what_is_not_a_snapshot() -> None:
    stats = FeedStats(posts=3)
    assert stats.since(FeedStats(posts=1)).posts == 2
    for value in HOSTILE:
        with pytest.raises(FeedTypeError, match="earlier="):
            stats.since(value)
    assert stats == FeedStats(posts=3)


def test_a_strategy_calls_its_store_once_checked() -> None:
    """A strategy checks what users hand it, then calls its store without the store's checks
    (they would run twice); the store itself, reached directly, still checks."""
    from designpatterns_ref.feed import FanoutOnWrite, MemoryStore
    from designpatterns_ref.feed.storecheck import unchecked

    store = MemoryStore()
    feed = FanoutOnWrite(store)
    raw = type(store).add_user._unchecked  # type: ignore[attr-defined]
    assert feed._store.add_user.__func__ is raw  # type: ignore[attr-defined]
    assert feed._store.name == store.name  # everything else is the store's own
    with pytest.raises(FeedTypeError):
        feed.store.add_user(["ann"], 0.0)
    with pytest.raises(FeedTypeError):
        feed.add_user(["ann"])
    feed.add_user("ann")
    assert store.has_user("ann")

    class Plain:  # a store class the checks were never added to
        name = "plain"

    plain = Plain()
    assert unchecked(plain) is plain  # type: ignore[arg-type]
