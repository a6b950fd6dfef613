"""Every limiter, on every backend, against a short exact model of its algorithm.

Random sequences of allow, peek, reset, acquire (sync and async), bad costs (0, over the
limit), holds and releases run on a ManualClock that ticks, steps back (as NTP steps a wall
clock) and jumps. The model is the algorithm as it is published, in exact fractions: a bucket
of tokens (the token bucket, GCRA and both leaky buckets are one policy), a count per aligned
window, the two-window estimate, a list of times, a list of lease expiries. Every answer is
compared with the model's; a refused call must leave the model's state as it was. Times are
multiples of 1/16 s and the limit is 4 a second, so the numbers both sides compute are exact in
floating point (but for the estimate's thirds of a window, which may end a few ulps late).

A clock that steps back is time standing still for a key (the module docstring of
:mod:`designpatterns_ref.ratelimit.memory`): no credit is earned, none is taken away.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
from collections.abc import Callable
from fractions import Fraction as F
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from designpatterns_ref import ratelimit as rl
from designpatterns_ref.clock import ManualClock

from .conftest import LIMIT

R, PER, LEASE = F(LIMIT), F(1), F(1)  # every model: 4 units a second, burst or window of 4
KEYS = ("a", "b")
_fresh = itertools.count()


class Said:
    """A model's answer: the fields of a Decision that the sequences compare."""

    def __init__(
        self,
        allowed: bool,
        remaining: int,
        retry: F | float = 0,
        delay: F = F(0),
        reset: F | None = None,
    ) -> None:
        self.allowed, self.remaining, self.retry, self.delay = allowed, remaining, retry, delay
        self.reset = reset  # reset_after, where the model keeps it (None: not compared)

    def __repr__(self) -> str:
        reset = None if self.reset is None else float(self.reset)
        return (
            f"Said({self.allowed}, {self.remaining}, {float(self.retry)}, {float(self.delay)}, "
            f"{reset})"
        )


class Bucket:
    """Token bucket of ``LIMIT`` tokens refilled at ``R`` a second (GCRA, both leaky buckets)."""

    def __init__(self, queue: bool = False) -> None:
        self.keys: dict[str, tuple[F, F]] = {}  # key -> (tokens, stamp: the latest time seen)
        self.queue = queue

    def decide(self, key: str, t: F, cost: int, commit: bool) -> Said:
        tokens, stamp = self.keys.get(key, (R, t))
        if t > stamp:  # refill; a clock behind the stamp earns nothing
            tokens, stamp = min(R, tokens + (t - stamp) * R), t
        # full again once the clock has caught up with the stamp and the bucket has refilled
        behind = max(F(0), stamp - t)
        # the queue: what is queued (the tokens spent) drains only once the clock is back at
        # the stamp, and the request starts when it has drained
        delay = behind + (R - tokens) / R if self.queue else F(0)
        if tokens >= cost:
            if commit:
                self.keys[key] = (tokens - cost, stamp)
            return Said(True, math.floor(tokens - cost), 0, delay, behind + (R - tokens + cost) / R)
        return Said(
            False,
            math.floor(tokens),
            stamp + (cost - tokens) / R - t,
            reset=behind + (R - tokens) / R,
        )


class Fixed:
    """At most ``LIMIT`` units in each aligned window of ``PER`` seconds."""

    def __init__(self) -> None:
        self.keys: dict[str, tuple[int, int]] = {}  # key -> (window, count)

    def decide(self, key: str, t: F, cost: int, commit: bool) -> Said:
        window = math.floor(t / PER)
        stored, count = self.keys.get(key, (window, 0))
        if window > stored:
            count = 0
        else:  # the same window, or a clock that stepped back: keep counting in it
            window = stored
        if count + cost <= LIMIT:
            if commit:
                self.keys[key] = (window, count + cost)
            return Said(True, LIMIT - count - cost, reset=(window + 1) * PER - t)
        return Said(False, LIMIT - count, (window + 1) * PER - t, reset=(window + 1) * PER - t)


class Counter:
    """The two-window estimate: ``previous * (1 - fraction into the window) + current``."""

    def __init__(self) -> None:
        self.keys: dict[str, tuple[int, int, int]] = {}  # key -> (window, previous, current)

    @staticmethod
    def estimate(state: tuple[int, int, int] | None, t: F) -> tuple[int, int, int, F]:
        window = math.floor(t / PER)
        if state is None:
            return window, 0, 0, F(0)
        start, previous, current = state
        if window > start:
            previous, current = (current if window == start + 1 else 0), 0
        else:
            window = start
        into = (t - window * PER) / PER
        return window, previous, current, previous * (1 - into if into > 0 else 1) + current

    def decide(self, key: str, t: F, cost: int, commit: bool) -> Said:
        state = self.keys.get(key)
        window, previous, current, guess = self.estimate(state, t)
        if guess + cost <= LIMIT:
            if commit:
                self.keys[key] = (window, previous, current + cost)
            return Said(True, math.floor(LIMIT - guess - cost))
        # the earliest time the estimate leaves room: the estimate only falls as time passes,
        # linearly within a window, so the answer is on one of these three pieces
        if previous and current + cost <= LIMIT:
            at = (window + 1 - F(LIMIT - current - cost, previous)) * PER
        elif current and cost < LIMIT:
            at = (window + 2 - F(LIMIT - cost, current)) * PER
        else:
            at = (window + 2) * PER
        assert self.estimate((window, previous, current), at)[3] + cost <= LIMIT
        return Said(False, max(0, math.floor(LIMIT - guess)), at - t)


class Log:
    """The times of admitted units; a window ``(t - PER, t]`` holds at most ``LIMIT``."""

    def __init__(self) -> None:
        self.keys: dict[str, list[F]] = {}

    def decide(self, key: str, t: F, cost: int, commit: bool) -> Said:
        log = self.keys.get(key, [])
        t = max([t, *log[-1:]])  # a clock that steps back: time stands still at the last entry
        live = [x for x in log if x > t - PER]
        if len(live) + cost <= LIMIT:
            if commit:
                self.keys[key] = live + [t] * cost
            return Said(True, LIMIT - len(live) - cost)
        at = live[len(live) + cost - LIMIT - 1] + PER
        return Said(False, LIMIT - len(live), at)  # retry made relative by the caller


class Cap:
    """The units of each key: its lease expiry and its owner (None for a unit taken with
    allow, else the number of the hold that took it); at most ``LIMIT`` live (expiring after
    now). Release gives back the oldest live units taken with allow, never a hold's."""

    def __init__(self) -> None:
        self.keys: dict[str, list[tuple[F, int | None]]] = {}

    def live(self, key: str, t: F) -> list[tuple[F, int | None]]:
        return sorted((u for u in self.keys.get(key, []) if u[0] > t), key=lambda u: u[0])

    def decide(self, key: str, t: F, cost: int, commit: bool, owner: int | None = None) -> Said:
        live = self.live(key, t)
        if len(live) + cost <= LIMIT:
            if commit:
                self.keys[key] = live + [(t + LEASE, owner)] * cost
            return Said(True, LIMIT - len(live) - cost)
        return Said(False, LIMIT - len(live), live[len(live) + cost - LIMIT - 1][0] - t)

    def release(self, key: str, t: F, cost: int) -> bool:
        live = self.live(key, t)
        anonymous = [at for at, (_, owner) in enumerate(live) if owner is None]
        if len(anonymous) < cost:
            return False
        gone = set(anonymous[:cost])
        self.keys[key] = [u for at, u in enumerate(live) if at not in gone]
        return True

    def give_back(self, key: str, owner: int) -> None:
        """A hold's exit: its own units, those it took that are still there."""
        self.keys[key] = [u for u in self.keys.get(key, []) if u[1] != owner]


class AllOf:
    """All-or-nothing over several models; the most restrictive answer."""

    def __init__(self, *parts: Any) -> None:
        self.parts = parts

    def decide(self, key: str, t: F, cost: int, commit: bool) -> Said:
        said = [fix(p, p.decide(key, t, cost, False), t) for p in self.parts]
        if commit and all(s.allowed for s in said):
            said = [fix(p, p.decide(key, t, cost, True), t) for p in self.parts]
        resets = [s.reset for s in said]
        reset = None if None in resets else max(r for r in resets if r is not None)
        denied = [s for s in said if not s.allowed]
        if denied:  # the longest wait; the units left of the part with the fewest
            worst = max(denied, key=lambda s: s.retry)
            fewest = min(s.remaining for s in denied)
            return Said(False, fewest, worst.retry, worst.delay, reset)
        tightest = min(said, key=lambda s: s.remaining)
        return Said(True, tightest.remaining, 0, max(s.delay for s in said), reset)

    @property
    def keys(self) -> list[Any]:
        return [p.keys for p in self.parts]


def fix(model: Any, said: Said, t: F) -> Said:
    """The sliding log's refusal gives the time it frees; the others give the wait."""
    if isinstance(model, Log) and not said.allowed:
        said.retry = said.retry - t
    return said


MODELS: dict[str, Callable[[], Any]] = {
    "token_bucket": Bucket,
    "gcra": Bucket,
    "leaky_bucket": Bucket,
    "leaky_queue": lambda: Bucket(queue=True),
    "fixed_window": Fixed,
    "sliding_log": Log,
    "sliding_counter": Counter,
    "concurrency": Cap,
}

ticks = st.tuples(st.just("tick"), st.integers(0, 24))
ops = st.one_of(
    ticks,
    ticks,
    st.tuples(st.just("back"), st.integers(1, 24)),
    st.tuples(st.just("back"), st.integers(1, 24)),
    st.tuples(st.just("jump"), st.sampled_from([-(2**14), 2**14, 2**24])),  # sixteenths
    st.tuples(st.just("allow"), st.sampled_from(KEYS), st.sampled_from([1, 1, 2, LIMIT])),
    st.tuples(st.just("allow"), st.sampled_from(KEYS), st.sampled_from([1, 1, 2, LIMIT])),
    st.tuples(st.just("peek"), st.sampled_from(KEYS), st.sampled_from([1, 2, LIMIT])),
    st.tuples(st.just("bad"), st.sampled_from(KEYS), st.sampled_from([0, LIMIT + 1])),
    st.tuples(st.just("reset"), st.sampled_from(KEYS)),
    st.tuples(
        st.sampled_from(["acquire", "acquire_async"]),
        st.sampled_from(KEYS),
        st.sampled_from([1, 2, LIMIT]),
        st.sampled_from([0, 0.25, 1.0, None]),
    ),
    st.tuples(st.just("release"), st.sampled_from(KEYS), st.sampled_from([1, 2])),
    st.tuples(st.just("hold"), st.sampled_from(KEYS), st.sampled_from([1, 2])),
    st.tuples(st.just("exit")),
)
sequences = st.lists(ops, min_size=1, max_size=40)


def same(real: rl.Decision, said: Said, where: object, now: float) -> None:
    assert (real.allowed, real.remaining) == (said.allowed, said.remaining), (where, real, said)
    # exact, but for a time no double holds (a third of a window): then a few ulps of the
    # clock's reading later (base.CORRECTION)
    slack = (abs(now) + 1) * 2.0**-44
    assert said.retry - slack / 64 <= real.retry_after <= said.retry + slack, (where, real, said)
    assert math.isclose(real.delay, said.delay, rel_tol=1e-12, abs_tol=1e-12), (where, real)
    if said.reset is not None:
        assert math.isclose(real.reset_after, said.reset, rel_tol=1e-12, abs_tol=1e-12), (
            where,
            real,
            said,
        )


def acquire_model(model: Any, key: str, t: float, cost: int, timeout: float | None) -> Any:
    """What acquire does, on the model: ask, and wait out each refusal that ends in time."""
    deadline = F(t) + F(timeout) if timeout is not None else None
    while True:
        said = fix(model, model.decide(key, F(t), cost, True), F(t))
        if said.allowed:
            return said, t
        if deadline is not None and F(t) + said.retry > deadline:
            return said, t
        t += float(said.retry)  # the ManualClock's float, as acquire advances it


def run(limiter: Any, model: Any, seq: list[Any], waits: bool = True) -> None:
    """Drive ``limiter`` and ``model`` through ``seq`` on the limiter's ManualClock."""
    clock: ManualClock = limiter.clock
    cap = isinstance(model, Cap)
    holds: list[tuple[Any, str, int]] = []  # open holds: (context, key, number)
    numbers = itertools.count()
    for key in KEYS:
        limiter.reset(key)
    try:
        for step, op in enumerate(seq):
            where = (step, op, clock.now)
            t = F(clock.now)
            kind = op[0]
            if kind == "tick":
                clock.advance(op[1] / 16)
            elif kind in ("back", "jump"):
                back = -op[1] if kind == "back" else op[1]
                clock.set(clock.now + back / 16, allow_backwards=True)
            elif kind in ("allow", "peek"):
                real = getattr(limiter, kind)(op[1], op[2])
                same(
                    real,
                    fix(model, model.decide(op[1], t, op[2], kind == "allow"), t),
                    where,
                    clock.now,
                )
            elif kind == "bad":
                before = repr(model.keys)
                with pytest.raises(rl.RateLimitError, match="cost"):
                    limiter.allow(op[1], op[2])
                assert repr(model.keys) == before
            elif kind == "reset":
                limiter.reset(op[1])
                for keys in model.keys if isinstance(model, AllOf) else [model.keys]:
                    keys.pop(op[1], None)
            elif kind in ("acquire", "acquire_async"):
                if cap or not waits:  # a cap polls every 0.05 s: not a time the model keeps
                    continue
                _, key, cost, timeout = op
                said, then = acquire_model(model, key, clock.now, cost, timeout)
                if kind == "acquire":
                    real = limiter.acquire(key, cost, timeout=timeout)
                else:
                    real = asyncio.run(limiter.acquire_async(key, cost, timeout=timeout))
                same(real, said, where, clock.now)
                assert clock.now == then, where
            elif kind == "release" and cap and hasattr(limiter, "release"):  # holds open or not
                if model.release(op[1], t, op[2]):
                    limiter.release(op[1], op[2])
                else:
                    with pytest.raises(rl.RateLimitError, match="cannot release"):
                        limiter.release(op[1], op[2])
            elif kind == "hold" and cap and hasattr(limiter, "hold"):
                context, number = limiter.hold(op[1], op[2]), next(numbers)
                said = model.decide(op[1], t, op[2], True, number)
                if said.allowed:
                    same(context.__enter__(), said, where, clock.now)
                    holds.append((context, op[1], number))
                else:
                    with pytest.raises(rl.RateLimitExceeded) as refused:
                        context.__enter__()
                    same(refused.value.decision, said, where, clock.now)
            elif kind == "exit" and holds:
                context, key, number = holds.pop()
                context.__exit__(None, None, None)
                model.give_back(key, number)
        for key in KEYS:  # the final state, as the next request of each size sees it
            t = F(clock.now)
            for cost in (1, LIMIT):
                said = fix(model, model.decide(key, t, cost, False), t)
                same(limiter.peek(key, cost), said, key, clock.now)
    finally:
        for context, *_ in reversed(holds):
            with contextlib.suppress(Exception):
                context.__exit__(None, None, None)


MODEL_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@MODEL_SETTINGS
@given(seq=sequences)
def test_every_limiter_on_every_backend_answers_as_its_model(
    make: Callable[[ManualClock], Any], request: pytest.FixtureRequest, seq: list[Any]
) -> None:
    name = request.node.callspec.id.rsplit("-", 1)[0]
    limiter = make(ManualClock(1_000.0))
    run(limiter, MODELS[name](), seq)


# --------------------------------------------------------- the cap: release beside a hold


def cap_on(backend: str, clock: ManualClock, request: pytest.FixtureRequest) -> Any:
    """A concurrency cap of 3 units with a 30 s lease, on ``backend``."""
    if backend == "memory":
        return rl.ConcurrencyLimiter(3, lease=30.0, clock=clock)
    from designpatterns_ref.ratelimit import redis as rr

    client = request.getfixturevalue(
        "redis_client" if backend == "redis" else "redis_cluster_client"
    )
    deadline = None if backend == "cluster" else 5.0
    name = f"beside{next(_fresh)}"
    return rr.ConcurrencyLimiter(
        client, 3, lease=30.0, clock=clock, name=name, deadline=deadline, ttl_slack=600.0
    )


@pytest.mark.parametrize(
    "backend",
    [
        "memory",
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("cluster", marks=pytest.mark.redis),
    ],
)
def test_release_gives_back_only_units_taken_with_allow_never_a_holds(
    backend: str, request: pytest.FixtureRequest
) -> None:
    clock = ManualClock(10.0)
    cap = cap_on(backend, clock, request)
    with cap.hold("k"):  # the key's oldest unit is the hold's
        clock.advance(1.0)
        assert cap.allow("k")
        cap.release("k")  # gives back the unit allow took
        assert cap.peek("k").remaining == 1  # the hold's unit is still taken
        with pytest.raises(rl.RateLimitError, match="holds 0 live units taken with allow"):
            cap.release("k")  # no unit taken with allow is left: refused, changing nothing
        assert cap.peek("k").remaining == 1
        assert cap.allow("k", 2)
        with pytest.raises(rl.RateLimitError, match="holds 2 live units taken with allow"):
            cap.release("k", 3)  # three are taken, but one of them is the hold's
        cap.release("k", 2)
    assert cap.peek("k", 3)  # the hold gave back its own: every unit is free again
    with pytest.raises(rl.RateLimitError, match="holds 0 live units taken with allow"):
        cap.release("k")


# --------------------------------------------------------------------------- composites

COMPOSITES = ("all_of", "from_text")
BACKENDS = [
    pytest.param("memory"),
    pytest.param("sqlite"),
    pytest.param("redis", marks=pytest.mark.redis),
    pytest.param("cluster", marks=pytest.mark.redis),
]


def composite(
    kind: str,
    backend: str,
    clock: ManualClock,
    request: pytest.FixtureRequest,
    bucket: tuple[int, float, int] = (LIMIT, 1.0, LIMIT),
    window: tuple[int, float] = (LIMIT, 1.0),
) -> Any:
    """A token bucket (by default of 4 a second) and a fixed window (4 a second), as one
    limiter; ``bucket`` is (rate, per, burst), ``window`` (limit, seconds)."""
    name = f"model{next(_fresh)}"
    if kind == "from_text":  # the same two limits, written down: "4/second" twice is one
        text = "4/second; 4 per 1 second; 8/2 seconds"
        if backend == "memory":
            return rl.limiter_from_text(text, "token_bucket", clock=clock)
        if backend == "sqlite":
            from designpatterns_ref.ratelimit import sqlite

            path = request.getfixturevalue("tmp_path") / "limits.db"
            return sqlite.limiter_from_text(path, text, "token_bucket", clock=clock, name=name)
        from designpatterns_ref.ratelimit import redis as rr

        client = request.getfixturevalue(
            "redis_client" if backend == "redis" else "redis_cluster_client"
        )
        deadline = None if backend == "cluster" else 5.0
        return rr.limiter_from_text(
            client, text, "token_bucket", clock=clock, name=name, deadline=deadline, ttl_slack=600.0
        )
    if backend == "memory":
        return rl.all_of(rl.TokenBucket(*bucket, clock=clock), rl.FixedWindow(*window, clock=clock))
    if backend == "sqlite":
        from designpatterns_ref.ratelimit import sqlite

        path = request.getfixturevalue("tmp_path") / "limits.db"
        return sqlite.all_of(
            sqlite.TokenBucket(path, *bucket, clock=clock, name=name),
            sqlite.FixedWindow(path, *window, clock=clock, name=name),
        )
    from designpatterns_ref.ratelimit import redis as rr

    client = request.getfixturevalue(
        "redis_client" if backend == "redis" else "redis_cluster_client"
    )
    options: dict[str, Any] = {
        "clock": clock,
        "name": name,
        "deadline": None if backend == "cluster" else 5.0,
        # keys expire in real seconds: the simulated clock must not race a busy machine
        "ttl_slack": 600.0,
    }
    return rr.all_of(
        rr.TokenBucket(client, *bucket, **options), rr.FixedWindow(client, *window, **options)
    )


def composite_model(kind: str) -> AllOf:
    if kind == "from_text":  # 4/second, and 8 per 2 seconds: a bucket of 8 refilled at 4/s
        return AllOf(Bucket(), EightPerTwo())
    return AllOf(Bucket(), Fixed())


class EightPerTwo(Bucket):
    """A token bucket of 8 refilled 8 every 2 seconds (the text's second limit)."""

    def decide(self, key: str, t: F, cost: int, commit: bool) -> Said:
        tokens, stamp = self.keys.get(key, (F(8), t))
        if t > stamp:
            tokens, stamp = min(F(8), tokens + (t - stamp) * 4), t
        behind = max(F(0), stamp - t)
        if tokens >= cost:
            if commit:
                self.keys[key] = (tokens - cost, stamp)
            return Said(True, math.floor(tokens - cost), reset=behind + (8 - tokens + cost) / 4)
        return Said(
            False,
            math.floor(tokens),
            stamp + (cost - tokens) / 4 - t,
            reset=behind + (8 - tokens) / 4,
        )


@MODEL_SETTINGS
@given(seq=sequences)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", COMPOSITES)
def test_composites_on_every_backend_answer_as_their_model(
    kind: str, backend: str, request: pytest.FixtureRequest, seq: list[Any]
) -> None:
    limiter = composite(kind, backend, ManualClock(1_000.0), request)
    run(limiter, composite_model(kind), seq)


# ------------------------------------------------------ a step back, then real time passes


@pytest.mark.redis
@pytest.mark.parametrize("algo", ["TokenBucket", "GCRA", "LeakyBucket"])
def test_a_key_stepped_back_outlives_its_lead_on_redis_as_in_memory(
    algo: str, redis_client: Any
) -> None:
    """After a step back the stamp stays ahead of the clock: the key's expiry must cover the
    time until the clock is back at the stamp, or Redis forgets the key (a fresh burst) while
    memory still counts it. Real time passes here, past the lead alone (0.4 s, no slack)."""
    import time

    from designpatterns_ref.ratelimit import redis as rr

    clock = ManualClock(1_000.0)
    memory = getattr(rl, algo)(5, 1.0, 2, clock=clock)  # 0.2 s a unit, burst 2
    shared = getattr(rr, algo)(
        redis_client, 5, 1.0, 2, clock=clock, name=f"back{next(_fresh)}", ttl_slack=0, deadline=5.0
    )
    for back in (0.0, -100.0):  # a unit at 1000, then one at 900: two units, 0.4 s of lead
        clock.set(clock.now + back, allow_backwards=True)
        assert memory.allow("k") == shared.allow("k")
    time.sleep(0.6)
    clock.advance(0.6)
    for ask in ("peek", "allow"):
        expected = getattr(memory, ask)("k")
        assert not expected.allowed and expected.retry_after > 99  # time stood still
        assert getattr(shared, ask)("k") == expected


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_refused_composite_reports_the_units_that_would_pass(
    backend: str, request: pytest.FixtureRequest
) -> None:
    """A bucket of 10 per 10 s and a window of 20 per 100 s, the bucket emptied: a refusal
    waits for the window (92 s) but reports the bucket's limit and its 0 units left, not the
    window's 2 (not one unit would pass)."""
    clock = ManualClock(1_000.0)
    limiter = composite(
        "all_of", backend, clock, request, bucket=(10, 10.0, 10), window=(20, 100.0)
    )
    clock.set(1_000.0)  # the start of a window
    assert limiter.allow("k", 8)
    clock.advance(8.0)
    assert limiter.allow("k", 10)
    refused = limiter.allow("k", 5)
    assert not refused and refused.retry_after == 92.0
    assert (refused.limit, refused.remaining) == (10, 0)
    assert refused.headers()["RateLimit-Remaining"] == "0"
    assert not limiter.peek("k", 1)
