"""CircuitBreaker with calls that overlap: random starts, finishes in any order, time moving.

The sequential model test (``test_breaker.py``) finishes every call before the next begins.
Here calls stay in flight across state changes, the way concurrent callers hold them: a call
begins (it takes its permission then), the clock moves, other calls begin and end, the breaker
is reset, and the call ends later with any outcome. The model is resilience4j's state machine
(``ReferenceBreaker``) plus the rule the module states: an outcome of a call that began before
a state change is dropped (it describes the old state); an ignored exception gives back its
half-open permit, and only to the half-open state that handed it out. Every answer, every
state, the window's totals, the lifetime counters and the transitions are compared.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Coroutine, Generator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.resilience import CallNotPermitted, CircuitBreaker
from designpatterns_ref.resilience.redis import RedisCircuitBreaker
from tests.resilience.oracle import BreakerConfig, ReferenceBreaker
from tests.resilience.test_breaker import configs


@dataclass
class GenerationModel(ReferenceBreaker):
    """The reference breaker, counting its state changes (generations) and its outcomes."""

    generation: int = 0
    successes: int = 0
    failures: int = 0
    slow: int = 0
    ignored: int = 0
    refused: int = 0

    def _move(self, new: str, now: float) -> None:
        super()._move(new, now)
        self.generation += 1

    def reset(self, now: float) -> None:
        """Back to closed, a fresh generation; a transition only if the state changes."""
        if self.state == "closed":
            self.log = []
            self.generation += 1
        else:
            self._move("closed", now)

    def begin(self, now: float) -> int | None:
        """The call's generation, or None when it is refused."""
        if self.permit(now):
            return self.generation
        self.refused += 1
        return None

    def end(self, now: float, kind: str, started: float, generation: int) -> None:
        duration = now - started
        if kind == "ignored":
            self.ignored += 1
            if self.state == "half_open" and generation == self.generation:
                self.permits += 1
            return
        slow = duration > self.cfg.slow_call_duration
        self.failures += kind == "fail"
        self.successes += kind != "fail"
        self.slow += slow
        if self._expired(now) or generation != self.generation:
            return  # an outcome of an older state: dropped
        self.finish(now, kind, duration)


class Gate:
    """What an in-flight call waits on; ``open(kind)`` lets it end that way."""

    def __init__(self) -> None:
        self.kind = "ok"

    def __await__(self) -> Generator[None, None, str]:
        yield  # suspended: the call is in flight
        if self.kind == "fail":
            raise ConnectionError("down")
        if self.kind == "other":
            raise ValueError("the caller's mistake: a success for the breaker")
        if self.kind == "ignored":
            raise PermissionError("ignored")
        return "ok"


STEP = st.one_of(
    st.tuples(st.just("begin"), st.just(0), st.just("")),
    st.tuples(
        st.just("end"), st.integers(0, 7), st.sampled_from(["ok", "fail", "other", "ignored"])
    ),
    st.tuples(st.just("advance"), st.sampled_from([1, 2, 4, 12]), st.just("")),
    st.tuples(st.just("reset"), st.just(0), st.just("")),
)


ONE_BY_ONE = BreakerConfig("count", 1, 1, 50.0, 100.0, 60.0, 0.0, 1, 60.0)


def drive(
    breaker: CircuitBreaker | RedisCircuitBreaker,
    clock: ManualClock,
    model: GenerationModel,
    steps: list[tuple[str, int, str]],
    counters: bool,
) -> None:
    """Run ``steps`` through ``breaker`` and ``model`` side by side, comparing as it goes."""
    transitions: list[tuple[str, str]] = []
    breaker.add_listener(lambda c: transitions.append((c.old.value, c.new.value)))
    flying: list[tuple[Coroutine[Any, Any, str], Gate, float, int]] = []
    for action, number, kind in steps:
        if action == "advance":
            clock.advance(number / 4)
        elif action == "reset":
            breaker.reset()
            model.reset(clock())
        elif action == "begin":
            expected = model.begin(clock())
            gate = Gate()

            async def body(gate: Gate = gate) -> str:
                return await gate

            coro = breaker.acall(body)
            try:
                coro.send(None)
            except CallNotPermitted:
                assert expected is None
            else:
                assert expected is not None
                flying.append((coro, gate, clock(), expected))
        elif flying:
            coro, gate, started, generation = flying.pop(number % len(flying))
            gate.kind = kind
            try:
                coro.send(None)
            except StopIteration:
                assert kind == "ok"
            except (ConnectionError, ValueError, PermissionError):
                assert kind != "ok"
            model.end(clock(), kind, started, generation)
        assert breaker.state.value == model.state
        if counters:
            assert isinstance(breaker, CircuitBreaker)
            metrics = breaker.metrics()
            if model.state == "closed":
                window = model.window(clock())
                assert metrics.window_calls == len(window)
                assert metrics.window_failures == sum(f for _, f, _ in window)
                assert metrics.window_slow == sum(s for _, _, s in window)
            assert (metrics.successes, metrics.failures, metrics.slow) == (
                model.successes,
                model.failures,
                model.slow,
            )
            assert (metrics.ignored, metrics.not_permitted) == (model.ignored, model.refused)
    assert transitions == model.transitions
    for coro, *_ in flying:
        coro.close()


@settings(max_examples=250, deadline=None)
@given(cfg=configs(), steps=st.lists(STEP, max_size=50))
# a call from the closed state ends ignored while the breaker is half-open: no permit back
@example(
    cfg=ONE_BY_ONE,
    steps=[
        ("begin", 0, ""),
        ("begin", 0, ""),
        ("end", 1, "fail"),
        ("begin", 0, ""),
        ("end", 0, "ignored"),
        ("begin", 0, ""),
    ],
)
@example(cfg=ONE_BY_ONE, steps=[("reset", 0, "")])  # a closed breaker reset stays closed
def test_overlapping_calls_equal_the_generation_model(
    cfg: BreakerConfig, steps: list[tuple[str, int, str]]
) -> None:
    clock = ManualClock()
    breaker = CircuitBreaker(
        **cfg.kwargs(),
        record=ConnectionError,
        ignore=PermissionError,
        clock=clock,  # type: ignore[arg-type]
    )
    drive(breaker, clock, GenerationModel(cfg), steps, counters=True)


@pytest.mark.redis
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cfg=configs(), steps=st.lists(STEP, max_size=40))
def test_overlapping_calls_on_the_redis_breaker_equal_the_generation_model(
    redis_url: str, cfg: BreakerConfig, steps: list[tuple[str, int, str]]
) -> None:
    import redis

    assume(cfg.window_type == "count")  # the shared breaker offers the count window only
    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    client.flushall()
    clock = ManualClock()
    kwargs = {k: v for k, v in cfg.kwargs().items() if k != "window_type"}
    breaker = RedisCircuitBreaker(
        client,
        name="dep",
        **kwargs,  # type: ignore[arg-type]
        record=ConnectionError,
        ignore=PermissionError,
        clock=clock,
    )
    try:
        drive(breaker, clock, GenerationModel(cfg), steps, counters=False)
    finally:
        client.close()


def test_threads_racing_for_half_open_permits_get_exactly_the_trial_calls() -> None:
    """Sixteen threads arrive together at a breaker whose wait in open is over: exactly
    ``half_open_calls`` of them run (and hold their permit while they run), every other one is
    refused, and the trial calls' successes close the breaker."""
    clock = ManualClock()
    breaker = CircuitBreaker(
        window_size=2, minimum_calls=2, wait_in_open=5, half_open_calls=3, clock=clock
    )
    for _ in range(2):
        with contextlib.suppress(ConnectionError):
            breaker.call(_fail)
    assert breaker.state.value == "open"
    clock.advance(5)
    start, release = threading.Barrier(16), threading.Event()
    answers: list[str] = []
    lock = threading.Lock()

    def caller() -> None:
        start.wait()
        try:
            breaker.call(release.wait, 10)
            answer = "ran"
        except CallNotPermitted:
            answer = "refused"
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=caller) for _ in range(16)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10
    while len(answers) < 13 and time.monotonic() < deadline:
        time.sleep(0.01)  # the refused ones answer at once; the trial calls wait
    release.set()
    for t in threads:
        t.join(10)
    assert sorted(answers) == ["ran"] * 3 + ["refused"] * 13
    assert breaker.state.value == "closed"


def _fail() -> None:
    raise ConnectionError("down")
