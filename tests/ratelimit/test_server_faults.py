"""A frozen Redis (SIGSTOP: a hang, not a refusal) reaches each on_error mode in bounded time."""

from __future__ import annotations

import time

import pytest

from designpatterns_ref.testing import RedisServer

redis = pytest.importorskip("redis")
rr = pytest.importorskip("designpatterns_ref.ratelimit.redis")


@pytest.mark.redis
@pytest.mark.parametrize("on_error", ["deny", "allow", "raise"])
def test_a_hung_server_gives_the_configured_behaviour(
    own_redis: RedisServer, on_error: str
) -> None:
    # a bounded client: 0.2 s per command, no retries, so the hang costs one timeout
    client = redis.Redis.from_url(
        own_redis.url, socket_timeout=0.2, socket_connect_timeout=0.2, retry=None
    )
    limiter = rr.GCRA(client, 5, on_error=on_error)
    assert limiter.allow("k")
    with own_redis.paused():
        start = time.monotonic()
        if on_error == "raise":
            with pytest.raises(rr.BackendUnavailable):
                limiter.allow("k")
        else:
            decision = limiter.allow("k")
            assert decision.allowed is (on_error == "allow")
        waited = time.monotonic() - start
    assert 0.15 <= waited < 2.0  # the client's timeout, not redis-py's retries with backoff
    assert limiter.allow("k")  # thawed: decisions resume on the same client
    client.close()
