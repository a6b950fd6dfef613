"""Slack's shape as real processes: channel servers and stateless gateways sharing one Redis.

Case study: Slack's WebSocket Gateway: 1M Concurrent Connections
(docs/case-studies/slack-gateway.md)

:class:`Cluster` starts ``channel_servers`` :class:`~.channelserver.ChannelServer` processes
and ``gateways`` :class:`~.edge.EdgeGateway` processes on loopback (``python -m
designpatterns_ref.messaging.cluster channel-server|gateway ...``), each printing
``READY <port>`` once it listens, and gives you their URLs. The processes share nothing but
Redis (the log in Streams, fan-out over Pub/Sub, membership in sets) and the list of channel
servers (every gateway builds the same :class:`~.hashring.HashRing` from it).
:meth:`Cluster.kill_gateway` sends SIGKILL to one gateway: no goodbye, no flush, as a crash.

Trade-off: the channel-server list is static (given at start), so adding a server means
restarting the gateways with the new list; a membership service (Slack uses Consul) would
push ring changes instead. Start-up costs a Python interpreter per process (~0.3 s each).

>>> c = Cluster("redis://127.0.0.1:1", secret=b"k3y!", gateways=2, channel_servers=2)
>>> c.names
['cs-0', 'cs-1']
"""

from __future__ import annotations

import argparse
import asyncio
import os
import select
import signal
import subprocess
import sys
from collections.abc import Sequence
from types import TracebackType

from designpatterns_ref.errors import shown
from designpatterns_ref.messaging.base import MessagingError, check_id, check_seq

__all__ = ["Cluster", "main"]


class Cluster:
    """``with Cluster(redis_url, secret=b"...", gateways=2, channel_servers=2) as c:``."""

    def __init__(
        self,
        redis_url: str,
        *,
        secret: bytes,
        gateways: int = 2,
        channel_servers: int = 2,
        prefix: str = "dp:msg",
        start_timeout: float = 20.0,
    ) -> None:
        if not isinstance(redis_url, str) or not redis_url.startswith("redis://"):
            raise MessagingError(f"redis_url={shown(redis_url, 80)} must be a redis:// URL")
        check_id("redis_url", redis_url[:128])
        if not isinstance(secret, bytes) or not 4 <= len(secret) <= 256:
            raise MessagingError("secret must be 4 to 256 bytes")
        self.redis_url, self.secret, self.prefix = redis_url, secret, check_id("prefix", prefix)
        self.n_gateways = check_seq("gateways", gateways, low=1, high=16)
        self.n_channel = check_seq("channel_servers", channel_servers, low=1, high=16)
        if isinstance(start_timeout, bool) or not isinstance(start_timeout, int | float):
            raise MessagingError(f"start_timeout={shown(start_timeout, 80)} must be seconds")
        if not 0 < start_timeout <= 600:
            raise MessagingError(f"start_timeout={shown(start_timeout, 80)} must be in (0, 600]")
        self.start_timeout = float(start_timeout)
        self.names = [f"cs-{i}" for i in range(self.n_channel)]
        self.channel_addresses: dict[str, str] = {}
        self.gateway_urls: list[str] = []
        self.procs: list[subprocess.Popen[str]] = []
        self.gateway_procs: list[subprocess.Popen[str]] = []

    def _start(self, args: list[str]) -> tuple[subprocess.Popen[str], int]:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "designpatterns_ref.messaging.cluster", *args],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
        )  # fmt: skip
        self.procs.append(proc)
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], self.start_timeout)
        line = proc.stdout.readline() if ready else ""  # the child prints READY <port> or exits
        if not line.startswith("READY "):
            self.close()
            raise MessagingError(f"{args[0]} did not start (said {shown(line.strip(), 80)})")
        return proc, int(line.split()[1])

    def _check_redis(self) -> None:
        """Refuse to start when Redis does not answer: every process would fail on it, and a
        child's start-up error is not seen here (it would read as "did not start")."""
        import redis

        try:
            client = redis.Redis.from_url(
                self.redis_url, socket_connect_timeout=2, socket_timeout=2
            )
        except ValueError as exc:  # a port that is not a number or out of range, a bad host
            raise MessagingError(
                f"redis_url={shown(self.redis_url, 80)} is not a Redis URL ({exc})"
            ) from exc
        kwargs = client.connection_pool.connection_kwargs
        where = f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"
        try:
            client.ping()
        except redis.exceptions.RedisError as exc:
            raise MessagingError(
                f"Redis at {where} does not answer ({exc}); the channel servers and gateways "
                "keep everything in it"
            ) from exc
        finally:
            client.close()

    def __enter__(self) -> Cluster:
        self._check_redis()
        common = ["--redis", self.redis_url, "--prefix", self.prefix]
        for name in self.names:
            _, port = self._start(["channel-server", *common, "--name", name,
                                   "--ring", ",".join(self.names)])  # fmt: skip
            self.channel_addresses[name] = f"127.0.0.1:{port}"
        servers = [f"{n}={a}" for n, a in self.channel_addresses.items()]
        for _ in range(self.n_gateways):
            proc, port = self._start(["gateway", *common, "--secret", self.secret.hex(),
                                      "--channel-servers", ",".join(servers)])  # fmt: skip
            self.gateway_procs.append(proc)
            self.gateway_urls.append(f"ws://127.0.0.1:{port}")
        return self

    def kill_gateway(self, i: int) -> None:
        """SIGKILL gateway ``i`` (a crash: its sockets are cut, nothing is flushed)."""
        proc = self.gateway_procs[check_seq("i", i, high=len(self.gateway_procs) - 1)]
        proc.send_signal(signal.SIGKILL)
        proc.wait(5)

    def close(self) -> None:
        """Stop every process this cluster started."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
            if proc.stdout is not None:
                proc.stdout.close()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


async def _run(args: argparse.Namespace) -> None:
    from designpatterns_ref.messaging.hashring import HashRing

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    if args.role == "channel-server":
        from designpatterns_ref.messaging.channelserver import ChannelServer

        ring = HashRing(args.ring.split(",")) if args.ring else None
        async with ChannelServer(args.redis, name=args.name, ring=ring, port=args.port,
                                 prefix=args.prefix) as cs:  # fmt: skip
            print(f"READY {cs.port}", flush=True)
            await stop.wait()
    else:
        from designpatterns_ref.messaging.edge import EdgeGateway

        servers = dict(item.split("=", 1) for item in args.channel_servers.split(","))
        async with EdgeGateway(args.redis, servers, secret=bytes.fromhex(args.secret),
                               port=args.port, prefix=args.prefix) as gw:  # fmt: skip
            print(f"READY {gw.port}", flush=True)
            await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m designpatterns_ref.messaging.cluster channel-server|gateway [options]``."""
    parser = argparse.ArgumentParser(prog="python -m designpatterns_ref.messaging.cluster")
    parser.add_argument("role", choices=["channel-server", "gateway"])
    parser.add_argument("--redis", required=True, help="redis:// URL shared by every process")
    parser.add_argument("--prefix", default="dp:msg")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--name", default="cs-0", help="this channel server's name")
    parser.add_argument("--ring", default="", help="channel-server names, comma-separated")
    parser.add_argument("--secret", default="", help="the token secret, hex")
    parser.add_argument("--channel-servers", default="", help="name=host:port,...")
    args = parser.parse_args(argv)
    asyncio.run(_run(args))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
