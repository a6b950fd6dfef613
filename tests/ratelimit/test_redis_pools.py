"""The Redis limiters' bounded twin of a client on every kind of redis-py pool: a plain pool, a
blocking pool (its wait bounded by the deadline too), a Sentinel client's pool (sync and
asyncio, against a real sentinel) and a pool that cannot be rebuilt (refused, clearly)."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.ratelimit import RateLimitError
from designpatterns_ref.testing.redis import redis_binary
from designpatterns_ref.testing.server import free_port

redis = pytest.importorskip("redis")
rr = pytest.importorskip("designpatterns_ref.ratelimit.redis")

pytestmark = pytest.mark.redis


@pytest.fixture
def sentinel(redis_url: str, tmp_path: Path) -> Iterator[int]:
    """The port of a real Redis Sentinel watching the test server as ``mymaster``."""
    binary = redis_binary()
    if binary is None:
        pytest.skip("no redis-server binary to run a sentinel")
    target = urlparse(redis_url)
    port = free_port()
    config = tmp_path / "sentinel.conf"
    config.write_text(
        f"port {port}\nbind 127.0.0.1\ndir {tmp_path}\n"
        f"sentinel monitor mymaster {target.hostname} {target.port} 1\n"
    )
    process = subprocess.Popen(
        [binary, str(config), "--sentinel"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        ask = redis.Redis(port=port, socket_timeout=1)
        for _ in range(200):
            try:
                if ask.execute_command("SENTINEL", "get-master-addr-by-name", "mymaster"):
                    break
            except redis.exceptions.ConnectionError:
                pass
            time.sleep(0.05)
        else:
            pytest.fail("the sentinel did not start")
        ask.close()
        yield port
    finally:
        process.terminate()
        process.wait(10)


def test_a_sentinel_client_gets_a_bounded_twin(sentinel: int) -> None:
    from redis.sentinel import Sentinel

    master = Sentinel([("127.0.0.1", sentinel)], socket_timeout=1).master_for("mymaster")
    window = rr.FixedWindow(master, 3, 60.0, clock=ManualClock(), deadline=1.0, ttl_slack=600.0)
    assert [bool(window.allow("k")) for _ in range(5)] == [True, True, True, False, False]
    master.close()


def test_an_asyncio_sentinel_client_gets_a_bounded_twin(sentinel: int) -> None:
    from redis.asyncio.sentinel import Sentinel

    async def main() -> list[bool]:
        master = Sentinel([("127.0.0.1", sentinel)], socket_timeout=1).master_for("mymaster")
        window = rr.AsyncFixedWindow(
            master, 3, 60.0, clock=ManualClock(), deadline=1.0, ttl_slack=600.0
        )
        answers = [bool(await window.allow("k")) for _ in range(5)]
        await master.aclose()
        return answers

    assert asyncio.run(main()) == [True, True, True, False, False]


@pytest.mark.parametrize("wait", [None, 30.0])
def test_a_blocking_pool_waits_no_longer_than_the_deadline(redis_url: str, wait: Any) -> None:
    pool = redis.BlockingConnectionPool.from_url(redis_url, max_connections=1, timeout=wait)
    client = redis.Redis(connection_pool=pool)
    bucket = rr.TokenBucket(client, 10, 1.0, 10, on_error="raise", deadline=0.2)
    assert bucket.allow("k")
    busy = bucket._redis.connection_pool.get_connection()  # another thread's, say
    started = time.perf_counter()
    with pytest.raises(rr.BackendUnavailable):
        bucket.allow("k")
    assert time.perf_counter() - started < 2.0  # not the pool's 20 s default, nor forever
    bucket._redis.connection_pool.release(busy)
    assert bucket.allow("k")
    client.close()


def test_an_asyncio_blocking_pool_waits_no_longer_than_the_deadline(redis_url: str) -> None:
    from redis import asyncio as aioredis

    async def main() -> float:
        pool = aioredis.BlockingConnectionPool.from_url(redis_url, max_connections=1, timeout=30)
        client = aioredis.Redis(connection_pool=pool)
        bucket = rr.AsyncTokenBucket(client, 10, 1.0, 10, on_error="raise", deadline=0.2)
        assert await bucket.allow("k")
        busy = await bucket._redis.connection_pool.get_connection()
        started = time.perf_counter()
        with pytest.raises(rr.BackendUnavailable):
            await bucket.allow("k")
        took = time.perf_counter() - started
        await bucket._redis.connection_pool.release(busy)
        assert await bucket.allow("k")
        await client.aclose()
        return took

    assert asyncio.run(main()) < 2.0


class _OwnPool(redis.ConnectionPool):  # type: ignore[misc]
    """A pool whose constructor takes an argument of its own: it cannot be rebuilt."""

    def __init__(self, tag: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tag = tag


def test_a_pool_that_cannot_be_rebuilt_is_refused_clearly(redis_url: str) -> None:
    port = urlparse(redis_url).port
    client = redis.Redis(connection_pool=_OwnPool("mine", port=port))
    with pytest.raises(RateLimitError, match=r"_OwnPool.*deadline=None"):
        rr.TokenBucket(client, 10, 1.0, 10)
    assert rr.TokenBucket(client, 10, 1.0, 10, deadline=None).allow("k")
    client.close()
