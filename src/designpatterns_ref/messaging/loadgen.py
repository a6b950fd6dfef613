"""A load generator: thousands of real loopback WebSockets against a gateway in its own process.

Case study: Slack's WebSocket Gateway: 1M Concurrent Connections
(docs/case-studies/slack-gateway.md)

:func:`measure_scale` starts ``dpref messaging serve`` as a separate process (so its resident
memory is the gateway's alone; ``server="naive"`` starts the baseline,
:mod:`designpatterns_ref.messaging.naive`, for a side-by-side run), and measures: the server's
resident-memory growth per idle connection (from ``/proc/<pid>/statm``, before and after), the
clients' growth per connection (reported apart), the fan-out latency of one 100-byte message
to ``members`` sockets (each delivery's arrival stamp minus the send time; p50 and p99 over
``rounds`` rounds), the server's CPU time per fan-out, and end-to-end messages per second
(one sender, pipelined sends, until the receiver has them all).

The member sockets live in a few receiving processes
(:class:`~designpatterns_ref.messaging.receivers.Receivers`: a bare epoll loop each), because
one process reading 1,000 sockets through asyncio stamps the last delivery about 30 ms after
the first whatever the gateway does. The idle sockets and the sender are a minimal
WebSocket implementation here (:class:`RawSocket`: the upgrade request, masked text frames
out, unmasked frames in). Every process raises its open file limit (``RLIMIT_NOFILE``) to the
hard limit.

>>> frame = RawSocket.encode(b'{"op": "heartbeat"}')
>>> frame[:2], len(frame)
(b'\\x81\\x93', 25)
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import resource
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any

from designpatterns_ref.errors import shown
from designpatterns_ref.messaging.base import MessagingError, check_seq
from designpatterns_ref.messaging.receivers import client_frame, upgrade_request

__all__ = ["RawSocket", "cpu_seconds", "measure_cluster", "measure_scale", "raise_nofile", "rss_of"]


def _percentiles_ms(lat: list[float]) -> dict[str, float]:
    """p50 and p99 in ms of sorted latencies in seconds (p99: ``lat[int(0.99 * (n - 1))]``)."""
    if not lat:
        return {"p50_ms": float("nan"), "p99_ms": float("nan")}
    return {"p50_ms": statistics.median(lat) * 1e3, "p99_ms": lat[int(0.99 * (len(lat) - 1))] * 1e3}


def _run(make: Callable[[], Coroutine[Any, Any, dict[str, Any]]]) -> dict[str, Any]:
    """Run a measurement on its own event loop: here, or in a thread when this thread already
    runs one (a notebook's kernel does)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def raise_nofile() -> int:
    """Raise this process's open-file limit to its hard limit; the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss_of(pid: int | None = None) -> int:
    """Resident bytes of process ``pid`` (this one when None), from ``/proc/PID/statm``."""
    with open(f"/proc/{pid or 'self'}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds process ``pid`` has used (``/proc/PID/stat``)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class RawSocket(asyncio.Protocol):
    """One client WebSocket: sends the upgrade, then ``hello``; calls ``on_frame(self, data)``
    for each text frame received (``data``: the payload bytes)."""

    def __init__(self, host: str, port: int, hello: bytes, on_frame: Callable[..., None]) -> None:
        self.host, self.port, self.hello, self.on_frame = host, port, hello, on_frame
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.upgraded = False
        self.ready = asyncio.get_running_loop().create_future()

    #: A masked text frame (:func:`~designpatterns_ref.messaging.receivers.client_frame`).
    encode = staticmethod(client_frame)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(upgrade_request(self.host, self.port))  # type: ignore[union-attr]

    def send(self, payload: bytes) -> None:
        """Write one text frame."""
        assert self.transport is not None
        self.transport.write(self.encode(payload))

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if not self.upgraded:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self.buf.startswith(b"HTTP/1.1 101"):
                raise MessagingError(f"upgrade refused: {shown(self.buf[:60])}")
            self.buf, self.upgraded = self.buf[end + 4 :], True
            self.send(self.hello)
        while len(self.buf) >= 2:
            n, start = self.buf[1] & 0x7F, 2
            if n == 126:
                n, start = int.from_bytes(self.buf[2:4], "big"), 4
            elif n == 127:
                n, start = int.from_bytes(self.buf[2:10], "big"), 10
            if len(self.buf) < start + n:
                return
            payload, self.buf = self.buf[start : start + n], self.buf[start + n :]
            if not self.ready.done():
                self.ready.set_result(None)  # the first frame after hello is "ready"
            else:
                self.on_frame(self, payload)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError("closed before ready"))


def _start_server(
    secret: str, members: int, join: list[str], extra: str = "", naive: bool = False
) -> tuple[subprocess.Popen[str], int]:
    users = ",".join([*(f"u{i}" for i in range(members)), *([extra] if extra else [])])
    args = ["--join", f"big:{users}", *(x for j in join for x in ("--join", j))]
    proc = subprocess.Popen(
        [sys.executable, "-m", "designpatterns_ref", "messaging", "serve", "--port", "0",
         "--secret", secret, *args, *(["--naive"] if naive else [])],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("serving "):
        proc.kill()
        raise MessagingError(f"the gateway did not start: {shown(line, 80)}")
    return proc, int(line.rsplit(":", 1)[1])


async def _measure(
    connections: int, members: int, rounds: int, pairs: int, receivers: int, server: str
) -> dict[str, Any]:
    from designpatterns_ref.messaging.receivers import Receivers
    from designpatterns_ref.messaging.token import make_token

    secret = "scale-bench"
    # u0..u<members-1> and the sender s0 are in "big"; the members' sockets live in the
    # receiving processes, the idle rest and the sender here
    proc, port = _start_server(secret, members, ["pair:p0,p1"], extra="s0", naive=server == "naive")
    loop = asyncio.get_running_loop()
    got_pair: list[float] = []

    def on_frame(sock: RawSocket, data: bytes) -> None:
        if data.startswith(b'{"op": "message"'):
            got_pair.append(time.perf_counter())

    async def open_one(user: str) -> RawSocket:
        tok = make_token(secret.encode(), user, expires=time.time() + 3600)
        hello = f'{{"op": "hello", "token": "{tok}", "device": "d"}}'.encode()
        _, sock = await loop.create_connection(
            lambda: RawSocket("127.0.0.1", port, hello, on_frame), "127.0.0.1", port
        )
        await sock.ready
        return sock

    recv = Receivers(port, secret.encode(), [f"u{i}" for i in range(members)], receivers)
    try:
        await asyncio.sleep(0.2)
        server_before, client_before = rss_of(proc.pid), rss_of()
        with recv:
            socks: list[RawSocket] = []
            for start in range(members, connections, 500):  # 500 handshakes in flight at a time
                batch = range(start, min(connections, start + 500))
                socks += await asyncio.gather(*(open_one(f"u{i}") for i in batch))
            sender = await open_one("s0")
            await asyncio.sleep(0.5)
            server_per = (rss_of(proc.pid) - server_before) / connections
            client_per = (rss_of() - client_before + recv.client_bytes) / connections
            cpu_before, sent_at = cpu_seconds(proc.pid), {}
            for r in range(rounds):
                body = "x" * 100
                sent_at[f"r{r}"] = time.monotonic()
                sender.send(f'{{"op": "send", "conv": "big", "client_msg_id": "r{r}", '
                            f'"body": "{body}"}}'.encode())  # fmt: skip
                recv.wait(f"r{r}", timeout=10)  # blocks this loop: nothing here needs it
                await asyncio.sleep(0.05)
            cpu_ms = (cpu_seconds(proc.pid) - cpu_before) / rounds * 1e3
            stamps = recv.stamps()
        lat = sorted(t - sent_at[k] for k, times in stamps.items() if k in sent_at for t in times)
        p0, p1 = await open_one("p0"), await open_one("p1")
        t0 = time.perf_counter()
        for i in range(pairs):
            p0.send(f'{{"op": "send", "conv": "pair", "client_msg_id": "q{i}", '
                    f'"body": "{"y" * 100}"}}'.encode())  # fmt: skip
        deadline = t0 + 30
        while len(got_pair) < 2 * pairs and time.perf_counter() < deadline:
            await asyncio.sleep(0.001)
        rate = pairs / (max(got_pair) - t0) if len(got_pair) >= 2 * pairs else 0.0
        for s in (*socks, sender, p0, p1):
            assert s.transport is not None
            s.transport.close()
    finally:
        recv.close()
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        if proc.stdout is not None:
            proc.stdout.close()
    return {
        "connections": connections, "members": members, "rounds": rounds,
        "receivers": receivers,
        "server_bytes_per_conn": server_per, "client_bytes_per_conn": client_per,
        **_percentiles_ms(lat),
        "delivered": len(lat), "expected": members * rounds, "messages_per_s": rate,
        "server_cpu_ms_per_fanout": cpu_ms, "latencies_ms": [x * 1e3 for x in lat],
    }  # fmt: skip


def measure_scale(
    connections: int,
    members: int = 1000,
    rounds: int = 5,
    pairs: int = 2000,
    receivers: int = 2,
    server: str = "gateway",
) -> dict[str, Any]:
    """Idle-connection memory (server and client apart), fan-out p50/p99, messages per second.

    ``members`` of the ``connections`` sockets are in the conversation a message goes to;
    they are held by ``receivers`` processes
    (:class:`~designpatterns_ref.messaging.receivers.Receivers`) that stamp each delivery;
    ``pairs`` messages go between two more sockets for the throughput figure;
    ``latencies_ms`` holds every delivery's latency, sorted (for
    :func:`~designpatterns_ref.messaging.plot.plot_fanout`). ``server`` is ``"gateway"``
    (:class:`~designpatterns_ref.messaging.gateway.Gateway`) or ``"naive"`` (the baseline,
    :class:`~designpatterns_ref.messaging.naive.NaiveGateway`).
    """
    connections = check_seq("connections", connections, low=1, high=100_000)
    members = check_seq("members", members, low=1, high=connections)
    rounds = check_seq("rounds", rounds, low=1, high=1000)
    pairs = check_seq("pairs", pairs, low=1, high=1_000_000)
    receivers = check_seq("receivers", receivers, low=1, high=64)
    if server not in ("gateway", "naive"):
        raise MessagingError(f"server={shown(server, 80)} must be 'gateway' or 'naive'")
    raise_nofile()
    return _run(lambda: _measure(connections, members, rounds, pairs, receivers, server))


async def _measure_cluster(redis_url: str, members: int, rounds: int) -> dict[str, Any]:
    from designpatterns_ref.messaging.cluster import Cluster
    from designpatterns_ref.messaging.directory import Directory
    from designpatterns_ref.messaging.receivers import Receivers
    from designpatterns_ref.messaging.token import make_token

    secret = b"cluster-bench"
    prefix = f"bench{os.getpid()}x{time.monotonic_ns()}"
    directory = Directory(redis_url, prefix=prefix)
    for user in [*(f"u{i}" for i in range(members)), "s0"]:
        directory.join("big", user)
    directory.close()
    loop = asyncio.get_running_loop()

    with Cluster(redis_url, secret=secret, prefix=prefix) as cluster:
        ports = [int(url.rsplit(":", 1)[1]) for url in cluster.gateway_urls]
        # members alternate between the gateways: one receiving process per gateway
        recvs = [
            Receivers(port, secret, [f"u{i}" for i in range(k, members, len(ports))], 1)
            for k, port in enumerate(ports)
        ]
        try:
            for recv in recvs:
                recv.__enter__()
            tok = make_token(secret, "s0", expires=time.time() + 3600)
            hello = f'{{"op": "hello", "token": "{tok}", "device": "d"}}'.encode()
            sender = RawSocket("127.0.0.1", ports[0], hello, lambda *_: None)
            await loop.create_connection(lambda: sender, "127.0.0.1", ports[0])
            await sender.ready
            await asyncio.sleep(0.2)
            sent_at: dict[str, float] = {}
            for r in range(rounds):
                sent_at[f"r{r}"] = time.monotonic()
                sender.send(f'{{"op": "send", "conv": "big", "client_msg_id": "r{r}", '
                            f'"body": "{"x" * 100}"}}'.encode())  # fmt: skip
                for recv in recvs:
                    recv.wait(f"r{r}", timeout=10)
                await asyncio.sleep(0.05)
            stamps = [recv.stamps() for recv in recvs]
            assert sender.transport is not None
            sender.transport.close()
        finally:
            for recv in recvs:
                recv.close()
    lat = sorted(t - sent_at[k] for got in stamps for k, ts in got.items() if k in sent_at
                 for t in ts)  # fmt: skip
    return {
        "members": members, "gateways": len(ports), "rounds": rounds,
        **_percentiles_ms(lat),
        "delivered": len(lat), "expected": members * rounds,
    }  # fmt: skip


def measure_cluster(redis_url: str, members: int = 200, rounds: int = 5) -> dict[str, Any]:
    """Fan-out p50/p99 through Slack's shape: 2 gateways, 2 channel servers, Redis Pub/Sub.

    ``members`` sockets alternate between the two gateway processes (one receiving process
    for each gateway's share); one 100-byte message a round goes from a sender on the first
    gateway -> owning channel server -> Redis (append, publish) -> both gateways.
    """
    members = check_seq("members", members, low=2, high=100_000)
    rounds = check_seq("rounds", rounds, low=1, high=1000)
    raise_nofile()
    return _run(lambda: _measure_cluster(redis_url, members, rounds))
