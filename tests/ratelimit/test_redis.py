"""The Redis backend against a real redis-server: agreement, atomicity, expiry, failure."""

from __future__ import annotations

import asyncio
import bisect
import itertools
import multiprocessing
import struct
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.ratelimit import Decision, RateLimitError, RateLimitExceeded
from designpatterns_ref.testing import redis_server

from .conftest import ALGORITHMS, LIMIT, redis_twin

redis = pytest.importorskip("redis")
rr = pytest.importorskip("designpatterns_ref.ratelimit.redis")

pytestmark = pytest.mark.redis
TWINS = [name for name, (_, twin) in ALGORITHMS.items() if twin]
_fresh = itertools.count()


@pytest.fixture(scope="module")
def client(live_redis_url: Callable[[], str]) -> Iterator[Any]:
    c = redis.Redis.from_url(live_redis_url(), socket_timeout=5)
    yield c
    c.close()


@settings(max_examples=25)
@given(
    seq=st.lists(
        st.tuples(st.integers(-300, 700), st.integers(1, LIMIT), st.booleans()),
        min_size=1,
        max_size=40,
    )
)
@pytest.mark.parametrize("name", TWINS)
def test_redis_agrees_with_memory_decision_for_decision(
    client: Any, name: str, seq: list[tuple[int, int, bool]]
) -> None:
    clock = ManualClock(1_000.0)
    memory = ALGORITHMS[name][0](clock)
    remote = redis_twin(name, client, clock, name=f"agree{next(_fresh)}")
    for gap, cost, peek in seq:  # the clock steps back now and then, as real clocks do
        clock.set(clock.now + gap / 1000, allow_backwards=True)
        if peek:
            assert remote.peek("k", cost) == memory.peek("k", cost)
        assert remote.allow("k", cost) == memory.allow("k", cost), (clock.now, cost)


@settings(max_examples=25)
@given(
    rate=st.sampled_from([1e7, 3e7 / 0.7, 1e9]),
    burst=st.integers(1, 50),
    seq=st.lists(
        st.tuples(st.integers(-20, 100), st.integers(1, 50), st.booleans()),
        min_size=1,
        max_size=40,
    ),
)
@pytest.mark.parametrize("cls", ["TokenBucket", "GCRA", "LeakyBucket"])
def test_redis_agrees_with_memory_at_a_high_rate_on_an_epoch_clock(
    client: Any, cls: str, rate: float, burst: int, seq: list[tuple[int, int, bool]]
) -> None:
    """At ``time.time()`` and millions of units a second the clock's ulp is several units."""
    from designpatterns_ref import ratelimit as rl

    clock = ManualClock(1.7e9)
    memory = getattr(rl, cls)(rate, 1.0, burst, clock=clock)
    remote = getattr(rr, cls)(
        client, rate, 1.0, burst, clock=clock, name=f"fast{next(_fresh)}", deadline=5.0
    )
    for gap, cost, peek in seq:  # gaps in emission intervals, now and then backwards
        clock.set(clock.now + gap / rate, allow_backwards=True)
        cost = min(cost, burst)
        if peek:
            assert remote.peek("k", cost) == memory.peek("k", cost)
        assert remote.allow("k", cost) == memory.allow("k", cost), (clock.now, cost)
    assert sum(bool(remote.allow("k")) for _ in range(burst + 1)) <= burst


@settings(max_examples=200)
@given(
    times=st.lists(st.floats(-1e6, 1e6, allow_nan=False), max_size=40),
    x=st.floats(-1e6, 1e6, allow_nan=False),
    tail=st.binary(max_size=7),
)
def test_the_scripts_entry_search_counts_like_bisect_right(
    client: Any, times: list[float], x: float, tail: bytes
) -> None:
    """The galloping search the sliding log and the concurrency cap use, at any position; a
    string with a torn last entry (written by something else) still ends the search."""
    from designpatterns_ref.ratelimit._lua import ENTRIES, GALLOP

    times.sort()
    probe = (
        GALLOP
        + ENTRIES
        + (
            "local size, at, at_or_before = entries(ARGV[1], 8)\n"
            "return at_or_before((struct.unpack('<d', ARGV[2])))"
        )
    )
    raw = b"".join(struct.pack("<d", t) for t in times) + tail
    found = client.eval("local floor = math.floor\n" + probe, 0, raw, struct.pack("<d", x))
    assert found == bisect.bisect_right(times, x)


def _outcome(action: Any) -> Any:
    """What an action answered, or the class and message of the error it raised."""
    try:
        return action()
    except (RateLimitError, RateLimitExceeded) as exc:
        return type(exc).__name__, str(exc)


@settings(max_examples=40)
@given(
    steps=st.lists(
        st.tuples(
            st.integers(-300, 700),  # milliseconds to move the clock (backwards now and then)
            st.sampled_from(["allow", "peek", "release", "hold", "exit"]),
            st.integers(1, LIMIT),
            st.integers(0, 7),  # which open hold an exit closes
        ),
        min_size=1,
        max_size=40,
    )
)
def test_concurrency_holds_and_releases_agree_with_memory(
    client: Any, steps: list[tuple[int, str, int, int]]
) -> None:
    clock = ManualClock(1_000.0)
    memory = ALGORITHMS["concurrency"][0](clock)
    remote = redis_twin("concurrency", client, clock, name=f"holds{next(_fresh)}")
    pair_of = (memory, remote)
    open_holds: list[tuple[Any, Any]] = []
    try:
        for gap, action, cost, which in steps:
            clock.set(clock.now + gap / 1000, allow_backwards=True)
            if action == "hold":
                pair = (memory.hold("k", cost), remote.hold("k", cost))
                entered = [_outcome(part.__enter__) for part in pair]
                assert entered[0] == entered[1], (clock.now, cost)
                if isinstance(entered[0], Decision):
                    open_holds.append(pair)
            elif action == "exit":
                if open_holds:
                    for part in open_holds.pop(which % len(open_holds)):
                        part.__exit__(None, None, None)
            else:
                answers = [_outcome(partial(getattr(lim, action), "k", cost)) for lim in pair_of]
                assert answers[0] == answers[1], (clock.now, action, cost)
            assert remote.peek("k") == memory.peek("k"), clock.now
    finally:  # close what is still open, as a with block would
        for pair in open_holds:
            for part in pair:
                part.__exit__(None, None, None)


@pytest.mark.parametrize("name", TWINS)
def test_a_client_that_decodes_replies_gets_the_same_decisions_as_text(
    live_redis_url: Callable[[], str], client: Any, name: str
) -> None:
    text_client = redis.Redis.from_url(live_redis_url(), socket_timeout=5, decode_responses=True)
    clock = ManualClock(1_000.0)
    packed = redis_twin(name, client, clock, name=f"form{next(_fresh)}")
    text = redis_twin(name, text_client, clock, name=f"form{next(_fresh)}")
    assert packed._packed and not text._packed
    hourly = [
        rr.FixedWindow(
            c, 6, 3600.0, clock=clock, ttl_slack=600.0, name=f"h{next(_fresh)}", deadline=5.0
        )
        for c in (client, text_client)
    ]
    both = [rr.all_of(packed, hourly[0]), rr.all_of(text, hourly[1])]
    for step in range(40):
        clock.advance(0.07 * (step % 5))
        cost = 1 + step % LIMIT
        assert text.peek("k", cost) == packed.peek("k", cost)
        assert text.allow("k", cost) == packed.allow("k", cost)
        assert both[1].allow("j") == both[0].allow("j")
    if name == "concurrency":
        with text.hold("h") as held, packed.hold("h") as same:
            assert held == same
        text.release("k")
        packed.release("k")
        assert text.peek("k") == packed.peek("k")
    text_client.close()


@pytest.mark.parametrize("name", TWINS)
def test_every_key_expires_and_carries_a_hash_tag(client: Any, name: str) -> None:
    limiter = redis_twin(name, client, ManualClock(50.0), ttl_slack=1.0, name=f"ttl{next(_fresh)}")
    assert limiter.allow("alice")
    key = limiter.key_for("alice")
    assert key.startswith("ratelimit:{alice}:")
    assert 0 < client.pttl(key) <= 5_000


def test_server_time_is_the_default_clock(client: Any) -> None:
    limiter = rr.TokenBucket(client, rate=2, per=3600, burst=2, deadline=5.0)
    assert limiter.clock is None
    assert [bool(limiter.allow("srv")) for _ in range(3)] == [True, True, False]
    assert 1700 < limiter.peek("srv").retry_after <= 1800


def test_noscript_reloads_the_script(client: Any) -> None:
    limiter = rr.FixedWindow(client, 3, 60.0, deadline=5.0)
    client.script_flush()
    assert limiter.allow("reload")
    assert limiter.allow("reload").remaining == 1


def test_bad_keys_and_options_are_refused(client: Any) -> None:
    limiter = rr.GCRA(client, 5, deadline=5.0)
    with pytest.raises(RateLimitError, match="key"):
        limiter.allow(("a", "tuple"))  # type: ignore[arg-type]
    with pytest.raises(RateLimitError, match="on_error"):
        rr.GCRA(client, 5, on_error="maybe")  # type: ignore[arg-type]
    with pytest.raises(RateLimitError, match="prefix"):
        rr.GCRA(client, 5, prefix="a{b}")
    with pytest.raises(RateLimitError, match="lease"):
        rr.ConcurrencyLimiter(client, 2, lease=None)  # type: ignore[arg-type]
    with pytest.raises(RateLimitError, match="rate"):
        rr.TokenBucket(client, 0)
    with pytest.raises(RateLimitError, match="same store"):
        rr.all_of(limiter, object())
    with pytest.raises(RateLimitError, match="share a name"):
        rr.all_of(limiter, rr.GCRA(client, 5, deadline=5.0))


def test_concurrency_hold_and_release(client: Any) -> None:
    clock = ManualClock(10.0)
    limiter = rr.ConcurrencyLimiter(
        client, 2, lease=30.0, clock=clock, name="hold", deadline=5.0, ttl_slack=600.0
    )
    with limiter.hold("job") as first:
        assert first.remaining == 1
        with limiter.hold("job"), pytest.raises(RateLimitExceeded) as refused:
            limiter.hold("job").__enter__()
        assert refused.value.decision.retry_after == pytest.approx(30.0)
    assert limiter.peek("job").remaining == 1
    assert limiter.allow("job")
    limiter.release("job")
    with pytest.raises(RateLimitError, match="holds 0"):
        limiter.release("job")


def test_all_of_is_one_atomic_script(client: Any) -> None:
    clock = ManualClock(0.0)
    second = rr.TokenBucket(client, 10, 1.0, 10, clock=clock, deadline=5.0, ttl_slack=600.0)
    hourly = rr.FixedWindow(client, 3, 3600.0, clock=clock, deadline=5.0, ttl_slack=600.0)
    both = rr.all_of(second, hourly)
    assert [bool(both.allow("u")) for _ in range(4)] == [True, True, True, False]
    assert second.peek("u", cost=7)  # the refused request spent nothing
    both.reset("u")
    assert hourly.peek("u").remaining == 2


def test_asyncio_variant_shares_the_script(live_redis_url: Callable[[], str]) -> None:
    async def main() -> None:
        from redis import asyncio as aioredis

        client = aioredis.Redis.from_url(live_redis_url(), socket_timeout=5)
        clock = ManualClock(0.0)
        bucket = rr.AsyncTokenBucket(
            client, 2, 1.0, 2, clock=clock, name="async", deadline=5.0, ttl_slack=600.0
        )
        assert [bool(await bucket.allow("a")) for _ in range(3)] == [True, True, False]
        assert (await bucket.peek("a")).retry_after == 0.5
        await bucket.reset("a")
        assert (await bucket.allow("a")).remaining == 1
        window = rr.AsyncFixedWindow(
            client, 1, 10.0, clock=clock, name="async-fw", deadline=5.0, ttl_slack=600.0
        )
        both = rr.all_of(bucket, window)
        assert isinstance(both, rr.AsyncAllOf)
        assert await both.allow("a")  # the bucket's last token, the window's only slot
        assert not await both.allow("a")
        held = rr.AsyncConcurrencyLimiter(
            client, 1, lease=5.0, clock=clock, name="async", deadline=5.0
        )
        async with held.hold("a"):
            assert not await held.peek("a")
        assert await held.peek("a")
        await client.aclose()

    asyncio.run(main())


def test_async_release_gives_back_only_units_taken_with_allow(
    live_redis_url: Callable[[], str],
) -> None:
    async def main() -> None:
        from redis import asyncio as aioredis

        client = aioredis.Redis.from_url(live_redis_url(), socket_timeout=5)
        clock = ManualClock(10.0)
        cap = rr.AsyncConcurrencyLimiter(
            client, 3, lease=30.0, clock=clock, name=f"async-beside{next(_fresh)}", deadline=5.0
        )
        async with cap.hold("k"):  # the key's oldest unit is the hold's
            clock.advance(1.0)
            assert await cap.allow("k")
            await cap.release("k")  # gives back the unit allow took, not the hold's
            with pytest.raises(RateLimitError, match="holds 0 live units taken with allow"):
                await cap.release("k")
            assert (await cap.peek("k")).remaining == 1
        assert await cap.peek("k", 3)  # the hold gave back its own
        await client.aclose()

    asyncio.run(main())


def _hammer(url: str, name: str, calls: int, out: Any) -> None:
    client = redis.Redis.from_url(url, socket_timeout=5)
    limiter = _shared_limiter(name, client)
    out.put(sum(bool(limiter.allow("shared")) for _ in range(calls)))


def _shared_limiter(name: str, client: Any) -> Any:
    budget = 60
    if name in ("token_bucket", "gcra", "leaky_bucket"):
        cls = {"token_bucket": rr.TokenBucket, "gcra": rr.GCRA, "leaky_bucket": rr.LeakyBucket}
        return cls[name](client, budget, 3600.0, budget, name=f"hammer-{name}", deadline=5.0)
    if name == "concurrency":
        return rr.ConcurrencyLimiter(client, budget, lease=3600.0, name="hammer", deadline=5.0)
    classes = {
        "fixed_window": rr.FixedWindow,
        "sliding_log": rr.SlidingWindowLog,
        "sliding_counter": rr.SlidingWindowCounter,
    }
    return classes[name](client, budget, 3600.0, name=f"hammer-{name}", deadline=5.0)


@pytest.mark.parametrize("name", TWINS)
def test_eight_processes_on_one_key_never_exceed_the_budget(redis_url: str, name: str) -> None:
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    workers = [context.Process(target=_hammer, args=(redis_url, name, 25, out)) for _ in range(8)]
    for worker in workers:
        worker.start()
    admitted = [out.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    # 200 requests within seconds against 60 per hour: the budget is exactly 60
    # (a fixed window could straddle an hour boundary; then two windows' worth)
    budget = 120 if name in ("fixed_window", "sliding_counter") else 60
    assert 60 <= sum(admitted) <= budget


@pytest.mark.parametrize("on_error", ["deny", "allow", "raise"])
def test_killing_the_server_gives_the_configured_behaviour(on_error: str) -> None:
    try:
        server_cm = redis_server()
        server = server_cm.__enter__()
    except Exception as exc:  # pragma: no cover - no binary
        pytest.skip(f"needs a real Redis: {exc}")
    try:
        client = redis.Redis.from_url(server.url, socket_timeout=0.5, socket_connect_timeout=0.5)
        # a generous deadline, so that the first answer (a healthy server's) is not missed on a
        # busy machine; a killed server refuses connections at once whatever it is
        limiter = rr.TokenBucket(client, 5, on_error=on_error, deadline=5.0)  # type: ignore[arg-type]
        both = rr.all_of(limiter, rr.FixedWindow(client, 5, on_error=on_error, deadline=5.0))  # type: ignore[arg-type]
        assert limiter.allow("k")
        server.kill()
        for target in (limiter, both):
            if on_error == "raise":
                with pytest.raises(rr.BackendUnavailable):
                    target.allow("k")
                with pytest.raises(ConnectionError):
                    target.peek("k")
            else:
                decision = target.allow("k")
                assert decision.allowed is (on_error == "allow")
                if not decision:
                    assert decision.retry_after > 0
    finally:
        server_cm.__exit__(None, None, None)


@pytest.mark.parametrize(
    "bad",
    [float("nan"), float("inf"), float("-inf"), True, "1", None, 10**400],
    ids=["nan", "inf", "-inf", "True", "str", "None", "10**400"],
)
def test_a_clock_gone_wrong_is_refused_before_it_reaches_redis(client: Any, bad: object) -> None:
    for limiter in (
        rr.GCRA(client, 5, clock=lambda: bad, name="bad-gcra"),  # type: ignore[arg-type,return-value]
        rr.TokenBucket(client, 5, clock=lambda: bad, name="bad-tb"),  # type: ignore[arg-type,return-value]
    ):
        for call in (limiter.allow, limiter.peek):
            with pytest.raises(RateLimitError, match="finite"):
                call("k")
    assert not client.keys("*bad-*")


def _child_token(out: Any) -> None:
    from designpatterns_ref.ratelimit import redis as rr

    out.put(rr._token())


def test_hold_tokens_are_fresh_and_differ_in_forked_children() -> None:
    from designpatterns_ref.ratelimit import redis as rr

    tokens = {rr._token() for _ in range(1000)}
    assert len(tokens) == 1000
    assert all(len(t) == 32 and int(t, 16) >= 0 for t in tokens)
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    children = [context.Process(target=_child_token, args=(out,)) for _ in range(2)]
    for child in children:
        child.start()
    seen = {out.get(timeout=30) for _ in children}
    for child in children:
        child.join(timeout=30)
    assert len(seen) == 2 and not seen & tokens
    assert rr._token() not in seen


#: keys whose names must still share one slot and stay apart: empty, braces, quotes
KEYS_THAT_HASH_ALONE = ["", 0, "-1", "{", "}", "}}", "}a", "{}", '"', '"{"', '"{"}', "a}b", "ü"]


def test_a_composite_on_a_cluster_decides_for_any_key(redis_cluster_client: Any) -> None:
    """Every part of one key shares a slot, the empty key too (``{}`` is no hash tag)."""
    from redis.cluster import key_slot

    clock = ManualClock(0.0)
    options: dict[str, Any] = {"clock": clock, "on_error": "raise", "deadline": None}
    c = redis_cluster_client
    for both in (
        rr.limiter_from_text(c, "10/second; 100/minute", "token_bucket", **options),
        rr.all_of(rr.GCRA(c, 10, 1.0, **options), rr.SlidingWindowLog(c, 100, 60.0, **options)),
    ):
        keys: dict[str, object] = {}
        for key in KEYS_THAT_HASH_ALONE:
            names = [part.key_for(key) for part in both.limiters]
            assert len({key_slot(name.encode()) for name in names}) == 1, names
            for name in names:  # no two keys share a Redis key
                assert keys.setdefault(name, key) == key, (name, key, keys[name])
            assert [bool(both.allow(key)) for _ in range(11)] == [True] * 10 + [False]
            both.reset(key)
            assert both.peek(key).remaining == 9  # what is left once it is taken


def test_the_empty_key_is_a_key_of_its_own_on_one_server(client: Any) -> None:
    limiter = rr.TokenBucket(
        client, 2, 60.0, 2, clock=ManualClock(0.0), name=f"e{next(_fresh)}", deadline=5.0
    )
    assert [bool(limiter.allow("")) for _ in range(3)] == [True, True, False]
    for other in KEYS_THAT_HASH_ALONE[1:]:
        assert limiter.peek(other).remaining == 1, other  # a fresh key, once it is taken


@pytest.mark.parametrize(
    ("cls", "one", "other"),
    [
        ("FixedWindow", (10, 1_000_000), (10, 1_000_001)),
        ("TokenBucket", (100 / 3, 1.0, 10), (33.3333, 1.0, 10)),
        ("SlidingWindowLog", (5, 0.1 + 0.2), (5, 0.3)),
    ],
)
def test_different_limits_never_share_a_default_name(
    client: Any, cls: str, one: tuple[Any, ...], other: tuple[Any, ...]
) -> None:
    clock = ManualClock(1000.0)
    prefix = f"names{next(_fresh)}"
    a = getattr(rr, cls)(client, *one, clock=clock, prefix=prefix, deadline=5.0)
    b = getattr(rr, cls)(client, *other, clock=clock, prefix=prefix, deadline=5.0)
    assert a.key_for("k") != b.key_for("k")
    while a.allow("k"):
        pass
    assert b.allow("k")


def test_a_concurrency_caps_default_name_is_exact(client: Any) -> None:
    names = {rr.ConcurrencyLimiter(client, 2, lease=lease).name for lease in (1e6, 1e6 + 1, 0.3)}
    assert len(names) == 3


def test_a_sliding_log_refuses_a_cost_past_its_per_call_cap(client: Any) -> None:
    """One list element per unit: a cost of five million took the server 0.4 s and 49 MB."""
    clock = ManualClock(1000.0)
    options: dict[str, Any] = {"clock": clock, "deadline": 5.0}
    log = rr.SlidingWindowLog(client, 5_000_000, 3600.0, name=f"cap{next(_fresh)}", **options)
    both = rr.all_of(rr.TokenBucket(client, 10**7, 1.0, name=f"cap{next(_fresh)}", **options), log)
    for limiter in (log, both):
        with pytest.raises(RateLimitError, match=r"cost=5000000 .* at most 10000 a call"):
            limiter.allow("k", 5_000_000)
    assert client.llen(log.key_for("k")) == 0
    assert log.allow("k", 10_000)
    assert client.llen(log.key_for("k")) == 10_000


def test_an_int_key_and_its_digits_are_two_keys_as_in_memory(client: Any) -> None:
    """Memory and SQLite keep 7 and "7" apart; so must Redis (their names differ, their
    slot does not)."""
    from designpatterns_ref import ratelimit as rl

    clock = ManualClock(1000.0)
    memory = rl.FixedWindow(1, 60.0, clock=clock)
    remote = rr.FixedWindow(client, 1, 60.0, clock=clock, name=f"seven{next(_fresh)}", deadline=5.0)
    for key in (7, "7", 7, "7", -7, "-7"):
        assert remote.allow(key) == memory.allow(key), key
    assert remote.key_for(7) != remote.key_for("7")
    slot = redis.cluster.key_slot
    assert slot(remote.key_for(7).encode()) == slot(remote.key_for("7").encode())


@pytest.mark.parametrize("name", TWINS)
def test_a_simulated_clock_keeps_keys_for_real_time_by_default(client: Any, name: str) -> None:
    """A key's expiry runs in the server's real time, which a ManualClock does not follow: on
    one, the default slack is an hour, so a pause in real time forgets nothing the simulated
    clock still counts (with a second's slack, 1.3 s of real time did); an explicit slack, or
    the server's own clock, keeps the short one."""
    simulated = redis_twin(
        name, client, ManualClock(0.0), ttl_slack=None, name=f"sim{next(_fresh)}"
    )
    assert simulated.ttl_slack == rr.SIMULATED_TTL_SLACK == 3600.0
    simulated.allow("k")
    assert client.pttl(simulated.key_for("k")) > 3_500_000
    chosen = redis_twin(name, client, ManualClock(0.0), ttl_slack=1.0, name=f"sim{next(_fresh)}")
    chosen.allow("k")
    assert 0 < client.pttl(chosen.key_for("k")) <= 3_000
    served = redis_twin(name, client, None, ttl_slack=None, name=f"sim{next(_fresh)}")  # type: ignore[arg-type]
    assert served.ttl_slack == rr.DEFAULT_TTL_SLACK == 1.0
