"""The chaos proxy against the simplest model of a wire: the bytes out are the bytes in.

Real loopback sockets; random payloads cut into random writes, through random mixes of the
toxics that slow data down (latency, bandwidth) in either direction, ended by a half-close:
whatever the toxics, the echo that comes back is every byte sent, in order, then end of
stream. Also: a removed reset_peer toxic resets nothing, and disabling the proxy from a thread
other than its loop's resets the open connections at once.
"""

from __future__ import annotations

import asyncio
import gc
import socket
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from designpatterns_ref.resilience.chaos import ChaosProxy, EchoServer, LoopThread, Toxic


@pytest.fixture(scope="module")
def rig() -> Iterator[ChaosProxy]:
    with LoopThread() as loop:
        echo = loop.run(EchoServer().start())
        proxy = loop.run(ChaosProxy(echo.address, seed=3).start())
        try:
            yield proxy
        finally:
            loop.run(proxy.stop())
            loop.run(echo.stop())


TOXICS = st.lists(
    st.one_of(
        st.builds(
            lambda d, lat, jit: Toxic(f"lat-{d}", "latency", direction=d, latency=lat, jitter=jit),
            st.sampled_from(["downstream", "upstream"]),
            st.sampled_from([0.0, 0.002, 0.01]),
            st.sampled_from([0.0, 0.005]),
        ),
        st.builds(
            lambda d, rate: Toxic(f"bw-{d}", "bandwidth", direction=d, rate=rate),
            st.sampled_from(["downstream", "upstream"]),
            st.sampled_from([200_000.0, 1_000_000.0]),
        ),
    ),
    max_size=3,
)


def _send_all_then_half_close(sock: socket.socket, chunks: list[bytes]) -> None:
    for chunk in chunks:
        sock.sendall(chunk)
    sock.shutdown(socket.SHUT_WR)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(chunks=st.lists(st.binary(min_size=1, max_size=20_000), max_size=8), toxics=TOXICS)
def test_bytes_through_equal_bytes_in(
    rig: ChaosProxy, chunks: list[bytes], toxics: list[Toxic]
) -> None:
    proxy = rig
    for toxic in toxics:
        proxy.add_toxic(toxic)
    try:
        with socket.create_connection(proxy.address, timeout=10) as sock:
            writer = threading.Thread(target=_send_all_then_half_close, args=(sock, chunks))
            writer.start()  # the writes and the reads overlap, as a real client's would
            got = bytearray()
            while data := sock.recv(65536):
                got += data
            writer.join()
        assert bytes(got) == b"".join(chunks)
    finally:
        for toxic in proxy.toxics():
            proxy.remove_toxic(toxic.name)


def test_removing_a_reset_peer_toxic_stops_its_countdown(rig: ChaosProxy) -> None:
    proxy = rig
    proxy.add_toxic(Toxic("rst", "reset_peer", timeout=0.2))
    with socket.create_connection(proxy.address, timeout=5) as sock:
        proxy.remove_toxic("rst")
        time.sleep(0.4)  # past the countdown the toxic would have run
        sock.sendall(b"still here")
        assert sock.recv(16) == b"still here"
    proxy.add_toxic(Toxic("rst", "reset_peer", timeout=0.1))
    with (
        socket.create_connection(proxy.address, timeout=5) as sock,  # present: it resets
        pytest.raises((ConnectionResetError, BrokenPipeError)),
    ):
        time.sleep(0.3)
        sock.sendall(b"x")
        while sock.recv(16):  # an echo that came first is read past; the reset follows
            pass
    proxy.remove_toxic("rst")


def test_disabling_from_another_thread_resets_an_idle_connection_at_once(
    rig: ChaosProxy,
) -> None:
    proxy = rig
    with socket.create_connection(proxy.address, timeout=3) as sock:
        sock.sendall(b"hi")
        assert sock.recv(16) == b"hi"
        time.sleep(0.1)  # the proxy's loop is idle, waiting for data
        start = time.perf_counter()
        proxy.set_enabled(False)  # from this thread, not the loop's
        try:
            with pytest.raises(ConnectionResetError):
                sock.recv(16)
        finally:
            proxy.set_enabled(True)
        assert time.perf_counter() - start < 2.5  # at once, not at the socket's timeout


def test_toxics_change_from_another_thread_while_the_loop_reads_them() -> None:
    """add_toxic/remove_toxic from a thread while connections are open and data flows: the
    proxy's loop never sees the set of toxics change under it (no callback fails)."""
    errors: list[dict[str, object]] = []
    previous = sys.getswitchinterval()
    with LoopThread() as loop:
        loop.loop.set_exception_handler(lambda _, context: errors.append(context))
        echo = loop.run(EchoServer().start())
        proxy = loop.run(ChaosProxy(echo.address).start())
        for i in range(300):  # a long dict to iterate: a wide window for a switch
            proxy.add_toxic(Toxic(f"base{i}", "bandwidth", direction="upstream", rate=1e9))
        socks = [socket.create_connection(proxy.address, timeout=5) for _ in range(5)]
        sys.setswitchinterval(1e-5)  # switch threads often, mid-iteration
        try:
            deadline = time.monotonic() + 1.0
            i = 0
            while time.monotonic() < deadline:
                proxy.add_toxic(Toxic(f"t{i % 30}", "latency"))
                i += 1
                if i % 30 == 0:
                    for j in range(30):
                        proxy.remove_toxic(f"t{j}")
                    for sock in socks:
                        sock.sendall(b"ping")
        finally:
            sys.setswitchinterval(previous)
        for sock in socks:
            sock.close()
        loop.run(proxy.stop())
        loop.run(echo.stop())
    failed = [c for c in errors if isinstance(c.get("exception"), RuntimeError)]
    assert failed == []


def test_stopping_with_data_held_by_a_toxic_logs_no_error() -> None:
    """A connection closed while its data waits in a latency toxic ends quietly: the loop's
    exception handler hears nothing (no future left with an error nobody retrieved)."""
    errors: list[dict[str, object]] = []
    with LoopThread() as loop:
        loop.loop.set_exception_handler(lambda _, context: errors.append(context))
        echo = loop.run(EchoServer().start())
        proxy = loop.run(ChaosProxy(echo.address).start())
        proxy.add_toxic(Toxic("slow", "latency", latency=30))
        with socket.create_connection(proxy.address, timeout=5) as sock:
            sock.sendall(b"held")
            time.sleep(0.2)  # the chunk now waits in the toxic
            loop.run(proxy.stop())
            loop.run(echo.stop())

            async def collect() -> None:
                await asyncio.sleep(0.05)
                gc.collect()
                await asyncio.sleep(0.05)

            loop.run(collect())
    assert [c["message"] for c in errors] == []


@pytest.mark.parametrize("direction", ["upstream", "downstream"])
def test_a_blackhole_holds_the_end_of_stream_until_it_goes(rig: ChaosProxy, direction: str) -> None:
    """A timeout toxic lets nothing through, a half-close included: the client waits (as it
    would on a dead network), and once the toxic is removed the end of stream goes on."""
    proxy = rig
    proxy.add_toxic(Toxic("hole", "timeout", direction=direction))  # type: ignore[arg-type]
    try:
        with socket.create_connection(proxy.address, timeout=0.5) as sock:
            sock.sendall(b"lost")
            sock.shutdown(socket.SHUT_WR)
            with pytest.raises(TimeoutError):
                sock.recv(16)
            proxy.remove_toxic("hole")
            sock.settimeout(5)
            assert sock.recv(16) == b""  # the half-close went on; the server closed
    finally:
        if proxy.toxics():
            proxy.remove_toxic("hole")


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    chunks=st.lists(st.binary(min_size=1, max_size=30_000), min_size=1, max_size=6),
    cut=st.sampled_from(["reset_peer", "timeout"]),
    after=st.sampled_from([0.0, 0.02, 0.1]),
    direction=st.sampled_from(["downstream", "upstream"]),
)
def test_a_cut_connection_delivers_a_prefix_of_the_bytes(
    rig: ChaosProxy, chunks: list[bytes], cut: str, after: float, direction: str
) -> None:
    """Cut mid-stream (a reset, or a timeout toxic closing it), the echo that came back is a
    prefix of what was sent: bytes are lost from the cut on, never changed or reordered."""
    proxy = rig
    sent = b"".join(chunks)
    got = bytearray()
    with socket.create_connection(proxy.address, timeout=5) as sock:
        sock.sendall(chunks[0])
        proxy.add_toxic(Toxic("cut", cut, direction=direction, timeout=after or 0.001))  # type: ignore[arg-type]
        try:
            for chunk in chunks[1:]:
                sock.sendall(chunk)
            sock.shutdown(socket.SHUT_WR)
            while data := sock.recv(65536):
                got += data
        except OSError:
            pass  # reset by the proxy: what came before it still counts
        finally:
            proxy.remove_toxic("cut")
    assert sent.startswith(bytes(got))


@pytest.fixture(scope="module")
def looped() -> Iterator[tuple[LoopThread, ChaosProxy]]:
    with LoopThread() as loop:
        echo = loop.run(EchoServer().start())
        proxy = loop.run(ChaosProxy(echo.address).start())
        try:
            yield loop, proxy
        finally:
            loop.run(proxy.stop())
            loop.run(echo.stop())


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rounds=st.integers(1, 300),
    directions=st.sets(st.sampled_from(["downstream", "upstream"]), min_size=1),
)
def test_reset_peer_keeps_one_countdown_per_connection_and_toxic(
    looped: tuple[LoopThread, ChaosProxy], rounds: int, directions: set[str]
) -> None:
    """However much data goes through, a connection holds one reset timer per reset_peer
    toxic (the first countdown resets it; more would only pile up on the loop)."""
    loop, proxy = looped
    for d in directions:
        proxy.add_toxic(Toxic(f"rst-{d}", "reset_peer", direction=d, timeout=600))  # type: ignore[arg-type]

    async def timers() -> tuple[int, int]:
        (link,) = [link for link in proxy._links if not link.closed.is_set()]
        scheduled = asyncio.get_running_loop()._scheduled  # type: ignore[attr-defined]
        return len(link.resets), sum(not handle.cancelled() for handle in scheduled)

    try:
        with socket.create_connection(proxy.address, timeout=5) as sock:
            for _ in range(rounds):
                sock.sendall(b"x")
                assert sock.recv(1) == b"x"
            assert loop.run(timers()) == (len(directions), len(directions))
    finally:
        for toxic in proxy.toxics():
            proxy.remove_toxic(toxic.name)
