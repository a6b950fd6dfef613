"""The global per-member cap is never exceeded, counted independently from the send log."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.membership import MembershipError
from designpatterns_ref.membership.engagement import (
    CapLedger,
    EpsilonGreedy,
    RandomPolicy,
    ThompsonSampling,
    max_sends_in_window,
    simulate,
)


def brute_max(log: list[tuple[str, int, str]], window: int) -> int:
    days_of: dict[str, list[int]] = {}
    for m, d, _ in log:
        days_of.setdefault(m, []).append(d)
    return max(
        (sum(1 for d in ds if start <= d < start + window)
         for ds in days_of.values() for start in range(min(ds), max(ds) + 1)),
        default=0,
    )  # fmt: skip


@given(
    st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 30), st.just("x")), max_size=40),
    st.integers(1, 10),
)
def test_window_count_matches_brute_force(log: list[tuple[str, int, str]], window: int) -> None:
    assert max_sends_in_window(log, window) == brute_max(log, window)


@settings(max_examples=15, deadline=None)
@given(
    st.integers(1, 4),
    st.integers(1, 10),
    st.sampled_from(["random", "epsilon", "thompson"]),
    st.integers(0, 1000),
)
def test_simulation_never_exceeds_the_cap(cap: int, window: int, kind: str, seed: int) -> None:
    policy = {"random": RandomPolicy(seed), "epsilon": EpsilonGreedy(0.2, seed),
              "thompson": ThompsonSampling(seed)}[kind]  # fmt: skip
    r = simulate(policy, members=40, days=25, cap=cap, window=window, seed=seed, churn=0.1)
    assert brute_max(r.log, window) <= cap
    assert r.max_in_window <= cap
    assert r.sends == len(r.log) and r.engagements <= r.sends
    # one send per member per day at most, and only eligible options were sent
    assert len({(m, d) for m, d, _ in r.log}) == len(r.log)


def test_no_cap_sends_more_and_cap_is_reached() -> None:
    free = simulate(RandomPolicy(1), members=100, days=21, cap=None, seed=4)
    capped = simulate(RandomPolicy(1), members=100, days=21, cap=2, window=7, seed=4)
    assert free.max_in_window > 2 and capped.max_in_window == 2
    assert capped.sends < free.sends
    assert capped.verifications > capped.cache_hits > 0


def test_simulation_is_deterministic() -> None:
    a = simulate(ThompsonSampling(5), members=60, days=10, seed=9)
    b = simulate(ThompsonSampling(5), members=60, days=10, seed=9)
    assert a.log == b.log and a.engagements_per_day == b.engagements_per_day


def test_ledger_refuses_a_send_over_the_cap() -> None:
    ledger = CapLedger(2, 7)
    ledger.record("m", 0)
    ledger.record("m", 3)
    with pytest.raises(MembershipError, match="cap"):
        ledger.record("m", 6)
    assert ledger.recent("m", 6) == 2 and ledger.room("m", 7)
    ledger.record("m", 7)


def test_epsilon_greedy_exploits_the_best() -> None:
    p = EpsilonGreedy(0.0, seed=1)
    for _ in range(10):
        p.update("a", False)
        p.update("b", True)
    assert p.choose(["a", "b"]) == "b"


def brute_room(days: list[int], day: int, cap: int, window: int) -> bool:
    """One more send on ``day`` keeps every window of ``window`` days that holds it under cap."""
    return all(
        sum(1 for d in days if start <= d < start + window) < cap
        for start in range(day - window + 1, day + 1)
    )


ledger_ops = st.lists(
    st.tuples(
        st.sampled_from(["room", "record", "recent"]),
        st.sampled_from("mn"),
        st.integers(0, 40),
    ),
    max_size=40,
)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 3), st.integers(1, 10), ledger_ops)
@example(1, 7, [("record", "m", 10), ("room", "m", 20), ("record", "m", 12)])  # look-ahead query
@example(2, 7, [("record", "m", 10), ("record", "m", 20), ("record", "m", 14)])  # between two
@example(1, 3, [("record", "m", 5), ("recent", "m", 3)])  # a later send is not in a past window
def test_ledger_equals_brute_force_with_days_in_any_order(
    cap: int, window: int, ops: list[tuple[str, str, int]]
) -> None:
    ledger = CapLedger(cap, window)
    sent: dict[str, list[int]] = {"m": [], "n": []}
    for op, member, day in ops:
        days = sent[member]
        if op == "room":
            assert ledger.room(member, day) == brute_room(days, day, cap, window)
        elif op == "recent":
            assert ledger.recent(member, day) == sum(1 for d in days if day - window < d <= day)
        elif brute_room(days, day, cap, window):
            ledger.record(member, day)
            days.append(day)
        else:
            with pytest.raises(MembershipError, match="cap"):
                ledger.record(member, day)
    log = [(m, d, "x") for m, ds in sent.items() for d in ds]
    assert brute_max(log, window) <= cap


@pytest.mark.parametrize("choice", ["nowhere/none", None, ["motor-club/legal-advice"], 3])
def test_a_policy_choosing_what_was_not_offered_is_refused(choice: object) -> None:
    """A policy's choice is checked against the options it was given: one outside them was
    a bare KeyError (or TypeError) from the simulation's table of rates."""

    class Stray:
        name = "stray"

        def choose(self, options: list[str]) -> object:
            return choice

        def update(self, option: str, engaged: bool) -> None:
            raise AssertionError("never reached")

    with pytest.raises(MembershipError, match=r"policy 'stray' chose .* not one of the"):
        simulate(Stray(), members=5, days=1)  # type: ignore[arg-type]


def test_epsilon_greedy_tries_an_unseen_option_before_a_perfect_one() -> None:
    """ "Unseen options first": an unseen option scored 1/1, the same as one engaged every
    time, and the tie went to the option listed first."""
    p = EpsilonGreedy(0.0, seed=1)
    for _ in range(3):
        p.update("a", True)
    assert p.choose(["a", "b"]) == "b"
    p.update("b", False)
    assert p.choose(["a", "b"]) == "a"
