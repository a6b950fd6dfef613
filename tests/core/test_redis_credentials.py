"""The bounded client keeps your credentials and its deadline, and says when Redis refused the
credentials.

A cluster twin used to be rebuilt from the nodes' addresses only, dropping the password (a
bare ``RedisClusterException`` on a protected cluster); a URL's own ``?socket_timeout=3`` won
over the deadline (a frozen server held each call 3 s, not 0.25 s); and a wrong password was
reported as "Redis did not answer within the deadline". Each test runs a server of its own.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from designpatterns_ref.redisclient import bounded_client, is_auth_failure, is_outage
from designpatterns_ref.shortcode import RedisCounter, ShortCodeUnavailable
from designpatterns_ref.testing import RedisServer, redis_cluster

redis = pytest.importorskip("redis")

PASSWORD = "s3cret"


def test_a_cluster_twin_keeps_the_password() -> None:
    from redis.cluster import RedisCluster

    with redis_cluster(masters=1) as started:
        for node in started.masters:
            with redis.Redis(port=node.port) as admin:
                admin.config_set("masterauth", PASSWORD)
                admin.config_set("requirepass", PASSWORD)
        mine = started.client(password=PASSWORD)
        assert isinstance(mine, RedisCluster)
        twin = bounded_client(mine, 0.25)
        assert twin is not mine and twin.nodes_manager.connection_kwargs["password"] == PASSWORD
        assert twin.nodes_manager.connection_kwargs["socket_timeout"] == 0.25
        assert twin.set("k", "v") and twin.get("k") == b"v"
        counter = RedisCounter(mine, key="twin:auth")
        assert counter.reserve(3) == counter.reserve(1) - 3
        mine.close()


def test_a_url_option_does_not_loosen_the_deadline(own_redis: RedisServer) -> None:
    url = own_redis.url + "?socket_timeout=3&socket_connect_timeout=3&health_check_interval=5"
    client = bounded_client(url, 0.25)
    kwargs = client.connection_pool.connection_kwargs
    assert kwargs["socket_timeout"] == 0.25 and kwargs["socket_connect_timeout"] == 0.25
    assert kwargs["health_check_interval"] == 0 and kwargs["retry"].get_retries() == 0
    client.close()
    counter = RedisCounter(own_redis.url + "?socket_timeout=3", key="k", deadline=0.25)
    counter.reserve(1)
    with own_redis.paused():
        start = time.monotonic()
        with pytest.raises(ShortCodeUnavailable, match="did not answer"):
            counter.reserve(1)
        assert time.monotonic() - start < 2.0  # 3 s when the URL's timeout won


@pytest.mark.parametrize("credentials", [":wrong@", ""])
def test_a_refused_password_is_reported_as_such(own_redis: RedisServer, credentials: str) -> None:
    with redis.Redis(port=own_redis.port) as admin:
        admin.config_set("requirepass", PASSWORD)
    url = own_redis.url.replace("redis://", "redis://" + credentials)
    counter = RedisCounter(url, key="k")
    with pytest.raises(ShortCodeUnavailable, match="refused the credentials") as refused:
        counter.reserve(1)
    assert "did not answer" not in str(refused.value)
    assert isinstance(refused.value.__cause__, redis.exceptions.AuthenticationError)


def test_an_auth_failure_is_no_outage() -> None:
    errors: Any = redis.exceptions
    refused = errors.AuthenticationError("invalid password")
    assert is_auth_failure(refused) and not is_outage(refused)
    for down in (errors.ConnectionError("refused"), errors.TimeoutError("timed out")):
        assert is_outage(down) and not is_auth_failure(down)


def test_a_url_redis_py_cannot_read_is_the_librarys_error() -> None:
    """A port that is no number, out of range, or an unclosed IPv6 host: ``InvalidArgument``
    naming the URL (still a ``ValueError`` for callers that catch that), not redis-py's bare
    ``ValueError``."""
    from designpatterns_ref.errors import InvalidArgument

    for url in ("redis://127.0.0.1:abc", "redis://127.0.0.1:99999", "redis://[::1"):
        with pytest.raises(InvalidArgument, match="is not a Redis URL"):
            bounded_client(url, 0.25)
