"""The Redis test server is a real redis-server on loopback, and stops when done."""

from __future__ import annotations

import socket

import pytest

from designpatterns_ref.testing import RedisServer, ServerUnavailable, free_port, redis_server


def test_free_port_is_bindable() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_missing_binary_raises_server_unavailable() -> None:
    with pytest.raises(ServerUnavailable), redis_server(binary="/nonexistent/redis-server"):
        pass


def test_session_server_answers_real_commands(redis_srv: RedisServer) -> None:
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(redis_srv.url)
    assert client.ping() is True
    assert client.incr("dpref:test:counter") >= 1
    info = client.info("server")
    assert "redis_version" in info
    client.close()


def test_server_stops_after_the_block() -> None:
    try:
        with redis_server() as server:
            port = server.port
            assert server.process.poll() is None
    except ServerUnavailable as exc:
        pytest.skip(str(exc))
    assert server.process.poll() is not None
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        pass
