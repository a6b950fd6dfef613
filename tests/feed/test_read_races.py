"""A timeline read racing another server's posts or rebuild, store call by store call.

Two servers (two feeds on one store) each make one call, and a scheduler lets them take turns
one store call at a time, in the order a schedule says: every interleaving a shared store
allows, the reader's page read and its floor read included. Each page read during the race
must be what the brute-force oracle gives for the reader at some moment of it: before the other
server's calls, or after one or more of them; never a post twice, never a short page (which
means "the end of the timeline") that has dropped older posts. The schedules that broke it:

* the reader reads its capped timeline, the other server pushes two posts (the trim raises the
  floor), then the reader reads the floor and merges from it: the page showed the posts between
  the old and the new floor twice;
* two servers rebuild the same idle user at once: one reads its rebuilt page, the other's
  rebuild clears the timeline, then the first reads the floor, found complete: the page came
  back short, without the older posts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.feed import FanoutOnWrite, Feed, FeedStore, HybridFanout

from .conftest import Oracle, StoreFactory


class Turns:
    """Runs actors (threads) one store call at a time, in the order of a list of run lengths:
    the first actor makes ``runs[0]`` store calls, the second ``runs[1]``, and so on by turns;
    once the list is used up, each runs to its end in order."""

    def __init__(self, runs: list[int]) -> None:
        self.runs = list(runs)
        self.cond = threading.Condition()
        self.turn: str | None = None
        self.parked: set[str] = set()
        self.finished: set[str] = set()
        self.started = False  # until run(): calls pass straight through (feeds being made)

    def view(self, store: FeedStore, actor: str) -> Any:
        turns = self

        class Stepped:
            name = store.name
            shared = False

            def __getattr__(self, attr: str) -> Any:
                real = getattr(store, attr)
                if not callable(real):
                    return real

                def call(*args: Any, **kwargs: Any) -> Any:
                    turns._wait(actor)
                    return real(*args, **kwargs)

                return call

        return Stepped()

    def _wait(self, actor: str) -> None:
        if not self.started:
            return
        with self.cond:
            self.parked.add(actor)
            self.cond.notify_all()
            self.cond.wait_for(lambda: self.turn == actor)
            self.turn = None
            self.parked.discard(actor)

    def _grant(self, actor: str) -> bool:
        """Let ``actor`` make one store call; False once it has finished."""
        with self.cond:
            self.cond.wait_for(lambda: actor in self.parked or actor in self.finished)
            if actor in self.finished:
                return False
            self.turn = actor
            self.cond.notify_all()
            self.cond.wait_for(lambda: self.turn is None)
            return True

    def run(self, actors: dict[str, Callable[[], object]]) -> dict[str, object]:
        results: dict[str, object] = {}
        errors: list[BaseException] = []

        def body(name: str, work: Callable[[], object]) -> None:
            try:
                results[name] = work()
            except BaseException as exc:  # reported by run()
                errors.append(exc)
            finally:
                with self.cond:
                    self.finished.add(name)
                    self.cond.notify_all()

        self.started = True
        names = list(actors)
        threads = [threading.Thread(target=body, args=(n, actors[n])) for n in names]
        for thread in threads:
            thread.start()
        for i, length in enumerate(self.runs):
            for _ in range(length):
                if not self._grant(names[i % len(names)]):
                    break
        for name in names:
            while self._grant(name):
                pass
        for thread in threads:
            thread.join(10)
        if errors:
            raise errors[0]
        return results


def _feed(kind: str, store: Any, clock: ManualClock) -> Feed:
    if kind == "push":
        return FanoutOnWrite(store, max_len=2, clock=clock)
    inactive = None if kind == "hybrid" else 5.0  # "idle": the hybrid that rebuilds
    return HybridFanout(
        store, threshold=100, inactive_after=inactive, max_len=2, rebuild_len=2, clock=clock
    )


def _ids(page: object) -> list[int]:
    assert isinstance(page, list)
    return [p.id for p in page]


SCENARIOS = ["posts:push", "posts:hybrid", "rebuilds:idle", "posts:idle"]
schedules = st.lists(st.integers(0, 12), max_size=8)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(scenario=st.sampled_from(SCENARIOS), runs=schedules, limit=st.sampled_from([2, 3, 10]))
# the reader's page, two posts by the other server, then the reader's floor
@example(scenario="posts:push", runs=[2, 30], limit=10)
@example(scenario="posts:hybrid", runs=[4, 30], limit=10)
# the other server's rebuild clears the timeline between the reader's page and its floor
@example(scenario="rebuilds:idle", runs=[5, 9, 3, 40], limit=10)
@example(scenario="posts:idle", runs=[11, 0, 3, 40], limit=10)
def test_a_page_read_racing_posts_or_a_rebuild_is_the_oracles_at_some_moment(
    stores: StoreFactory, scenario: str, runs: list[int], limit: int
) -> None:
    race, kind = scenario.split(":")
    try:
        store, clock, oracle = stores(), ManualClock(1.0), Oracle()
        setup = _feed(kind, store, clock)
        setup.add_users(["a", "b"])
        oracle.add_user("a")
        oracle.add_user("b")
        setup.follow("b", "a")
        oracle.followees["b"].add("a")
        for _ in range(3):  # b's timeline holds [3, 2], capped
            setup.post("a")
            oracle.post("a")
        if kind == "idle":
            clock.advance(10.0)
            setup.post("a")  # b is idle: skipped, its timeline marked stale
            oracle.post("a")
        turns = Turns(runs)
        reader = _feed(kind, turns.view(store, "reader"), clock)
        other = _feed(kind, turns.view(store, "other"), clock)
        states = [oracle.timeline("b", limit)]
        if race == "posts":

            def act() -> object:
                return [other.post("a").id, other.post("a").id]

            for _ in range(2):
                oracle.post("a")
                states.append(oracle.timeline("b", limit))
        else:

            def act() -> object:
                return other.timeline("b", limit)

        got = turns.run({"reader": lambda: reader.timeline("b", limit), "other": act})
        pages = [_ids(got["reader"])] + ([] if race == "posts" else [_ids(got["other"])])
        for page in pages:
            assert page in states, (page, states)
    finally:
        stores.cleanup()
