"""Presence's incremental flush against a reference that rescans every (subscriber, user) pair."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.messaging import Presence

USERS = ["ann", "bob", "cy"]
TTL = 10.0


class ScanPresence:
    """The obvious version: every flush recomputes every watched user's state."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.beat: dict[str, tuple[float, str]] = {}
        self.subs: dict[str, set[str]] = {}
        self.told: dict[tuple[str, str], str] = {}

    def state(self, user: str) -> str:
        beat = self.beat.get(user)
        if beat is None or beat[1] == "offline" or self.clock() - beat[0] > TTL:
            return "offline"
        return beat[1]

    def flush(self) -> list[tuple[str, str, str]]:
        out = []
        for user, subs in self.subs.items():
            now = self.state(user)
            for sub in subs:
                if self.told.get((sub, user), "offline") != now:
                    self.told[(sub, user)] = now
                    out.append((sub, user, now))
        return sorted(out)


user = st.sampled_from(USERS)
step = st.one_of(
    st.tuples(st.just("beat"), user, st.sampled_from(["online", "away"])),
    st.tuples(st.just("disconnect"), user),
    st.tuples(st.just("subscribe"), user, user),
    st.tuples(st.just("unsubscribe"), user, user),
    # ticks that land exactly on the TTL, just past it, and in between
    st.tuples(st.just("advance"), st.sampled_from([0.5, TTL, TTL + 0.25, 3 * TTL])),
    st.tuples(st.just("flush")),
    st.tuples(st.just("flush")),  # twice as likely: a flush between every few changes
)


@settings(max_examples=400)  # cheap examples; the expiry paths need a few specific orders
@given(st.lists(step, max_size=40))
@example(
    [
        ("subscribe", "bob", "ann"),
        ("beat", "ann", "online"),
        ("flush",),
        ("advance", TTL),
        ("flush",),
        ("advance", 0.5),
        ("flush",),
    ]
)  # exactly at the TTL
@example(
    [
        ("subscribe", "bob", "ann"),
        ("beat", "ann", "online"),
        ("flush",),
        ("advance", TTL + 0.25),
        ("flush",),
    ]
)  # expiry alone, no other change: told offline
def test_incremental_flush_equals_a_full_rescan(steps: list[tuple[object, ...]]) -> None:
    clock = ManualClock()
    fast, ref = Presence(clock, ttl=TTL), ScanPresence(clock)
    for op, *args in steps:
        if op == "beat":
            u, status = str(args[0]), str(args[1])
            fast.heartbeat(u, status)
            ref.beat[u] = (clock(), status)
        elif op == "disconnect":
            fast.disconnect(str(args[0]))
            ref.beat[str(args[0])] = (clock(), "offline")
        elif op == "subscribe":
            sub, u = str(args[0]), str(args[1])
            fast.subscribe(sub, u)
            ref.subs.setdefault(u, set()).add(sub)
        elif op == "unsubscribe":
            sub, u = str(args[0]), str(args[1])
            fast.unsubscribe(sub, u)
            ref.subs.get(u, set()).discard(sub)
            ref.told.pop((sub, u), None)
        elif op == "advance":
            clock.advance(float(args[0]))  # type: ignore[arg-type]
        else:
            assert fast.flush() == ref.flush()
        assert [fast.state(u) for u in USERS] == [ref.state(u) for u in USERS]
    assert fast.flush() == ref.flush()
