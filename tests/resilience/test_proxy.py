"""The chaos proxy on real loopback sockets: every toxic has an effect; removing it restores."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from designpatterns_ref.resilience import ResilienceError
from designpatterns_ref.resilience.chaos import ChaosProxy, EchoServer, LoopThread, Toxic


@pytest.fixture
def rig() -> Iterator[tuple[LoopThread, ChaosProxy]]:
    with LoopThread() as loop:
        echo = loop.run(EchoServer().start())
        proxy = loop.run(ChaosProxy(echo.address, seed=1).start())
        try:
            yield loop, proxy
        finally:
            loop.run(proxy.stop())
            loop.run(echo.stop())


def exchange(proxy: ChaosProxy, payload: bytes, timeout: float = 5.0) -> tuple[bytes, float]:
    """Send ``payload``, read the echo back; (what came back, seconds taken)."""
    start = time.perf_counter()
    with socket.create_connection(proxy.address, timeout=timeout) as sock:
        sock.sendall(payload)
        got = b""
        while len(got) < len(payload):
            chunk = sock.recv(65536)
            if not chunk:
                break
            got += chunk
    return got, time.perf_counter() - start


def test_clean_proxy_forwards_bytes(rig: tuple[LoopThread, ChaosProxy]) -> None:
    _, proxy = rig
    assert exchange(proxy, b"x" * 100_000)[0] == b"x" * 100_000


def test_latency_toxic_delays_and_removing_it_restores(rig: tuple[LoopThread, ChaosProxy]) -> None:
    _, proxy = rig
    proxy.add_toxic(Toxic("lag", "latency", latency=0.3))
    got, took = exchange(proxy, b"ping")
    assert got == b"ping" and took >= 0.3
    proxy.add_toxic(Toxic("lag-up", "latency", direction="upstream", latency=0.2))
    got, took = exchange(proxy, b"ping")
    assert got == b"ping" and took >= 0.5  # both directions add up
    proxy.remove_toxic("lag")
    proxy.remove_toxic("lag-up")
    assert proxy.toxics() == []
    assert exchange(proxy, b"ping")[0] == b"ping"


def test_bandwidth_toxic_throttles(rig: tuple[LoopThread, ChaosProxy]) -> None:
    _, proxy = rig
    proxy.add_toxic(Toxic("thin", "bandwidth", rate=40_000))
    got, took = exchange(proxy, b"b" * 20_000)
    assert got == b"b" * 20_000
    assert took >= 0.45  # 20,000 bytes at 40,000 bytes/s: half a second at the least
    proxy.remove_toxic("thin")
    assert exchange(proxy, b"b" * 20_000)[0] == b"b" * 20_000


def test_reset_peer_toxic_resets_the_connection(rig: tuple[LoopThread, ChaosProxy]) -> None:
    _, proxy = rig
    proxy.add_toxic(Toxic("rst", "reset_peer", timeout=0.0))
    data: bytes | None
    try:  # the reset may land during the handshake, the send or the read
        with socket.create_connection(proxy.address, timeout=5) as sock:
            time.sleep(0.1)
            sock.sendall(b"hello")
            data = sock.recv(16)
    except (ConnectionResetError, BrokenPipeError):
        data = None
    assert data in (None, b"")  # reset by peer (some stacks report it as end of stream)
    assert proxy.resets >= 1
    proxy.remove_toxic("rst")
    assert exchange(proxy, b"hello")[0] == b"hello"


def test_timeout_toxic_swallows_data_then_closes(rig: tuple[LoopThread, ChaosProxy]) -> None:
    _, proxy = rig
    proxy.add_toxic(Toxic("hole", "timeout", timeout=0.0))  # a blackhole: never closes
    with socket.create_connection(proxy.address, timeout=0.3) as sock:
        sock.sendall(b"anyone?")
        with pytest.raises(TimeoutError):
            sock.recv(16)
    proxy.add_toxic(Toxic("hole", "timeout", timeout=0.2))  # closes after 0.2 s
    start = time.perf_counter()
    with socket.create_connection(proxy.address, timeout=5) as sock:
        sock.sendall(b"anyone?")
        assert sock.recv(16) == b""  # nothing came back; the proxy closed it
    assert time.perf_counter() - start >= 0.2
    proxy.remove_toxic("hole")
    assert exchange(proxy, b"back")[0] == b"back"


def test_disabled_proxy_refuses_and_toxic_errors(rig: tuple[LoopThread, ChaosProxy]) -> None:
    _, proxy = rig
    proxy.set_enabled(False)
    with pytest.raises((ConnectionError, OSError)):
        got, _ = exchange(proxy, b"x")
        if not got:
            raise ConnectionResetError("no answer: the upstream is down")
    proxy.set_enabled(True)
    assert exchange(proxy, b"x")[0] == b"x"
    with pytest.raises(ResilienceError):
        proxy.remove_toxic("missing")
    with pytest.raises(ResilienceError):
        Toxic("x", "bandwidth", rate=0)


def half_closed_exchange(proxy: ChaosProxy, payload: bytes) -> bytes:
    """Send ``payload``, half-close (no more to send, still reading), read until end of stream."""
    with socket.create_connection(proxy.address, timeout=5) as sock:
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
        got = bytearray()
        while chunk := sock.recv(65536):
            got += chunk
    return bytes(got)


def test_half_close_keeps_the_reply(rig: tuple[LoopThread, ChaosProxy]) -> None:
    """A client that half-closes still gets every byte of the answer, then end of stream."""
    _, proxy = rig
    assert half_closed_exchange(proxy, b"y" * 2_000_000) == b"y" * 2_000_000
    proxy.add_toxic(Toxic("lag", "latency", latency=0.05))
    assert half_closed_exchange(proxy, b"hello") == b"hello"
    proxy.add_toxic(Toxic("lag-up", "latency", direction="upstream", latency=0.05))
    assert half_closed_exchange(proxy, b"both ways") == b"both ways"


def test_timeout_toxic_closes_an_idle_connection(rig: tuple[LoopThread, ChaosProxy]) -> None:
    """The countdown runs from the toxic's arrival, not from the first data (as in toxiproxy)."""
    _, proxy = rig
    proxy.add_toxic(Toxic("cut", "timeout", timeout=0.1))
    with socket.create_connection(proxy.address, timeout=5) as sock:  # waits to be spoken to
        assert sock.recv(16) == b""  # closed by the proxy, though no byte ever came
    proxy.remove_toxic("cut")
    with socket.create_connection(proxy.address, timeout=5) as sock:
        sock.sendall(b"open")
        assert sock.recv(16) == b"open"
        proxy.add_toxic(Toxic("cut", "timeout", direction="upstream", timeout=0.1))
        assert sock.recv(16) == b""  # an open, idle connection: closed once the toxic came


def test_removing_a_timeout_toxic_stops_its_countdown(rig: tuple[LoopThread, ChaosProxy]) -> None:
    _, proxy = rig
    with socket.create_connection(proxy.address, timeout=5) as sock:
        sock.sendall(b"one")
        assert sock.recv(16) == b"one"
        proxy.add_toxic(Toxic("cut", "timeout", timeout=0.2))
        proxy.remove_toxic("cut")
        time.sleep(0.4)  # past the countdown the toxic would have run
        sock.sendall(b"two")
        assert sock.recv(16) == b"two"
        assert proxy.connections == 1
