"""Command-line commands of the messaging family: ``dpref messaging serve|token|cluster``.

Case study: Slack's WebSocket Gateway: 1M Concurrent Connections
(docs/case-studies/slack-gateway.md)

- ``dpref messaging serve [--host H] [--port P] [--store memory|sqlite:PATH|redis://...]
  --secret S [--join CONV:USER,USER ...]`` runs one
  :class:`~designpatterns_ref.messaging.gateway.Gateway` until Ctrl-C (or SIGTERM), printing
  ``serving ws://HOST:PORT`` once it listens (``--port 0`` picks a free port);
- ``dpref messaging token USER --secret S [--ttl SECONDS]`` prints a connection token;
- ``dpref messaging cluster --redis URL --secret S [--gateways N] [--channel-servers N]
  [--join CONV:USER,...]`` starts Slack's shape as processes
  (:class:`~designpatterns_ref.messaging.cluster.Cluster`) and prints the gateway URLs.

A bad argument exits with status 2 and says what is allowed; nothing starts.

>>> _store_spec("sqlite:/tmp/chat.db")
('sqlite', '/tmp/chat.db')
>>> _store_spec("ftp://x")
Traceback (most recent call last):
...
argparse.ArgumentTypeError: 'ftp://x' is not memory, sqlite:PATH or a redis:// URL
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from typing import Any

from designpatterns_ref.errors import InvalidArgument, shown
from designpatterns_ref.messaging.base import MessagingError, Store, check_id

__all__ = ["cmd_cluster", "cmd_serve", "cmd_token", "register"]

EXIT_USAGE = 2


def _store_spec(text: str) -> tuple[str, str]:
    if text == "memory":
        return ("memory", "")
    if text.startswith("sqlite:") and len(text) > len("sqlite:"):
        return ("sqlite", text[len("sqlite:") :])
    if text.startswith(("redis://", "unix://")):
        return ("redis", text)
    raise argparse.ArgumentTypeError(f"{shown(text)} is not memory, sqlite:PATH or a redis:// URL")


def _join_spec(text: str) -> tuple[str, list[str]]:
    conv, _, users = text.partition(":")
    try:
        return check_id("conv", conv), [check_id("user", u) for u in users.split(",")]
    except MessagingError as exc:
        raise argparse.ArgumentTypeError(
            f"--join {shown(text)}: {exc} (CONV:USER,USER,...)"
        ) from None


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{shown(text)} is not a port in 0..65535")
    return int(text)


def _count(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 16:
        raise argparse.ArgumentTypeError(f"{shown(text)} is not a whole number in 1..16")
    return int(text)


def _seconds(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 10**8:
        raise argparse.ArgumentTypeError(
            f"{shown(text)} is not a whole number of seconds in 1..1e8"
        )
    return int(text)


def _secret(args: argparse.Namespace) -> bytes | None:
    secret: str = args.secret
    if len(secret.encode()) < 4 or not secret.isprintable():
        print("dpref messaging: --secret must be at least 4 printable characters", file=sys.stderr)
        return None
    return secret.encode()


def _open_store(kind: str, where: str) -> Store | None:
    if kind == "sqlite":
        from designpatterns_ref.messaging.sqlite import SQLiteStore

        return SQLiteStore(where)
    if kind == "redis":
        from designpatterns_ref.messaging.redis import RedisStore

        return RedisStore(where)
    return None


async def _serve(args: argparse.Namespace, secret: bytes, store: Store | None) -> None:
    from designpatterns_ref.messaging.gateway import Gateway
    from designpatterns_ref.messaging.naive import NaiveGateway

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    gw: Gateway | NaiveGateway
    if args.naive:
        gw = NaiveGateway(args.host, args.port, secret=secret)
    else:
        gw = Gateway(args.host, args.port, secret=secret, store=store)
    for conv, users in args.join:
        for user in users:
            gw.join(conv, user)
    async with gw:
        print(f"serving {gw.url}", flush=True)
        await stop.wait()


def cmd_serve(args: argparse.Namespace) -> int:
    """Run one gateway until interrupted."""
    from designpatterns_ref.messaging.loadgen import raise_nofile

    secret = _secret(args)
    if secret is None:
        return EXIT_USAGE
    raise_nofile()  # a gateway holds one file descriptor per connection
    try:
        store = _open_store(*args.store)
        asyncio.run(_serve(args, secret, store))
    except (MessagingError, OSError) as exc:
        print(f"dpref messaging serve: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    """Print a token for ``args.user``."""
    from designpatterns_ref.messaging.token import make_token

    secret = _secret(args)
    if secret is None:
        return EXIT_USAGE
    try:
        print(make_token(secret, args.user, expires=time.time() + args.ttl))
    except MessagingError as exc:
        print(f"dpref messaging token: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return 0


def cmd_cluster(args: argparse.Namespace) -> int:
    """Start channel servers and gateways as processes until interrupted."""
    from designpatterns_ref.messaging.cluster import Cluster
    from designpatterns_ref.messaging.directory import Directory

    secret = _secret(args)
    if secret is None:
        return EXIT_USAGE
    try:
        directory = Directory(args.redis)
        for conv, users in args.join:
            for user in users:
                directory.join(conv, user)
        with Cluster(args.redis, secret=secret, gateways=args.gateways,
                     channel_servers=args.channel_servers) as cluster:  # fmt: skip
            for name, address in cluster.channel_addresses.items():
                print(f"channel server {name} {address}")
            for url in cluster.gateway_urls:
                print(f"serving {url}", flush=True)
            _wait_for_signal()
    except (MessagingError, InvalidArgument) as exc:  # InvalidArgument: a URL redis-py cannot read
        print(f"dpref messaging cluster: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return 0


def _wait_for_signal() -> None:
    received: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda s, _f: received.append(s))
    while not received:
        signal.pause()


def _join_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--join",
        type=_join_spec,
        action="append",
        default=[],
        metavar="CONV:USER,...",
        help="members of a conversation (repeatable)",
    )


def register(subparsers: Any) -> None:
    """Add ``messaging serve|token|cluster`` to the ``dpref`` command line."""
    top = subparsers.add_parser("messaging", help="run a chat gateway, mint tokens")
    sub = top.add_subparsers(dest="messaging_command", metavar="ACTION", required=True)
    p = sub.add_parser("serve", help="run one WebSocket chat gateway")
    p.add_argument("--host", default="127.0.0.1", help="default: 127.0.0.1")
    p.add_argument("--port", type=_port, default=8765, help="default: 8765; 0 picks a free one")
    p.add_argument("--store", type=_store_spec, default=("memory", ""),
                   help="memory (default), sqlite:PATH or a redis:// URL")  # fmt: skip
    p.add_argument("--secret", required=True, help="the token secret (4+ characters)")
    p.add_argument(
        "--naive", action="store_true", help="serve the naive baseline (messaging.naive) instead"
    )
    _join_option(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("token", help="print a connection token for a user")
    p.add_argument("user")
    p.add_argument("--secret", required=True)
    p.add_argument("--ttl", type=_seconds, default=3600, help="seconds of validity (default 3600)")
    p.set_defaults(func=cmd_token)

    p = sub.add_parser("cluster", help="Slack's shape: channel servers and gateways as processes")
    p.add_argument("--redis", required=True, help="the redis:// URL every process shares")
    p.add_argument("--secret", required=True)
    p.add_argument("--gateways", type=_count, default=2)
    p.add_argument("--channel-servers", type=_count, default=2)
    _join_option(p)
    p.set_defaults(func=cmd_cluster)
