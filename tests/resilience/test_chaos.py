"""Fault schedules, the Chaos Monkey experiment and the backoff contention study."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.resilience import Retry, Timeout, compose
from designpatterns_ref.resilience.backoff import Exponential, FullJitter
from designpatterns_ref.resilience.chaos import (
    FaultSchedule,
    InjectedError,
    InjectedTimeout,
    InstanceDown,
    Latency,
    Phase,
    availability_table,
    contention_study,
    run_experiment,
    simulate_contention,
)


def outcomes(seed: int) -> list[str]:
    clock = ManualClock()
    schedule = FaultSchedule(
        [
            Phase(0, 50, latency=Latency.lognormal(0.05, 1.0), error_rate=0.3),
            Phase(50, 60, blackhole=True),
            Phase(60, 70, killed=True),
        ],
        seed=seed,
        hang=5.0,
        clock=clock,
    )
    call = schedule.inject(lambda: "ok")
    seen = []
    for _ in range(80):
        start = clock()
        try:
            seen.append(f"{call()}:{clock() - start:.4f}")
        except (InjectedError, InjectedTimeout, InstanceDown) as exc:
            seen.append(type(exc).__name__)
        clock.advance(1.0)
    return seen


def test_schedules_are_seeded_and_every_fault_happens() -> None:
    first = outcomes(11)
    assert first == outcomes(11)
    assert first != outcomes(12)
    assert {"InjectedError", "InjectedTimeout", "InstanceDown"} <= set(first)
    assert first[-1].startswith("ok")  # after the last phase, the callable is itself again
    errors = first[:50].count("InjectedError")
    assert 5 < errors < 25  # 30% of 50, loosely


@settings(max_examples=30)
@given(rate=st.sampled_from([0.0, 0.25, 0.5, 1.0]), seed=st.integers(0, 1000))
def test_error_rate_zero_and_one_are_exact(rate: float, seed: int) -> None:
    clock = ManualClock()
    schedule = FaultSchedule([Phase(0, 1e9, error_rate=rate)], seed=seed, clock=clock)
    call = schedule.inject(lambda: "ok")
    failures = 0
    for _ in range(40):
        try:
            call()
        except InjectedError:
            failures += 1
    if rate == 0.0:
        assert failures == 0
    if rate == 1.0:
        assert failures == 40
    assert schedule.stats.errors == failures


def test_blackhole_waits_only_as_long_as_the_callers_deadline() -> None:
    clock = ManualClock()
    schedule = FaultSchedule([Phase(0, 100, blackhole=True)], hang=30.0, clock=clock)
    call = schedule.inject(lambda: "never")
    with pytest.raises(Exception):  # noqa: B017 - the timeout's or the blackhole's, either
        Timeout(2.0, clock=clock).call(call)
    assert clock() == 2.0
    with pytest.raises(InjectedTimeout):
        call()
    assert clock() == 32.0


def test_async_injection() -> None:
    clock = ManualClock()
    schedule = FaultSchedule([Phase(0, 10, latency=Latency.fixed(0.5))], clock=clock)

    async def ping() -> str:
        return "pong"

    assert asyncio.run(schedule.ainject(ping)()) == "pong"
    assert clock() == 0.5


def test_async_injection_refuses_a_plain_function_and_records_nothing() -> None:
    from designpatterns_ref.resilience import ResilienceTypeError

    clock = ManualClock()
    schedule = FaultSchedule([Phase(0, 10, latency=Latency.fixed(0.5))], clock=clock)
    with pytest.raises(ResilienceTypeError, match=r"FaultSchedule\.ainject: fn="):
        asyncio.run(schedule.ainject(lambda: "pong")())  # type: ignore[arg-type]
    assert clock() == 0.0 and schedule.stats.calls == 0


def test_retry_and_timeout_survive_a_flaky_dependency() -> None:
    clock = ManualClock()
    schedule = FaultSchedule([Phase(0, 1e9, error_rate=0.2)], seed=5, clock=clock)
    call = schedule.inject(lambda: "ok")
    guarded = compose(Retry(attempts=4, backoff=FullJitter(0.01, 0.1), seed=1, clock=clock))
    answers = []
    for _ in range(200):
        try:
            answers.append(guarded.call(call))
        except InjectedError:
            answers.append("failed")
    assert answers.count("failed") <= 2  # 0.2**4 of 200 is 0.3 on average
    assert schedule.stats.errors > 20


def test_monkey_hypothesis_holds_with_retries_and_fails_without() -> None:
    steady = run_experiment("timeout", scenario="steady", requests=1500, seed=1)
    assert steady.experiment.success_rate > 0.99
    guarded = run_experiment("timeout+retry", scenario="monkey", requests=1500, seed=1,
                             blast_radius=0.5)  # fmt: skip
    bare = run_experiment("timeout", scenario="monkey", requests=1500, seed=1, blast_radius=0.5)
    assert guarded.kills > 0
    assert guarded.control is not None and bare.control is not None
    assert guarded.hypothesis_holds(tolerance=0.005)
    assert not bare.hypothesis_holds(tolerance=0.005)
    assert 0.3 < guarded.experiment.requests / 1500 < 0.7  # the blast radius


def test_breaker_and_fallback_earn_their_keep_in_an_outage() -> None:
    rows = {r.guards: r.experiment for r in availability_table("outage", requests=1500, seed=2)}
    retry, breaker = rows["timeout+retry"], rows["timeout+retry+breaker"]
    full = rows["timeout+retry+breaker+fallback"]
    assert breaker.fleet_calls < retry.fleet_calls  # the breaker sheds the load
    assert breaker.p50 <= retry.p50
    assert full.availability == 1.0 and full.degraded > 0
    assert rows["none"].p99 >= 30.0  # without a timeout, a hung call waits the client's 30 s


def test_contention_study_has_the_published_shape() -> None:
    study = contention_study((10, 50), seeds=2)
    calls = {name: rows[-1].calls for name, rows in study.items()}
    time_ = {name: rows[-1].completion for name, rows in study.items()}
    assert calls["no jitter"] > 1.3 * max(calls[k] for k in calls if k != "no jitter")
    assert time_["no jitter"] > 2 * max(time_[k] for k in time_ if k != "no jitter")
    assert calls["full jitter"] <= calls["equal jitter"]
    assert time_["full jitter"] < time_["equal jitter"]


@settings(max_examples=20)
@given(clients=st.integers(1, 30), seed=st.integers(0, 100))
def test_contention_every_client_succeeds_once(clients: int, seed: int) -> None:
    for policy in (Exponential(0.005, 1.0), FullJitter(0.005, 1.0)):
        result = simulate_contention(clients, policy, seed=seed)
        assert result.calls >= clients  # at least one attempt each; one success each
        assert result.completion > 0


def test_a_lognormal_sigma_past_the_bound_is_refused() -> None:
    """exp(sigma * a normal draw) overflowed inside the user's call; now the Latency refuses."""
    from designpatterns_ref.resilience import ResilienceError

    with pytest.raises(ResilienceError, match=r"sigma b=1000 must be <= 10"):
        Latency.lognormal(0.1, 1000)
    with pytest.raises(ResilienceError, match=r"sigma b=10.5 must be <= 10"):
        Latency("lognormal", 0.1, 10.5)
    assert Latency.lognormal(0.1, 10).b == 10.0
    assert Latency.uniform(0, 1000).b == 1000.0  # b is sigma only for a lognormal


@settings(max_examples=60, deadline=None)
@given(
    latency=st.one_of(
        st.builds(
            Latency.lognormal,
            st.floats(0, 1e308),
            st.floats(0, 10),
        ),
        st.builds(Latency.exponential, st.floats(0, 1e308)),
    ),
    seed=st.integers(0, 2**32),
)
def test_any_accepted_latency_is_waited_at_most_hang(latency: Latency, seed: int) -> None:
    """Every draw of an accepted distribution is a wait of at most ``hang``: never an error."""
    clock = ManualClock()
    schedule = FaultSchedule([Phase(0, 10, latency=latency)], seed=seed, hang=30.0, clock=clock)
    ping = schedule.inject(lambda: "pong")
    for _ in range(20):
        before = clock()
        assert ping() == "pong"
        assert 0 <= clock() - before <= 30.0
        clock.set(0.0, allow_backwards=True)
