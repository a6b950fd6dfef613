"""A killed or frozen Redis reaches each on_error mode within the limiter's own deadline.

The issue's setting: a client whose own timeouts and retries took 4 to 10 s per decision when
the server was down. The limiter talks through a bounded twin of that client, so the answer
comes within about its deadline (:data:`DEFAULT_DEADLINE`, 50 ms).

These tests run on machines that may be loaded (two cores, a load average above 10), where
a process can wait a while for the CPU and a healthy server can miss a 50 ms deadline. So:

- the client is built slow on purpose (``SLOW``-second timeouts, retries ``SLOW`` seconds
  apart): a call bounded by the client's own settings instead of the deadline takes at least
  ``SLOW`` seconds, and each call is asserted to take at most the deadline plus
  ``LOAD_MARGIN``, a quarter of that, left for the machine (the twin's own timeouts and its
  lack of retries are checked exactly by ``test_the_twin_keeps_the_address_and_drops_the_retries``);
- a call that needs the server to answer (before a fault, and after it) asks with ``peek``,
  which consumes nothing, until the server itself answers, within ``PATIENCE`` seconds: a
  fallback is not taken for an answer, and the poll ends as soon as the answer comes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from designpatterns_ref.ratelimit import RateLimitExceeded
from designpatterns_ref.testing import RedisServer

redis = pytest.importorskip("redis")
rr = pytest.importorskip("designpatterns_ref.ratelimit.redis")

pytestmark = pytest.mark.redis

#: Seconds of the client's own timeouts, and between its retries: what a call takes at least
#: when it is bounded by the client rather than by the limiter's deadline.
SLOW = 20.0
#: Seconds a loaded machine may add to a call beyond its deadline (waiting for the CPU).
LOAD_MARGIN = 5.0
#: The bound every call meets while the server is frozen or killed.
BOUND = rr.DEFAULT_DEADLINE + LOAD_MARGIN
#: Seconds a poll waits for an outcome a healthy server gives at once.
PATIENCE = 30.0

assert BOUND < SLOW / 2  # a call bounded by the client's settings cannot pass for bounded


def slow_client(url: str) -> Any:
    """A client whose own settings would take ``SLOW`` seconds or more per failed call."""
    from redis.backoff import ConstantBackoff
    from redis.retry import Retry

    return redis.Redis.from_url(
        url, socket_timeout=SLOW, socket_connect_timeout=SLOW, retry=Retry(ConstantBackoff(SLOW), 2)
    )


def slow_async_client(url: str) -> Any:
    """:func:`slow_client` for asyncio."""
    import redis.asyncio
    from redis.asyncio.retry import Retry
    from redis.backoff import ConstantBackoff

    return redis.asyncio.Redis.from_url(
        url, socket_timeout=SLOW, socket_connect_timeout=SLOW, retry=Retry(ConstantBackoff(SLOW), 2)
    )


def _timed(call: Callable[[], Any]) -> tuple[Any, float]:
    start = time.monotonic()
    try:
        out: Any = call()
    except Exception as exc:  # the "raise" mode's answer
        out = exc
    return out, time.monotonic() - start


def _answered(ask: Callable[[], Any]) -> bool:
    """Whether ``ask()``, a peek of one unit on a key with room, was answered by the server:
    its answer admits, and counts a time until the key is back to full (the unit's own), where
    "allow"'s fallback counts none, "deny"'s refuses and "raise" raises."""
    try:
        return _admits_with_time(ask())
    except rr.BackendUnavailable:
        return False


def _admits_with_time(decision: Any) -> bool:
    return bool(decision.allowed and decision.reset_after > 0)


def _until_answered(ask: Callable[[], Any]) -> None:
    """Poll ``ask`` until the server answers it (see :func:`_answered`), within PATIENCE."""
    give_up = time.monotonic() + PATIENCE
    while not _answered(ask):
        assert time.monotonic() < give_up, f"no answer from the server in {PATIENCE} s"
        time.sleep(0.02)


async def _until_answered_async(ask: Callable[[], Awaitable[Any]]) -> None:
    """:func:`_until_answered` for asyncio."""
    give_up = time.monotonic() + PATIENCE
    while True:
        try:
            if _admits_with_time(await ask()):
                return
        except rr.BackendUnavailable:
            pass
        assert time.monotonic() < give_up, f"no answer from the server in {PATIENCE} s"
        await asyncio.sleep(0.02)


def _check(answer: Any, on_error: str) -> None:
    if on_error == "raise":
        assert isinstance(answer, rr.BackendUnavailable), answer
    else:
        assert answer.allowed is (on_error == "allow"), answer


def _limiters(client: Any, on_error: str) -> list[Any]:
    one = rr.GCRA(client, 5, on_error=on_error)
    log = rr.SlidingWindowLog(client, 5, on_error=on_error)
    return [one, log, rr.all_of(rr.TokenBucket(client, 5, on_error=on_error, name="b"), log)]


@pytest.mark.parametrize("on_error", ["deny", "allow", "raise"])
def test_a_frozen_server_reaches_on_error_within_the_deadline(
    own_redis: RedisServer, on_error: str
) -> None:
    client = slow_client(own_redis.url)
    limiters = _limiters(client, on_error)
    for limiter in limiters:  # each twin connected, its script loaded
        _until_answered(lambda limiter=limiter: limiter.peek("k"))
    with own_redis.paused():
        for limiter in limiters:
            answer, waited = _timed(lambda limiter=limiter: limiter.allow("k"))
            _check(answer, on_error)
            assert waited < BOUND, (limiter, waited)
            answer, waited = _timed(lambda limiter=limiter: limiter.reset("k"))
            assert waited < BOUND, (limiter, waited)
            if on_error == "raise":
                assert isinstance(answer, rr.BackendUnavailable), answer
            else:
                assert answer is None
    for limiter in limiters:  # thawed: decisions resume through the same twin
        _until_answered(lambda limiter=limiter: limiter.peek("k"))
    client.close()


@pytest.mark.parametrize("on_error", ["deny", "allow", "raise"])
def test_a_killed_server_reaches_on_error_within_the_deadline(
    own_redis: RedisServer, on_error: str
) -> None:
    client = slow_client(own_redis.url)
    limiters = _limiters(client, on_error)
    held = rr.ConcurrencyLimiter(client, 2, on_error=on_error)
    for limiter in [*limiters, held]:  # each twin connected, its script loaded
        _until_answered(lambda limiter=limiter: limiter.peek("k"))
    own_redis.kill()
    try:
        for limiter in [*limiters, held]:
            for _ in range(3):  # a stale connection first, then refused connections
                answer, waited = _timed(lambda limiter=limiter: limiter.allow("k"))
                _check(answer, on_error)
                assert waited < BOUND, (limiter, waited)
            answer, waited = _timed(lambda limiter=limiter: limiter.reset("k"))
            assert waited < BOUND, (limiter, waited)
            assert isinstance(answer, rr.BackendUnavailable) is (on_error == "raise"), answer
    finally:
        own_redis.restart()
    _until_answered(lambda: limiters[0].peek("fresh"))  # restarted: the twin reconnects
    client.close()


def test_the_asyncio_limiters_have_the_deadline_too(own_redis: RedisServer) -> None:
    async def run() -> list[float]:
        client = slow_async_client(own_redis.url)
        limiter = rr.AsyncGCRA(client, 5, on_error="deny")
        await _until_answered_async(lambda: limiter.peek("k"))
        waits = []
        with own_redis.paused():
            for _ in range(2):
                start = time.monotonic()
                assert not await limiter.allow("k")
                waits.append(time.monotonic() - start)
        await _until_answered_async(lambda: limiter.peek("k"))  # thawed: it answers again
        await client.aclose()
        return waits

    waits = asyncio.run(run())
    assert all(w < BOUND for w in waits), waits


def test_the_twin_keeps_the_address_and_drops_the_retries(own_redis: RedisServer) -> None:
    client = redis.Redis.from_url(own_redis.url, socket_timeout=0.5, decode_responses=True)
    limiter = rr.TokenBucket(client, 5, deadline=0.2)
    twin = limiter._redis
    options = twin.connection_pool.connection_kwargs
    assert twin is not client and rr.TokenBucket(client, 9, deadline=0.2)._redis is twin
    assert options["port"] == own_redis.port and options["decode_responses"] is True
    assert options["socket_timeout"] == options["socket_connect_timeout"] == 0.1
    assert options["retry"].get_retries() == 0
    assert rr.TokenBucket(client, 5, deadline=None)._redis is client
    _until_answered(lambda: limiter.peek("k"))  # decode_responses: the text replies still parse
    client.close()


def test_a_cluster_client_that_retries_is_refused_unless_the_deadline_is_waived(
    redis_cluster_client: Any,
) -> None:
    with pytest.raises(rr.RateLimitError, match="deadline"):
        rr.GCRA(redis_cluster_client, 5)
    assert rr.GCRA(redis_cluster_client, 5, deadline=None).allow("k")


def _freed(cap: Any, key: str) -> bool:
    """Whether ``key`` of the cap is free again within PATIENCE seconds (the thawed server runs
    what was sent while it was frozen; a peek that misses its deadline is asked again)."""
    give_up = time.monotonic() + PATIENCE
    while time.monotonic() < give_up:
        if cap.peek(key) and cap.client.get(cap.key_for(key)) is None:
            return True
        time.sleep(0.02)
    return False


def test_a_hold_whose_call_timed_out_is_given_back(own_redis: RedisServer) -> None:
    """The frozen server runs the timed-out call once thawed: the hold it takes is undone (the
    give-back cannot be sent while the server is frozen either: it is sent with the next
    call)."""
    client = redis.Redis.from_url(own_redis.url)
    cap = rr.ConcurrencyLimiter(client, 1, lease=60.0)  # the default deadline, 50 ms
    _until_answered(lambda: cap.peek("job"))
    with own_redis.paused(), pytest.raises(RateLimitExceeded), cap.hold("job"):
        pytest.fail("entered a hold the server never answered")
    assert _freed(cap, "job")
    patient = rr.ConcurrencyLimiter(client, 1, lease=60.0, deadline=5.0)  # the same holds
    with patient.hold("job"):  # the unit is free to take again
        pass
    client.close()


def test_an_async_hold_cancelled_in_flight_is_given_back(own_redis: RedisServer) -> None:
    import redis.asyncio

    class Sending(redis.asyncio.Connection):
        """A connection that counts the commands it has sent."""

        sent = 0

        async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
            await super().send_packed_command(command, check_health)
            type(self).sent += 1

    async def run() -> None:
        client = redis.asyncio.Redis.from_url(own_redis.url, connection_class=Sending)
        cap = rr.AsyncConcurrencyLimiter(client, 1, lease=60.0, deadline=5.0)
        assert await cap.peek("job")  # the twin's connection is open: the next send is the hold's

        async def user() -> None:
            async with cap.hold("job"):
                await asyncio.sleep(0)

        with own_redis.paused():
            sent, give_up = Sending.sent, time.monotonic() + PATIENCE
            task = asyncio.create_task(user())
            while Sending.sent == sent:  # until the hold's call is on its way
                assert time.monotonic() < give_up, "the hold's call was never sent"
                await asyncio.sleep(0.005)
            task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        sync = redis.Redis.from_url(own_redis.url)
        sync_cap = rr.ConcurrencyLimiter(sync, 1, lease=60.0)
        assert await asyncio.to_thread(_freed, sync_cap, "job")
        sync.close()
        await client.aclose()

    asyncio.run(run())


def test_give_backs_owed_by_one_thread_while_another_sends_them_are_all_kept(
    own_redis: RedisServer,
) -> None:
    """Regression: the owed list was swapped for an empty one in two steps, so a give-back
    owed between them (a hold failing in another thread) was dropped and its units stayed
    taken until the lease ended. The switch interval is shortened to make the threads meet."""
    import sys
    import threading

    client = redis.Redis.from_url(own_redis.url)
    cap = rr.ConcurrencyLimiter(client, 1, lease=60.0)
    owed = 100_000
    taken: list[object] = []
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        producer = threading.Thread(target=lambda: [cap._owe(i) for i in range(owed)])
        producer.start()
        while producer.is_alive():
            taken.extend(cap._owed_now())
        producer.join()
        taken.extend(cap._owed_now())
    finally:
        sys.setswitchinterval(interval)
        client.close()
    assert sorted(taken) == list(range(owed))  # type: ignore[type-var]
